//! End-of-day sync benchmark: a counter's day of 10,000 orders (20,000 mutations) and 50,000
//! audit events, synced by the real client (pos-core's `SyncClient`, batches of 500) to the
//! real service over loopback (real PostgreSQL, fsync on). Then the same day again, into a
//! second service, with the sync killed halfway and resumed: nothing doubled.
//! Run with `scripts/bench-service.sh` (`BENCH_EOD_ORDERS` for a smaller day).
#![allow(clippy::unwrap_used)]
mod support;

use pos_core::{KeyStore, Pin, RetryPolicy, Store, SyncClient, SyncProgress, SystemClock};
use std::sync::Arc;
use std::time::Instant;

async fn check(service: &support::Service, device: uuid::Uuid, orders: i64, events: i64) {
    let got = (
        service.count("SELECT COUNT(*) FROM orders").await,
        service.count("SELECT COUNT(*) FROM payments").await,
        service.count("SELECT COUNT(*) FROM sync_mutations").await,
        service
            .count(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE device_id = '{device}'"
            ))
            .await,
    );
    assert_eq!(got, (orders, orders, 2 * orders, events), "exactly once");
}

#[tokio::main]
async fn main() {
    let orders: usize = std::env::var("BENCH_EOD_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let events = 5 * orders;
    let dir = tempfile::tempdir().unwrap();
    let keys = support::keyring();
    let first = dir.path().join("first.db");
    let t = Instant::now();
    let (store, _) = support::filled_store(&first, &keys, orders, events).await;
    let device = store.device_id();
    store.close().await;
    // A copy through SQLite (`VACUUM INTO`), consistent whatever the file's WAL holds. (One run
    // with a plain file copy opened as "database disk image is malformed"; not reproduced, and
    // a closed store leaves no WAL — `a_closed_store_is_whole_without_its_wal` in pos-core.)
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect_with(
            &sqlx::sqlite::SqliteConnectOptions::new().filename(&first),
        )
        .await
        .unwrap();
        sqlx::query("VACUUM INTO ?")
            .bind(dir.path().join("second.db").to_str().unwrap())
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    eprintln!("filled the counter in {:.1} s", t.elapsed().as_secs_f64());

    // 1. one uninterrupted end-of-day sync
    let a = support::service().await;
    let (store, client) = paired(&first, &keys, &a).await;
    let chain = store.audit_events_after(0, u32::MAX).await.unwrap().len();
    let t0 = Instant::now();
    let r = client.sync(&store, &keys, &|_| {}).await.unwrap();
    let whole = t0.elapsed();
    assert!(r.complete && r.error.is_none(), "{r:?}");
    assert_eq!(r.pushed.count as usize, 2 * orders);
    assert!(r.audit_events_pushed as usize >= events);
    check(&a, device, orders as i64, chain as i64).await;
    let central_events = a
        .count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE device_id = '{device}'"
        ))
        .await;
    println!(
        "end-of-day sync of {orders} orders ({} mutations) + {} audit events: {:.2} s (bar < 30 s)",
        r.pushed.count,
        central_events,
        whole.as_secs_f64()
    );
    Arc::try_unwrap(store).unwrap().close().await;

    // 2. the same day into another service, the sync killed halfway, then resumed
    let b = support::service().await;
    let (store, client) = paired(&dir.path().join("second.db"), &keys, &b).await;
    let half = Arc::new(tokio::sync::Notify::new());
    let (s, c, h) = (store.clone(), client.clone(), half.clone());
    let keys2 = keys.clone();
    let t1 = Instant::now();
    let first_half = tokio::spawn(async move {
        let notify = move |p: SyncProgress| {
            if p.done * 2 >= p.total {
                h.notify_one();
            }
        };
        c.sync(&s, &keys2, &notify).await
    });
    half.notified().await;
    first_half.abort(); // the client dies mid-sync (whatever request was in flight is lost)
    let _ = first_half.await;
    let killed_at = t1.elapsed();
    let settled = store.sync_status().await.unwrap().pending;
    let r = client.sync(&store, &keys, &|_| {}).await.unwrap();
    let total = t1.elapsed();
    assert!(r.complete && r.error.is_none(), "{r:?}");
    check(&b, device, orders as i64, chain as i64).await;
    println!(
        "killed at {:.2} s with {settled} mutations still queued, resumed: {:.2} s in all; on resume {} pushed, {} already there (sent before the kill, answer lost), 0 doubled",
        killed_at.as_secs_f64(),
        total.as_secs_f64(),
        r.pushed.count,
        r.already_there.count
    );
    let _ = keys.delete(&device.to_string());
    let _ = keys.delete(&format!("{device}.sync"));
}

/// Opens the counter's store at `path` and pairs it with `service` (as its owner).
async fn paired(
    path: &std::path::Path,
    keys: &pos_core::OsKeyring,
    service: &support::Service,
) -> (Arc<Store>, Arc<SyncClient>) {
    let store = Arc::new(
        Store::open(path, keys, Arc::new(SystemClock))
            .await
            .unwrap(),
    );
    let owner = store
        .login(
            owner_id(&store).await,
            Pin::new(support::OWNER_PIN).unwrap(),
        )
        .await
        .unwrap();
    let client = Arc::new(SyncClient::new(RetryPolicy::default()).unwrap());
    let code = service.pairing_code().await;
    client
        .pair(&store, keys, &owner, &service.base, &code, "Bench")
        .await
        .unwrap();
    (store, client)
}

async fn owner_id(store: &Store) -> pos_domain::StaffId {
    store
        .list_staff()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.role == pos_domain::Role::Owner)
        .unwrap()
        .id
}
