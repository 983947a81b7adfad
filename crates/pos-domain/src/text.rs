//! Free-text fields of an order and a payment, checked the same way on every path (create,
//! edit, payment, sync push; counter and service): trimmed, blank is none, at most so many
//! characters (Unicode scalar values, as a person counts them).

use crate::ValidationError;

/// An order's notes: at most 1,000 characters.
pub const MAX_NOTES: usize = 1000;
/// A payment's reference (a transfer or card slip number): at most 100 characters.
pub const MAX_REFERENCE: usize = 100;

fn limited(
    raw: Option<String>,
    field: &str,
    max: usize,
    what: &str,
) -> Result<Option<String>, ValidationError> {
    let text = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if text.as_ref().is_some_and(|n| n.chars().count() > max) {
        return Err(ValidationError::new(
            field,
            "too_long",
            format!("{what} are longer than {max} characters"),
        )
        .with("max", max));
    }
    Ok(text)
}

/// An order's notes, checked (see the module documentation).
pub fn notes(raw: Option<String>) -> Result<Option<String>, ValidationError> {
    limited(raw, "notes", MAX_NOTES, "Notes")
}

/// A payment's reference, checked (see the module documentation); `field` names it in the
/// request (`reference`, `initial_payment.reference`).
pub fn reference(raw: Option<String>, field: &str) -> Result<Option<String>, ValidationError> {
    limited(raw, field, MAX_REFERENCE, "References")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_drops_blanks_and_counts_characters_not_bytes() {
        assert_eq!(notes(Some("  ".into())).unwrap(), None);
        assert_eq!(
            notes(Some(" antar sore ".into())).unwrap().as_deref(),
            Some("antar sore")
        );
        assert!(notes(Some("é".repeat(MAX_NOTES))).is_ok());
        let e = notes(Some("x".repeat(MAX_NOTES + 1))).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.params["max"].as_str()),
            ("too_long", "1000")
        );
        let e = reference(
            Some("x".repeat(MAX_REFERENCE + 1)),
            "initial_payment.reference",
        )
        .unwrap_err();
        assert_eq!(e.field, "initial_payment.reference");
    }
}
