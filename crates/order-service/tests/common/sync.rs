//! Helpers for the sync tests: a quickly retrying client, pairing, staff, and what the
//! service holds (read as the owning role, per tenant).

use super::desk::Desk;
use super::{Tenant, TestApp};
use pos_core::{Pin, RetryPolicy, Session, SyncClient};
use pos_domain::Role;
use serde_json::json;
use std::time::Duration;

/// A client that retries quickly and opens a connection per request (so a test proxy sees
/// every request).
pub fn fast_client() -> SyncClient {
    let policy = RetryPolicy {
        initial: Duration::from_millis(2),
        max: Duration::from_millis(20),
        attempts: 4,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(30),
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.request_timeout)
        .build()
        .unwrap();
    SyncClient::new(policy).unwrap().with_http(http)
}

pub async fn pair(app: &TestApp, t: &Tenant, c: &SyncClient, d: &Desk, owner: &Session, url: &str) {
    let (st, code, _) = app
        .post(&t.owner_token, "/api/v1/devices/pairing-codes", json!({}))
        .await;
    assert_eq!(st, 201);
    c.pair(
        &d.store,
        d.keys.as_ref(),
        owner,
        url,
        code["code"].as_str().unwrap(),
        "",
    )
    .await
    .unwrap();
}

#[derive(Debug, PartialEq, Eq)]
pub struct Central {
    pub orders: i64,
    pub distinct_orders: i64,
    pub deleted: i64,
    pub payments: i64,
    pub paid_minor: i64,
    pub mutations: i64,
}

pub async fn central(app: &TestApp, t: &Tenant) -> Central {
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let mut one = async |q: &str| -> i64 {
        sqlx::query_scalar::<_, i64>(q)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    Central {
        orders: one("SELECT COUNT(*) FROM orders").await,
        distinct_orders: one("SELECT COUNT(DISTINCT id) FROM orders").await,
        deleted: one("SELECT COUNT(*) FROM orders WHERE status = 'deleted'").await,
        payments: one("SELECT COUNT(*) FROM payments").await,
        paid_minor: one("SELECT COALESCE(SUM(amount_minor), 0)::bigint FROM payments").await,
        mutations: one("SELECT COUNT(*) FROM sync_mutations").await,
    }
}

pub async fn central_audit(app: &TestApp, t: &Tenant, device: uuid::Uuid) -> (i64, i64) {
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let r: (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MAX(seq) FROM audit_events WHERE device_id = $1")
            .bind(device)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    (r.0, r.1.unwrap_or(0))
}

/// Staff for a counter: a manager (PIN `mpin`) and a cashier (PIN 1111), the cashier logged in.
pub async fn crew(
    d: &Desk,
    owner: &Session,
    manager: &str,
    mpin: &str,
) -> (pos_core::StaffMember, Session) {
    let s = &d.store;
    let m = s
        .add_staff(owner, manager, Role::Manager, Pin::new(mpin).unwrap())
        .await
        .unwrap();
    let c = s
        .add_staff(
            owner,
            &format!("Kasir {manager}"),
            Role::Cashier,
            Pin::new("1111").unwrap(),
        )
        .await
        .unwrap();
    (m, s.login(c.id, Pin::new("1111").unwrap()).await.unwrap())
}

/// Mutation ids the service has applied for `device`.
pub async fn central_mutation_ids(
    app: &TestApp,
    t: &Tenant,
) -> std::collections::HashSet<uuid::Uuid> {
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    sqlx::query_scalar::<_, uuid::Uuid>("SELECT mutation_id FROM sync_mutations")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// An order as the office sees it through the REST API.
pub async fn central_order(
    app: &TestApp,
    t: &Tenant,
    id: pos_domain::OrderId,
) -> serde_json::Value {
    let (st, order, _) = app
        .get(&t.owner_token, &format!("/api/v1/offline-orders/{id}"))
        .await;
    assert_eq!(st, 200, "{order}");
    order
}

/// Pairs the counter by hand (so the test holds the device token) and returns the service's
/// device id and token.
pub async fn pair_by_hand(
    app: &super::TestApp,
    t: &super::Tenant,
    d: &super::desk::Desk,
    owner: &pos_core::Session,
) -> (uuid::Uuid, String) {
    let (_, code, _) = app
        .post(
            &t.owner_token,
            "/api/v1/devices/pairing-codes",
            serde_json::json!({}),
        )
        .await;
    let staff = d.store.staff_for_pairing(owner).await.unwrap();
    let pair = |currency: &str| serde_json::json!({"code": code["code"], "device_id": d.store.device_id(), "name": "Kasir", "device_code": "K01", "currency": currency, "staff": staff});
    // A counter keeping its books in dollars is refused, and the code is not used up by it.
    let (st, e, _) = app.post("", "/api/v1/devices/pair", pair("USD")).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (409, Some("currency_mismatch")),
        "{e}"
    );
    let (st, paired, _) = app.post("", "/api/v1/devices/pair", pair("IDR")).await;
    assert_eq!(st, 201, "{paired}");
    let (_, tok, _) = app
        .post(
            "",
            "/api/v1/auth/device-token",
            serde_json::json!({"device_id": paired["device_id"], "device_secret": paired["device_secret"]}),
        )
        .await;
    (
        paired["device_id"].as_str().unwrap().parse().unwrap(),
        tok["access_token"].as_str().unwrap().to_owned(),
    )
}

pub async fn push(
    app: &super::TestApp,
    token: &str,
    mutations: Vec<pos_protocol::Mutation>,
) -> pos_protocol::PushResponse {
    let req = pos_protocol::PushRequest {
        mutations,
        audit_events: vec![],
    };
    let (st, body, _) = app
        .post(
            token,
            "/api/v1/sync/push",
            serde_json::to_value(&req).unwrap(),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    serde_json::from_value(body).unwrap()
}
