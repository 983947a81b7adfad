//! Payment schedules: generated from the terms, summing exactly to the total, and regenerated
//! for what remains when an order is edited.

use crate::{Currency, Money, PaymentTerms, ValidationError};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The whole total (full terms).
    Full,
    /// A down payment, due the day the order is recorded.
    DownPayment,
    /// The balance after a down payment.
    Balance,
    /// One of N installments.
    Installment,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Full => "full",
            EntryKind::DownPayment => "down_payment",
            EntryKind::Balance => "balance",
            EntryKind::Installment => "installment",
        }
    }
}

impl std::str::FromStr for EntryKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(EntryKind::Full),
            "down_payment" => Ok(EntryKind::DownPayment),
            "balance" => Ok(EntryKind::Balance),
            "installment" => Ok(EntryKind::Installment),
            other => Err(format!("unknown schedule entry kind {other:?}")),
        }
    }
}

/// One line of a schedule. `seq` counts from 0 (the down payment when there is one).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleEntry {
    pub seq: u32,
    pub kind: EntryKind,
    pub due_date: NaiveDate,
    pub amount: Money,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Paid,
    PartlyPaid,
    Due,
    Overdue,
}

/// A schedule entry with what has been paid against it, as of a day.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleLine {
    pub seq: u32,
    pub kind: EntryKind,
    pub due_date: NaiveDate,
    pub amount: Money,
    pub paid: Money,
    pub status: EntryStatus,
}

/// Splits `amount` into `n` equal parts rounded down to the minor unit, the remainder on the last.
fn split(amount: Money, n: u32, currency: Currency) -> Vec<Money> {
    if n == 0 {
        return Vec::new();
    }
    let part = currency.floor(amount.0 / Decimal::from(n));
    let mut parts = vec![Money(part); n as usize];
    let last = amount.0 - part * Decimal::from(n - 1);
    if let Some(l) = parts.last_mut() {
        *l = Money(last);
    }
    parts
}

/// The schedule for `terms` on `total`, for an order recorded on `today`. Sums exactly to
/// `total`. The terms are validated first.
pub fn generate(
    terms: &PaymentTerms,
    total: Money,
    currency: Currency,
    today: NaiveDate,
) -> Result<Vec<ScheduleEntry>, ValidationError> {
    terms.validate(total, currency, today)?;
    let mut out = Vec::new();
    match terms {
        PaymentTerms::Full => out.push(ScheduleEntry {
            seq: 0,
            kind: EntryKind::Full,
            due_date: today,
            amount: total,
        }),
        PaymentTerms::DownPayment {
            down_payment,
            due_date,
        } => {
            out.push(ScheduleEntry {
                seq: 0,
                kind: EntryKind::DownPayment,
                due_date: today,
                amount: *down_payment,
            });
            out.push(ScheduleEntry {
                seq: 1,
                kind: EntryKind::Balance,
                due_date: *due_date,
                amount: total - *down_payment,
            });
        }
        PaymentTerms::Installment {
            down_payment,
            installment_count,
            interval,
            first_due_date,
        } => {
            if let Some(dp) = down_payment {
                out.push(ScheduleEntry {
                    seq: 0,
                    kind: EntryKind::DownPayment,
                    due_date: today,
                    amount: *dp,
                });
            }
            let financed = total - down_payment.unwrap_or_default();
            for (i, amount) in split(financed, *installment_count, currency)
                .into_iter()
                .enumerate()
            {
                let n = i as u32;
                let due_date = interval.nth(*first_due_date, n).ok_or_else(|| {
                    ValidationError::new(
                        "payment_terms.first_due_date",
                        "too_far_ahead",
                        "First due date is too far in the future",
                    )
                })?;
                out.push(ScheduleEntry {
                    seq: out.len() as u32,
                    kind: EntryKind::Installment,
                    due_date,
                    amount,
                });
            }
        }
    }
    Ok(out)
}

/// Applies `paid` to the entries in order and tells each entry's state on `today`.
pub fn allocate(entries: &[ScheduleEntry], paid: Money, today: NaiveDate) -> Vec<ScheduleLine> {
    let mut rest = paid;
    entries
        .iter()
        .map(|e| {
            let p = if rest.0 > Decimal::ZERO {
                rest.min(e.amount)
            } else {
                Money::ZERO
            };
            rest = rest - p;
            let status = if p == e.amount {
                EntryStatus::Paid
            } else if e.due_date < today {
                EntryStatus::Overdue
            } else if p.is_positive() {
                EntryStatus::PartlyPaid
            } else {
                EntryStatus::Due
            };
            ScheduleLine {
                seq: e.seq,
                kind: e.kind,
                due_date: e.due_date,
                amount: e.amount,
                paid: p,
                status,
            }
        })
        .collect()
}

/// After an edit changes the total to `new_total` (never below `paid`), keeps the entries that
/// are fully paid and spreads what remains over the others: an unpaid down payment keeps its
/// agreed amount, the rest is split equally with the remainder on the last. If every entry was
/// paid, the last one is reopened for the increase.
pub fn regenerate(
    entries: &[ScheduleEntry],
    paid: Money,
    new_total: Money,
    currency: Currency,
) -> Result<Vec<ScheduleEntry>, ValidationError> {
    if new_total < paid {
        return Err(ValidationError::new(
            "items",
            "total_below_paid",
            format!("The new total {new_total} is less than the {paid} already paid"),
        )
        .with("total", new_total)
        .with("paid", paid));
    }
    if entries.is_empty() {
        return Err(ValidationError::new(
            "payment_terms",
            "invalid",
            "The order has no schedule",
        ));
    }
    let mut rest = paid;
    let mut fixed = 0usize;
    for e in entries {
        if rest >= e.amount {
            rest = rest - e.amount;
            fixed += 1;
        } else {
            break;
        }
    }
    let fixed = fixed.min(entries.len() - 1);
    let kept: Money = entries[..fixed].iter().map(|e| e.amount).sum();
    let mut remaining = new_total - kept;
    let mut out: Vec<ScheduleEntry> = entries[..fixed].to_vec();
    let mut open = &entries[fixed..];
    if open.len() > 1 && open[0].kind == EntryKind::DownPayment {
        let dp = open[0];
        if dp.amount >= remaining {
            return Err(ValidationError::new(
                "items",
                "total_below_down_payment",
                format!(
                    "The new total leaves nothing after the agreed down payment of {}",
                    dp.amount
                ),
            )
            .with("amount", dp.amount));
        }
        out.push(dp);
        remaining = remaining - dp.amount;
        open = &open[1..];
    }
    for (e, amount) in open
        .iter()
        .zip(split(remaining, open.len() as u32, currency))
    {
        out.push(ScheduleEntry { amount, ..*e });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Interval;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn m(v: i64) -> Money {
        Money(Decimal::from(v))
    }

    #[test]
    fn installments_put_remainder_on_last() {
        let terms = PaymentTerms::Installment {
            down_payment: Some(m(100_000)),
            installment_count: 3,
            interval: Interval::Monthly,
            first_due_date: d("2026-01-31"),
        };
        let s = generate(&terms, m(1_000_000), Currency::IDR, d("2026-01-10")).unwrap();
        let amounts: Vec<_> = s.iter().map(|e| e.amount).collect();
        assert_eq!(
            amounts,
            vec![m(100_000), m(300_000), m(300_000), m(300_000)]
        );
        let s = generate(&terms, m(1_000_001), Currency::IDR, d("2026-01-10")).unwrap();
        assert_eq!(s[3].amount, m(300_001));
        let dates: Vec<_> = s.iter().map(|e| e.due_date.to_string()).collect();
        assert_eq!(
            dates,
            ["2026-01-10", "2026-01-31", "2026-02-28", "2026-03-31"]
        );
    }

    #[test]
    fn usd_cents() {
        let terms = PaymentTerms::Installment {
            down_payment: None,
            installment_count: 3,
            interval: Interval::Weekly,
            first_due_date: d("2026-01-10"),
        };
        let s = generate(
            &terms,
            Money("100.00".parse().unwrap()),
            Currency::USD,
            d("2026-01-10"),
        )
        .unwrap();
        let a: Vec<String> = s.iter().map(|e| e.amount.to_string()).collect();
        assert_eq!(a, ["33.33", "33.33", "33.34"]);
        assert_eq!(s[2].due_date, d("2026-01-24"));
    }

    #[test]
    fn rule_violations_name_fields() {
        let today = d("2026-01-10");
        let dp = |v| PaymentTerms::DownPayment {
            down_payment: m(v),
            due_date: d("2026-02-01"),
        };
        assert_eq!(
            generate(&dp(1000), m(1000), Currency::IDR, today)
                .unwrap_err()
                .code,
            "down_payment_too_large"
        );
        assert_eq!(
            generate(&dp(0), m(1000), Currency::IDR, today)
                .unwrap_err()
                .code,
            "not_positive"
        );
        let inst = |n| PaymentTerms::Installment {
            down_payment: None,
            installment_count: n,
            interval: Interval::Weekly,
            first_due_date: today,
        };
        assert_eq!(
            generate(&inst(1), m(1000), Currency::IDR, today)
                .unwrap_err()
                .field,
            "payment_terms.installment_count"
        );
        assert!(generate(&inst(37), m(1000), Currency::IDR, today).is_err());
        assert!(generate(&inst(36), m(1000), Currency::IDR, today).is_ok());
        let past = PaymentTerms::DownPayment {
            down_payment: m(10),
            due_date: d("2026-01-09"),
        };
        assert_eq!(
            generate(&past, m(1000), Currency::IDR, today)
                .unwrap_err()
                .code,
            "in_past"
        );
    }

    #[test]
    fn allocation_and_status() {
        let terms = PaymentTerms::Installment {
            down_payment: Some(m(100)),
            installment_count: 3,
            interval: Interval::Weekly,
            first_due_date: d("2026-01-17"),
        };
        let s = generate(&terms, m(400), Currency::IDR, d("2026-01-10")).unwrap();
        let lines = allocate(&s, m(150), d("2026-01-20"));
        let st: Vec<_> = lines.iter().map(|l| l.status).collect();
        assert_eq!(
            st,
            [
                EntryStatus::Paid,
                EntryStatus::Overdue,
                EntryStatus::Due,
                EntryStatus::Due
            ]
        );
        assert_eq!(lines[1].paid, m(50));
        let lines = allocate(&s, m(150), d("2026-01-12"));
        assert_eq!(lines[1].status, EntryStatus::PartlyPaid);
    }

    #[test]
    fn regenerate_keeps_paid_entries() {
        let terms = PaymentTerms::Installment {
            down_payment: Some(m(100)),
            installment_count: 3,
            interval: Interval::Weekly,
            first_due_date: d("2026-01-17"),
        };
        let s = generate(&terms, m(400), Currency::IDR, d("2026-01-10")).unwrap();
        let r = regenerate(&s, m(200), m(700), Currency::IDR).unwrap();
        let a: Vec<_> = r.iter().map(|e| e.amount).collect();
        assert_eq!(a, [m(100), m(100), m(250), m(250)]);
        assert_eq!(r.iter().map(|e| e.amount).sum::<Money>(), m(700));
        let e = regenerate(&s, m(200), m(199), Currency::IDR).unwrap_err();
        assert_eq!(e.code, "total_below_paid");
        // everything paid, then the total grows: the last entry is reopened
        let r = regenerate(&s, m(400), m(450), Currency::IDR).unwrap();
        assert_eq!(r[3].amount, m(150));
    }

    prop_compose! {
        fn arb_case()(total in 2i64..10_000_000_000, dp_frac in 0u32..1000, n in 2u32..=36,
                      monthly in any::<bool>(), usd in any::<bool>())
            -> (i64, Option<i64>, u32, Interval, Currency) {
            let dp = (i64::from(dp_frac) * total / 1000).max(0);
            let dp = if dp > 0 && dp < total { Some(dp) } else { None };
            (total, dp, n, if monthly { Interval::Monthly } else { Interval::Weekly },
             if usd { Currency::USD } else { Currency::IDR })
        }
    }

    proptest! {
        #[test]
        fn any_valid_schedule_sums_exactly((total, dp, n, interval, cur) in arb_case()) {
            let today = d("2026-03-01");
            let total = cur.from_minor(total);
            let terms = PaymentTerms::Installment {
                down_payment: dp.map(|v| cur.from_minor(v)),
                installment_count: n,
                interval,
                first_due_date: d("2026-03-31"),
            };
            match generate(&terms, total, cur, today) {
                Ok(s) => {
                    prop_assert_eq!(s.iter().map(|e| e.amount).sum::<Money>(), total);
                    prop_assert!(s.iter().all(|e| e.amount.is_positive()));
                    prop_assert!(s.iter().all(|e| cur.check("x", e.amount.0).is_ok()));
                    let parts: Vec<_> = s.iter().filter(|e| e.kind == EntryKind::Installment).collect();
                    prop_assert_eq!(parts.len() as u32, n);
                    // equal parts, the last carrying the remainder (less than n minor units more)
                    let first = parts[0].amount;
                    prop_assert!(parts[..parts.len()-1].iter().all(|e| e.amount == first));
                    let extra = parts[parts.len()-1].amount - first;
                    prop_assert!(extra.0 >= Decimal::ZERO && extra.0 < cur.unit() * Decimal::from(n));
                    prop_assert!(s.windows(2).all(|w| w[0].due_date <= w[1].due_date));
                }
                Err(e) => {
                    // only refused when the financed amount cannot give every part a minor unit
                    prop_assert_eq!(e.code.as_str(), "too_many_for_amount");
                }
            }
        }

        #[test]
        fn regenerated_schedule_sums_to_new_total(
            (total, dp, n, interval, cur) in arb_case(),
            paid_frac in 0u32..=1000, growth in -1000i64..1000)
        {
            let today = d("2026-03-01");
            let total_m = cur.from_minor(total);
            let terms = PaymentTerms::Installment {
                down_payment: dp.map(|v| cur.from_minor(v)),
                installment_count: n,
                interval,
                first_due_date: d("2026-03-31"),
            };
            let Ok(s) = generate(&terms, total_m, cur, today) else { return Ok(()); };
            let paid = cur.from_minor(i64::from(paid_frac) * total / 1000);
            let new_total = cur.from_minor((total + growth * total / 1000).max(0));
            match regenerate(&s, paid, new_total, cur) {
                Ok(r) => {
                    prop_assert_eq!(r.iter().map(|e| e.amount).sum::<Money>(), new_total);
                    prop_assert!(r.iter().all(|e| e.amount.0 >= Decimal::ZERO));
                    prop_assert_eq!(r.len(), s.len());
                    // entries fully paid before stay as they were
                    let lines = allocate(&s, paid, today);
                    for (old, new) in lines.iter().zip(&r) {
                        if old.status == EntryStatus::Paid && old.seq + 1 < s.len() as u32 {
                            prop_assert_eq!(old.amount, new.amount);
                        }
                    }
                }
                Err(e) => prop_assert!(new_total < paid || e.code == "total_below_down_payment"),
            }
        }

        #[test]
        fn allocation_never_exceeds_amounts(total in 1i64..1_000_000_000, paid_frac in 0u32..=1000) {
            let cur = Currency::IDR;
            let terms = PaymentTerms::DownPayment { down_payment: cur.from_minor((total / 3).max(1)), due_date: d("2026-04-01") };
            let total_m = cur.from_minor(total);
            let Ok(s) = generate(&terms, total_m, cur, d("2026-03-01")) else { return Ok(()); };
            let paid = cur.from_minor(i64::from(paid_frac) * total / 1000);
            let lines = allocate(&s, paid, d("2026-03-01"));
            prop_assert_eq!(lines.iter().map(|l| l.paid).sum::<Money>(), paid);
            prop_assert!(lines.iter().all(|l| l.paid <= l.amount && l.paid.0 >= Decimal::ZERO));
        }
    }
}
