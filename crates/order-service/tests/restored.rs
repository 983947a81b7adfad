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

/// Issue 20: a paired counter loses its disk and its keyring; its owner restores the last
/// backup (taken before some of its orders and payments reached the service) on a new machine
/// with the recovery passphrase. The restore brings back what the counter synced after the
/// backup, its audit chain goes on unforked, its numbering goes on past every number it gave,
/// and after a sync every order is on the service and on the counter exactly once.
#[tokio::test]
async fn a_paired_counter_restored_from_its_backup_gets_back_what_it_synced_and_doubles_nothing() {
    use pos_core::backup::{BackupConfig, BackupReason};
    use pos_core::{KeyStore, OsKeyring, Store};
    const PASSPHRASE: &str = "frasa sandi toko pulih";
    let clock = TestClock::at("2027-05-04T03:00:00Z");
    let sc = clock.clone();
    let app = spawn_with_state(move |s| s.with_clock(sc)).await;
    let t = app.tenant("toko-cadangan").await;
    let (d, owner) = desk_on("K01", clock.clone()).await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    let proxy =
        common::proxy::Proxy::start(app.base.trim_start_matches("http://").parse().unwrap()).await;
    pair(&app, &t, &c, &d, &owner, &proxy.url()).await;
    let today = day("2027-05-04");
    let s = &d.store;
    // A reaches the service before the backup; B is recorded before it and synced after.
    let a = s
        .create_order(&cashier, new_order_on("Siti", today))
        .await
        .unwrap();
    c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    let b = s
        .create_order(&cashier, new_order_on("Budi", today))
        .await
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    s.set_recovery_passphrase(&owner, PASSPHRASE, d.keys.as_ref())
        .await
        .unwrap();
    s.save_backup_config(
        &owner,
        BackupConfig {
            folder: Some(folder.path().to_str().unwrap().to_owned()),
            keep: 3,
        },
    )
    .await
    .unwrap();
    clock.set("2027-05-04T03:05:00Z");
    let backup = s
        .backup(Some(&owner), d.keys.as_ref(), BackupReason::OnDemand)
        .await
        .unwrap();
    // After the backup: C is recorded, A takes a payment, and all of it is synced.
    clock.set("2027-05-04T03:10:00Z");
    let c_order = s
        .create_order(&cashier, new_order_on("Citra", today))
        .await
        .unwrap();
    s.record_payment(&cashier, a.id, cash(300_000))
        .await
        .unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete && r.audit_refused.is_none(), "{r:?}");

    // The disk and the keyring are gone. A new machine, its keyring empty, restores.
    clock.set("2027-05-04T03:12:00Z");
    let machine = tempfile::tempdir().unwrap();
    let path = machine.path().join("pos.db");
    let keys = OsKeyring::new(
        format!("offline-order-pos-test-{}", uuid::Uuid::now_v7()),
        d.keys.backend(),
    );
    let fresh = Store::open(&path, &keys, clock.clone()).await.unwrap();
    let fresh_id = fresh.device_id();
    let file = folder.path().join(&backup.file_name);
    // The service must be reachable for a paired counter's restore: not staged without it,
    // and nothing is left of the attempt.
    proxy.plan(std::iter::repeat_n(common::proxy::Fault::Error500, 4));
    let err = fresh
        .stage_restore(&file, PASSPHRASE, &keys, &fast_client())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "restore_needs_service", "{err}");
    assert!(!fresh.restore_staged());
    assert!(keys.load(&s.device_id().to_string()).unwrap().is_none());
    let leftovers: Vec<_> = std::fs::read_dir(machine.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("restore"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // With the service back, it is.
    proxy.plan([]);
    fresh
        .stage_restore(&file, PASSPHRASE, &keys, &fast_client())
        .await
        .unwrap();
    fresh.close().await;
    let _ = keys.delete(&fresh_id.to_string());
    let restored = Store::open(&path, &keys, clock.clone()).await.unwrap();
    assert_eq!(restored.device_id(), s.device_id());
    let cashier = restored
        .login(cashier.staff_id(), Pin::new("1111").unwrap())
        .await
        .unwrap();
    // A with its later payment, B, and C (recorded after the backup) are all here.
    for (o, paid) in [(&a, 400_000), (&b, 100_000), (&c_order, 100_000)] {
        let local = restored.get_order(&cashier, o.id).await.unwrap();
        assert_eq!(local.order_number, o.order_number);
        assert_eq!(local.paid, money(paid), "{}", o.order_number);
    }
    // The next number goes on past C's.
    let e = restored
        .create_order(&cashier, new_order_on("Eka", today))
        .await
        .unwrap();
    assert_eq!(e.order_number, "K01-20270504-0004");
    // A sync settles everything: B's create again (already there), E; the chain is accepted.
    let c2 = fast_client();
    let r = c2.sync(&restored, &keys, &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(r.needs_attention.count, 0, "{r:?}");
    assert_eq!(r.still_pending.count, 0, "{r:?}");
    assert!(r.audit_refused.is_none(), "{r:?}");
    let owner_r = restored
        .login(owner.staff_id(), Pin::new("135790").unwrap())
        .await
        .unwrap();
    assert!(restored.verify_audit_chain(&owner_r).await.unwrap().ok);
    let (st, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!((st, &v["ok"]), (200, &serde_json::json!(true)), "{v}");
    // Every order exactly once on the service, as on the counter.
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let central: Vec<(uuid::Uuid, String, i64)> =
        sqlx::query_as("SELECT id, order_number, paid_minor FROM orders ORDER BY order_number")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    let payments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    drop(tx);
    assert_eq!(central.len(), 4, "{central:?}");
    assert_eq!(payments, 5, "four down payments and A's second");
    for (id, number, paid) in &central {
        let local = restored
            .get_order(&cashier, pos_domain::OrderId(*id))
            .await
            .unwrap();
        assert_eq!(&local.order_number, number);
        assert_eq!(local.paid, money(*paid), "{number}");
    }
    let _ = keys.delete(&restored.device_id().to_string());
    let _ = keys.delete(&format!("{}.sync", restored.device_id()));
}
