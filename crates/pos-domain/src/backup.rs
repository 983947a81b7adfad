//! The rules of a counter's backups: the recovery passphrase, how many backups are kept, when
//! the daily one is due and when the top bar warns.

use crate::ValidationError;
use chrono::NaiveDate;

/// A recovery passphrase has at least this many characters. It guards the data key of every
/// backup against an offline guess, so it is longer than a login password (NIST SP 800-63B
/// asks at least 8 of a memorized secret; the passphrase is typed rarely, at setup and at a
/// restore).
pub const PASSPHRASE_MIN_CHARS: usize = 12;
/// … and at most this many bytes.
pub const PASSPHRASE_MAX_BYTES: usize = 1024;

/// How many backups a folder keeps when the owner has not said: two weeks of daily ones.
pub const DEFAULT_KEEP: u32 = 14;
/// The most backups the owner may ask a folder to keep.
pub const MAX_KEEP: u32 = 365;

/// The recovery passphrase as typed (never trimmed: every character counts), or why not.
pub fn passphrase<'a>(field: &str, raw: &'a str) -> Result<&'a str, ValidationError> {
    if raw.chars().count() < PASSPHRASE_MIN_CHARS || raw.trim().is_empty() {
        return Err(ValidationError::new(
            field,
            "too_short",
            format!("The recovery passphrase must have at least {PASSPHRASE_MIN_CHARS} characters"),
        )
        .with("min", PASSPHRASE_MIN_CHARS));
    }
    if raw.len() > PASSPHRASE_MAX_BYTES {
        return Err(ValidationError::new(
            field,
            "too_long",
            format!("The recovery passphrase may have at most {PASSPHRASE_MAX_BYTES} characters"),
        )
        .with("max", PASSPHRASE_MAX_BYTES));
    }
    Ok(raw)
}

/// How many backups to keep: 1 to [`MAX_KEEP`].
pub fn keep(field: &str, n: u32) -> Result<u32, ValidationError> {
    if !(1..=MAX_KEEP).contains(&n) {
        return Err(ValidationError::new(
            field,
            "out_of_range",
            format!("Keep between 1 and {MAX_KEEP} backups"),
        )
        .with("min", 1)
        .with("max", MAX_KEEP));
    }
    Ok(n)
}

/// Whether the day's automatic backup (or the day's end-of-day one) is due: none yet, or the
/// last is of another business day — an earlier one, or a later one when the computer's clock
/// was ahead then (a shop PC's clock reset), which must not stop the backups.
pub fn daily_due(last_day: Option<NaiveDate>, today: NaiveDate) -> bool {
    last_day != Some(today)
}

/// What the top bar says of backups, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    /// No recovery passphrase or no backup folder yet: a lost disk loses what was not synced.
    NotSetUp,
    /// The last attempt failed (it is retried with the next daily or on-demand backup).
    Failed,
    /// Set up, but no good backup yesterday or today (the app was not running, or is new).
    Missing,
}

/// The top bar's warning, if any: `configured` (passphrase and folder set), whether the last
/// attempt failed, and the business day of the last good backup.
pub fn attention(
    configured: bool,
    last_failed: bool,
    last_success_day: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<Attention> {
    if !configured {
        return Some(Attention::NotSetUp);
    }
    if last_failed {
        return Some(Attention::Failed);
    }
    match last_success_day {
        Some(d) if (0..=1).contains(&today.signed_duration_since(d).num_days()) => None,
        // none, too old, or dated after today (the clock was ahead): not a backup to rely on
        _ => Some(Attention::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn passphrase_length_counts_characters_and_keeps_spaces() {
        assert_eq!(passphrase("p", "short one").unwrap_err().code, "too_short");
        assert_eq!(
            passphrase("p", "            ").unwrap_err().code,
            "too_short"
        );
        assert_eq!(passphrase("p", " kunci toko! ").unwrap(), " kunci toko! ");
        // 12 characters, more bytes
        assert!(passphrase("p", "ééééééééééé1").is_ok());
        assert_eq!(
            passphrase("p", &"x".repeat(PASSPHRASE_MAX_BYTES + 1))
                .unwrap_err()
                .code,
            "too_long"
        );
    }

    #[test]
    fn keep_bounds() {
        assert!(keep("keep", 0).is_err());
        assert_eq!(keep("keep", 1).unwrap(), 1);
        assert_eq!(keep("keep", MAX_KEEP).unwrap(), MAX_KEEP);
        assert!(keep("keep", MAX_KEEP + 1).is_err());
    }

    #[test]
    fn due_and_attention() {
        let today = d("2026-12-01");
        assert!(daily_due(None, today));
        assert!(daily_due(Some(d("2026-11-30")), today));
        assert!(!daily_due(Some(today), today));
        // a backup dated ahead (the clock was wrong) does not stop the next one
        assert!(daily_due(Some(d("2026-12-05")), today));
        assert_eq!(
            attention(true, false, Some(d("2026-12-05")), today),
            Some(Attention::Missing)
        );
        assert_eq!(
            attention(false, false, Some(today), today),
            Some(Attention::NotSetUp)
        );
        assert_eq!(
            attention(true, true, Some(today), today),
            Some(Attention::Failed)
        );
        assert_eq!(
            attention(true, false, None, today),
            Some(Attention::Missing)
        );
        assert_eq!(attention(true, false, Some(d("2026-11-30")), today), None);
        assert_eq!(
            attention(true, false, Some(d("2026-11-29")), today),
            Some(Attention::Missing)
        );
    }
}
