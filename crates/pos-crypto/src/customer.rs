//! A customer's personal data at rest (SPEC §5, UU PDP): each field of an order's customer and
//! its notes sealed on its own and bound to the order and field, and the search keys kept
//! beside them — HMAC blind indexes of the normalised phone (in the shop's country) and
//! e-mail, for exact search, and of each name word, for word search. Both programs seal and
//! index with these functions, so a customer found on the counter is found the same way at
//! the service.

use crate::{Aad, FieldCipher};
use pos_domain::{Customer, ValidationError};

/// An order's customer fields and notes, each encrypted (AES-256-GCM) with its order id and
/// field name as associated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCustomer {
    pub name: Vec<u8>,
    pub phone: Option<Vec<u8>>,
    pub email: Option<Vec<u8>>,
    pub address: Option<Vec<u8>>,
    pub notes: Option<Vec<u8>>,
}

/// A customer's search keys (each an HMAC-SHA-256 blind index under the data key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKeys {
    /// The phone number in international form ([`pos_domain::customer::normalize_phone`]).
    pub phone_index: Option<Vec<u8>>,
    /// The e-mail address, normalised ([`pos_domain::customer::normalize_email`]).
    pub email_index: Option<Vec<u8>>,
    /// Each search word of the name ([`pos_domain::search::name_words`]).
    pub name_tokens: Vec<Vec<u8>>,
}

/// The associated data of field `field` of order `order_id`.
pub fn order_aad<'a>(order_id: &'a str, field: &'a str) -> Aad<'a> {
    Aad {
        table: "orders",
        record_id: order_id,
        field,
    }
}

/// Seals `c` and `notes` for order `order_id`.
pub fn seal(
    cipher: &FieldCipher,
    order_id: &str,
    c: &Customer,
    notes: Option<&str>,
) -> SealedCustomer {
    let enc = |v: &str, field: &str| cipher.encrypt_str(v, order_aad(order_id, field));
    SealedCustomer {
        name: enc(&c.name, "customer_name"),
        phone: c.phone.as_deref().map(|v| enc(v, "customer_phone")),
        email: c.email.as_deref().map(|v| enc(v, "customer_email")),
        address: c.address.as_deref().map(|v| enc(v, "customer_address")),
        notes: notes.map(|v| enc(v, "notes")),
    }
}

/// Opens what [`seal`] sealed for order `order_id`: the customer and the notes, or `None`
/// when a field does not decrypt (another key, another order or field, or tampering).
pub fn open(
    cipher: &FieldCipher,
    order_id: &str,
    s: &SealedCustomer,
) -> Option<(Customer, Option<String>)> {
    let dec = |v: &[u8], field: &str| cipher.decrypt_string(v, order_aad(order_id, field));
    let opt = |v: &Option<Vec<u8>>, field: &str| match v {
        Some(b) => dec(b, field).map(Some),
        None => Some(None),
    };
    Some((
        Customer {
            name: dec(&s.name, "customer_name")?,
            phone: opt(&s.phone, "customer_phone")?,
            email: opt(&s.email, "customer_email")?,
            address: opt(&s.address, "customer_address")?,
        },
        opt(&s.notes, "notes")?,
    ))
}

/// The search keys of `c` for a shop whose phone numbers are in country `country_code` (the
/// calling code without `+`, e.g. `"62"`).
///
/// # Errors
/// The phone or e-mail's [`ValidationError`] when it does not normalise.
pub fn search_keys(
    cipher: &FieldCipher,
    c: &Customer,
    country_code: &str,
) -> Result<SearchKeys, ValidationError> {
    Ok(SearchKeys {
        phone_index: c
            .phone
            .as_deref()
            .map(|p| phone_index(cipher, p, country_code))
            .transpose()?,
        email_index: c
            .email
            .as_deref()
            .map(|e| email_index(cipher, e))
            .transpose()?,
        name_tokens: name_tokens(cipher, &c.name),
    })
}

/// The blind index of a phone number as typed, in country `country_code`.
///
/// # Errors
/// When the number does not normalise.
pub fn phone_index(
    cipher: &FieldCipher,
    phone: &str,
    country_code: &str,
) -> Result<Vec<u8>, ValidationError> {
    let p = pos_domain::customer::normalize_phone(phone, country_code)?;
    Ok(cipher.blind_index("phone", &p))
}

/// The blind index of an e-mail address as typed.
///
/// # Errors
/// When the address does not normalise.
pub fn email_index(cipher: &FieldCipher, email: &str) -> Result<Vec<u8>, ValidationError> {
    let e = pos_domain::customer::normalize_email(email)?;
    Ok(cipher.blind_index("email", &e))
}

/// The blind indexes of a name's search words; a search text's words are found when all of
/// theirs are among an order's.
pub fn name_tokens(cipher: &FieldCipher, text: &str) -> Vec<Vec<u8>> {
    blind_words(cipher, &pos_domain::search::name_words(text))
}

/// The blind indexes of search words.
pub fn blind_words(cipher: &FieldCipher, words: &[String]) -> Vec<Vec<u8>> {
    words
        .iter()
        .map(|w| cipher.blind_index("name_word", w))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;

    fn cipher() -> FieldCipher {
        FieldCipher::new(&MasterKey::generate())
    }

    fn customer(phone: &str) -> Customer {
        Customer {
            name: "Sari Dewi".into(),
            phone: Some(phone.into()),
            email: Some("Sari@Example.com".into()),
            address: None,
        }
    }

    #[test]
    fn the_same_number_written_two_ways_has_one_key_in_its_country() {
        let c = cipher();
        let a = search_keys(&c, &customer("0812-3456-7890"), "62").expect("keys");
        let b = search_keys(&c, &customer("+62 812 3456 7890"), "62").expect("keys");
        assert_eq!(a.phone_index, b.phone_index);
        assert_eq!(a.email_index, b.email_index);
        assert_eq!(a.name_tokens.len(), 2);
        // a national number in another country is another number
        let my = search_keys(&c, &customer("0812-3456-7890"), "60").expect("keys");
        assert_ne!(a.phone_index, my.phone_index);
    }

    #[test]
    fn each_field_is_bound_to_its_order_and_name() {
        let c = cipher();
        let s = seal(&c, "order-1", &customer("0812"), Some("gift"));
        assert_eq!(
            c.decrypt_string(&s.name, order_aad("order-1", "customer_name")),
            Some("Sari Dewi".into())
        );
        assert_eq!(
            c.decrypt_string(&s.name, order_aad("order-2", "customer_name")),
            None
        );
        assert_eq!(
            c.decrypt_string(&s.name, order_aad("order-1", "notes")),
            None
        );
        let (customer, notes) = open(&c, "order-1", &s).expect("opens");
        assert_eq!(customer, self::tests::customer("0812"));
        assert_eq!(notes.as_deref(), Some("gift"));
        assert!(open(&c, "order-2", &s).is_none());
    }
}
