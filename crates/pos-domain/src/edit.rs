//! An edit of an order's content (customer, notes, items, discount), the rule both programs
//! apply to `PATCH /offline-orders/{id}` and to the counter's "edit order": the edit is
//! validated against the order it changes, the totals are priced again, the unpaid part of the
//! schedule is regenerated (SPEC §4.2: the total may not fall below what was paid), and the
//! changed fields are listed for the audit event — one diff, the same on both sides.

use crate::items::{price_items, ItemInput, LineItem, Totals};
use crate::schedule::{regenerate, ScheduleEntry};
use crate::{Channel, Currency, Customer, Money, OrderStatus, ValidationError};

/// The editable content of an order, as stored (validated, priced).
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub customer: Customer,
    pub notes: Option<String>,
    pub items: Vec<LineItem>,
    pub totals: Totals,
    pub schedule: Vec<ScheduleEntry>,
}

/// The order an edit applies to: its content and what the content is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Current<'a> {
    pub content: &'a Content,
    pub channel: Channel,
    pub currency: Currency,
    /// The net of the order's ledger (payments less reversals).
    pub paid: Money,
    /// Whether the order was handed over.
    pub completed: bool,
}

/// The content an edit asks for, whole, as the counter's edit form sends it back (the
/// service merges a `PATCH`'s merge patch with the current content into one; see
/// [`crate::Patch`]).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, serde::Deserialize)]
pub struct OrderEdit {
    pub customer: Customer,
    pub items: Vec<ItemInput>,
    #[serde(default)]
    pub discount: Option<Money>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// One changed field for the audit trail: its name (`customer.phone`, `items`, `discount`,
/// `total`, …) and its value before and after, as text (`None` for an empty field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// An edit applied: the new content, the status that follows from it, and what changed (empty
/// when the edit changes nothing, in which case no new version is written).
#[derive(Debug, Clone)]
pub struct Edited {
    pub content: Content,
    pub status: OrderStatus,
    pub changes: Vec<Change>,
}

/// Applies `edit` to `current`.
///
/// # Errors
/// The field's [`ValidationError`]: the customer (for the order's channel), the notes, the
/// items and discount ([`price_items`]), and `total_below_paid` when the new total is less
/// than what was already paid ([`regenerate`]).
pub fn apply(current: Current<'_>, edit: OrderEdit) -> Result<Edited, ValidationError> {
    let customer = edit.customer.validated(current.channel)?;
    let notes = crate::text::notes(edit.notes)?;
    let (items, totals) = price_items(edit.items, edit.discount, current.currency)?;
    let schedule = regenerate(
        &current.content.schedule,
        current.paid,
        totals.total,
        current.currency,
    )?;
    let content = Content {
        customer,
        notes,
        items,
        totals,
        schedule,
    };
    let changes = changes(current.content, &content);
    let status = OrderStatus::of(crate::Standing::live(
        current.paid,
        totals.total,
        current.completed,
    ));
    Ok(Edited {
        content,
        status,
        changes,
    })
}

/// The fields that differ between `old` and `new`, in a fixed order.
pub fn changes(old: &Content, new: &Content) -> Vec<Change> {
    let items_text = |v: &[LineItem]| serde_json::to_string(v).ok();
    let (o, n) = (&old.customer, &new.customer);
    let pairs: [(&'static str, Option<String>, Option<String>); 8] = [
        ("customer.name", Some(o.name.clone()), Some(n.name.clone())),
        ("customer.phone", o.phone.clone(), n.phone.clone()),
        ("customer.email", o.email.clone(), n.email.clone()),
        ("customer.address", o.address.clone(), n.address.clone()),
        ("notes", old.notes.clone(), new.notes.clone()),
        ("items", items_text(&old.items), items_text(&new.items)),
        (
            "discount",
            Some(old.totals.discount.to_string()),
            Some(new.totals.discount.to_string()),
        ),
        (
            "total",
            Some(old.totals.total.to_string()),
            Some(new.totals.total.to_string()),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, old, new)| old != new)
        .map(|(field, old, new)| Change { field, old, new })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::generate;
    use crate::PaymentTerms;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn idr(n: i64) -> Money {
        Money(Decimal::from(n))
    }

    fn item(name: &str, price: i64) -> ItemInput {
        ItemInput {
            name: name.into(),
            sku: None,
            quantity: Decimal::ONE,
            unit_price: idr(price),
            discount: None,
        }
    }

    fn order() -> Content {
        let (items, totals) =
            price_items(vec![item("Kopi", 100_000)], None, Currency::IDR).expect("priced");
        let day = NaiveDate::from_ymd_opt(2026, 1, 5).expect("a day");
        let schedule =
            generate(&PaymentTerms::Full, totals.total, Currency::IDR, day).expect("a schedule");
        Content {
            customer: Customer {
                name: "Sari".into(),
                phone: Some("081234567890".into()),
                email: None,
                address: None,
            },
            notes: None,
            items,
            totals,
            schedule,
        }
    }

    fn edit(c: &Content, items: Vec<ItemInput>, discount: Option<Money>) -> OrderEdit {
        OrderEdit {
            customer: c.customer.clone(),
            notes: c.notes.clone(),
            items,
            discount,
        }
    }

    fn current(c: &Content, paid: i64) -> Current<'_> {
        Current {
            content: c,
            channel: Channel::WalkIn,
            currency: Currency::IDR,
            paid: idr(paid),
            completed: false,
        }
    }

    #[test]
    fn the_same_content_changes_nothing() {
        let c = order();
        let inputs = c.items.iter().map(LineItem::to_input).collect();
        let e = apply(current(&c, 0), edit(&c, inputs, None)).expect("applies");
        assert!(e.changes.is_empty(), "{:?}", e.changes);
        assert_eq!(e.content, c);
    }

    #[test]
    fn a_discount_is_a_change_of_its_own_and_of_the_total() {
        let c = order();
        let inputs = c.items.iter().map(LineItem::to_input).collect();
        let e = apply(current(&c, 0), edit(&c, inputs, Some(idr(10_000)))).expect("applies");
        let fields: Vec<_> = e.changes.iter().map(|c| c.field).collect();
        assert_eq!(fields, ["discount", "total"]);
        assert_eq!(e.changes[1].new.as_deref(), Some("90000"));
        assert_eq!(e.status, OrderStatus::Pending);
    }

    #[test]
    fn the_total_may_not_fall_below_what_was_paid() {
        let c = order();
        let err = apply(
            current(&c, 60_000),
            edit(&c, vec![item("Teh", 50_000)], None),
        )
        .expect_err("below paid");
        assert_eq!(err.code, "total_below_paid");
    }

    #[test]
    fn an_edit_down_to_what_was_paid_makes_the_order_paid() {
        let c = order();
        let e = apply(
            current(&c, 50_000),
            edit(&c, vec![item("Teh", 50_000)], None),
        )
        .expect("applies");
        assert_eq!(e.status, OrderStatus::Paid);
        assert!(e.changes.iter().any(|c| c.field == "items"));
    }

    #[test]
    fn a_bad_customer_is_refused_at_its_field() {
        let c = order();
        let mut e = edit(&c, c.items.iter().map(LineItem::to_input).collect(), None);
        e.customer.phone = Some("12".into());
        let err = apply(current(&c, 0), e).expect_err("bad phone");
        assert!(err.field.starts_with("customer"), "{err:?}");
    }
}
