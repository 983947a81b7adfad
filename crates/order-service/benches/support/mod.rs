//! Shared by the service benchmarks: a fresh database on the throwaway PostgreSQL that the
//! bench script starts, the real service on a loopback port, and a desktop store filled with
//! a day of orders.
#![allow(dead_code, clippy::unwrap_used)]

use order_service::{admin, auth::JwtKeys, AppState};
use pos_core::{KeyringBackend, ListQuery, OsKeyring, Pin, SetupInput, Store, SystemClock};
use pos_crypto::{FieldCipher, MasterKey};
use pos_domain::{Channel, Customer, Interval, ItemInput, PaymentMethod, PaymentTerms};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Executor;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

pub const OWNER_PIN: &str = "135790";

pub struct Service {
    pub base: String,
    pub owner_pool: sqlx::PgPool,
    pub tenant: uuid::Uuid,
    http: reqwest::Client,
}

/// A new database, migrated, with tenant `bench`, served on a loopback port.
pub async fn service() -> Service {
    service_with(|s| s).await
}

/// [`service`] with its state changed by `f` first (e.g. serving the office's files).
pub async fn service_with(f: impl FnOnce(AppState) -> AppState) -> Service {
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
    order_service::db::migrate(&owner_pool).await.unwrap();
    let app_pool = PgPoolOptions::new()
        .max_connections(20)
        .connect_with(conn("order_service_app"))
        .await
        .unwrap();
    let cipher = Arc::new(FieldCipher::new(&MasterKey::generate()));
    let jwt = JwtKeys::new(b"bench-secret-bench-secret-bench-secret-00");
    let tenant = admin::create_tenant(
        &owner_pool,
        &cipher,
        admin::NewTenant {
            slug: "bench",
            name: "Bench",
            currency: pos_domain::Currency::IDR,
            time_zone: pos_domain::ShopZone::DEFAULT,
            phone_country_code: pos_domain::CountryCode::INDONESIA,
            owner_name: "Owner",
            owner_email: "owner@bench.id",
            owner_password: "bench password 1",
        },
    )
    .await
    .unwrap()
    .tenant_id;
    let state = f(AppState::new(app_pool, cipher, jwt));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(order_service::serve(listener, state));
    Service {
        base,
        owner_pool,
        tenant,
        http: reqwest::Client::new(),
    }
}

impl Service {
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut r = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap().json().await.unwrap()
    }

    pub async fn owner_token(&self) -> String {
        let v = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"tenant": "bench", "email": "owner@bench.id", "password": "bench password 1"}),
            )
            .await;
        v["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn pairing_code(&self) -> String {
        let token = self.owner_token().await;
        let v = self
            .post("/api/v1/devices/pairing-codes", Some(&token), json!({}))
            .await;
        v["code"].as_str().unwrap().to_owned()
    }

    /// One figure from the tenant's tables.
    pub async fn count(&self, sql: &str) -> i64 {
        let mut tx =
            order_service::db::tenant_tx(&self.owner_pool, &Default::default(), self.tenant)
                .await
                .unwrap();
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }
}

pub fn keyring() -> OsKeyring {
    OsKeyring::new(
        format!("offline-order-pos-bench-{}", uuid::Uuid::now_v7()),
        KeyringBackend::native(),
    )
}

/// A counter's store at `path` with `orders` orders (three items, installments, the down
/// payment taken: two mutations each) and at least `events` audit events.
pub async fn filled_store(
    path: &Path,
    keys: &OsKeyring,
    orders: usize,
    events: usize,
) -> (Store, pos_core::Session) {
    let store = Store::open(path, keys, Arc::new(SystemClock))
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
            Pin::new(OWNER_PIN).unwrap(),
        )
        .await
        .unwrap();
    let m = |v: i64| pos_domain::Currency::IDR.from_minor(v);
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
    // lists are audited (ACCESS): read until the chain is long enough
    let mut have = store.audit_events_after(0, u32::MAX).await.unwrap().len();
    while have < events {
        store
            .list_orders(
                &owner,
                ListQuery {
                    limit: Some(1),
                    ..ListQuery::default()
                },
            )
            .await
            .unwrap();
        have += 1;
    }
    (store, owner)
}
