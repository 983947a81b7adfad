//! The payment ledger's rules, written once for the counter and the service, on every path
//! that moves money (a payment taken at the counter or centrally, a reversal, a pushed
//! mutation, a deletion).
//!
//! Source: SPEC §2 — payments are append-only; a correction is a reversing entry approved by an
//! owner or manager; amounts are exact in the currency's minor unit. The deletion rule
//! ("refund before delete") is this project's refinement of §2 (issue 15, item 2): an order
//! that still holds money cannot be deleted, so no report ever loses money that was taken.

use crate::{Currency, Money, OrderId, PaymentId, Role, ValidationError};
use rust_decimal::Decimal;

/// One recorded ledger entry, as the rules need it: a payment (positive amount) or a reversing
/// entry (negative amount naming the payment it reverses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub id: PaymentId,
    pub order_id: OrderId,
    /// Signed, in major units of the order's currency.
    pub amount: Money,
    pub reverses: Option<PaymentId>,
}

/// Why the ledger refuses a movement of money. `code()` is stable for machines; the message is
/// what a cashier or an office reads (it never names a customer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("A payment of {amount} is more than the outstanding balance of {balance}")]
    Overpayment { amount: Money, balance: Money },
    #[error("The payment to reverse is not recorded on this order")]
    UnknownPayment,
    #[error("A reversing entry cannot itself be reversed")]
    IsReversal,
    #[error("This payment has already been reversed")]
    AlreadyReversed,
    #[error("A reversal reverses the whole payment: {expected}")]
    AmountMismatch { expected: Money },
    #[error(
        "A payment with a negative amount is a reversal and needs an owner's or manager's approval"
    )]
    ReversalNeedsApproval,
    #[error("An owner or manager must approve this")]
    ApprovalRequired,
    #[error("The order still holds {paid} in payments: reverse (refund) them before deleting it")]
    HasPayments { paid: Money },
}

impl LedgerError {
    /// A stable code, the same on the counter, the service and in sync rejections.
    pub fn code(&self) -> &str {
        match self {
            LedgerError::Invalid(v) => &v.code,
            other => other.rule_code(),
        }
    }

    /// The code of a rule (not of a malformed amount, whose code is its `ValidationError`'s).
    pub fn rule_code(&self) -> &'static str {
        match self {
            LedgerError::Invalid(_) => "invalid_amount",
            LedgerError::Overpayment { .. } => "overpayment",
            LedgerError::UnknownPayment => "unknown_payment",
            LedgerError::IsReversal => "is_reversal",
            LedgerError::AlreadyReversed => "already_reversed",
            LedgerError::AmountMismatch { .. } => "reversal_amount_mismatch",
            LedgerError::ReversalNeedsApproval => "reversal_needs_approval",
            LedgerError::ApprovalRequired => "approval_required",
            LedgerError::HasPayments { .. } => "order_has_payments",
        }
    }

    /// The input field concerned, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            LedgerError::Invalid(v) => Some(&v.field),
            LedgerError::Overpayment { .. } | LedgerError::AmountMismatch { .. } => Some("amount"),
            LedgerError::ReversalNeedsApproval => Some("amount"),
            _ => None,
        }
    }

    /// Whether the input itself is malformed (422), as opposed to conflicting with what the
    /// ledger holds (409).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            LedgerError::Invalid(_)
                | LedgerError::Overpayment { .. }
                | LedgerError::AmountMismatch { .. }
                | LedgerError::ReversalNeedsApproval
        )
    }
}

/// A new payment of `amount` (sent as input `field`) on an order with `total` of which `paid`
/// is already paid: exact in the currency's minor unit, greater than zero, and not more than
/// the balance. Returns the amount as money.
pub fn payment(
    currency: Currency,
    field: &str,
    amount: Decimal,
    paid: Money,
    total: Money,
) -> Result<Money, LedgerError> {
    let amount = currency.check(field, amount)?;
    if !amount.is_positive() {
        return Err(
            ValidationError::new(field, "not_positive", "Payment must be greater than 0").into(),
        );
    }
    let balance = total - paid;
    if amount > balance {
        return Err(LedgerError::Overpayment { amount, balance });
    }
    Ok(amount)
}

/// The payment taken when an order is created (`amount`, absent when none): a payment as
/// above against the new order's `total`, and the whole total when the terms are full payment.
/// Errors name the field `initial_payment.amount`.
pub fn initial_payment(
    currency: Currency,
    terms: &crate::PaymentTerms,
    amount: Option<Decimal>,
    total: Money,
) -> Result<Money, LedgerError> {
    const FIELD: &str = "initial_payment.amount";
    let paid = match amount {
        None => Money::ZERO,
        Some(a) => payment(currency, FIELD, a, Money::ZERO, total).map_err(|e| match e {
            e @ (LedgerError::Invalid(_) | LedgerError::Overpayment { .. }) => e,
            other => LedgerError::Invalid(ValidationError::new(
                FIELD,
                other.rule_code(),
                other.to_string(),
            )),
        })?,
    };
    if matches!(terms, crate::PaymentTerms::Full) && paid != total {
        return Err(ValidationError::new(
            FIELD,
            "full_payment_required",
            format!("Full payment terms need a payment of the whole total {total}"),
        )
        .with("total", total)
        .into());
    }
    Ok(paid)
}

/// A reversing entry on order `order`: `original` is the entry it names (as found in the
/// ledger, `None` when there is none), `already_reversed` whether a reversal of it exists, and
/// `approver` the role of whoever approved it (as the roster holds it). `claimed`, when the
/// amount comes from a client, must be exactly the negated payment. Returns the (negative)
/// amount to record.
pub fn reversal(
    currency: Currency,
    order: OrderId,
    original: Option<&Entry>,
    already_reversed: bool,
    approver: Option<Role>,
    claimed: Option<Decimal>,
) -> Result<Money, LedgerError> {
    if !approver.is_some_and(Role::can_approve) {
        return Err(LedgerError::ApprovalRequired);
    }
    let original = match original {
        Some(e) if e.order_id == order => e,
        _ => return Err(LedgerError::UnknownPayment),
    };
    if original.reverses.is_some() || !original.amount.is_positive() {
        return Err(LedgerError::IsReversal);
    }
    if already_reversed {
        return Err(LedgerError::AlreadyReversed);
    }
    let expected = Money(-original.amount.0);
    if let Some(c) = claimed {
        // A fraction of the minor unit is malformed whatever else is wrong.
        currency.check("amount", c.abs())?;
        if c != expected.0 {
            return Err(LedgerError::AmountMismatch {
                expected: original.amount,
            });
        }
    }
    Ok(expected)
}

/// The reason an approval records (a refund, a deletion, a discarded change): 1 to 500
/// characters after trimming. Returns it trimmed.
pub fn reason(raw: &str) -> Result<String, ValidationError> {
    let r = raw.trim();
    if r.is_empty() {
        return Err(ValidationError::new(
            "reason",
            "required",
            "A reason is required",
        ));
    }
    if r.chars().count() > 500 {
        return Err(ValidationError::new(
            "reason",
            "too_long",
            "Reason is longer than 500 characters",
        )
        .with("max", 500));
    }
    Ok(r.to_owned())
}

/// An order may be deleted only when it holds no money (`paid` is the sum of its ledger):
/// reverse (refund) its payments first, each with its approval, so the money taken and given
/// back stays in every report.
pub fn deletion(paid: Money) -> Result<(), LedgerError> {
    if paid.0.is_zero() {
        Ok(())
    } else {
        Err(LedgerError::HasPayments { paid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use uuid::Uuid;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn entry(amount: Decimal, reverses: Option<PaymentId>) -> Entry {
        Entry {
            id: PaymentId::from(id(10)),
            order_id: OrderId::from(id(1)),
            amount: Money(amount),
            reverses,
        }
    }

    #[test]
    fn a_payment_is_positive_exact_and_within_the_balance() {
        let c = Currency::IDR;
        let (paid, total) = (Money(d("100")), Money(d("1000")));
        assert_eq!(
            payment(c, "amount", d("900"), paid, total),
            Ok(Money(d("900")))
        );
        assert_eq!(
            payment(c, "amount", d("901"), paid, total)
                .unwrap_err()
                .code(),
            "overpayment"
        );
        assert_eq!(
            payment(c, "amount", d("0"), paid, total)
                .unwrap_err()
                .code(),
            "not_positive"
        );
        assert_eq!(
            payment(c, "amount", d("0.5"), paid, total)
                .unwrap_err()
                .code(),
            "too_many_decimals"
        );
        assert_eq!(
            payment(c, "amount", d("-100"), paid, total)
                .unwrap_err()
                .code(),
            "negative_amount"
        );
    }

    #[test]
    fn a_reversal_names_a_payment_of_the_order_reverses_it_exactly_once_and_is_approved() {
        let c = Currency::IDR;
        let order = OrderId::from(id(1));
        let p = entry(d("1000"), None);
        let ok = reversal(
            c,
            order,
            Some(&p),
            false,
            Some(Role::Manager),
            Some(d("-1000")),
        );
        assert_eq!(ok, Ok(Money(d("-1000"))));
        assert_eq!(
            reversal(c, order, Some(&p), false, Some(Role::Owner), None),
            Ok(Money(d("-1000")))
        );
        let code = |r: Result<Money, LedgerError>| r.unwrap_err().code().to_owned();
        assert_eq!(
            code(reversal(
                c,
                order,
                Some(&p),
                false,
                Some(Role::Cashier),
                None
            )),
            "approval_required"
        );
        assert_eq!(
            code(reversal(c, order, Some(&p), false, None, None)),
            "approval_required"
        );
        assert_eq!(
            code(reversal(c, order, None, false, Some(Role::Owner), None)),
            "unknown_payment"
        );
        let other = OrderId::from(id(2));
        assert_eq!(
            code(reversal(c, other, Some(&p), false, Some(Role::Owner), None)),
            "unknown_payment"
        );
        let r = entry(d("-1000"), Some(PaymentId::from(id(9))));
        assert_eq!(
            code(reversal(c, order, Some(&r), false, Some(Role::Owner), None)),
            "is_reversal"
        );
        assert_eq!(
            code(reversal(c, order, Some(&p), true, Some(Role::Owner), None)),
            "already_reversed"
        );
        assert_eq!(
            code(reversal(
                c,
                order,
                Some(&p),
                false,
                Some(Role::Owner),
                Some(d("-999"))
            )),
            "reversal_amount_mismatch"
        );
        assert_eq!(
            code(reversal(
                c,
                order,
                Some(&p),
                false,
                Some(Role::Owner),
                Some(d("-1000.5"))
            )),
            "too_many_decimals"
        );
        assert_eq!(
            code(reversal(
                c,
                order,
                Some(&p),
                false,
                Some(Role::Owner),
                Some(d("1000"))
            )),
            "reversal_amount_mismatch"
        );
    }

    #[test]
    fn an_order_holding_money_is_not_deleted() {
        assert_eq!(deletion(Money(d("0"))), Ok(()));
        assert_eq!(
            deletion(Money(d("300000"))).unwrap_err().code(),
            "order_has_payments"
        );
    }
}
