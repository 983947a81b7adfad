//! Exact money. Amounts are `rust_decimal::Decimal` values whose scale never exceeds the
//! currency's minor unit; they travel as decimal strings and are stored as integer minor units.

use crate::ValidationError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;

/// The currencies a shop can choose. Rupiah is the default and, as on every receipt and price
/// tag in Indonesia, has no minor unit in use.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Currency {
    #[default]
    IDR,
    USD,
    EUR,
    SGD,
    MYR,
    JPY,
}

/// The largest amount accepted anywhere (10^13 in major units): far above any shop order and
/// far below `i64` minor units, so sums can never overflow.
const MAX_MAJOR: i64 = 10_000_000_000_000;

impl Currency {
    pub const ALL: [Currency; 6] = [
        Currency::IDR,
        Currency::USD,
        Currency::EUR,
        Currency::SGD,
        Currency::MYR,
        Currency::JPY,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Currency::IDR => "IDR",
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::SGD => "SGD",
            Currency::MYR => "MYR",
            Currency::JPY => "JPY",
        }
    }

    /// Digits after the decimal point of the smallest unit in use.
    pub fn minor_units(self) -> u32 {
        match self {
            Currency::IDR | Currency::JPY => 0,
            Currency::USD | Currency::EUR | Currency::SGD | Currency::MYR => 2,
        }
    }

    /// Parses and checks an amount typed or sent for `field`: a plain decimal, not negative,
    /// with no more decimals than the currency has, and within range.
    pub fn parse(self, field: &str, raw: &str) -> Result<Money, ValidationError> {
        let bad =
            || ValidationError::new(field, "invalid_amount", format!("{raw:?} is not an amount"));
        let t = raw.trim();
        let digits = t.strip_prefix('-').unwrap_or(t);
        if digits.is_empty()
            || digits.starts_with('.')
            || digits.ends_with('.')
            || !digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            || digits.matches('.').count() > 1
        {
            return Err(bad());
        }
        let value = Decimal::from_str(t).map_err(|_| bad())?;
        self.check(field, value)
    }

    /// Checks a decimal amount against the currency's rules.
    pub fn check(self, field: &str, value: Decimal) -> Result<Money, ValidationError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(ValidationError::new(
                field,
                "negative_amount",
                "Amount cannot be negative",
            ));
        }
        let value = value.normalize();
        if value.scale() > self.minor_units() {
            return Err(ValidationError::new(
                field,
                "too_many_decimals",
                match self.minor_units() {
                    0 => format!("{} amounts have no decimals", self.code()),
                    n => format!("{} amounts have at most {n} decimals", self.code()),
                },
            )
            .with("currency", self.code())
            .with("max", self.minor_units()));
        }
        if value > Decimal::from(MAX_MAJOR) {
            return Err(ValidationError::new(
                field,
                "amount_too_large",
                "Amount is too large",
            ));
        }
        Ok(Money(value))
    }

    /// The amount for a count of minor units (as stored).
    pub fn from_minor(self, minor: i64) -> Money {
        Money(Decimal::new(minor, self.minor_units()).normalize())
    }

    /// Rounds half away from zero to the minor unit (used for quantity × price).
    pub fn round(self, value: Decimal) -> Decimal {
        value.round_dp_with_strategy(
            self.minor_units(),
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        )
    }

    /// Rounds towards zero to the minor unit (used for equal installment parts).
    pub fn floor(self, value: Decimal) -> Decimal {
        value.round_dp_with_strategy(self.minor_units(), rust_decimal::RoundingStrategy::ToZero)
    }

    /// The smallest unit, e.g. 0.01 for USD and 1 for IDR.
    pub fn unit(self) -> Decimal {
        Decimal::new(1, self.minor_units())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                ValidationError::new(
                    "currency",
                    "unknown_currency",
                    format!("{s:?} is not a supported currency"),
                )
            })
    }
}

/// An exact amount of money. The currency is the order's (one per tenant); constructors that
/// take input go through [`Currency::parse`] or [`Currency::check`]. May be negative only as
/// the result of subtraction (a balance is checked before use).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, example = "150000")
)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(
    #[serde(with = "rust_decimal::serde::str")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub(crate) Decimal,
);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// Integer minor units in `currency` (exact: amounts are checked to its scale).
    pub fn to_minor(self, currency: Currency) -> i64 {
        let scaled = self.0 * Decimal::from(10_i64.pow(currency.minor_units()));
        // Amounts are bounded by MAX_MAJOR so this always fits.
        i64::try_from(scaled.trunc()).unwrap_or(i64::MAX)
    }

    pub fn min(self, other: Money) -> Money {
        if self <= other {
            self
        } else {
            other
        }
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    /// The reversing amount of an entry.
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.normalize().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idr_has_no_decimals_and_usd_two() {
        assert!(Currency::IDR.parse("amount", "1500").is_ok());
        let err = Currency::IDR.parse("amount", "1500.5").unwrap_err();
        assert_eq!(err.code, "too_many_decimals");
        assert_eq!(err.field, "amount");
        assert_eq!(
            Currency::USD
                .parse("x", "12.34")
                .unwrap()
                .to_minor(Currency::USD),
            1234
        );
        assert_eq!(
            Currency::USD.parse("x", "12.340").unwrap().0,
            Decimal::new(1234, 2)
        );
        assert!(Currency::USD.parse("x", "12.345").is_err());
    }

    #[test]
    fn rejects_negative_garbage_and_huge() {
        assert_eq!(
            Currency::IDR.parse("p", "-1").unwrap_err().code,
            "negative_amount"
        );
        assert_eq!(
            Currency::IDR.parse("p", "1e5").unwrap_err().code,
            "invalid_amount"
        );
        assert_eq!(
            Currency::IDR.parse("p", "abc").unwrap_err().code,
            "invalid_amount"
        );
        assert_eq!(
            Currency::IDR
                .parse("p", "100000000000000000")
                .unwrap_err()
                .code,
            "amount_too_large"
        );
    }

    #[test]
    fn minor_round_trip() {
        for c in Currency::ALL {
            let m = c.from_minor(123_456);
            assert_eq!(m.to_minor(c), 123_456);
        }
    }

    #[test]
    fn serialises_as_string() {
        let m = Currency::USD.parse("x", "10.50").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"10.5\"");
        let back: Money = serde_json::from_str("\"10.50\"").unwrap();
        assert_eq!(back, m);
    }
}
