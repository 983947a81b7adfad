//! The shop's time zone: which calendar day ("business day") a moment belongs to, for order
//! numbers, date filters, the day's figures and whether an installment is overdue.
//!
//! Zones are IANA names (`Asia/Jakarta`, `Asia/Makassar`, `Asia/Jayapura`, …) from the tz
//! database compiled into `chrono-tz`. The default is `Asia/Jakarta` (WIB, UTC+7), the zone of
//! our first market (issue 15, item 5).

use crate::ValidationError;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use std::fmt;

/// An IANA time zone a shop keeps its days in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShopZone(Tz);

impl ShopZone {
    /// `Asia/Jakarta`.
    pub const DEFAULT: ShopZone = ShopZone(Tz::Asia__Jakarta);

    /// Parses an IANA zone name sent as input `field` (exact spelling, e.g. `Asia/Makassar`).
    pub fn parse(field: &str, name: &str) -> Result<ShopZone, ValidationError> {
        let name = name.trim();
        name.parse::<Tz>().map(ShopZone).map_err(|_| {
            ValidationError::new(
                field,
                "invalid_time_zone",
                "Not a time zone name (use an IANA name such as Asia/Jakarta)",
            )
        })
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The zone's offset from UTC at `at`.
    pub fn offset_at(self, at: DateTime<Utc>) -> chrono::FixedOffset {
        use chrono::Offset;
        at.with_timezone(&self.0).offset().fix()
    }

    /// The business day `at` falls on in this zone.
    pub fn business_date(self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }
}

impl Default for ShopZone {
    fn default() -> Self {
        ShopZone::DEFAULT
    }
}

impl fmt::Display for ShopZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_moment_falls_on_the_shops_day() {
        // 05:30 WIB on 1 December is 22:30 UTC on 30 November
        let wib = ShopZone::DEFAULT;
        assert_eq!(
            wib.business_date(at("2026-11-30T22:30:00Z")).to_string(),
            "2026-12-01"
        );
        assert_eq!(
            wib.business_date(at("2026-11-30T16:59:59Z")).to_string(),
            "2026-11-30"
        );
        let wit = ShopZone::parse("time_zone", "Asia/Jayapura").unwrap();
        assert_eq!(
            wit.business_date(at("2026-11-30T15:00:00Z")).to_string(),
            "2026-12-01"
        );
        assert_eq!(wit.name(), "Asia/Jayapura");
    }

    #[test]
    fn only_iana_names_are_zones() {
        for bad in ["", "WIB", "UTC+7", "Asia/Atlantis", "asia/jakarta"] {
            let e = ShopZone::parse("time_zone", bad).unwrap_err();
            assert_eq!(e.code, "invalid_time_zone", "{bad}");
        }
    }
}
