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

/// A receipt header (the lines printed above each receipt): at most this many characters...
pub const MAX_RECEIPT_HEADER: usize = 500;
/// ...on at most this many lines.
pub const MAX_RECEIPT_HEADER_LINES: usize = 6;

/// A shop's receipt header, checked: trailing blanks trimmed (empty: none), at most
/// [`MAX_RECEIPT_HEADER`] characters on at most [`MAX_RECEIPT_HEADER_LINES`] lines.
///
/// # Errors
/// `receipt_header` / `too_long` (with `max`) or `too_many_lines` (with `max`).
pub fn receipt_header(raw: &str) -> Result<String, ValidationError> {
    let h = raw.trim_end();
    if h.chars().count() > MAX_RECEIPT_HEADER {
        return Err(ValidationError::new(
            "receipt_header",
            "too_long",
            format!("A receipt header has at most {MAX_RECEIPT_HEADER} characters"),
        )
        .with("max", MAX_RECEIPT_HEADER));
    }
    if h.lines().count() > MAX_RECEIPT_HEADER_LINES {
        return Err(ValidationError::new(
            "receipt_header",
            "too_many_lines",
            format!("A receipt header has at most {MAX_RECEIPT_HEADER_LINES} lines"),
        )
        .with("max", MAX_RECEIPT_HEADER_LINES));
    }
    Ok(h.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_header_has_a_few_short_lines() {
        assert_eq!(
            receipt_header("Toko Maju\nJl. Melati 5  \n ").unwrap(),
            "Toko Maju\nJl. Melati 5"
        );
        let e = receipt_header(&"a\n".repeat(7)).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.params["max"].as_str()),
            ("too_many_lines", "6")
        );
        let e = receipt_header(&"é".repeat(501)).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.params["max"].as_str()),
            ("too_long", "500")
        );
    }

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
