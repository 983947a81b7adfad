//! Rows that more than one path writes, each statement written once: a ledger entry (a
//! payment taken here, or one the service sent in a pull) and an order's deletion columns
//! (a deletion made here, or one the service decided).

use crate::crypto::{Aad, FieldCipher};
use crate::db::ts;
use chrono::{DateTime, Utc};
use pos_domain::{Currency, Role, StaffId};
use pos_protocol::{Approval, PaymentRecord};
use sqlx::{QueryBuilder, Sqlite};

/// Pushes `INSERT INTO payments … VALUES (…)` for `p` onto `q` (no terminator): a reversal's
/// approval reason is sealed for the row's `approval_reason` field.
pub(crate) fn push_payment_insert(
    q: &mut QueryBuilder<'_, Sqlite>,
    cipher: &FieldCipher,
    p: &PaymentRecord,
    approval: Option<&Approval>,
    currency: Currency,
    now: DateTime<Utc>,
) {
    let pid = p.id.to_string();
    let reason = approval.map(|a| {
        cipher.encrypt_str(
            &a.reason,
            Aad {
                table: "payments",
                record_id: &pid,
                field: "approval_reason",
            },
        )
    });
    q.push(
        "INSERT INTO payments (id, order_id, amount_minor, method, paid_at, recorded_by, reference,
            reverses, approved_by, approver_role, approval_reason, approved_at, created_at) VALUES (",
    );
    q.separated(", ")
        .push_bind(pid)
        .push_bind(p.order_id.to_string())
        .push_bind(p.amount.to_minor(currency))
        .push_bind(p.method.as_str())
        .push_bind(ts(&p.paid_at))
        .push_bind(p.recorded_by.to_string())
        .push_bind(p.reference.clone())
        .push_bind(p.reverses.map(|r| r.to_string()))
        .push_bind(approval.map(|a| a.approver_id.to_string()))
        .push_bind(approval.map(|a| a.approver_role.as_str()))
        .push_bind(reason)
        .push_bind(approval.map(|a| ts(&a.approved_at)))
        .push_bind(ts(&now));
    q.push(")");
}

/// An order's deletion as its columns hold it.
pub(crate) struct Deletion<'a> {
    pub at: DateTime<Utc>,
    pub by: StaffId,
    pub reason: &'a str,
    pub approver: StaffId,
    pub approver_role: Role,
    pub approved_at: DateTime<Utc>,
}

/// Pushes the deletion columns of order `order_id` as an `UPDATE orders SET` list (no `WHERE`,
/// so the caller can set more), the reason sealed for the order's `delete_reason` field.
pub(crate) fn push_deletion(
    q: &mut QueryBuilder<'_, Sqlite>,
    cipher: &FieldCipher,
    order_id: &str,
    d: &Deletion<'_>,
) {
    let reason = cipher.encrypt_str(d.reason, super::record::aad(order_id, "delete_reason"));
    q.push("UPDATE orders SET deleted_at = ")
        .push_bind(ts(&d.at))
        .push(", deleted_by = ")
        .push_bind(d.by.to_string())
        .push(", delete_reason = ")
        .push_bind(reason)
        .push(", approved_by = ")
        .push_bind(d.approver.to_string())
        .push(", approver_role = ")
        .push_bind(d.approver_role.as_str())
        .push(", approved_at = ")
        .push_bind(ts(&d.approved_at));
}
