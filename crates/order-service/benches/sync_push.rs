//! Sync push benchmark: a real desktop store records 1,000 orders (each with its first
//! payment) and at least 5,000 audit events, then pushes them to the real service on
//! loopback (real PostgreSQL, fsync on) in one request. Run with `scripts/bench-service.sh`.
#![allow(clippy::unwrap_used)]
mod support;

use pos_core::KeyStore;
use serde_json::{json, Value};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let orders: usize = std::env::var("BENCH_PUSH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let service = support::service().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = support::keyring();
    let (store, owner) =
        support::filled_store(&dir.path().join("pos.db"), &keys, orders, 5 * orders).await;
    let code = service.pairing_code().await;
    let staff = store.staff_for_pairing(&owner).await.unwrap();
    let paired = service
        .post(
            "/api/v1/devices/pair",
            None,
            json!({"code": code, "device_id": store.device_id(), "name": "Bench", "device_code": "K01", "currency": "IDR", "staff": staff}),
        )
        .await;
    let tok = service
        .post(
            "/api/v1/auth/device-token",
            None,
            json!({"device_id": paired["device_id"], "device_secret": paired["device_secret"]}),
        )
        .await;
    let token = tok["access_token"].as_str().unwrap().to_owned();

    let mutations: Vec<_> = store
        .pending_mutations(100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation)
        .collect();
    let events = store.audit_events_after(0, 100_000).await.unwrap();
    let body = json!({"mutations": mutations, "audit_events": events});
    let bytes = serde_json::to_vec(&body).unwrap().len();
    let t0 = Instant::now();
    let res: Value = service.post("/api/v1/sync/push", Some(&token), body).await;
    let took = t0.elapsed();
    let applied = res["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "applied")
        .count();
    assert_eq!(applied, mutations.len(), "{res}");
    assert_eq!(
        res["audit"]["accepted_through"].as_u64().unwrap(),
        events.len() as u64
    );
    println!("sync push of {orders} orders ({} mutations) + {} audit events, {:.1} MB: {:.2} s (bar < 2 s)", mutations.len(), events.len(), bytes as f64 / 1e6, took.as_secs_f64());
    let _ = keys.delete(&store.device_id().to_string());
}
