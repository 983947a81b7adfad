//! The figures an owner reads (SPEC §4.6, the dashboard and `GET
//! /analytics/offline-orders/summary`): which installments are overdue, and the payment
//! completion rate. Both programs compute them here, from the schedule and the ledger, so the
//! counter's dashboard and the office's summary agree.

use crate::schedule::{allocate, EntryStatus, ScheduleEntry};
use crate::{Money, OrderStatus};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The overdue installments of one order (or of many, added up): an installment is overdue
/// when its due date is before the shop's `today` and what was paid, applied to the schedule
/// in order ([`allocate`]), does not cover it. A deleted order has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overdue {
    /// How many installments are overdue.
    pub installments: i64,
    /// What is unpaid of them.
    pub amount: Money,
}

impl Overdue {
    /// The overdue installments of an order with `status`, `schedule` and `paid` (the net of its
    /// ledger), on the shop's business day `today`.
    pub fn of(
        status: OrderStatus,
        schedule: &[ScheduleEntry],
        paid: Money,
        today: NaiveDate,
    ) -> Self {
        if status == OrderStatus::Deleted {
            return Overdue::default();
        }
        allocate(schedule, paid, today)
            .iter()
            .filter(|l| l.status == EntryStatus::Overdue)
            .fold(Overdue::default(), |acc, l| Overdue {
                installments: acc.installments + 1,
                amount: acc.amount + (l.amount - l.paid),
            })
    }

    /// Whether any installment is overdue (the list's "overdue" badge).
    pub fn any(&self) -> bool {
        self.installments > 0
    }
}

impl std::ops::Add for Overdue {
    type Output = Overdue;
    fn add(self, o: Overdue) -> Overdue {
        Overdue {
            installments: self.installments + o.installments,
            amount: self.amount + o.amount,
        }
    }
}

/// The schedule of an order with `status` as it shows on the shop's `today`: each entry paid,
/// partly paid, due or overdue as `paid` covers it ([`allocate`]), except that a deleted order
/// has nothing overdue (as in [`Overdue::of`]): its unpaid entries read due or partly paid.
pub fn schedule_lines(
    status: OrderStatus,
    schedule: &[ScheduleEntry],
    paid: Money,
    today: NaiveDate,
) -> Vec<crate::schedule::ScheduleLine> {
    // no due date is before the first day there is
    let today = if status == OrderStatus::Deleted {
        NaiveDate::MIN
    } else {
        today
    };
    allocate(schedule, paid, today)
}

/// The earliest due date among the entries of `schedule` that `paid`, applied in order
/// ([`allocate`]), does not cover in full; none when everything is covered.
///
/// It does not depend on the day: an order has an overdue installment on `today` exactly when
/// it is not deleted and this date is before `today` (the property test below holds the two
/// together). The service stores it with each order (`orders.unpaid_due`), so "overdue only"
/// is an indexed comparison instead of reading every open order's schedule.
pub fn unpaid_due(schedule: &[ScheduleEntry], paid: Money) -> Option<NaiveDate> {
    // any day later than every due date: only the coverage is read
    allocate(schedule, paid, NaiveDate::MIN)
        .iter()
        .filter(|l| l.paid != l.amount)
        .map(|l| l.due_date)
        .min()
}

/// Whether an order counts as paid in the completion rate: paid in full, handed over or not.
pub fn counts_as_paid(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Paid | OrderStatus::Completed)
}

/// The payment completion rate: the share of the (not deleted) orders recorded in a range
/// that are paid in full, in percent with one decimal (`66.7`); none for a range without
/// orders.
pub fn completion_rate(paid_orders: i64, orders: i64) -> Option<Decimal> {
    (orders > 0).then(|| {
        let mut rate =
            (Decimal::from(paid_orders) * Decimal::from(100) / Decimal::from(orders)).round_dp(1);
        rate.rescale(1);
        rate
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::EntryKind;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("a day")
    }

    fn idr(n: i64) -> Money {
        Money(Decimal::from(n))
    }

    fn three_installments() -> Vec<ScheduleEntry> {
        (0..3)
            .map(|i| ScheduleEntry {
                seq: i,
                kind: EntryKind::Installment,
                due_date: day(1 + 10 * i),
                amount: idr(100),
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn unpaid_due_before_today_is_exactly_an_overdue_installment(
            amounts in proptest::collection::vec(1i64..500, 0..6),
            days in proptest::collection::vec(1u32..28, 6),
            paid in 0i64..3000,
            today in 1u32..29,
            deleted in proptest::bool::ANY,
        ) {
            let schedule: Vec<ScheduleEntry> = amounts
                .iter()
                .zip(&days)
                .enumerate()
                .map(|(i, (a, d))| ScheduleEntry {
                    seq: i as u32,
                    kind: EntryKind::Installment,
                    due_date: day(*d),
                    amount: idr(*a),
                })
                .collect();
            let status = if deleted { OrderStatus::Deleted } else { OrderStatus::Pending };
            let by_rule = Overdue::of(status, &schedule, idr(paid), day(today)).any();
            let by_date = !deleted && unpaid_due(&schedule, idr(paid)).is_some_and(|d| d < day(today));
            proptest::prop_assert_eq!(by_rule, by_date);
            // and the schedule shown says the same
            let shown = schedule_lines(status, &schedule, idr(paid), day(today))
                .iter()
                .any(|l| l.status == EntryStatus::Overdue);
            proptest::prop_assert_eq!(by_rule, shown);
        }
    }

    #[test]
    fn the_earliest_due_date_left_unpaid() {
        let s = three_installments();
        assert_eq!(unpaid_due(&s, idr(0)), Some(day(1)));
        assert_eq!(unpaid_due(&s, idr(150)), Some(day(11)));
        assert_eq!(unpaid_due(&s, idr(200)), Some(day(21)));
        assert_eq!(unpaid_due(&s, idr(300)), None);
        assert_eq!(unpaid_due(&[], idr(0)), None);
    }

    #[test]
    fn what_is_unpaid_of_installments_due_before_today() {
        let o = Overdue::of(
            OrderStatus::Pending,
            &three_installments(),
            idr(150),
            day(21),
        );
        // the first is paid, the second half paid and overdue, the third due today
        assert_eq!(
            o,
            Overdue {
                installments: 1,
                amount: idr(50)
            }
        );
        assert!(o.any());
        let later = Overdue::of(OrderStatus::Pending, &three_installments(), idr(0), day(22));
        assert_eq!(later.installments, 3);
        assert_eq!((o + later).amount, idr(350));
    }

    #[test]
    fn a_deleted_or_paid_order_has_none() {
        let s = three_installments();
        assert!(!Overdue::of(OrderStatus::Deleted, &s, idr(0), day(30)).any());
        assert!(!Overdue::of(OrderStatus::Paid, &s, idr(300), day(30)).any());
    }

    #[test]
    fn the_rate_has_one_decimal_and_none_without_orders() {
        assert_eq!(
            completion_rate(2, 3).map(|r| r.to_string()),
            Some("66.7".into())
        );
        assert_eq!(
            completion_rate(3, 3).map(|r| r.to_string()),
            Some("100.0".into())
        );
        assert_eq!(completion_rate(0, 0), None);
        assert!(counts_as_paid(OrderStatus::Completed));
        assert!(!counts_as_paid(OrderStatus::Pending));
    }
}
