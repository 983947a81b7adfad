//! Every operation is audited in its own transaction; the chain detects edits and removals.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use pos_core::AuditFilter;
use pos_protocol::AuditAction;
use sqlx::Connection;

async fn raw(path: &std::path::Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect_with(&sqlx::sqlite::SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

#[tokio::test]
async fn every_operation_writes_its_event() {
    let t = TestStore::new().await;
    let cashier = t.add("Kasir Ani", Role::Cashier, "1111").await;
    let o = create(&t, &cashier, phone_installment_order("Siti", "08121112222")).await;
    t.s().get_order(&cashier, o.id).await.unwrap();
    t.s()
        .list_orders(&cashier, Default::default())
        .await
        .unwrap();
    t.s()
        .list_orders(
            &cashier,
            pos_core::ListQuery {
                q: Some("siti".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    t.s()
        .record_payment(&cashier, o.id, pay("1000"))
        .await
        .unwrap();
    t.s()
        .dashboard(&cashier, d("2026-11-01"), d("2026-11-30"))
        .await
        .unwrap();
    let ev = t
        .s()
        .list_audit_events(
            &t.owner,
            AuditFilter {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let seen: Vec<(AuditAction, &str)> = ev
        .iter()
        .rev()
        .map(|e| (e.action, e.operation.as_str()))
        .collect();
    for want in [
        (AuditAction::Create, "shop.setup"),
        (AuditAction::Create, "staff.create"),
        (AuditAction::Access, "login"),
        (AuditAction::Create, "order.create"),
        (AuditAction::Payment, "payment.record"),
        (AuditAction::Read, "order.read"),
        (AuditAction::Access, "order.list"),
        (AuditAction::Access, "order.search"),
        (AuditAction::Access, "dashboard.view"),
    ] {
        assert!(seen.contains(&want), "missing {want:?} in {seen:?}");
    }
    // sequence without gaps, chained
    let mut asc = ev.clone();
    asc.reverse();
    assert!(pos_protocol::verify_chain(&asc, 0, pos_protocol::GENESIS_HASH).is_ok());
    // the create event names changed fields with hashes, never values
    let create_ev = ev.iter().find(|e| e.operation == "order.create").unwrap();
    let names: Vec<_> = create_ev.fields.iter().map(|f| f.field.as_str()).collect();
    assert!(names.contains(&"customer.name") && names.contains(&"customer.phone"));
    let json = serde_json::to_string(&ev).unwrap();
    assert!(!json.contains("Siti") && !json.contains("08121112222"));
    let report = t.s().verify_audit_chain(&t.owner).await.unwrap();
    assert!(report.ok);
    assert!(report.events_checked as usize >= ev.len());
}

#[tokio::test]
async fn triggers_refuse_update_and_delete() {
    let t = TestStore::new().await;
    let mut c = raw(&t.path).await;
    let e = sqlx::query("UPDATE audit_events SET operation = 'x' WHERE seq = 1")
        .execute(&mut c)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"));
    let e = sqlx::query("DELETE FROM audit_events WHERE seq = 1")
        .execute(&mut c)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"));
}

async fn busy_store() -> TestStore {
    let t = TestStore::new().await;
    for i in 0..5 {
        let o = create(
            &t,
            &t.owner,
            phone_installment_order(&format!("Pelanggan {i}"), "08121112222"),
        )
        .await;
        t.s()
            .record_payment(&t.owner, o.id, pay("1000"))
            .await
            .unwrap();
    }
    t
}

#[tokio::test]
async fn an_edited_audit_row_breaks_the_chain_at_that_row() {
    let t = busy_store().await;
    let mut c = raw(&t.path).await;
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET actor_role = 'cashier' WHERE seq = 7")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let r = t.s().verify_audit_chain(&t.owner).await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_broken_seq, Some(7));
    assert_eq!(r.events_checked, 6);
}

#[tokio::test]
async fn a_removed_audit_row_breaks_the_chain_at_the_gap() {
    let t = busy_store().await;
    let mut c = raw(&t.path).await;
    sqlx::query("DROP TRIGGER audit_events_no_delete")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_events WHERE seq = 9")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let r = t.s().verify_audit_chain(&t.owner).await.unwrap();
    assert_eq!(r.first_broken_seq, Some(9));
    assert!(r.reason.unwrap().contains("expected seq 9"));
}

#[tokio::test]
async fn a_rewritten_and_rehashed_row_still_breaks_the_next_link() {
    let t = busy_store().await;
    let ev = t
        .s()
        .list_audit_events(
            &t.owner,
            AuditFilter {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut target = ev.iter().find(|e| e.seq == 5).unwrap().clone();
    target.operation = "order.read".into();
    let new_hash = target.compute_hash();
    let mut c = raw(&t.path).await;
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET operation = 'order.read', hash = ? WHERE seq = 5")
        .bind(&new_hash)
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let r = t.s().verify_audit_chain(&t.owner).await.unwrap();
    assert_eq!(r.first_broken_seq, Some(6));
}

#[tokio::test]
async fn flipped_or_moved_ciphertext_fails_to_decrypt() {
    let t = TestStore::new().await;
    let a = create(
        &t,
        &t.owner,
        phone_installment_order("Siti Rahayu", "08121112222"),
    )
    .await;
    let b = create(
        &t,
        &t.owner,
        phone_installment_order("Budi Santoso", "08123334444"),
    )
    .await;
    let mut c = raw(&t.path).await;
    // flip one byte of a's name
    let mut blob: Vec<u8> = sqlx::query_scalar("SELECT customer_name FROM orders WHERE id = ?")
        .bind(a.id.to_string())
        .fetch_one(&mut c)
        .await
        .unwrap();
    blob[20] ^= 0x01;
    sqlx::query("UPDATE orders SET customer_name = ? WHERE id = ?")
        .bind(blob)
        .bind(a.id.to_string())
        .execute(&mut c)
        .await
        .unwrap();
    // move b's phone ciphertext onto a and a's name onto b
    sqlx::query("UPDATE orders SET customer_phone = (SELECT customer_phone FROM orders WHERE id = ?) WHERE id = ?")
        .bind(a.id.to_string()).bind(b.id.to_string()).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
    let e = t.s().get_order(&t.owner, a.id).await.unwrap_err();
    assert!(matches!(e, pos_core::StoreError::Decrypt), "{e:?}");
    let e = t.s().get_order(&t.owner, b.id).await.unwrap_err();
    assert!(matches!(e, pos_core::StoreError::Decrypt), "{e:?}");
    // and the failures do not leak plaintext in their messages
    assert!(!e.to_string().contains("Siti"));
}

use pos_domain::Role;

/// The audit log names orders by number and staff by name, not by id.
#[tokio::test]
async fn the_audit_log_names_orders_and_people() {
    let t = TestStore::new().await;
    let o = create(&t, &t.owner, phone_installment_order("Siti", "08121112222")).await;
    let events = t
        .s()
        .list_audit_events(&t.owner, AuditFilter::default())
        .await
        .unwrap();
    let labels = t.s().audit_entity_labels(&events).await.unwrap();
    let order_event = events
        .iter()
        .find(|e| e.operation == "order.create")
        .unwrap();
    assert_eq!(
        labels.get(order_event.entity_id.as_deref().unwrap()),
        Some(&o.order_number)
    );
    let payment_event = events
        .iter()
        .find(|e| e.operation == "payment.record")
        .unwrap();
    assert_eq!(
        labels.get(payment_event.entity_id.as_deref().unwrap()),
        Some(&o.order_number)
    );
}
