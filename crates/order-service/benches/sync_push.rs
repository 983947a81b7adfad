//! Sync push benchmark: a real desktop store records 1,000 orders (each with its first
//! payment) and at least 5,000 audit events, then pushes them to the real service on
//! loopback (real PostgreSQL, fsync on). Run with `scripts/bench-service.sh`.
#![allow(clippy::unwrap_used)]

use order_service::{admin, auth::JwtKeys, AppState};
use pos_core::{
    KeyStore, KeyringBackend, ListQuery, OsKeyring, Pin, SetupInput, Store, SystemClock,
};
use pos_crypto::{FieldCipher, MasterKey};
use pos_domain::{Channel, Customer, Interval, ItemInput, Money, PaymentMethod, PaymentTerms};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Executor;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let orders: usize = std::env::var("BENCH_PUSH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let pg = std::env::var("ORDER_SERVICE_TEST_PG").expect("run through scripts/bench-service.sh");
    let su = PgPoolOptions::new()
        .max_connections(1)
        .connect(&pg)
        .await
        .unwrap();
    let db = format!("bench_{}", uuid::Uuid::new_v4().simple());
    su.execute(format!("CREATE DATABASE {db} OWNER order_service_owner").as_str())
        .await
        .unwrap();
    let conn = |user: &str| {
        PgConnectOptions::from_str(&pg)
            .unwrap()
            .username(user)
            .database(&db)
    };
    let owner_pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(conn("order_service_owner"))
        .await
        .unwrap();
    order_service::db::MIGRATOR.run(&owner_pool).await.unwrap();
    let app_pool = PgPoolOptions::new()
        .max_connections(20)
        .connect_with(conn("order_service_app"))
        .await
        .unwrap();
    let cipher = Arc::new(FieldCipher::new(&MasterKey::generate()));
    let jwt = JwtKeys::new(b"bench-secret-bench-secret-bench-secret-00");
    admin::create_tenant(
        &owner_pool,
        &cipher,
        admin::NewTenant {
            slug: "bench",
            name: "Bench",
            currency: pos_domain::Currency::IDR,
            owner_name: "Owner",
            owner_email: "owner@bench.id",
            owner_password: "bench password 1",
        },
    )
    .await
    .unwrap();
    let state = AppState {
        pool: app_pool,
        cipher,
        jwt: Arc::new(jwt),
        metrics: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(order_service::serve(listener, state));
    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut r = http.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };

    // the counter's day
    let dir = tempfile::tempdir().unwrap();
    let keys = OsKeyring::new(
        format!("offline-order-pos-bench-{}", uuid::Uuid::now_v7()),
        KeyringBackend::SecretService,
    );
    let store = Store::open(&dir.path().join("pos.db"), &keys, Arc::new(SystemClock))
        .await
        .unwrap();
    let owner = store
        .setup(
            SetupInput {
                shop_name: "Bench".into(),
                currency: pos_domain::Currency::IDR,
                owner_name: "Owner".into(),
                device_code: Some("K01".into()),
                phone_country_code: None,
                utc_offset_minutes: Some(420),
            },
            Pin::new("135790").unwrap(),
        )
        .await
        .unwrap();
    let m = |v: i64| Money(rust_decimal::Decimal::from(v));
    let today = chrono::Utc::now().date_naive();
    for i in 0..orders {
        store
            .create_order(
                &owner,
                pos_core::NewOrder {
                    id: None,
                    channel: Channel::Phone,
                    customer: Customer {
                        name: format!("Pelanggan {i}"),
                        phone: Some(format!("0812{i:08}")),
                        email: None,
                        address: None,
                    },
                    items: (0..3)
                        .map(|k| ItemInput {
                            name: format!("Barang {k}"),
                            sku: None,
                            quantity: 1.into(),
                            unit_price: m(10_000),
                            discount: None,
                        })
                        .collect(),
                    discount: None,
                    notes: None,
                    payment_terms: PaymentTerms::Installment {
                        down_payment: Some(m(3_000)),
                        installment_count: 3,
                        interval: Interval::Monthly,
                        first_due_date: today + chrono::Days::new(30),
                    },
                    initial_payment: Some(pos_core::PaymentInput {
                        id: None,
                        amount: m(3_000),
                        method: PaymentMethod::Cash,
                        reference: None,
                    }),
                },
            )
            .await
            .unwrap();
    }
    while store.audit_events_after(0, 100_000).await.unwrap().len() < 5 * orders {
        store
            .list_orders(&owner, ListQuery::default())
            .await
            .unwrap();
    }
    let owner_token: Value = post(
        "/api/v1/auth/login",
        None,
        json!({"tenant": "bench", "email": "owner@bench.id", "password": "bench password 1"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let owner_token = owner_token["access_token"].as_str().unwrap().to_owned();
    let code: Value = post(
        "/api/v1/devices/pairing-codes",
        Some(&owner_token),
        json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let staff = store.staff_for_pairing(&owner).await.unwrap();
    let paired: Value = post("/api/v1/devices/pair", None, json!({"code": code["code"], "device_id": store.device_id(), "name": "Bench", "device_code": "K01", "staff": staff})).await.unwrap().json().await.unwrap();
    let tok: Value = post(
        "/api/v1/auth/device-token",
        None,
        json!({"device_id": paired["device_id"], "device_secret": paired["device_secret"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
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
    let res: Value = post("/api/v1/sync/push", Some(&token), body)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
