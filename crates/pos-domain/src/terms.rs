use crate::{Currency, Money, ValidationError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Weekly,
    Monthly,
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Weekly => "weekly",
            Interval::Monthly => "monthly",
        }
    }

    /// The `n`-th due date counted from `first` (n = 0 is `first`). Monthly dates are counted
    /// from the first date each time, so 31 Jan → 29 Feb → 31 Mar, never drifting.
    pub fn nth(self, first: NaiveDate, n: u32) -> Option<NaiveDate> {
        match self {
            Interval::Weekly => first.checked_add_days(chrono::Days::new(7 * u64::from(n))),
            Interval::Monthly => first.checked_add_months(chrono::Months::new(n)),
        }
    }
}

impl std::str::FromStr for Interval {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "weekly" => Ok(Interval::Weekly),
            "monthly" => Ok(Interval::Monthly),
            other => Err(format!("unknown interval {other:?}")),
        }
    }
}

/// One order's payment terms, checked.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PaymentTerms {
    /// Paid in full when recorded.
    Full,
    /// 0 < down payment < total; the balance is due by `due_date`.
    DownPayment {
        down_payment: Money,
        due_date: NaiveDate,
    },
    /// Optional down payment, then `installment_count` (2..=36) parts at `interval` from
    /// `first_due_date`.
    Installment {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        down_payment: Option<Money>,
        installment_count: u32,
        interval: Interval,
        first_due_date: NaiveDate,
    },
}

pub const MIN_INSTALLMENTS: u32 = 2;
pub const MAX_INSTALLMENTS: u32 = 36;

impl PaymentTerms {
    pub fn kind(&self) -> &'static str {
        match self {
            PaymentTerms::Full => "full",
            PaymentTerms::DownPayment { .. } => "down_payment",
            PaymentTerms::Installment { .. } => "installment",
        }
    }

    pub fn down_payment(&self) -> Option<Money> {
        match self {
            PaymentTerms::Full => None,
            PaymentTerms::DownPayment { down_payment, .. } => Some(*down_payment),
            PaymentTerms::Installment { down_payment, .. } => *down_payment,
        }
    }

    /// Checks the terms against the order's total and the day the order is recorded.
    pub fn validate(
        &self,
        total: Money,
        currency: Currency,
        today: NaiveDate,
    ) -> Result<(), ValidationError> {
        let check_down = |dp: Money| -> Result<(), ValidationError> {
            currency.check("payment_terms.down_payment", dp.0)?;
            if !dp.is_positive() {
                return Err(ValidationError::new(
                    "payment_terms.down_payment",
                    "not_positive",
                    "Down payment must be greater than 0",
                ));
            }
            if dp >= total {
                return Err(ValidationError::new(
                    "payment_terms.down_payment",
                    "down_payment_too_large",
                    format!("Down payment must be less than the total {total}"),
                )
                .with("total", total));
            }
            Ok(())
        };
        match self {
            PaymentTerms::Full => Ok(()),
            PaymentTerms::DownPayment {
                down_payment,
                due_date,
            } => {
                check_down(*down_payment)?;
                crate::dates::check("payment_terms.due_date", *due_date)?;
                if *due_date < today {
                    return Err(ValidationError::new(
                        "payment_terms.due_date",
                        "in_past",
                        "Due date cannot be in the past",
                    ));
                }
                Ok(())
            }
            PaymentTerms::Installment {
                down_payment,
                installment_count,
                interval,
                first_due_date,
            } => {
                if let Some(dp) = down_payment {
                    check_down(*dp)?;
                }
                if !(MIN_INSTALLMENTS..=MAX_INSTALLMENTS).contains(installment_count) {
                    return Err(ValidationError::new(
                        "payment_terms.installment_count",
                        "out_of_range",
                        format!(
                            "Number of installments must be between {MIN_INSTALLMENTS} and {MAX_INSTALLMENTS}"
                        ),
                    )
                    .with("min", MIN_INSTALLMENTS)
                    .with("max", MAX_INSTALLMENTS));
                }
                crate::dates::check("payment_terms.first_due_date", *first_due_date)?;
                if *first_due_date < today {
                    return Err(ValidationError::new(
                        "payment_terms.first_due_date",
                        "in_past",
                        "First due date cannot be in the past",
                    ));
                }
                // the plan's last installment lies in the business range too
                let last = interval.nth(*first_due_date, installment_count.saturating_sub(1));
                if last.is_none_or(|d| d > crate::dates::LAST) {
                    return Err(ValidationError::new(
                        "payment_terms.first_due_date",
                        "too_far_ahead",
                        "First due date is too far in the future",
                    ));
                }
                let financed = total - down_payment.unwrap_or_default();
                let min = currency.unit() * rust_decimal::Decimal::from(*installment_count);
                if financed.0 < min {
                    return Err(ValidationError::new(
                        "payment_terms.installment_count",
                        "too_many_for_amount",
                        format!("{financed} cannot be split into {installment_count} installments"),
                    )
                    .with("amount", financed)
                    .with("count", installment_count));
                }
                Ok(())
            }
        }
    }
}
