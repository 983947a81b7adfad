//! The desktop's sync client (pos-core) against the real service on real PostgreSQL, counters
//! on real SQLite files: pairing, two counters' offline days synced exactly once, the
//! needs-attention list, changes pulled from elsewhere.
#![allow(clippy::unwrap_used)]
mod common;

use common::desk::*;
use common::sync::*;
use common::*;
use pos_core::{ApprovalInput, Pin, Session, SyncProgress};
use pos_domain::Role;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// An offline day: three orders, a payment, a refund and a deletion approved by the manager's PIN.
async fn offline_day(d: &Desk, cashier: &Session, manager: &pos_core::StaffMember, mpin: &str) {
    let s = &d.store;
    let a = s.create_order(cashier, new_order("Siti")).await.unwrap();
    let b = s.create_order(cashier, new_order("Budi")).await.unwrap();
    s.create_order(cashier, new_order("Dewi")).await.unwrap();
    s.record_payment(cashier, a.id, cash(300_000))
        .await
        .unwrap();
    refund_on_desk(s, cashier, b.id, manager.id, mpin).await;
    s.delete_order(
        cashier,
        b.id,
        "dobel input",
        Some(ApprovalInput {
            approver_id: manager.id,
            pin: Pin::new(mpin).unwrap(),
        }),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn two_counters_sync_their_offline_days_exactly_once() {
    let app = spawn().await;
    let t = app.tenant("toko-dua").await;
    let (a, a_owner) = desk_with_code("K01").await;
    let (b, b_owner) = desk_with_code("K02").await;
    let (a_mgr, a_cashier) = crew(&a, &a_owner, "Pak Andi", "2222").await;
    let (b_mgr, b_cashier) = crew(&b, &b_owner, "Bu Rina", "3333").await;
    offline_day(&a, &a_cashier, &a_mgr, "2222").await;
    offline_day(&b, &b_cashier, &b_mgr, "3333").await;

    // a cashier may not pair; the owner does
    let (ca, cb) = (fast_client(), fast_client());
    let (_, code, _) = app
        .post(&t.owner_token, "/api/v1/devices/pairing-codes", json!({}))
        .await;
    let refused = ca
        .pair(
            &a.store,
            a.keys.as_ref(),
            &a_cashier,
            &app.base,
            code["code"].as_str().unwrap(),
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "forbidden");
    let wrong = ca
        .pair(
            &a.store,
            a.keys.as_ref(),
            &a_owner,
            &app.base,
            "WRONGCODE1",
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "pairing_code_invalid");
    assert_eq!(wrong.field(), Some("code"));
    assert!(!ca.status(&a.store).await.unwrap().paired);
    pair(&app, &t, &ca, &a, &a_owner, &app.base).await;
    pair(&app, &t, &cb, &b, &b_owner, &format!("{}/", app.base)).await;
    let st = ca.status(&a.store).await.unwrap();
    assert!(st.paired);
    assert_eq!(
        st.pending, 9,
        "3 creates with their down payments, a payment, a refund, a deletion: {st:?}"
    );

    let seen: Arc<Mutex<Vec<SyncProgress>>> = Arc::default();
    let rec = seen.clone();
    let progress = move |p: SyncProgress| rec.lock().unwrap().push(p);
    let ra = ca.sync(&a.store, a.keys.as_ref(), &progress).await.unwrap();
    let rb = cb.sync(&b.store, b.keys.as_ref(), &|_| {}).await.unwrap();
    for r in [&ra, &rb] {
        assert!(r.complete, "{r:?}");
        assert!(r.error.is_none());
        assert_eq!(r.pushed.count, 9, "{r:?}");
        assert_eq!(r.pushed.orders_total.amount(), 3_000_000.into());
        assert_eq!(r.already_there.count, 0);
        assert_eq!(r.needs_attention.count, 0);
        assert_eq!(r.still_pending.count, 0);
        assert!(r.audit_refused.is_none());
        assert!(r.last_success_at.is_some());
    }
    let p = seen.lock().unwrap().clone();
    assert_eq!(p.first(), Some(&SyncProgress { done: 0, total: 9 }));
    assert_eq!(p.last(), Some(&SyncProgress { done: 9, total: 9 }));

    // the roster pulled in the other counter's staff: A takes in roster events, pushed next
    let ra2 = ca.sync(&a.store, a.keys.as_ref(), &|_| {}).await.unwrap();
    let rb2 = cb.sync(&b.store, b.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(ra2.pushed.count + rb2.pushed.count, 0);
    assert!(ra2.roster_size >= 7, "owner + two counters' staff: {ra2:?}");
    let ra3 = ca.sync(&a.store, a.keys.as_ref(), &|_| {}).await.unwrap();
    let rb3 = cb.sync(&b.store, b.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(ra3.audit_events_pushed, 0, "nothing left: {ra3:?}");
    assert_eq!(rb3.audit_events_pushed, 0, "nothing left: {rb3:?}");

    let (la, lb) = (a.counts().await, b.counts().await);
    let c = central(&app, &t).await;
    assert_eq!(c.orders, la.orders + lb.orders);
    assert_eq!(c.distinct_orders, c.orders);
    assert_eq!(c.deleted, 2);
    assert_eq!(c.payments, la.payments + lb.payments);
    assert_eq!(c.paid_minor, la.paid_minor + lb.paid_minor);
    assert_eq!(c.mutations, la.acked + lb.acked);
    assert_eq!((la.pending, lb.pending, la.attention), (0, 0, 0));
    assert_eq!(
        (la.acked_payload_bytes, lb.acked_payload_bytes),
        (0, 0),
        "acknowledged payloads are dropped"
    );
    for (d, l) in [(&a, &la), (&b, &lb)] {
        let (n, max) = central_audit(&app, &t, d.store.device_id()).await;
        assert_eq!(n, max, "no gaps, no doubles");
        assert_eq!(n, l.audit_events, "the whole chain, once");
    }
    let (_, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["devices"].as_array().unwrap().len() >= 2, "{v}");

    // B's manager, adopted centrally, now approves on counter A
    let order = a
        .store
        .create_order(&a_cashier, new_order("Joko"))
        .await
        .unwrap();
    refund_on_desk(&a.store, &a_cashier, order.id, b_mgr.id, "3333").await;
    a.store
        .delete_order(
            &a_cashier,
            order.id,
            "salah pelanggan",
            Some(ApprovalInput {
                approver_id: b_mgr.id,
                pin: Pin::new("3333").unwrap(),
            }),
        )
        .await
        .unwrap();
    let r = ca.sync(&a.store, a.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(
        r.pushed.count, 4,
        "create, down payment, refund, deletion: {r:?}"
    );
    assert_eq!(central(&app, &t).await.deleted, 3);
}

#[tokio::test]
async fn a_refused_change_needs_attention_while_the_rest_keeps_flowing() {
    let app = spawn().await;
    let t = app.tenant("toko-perhatian").await;
    let (d, owner) = desk().await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    // a manager of the counter that the shop's roster does not have (taken off it at the
    // service after the pairing; a paired counter cannot add staff of its own)
    let newcomer = d
        .store
        .add_staff(&owner, "Pak Baru", Role::Manager, Pin::new("4444").unwrap())
        .await
        .unwrap();
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let gone = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(newcomer.id.0)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(gone.rows_affected(), 1);
    tx.commit().await.unwrap();
    let s = &d.store;
    let x = s.create_order(&cashier, new_order("Siti")).await.unwrap();
    let down = x.payments[0].id;
    s.reverse_payment(
        &cashier,
        x.id,
        down,
        "salah catat",
        Some(ApprovalInput {
            approver_id: newcomer.id,
            pin: Pin::new("4444").unwrap(),
        }),
    )
    .await
    .unwrap();
    s.record_payment(&cashier, x.id, cash(250_000))
        .await
        .unwrap();
    let y = s.create_order(&cashier, new_order("Budi")).await.unwrap();

    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(!r.complete);
    assert_eq!(r.needs_attention.count, 1, "{r:?}");
    assert_eq!(r.needs_attention.payments_total.amount(), (-100_000).into());
    assert_eq!(r.still_pending.count, 1, "X's later payment waits: {r:?}");
    assert_eq!(r.still_pending.payments_total.amount(), 250_000.into());
    assert_eq!(
        r.pushed.count, 4,
        "X created + down payment, Y + down payment: {r:?}"
    );
    let got = central_order(&app, &t, y.id).await;
    assert_eq!(got["status"], "pending");
    let got = central_order(&app, &t, x.id).await;
    assert_eq!(
        got["paid"], "100000",
        "neither the reversal nor the later payment: {got}"
    );

    let list = s.needs_attention(&cashier).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].code.as_deref(), Some("unknown_approver"));
    assert_eq!(list[0].kind, "payment_reversed");
    assert_eq!(
        list[0].order_number.as_deref(),
        Some(x.order_number.as_str())
    );
    assert!(list[0].reason.as_deref().unwrap().contains("roster"));
    let st = c.status(s).await.unwrap();
    assert_eq!((st.pending, st.needs_attention), (1, 1));

    // retried as it is: refused again, nothing else changes
    s.retry_attention(&cashier, list[0].mutation_id)
        .await
        .unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!((r.needs_attention.count, r.still_pending.count), (1, 1));
    assert_eq!(s.needs_attention(&cashier).await.unwrap()[0].attempts, 2);

    // discarding needs an owner's or manager's approval
    let id = list[0].mutation_id;
    let e = s
        .discard_attention(&cashier, id, "approver unknown", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "approval_required");
    let e = s
        .discard_attention(
            &cashier,
            id,
            "approver unknown",
            Some(ApprovalInput {
                approver_id: owner.staff_id(),
                pin: Pin::new("999999").unwrap(),
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "wrong_pin");
    assert_eq!(
        s.needs_attention(&cashier).await.unwrap().len(),
        1,
        "unchanged"
    );
    s.discard_attention(
        &cashier,
        id,
        "approver unknown",
        Some(ApprovalInput {
            approver_id: owner.staff_id(),
            pin: Pin::new("135790").unwrap(),
        }),
    )
    .await
    .unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(r.pushed.count, 1);
    let got = central_order(&app, &t, x.id).await;
    assert_eq!(got["paid"], "350000", "{got}");
    let events = s
        .list_audit_events(&owner, pos_core::AuditFilter::default())
        .await
        .unwrap();
    let ops: Vec<_> = events.iter().map(|e| e.operation.as_str()).collect();
    for op in [
        "sync.needs_attention",
        "sync.attention_list",
        "sync.retry",
        "sync.discard",
        "device.pair",
    ] {
        assert!(ops.contains(&op), "{op} in {ops:?}");
    }
}

#[tokio::test]
async fn changes_made_elsewhere_arrive_through_pull() {
    let app = spawn().await;
    let t = app.tenant("toko-tarik").await;
    let (d, owner) = desk().await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let s = &d.store;
    let x = s.create_order(&cashier, new_order("Siti")).await.unwrap();
    let y = s.create_order(&cashier, new_order("Budi")).await.unwrap();
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();

    // at the shop's office: a payment on X, Y deleted, a new manager with a PIN
    let (st, body, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}/payments", x.id),
            json!({"amount": "200000", "method": "bank_transfer", "reference": "TRX-9"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    refund_all(&app, &t.owner_token, &y.id.to_string()).await;
    let (st, _, _) = app
        .delete(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}", y.id),
            json!({"reason": "pelanggan batal"}),
        )
        .await;
    assert_eq!(st, 204);
    let (st, body, _) = app
        .post(
            &t.owner_token,
            "/api/v1/users",
            json!({"name": "Bu Sari", "email": "sari@toko.id", "role": "manager", "password": "a long password 1", "pin": "4321"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let sari: pos_domain::StaffId = body["id"].as_str().unwrap().parse().unwrap();
    let (_, users, _) = app.get(&t.owner_token, "/api/v1/users").await;

    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(r.pulled_changes, 2, "{r:?}");
    let got = s.get_order(&cashier, x.id).await.unwrap();
    assert_eq!(got.paid.amount(), 300_000.into());
    assert_eq!(got.balance.amount(), 700_000.into());
    assert_eq!(got.payments.len(), 2);
    assert!(got.partly_paid);
    let got = s.get_order(&cashier, y.id).await.unwrap();
    assert_eq!(got.status, pos_domain::OrderStatus::Deleted);
    // the office's refund came first, with its approval: the counter holds no money for Y
    assert_eq!(got.paid.amount(), 0.into());
    assert_eq!(got.payments.len(), 2);
    assert_eq!(got.payments[1].amount, (-100_000).into());
    assert_eq!(got.payments[1].reverses, Some(got.payments[0].id));
    let deletion = got.deletion.unwrap();
    assert_eq!(
        deletion.reason, "pelanggan batal",
        "the office's reason came with it"
    );
    assert_eq!(deletion.approver_role, Role::Owner);
    // the roster came in: the new manager can approve here; the office owner (no PIN) is
    // on the roster for the records but cannot log in or approve at the counter
    let staff = s.list_staff().await.unwrap();
    let on_counter = |id: &str| staff.iter().find(|m| m.id.to_string() == id).cloned();
    assert!(on_counter(&sari.to_string()).unwrap().active);
    let office_owner = users["items"]
        .as_array()
        .or(users.as_array())
        .unwrap()
        .iter()
        .find(|u| u["email"] == format!("owner@{}.id", t.slug))
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .unwrap();
    assert!(!on_counter(&office_owner).unwrap().active);
    // pulling again changes nothing
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(r.pulled_changes, 0);
    assert_eq!(s.get_order(&cashier, x.id).await.unwrap().payments.len(), 2);

    // the central manager approves on this counter, and the service accepts the approval
    let z = s.create_order(&cashier, new_order("Dewi")).await.unwrap();
    refund_on_desk(s, &cashier, z.id, sari, "4321").await;
    s.delete_order(
        &cashier,
        z.id,
        "dobel",
        Some(ApprovalInput {
            approver_id: sari,
            pin: Pin::new("4321").unwrap(),
        }),
    )
    .await
    .unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(r.needs_attention.count, 0);
    let got = central_order(&app, &t, z.id).await;
    assert_eq!(got["status"], "deleted");

    // unpairing removes the secret; syncing then says so; re-pairing resumes
    let e = s.unpair(&cashier, d.keys.as_ref()).await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
    s.unpair(&owner, d.keys.as_ref()).await.unwrap();
    assert_eq!(
        c.sync(s, d.keys.as_ref(), &|_| {})
            .await
            .unwrap_err()
            .code(),
        "not_paired"
    );
    s.record_payment(&cashier, x.id, cash(100_000))
        .await
        .unwrap();
    let other = app.tenant("toko-lain").await;
    let (_, code, _) = app
        .post(
            &other.owner_token,
            "/api/v1/devices/pairing-codes",
            json!({}),
        )
        .await;
    let e = c
        .pair(
            s,
            d.keys.as_ref(),
            &owner,
            &app.base,
            code["code"].as_str().unwrap(),
            "",
        )
        .await
        .unwrap_err();
    // the service still knows this counter under its shop; either way nothing changes here
    assert!(matches!(e.code(), "other_shop" | "device_id_in_use"), "{e}");
    assert!(!c.status(s).await.unwrap().paired);
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(r.pushed.count, 1, "{r:?}");
    let got = central_order(&app, &t, x.id).await;
    assert_eq!(got["paid"], "400000");
}

#[tokio::test]
async fn an_edit_in_conflict_needs_attention_and_retrying_keeps_it() {
    let app = spawn().await;
    let t = app.tenant("toko-konflik").await;
    let (d, owner) = desk().await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let s = &d.store;
    let x = s.create_order(&cashier, new_order("Siti")).await.unwrap();
    let y = s.create_order(&cashier, new_order("Budi")).await.unwrap();
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();

    // the office edits X's customer on the service while the counter edits X's items
    let path = format!("/api/v1/offline-orders/{}", x.id);
    let r = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&t.owner_token)
        .header("If-Match", "\"1\"")
        .json(&json!({"customer": {"name": "Siti Rahayu", "phone": "08121112222"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let edit = |price: i64, name: &str| pos_core::OrderEdit {
        customer: pos_domain::Customer {
            name: name.into(),
            phone: Some("08121112222".into()),
            email: None,
            address: None,
        },
        items: vec![pos_domain::ItemInput {
            name: "Kulkas besar".into(),
            sku: None,
            quantity: 1.into(),
            unit_price: money(price),
            discount: None,
        }],
        discount: None,
        notes: None,
    };
    s.update_order(&cashier, x.id, 1, edit(1_200_000, "Siti"))
        .await
        .unwrap();
    // and the office refunds and deletes Y while the counter edits it: the deletion wins
    refund_all(&app, &t.owner_token, &y.id.to_string()).await;
    let (st, _, _) = app
        .delete(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}", y.id),
            json!({"reason": "batal"}),
        )
        .await;
    assert_eq!(st, 204);
    s.update_order(&cashier, y.id, 1, edit(900_000, "Budi"))
        .await
        .unwrap();

    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(r.needs_attention.count, 2, "{r:?}");
    let list = s.needs_attention(&cashier).await.unwrap();
    assert!(
        list.iter()
            .all(|a| a.status == "conflict" && a.kind == "order_updated"),
        "{list:?}"
    );
    // the deletion came in through the pull meanwhile
    assert_eq!(
        s.get_order(&cashier, y.id).await.unwrap().status,
        pos_domain::OrderStatus::Deleted
    );

    // keeping the counter's edit of X: re-based on the service's version, it applies
    let on_x = list.iter().find(|a| a.order_id == x.id).unwrap();
    s.retry_attention(&cashier, on_x.mutation_id).await.unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(r.pushed.count, 1, "{r:?}");
    let (_, got, _) = app.get(&t.owner_token, &path).await;
    assert_eq!(got["total"], "1200000");
    assert_eq!(got["version"], 3);
    assert_eq!(s.get_order(&cashier, x.id).await.unwrap().version, 3);
    // retrying the edit of the deleted order conflicts again: it stays on the list
    let on_y = list.iter().find(|a| a.order_id == y.id).unwrap();
    s.retry_attention(&cashier, on_y.mutation_id).await.unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(r.needs_attention.count, 1, "{r:?}");
    let gone = central_order(&app, &t, y.id).await;
    assert_eq!(gone["status"], "deleted");
}

#[tokio::test]
async fn staff_changed_at_the_office_changes_on_the_service_and_every_counter() {
    let app = spawn().await;
    let t = app.tenant("toko-staf").await;
    let (d, owner) = desk().await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let s = &d.store;
    let (st, sari, _) = app
        .post(
            &t.owner_token,
            "/api/v1/users",
            json!({"name": "Bu Sari", "email": "sari@toko-staf.id", "role": "manager", "password": "a long password 1", "pin": "4321"}),
        )
        .await;
    assert_eq!(st, 201, "{sari}");
    assert_eq!(
        (sari["active"].as_bool(), sari["has_pin"].as_bool()),
        (Some(true), Some(true))
    );
    let id = sari["id"].as_str().unwrap().to_owned();
    let sari_id: pos_domain::StaffId = id.parse().unwrap();
    let path = format!("/api/v1/users/{id}");
    let token = app
        .login("toko-staf", "sari@toko-staf.id", "a long password 1")
        .await;
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(
        s.login(sari_id, Pin::new("4321").unwrap())
            .await
            .unwrap()
            .role(),
        Role::Manager
    );

    // the rules: only the owner changes staff; the owner stays owner and active; nobody
    // becomes owner; unknown members and fields are refused; nothing changes
    let (st, _, _) = app.patch(&token, &path, json!({"role": "cashier"})).await;
    assert_eq!(st, 403);
    let (_, owner_row, _) = app.get(&t.owner_token, "/api/v1/users").await;
    let owner_id = owner_row["items"][0]["id"].as_str().unwrap();
    for (body, field) in [
        (json!({"active": false}), "active"),
        (json!({"role": "manager"}), "role"),
    ] {
        let (st, e, _) = app
            .patch(&t.owner_token, &format!("/api/v1/users/{owner_id}"), body)
            .await;
        assert_eq!((st, e["field"].as_str()), (422, Some(field)), "{e}");
    }
    for (body, field) in [
        (json!({"role": "owner"}), "role"),
        (json!({"pin": "12"}), "pin"),
        (json!({"password": "short"}), "password"),
        (json!({"name": " "}), "name"),
    ] {
        let (st, e, _) = app.patch(&t.owner_token, &path, body).await;
        assert_eq!((st, e["field"].as_str()), (422, Some(field)), "{e}");
    }
    let (st, _, _) = app
        .patch(&t.owner_token, &path, json!({"pin_hash": "x"}))
        .await;
    assert!(st == 400 || st == 422, "{st}");
    let (st, _, _) = app
        .patch(
            &t.owner_token,
            &format!("/api/v1/users/{}", uuid::Uuid::nil()),
            json!({"active": false}),
        )
        .await;
    assert_eq!(st, 404);
    let (st, _, _) = app.get(&token, "/api/v1/audit-events").await;
    assert_eq!(st, 200, "Sari is still a manager");

    // deactivated: her token stops at once, she cannot sign in, and after the next pull she
    // can neither log in nor approve on the counter
    let (st, after, _) = app
        .patch(&t.owner_token, &path, json!({"active": false}))
        .await;
    assert_eq!(
        (st, after["active"].as_bool()),
        (200, Some(false)),
        "{after}"
    );
    let (st, _, _) = app.get(&token, "/api/v1/offline-orders").await;
    assert_eq!(st, 401);
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"tenant": "toko-staf", "email": "sari@toko-staf.id", "password": "a long password 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(s.login(sari_id, Pin::new("4321").unwrap()).await.is_err());
    let z = s.create_order(&cashier, new_order("Dewi")).await.unwrap();
    let refused = s
        .delete_order(
            &cashier,
            z.id,
            "dobel",
            Some(ApprovalInput {
                approver_id: sari_id,
                pin: Pin::new("4321").unwrap(),
            }),
        )
        .await;
    assert!(refused.is_err());

    // reactivated as she was: her token from before stays dead (a stolen device's, say);
    // she signs in again
    let (st, _, _) = app
        .patch(&t.owner_token, &path, json!({"active": true}))
        .await;
    assert_eq!(st, 200);
    let (st, _, _) = app.get(&token, "/api/v1/audit-events").await;
    assert_eq!(st, 401, "a token from before the deactivation came back");
    let again = app
        .login("toko-staf", "sari@toko-staf.id", "a long password 1")
        .await;
    let (st, _, _) = app.get(&again, "/api/v1/audit-events").await;
    assert_eq!(st, 200);

    // as a cashier with a new PIN: the old PIN no longer opens the counter
    let (st, after, _) = app
        .patch(
            &t.owner_token,
            &path,
            json!({"active": true, "role": "cashier", "pin": "8765"}),
        )
        .await;
    assert_eq!(
        (st, after["role"].as_str()),
        (200, Some("cashier")),
        "{after}"
    );
    let (st, _, _) = app.get(&token, "/api/v1/offline-orders").await;
    assert_eq!(st, 401, "a token naming the old role is not honoured");
    let cashier_token = app
        .login("toko-staf", "sari@toko-staf.id", "a long password 1")
        .await;
    let (st, _, _) = app.get(&cashier_token, "/api/v1/audit-events").await;
    assert_eq!(st, 403);
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(s.login(sari_id, Pin::new("4321").unwrap()).await.is_err());
    assert_eq!(
        s.login(sari_id, Pin::new("8765").unwrap())
            .await
            .unwrap()
            .role(),
        Role::Cashier
    );

    // every change audited, never a secret
    let (_, events, _) = app
        .get(
            &t.owner_token,
            "/api/v1/audit-events?entity_type=staff&limit=50",
        )
        .await;
    let text = events.to_string();
    assert!(!text.contains("8765") && !text.contains("a long password"));
    let updates: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operation"] == "staff.update")
        .collect();
    assert_eq!(updates.len(), 3, "{events}");
    assert!(text.contains("reset=pin"), "{text}");
}

#[tokio::test]
async fn one_order_tells_where_it_came_from_and_who_took_each_payment_where() {
    let app = spawn().await;
    let t = app.tenant("toko-asal").await;
    let (d, owner) = desk().await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let s = &d.store;
    let x = s.create_order(&cashier, new_order("Siti")).await.unwrap();
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    let (st, body, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}/payments", x.id),
            json!({"amount": "200000", "method": "bank_transfer", "reference": "TRX-9"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let (_, got, _) = app
        .get(&t.owner_token, &format!("/api/v1/offline-orders/{}", x.id))
        .await;
    let origin = &got["origin"];
    assert_eq!(origin["device_code"], "K01", "{got}");
    assert_eq!(origin["recorded_by_name"], "Kasir Pak Andi");
    assert!(origin["received_at"].is_string());
    let took: Vec<(Value, Value)> = got["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["recorded_by_name"].clone(), p["device_code"].clone()))
        .collect();
    assert_eq!(
        took,
        [
            (json!("Kasir Pak Andi"), json!("K01")),
            (json!("Ibu Owner"), Value::Null)
        ],
        "the office's payment has no counter"
    );
    // lists stay lean: no origin there
    let (_, page, _) = app.get(&t.owner_token, "/api/v1/offline-orders").await;
    assert!(page["items"][0].get("origin").is_none());

    // the order's audit trail by time: nothing before it was created, all of it from then
    let created: chrono::DateTime<chrono::Utc> =
        got["created_at"].as_str().unwrap().parse().unwrap();
    let at = |d: chrono::DateTime<chrono::Utc>| {
        d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .replace('+', "%2B")
    };
    let trail = |q: String| {
        let app = &app;
        let token = t.owner_token.clone();
        async move {
            let (st, events, _) = app
                .get(
                    &token,
                    &format!("/api/v1/audit-events?entity_id={}&{q}", x.id),
                )
                .await;
            assert_eq!(st, 200, "{events}");
            events["items"].as_array().unwrap().len()
        }
    };
    let before = created - chrono::Duration::seconds(1);
    assert_eq!(trail(format!("to={}", at(before))).await, 0);
    assert!(trail(format!("from={}", at(before))).await >= 2);
    let (st, _, _) = app
        .get(&t.owner_token, "/api/v1/audit-events?from=yesterday")
        .await;
    assert_eq!(st, 400);
}

/// `POST /api/v1/offline-orders/export` as `token`: the status and the CSV's records (header
/// first).
async fn export(app: &TestApp, token: &str, body: Value) -> (u16, Vec<Vec<String>>) {
    let r = app
        .http
        .post(app.url("/api/v1/offline-orders/export"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    if st != 200 {
        return (st, Vec::new());
    }
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let text = r.text().await.unwrap();
    let records = text
        .lines()
        .map(|l| {
            l.split(',')
                .map(|c| c.trim_matches('"').to_owned())
                .collect()
        })
        .collect();
    (st, records)
}

fn column(records: &[Vec<String>], name: &str) -> Vec<String> {
    let i = records[0].iter().position(|h| h == name).unwrap();
    records[1..].iter().map(|r| r[i].clone()).collect()
}

fn sum(values: &[String]) -> i64 {
    values.iter().map(|v| v.parse::<i64>().unwrap()).sum()
}

/// A service on a test clock at 2027-03-01 03:00 UTC with tenant `slug`, and counter K01 on
/// the same clock paired to it: the clock, the service, the tenant, the counter, its owner's
/// session and its sync client.
async fn office_with_counter(
    slug: &str,
) -> (
    Arc<TestClock>,
    TestApp,
    Tenant,
    Desk,
    Session,
    pos_core::SyncClient,
) {
    let clock = TestClock::at("2027-03-01T03:00:00Z");
    let app = spawn_with_state({
        let c = clock.clone();
        move |s| s.with_clock(c)
    })
    .await;
    let t = app.tenant(slug).await;
    let (d, owner) = desk_on("K01", clock.clone()).await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    (clock, app, t, d, owner, c)
}

/// Every order's stored `unpaid_due` against the rule (`pos_domain::figures::unpaid_due`,
/// 'infinity' for none); how many orders were checked.
async fn unpaid_due_agrees(app: &TestApp, tenant: uuid::Uuid) -> usize {
    use sqlx::Row;
    let mut tx = app.owner_pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT order_number, currency, schedule, paid_minor, unpaid_due::text AS due FROM orders",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    for r in &rows {
        let currency: pos_domain::Currency = r.get::<String, _>("currency").parse().unwrap();
        let schedule: sqlx::types::Json<Vec<pos_domain::ScheduleEntry>> = r.get("schedule");
        let paid = currency.from_minor(r.get("paid_minor"));
        let want = pos_domain::figures::unpaid_due(&schedule.0, paid)
            .map_or("infinity".to_owned(), |d| d.to_string());
        assert_eq!(
            r.get::<Option<String>, _>("due"),
            Some(want),
            "order {}",
            r.get::<String, _>("order_number")
        );
    }
    rows.len()
}

/// "Overdue only" reads each order's earliest unpaid due date, kept by every path that changes
/// a schedule or what was paid: created at the office and on a counter, paid and reversed on
/// both, edited on both. Orders from before the column (none written) are still found, and
/// `migrate` fills them.
#[tokio::test]
async fn the_earliest_unpaid_due_date_is_kept_on_every_path_and_filled_for_older_orders() {
    let (clock, app, mut t, d, owner, c) = office_with_counter("toko-jatuh-tempo").await;
    let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let s = &d.store;
    // on the counter: created (down payment taken), paid, edited, a payment reversed
    let a = s
        .create_order(&owner, new_order_on("Siti", day))
        .await
        .unwrap();
    s.record_payment(&owner, a.id, cash(300_000)).await.unwrap();
    let b = s
        .create_order(&owner, new_order_on("Dewi", day))
        .await
        .unwrap();
    let edit = pos_core::OrderEdit {
        customer: pos_domain::Customer {
            name: "Dewi".into(),
            phone: Some("08121112222".into()),
            email: None,
            address: None,
        },
        items: vec![pos_domain::ItemInput {
            name: "Kulkas besar".into(),
            sku: None,
            quantity: 1.into(),
            unit_price: money(1_600_000),
            discount: None,
        }],
        discount: None,
        notes: None,
    };
    s.update_order(&owner, b.id, 1, edit).await.unwrap();
    let e = s
        .create_order(&owner, new_order_on("Eka", day))
        .await
        .unwrap();
    s.reverse_payment(&owner, e.id, e.payments[0].id, "salah catat", None)
        .await
        .unwrap();
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    // at the office: created, paid, edited, reversed
    let (st, office, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Budi", "081377778888"),
        )
        .await;
    assert_eq!(st, 201, "{office}");
    let o = office["id"].as_str().unwrap().to_owned();
    let (st, _, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{o}/payments"),
            json!({"amount": "350000", "method": "cash"}),
        )
        .await;
    assert_eq!(st, 201);
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/offline-orders/{}", a.id)))
        .bearer_auth(&t.owner_token)
        .header("If-Match", "\"1\"")
        // down to what was paid: nothing is left unpaid
        .json(&json!({"items": [{"name": "Kulkas", "quantity": "1", "unit_price": "400000"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let (st, b_view, _) = app
        .get(&t.owner_token, &format!("/api/v1/offline-orders/{}", b.id))
        .await;
    assert_eq!(st, 200);
    let down = b_view["payments"][0]["id"].as_str().unwrap().to_owned();
    let (st, body, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}/payments/{down}/reversal", b.id),
            json!({"reason": "salah catat"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(unpaid_due_agrees(&app, t.id).await, 4);

    // 15 April: Dewi's and Eka's orders missed their 31 March installment; Siti's is paid in
    // full, the office's due in 2099
    clock.set("2027-04-15T03:00:00Z");
    t.owner_token = app
        .login(
            "toko-jatuh-tempo",
            "owner@toko-jatuh-tempo.id",
            "correct horse battery",
        )
        .await;
    let overdue_names = || {
        let (app, token) = (&app, t.owner_token.clone());
        async move {
            let (st, page, _) = app
                .post(
                    &token,
                    "/api/v1/offline-orders/search",
                    json!({"overdue": true}),
                )
                .await;
            assert_eq!(st, 200, "{page}");
            let mut names: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["customer"]["name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            (names, page["totals"]["orders"].clone())
        }
    };
    let expected = (vec!["Dewi".to_owned(), "Eka".to_owned()], json!(2));
    assert_eq!(overdue_names().await, expected);

    // orders from before the column: still found, then filled by migrate
    let mut tx = app.owner_pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(t.id.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET unpaid_due = NULL")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(overdue_names().await, expected);
    order_service::db::migrate(&app.owner_pool).await.unwrap();
    assert_eq!(unpaid_due_agrees(&app, t.id).await, 4);
    assert_eq!(overdue_names().await, expected);

    // a deleted order has nothing overdue, in the list and in its schedule alike
    let (st, _, _) = app
        .delete(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}", e.id),
            json!({"reason": "batal"}),
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(overdue_names().await, (vec!["Dewi".to_owned()], json!(1)));
    let (_, eka, _) = app
        .get(&t.owner_token, &format!("/api/v1/offline-orders/{}", e.id))
        .await;
    let states: Vec<&str> = eka["payment_terms"]["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["due", "due", "due", "due"], "{eka}");
    assert_eq!(eka["overdue"], false);
}

#[tokio::test]
async fn the_office_filters_by_counter_and_overdue_totals_every_match_and_exports_csv() {
    let (clock, app, mut t, d, owner, c) = office_with_counter("toko-kantor").await;
    let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let s = &d.store;
    let siti = s
        .create_order(&owner, new_order_on("Siti", day))
        .await
        .unwrap();
    s.create_order(&owner, new_order_on("=HYPERLINK(\"x\")", day))
        .await
        .unwrap();
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    let (st, body, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Budi", "081377778888"),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let (_, devices, _) = app.get(&t.owner_token, "/api/v1/devices").await;
    let k01 = devices[0]["id"].as_str().unwrap().to_owned();
    let search = |body: Value| {
        let app = &app;
        let token = t.owner_token.clone();
        async move {
            let (st, page, _) = app
                .post(&token, "/api/v1/offline-orders/search", body)
                .await;
            assert_eq!(st, 200, "{page}");
            page
        }
    };

    // on the day: nothing overdue; the totals add up every match
    let all = search(json!({"limit": 1})).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        all["totals"],
        json!({"orders": 3, "total": "3000000", "paid": "300000", "balance": "2700000"})
    );
    let next = search(json!({"limit": 1, "cursor": all["next_cursor"]})).await;
    assert!(
        next.get("totals").is_none(),
        "totals come with the first page only"
    );
    let on_k01 = search(json!({"device_id": k01})).await;
    assert_eq!(on_k01["totals"]["orders"], 2);
    assert_eq!(on_k01["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        search(json!({"overdue": true})).await["totals"]["orders"],
        0
    );

    // 15 April: the counter's orders missed their 31 March installment; the API order's first
    // installment is due in 2099
    clock.set("2027-04-15T03:00:00Z");
    t.owner_token = app
        .login(
            "toko-kantor",
            "owner@toko-kantor.id",
            "correct horse battery",
        )
        .await;
    let search = |body: Value| {
        let app = &app;
        let token = t.owner_token.clone();
        async move {
            let (st, page, _) = app
                .post(&token, "/api/v1/offline-orders/search", body)
                .await;
            assert_eq!(st, 200, "{page}");
            page
        }
    };
    let overdue = search(json!({"overdue": true, "limit": 1})).await;
    assert_eq!(overdue["totals"]["orders"], 2, "{overdue}");
    assert_eq!(overdue["items"][0]["overdue"], true);
    let rest = search(json!({"overdue": true, "limit": 1, "cursor": overdue["next_cursor"]})).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let (st, _, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}/payments", siti.id),
            json!({"amount": "300000", "method": "cash"}),
        )
        .await;
    assert_eq!(st, 201);
    let overdue = search(json!({"overdue": true})).await;
    assert_eq!(
        overdue["totals"],
        json!({"orders": 1, "total": "1000000", "paid": "100000", "balance": "900000"})
    );

    // CSV for the accountant: a manager may, without customer data; the sums are the totals'
    let manager = app.staff(&t, "manager").await;
    let (st, orders) = export(&app, &manager, json!({"kind": "orders"})).await;
    assert_eq!(st, 200);
    assert_eq!(orders.len(), 4, "{orders:?}");
    let text = format!("{orders:?}");
    assert!(!text.contains("Siti") && !text.contains("Budi") && !text.contains("0813"));
    assert_eq!(sum(&column(&orders, "total")), 3_000_000);
    assert_eq!(sum(&column(&orders, "paid")), 600_000);
    assert_eq!(
        column(&orders, "counter")
            .iter()
            .filter(|c| *c == "K01")
            .count(),
        2
    );
    let (st, payments) = export(&app, &manager, json!({"kind": "payments"})).await;
    assert_eq!(st, 200);
    assert_eq!(payments.len(), 1 + 4);
    assert_eq!(sum(&column(&payments, "amount")), 600_000);
    let (st, k01_only) = export(&app, &manager, json!({"kind": "orders", "device_id": k01})).await;
    assert_eq!((st, k01_only.len()), (200, 3));
    // customer data: the owner's alone, and a name cannot become a spreadsheet formula
    let (st, _) = export(
        &app,
        &manager,
        json!({"kind": "orders", "include_customer_data": true}),
    )
    .await;
    assert_eq!(st, 403);
    let cashier = app.staff(&t, "cashier").await;
    assert_eq!(
        export(&app, &cashier, json!({"kind": "orders"})).await.0,
        403
    );
    let (st, with_pii) = export(
        &app,
        &t.owner_token,
        json!({"kind": "orders", "include_customer_data": true}),
    )
    .await;
    assert_eq!(st, 200);
    let names = column(&with_pii, "customer_name");
    assert!(names.contains(&"Siti".to_owned()), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("'=HYPERLINK")),
        "{names:?}"
    );
    let (_, events, _) = app
        .get(
            &t.owner_token,
            "/api/v1/audit-events?entity_type=order&action=ACCESS&limit=100",
        )
        .await;
    let details: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operation"] == "order.export")
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert_eq!(details.len(), 4, "{details:?}");
    assert!(
        details.contains(&"kind=orders rows=3 customer_data=true"),
        "{details:?}"
    );

    // the figures per day and per counter
    let (st, summary, _) = app
        .get(
            &t.owner_token,
            "/api/v1/analytics/offline-orders/summary?from=2027-03-01&to=2027-03-31",
        )
        .await;
    assert_eq!(st, 200, "{summary}");
    assert_eq!(
        summary["by_day"],
        json!([{"date": "2027-03-01", "orders": 3, "total": "3000000", "paid": "600000"}])
    );
    assert_eq!(summary["by_counter"][0]["device_code"], "K01");
    assert_eq!(summary["by_counter"][0]["orders"], 2);
    assert!(summary["by_counter"][1]["device_code"].is_null());
}
