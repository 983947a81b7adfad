//! A counter converges to the service's state of every order it holds (issue 15, item 6): the
//! office's edits and payments reach it; a central payment that does not fit its stale copy
//! while a change of its own waits leaves the order on the needs-attention list with the
//! service's state (the sync is not "complete"), and arrives once that change is settled.
#![allow(clippy::unwrap_used)]
mod common;

use common::desk::*;
use common::sync::*;
use common::*;
use pos_core::{ApprovalInput, Pin};
use serde_json::json;

async fn office_edit_total(
    app: &TestApp,
    t: &Tenant,
    id: pos_domain::OrderId,
    version: i64,
    price: &str,
) {
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/offline-orders/{id}")))
        .bearer_auth(&t.owner_token)
        .header("If-Match", format!("\"{version}\""))
        .json(&json!({"items": [{"name": "Kulkas besar", "quantity": "1", "unit_price": price}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn the_counter_takes_in_the_offices_edits_payments_and_settles_what_did_not_fit() {
    let app = spawn().await;
    let t = app.tenant("toko-sama").await;
    let (d, owner) = desk().await;
    let (manager, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let s = &d.store;
    let x = s.create_order(&cashier, new_order("Siti")).await.unwrap(); // 1,000,000, 100,000 down
    let y = s.create_order(&cashier, new_order("Budi")).await.unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");

    // At the office: X's total goes to 1,200,000 and 900,000 is paid on it.
    office_edit_total(&app, &t, x.id, 1, "1200000").await;
    let (st, body, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}/payments", x.id),
            json!({"amount": "900000", "method": "bank_transfer"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(r.pulled_changes, 1, "{r:?}");
    let got = s.get_order(&cashier, x.id).await.unwrap();
    assert_eq!(got.total, money(1_200_000));
    assert_eq!(got.paid, money(1_000_000));
    assert_eq!(got.balance, money(200_000));
    assert_eq!(got.version, 2);
    assert_eq!(got.items[0].name, "Kulkas besar");
    assert_eq!(got.payments.len(), 2);
    let central = central_order(&app, &t, x.id).await;
    assert_eq!(central["total"], "1200000");
    assert_eq!(central["paid"], "1000000");
    // nothing more to take in
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(r.pulled_changes, 0, "{r:?}");

    // Offline, the counter takes 900,000 on Y; meanwhile the office takes 900,000 on Y too.
    s.record_payment(&cashier, y.id, cash(900_000))
        .await
        .unwrap();
    let (st, body, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}/payments", y.id),
            json!({"amount": "900000", "method": "cash"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    // the counter's payment is refused (the balance is gone) and the office's does not fit the
    // counter's copy: the two disagree, and the report says so
    assert!(!r.complete, "{r:?}");
    assert_eq!(r.diverging_orders, 1, "{r:?}");
    let list = s.needs_attention(&cashier).await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].code.as_deref(), Some("overpayment"));
    let state = list[0].service_state.clone().unwrap();
    assert_eq!(
        (state.status.as_str(), state.paid),
        ("paid", Some(money(1_000_000)))
    );
    // the manager discards the counter's refused payment: the next sync brings the service's
    s.discard_attention(
        &cashier,
        list[0].mutation_id,
        "dibayar di kantor",
        Some(ApprovalInput {
            approver_id: manager.id,
            pin: Pin::new("2222").unwrap(),
        }),
    )
    .await
    .unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(r.diverging_orders, 0, "{r:?}");
    let got = s.get_order(&cashier, y.id).await.unwrap();
    assert_eq!(got.paid, money(1_000_000));
    assert_eq!(got.status, pos_domain::OrderStatus::Paid);
    // the counter's discarded payment stays as the record, marked as not on the service
    let off: Vec<_> = got.payments.iter().filter(|p| p.not_on_service).collect();
    assert_eq!(off.len(), 1, "{:?}", got.payments);
    assert_eq!(off[0].amount, 900_000.into());
    let counted: rust_decimal::Decimal = got
        .payments
        .iter()
        .filter(|p| !p.not_on_service)
        .map(|p| p.amount)
        .sum();
    assert_eq!(counted, 1_000_000.into());
    let central = central_order(&app, &t, y.id).await;
    assert_eq!(central["paid"], "1000000");
    assert_eq!(central["status"], "paid");
}

/// What a counter cannot take in yet leaves that order deferred and never stops the pull: the
/// office refunds and then lowers a total (paid and total change together here), and a payment
/// refunded on both sides at once waits until the counter's own refund is discarded.
#[tokio::test]
async fn a_change_the_counter_cannot_take_yet_never_stops_the_pull() {
    let app = spawn().await;
    let t = app.tenant("toko-tahan").await;
    let (d, owner) = desk().await;
    let (manager, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let s = &d.store;
    let x = s.create_order(&cashier, new_order("Siti")).await.unwrap();
    let y = s.create_order(&cashier, new_order("Budi")).await.unwrap();
    let x = s
        .record_payment(&cashier, x.id, cash(900_000))
        .await
        .unwrap();
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    let approve = || {
        Some(ApprovalInput {
            approver_id: manager.id,
            pin: Pin::new("2222").unwrap(),
        })
    };

    // the office refunds X's 900,000, then lowers its total to 500,000
    let (st, body, _) = app
        .post(
            &t.owner_token,
            &format!(
                "/api/v1/offline-orders/{}/payments/{}/reversal",
                x.id, x.payments[1].id
            ),
            json!({"reason": "salah harga"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    office_edit_total(&app, &t, x.id, 1, "500000").await;
    // at the same time, Y's down payment is refunded at the counter and at the office
    let y_down = y.payments[0].id;
    s.reverse_payment(&cashier, y.id, y_down, "batal", approve())
        .await
        .unwrap();
    let (st, body, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}/payments/{y_down}/reversal", y.id),
            json!({"reason": "batal"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");

    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.error.is_none(), "{r:?}");
    let got = s.get_order(&cashier, x.id).await.unwrap();
    assert_eq!((got.total, got.paid), (money(500_000), money(100_000)));
    // Y: the counter's refund was refused (the office's came first); they differ until settled
    assert!(!r.complete, "{r:?}");
    assert_eq!(r.diverging_orders, 1, "{r:?}");
    let list = s.needs_attention(&cashier).await.unwrap();
    assert_eq!(
        list[0].code.as_deref(),
        Some("already_reversed"),
        "{list:?}"
    );
    s.discard_attention(&cashier, list[0].mutation_id, "sudah di kantor", approve())
        .await
        .unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");
    let got = s.get_order(&cashier, y.id).await.unwrap();
    assert_eq!(got.paid, money(0));
    let standing: Vec<_> = got.payments.iter().filter(|p| !p.not_on_service).collect();
    assert_eq!(
        standing.len(),
        2,
        "the down payment and the office's refund: {:?}",
        got.payments
    );
    assert_eq!(central_order(&app, &t, y.id).await["paid"], "0");
}
