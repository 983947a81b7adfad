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
/// accents, and full-width letters, are alike), accents of Latin letters dropped (a mark on a
/// letter of another script, such as a Thai or Javanese vowel sign, is part of the word and
/// stays), lower-cased, and every run of characters that are neither letters nor digits made
/// one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    let mut latin_base = false;
    for c in text.nfkd() {
        if is_combining_mark(c) {
            if latin_base {
                continue;
            }
            out.push(c);
            continue;
        }
        // Basic Latin to Latin Extended-B and Latin Extended Additional
        latin_base = c < '\u{250}' || ('\u{1e00}'..='\u{1eff}').contains(&c);
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

/// How many words a name search may hold. A name is a few words; each searched word is one
/// more lookup (on the service, one more condition of the statement), so a search of hundreds
/// of words would tie the database up for a long time.
pub const MAX_QUERY_WORDS: usize = 8;

/// A search text as terms: each word of it (split at spaces) must be found, either as written
/// without its inner punctuation (`maruf` for `Ma'ruf`) or as its parts (`ma`, `ruf`) — so a
/// name stored as `Maruf` and one stored as `Ma'ruf` are both found by either spelling. Each
/// term is its alternatives; each alternative, words that must all be among the name's
/// ([`name_words`]). A word given twice is one term. Empty when the text has no letter or
/// digit (it then finds nothing).
///
/// # Errors
/// `q` / `too_many_words` when more than [`MAX_QUERY_WORDS`] different words are searched.
pub fn query_terms(q: &str) -> Result<Vec<Vec<Vec<String>>>, crate::ValidationError> {
    let mut terms: Vec<Vec<Vec<String>>> = Vec::new();
    for term in words_of_query(q) {
        if !terms.contains(&term) {
            if terms.len() == MAX_QUERY_WORDS {
                return Err(crate::ValidationError::new(
                    "q",
                    "too_many_words",
                    format!("Search at most {MAX_QUERY_WORDS} words at a time"),
                )
                .with("max", MAX_QUERY_WORDS));
            }
            terms.push(term);
        }
    }
    Ok(terms)
}

fn words_of_query(q: &str) -> impl Iterator<Item = Vec<Vec<String>>> + '_ {
    q.split_whitespace().filter_map(|chunk| {
        let folded = fold(chunk);
        let parts: Vec<String> = folded
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        match parts.len() {
            0 => None,
            1 => Some(vec![parts]),
            _ => Some(vec![vec![parts.concat()], parts]),
        }
    })
}

/// Whether a name whose [`name_words`] are `words` (or, for a substring search, whose words
/// contain them) answers the search `terms` ([`query_terms`]); `holds` says whether one word
/// of an alternative is there.
pub fn matches(terms: &[Vec<Vec<String>>], holds: impl Fn(&str) -> bool) -> bool {
    !terms.is_empty()
        && terms
            .iter()
            .all(|alternatives| alternatives.iter().any(|alt| alt.iter().all(|w| holds(w))))
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
    fn punctuated_and_unpunctuated_spellings_find_each_other_and_nothing_finds_everything() {
        let found = |name: &str, q: &str| {
            let words = name_words(name);
            matches(&query_terms(q).expect("a few words"), |w| {
                words.iter().any(|x| x == w)
            })
        };
        assert!(found("Maruf", "Ma'ruf"));
        assert!(found("Ma'ruf", "maruf"));
        assert!(found("Abdul Rahman", "Abdul-Rahman"));
        assert!(found("Abdul-Rahman", "abdul rahman"));
        assert!(!found("Siti", "-"));
        assert!(query_terms("  ·  ").expect("no word").is_empty());
        // a Thai name keeps its vowel signs: different names stay different
        assert_ne!(fold("กิ"), fold("ก"));
        assert_eq!(fold("Sít\u{ed}"), "siti");
    }

    #[test]
    fn a_search_holds_a_few_words_and_a_repeated_word_once() {
        let eight = "a b c d e f g h";
        assert_eq!(query_terms(eight).expect("eight words").len(), 8);
        let repeated = format!("{eight} {eight} A  b");
        assert_eq!(query_terms(&repeated).expect("eight words").len(), 8);
        let e = query_terms(&format!("{eight} i")).expect_err("nine words");
        assert_eq!((e.field.as_str(), e.code.as_str()), ("q", "too_many_words"));
        let long: String = (0..400).map(|i| format!("w{i} ")).collect();
        assert!(query_terms(&long).is_err());
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
