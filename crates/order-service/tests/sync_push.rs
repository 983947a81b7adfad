//! A real desktop store (pos-core, real SQLite, real OS keyring) pairs with the service and
//! pushes its outbox and audit chain: applied once, duplicates on replay, rules and approvals
//! re-checked, chains verified. Each scenario starts from the same paired, pushed day
//! ([`day`]) and fails on its own.
#![allow(clippy::unwrap_used)]
mod common;

use common::desk::*;
use common::*;
use pos_core::{ApprovalInput, Pin};
use pos_domain::{Customer, ItemInput, PaymentMethod, Role};
use pos_protocol::{MutationBody, MutationStatus, PushRequest, PushResponse};
use serde_json::json;

async fn push(app: &TestApp, token: &str, req: &PushRequest) -> PushResponse {
    let (st, body, _) = app
        .post(
            token,
            "/api/v1/sync/push",
            serde_json::to_value(req).unwrap(),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

/// A counter's offline day, paired and pushed once: what every scenario starts from.
struct Day {
    app: TestApp,
    t: Tenant,
    other: Tenant,
    desk: Desk,
    cashier: pos_core::Session,
    manager: pos_core::StaffMember,
    ids: pos_domain::UuidV7s,
    a: pos_core::OrderDetail,
    b: pos_core::OrderDetail,
    paired: serde_json::Value,
    device_id: uuid::Uuid,
    device_token: String,
    mutations: Vec<pos_protocol::Mutation>,
    events: Vec<pos_protocol::AuditEvent>,
    prev: String,
    req: PushRequest,
}

/// Staff, an offline day (two orders, a payment, a deletion approved by the manager's PIN),
/// the pairing (single-use code, device token, staff tokens cannot push) and the first push:
/// everything applied, the audit chain taken whole.
async fn day() -> Day {
    let app = spawn().await;
    let t = app.tenant("toko-sync").await;
    let other = app.tenant("toko-lain").await;
    let (desk, owner) = desk().await;
    let s = &desk.store;
    // ids for the forged mutations, stamped with the counter's own clock
    let ids = pos_domain::UuidV7s::new();
    let manager = s
        .add_staff(
            &owner,
            "Pak Manajer",
            Role::Manager,
            Pin::new("2222").unwrap(),
        )
        .await
        .unwrap();
    let cashier_m = s
        .add_staff(
            &owner,
            "Kasir Ani",
            Role::Cashier,
            Pin::new("1111").unwrap(),
        )
        .await
        .unwrap();
    let cashier = s
        .login(cashier_m.id, Pin::new("1111").unwrap())
        .await
        .unwrap();

    // offline day: two orders, a payment, a deletion approved by the manager's PIN
    let a = s.create_order(&cashier, new_order("Siti")).await.unwrap();
    let b = s.create_order(&cashier, new_order("Budi")).await.unwrap();
    s.record_payment(
        &cashier,
        a.id,
        pos_core::PaymentInput {
            id: None,
            amount: pos_domain::Currency::IDR.from_minor(300_000),
            method: PaymentMethod::Card,
            reference: None,
        },
    )
    .await
    .unwrap();
    refund_on_desk(s, &cashier, b.id, manager.id, "2222").await;
    s.delete_order(
        &cashier,
        b.id,
        "dobel input",
        Some(ApprovalInput {
            approver_id: manager.id,
            pin: Pin::new("2222").unwrap(),
        }),
    )
    .await
    .unwrap();

    // pairing: a code from the owner, the counter's staff adopted
    let (st, code, _) = app
        .post(&t.owner_token, "/api/v1/devices/pairing-codes", json!({}))
        .await;
    assert_eq!(st, 201);
    let staff = s.staff_for_pairing(&owner).await.unwrap();
    let (st, paired, _) = app.post("", "/api/v1/devices/pair", json!({"code": code["code"], "device_id": s.device_id(), "name": "Kasir depan", "device_code": "K01", "currency": "IDR", "staff": staff})).await;
    assert_eq!(st, 201, "{paired}");
    // the code is single-use
    let (st, _, _) = app
        .post(
            "",
            "/api/v1/devices/pair",
            json!({"code": code["code"], "name": "x", "device_code": "K02", "currency": "IDR"}),
        )
        .await;
    assert_eq!(st, 404);
    let (st, tok, _) = app
        .post(
            "",
            "/api/v1/auth/device-token",
            json!({"device_id": paired["device_id"], "device_secret": paired["device_secret"]}),
        )
        .await;
    assert_eq!(st, 200);
    let device_token = tok["access_token"].as_str().unwrap().to_owned();
    let (st, _, _) = app
        .post(
            "",
            "/api/v1/auth/device-token",
            json!({"device_id": paired["device_id"], "device_secret": "wrong"}),
        )
        .await;
    assert_eq!(st, 401);
    // staff tokens cannot push
    let (st, _, _) = app
        .post(
            &t.owner_token,
            "/api/v1/sync/push",
            json!({"mutations": []}),
        )
        .await;
    assert_eq!(st, 403);

    // The device's mutations carry its own local device id; the service keys the chain by the
    // paired device id. (Adopting the local id at pairing is the sync issue's; here the push
    // rewrites it as the client will.)
    let device_id: uuid::Uuid = paired["device_id"].as_str().unwrap().parse().unwrap();
    let mut mutations: Vec<_> = s
        .pending_mutations(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation)
        .collect();
    for m in &mut mutations {
        m.device_id = device_id;
    }
    let mut events = s.audit_events_after(0, 10_000).await.unwrap();
    let mut prev = pos_protocol::GENESIS_HASH.to_owned();
    for e in &mut events {
        e.device_id = device_id;
        e.seal(&prev);
        prev = e.hash.clone();
    }
    let req = PushRequest {
        mutations: mutations.clone(),
        audit_events: events.clone(),
    };
    let res = push(&app, &device_token, &req).await;
    let statuses: Vec<_> = res.results.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| *s == MutationStatus::Applied),
        "{:?}",
        res.results
    );
    assert_eq!(res.audit.accepted_through, events.len() as u64);
    assert!(res.audit.rejected.is_none());
    let _ = owner;
    Day {
        app,
        t,
        other,
        desk,
        cashier,
        manager,
        ids,
        a,
        b,
        paired,
        device_id,
        device_token,
        mutations,
        events,
        prev,
        req,
    }
}

/// Replayed, the day is all duplicates: nothing doubled, the chain verifies.
#[tokio::test]
async fn a_paired_counter_pushes_its_day_exactly_once() {
    let Day {
        app,
        t,
        a,
        b,
        manager,
        device_token,
        req,
        ..
    } = day().await;
    // replayed: every mutation a duplicate, nothing doubled
    let again = push(&app, &device_token, &req).await;
    assert!(again
        .results
        .iter()
        .all(|r| r.status == MutationStatus::Duplicate));
    let (_, got, _) = app
        .get(&t.owner_token, &format!("/api/v1/offline-orders/{}", a.id))
        .await;
    assert_eq!(got["paid"], "400000");
    assert_eq!(got["payments"].as_array().unwrap().len(), 2);
    assert_eq!(got["order_number"], a.order_number.as_str());
    let (_, gone, _) = app
        .get(&t.owner_token, &format!("/api/v1/offline-orders/{}", b.id))
        .await;
    assert_eq!(gone["status"], "deleted");
    assert_eq!(gone["deleted"]["approved_by"], manager.id.to_string());
    let (_, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(v["ok"], true, "{v}");
}

/// The service re-checks what a counter pushes: an approval naming the wrong role, a payment above the balance, a payment on another shop's order — each refused with its reason; an order's later change waits behind its refused one.
#[tokio::test]
async fn the_service_re_checks_rules_approvals_and_the_shop_of_every_change() {
    let Day {
        app,
        other,
        desk,
        cashier,
        ids,
        mutations,
        device_id,
        device_token,
        ..
    } = day().await;
    let s = &desk.store;
    // re-checked on the server: an approval naming the wrong role, a payment above the
    // balance, a payment on another tenant's order — each rejected with its reason
    let c = s.create_order(&cashier, new_order("Dewi")).await.unwrap();
    let mut fresh: Vec<_> = s
        .pending_mutations(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation)
        .filter(|m| m.order_id == c.id)
        .collect();
    for m in &mut fresh {
        m.device_id = device_id;
    }
    let mut over = fresh[1].clone();
    over.mutation_id = ids.at(s.now());
    if let MutationBody::PaymentRecorded { payment } = &mut over.body {
        payment.id = pos_domain::PaymentId::from(ids.at(s.now()));
        payment.amount = wire_money("1000001"); // the initial payment is not pushed: the whole total is open
    }
    let mut forged = mutations
        .iter()
        .find(|m| matches!(m.body, MutationBody::OrderDeleted { .. }))
        .unwrap()
        .clone();
    forged.mutation_id = ids.at(s.now());
    forged.order_id = c.id;
    if let MutationBody::OrderDeleted { approval, .. } = &mut forged.body {
        approval.approver_id = cashier.staff_id();
        approval.approver_role = Role::Manager;
    }
    let (_, foreign, _) = app
        .post(
            &other.owner_token,
            "/api/v1/offline-orders",
            order_body("Rahasia", "08129998888"),
        )
        .await;
    let mut cross = fresh[1].clone();
    cross.mutation_id = ids.at(s.now());
    cross.order_id = foreign["id"].as_str().unwrap().parse().unwrap();
    if let MutationBody::PaymentRecorded { payment } = &mut cross.body {
        payment.id = pos_domain::PaymentId::from(ids.at(s.now()));
        payment.order_id = cross.order_id;
    }
    let res = push(
        &app,
        &device_token,
        &PushRequest {
            mutations: vec![fresh[0].clone(), over, forged.clone(), cross],
            audit_events: vec![],
        },
    )
    .await;
    let got: Vec<_> = res
        .results
        .iter()
        .map(|r| (r.status, r.code.clone()))
        .collect();
    assert_eq!(got[0].0, MutationStatus::Applied);
    assert_eq!(
        got[1],
        (MutationStatus::Rejected, Some("overpayment".into()))
    );
    // an order's changes apply in order: after its refused payment, its deletion waits
    assert_eq!(
        got[2],
        (MutationStatus::Skipped, Some("waiting_for_earlier".into()))
    );
    assert_eq!(
        got[3],
        (MutationStatus::Rejected, Some("unknown_order".into()))
    );
    let alone = push(
        &app,
        &device_token,
        &PushRequest {
            mutations: vec![forged],
            audit_events: vec![],
        },
    )
    .await;
    assert_eq!(
        (alone.results[0].status, alone.results[0].code.clone()),
        (MutationStatus::Rejected, Some("approver_role".into()))
    );
    let (_, foreign_now, _) = app
        .get(
            &other.owner_token,
            &format!("/api/v1/offline-orders/{}", foreign["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(foreign_now["paid"], "100000");
}

/// An edit made at the counter reaches the service's search keys too.
#[tokio::test]
async fn an_edit_at_the_counter_reaches_the_services_search_keys() {
    let Day {
        app,
        t,
        desk,
        cashier,
        a,
        device_token,
        ..
    } = day().await;
    let s = &desk.store;
    // an edit made at the counter reaches the server's search keys too
    let edited = s
        .update_order(
            &cashier,
            a.id,
            1,
            pos_core::OrderEdit {
                customer: Customer {
                    name: "Siti Lestari".into(),
                    phone: Some("081255556666".into()),
                    email: None,
                    address: None,
                },
                items: a
                    .items
                    .iter()
                    .map(|l| ItemInput {
                        name: l.name.clone(),
                        sku: None,
                        quantity: l.quantity,
                        unit_price: l.unit_price,
                        discount: None,
                    })
                    .collect(),
                discount: None,
                notes: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.version, 2);
    let upd: Vec<_> = s
        .pending_mutations(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation)
        .filter(|m| matches!(m.body, MutationBody::OrderUpdated { .. }))
        .collect();
    let res = push(
        &app,
        &device_token,
        &PushRequest {
            mutations: upd,
            audit_events: vec![],
        },
    )
    .await;
    assert_eq!(
        res.results[0].status,
        MutationStatus::Applied,
        "{:?}",
        res.results
    );
    let (_, found, _) = app
        .get(&t.owner_token, "/api/v1/offline-orders?q=lestari")
        .await;
    assert_eq!(found["items"][0]["id"], a.id.to_string());
    let (_, found, _) = app
        .get(&t.owner_token, "/api/v1/offline-orders?q=081255556666")
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
}

/// The pull brings a payment taken at the office, with the order's new totals, and the roster (with PIN verifiers); not the counter's own changes.
#[tokio::test]
async fn the_pull_brings_what_changed_elsewhere_and_the_roster_not_the_counters_own() {
    let Day {
        app,
        t,
        a,
        manager,
        device_token,
        ..
    } = day().await;
    // pull: the owner takes a payment on order a through the API; the counter sees it, with
    // the order's new totals, and the roster it adopted (with PIN verifiers)
    let (st, _, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}/payments", a.id),
            json!({"amount": "50000", "method": "cash"}),
        )
        .await;
    assert_eq!(st, 201);
    let (st, pulled, _) = app.get(&device_token, "/api/v1/sync/pull?cursor=0").await;
    assert_eq!(st, 200, "{pulled}");
    let changes = pulled["changes"].as_array().unwrap();
    // the device's own changes are not sent back
    assert_eq!(changes.len(), 1, "{pulled}");
    assert_eq!(changes[0]["type"], "payment.received");
    assert_eq!(changes[0]["payment"]["amount"], "50000");
    assert_eq!(changes[0]["order"]["paid"], "450000");
    let roster = pulled["roster"].as_array().unwrap();
    assert!(roster.iter().any(|u| u["id"] == manager.id.to_string()
        && u["role"] == "manager"
        && u["pin_verifier"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$")));
    let cursor = pulled["next_cursor"].as_i64().unwrap();
    let (_, empty, _) = app
        .get(&device_token, &format!("/api/v1/sync/pull?cursor={cursor}"))
        .await;
    assert!(empty["changes"].as_array().unwrap().is_empty());
    assert_eq!(app.get(&t.owner_token, "/api/v1/sync/pull").await.0, 403);
}

/// A payment naming another order than its mutation is refused, and the same payment reversed twice in one push: the second reversal is refused alone; the rest applies.
#[tokio::test]
async fn a_payment_naming_another_order_and_a_second_reversal_are_refused_alone() {
    let Day {
        app,
        t,
        desk,
        a,
        cashier,
        manager,
        ids,
        device_id,
        device_token,
        ..
    } = day().await;
    let s = &desk.store;
    // order c, a new order of the counter's (with its down payment)
    let c = s.create_order(&cashier, new_order("Dewi")).await.unwrap();
    let mut fresh: Vec<_> = s
        .pending_mutations(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation)
        .filter(|m| m.order_id == c.id)
        .collect();
    for m in &mut fresh {
        m.device_id = device_id;
    }
    // order c itself is on the service first
    let res = push(
        &app,
        &device_token,
        &PushRequest {
            mutations: vec![fresh[0].clone()],
            audit_events: vec![],
        },
    )
    .await;
    assert_eq!(res.results[0].status, MutationStatus::Applied);

    // a payment naming another order than its mutation is refused (and only that mutation's
    // order waits: the others below are of order c)
    let mut mismatch = fresh[1].clone();
    mismatch.mutation_id = ids.at(s.now());
    mismatch.order_id = a.id;
    if let MutationBody::PaymentRecorded { payment } = &mut mismatch.body {
        payment.id = pos_domain::PaymentId::from(ids.at(s.now()));
    }
    // and the same payment reversed twice, by two mutations of one push: the ledger rule sees
    // the first within the push's transaction and refuses the second alone; the rest applies
    let reversal = |rid: pos_domain::PaymentId| {
        let mut r = fresh[1].clone();
        r.mutation_id = ids.at(s.now());
        let MutationBody::PaymentRecorded { payment } = &fresh[1].body else {
            unreachable!()
        };
        let mut p = payment.clone();
        p.id = rid;
        p.amount = -payment.amount;
        p.reverses = Some(payment.id);
        r.body = MutationBody::PaymentReversed {
            payment: p,
            approval: pos_protocol::Approval {
                approver_id: manager.id,
                approver_role: Role::Manager,
                reason: "salah".into(),
                approved_at: s.now(),
            },
        };
        r
    };
    let res = push(
        &app,
        &device_token,
        &PushRequest {
            mutations: vec![
                mismatch,
                fresh[1].clone(),
                reversal(pos_domain::PaymentId::from(ids.at(s.now()))),
                reversal(pos_domain::PaymentId::from(ids.at(s.now()))),
            ],
            audit_events: vec![],
        },
    )
    .await;
    let got: Vec<_> = res
        .results
        .iter()
        .map(|r| (r.status, r.code.clone()))
        .collect();
    assert_eq!(
        got[0],
        (MutationStatus::Rejected, Some("order_mismatch".into()))
    );
    assert_eq!(got[1], (MutationStatus::Applied, None));
    assert_eq!(got[2], (MutationStatus::Applied, None));
    assert_eq!(
        got[3],
        (MutationStatus::Rejected, Some("already_reversed".into()))
    );
    let (_, c_now, _) = app
        .get(&t.owner_token, &format!("/api/v1/offline-orders/{}", c.id))
        .await;
    assert_eq!(c_now["paid"], "0");

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("sync_mutations_total{result=\"rejected\"} 2"),
        "{metrics}"
    );
    assert!(!metrics.contains("sync_mutations_total{result=\"applied\"} 0"));
}

/// A tampered audit event is refused at its seq and nothing after it is stored; unpairing: another shop cannot, a cashier cannot, the owner can, and the secret stops working.
#[tokio::test]
async fn a_tampered_audit_event_is_refused_and_only_the_owner_unpairs() {
    let Day {
        app,
        t,
        other,
        desk,
        cashier,
        paired,
        device_id,
        device_token,
        events,
        mut prev,
        ..
    } = day().await;
    let s = &desk.store;
    // new local changes, so there is more of the chain to push
    s.create_order(&cashier, new_order("Dewi")).await.unwrap();
    // a tampered audit event is refused at its seq, and nothing after it is stored
    let more = s
        .audit_events_after(events.len() as u64, 100)
        .await
        .unwrap();
    let mut more: Vec<_> = more.into_iter().collect();
    for e in &mut more {
        e.device_id = device_id;
        e.seal(&prev);
        prev = e.hash.clone();
    }
    assert!(more.len() >= 2);
    let bad_seq = more[1].seq;
    more[1].operation = "order.read".into();
    let res = push(
        &app,
        &device_token,
        &PushRequest {
            mutations: vec![],
            audit_events: more,
        },
    )
    .await;
    assert_eq!(res.audit.accepted_through, bad_seq - 1);
    assert_eq!(res.audit.rejected.unwrap().seq, bad_seq);
    // unpairing: another tenant cannot, the owner can, and the secret stops working
    assert_eq!(
        app.delete(
            &other.owner_token,
            &format!("/api/v1/devices/{device_id}"),
            json!({})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.delete(
            &cashier_token_for(&app, &t).await,
            &format!("/api/v1/devices/{device_id}"),
            json!({})
        )
        .await
        .0,
        403
    );
    let revoke_later = (
        device_id,
        paired["device_secret"].as_str().unwrap().to_owned(),
    );

    let (st, _, _) = app
        .delete(
            &t.owner_token,
            &format!("/api/v1/devices/{}", revoke_later.0),
            json!({}),
        )
        .await;
    assert_eq!(st, 204);
    let (st, _, _) = app
        .post(
            "",
            "/api/v1/auth/device-token",
            json!({"device_id": revoke_later.0, "device_secret": revoke_later.1}),
        )
        .await;
    assert_eq!(st, 401);
}

async fn cashier_token_for(app: &TestApp, t: &Tenant) -> String {
    app.staff(t, "cashier").await
}
