//! Staff, roles, PIN login with lockout, and deletion with manager approval.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use pos_core::{ApprovalInput, AuditFilter, Pin, StoreError};
use pos_domain::{OrderStatus, Role};
use pos_protocol::{AuditAction, MutationBody};

fn approval(id: pos_domain::StaffId, pin: &str) -> Option<ApprovalInput> {
    Some(ApprovalInput {
        approver_id: id,
        pin: Pin::new(pin).unwrap(),
    })
}

#[tokio::test]
async fn setup_happens_once_and_only_the_owner_adds_staff() {
    let t = TestStore::new().await;
    let again = t
        .s()
        .setup(
            pos_core::SetupInput {
                shop_name: "X".into(),
                currency: pos_domain::Currency::IDR,
                owner_name: "Y".into(),
                device_code: None,
                phone_country_code: None,
                utc_offset_minutes: None,
            },
            Pin::new("1234").unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::AlreadySetUp));
    let manager = t.add("Pak Manajer", Role::Manager, "2222").await;
    let cashier = t.add("Kasir Ani", Role::Cashier, "1111").await;
    for who in [&manager, &cashier] {
        let e = t
            .s()
            .add_staff(who, "Z", Role::Cashier, Pin::new("3333").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Forbidden { .. }));
    }
    let e = t
        .s()
        .add_staff(&t.owner, "Z", Role::Owner, Pin::new("3333").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("role"));
    let e = t
        .s()
        .add_staff(&t.owner, " ", Role::Cashier, Pin::new("3333").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("name"));
    let staff = t.s().list_staff().await.unwrap();
    let roles: Vec<_> = staff.iter().map(|s| s.role).collect();
    assert_eq!(roles, [Role::Owner, Role::Manager, Role::Cashier]);
    // cashiers and managers cannot read the audit log
    let e = t
        .s()
        .list_audit_events(&cashier, AuditFilter::default())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden { .. }));
    assert!(t
        .s()
        .list_audit_events(&manager, AuditFilter::default())
        .await
        .is_ok());
    // a fresh store file cannot be used before setup
    let dir = tempfile::tempdir().unwrap();
    let svc = format!("offline-order-pos-test-{}", uuid::Uuid::now_v7());
    let fresh = pos_core::Store::open(&dir.path().join("x.db"), &keyring(&svc), t.clock.clone())
        .await
        .unwrap();
    let e = fresh
        .login(t.owner.staff_id(), Pin::new(OWNER_PIN).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotSetUp));
    use pos_core::KeyStore;
    keyring(&svc)
        .delete(&fresh.device_id().to_string())
        .unwrap();
}

#[tokio::test]
async fn wrong_pins_are_audited_and_lock_the_user_out() {
    let t = TestStore::new().await;
    let c = t
        .s()
        .add_staff(
            &t.owner,
            "Kasir Ani",
            Role::Cashier,
            Pin::new("1111").unwrap(),
        )
        .await
        .unwrap();
    for left in (1..5).rev() {
        let e = t
            .s()
            .login(c.id, Pin::new("9999").unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::WrongPin { attempts_left } if attempts_left == left),
            "{e:?}"
        );
    }
    let e = t
        .s()
        .login(c.id, Pin::new("9999").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::LockedOut { .. }));
    // even the right PIN is refused while locked
    let e = t
        .s()
        .login(c.id, Pin::new("1111").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::LockedOut { .. }));
    t.clock.advance(chrono::Duration::minutes(6));
    let s = t.s().login(c.id, Pin::new("1111").unwrap()).await.unwrap();
    assert_eq!(s.role(), Role::Cashier);
    let events = t
        .s()
        .list_audit_events(
            &t.owner,
            AuditFilter {
                action: Some(AuditAction::Access),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ops: Vec<_> = events
        .iter()
        .filter(|e| e.entity_id.as_deref() == Some(&c.id.to_string()))
        .map(|e| (e.operation.as_str(), e.detail.clone().unwrap_or_default()))
        .collect();
    assert_eq!(ops.iter().filter(|(o, _)| *o == "login.failed").count(), 6);
    assert!(ops.iter().any(|(_, d)| d == "wrong_pin_locked"));
    assert!(ops.iter().any(|(_, d)| d == "locked_out"));
    assert_eq!(ops[0].0, "login");
}

#[tokio::test]
async fn cashier_delete_needs_a_manager_pin_and_the_approval_is_kept() {
    let t = TestStore::new().await;
    let manager = t.add("Pak Manajer", Role::Manager, "2222").await;
    let cashier = t.add("Kasir Ani", Role::Cashier, "1111").await;
    let other_cashier = t.add("Kasir Budi", Role::Cashier, "3333").await;
    let o = create(&t, &cashier, phone_installment_order("Siti", "08121112222")).await;

    // Refund before delete: the order holds its 100,000 down payment, so deleting it is
    // refused before anyone is asked for a PIN, and nothing is written.
    let before = t.snapshot().await;
    let e = t
        .s()
        .delete_order(
            &cashier,
            o.id,
            "dobel input",
            approval(manager.staff_id(), "2222"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "order_has_payments");
    let e = t
        .s()
        .delete_order(&t.owner, o.id, "dobel input", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "order_has_payments");
    assert_eq!(t.snapshot().await, before);
    refund_all(&t, o.id).await;
    let before = t.snapshot().await;

    // no approval: refused, nothing written
    let e = t
        .s()
        .delete_order(&cashier, o.id, "dobel input", None)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::ApprovalRequired));
    // missing reason: refused before any PIN check
    let e = t
        .s()
        .delete_order(&cashier, o.id, "  ", approval(manager.staff_id(), "2222"))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("reason"));
    assert_eq!(t.snapshot().await, before);

    // wrong manager PIN: refused, the failed approval is audited, order untouched
    let e = t
        .s()
        .delete_order(
            &cashier,
            o.id,
            "dobel input",
            approval(manager.staff_id(), "9999"),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::WrongPin { .. }));
    // another cashier's (correct) PIN is no approval
    let e = t
        .s()
        .delete_order(
            &cashier,
            o.id,
            "dobel input",
            approval(other_cashier.staff_id(), "3333"),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden { .. }));
    let still = t.s().get_order(&cashier, o.id).await.unwrap();
    assert_eq!(still.status, OrderStatus::Pending);

    let d = t
        .s()
        .delete_order(
            &cashier,
            o.id,
            "dobel input",
            approval(manager.staff_id(), "2222"),
        )
        .await
        .unwrap();
    assert_eq!(d.status, OrderStatus::Deleted);
    let del = d.deletion.unwrap();
    assert_eq!(del.deleted_by.name, "Kasir Ani");
    assert_eq!(del.approved_by.name, "Pak Manajer");
    assert_eq!(del.approver_role, Role::Manager);
    assert_eq!(del.reason, "dobel input");

    // deleted orders stay readable, refuse payments and a second delete
    let e = t
        .s()
        .record_payment(&cashier, o.id, pay("1000"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "order_deleted");
    let e = t
        .s()
        .delete_order(&manager, o.id, "again", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "order_deleted");

    // the trail: failed approvals, the granted one, and the DELETE
    let ev = t
        .s()
        .list_audit_events(&manager, AuditFilter::default())
        .await
        .unwrap();
    let ops: Vec<_> = ev.iter().rev().map(|e| e.operation.as_str()).collect();
    let pos = |op: &str| ops.iter().position(|o| *o == op).unwrap();
    assert!(pos("approval.failed") < pos("approval.granted"));
    assert!(pos("approval.granted") < pos("order.delete"));
    assert_eq!(ops.iter().filter(|o| **o == "approval.failed").count(), 2);
    let del_ev = ev.iter().find(|e| e.operation == "order.delete").unwrap();
    assert_eq!(del_ev.action, AuditAction::Delete);
    assert_eq!(del_ev.actor_id, Some(cashier.staff_id()));

    // and the outbox carries the approval to the server
    let muts = t.s().pending_mutations(100).await.unwrap();
    let last = &muts.last().unwrap().mutation;
    match &last.body {
        MutationBody::OrderDeleted { approval, .. } => {
            assert_eq!(approval.approver_id, manager.staff_id());
            assert_eq!(approval.approver_role, Role::Manager);
            assert_eq!(approval.reason, "dobel input");
        }
        b => panic!("unexpected {b:?}"),
    }
}

#[tokio::test]
async fn owner_and_manager_delete_with_a_reason_only() {
    let t = TestStore::new().await;
    let manager = t.add("Pak Manajer", Role::Manager, "2222").await;
    let a = create(&t, &t.owner, walk_in_full("A", "1000")).await;
    let b = create(&t, &t.owner, walk_in_full("B", "1000")).await;
    refund_all(&t, a.id).await;
    refund_all(&t, b.id).await;
    let d = t
        .s()
        .delete_order(&t.owner, a.id, "batal", None)
        .await
        .unwrap();
    assert_eq!(d.deletion.unwrap().approved_by.id, t.owner.staff_id());
    let d = t
        .s()
        .delete_order(&manager, b.id, "batal", None)
        .await
        .unwrap();
    assert_eq!(d.deletion.unwrap().approver_role, Role::Manager);
}

/// Refund before delete in one step: every standing payment is reversed under the one
/// approval, then the order is deleted; what was reversed already is not reversed again.
#[tokio::test]
async fn refund_and_delete_reverses_standing_payments_under_one_approval() {
    let t = TestStore::new().await;
    let manager = t.add("Pak Manajer", Role::Manager, "2222").await;
    let cashier = t.add("Kasir Ani", Role::Cashier, "1111").await;
    let o = create(&t, &cashier, phone_installment_order("Siti", "08121112222")).await;
    let o = t
        .s()
        .record_payment(&cashier, o.id, pay("200000"))
        .await
        .unwrap();
    let first = o.payments[0].id;
    t.s()
        .reverse_payment(
            &cashier,
            o.id,
            first,
            "salah input",
            approval(manager.staff_id(), "2222"),
        )
        .await
        .unwrap();
    let before = t.snapshot().await;
    // no approval: nothing reversed, nothing deleted
    let e = t
        .s()
        .refund_and_delete_order(&cashier, o.id, "batal", None)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::ApprovalRequired));
    assert_eq!(t.snapshot().await, before);

    let d = t
        .s()
        .refund_and_delete_order(
            &cashier,
            o.id,
            "batal",
            approval(manager.staff_id(), "2222"),
        )
        .await
        .unwrap();
    assert_eq!(d.status, OrderStatus::Deleted);
    assert_eq!(d.paid, m("0"));
    let reversals: Vec<_> = d.payments.iter().filter(|p| p.reverses.is_some()).collect();
    assert_eq!(reversals.len(), 2, "{:?}", d.payments);
    assert!(reversals
        .iter()
        .all(|p| p.approved_by.as_ref().unwrap().id == manager.staff_id()));
    // one approval for the whole step, and the service hears reversals before the deletion
    let ev = t
        .s()
        .list_audit_events(&manager, AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(
        ev.iter()
            .filter(|e| e.operation == "approval.granted")
            .count(),
        2
    );
    let kinds: Vec<_> = t
        .s()
        .pending_mutations(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation.body.kind())
        .collect();
    assert_eq!(
        &kinds[kinds.len() - 3..],
        ["payment_reversed", "payment_reversed", "order_deleted"]
    );
}
