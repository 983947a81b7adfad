//! The business dates both programs accept, written once: every date a person or a client
//! sends (a filter's range, a due date, an installment plan's last date) lies between
//! [`FIRST`] and [`LAST`]. Outside that range a date is a typing slip or an attack, and dates
//! far outside it (year 9999, year −200000) break date arithmetic downstream; nothing outside
//! it is stored, so nothing stored can break a read.

use crate::ValidationError;
use chrono::NaiveDate;

/// The first business date accepted: 1 January 2000.
pub const FIRST: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The last business date accepted: 31 December 2199 (an installment plan of a few years
/// from any day this software will see ends well before it).
pub const LAST: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// `date`, sent for `field`, when it lies in the business range.
pub fn check(field: &str, date: NaiveDate) -> Result<NaiveDate, ValidationError> {
    if (FIRST..=LAST).contains(&date) {
        Ok(date)
    } else {
        Err(ValidationError::new(
            field,
            "date_out_of_range",
            format!("Dates must lie between {FIRST} and {LAST}"),
        )
        .with("min", FIRST)
        .with("max", LAST))
    }
}

/// A filter's day range (`from` and `to`, each optional): each in the business range, and
/// `from` not after `to`.
pub fn check_range(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<(), ValidationError> {
    if let Some(f) = from {
        check("from", f)?;
    }
    if let Some(t) = to {
        check("to", t)?;
    }
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(ValidationError::new(
            "from",
            "invalid_range",
            "The start date is after the end date",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_business_range_is_2000_to_2199() {
        assert!(check("from", d("2000-01-01")).is_ok());
        assert!(check("from", d("2199-12-31")).is_ok());
        let e = check("to", d("9999-12-31")).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("to", "date_out_of_range")
        );
        assert_eq!(e.params["max"], "2199-12-31");
        assert!(check("from", d("1999-12-31")).is_err());
        assert!(check("from", NaiveDate::MIN).is_err());
    }

    #[test]
    fn a_range_is_in_bounds_and_in_order() {
        assert!(check_range(Some(d("2026-11-01")), Some(d("2026-11-30"))).is_ok());
        assert!(check_range(None, None).is_ok());
        assert_eq!(
            check_range(Some(d("2026-11-30")), Some(d("2026-11-01")))
                .unwrap_err()
                .code,
            "invalid_range"
        );
        assert_eq!(
            check_range(None, Some(NaiveDate::MAX)).unwrap_err().field,
            "to"
        );
    }
}
