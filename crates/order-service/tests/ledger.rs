//! Money moves only by the ledger's rules (issue 15, item 2), on every path: a counter's pushed
//! payments and reversals, the office's payments, reversals and deletions, and the database
//! itself; and a counter in another currency never joins the shop.
#![allow(clippy::unwrap_used)]
mod common;

use common::desk::*;
use common::sync::{pair_by_hand, push};
use common::*;
use pos_domain::{OrderId, PaymentId, Role};
use pos_protocol::{Approval, Mutation, MutationBody, MutationStatus};
use serde_json::json;

/// The ledger as the service holds it: (payments, sum of amounts, the order's paid_minor, status).
async fn ledger(app: &TestApp, t: &Tenant, order: OrderId) -> (i64, i64, i64, String) {
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM payments WHERE order_id = $1),
                (SELECT COALESCE(SUM(amount_minor), 0)::bigint FROM payments WHERE order_id = $1),
                paid_minor, status FROM orders WHERE id = $1",
    )
    .bind(order.0)
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

#[tokio::test]
async fn money_moves_only_by_the_ledger_rules_on_every_path() {
    let app = spawn().await;
    let t = app.tenant("toko-buku").await;
    let (d, owner) = desk().await;
    let (manager, cashier) = common::sync::crew(&d, &owner, "Pak Manajer", "2222").await;
    let s = &d.store;
    let a = s.create_order(&cashier, new_order("Siti")).await.unwrap(); // 100,000 down
    let b = s.create_order(&cashier, new_order("Budi")).await.unwrap(); // 100,000 down
    let (device, token) = pair_by_hand(&app, &t, &d, &owner).await;
    let mut real: Vec<Mutation> = s
        .pending_mutations(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation)
        .collect();
    for m in &mut real {
        m.device_id = device;
    }
    let res = push(&app, &token, real.clone()).await;
    assert!(
        res.results
            .iter()
            .all(|r| r.status == MutationStatus::Applied),
        "{res:?}"
    );
    let pay_of = |o: OrderId| -> pos_protocol::PaymentRecord {
        real.iter()
            .find_map(|m| match &m.body {
                MutationBody::PaymentRecorded { payment } if m.order_id == o => {
                    Some(payment.clone())
                }
                _ => None,
            })
            .unwrap()
    };
    let (pa, pb) = (pay_of(a.id), pay_of(b.id));
    let template = real.iter().find(|m| m.order_id == a.id).unwrap().clone();
    let mut seq = real.len() as u64;
    let mut forge = |order: OrderId, body: MutationBody| {
        seq += 1;
        let mut m = template.clone();
        m.mutation_id = uuid::Uuid::from_u128(0x1000 + seq as u128);
        m.seq = seq;
        m.order_id = order;
        m.body = body;
        m
    };
    let approval = |by: &pos_core::StaffMember, role: Role| Approval {
        approver_id: by.id,
        approver_role: role,
        reason: "salah input".into(),
        approved_at: pa.paid_at,
    };
    let reversal =
        |of: &pos_protocol::PaymentRecord, amount: &str, n: u128| pos_protocol::PaymentRecord {
            id: PaymentId::from(uuid::Uuid::from_u128(0x2000 + n)),
            amount: wire_money(amount),
            reverses: Some(of.id),
            reference: None,
            ..of.clone()
        };
    let before = ledger(&app, &t, a.id).await;
    assert_eq!(before, (1, 100_000, 100_000, "pending".into()));

    // Each forged change is refused with its rule's code, and the ledger is unchanged.
    let mut manager_member = s.list_staff().await.unwrap();
    manager_member.retain(|m| m.id == manager.id);
    let mgr = &manager_member[0];
    let cashier_member = s
        .list_staff()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == cashier.staff_id())
        .unwrap();
    let cases: Vec<(MutationBody, OrderId, &str)> = vec![
        // a negative payment naming a payment, with no approval at all
        (
            MutationBody::PaymentRecorded {
                payment: reversal(&pa, "-100000", 1),
            },
            a.id,
            "reversal_needs_approval",
        ),
        // a negative payment naming nothing
        (
            MutationBody::PaymentRecorded {
                payment: pos_protocol::PaymentRecord {
                    reverses: None,
                    ..reversal(&pa, "-100", 2)
                },
            },
            a.id,
            "negative_amount",
        ),
        // a fraction of a Rupiah
        (
            MutationBody::PaymentRecorded {
                payment: pos_protocol::PaymentRecord {
                    reverses: None,
                    ..reversal(&pa, "1000.5", 3)
                },
            },
            a.id,
            "too_many_decimals",
        ),
        // approved reversals of: an unknown payment, another order's payment, a part of the
        // payment, a fraction of a Rupiah, more than the payment
        (
            MutationBody::PaymentReversed {
                payment: pos_protocol::PaymentRecord {
                    reverses: Some(PaymentId::from(uuid::Uuid::from_u128(0xdead))),
                    ..reversal(&pa, "-100000", 4)
                },
                approval: approval(mgr, Role::Manager),
            },
            a.id,
            "unknown_payment",
        ),
        (
            MutationBody::PaymentReversed {
                payment: pos_protocol::PaymentRecord {
                    order_id: a.id,
                    ..reversal(&pb, "-100000", 5)
                },
                approval: approval(mgr, Role::Manager),
            },
            a.id,
            "unknown_payment",
        ),
        (
            MutationBody::PaymentReversed {
                payment: reversal(&pa, "-50000", 6),
                approval: approval(mgr, Role::Manager),
            },
            a.id,
            "reversal_amount_mismatch",
        ),
        (
            MutationBody::PaymentReversed {
                payment: reversal(&pa, "-1000.5", 7),
                approval: approval(mgr, Role::Manager),
            },
            a.id,
            "too_many_decimals",
        ),
        (
            MutationBody::PaymentReversed {
                payment: reversal(&pa, "-200000", 8),
                approval: approval(mgr, Role::Manager),
            },
            a.id,
            "reversal_amount_mismatch",
        ),
        // approved by a cashier, honestly or not
        (
            MutationBody::PaymentReversed {
                payment: reversal(&pa, "-100000", 9),
                approval: approval(&cashier_member, Role::Cashier),
            },
            a.id,
            "approver_role",
        ),
        (
            MutationBody::PaymentReversed {
                payment: reversal(&pa, "-100000", 10),
                approval: approval(&cashier_member, Role::Manager),
            },
            a.id,
            "approver_role",
        ),
        // an order that holds money is not deleted, even with an approval
        (
            MutationBody::OrderDeleted {
                approval: approval(mgr, Role::Manager),
                deleted_at: pa.paid_at,
            },
            b.id,
            "order_has_payments",
        ),
    ];
    for (body, order, code) in cases {
        let res = push(&app, &token, vec![forge(order, body.clone())]).await;
        assert_eq!(
            (res.results[0].status, res.results[0].code.as_deref()),
            (MutationStatus::Rejected, Some(code)),
            "{body:?}: {res:?}"
        );
        assert_eq!(ledger(&app, &t, a.id).await, before);
        assert_eq!(ledger(&app, &t, b.id).await, before);
    }

    // The counter's own, approved reversal applies — once; a second reversal of it is refused.
    let refunded = s
        .reverse_payment(
            &cashier,
            a.id,
            pa.id,
            "salah input",
            Some(pos_core::ApprovalInput {
                approver_id: manager.id,
                pin: pos_core::Pin::new("2222").unwrap(),
            }),
        )
        .await
        .unwrap();
    assert_eq!(refunded.paid.amount(), 0.into());
    let mut own: Vec<Mutation> = s
        .pending_mutations(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation)
        .filter(|m| matches!(m.body, MutationBody::PaymentReversed { .. }))
        .collect();
    for m in &mut own {
        m.device_id = device;
    }
    let res = push(&app, &token, own.clone()).await;
    assert_eq!(res.results[0].status, MutationStatus::Applied, "{res:?}");
    assert_eq!(ledger(&app, &t, a.id).await, (2, 0, 0, "pending".into()));
    let res = push(
        &app,
        &token,
        vec![forge(
            a.id,
            MutationBody::PaymentReversed {
                payment: reversal(&pa, "-100000", 11),
                approval: approval(mgr, Role::Manager),
            },
        )],
    )
    .await;
    assert_eq!(
        res.results[0].code.as_deref(),
        Some("already_reversed"),
        "{res:?}"
    );
    // the same reversal id with other contents is not taken as a replay
    let mut reused = own[0].clone();
    reused.mutation_id = uuid::Uuid::from_u128(0x3000);
    if let MutationBody::PaymentReversed { payment, .. } = &mut reused.body {
        payment.amount = wire_money("-1");
    }
    let res = push(&app, &token, vec![reused.clone()]).await;
    assert_eq!(
        res.results[0].code.as_deref(),
        Some("payment_id_in_use"),
        "{res:?}"
    );
    assert_eq!(ledger(&app, &t, a.id).await, (2, 0, 0, "pending".into()));
    // a mutation id names one change: sent again it is a duplicate, with another change refused
    let res = push(&app, &token, own.clone()).await;
    assert_eq!(res.results[0].status, MutationStatus::Duplicate, "{res:?}");
    let mut other = own[0].clone();
    if let MutationBody::PaymentReversed { approval, .. } = &mut other.body {
        approval.reason = "another change".into();
    }
    let res = push(&app, &token, vec![other]).await;
    assert_eq!(
        res.results[0].code.as_deref(),
        Some("mutation_id_reused"),
        "{res:?}"
    );

    // The office: a negative or fractional payment is refused; deleting B, which holds money,
    // is refused until its payment is reversed (by a manager or owner, not a cashier).
    let ob = b.id.to_string();
    for amount in ["-5", "0.5", "0"] {
        let (st, e, _) = app
            .post(
                &t.owner_token,
                &format!("/api/v1/offline-orders/{ob}/payments"),
                json!({"amount": amount, "method": "cash"}),
            )
            .await;
        assert_eq!(st, 422, "{amount}: {e}");
    }
    let (st, e, _) = app
        .delete(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{ob}"),
            json!({"reason": "batal"}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (409, Some("order_has_payments")),
        "{e}"
    );
    let office_cashier = app.staff(&t, "cashier").await;
    let path = format!("/api/v1/offline-orders/{ob}/payments/{}/reversal", pb.id);
    let (st, _, _) = app
        .post(&office_cashier, &path, json!({"reason": "refund"}))
        .await;
    assert_eq!(st, 403);
    let (st, e, _) = app
        .post(
            &t.owner_token,
            &format!(
                "/api/v1/offline-orders/{}/payments/{}/reversal",
                a.id, pb.id
            ),
            json!({"reason": "refund"}),
        )
        .await;
    assert_eq!(st, 409, "another order's payment: {e}");
    assert_eq!(e["code"], "unknown_payment");
    let (st, r, _) = app
        .post(&t.owner_token, &path, json!({"reason": "refund"}))
        .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["payment"]["amount"], "-100000");
    assert_eq!(r["payment"]["reverses"], pb.id.to_string());
    assert_eq!(r["order"]["paid"], "0");
    let (st, e, _) = app
        .post(&t.owner_token, &path, json!({"reason": "again"}))
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (409, Some("already_reversed")),
        "{e}"
    );
    let (st, _, _) = app
        .delete(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{ob}"),
            json!({"reason": "batal"}),
        )
        .await;
    assert_eq!(st, 204);
    // the money taken and given back stays in the figures: collected is net of the refunds
    let day = b.business_date;
    let (_, sum, _) = app
        .get(
            &t.owner_token,
            &format!("/api/v1/analytics/offline-orders/summary?from={day}&to={day}"),
        )
        .await;
    assert_eq!(sum["collected"], "0", "{sum}");

    // The database refuses what the rules refuse, whatever path writes it.
    let c = s.create_order(&cashier, new_order("Dewi")).await.unwrap();
    let mut fresh: Vec<Mutation> = s
        .pending_mutations(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation)
        .filter(|m| m.order_id == c.id)
        .collect();
    for m in &mut fresh {
        m.device_id = device;
    }
    push(&app, &token, fresh).await;
    let pc = s.get_order(&cashier, c.id).await.unwrap().payments[0].id;
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    for (what, sql) in [
        ("an unapproved reversal", format!("INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at, recorded_by, reverses) VALUES ('{}', gen_random_uuid(), '{}', -100000, 'cash', now(), '{}', '{}')", t.id, c.id, cashier.staff_id(), pc)),
        ("a partial reversal", format!("INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at, recorded_by, reverses, approved_by, approver_role) VALUES ('{}', gen_random_uuid(), '{}', -1, 'cash', now(), '{}', '{}', '{}', 'manager')", t.id, c.id, cashier.staff_id(), pc, manager.id)),
        ("another order's payment reversed", format!("INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at, recorded_by, reverses, approved_by, approver_role) VALUES ('{}', gen_random_uuid(), '{}', -100000, 'cash', now(), '{}', '{}', '{}', 'manager')", t.id, a.id, cashier.staff_id(), pc, manager.id)),
        ("a negative payment", format!("INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at, recorded_by) VALUES ('{}', gen_random_uuid(), '{}', -5, 'cash', now(), '{}')", t.id, c.id, cashier.staff_id())),
        ("an order holding money deleted", format!("UPDATE orders SET status = 'deleted' WHERE id = '{}'", c.id)),
    ] {
        sqlx::query("SAVEPOINT s").execute(&mut *tx).await.unwrap();
        let r = sqlx::query(&sql).execute(&mut *tx).await;
        assert!(r.is_err(), "{what} was accepted by the database");
        sqlx::query("ROLLBACK TO SAVEPOINT s").execute(&mut *tx).await.unwrap();
    }

    // A mutation in another currency never enters the shop's books.
    let mut usd = real
        .iter()
        .find(|m| matches!(m.body, MutationBody::OrderCreated { .. }))
        .unwrap()
        .clone();
    usd.mutation_id = uuid::Uuid::from_u128(0x4000);
    usd.seq = 999;
    if let MutationBody::OrderCreated { order } = &mut usd.body {
        order.id = OrderId::from(uuid::Uuid::from_u128(0x5000));
        order.order_number = "K01-X-0001".into();
        order.currency = pos_domain::Currency::USD;
        usd.order_id = order.id;
    }
    let res = push(&app, &token, vec![usd]).await;
    assert_eq!(
        res.results[0].code.as_deref(),
        Some("currency_mismatch"),
        "{res:?}"
    );
}
