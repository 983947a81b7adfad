//! The staff rules shared by the counter and the service: names, PINs, passwords, and which
//! roles an owner may give or take away.

use crate::{Role, ValidationError};

/// Longest staff name, in characters.
pub const NAME_MAX_CHARS: usize = 80;
/// Shortest service password, in bytes (counters use PINs instead).
pub const PASSWORD_MIN_BYTES: usize = 10;

/// A staff member's name, trimmed: required, at most [`NAME_MAX_CHARS`] characters.
pub fn name(field: &str, raw: &str) -> Result<String, ValidationError> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > NAME_MAX_CHARS {
        return Err(ValidationError::new(
            field,
            "required",
            "Name is required (at most 80 characters)",
        ));
    }
    Ok(n.to_owned())
}

/// A counter PIN, trimmed: 4 to 8 ASCII digits.
pub fn pin(raw: &str) -> Result<&str, ValidationError> {
    let p = raw.trim();
    if !(4..=8).contains(&p.len()) || !p.chars().all(|c| c.is_ascii_digit()) {
        return Err(ValidationError::new(
            "pin",
            "invalid_pin",
            "PIN must be 4 to 8 digits",
        ));
    }
    Ok(p)
}

/// A service password: at least [`PASSWORD_MIN_BYTES`] bytes (kept as typed, not trimmed).
pub fn password(raw: &str) -> Result<&str, ValidationError> {
    if raw.len() < PASSWORD_MIN_BYTES {
        return Err(ValidationError::new(
            "password",
            "too_short",
            format!("Password must be at least {PASSWORD_MIN_BYTES} characters"),
        )
        .with("min", PASSWORD_MIN_BYTES));
    }
    Ok(raw)
}

/// The role a new staff member is given: a shop has exactly one owner, so a manager or cashier.
pub fn new_role(role: Role) -> Result<Role, ValidationError> {
    if role == Role::Owner {
        return Err(ValidationError::new(
            "role",
            "invalid_role",
            "A shop has one owner; add a manager or cashier",
        ));
    }
    Ok(role)
}

/// Whether the owner may change a staff member's role or deactivate them: never the owner
/// (the shop would be left without one, and the owner cannot lock themself out), and never to
/// owner (see [`new_role`]).
///
/// `target` is the member's current role; `role` the new one, if changed; `deactivate` whether
/// the change deactivates them.
pub fn change(target: Role, role: Option<Role>, deactivate: bool) -> Result<(), ValidationError> {
    if target == Role::Owner && (role.is_some_and(|r| r != Role::Owner) || deactivate) {
        return Err(ValidationError::new(
            if deactivate { "active" } else { "role" },
            "owner_stays",
            "The owner keeps the owner's role and stays active",
        ));
    }
    if let Some(r) = role {
        if r != target {
            new_role(r)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_eight_digits() {
        assert_eq!(pin(" 1234 ").unwrap(), "1234");
        assert!(pin("12345678").is_ok());
        for bad in ["123", "123456789", "12a4", "", "１２３４"] {
            assert_eq!(pin(bad).unwrap_err().code, "invalid_pin", "{bad:?}");
        }
    }

    #[test]
    fn passwords_have_ten_bytes_and_names_eighty_characters() {
        assert!(password("123456789").is_err());
        assert!(password("1234567890").is_ok());
        assert_eq!(name("name", "  Sari ").unwrap(), "Sari");
        assert!(name("name", "   ").is_err());
        assert!(name("name", &"é".repeat(80)).is_ok());
        assert!(name("name", &"é".repeat(81)).is_err());
    }

    #[test]
    fn the_owner_stays_the_owner_and_nobody_becomes_one() {
        assert!(change(Role::Owner, None, true).is_err());
        assert!(change(Role::Owner, Some(Role::Manager), false).is_err());
        assert!(change(Role::Owner, Some(Role::Owner), false).is_ok());
        assert!(change(Role::Owner, None, false).is_ok());
        assert!(change(Role::Cashier, Some(Role::Owner), false).is_err());
        assert!(change(Role::Cashier, Some(Role::Manager), true).is_ok());
        assert!(change(Role::Manager, Some(Role::Cashier), false).is_ok());
    }
}
