use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The order lifecycle: `pending` (balance outstanding) → `paid` (balance zero, automatic) →
/// `completed` (goods handed over); `deleted` is a soft delete.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Paid,
    Completed,
    Deleted,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Completed => "completed",
            OrderStatus::Deleted => "deleted",
        }
    }

    /// An open order with some, but not all, of its total paid (the list's "partly paid" badge).
    pub fn is_partly_paid(self, paid: crate::Money, balance: crate::Money) -> bool {
        self == OrderStatus::Pending && paid.is_positive() && balance.is_positive()
    }

    /// The status an order's standing gives it (SPEC §4.5, never set by hand): deleted wins;
    /// what is paid short of the total is pending (even after hand-over, e.g. after a reversed
    /// payment); otherwise completed once handed over, else paid.
    pub fn of(s: Standing) -> Self {
        if s.deleted {
            OrderStatus::Deleted
        } else if s.paid != s.total {
            OrderStatus::Pending
        } else if s.handed_over {
            OrderStatus::Completed
        } else {
            OrderStatus::Paid
        }
    }
}

/// Where an order stands, which its status follows from ([`OrderStatus::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The net of its ledger (payments less reversals).
    pub paid: crate::Money,
    pub total: crate::Money,
    /// Whether the goods were handed over (`completed_at` is set).
    pub handed_over: bool,
    pub deleted: bool,
}

impl Standing {
    /// A live (not deleted) order's standing.
    pub fn live(paid: crate::Money, total: crate::Money, handed_over: bool) -> Self {
        Standing {
            paid,
            total,
            handed_over,
            deleted: false,
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "paid" => Ok(Self::Paid),
            "completed" => Ok(Self::Completed),
            "deleted" => Ok(Self::Deleted),
            other => Err(format!("unknown status {other:?}")),
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    BankTransfer,
    Check,
    Other,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Check => "check",
            PaymentMethod::Other => "other",
        }
    }
}

impl FromStr for PaymentMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cash" => Ok(Self::Cash),
            "card" => Ok(Self::Card),
            "bank_transfer" => Ok(Self::BankTransfer),
            "check" => Ok(Self::Check),
            "other" => Ok(Self::Other),
            other => Err(format!("unknown payment method {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Money;
    use rust_decimal::Decimal;

    #[test]
    fn partly_paid_only_for_open_orders_with_some_but_not_all_paid() {
        let m = |v: i64| Money(Decimal::from(v));
        assert!(OrderStatus::Pending.is_partly_paid(m(300), m(1200)));
        assert!(!OrderStatus::Pending.is_partly_paid(m(0), m(1500)));
        assert!(!OrderStatus::Paid.is_partly_paid(m(1500), m(0)));
        assert!(!OrderStatus::Deleted.is_partly_paid(m(300), m(1200)));
    }

    #[test]
    fn the_status_follows_from_the_standing() {
        let m = |v: i64| Money(Decimal::from(v));
        let of = |paid: i64, handed_over: bool, deleted: bool| {
            OrderStatus::of(Standing {
                paid: m(paid),
                total: m(1500),
                handed_over,
                deleted,
            })
        };
        assert_eq!(of(300, false, false), OrderStatus::Pending);
        assert_eq!(of(1500, false, false), OrderStatus::Paid);
        assert_eq!(of(1500, true, false), OrderStatus::Completed);
        // handed over, then a payment reversed: open again
        assert_eq!(of(1000, true, false), OrderStatus::Pending);
        assert_eq!(of(0, false, true), OrderStatus::Deleted);
    }
}
