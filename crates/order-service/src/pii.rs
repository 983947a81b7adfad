//! Search keys for a customer: HMAC blind indexes of the normalised phone and e-mail (exact
//! search) and of each name word (word search, see [`pos_domain::search`]), computed one way
//! everywhere.

use crate::error::ApiResult;
use pos_crypto::{Aad, FieldCipher};
use pos_domain::Customer;

/// The country calling code used to normalise local phone numbers (`0812…` → `62812…`).
pub const PHONE_COUNTRY_CODE: &str = "62";

pub struct SearchKeys {
    pub phone_index: Option<Vec<u8>>,
    pub email_index: Option<Vec<u8>>,
    pub tokens: Vec<Vec<u8>>,
}

pub fn search_keys(cipher: &FieldCipher, c: &Customer) -> ApiResult<SearchKeys> {
    Ok(SearchKeys {
        phone_index: c
            .phone
            .as_deref()
            .map(|p| pos_domain::customer::normalize_phone(p, PHONE_COUNTRY_CODE))
            .transpose()?
            .map(|p| cipher.blind_index("phone", &p)),
        email_index: c
            .email
            .as_deref()
            .map(pos_domain::customer::normalize_email)
            .transpose()?
            .map(|e| cipher.blind_index("email", &e)),
        tokens: name_tokens(cipher, &c.name),
    })
}

/// The blind indexes of a name's search words ([`pos_domain::search::name_words`]); a search
/// text's words are found when all of theirs are among an order's.
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

/// An order's customer fields and notes, encrypted per field and bound to the order.
pub struct Sealed {
    pub name: Vec<u8>,
    pub phone: Option<Vec<u8>>,
    pub email: Option<Vec<u8>>,
    pub address: Option<Vec<u8>>,
    pub notes: Option<Vec<u8>>,
}

pub fn seal(cipher: &FieldCipher, order_id: &str, c: &Customer, notes: Option<&str>) -> Sealed {
    let enc = |v: &str, field: &str| {
        cipher.encrypt_str(
            v,
            Aad {
                table: "orders",
                record_id: order_id,
                field,
            },
        )
    };
    Sealed {
        name: enc(&c.name, "customer_name"),
        phone: c.phone.as_deref().map(|v| enc(v, "customer_phone")),
        email: c.email.as_deref().map(|v| enc(v, "customer_email")),
        address: c.address.as_deref().map(|v| enc(v, "customer_address")),
        notes: notes.map(|v| enc(v, "notes")),
    }
}
