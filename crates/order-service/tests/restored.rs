//! A counter restored from a backup, and counters' clocks (issue 15, item 7): no order number
//! is ever given twice in a tenant and no collision stops an order (the service renumbers, the
//! counter adopts and keeps its own as a reference); a restored counter's forked audit chain is
//! found at its first differing event; a counter's hybrid logical clock moves past the service
//! time it sees; a counter's claimed time in the future is kept beside the service's own.
#![allow(clippy::unwrap_used)]
mod common;

use common::desk::*;
use common::sync::*;
use common::*;
use pos_core::Pin;

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_restored_counter_never_reuses_a_number_and_its_fork_is_found() {
    let clock = TestClock::at("2027-05-04T03:00:00Z");
    let sc = clock.clone();
    let app = spawn_with_state(move |s| s.with_clock(sc)).await;
    let t = app.tenant("toko-pulih").await;
    let (d, owner) = desk_on("K01", clock.clone()).await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let today = day("2027-05-04");
    let s = &d.store;
    let a1 = s
        .create_order(&cashier, new_order_on("Siti", today))
        .await
        .unwrap();
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    let backup = tempfile::tempdir().unwrap();
    let backup = backup.path().join("backup.db");
    d.backup(&backup).await;
    let a2 = s
        .create_order(&cashier, new_order_on("Budi", today))
        .await
        .unwrap();
    assert_eq!(a2.order_number, "K01-20270504-0002");
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");

    // The counter's disk fails; it is restored from the backup taken before its last order.
    let restored = d.restored_from(&backup, clock.clone()).await;
    let rs = &restored.store;
    let cashier = rs
        .login(cashier.staff_id(), Pin::new("1111").unwrap())
        .await
        .unwrap();
    let a3 = rs
        .create_order(&cashier, new_order_on("Dewi", today))
        .await
        .unwrap();
    assert_eq!(
        a3.order_number, a2.order_number,
        "the restored counter gives the number again"
    );
    let c2 = fast_client();
    let r = c2.sync(rs, restored.keys.as_ref(), &|_| {}).await.unwrap();
    // the order reached the service under a new number, and nothing waits
    assert_eq!(r.needs_attention.count, 0, "{r:?}");
    assert_eq!(r.still_pending.count, 0, "{r:?}");
    let central = central_order(&app, &t, a3.id).await;
    assert_eq!(central["order_number"], "K01-20270504-R001", "{central}");
    assert_eq!(central["counter_number"], "K01-20270504-0002", "{central}");
    assert_eq!(
        central_order(&app, &t, a2.id).await["order_number"],
        "K01-20270504-0002"
    );
    assert_eq!(
        central_order(&app, &t, a1.id).await["order_number"],
        "K01-20270504-0001"
    );
    // the counter adopted it, and keeps its own number as the reference on the receipt
    let local = rs.get_order(&cashier, a3.id).await.unwrap();
    assert_eq!(local.order_number, "K01-20270504-R001");
    assert_eq!(local.counter_number.as_deref(), Some("K01-20270504-0002"));
    // after a restart it goes on from its own numbers, the renumbered one included
    let mut restored = restored;
    restored.reopen(clock.clone()).await;
    let cashier = restored
        .store
        .login(cashier.staff_id(), Pin::new("1111").unwrap())
        .await
        .unwrap();
    let a4 = restored
        .store
        .create_order(&cashier, new_order_on("Fajar", today))
        .await
        .unwrap();
    assert_eq!(a4.order_number, "K01-20270504-0003");
    // its audit chain forked from the one the service holds: found, and said
    let refused = r.audit_refused.clone().unwrap_or_default();
    assert!(refused.contains("fork"), "{r:?}");
    // the API's own series is the API's: no counter may take its code, and it goes on
    let (_, code, _) = app
        .post(
            &t.owner_token,
            "/api/v1/devices/pairing-codes",
            serde_json::json!({}),
        )
        .await;
    let (st, e, _) = app
        .post(
            "",
            "/api/v1/devices/pair",
            serde_json::json!({"code": code["code"], "name": "x", "device_code": "api", "currency": "IDR"}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (422, Some("device_code_reserved")),
        "{e}"
    );
    let (st, api, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Eka", "08121112222"),
        )
        .await;
    assert_eq!(st, 201, "{api}");
}

#[tokio::test]
async fn clocks_the_counters_hlc_passes_the_service_and_a_future_claim_is_not_believed() {
    // The service's clock is right; the counter's runs two days fast.
    let service_clock = TestClock::at("2027-05-04T03:00:00Z");
    let sc = service_clock.clone();
    let app = spawn_with_state(move |s| s.with_clock(sc)).await;
    let t = app.tenant("toko-jam").await;
    let counter_clock = TestClock::at("2027-05-06T03:00:00Z");
    let (d, owner) = desk_on("K01", counter_clock.clone()).await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let s = &d.store;
    let o = s
        .create_order(&cashier, new_order_on("Siti", day("2027-05-06")))
        .await
        .unwrap();
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let (created, claimed, received): (
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    ) = sqlx::query_as(
        "SELECT created_at, claimed_created_at, received_at FROM orders WHERE id = $1",
    )
    .bind(o.id.0)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    drop(tx);
    assert_eq!(claimed, o.created_at, "the counter's claim is kept");
    assert_eq!(received.to_rfc3339(), "2027-05-04T03:00:00+00:00");
    assert_eq!(created, received, "a time two days ahead is not believed");

    // Another counter's clock runs an hour slow and never ran fast: after a sync, its next
    // change orders after the service time it saw, also across a restart.
    let slow_clock = TestClock::at("2027-05-04T02:05:00Z");
    let (mut slow, slow_owner) = desk_on("K02", slow_clock.clone()).await;
    let (_, slow_cashier) = crew(&slow, &slow_owner, "Bu Rina", "3333").await;
    let c2 = fast_client();
    pair(&app, &t, &c2, &slow, &slow_owner, &app.base).await;
    service_clock.set("2027-05-04T03:05:00Z");
    c2.sync(&slow.store, slow.keys.as_ref(), &|_| {})
        .await
        .unwrap();
    let server_ms = "2027-05-04T03:05:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp_millis();
    slow.reopen(slow_clock.clone()).await;
    let slow_cashier = slow
        .store
        .login(slow_cashier.staff_id(), pos_core::Pin::new("1111").unwrap())
        .await
        .unwrap();
    slow.store
        .create_order(&slow_cashier, new_order_on("Eka", day("2027-05-04")))
        .await
        .unwrap();
    let first = slow.store.pending_mutations(10).await.unwrap().remove(0);
    assert!(
        first.mutation.hlc.wall_ms >= server_ms,
        "{:?}",
        first.mutation.hlc
    );
    let _ = (o, cashier);
}
