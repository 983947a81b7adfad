use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// How the order reached the counter.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    WalkIn,
    Phone,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WalkIn => "walk_in",
            Channel::Phone => "phone",
        }
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "walk_in" => Ok(Channel::WalkIn),
            "phone" => Ok(Channel::Phone),
            other => Err(format!("unknown channel {other:?}")),
        }
    }
}

/// The customer's details: personal data, encrypted wherever it is stored. `Debug` is redacted
/// so it can never reach a log by accident.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Customer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A merge patch (RFC 7396) of a customer: absent members stay, `null` clears phone, e-mail or
/// address. The name cannot be cleared (it is required); validate the result with
/// [`Customer::validated`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize)]
pub struct CustomerPatch {
    /// `null` is refused when merged: a customer always has a name.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable))]
    pub name: crate::Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable))]
    pub phone: crate::Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable))]
    pub email: crate::Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable))]
    pub address: crate::Patch<String>,
}

/// A required member that a merge patch cleared (`null`).
pub fn required(field: &str, what: &str) -> crate::ValidationError {
    crate::ValidationError::new(
        field,
        "required",
        format!("{what} cannot be cleared; leave it out to keep it"),
    )
}

impl std::fmt::Debug for CustomerPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerPatch { <redacted> }")
    }
}

impl CustomerPatch {
    /// `old` with this patch merged in (the merged customer is validated with the order).
    ///
    /// # Errors
    /// `customer.name` / `required` when the patch clears the name (`null`).
    pub fn apply(self, old: Customer) -> Result<Customer, crate::ValidationError> {
        let name = match self.name {
            crate::Patch::Keep => old.name,
            crate::Patch::Set(n) => n,
            crate::Patch::Clear => return Err(required("customer.name", "A customer's name")),
        };
        Ok(Customer {
            name,
            phone: self.phone.apply(old.phone),
            email: self.email.apply(old.email),
            address: self.address.apply(old.address),
        })
    }
}

impl std::fmt::Debug for Customer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Customer { <redacted> }")
    }
}

const MAX_NAME: usize = 120;
const MAX_ADDRESS: usize = 500;
const MAX_EMAIL: usize = 254;

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Customer {
    /// Trims the fields, drops empty optional ones and checks every rule for `channel`.
    pub fn validated(self, channel: Channel) -> Result<Customer, ValidationError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            return Err(ValidationError::new(
                "customer.name",
                "required",
                "Customer name is required",
            ));
        }
        if name.chars().count() > MAX_NAME {
            return Err(ValidationError::new(
                "customer.name",
                "too_long",
                format!("Customer name is longer than {MAX_NAME} characters"),
            )
            .with("max", MAX_NAME));
        }
        let phone = blank_to_none(self.phone);
        if let Some(p) = &phone {
            normalize_phone(p, "62")?;
        } else if channel == Channel::Phone {
            return Err(ValidationError::new(
                "customer.phone",
                "required",
                "A phone order needs the customer's phone number",
            ));
        }
        let email = blank_to_none(self.email);
        if let Some(e) = &email {
            normalize_email(e)?;
        }
        let address = blank_to_none(self.address);
        if address
            .as_ref()
            .is_some_and(|a| a.chars().count() > MAX_ADDRESS)
        {
            return Err(ValidationError::new(
                "customer.address",
                "too_long",
                format!("Address is longer than {MAX_ADDRESS} characters"),
            )
            .with("max", MAX_ADDRESS));
        }
        Ok(Customer {
            name,
            phone: phone.clone(),
            email,
            address,
        })
    }
}

/// A country calling code (ITU-T E.164: 1 to 3 digits, written without `+`, never starting
/// with 0): it turns a national phone number into its international form, and so decides a
/// phone number's search key. Indonesia's is 62.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode(u16);

impl CountryCode {
    pub const INDONESIA: CountryCode = CountryCode(62);

    /// Reads a code as typed (`62`, `+62`, ` 62 `).
    ///
    /// # Errors
    /// `invalid` at `field` unless it is 1 to 3 digits not starting with 0.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim().trim_start_matches('+');
        if s.is_empty()
            || s.len() > 3
            || s.starts_with('0')
            || !s.chars().all(|c| c.is_ascii_digit())
        {
            return Err(ValidationError::new(
                field,
                "invalid",
                "Country calling code must be 1 to 3 digits, e.g. 62",
            ));
        }
        s.parse().map(CountryCode).map_err(|_| {
            ValidationError::new(
                field,
                "invalid",
                "Country calling code must be 1 to 3 digits, e.g. 62",
            )
        })
    }

    /// The code's digits, e.g. `"62"`.
    pub fn digits(self) -> String {
        self.0.to_string()
    }
}

impl std::fmt::Display for CountryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Whether `c` may appear in a phone number as people write it: digits, `+`, and the
/// separators `-`, `(`, `)`, `.`, `/` and any space.
pub fn is_phone_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_whitespace() || "+-()./".contains(c)
}

/// The canonical form of a phone number for exact search: the country calling code and the
/// subscriber number, digits only (E.164 without the `+`), however it was written. With the
/// shop's `country_code` 62, all of these are `6281234567890`: `0812-3456-7890`,
/// `+62 812 3456 7890`, `+62 (0)812 3456 7890`, `0062 812…`, `62812…`, `(0812) 3456/7890` and
/// `812 3456 7890`. A number written with `+` or `00` is international as written (a trunk `0`
/// after the shop's own country code is dropped); one without is a national number (its trunk
/// `0`, if any, becomes the country code). 6 to 15 digits (E.164).
pub fn normalize_phone(raw: &str, country_code: &str) -> Result<String, ValidationError> {
    let bad = || {
        ValidationError::new(
            "customer.phone",
            "invalid_phone",
            "Phone number may contain only digits, spaces, +, -, (, ), . and /",
        )
    };
    let trimmed = raw.trim();
    let mut digits = String::with_capacity(trimmed.len());
    let mut plus = false;
    for c in trimmed.chars() {
        match c {
            '0'..='9' => digits.push(c),
            // a leading + (also written inside a leading parenthesis: "(+62) 812…")
            '+' if digits.is_empty() && !plus => plus = true,
            c if is_phone_char(c) && c != '+' => {}
            _ => return Err(bad()),
        }
    }
    let international = plus || digits.starts_with("00");
    let canonical = if international {
        let rest = digits.strip_prefix("00").unwrap_or(&digits);
        match rest.strip_prefix(country_code) {
            // +62 (0)812…: the trunk 0 written after the country code
            Some(national) => format!(
                "{country_code}{}",
                national.strip_prefix('0').unwrap_or(national)
            ),
            None => rest.to_owned(),
        }
    } else if let Some(national) = digits.strip_prefix('0') {
        format!("{country_code}{national}")
    } else if digits.starts_with(country_code) && digits.len() >= country_code.len() + 8 {
        // 62812…: the international form without its +
        digits
    } else {
        // 812…: the national number without its trunk 0
        format!("{country_code}{digits}")
    };
    if !(6..=15).contains(&canonical.len()) {
        return Err(ValidationError::new(
            "customer.phone",
            "invalid_phone",
            "Phone number must have between 6 and 15 digits",
        ));
    }
    Ok(canonical)
}

/// The canonical form of an e-mail address for exact search: trimmed and lower-cased.
pub fn normalize_email(raw: &str) -> Result<String, ValidationError> {
    let e = raw.trim().to_lowercase();
    let bad = || {
        ValidationError::new(
            "customer.email",
            "invalid_email",
            "E-mail address looks wrong (expected name@example.com)",
        )
    };
    if e.len() > MAX_EMAIL || e.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    let (local, domain) = e.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_one_to_three_digits() {
        assert_eq!(
            CountryCode::parse("c", " +62 ").map(CountryCode::digits),
            Ok("62".into())
        );
        assert_eq!(
            CountryCode::parse("c", "1").map(CountryCode::digits),
            Ok("1".into())
        );
        for bad in ["", "+", "0", "062", "1234", "6a", "-62"] {
            assert_eq!(
                CountryCode::parse("c", bad).map_err(|e| e.code),
                Err("invalid".to_owned()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn phone_forms_match() {
        let a = normalize_phone("0812-3456-7890", "62").unwrap();
        let b = normalize_phone("+62 812 3456 7890", "62").unwrap();
        let c = normalize_phone("0062 812 3456 7890", "62").unwrap();
        assert_eq!(a, "6281234567890");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(normalize_phone("12ab", "62").is_err());
        assert!(normalize_phone("123", "62").is_err());
        // every way Indonesians write the same subscriber number
        for spelling in [
            "0812 3456 7890",
            "0812.3456.7890",
            "(0812) 3456-7890",
            "0812/3456 7890",
            "+62 (0)812-3456-7890",
            "+62 0812 3456 7890",
            "+62-812-3456-7890",
            "(+62) 812-3456-7890",
            "62812-3456-7890",
            "6281234567890",
            "812 3456 7890",
            "0812\u{a0}3456\u{a0}7890",
            " 0812 3456 7890 ",
        ] {
            assert_eq!(normalize_phone(spelling, "62").unwrap(), a, "{spelling:?}");
        }
        // another country's number, written internationally, stays itself
        assert_eq!(
            normalize_phone("+65 9123 4567", "62").unwrap(),
            "6591234567"
        );
    }

    #[test]
    fn phone_order_needs_phone() {
        let c = Customer {
            name: " Siti ".into(),
            ..Default::default()
        };
        assert_eq!(
            c.clone().validated(Channel::Phone).unwrap_err().field,
            "customer.phone"
        );
        assert_eq!(c.validated(Channel::WalkIn).unwrap().name, "Siti");
    }

    #[test]
    fn email_rules() {
        assert_eq!(
            normalize_email(" Siti@Example.COM ").unwrap(),
            "siti@example.com"
        );
        for bad in ["siti", "@x.com", "a@b", "a@@b.com", "a b@c.com", "a@.com"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let c = Customer {
            name: "Siti Rahayu".into(),
            ..Default::default()
        };
        assert!(!format!("{c:?}").contains("Siti"));
    }
}
