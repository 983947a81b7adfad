//! Test harness: a fresh database per test on the throwaway PostgreSQL that `scripts/test.sh`
//! starts (`ORDER_SERVICE_TEST_PG`, a superuser URL), migrated as the owning role, and the
//! real service on a loopback port connected as the runtime role.
#![allow(dead_code, clippy::unwrap_used)]

pub mod desk;
pub mod pgcut;
pub mod proxy;
pub mod sync;

use order_service::admin::{create_tenant, NewTenant};
use order_service::auth::JwtKeys;
use order_service::AppState;
use pos_crypto::{FieldCipher, MasterKey};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};
use std::str::FromStr;
use std::sync::Arc;
use uuid::Uuid;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const OWNER: &str = "order_service_owner";
pub const RUNTIME: &str = "order_service_app";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub owner_pool: PgPool,
    pub app_pool: PgPool,
    pub cipher: Arc<FieldCipher>,
    pub db: String,
    /// The service's data key (base64), for a service process started by a test.
    pub data_key: String,
}

fn pg_url() -> String {
    std::env::var("ORDER_SERVICE_TEST_PG")
        .expect("ORDER_SERVICE_TEST_PG is not set: run the tests through scripts/test.sh, which starts PostgreSQL")
}

/// The test server's address (it listens on loopback TCP).
pub fn pg_addr() -> std::net::SocketAddr {
    let o = PgConnectOptions::from_str(&pg_url()).unwrap();
    let host = match o.get_host() {
        "localhost" => "127.0.0.1",
        h => h,
    };
    format!("{host}:{}", o.get_port()).parse().unwrap()
}

/// The test server's connect options for `user` on `db`.
fn options_as(user: &str, db: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(&pg_url())
        .unwrap()
        .username(user)
        .database(db)
}

async fn pool_as(user: &str, db: &str) -> PgPool {
    pool_with(options_as(user, db)).await
}

async fn pool_with(opts: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(10)
        .connect_with(opts)
        .await
        .unwrap()
}

pub async fn spawn() -> TestApp {
    spawn_with_runtime_options(|o| o).await
}

/// Like [`spawn`], with the service's (runtime role's) connect options changed by `f` — to
/// reach PostgreSQL through a proxy, say.
pub async fn spawn_with_runtime_options(
    f: impl FnOnce(PgConnectOptions) -> PgConnectOptions,
) -> TestApp {
    spawn_with(f, |s| s).await
}

/// Like [`spawn`], with the service's state changed by `state` before it serves (a lower sync
/// body limit, say).
pub async fn spawn_with_state(state: impl FnOnce(AppState) -> AppState) -> TestApp {
    spawn_with(|o| o, state).await
}

async fn spawn_with(
    f: impl FnOnce(PgConnectOptions) -> PgConnectOptions,
    state: impl FnOnce(AppState) -> AppState,
) -> TestApp {
    let su = PgPoolOptions::new()
        .max_connections(1)
        .connect(&pg_url())
        .await
        .unwrap();
    for role in [
        format!("CREATE ROLE {OWNER} LOGIN"),
        format!("CREATE ROLE {RUNTIME} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
    ] {
        su.execute(format!("DO $$ BEGIN {role}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$").as_str()).await.unwrap();
    }
    let db = format!("t_{}", Uuid::new_v4().simple());
    su.execute(format!("CREATE DATABASE {db} OWNER {OWNER}").as_str())
        .await
        .unwrap();
    su.close().await;
    let owner_pool = pool_as(OWNER, &db).await;
    order_service::db::migrate(&owner_pool).await.unwrap();
    let app_pool = pool_with(f(options_as(RUNTIME, &db))).await;
    let key = MasterKey::generate();
    let data_key = key.to_base64().to_string();
    let cipher = Arc::new(FieldCipher::new(&key));
    let base = serve_with(&app_pool, &cipher, state).await;
    TestApp {
        base,
        http: reqwest::Client::new(),
        owner_pool,
        app_pool,
        cipher,
        db,
        data_key,
    }
}

/// Serves a fresh service state (its own order-number blocks and audit chains) over `pool` on
/// a loopback port; returns its base URL.
async fn serve(pool: &PgPool, cipher: &Arc<FieldCipher>) -> String {
    serve_with(pool, cipher, |s| s).await
}

async fn serve_with(
    pool: &PgPool,
    cipher: &Arc<FieldCipher>,
    f: impl FnOnce(AppState) -> AppState,
) -> String {
    let mut state = AppState::new(
        pool.clone(),
        cipher.clone(),
        JwtKeys::new(JWT_SECRET.as_bytes()),
    );
    // Every test's requests come from one loopback address, dozens of logins a second: the
    // production limits would refuse them. The tests of the limits set them back.
    state.limits = relaxed_limits();
    let state = f(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { order_service::serve(listener, state).await });
    base
}

pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub owner_token: String,
}

impl TestApp {
    /// A second service process's worth of state (its own order-number blocks and audit
    /// chains) serving the same database on another port, as when two instances run.
    pub async fn another_instance(&self) -> TestApp {
        TestApp {
            base: serve(&self.app_pool, &self.cipher).await,
            http: self.http.clone(),
            owner_pool: self.owner_pool.clone(),
            app_pool: self.app_pool.clone(),
            cipher: self.cipher.clone(),
            db: self.db.clone(),
            data_key: self.data_key.clone(),
        }
    }

    /// The runtime role's URL for this test's database.
    pub fn runtime_url(&self) -> String {
        let mut u = reqwest::Url::parse(&pg_url()).unwrap();
        u.set_username(RUNTIME).unwrap();
        u.set_path(&format!("/{}", self.db));
        u.to_string()
    }

    /// The service's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn tenant(&self, slug: &str) -> Tenant {
        self.tenant_in(slug, pos_domain::CountryCode::INDONESIA)
            .await
    }

    /// A tenant whose customers' national phone numbers are in country `code`.
    pub async fn tenant_in(&self, slug: &str, code: pos_domain::CountryCode) -> Tenant {
        let created = create_tenant(
            &self.owner_pool,
            &self.cipher,
            NewTenant {
                slug,
                name: "Toko",
                currency: pos_domain::Currency::IDR,
                time_zone: pos_domain::ShopZone::DEFAULT,
                phone_country_code: code,
                owner_name: "Ibu Owner",
                owner_email: &format!("owner@{slug}.id"),
                owner_password: "correct horse battery",
            },
        )
        .await
        .unwrap();
        let token = self
            .login(slug, &format!("owner@{slug}.id"), "correct horse battery")
            .await;
        Tenant {
            id: created.tenant_id,
            slug: slug.into(),
            owner_token: token,
        }
    }

    pub async fn login(&self, tenant: &str, email: &str, password: &str) -> String {
        let r = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"tenant": tenant, "email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login failed");
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A staff member inserted directly (the users endpoint is not built yet) and logged in.
    pub async fn staff(&self, t: &Tenant, role: &str) -> String {
        let id = Uuid::now_v7();
        let email = format!("{role}-{}@{}.id", id.simple(), t.slug);
        let hash = pos_crypto::password::hash(b"staff password 1").unwrap();
        let mut tx = order_service::db::tenant_tx(&self.owner_pool, &Default::default(), t.id)
            .await
            .unwrap();
        sqlx::query("INSERT INTO users (tenant_id, id, name, email, email_index, role, password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(t.id)
            .bind(id)
            .bind(format!("Staff {role}"))
            .bind(self.cipher.encrypt_str(&email, pos_crypto::Aad { table: "users", record_id: &id.to_string(), field: "email" }))
            .bind(self.cipher.blind_index("user_email", &email))
            .bind(role)
            .bind(hash)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        self.login(&t.slug, &email, "staff password 1").await
    }

    pub async fn post(
        &self,
        token: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        split(r).await
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        split(r).await
    }

    pub async fn patch(
        &self,
        token: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = self
            .http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        split(r).await
    }

    pub async fn delete(
        &self,
        token: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = self
            .http
            .delete(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        split(r).await
    }
}

pub async fn split(r: reqwest::Response) -> (u16, Value, reqwest::header::HeaderMap) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if status >= 400 {
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "every error is problem+json: {body}"
        );
        assert!(body["code"].is_string(), "{body}");
    }
    (status, body, headers)
}

pub fn order_body(name: &str, phone: &str) -> Value {
    json!({
        "channel": "phone",
        "customer": {"name": name, "phone": phone},
        "items": [
            {"name": "Kulkas", "quantity": "1", "unit_price": "700000"},
            {"name": "Rak", "quantity": "2", "unit_price": "100000"},
            {"name": "Kabel", "quantity": "1", "unit_price": "100000"}
        ],
        "payment_terms": {"type": "installment", "down_payment": "100000", "installment_count": 3, "interval": "monthly", "first_due_date": "2099-01-31"},
        "initial_payment": {"method": "cash", "amount": "100000"}
    })
}

/// Refund before delete, as the office does it: every payment still standing on the order is
/// reversed through the API by `token` (an owner or manager), so the order may be deleted.
pub async fn refund_all(app: &TestApp, token: &str, order_id: &str) {
    let (st, order, _) = app
        .get(token, &format!("/api/v1/offline-orders/{order_id}"))
        .await;
    assert_eq!(st, 200, "{order}");
    let payments = order["payments"].as_array().unwrap().clone();
    let reversed: Vec<&str> = payments
        .iter()
        .filter_map(|p| p["reverses"].as_str())
        .collect();
    for p in &payments {
        let id = p["id"].as_str().unwrap();
        if p["reverses"].is_null() && !reversed.contains(&id) {
            let (st, body, _) = app
                .post(
                    token,
                    &format!("/api/v1/offline-orders/{order_id}/payments/{id}/reversal"),
                    json!({"reason": "refund before delete"}),
                )
                .await;
            assert_eq!(st, 201, "{body}");
        }
    }
}

/// Rate limits no test's own traffic reaches.
pub fn relaxed_limits() -> order_service::limits::RateLimits {
    let q = order_service::limits::Quota {
        burst: 100_000,
        every: std::time::Duration::from_millis(1),
    };
    order_service::limits::RateLimits {
        login: q,
        pairing: q,
        device_token: q,
        trust_forwarded: false,
    }
}

/// A clock a test sets and moves (for the service and the counters alike).
#[derive(Debug)]
pub struct TestClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl TestClock {
    pub fn at(t: &str) -> Arc<TestClock> {
        Arc::new(TestClock(std::sync::Mutex::new(t.parse().unwrap())))
    }
    pub fn set(&self, t: &str) {
        *self.0.lock().unwrap() = t.parse().unwrap();
    }
}

impl pos_domain::Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

/// An amount as a counter could put it on the wire, unchecked (the service checks it).
pub fn wire_money(amount: &str) -> pos_domain::Money {
    serde_json::from_value(serde_json::Value::String(amount.into())).unwrap()
}

/// One order's answer without what only the answer for one order carries (where it came from,
/// who took each payment where), to compare it with a list's item or a create's answer.
pub fn without_provenance(order: &Value) -> Value {
    let mut o = order.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("origin");
    }
    if let Some(ps) = o["payments"].as_array_mut() {
        for p in ps {
            if let Some(m) = p.as_object_mut() {
                m.remove("recorded_by_name");
                m.remove("device_code");
            }
        }
    }
    o
}
