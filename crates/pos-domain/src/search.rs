//! Search, written once for the counter and the service: what a search box's text means
//! ([`SearchKind::detect`]), and the normal form of names ([`fold`], [`name_words`]) so that a
//! name is found by any of its words whatever the letter case, accents, punctuation around the
//! words, or the Unicode normalisation form it was typed in. Phone numbers are normalised by
//! [`crate::customer::normalize_phone`], e-mails by [`crate::customer::normalize_email`].

use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// What a search text is matched against.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    /// The exact order number, e.g. `K01-20261125-0042`.
    OrderNumber,
    /// The exact phone number, in any common spelling (`0812…`, `+62 812…`, `62812…`).
    Phone,
    /// The exact e-mail address, any case.
    Email,
    /// Words of the customer's name, any case, accents or punctuation.
    Name,
}

impl SearchKind {
    /// Guesses what a single search box means: an `@` is an e-mail, an order-number shape is
    /// an order number, mostly digits is a phone number, anything else words of a name.
    pub fn detect(q: &str) -> SearchKind {
        let q = q.trim();
        let digits = q.chars().filter(char::is_ascii_digit).count();
        let is_order_number = {
            let parts: Vec<&str> = q.split('-').collect();
            parts.len() == 3
                && !parts[0].is_empty()
                && parts[0].chars().all(|c| c.is_ascii_alphanumeric())
                && parts[1].len() == 8
                && parts[1].chars().all(|c| c.is_ascii_digit())
                && !parts[2].is_empty()
                && parts[2].chars().all(|c| c.is_ascii_alphanumeric())
        };
        if q.contains('@') {
            SearchKind::Email
        } else if is_order_number {
            SearchKind::OrderNumber
        } else if digits >= 6 && q.chars().all(crate::customer::is_phone_char) {
            SearchKind::Phone
        } else {
            SearchKind::Name
        }
    }
}

/// `text` as search compares it: compatibility-decomposed (NFKD, so precomposed and combined
/// accents, and full-width letters, are alike), accents dropped, lower-cased, and every run of
/// characters that are neither letters nor digits made one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// The words a name is found by: each word of [`fold`]`(name)`, and for a word written with
/// punctuation inside (`Ma'ruf`, `Siti-Aisyah`), also the word without it (`maruf`,
/// `sitiaisyah`). Searching for a name's words (the same function on the search text) finds it
/// when all of them are among these. No duplicates, in order of first appearance.
pub fn name_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut push = |w: String| {
        if !w.is_empty() && !words.contains(&w) {
            words.push(w);
        }
    };
    for chunk in name.split_whitespace() {
        let folded = fold(chunk);
        let parts: Vec<&str> = folded.split(' ').filter(|p| !p.is_empty()).collect();
        if parts.len() > 1 {
            push(parts.concat());
        }
        for p in parts {
            push(p.to_owned());
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_accents_punctuation_and_normalisation_forms_fold_alike() {
        let nfc = "Sít\u{ed} Rahmawati";
        let nfd = "Si\u{301}ti\u{301} Rahmawati";
        assert_eq!(fold(nfc), "siti rahmawati");
        assert_eq!(fold(nfd), "siti rahmawati");
        assert_eq!(fold("  (SITI),  rahmawati!! "), "siti rahmawati");
        assert_eq!(fold("ＳＩＴＩ"), "siti");
    }

    #[test]
    fn a_name_is_found_by_any_of_its_words() {
        let words = name_words("Muhammad Ma'ruf, S.Kom");
        for q in [
            "muhammad", "Ma'ruf", "maruf", "MARUF", "ma", "ruf", "skom", "kom",
        ] {
            let wanted = name_words(q);
            assert!(
                wanted.iter().all(|w| words.contains(w)),
                "{q}: {wanted:?} in {words:?}"
            );
        }
        assert!(!words.contains(&"siti".to_owned()));
    }

    #[test]
    fn detects_what_a_search_box_means() {
        assert_eq!(SearchKind::detect("siti@example.com"), SearchKind::Email);
        assert_eq!(
            SearchKind::detect("K01-20261125-0042"),
            SearchKind::OrderNumber
        );
        assert_eq!(
            SearchKind::detect("K01-20261125-R001"),
            SearchKind::OrderNumber
        );
        assert_eq!(SearchKind::detect("+62 812-1111-2222"), SearchKind::Phone);
        assert_eq!(SearchKind::detect("(0812) 1111/2222"), SearchKind::Phone);
        assert_eq!(SearchKind::detect("Siti Rahma"), SearchKind::Name);
    }
}
