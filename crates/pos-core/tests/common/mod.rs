//! Test harness: real SQLite files in a temp dir and the real OS keyring (the Secret Service
//! of the D-Bus session that `scripts/test.sh` starts, or the kernel keyutils store when
//! `POS_TEST_KEYRING=keyutils`). Keys are removed when a test store is dropped.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use pos_core::{
    Clock, KeyStore, KeyringBackend, NewOrder, OrderDetail, OsKeyring, Pin, Session, SetupInput,
    Store,
};
use pos_domain::{
    Channel, Currency, Customer, Interval, ItemInput, Money, PaymentMethod, PaymentTerms, Role,
};
use sqlx::{Connection, Row};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub fn backend() -> KeyringBackend {
    // POS_TEST_KEYRING names another store of this platform (keyutils where no Secret
    // Service runs); the platform's own by default
    std::env::var("POS_TEST_KEYRING")
        .ok()
        .and_then(|n| KeyringBackend::named(&n))
        .unwrap_or(KeyringBackend::native())
}

pub fn keyring(service: &str) -> OsKeyring {
    OsKeyring::new(service, backend())
}

/// A clock the test moves.
#[derive(Debug)]
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn at(t: &str) -> Arc<TestClock> {
        Arc::new(TestClock(Mutex::new(t.parse().unwrap())))
    }
    pub fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestStore {
    /// A UUIDv7 made at the test clock's time (as the store would make it).
    pub fn uuid_now(&self) -> uuid::Uuid {
        pos_domain::UuidV7s::new().at(self.clock.now())
    }
}

pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub service: String,
    pub clock: Arc<TestClock>,
    pub store: Option<Store>,
    pub owner: Session,
    pub owner_pin: &'static str,
}

pub const OWNER_PIN: &str = "135790";

impl TestStore {
    /// A set-up shop (IDR, Jakarta time, counter K01) at 2026-11-25 10:00 WIB.
    pub async fn new() -> TestStore {
        Self::with_currency(Currency::IDR).await
    }

    pub async fn with_currency(currency: Currency) -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pos.db");
        let service = format!("offline-order-pos-test-{}", uuid::Uuid::now_v7());
        let clock = TestClock::at("2026-11-25T03:00:00Z");
        let store = Store::open(&path, &keyring(&service), clock.clone())
            .await
            .unwrap();
        let owner = store
            .setup(
                SetupInput {
                    shop_name: "Toko Maju".into(),
                    currency,
                    owner_name: "Ibu Owner".into(),
                    device_code: Some("K01".into()),
                    phone_country_code: None,
                    utc_offset_minutes: Some(420),
                },
                Pin::new(OWNER_PIN).unwrap(),
            )
            .await
            .unwrap();
        TestStore {
            dir,
            path,
            service,
            clock,
            store: Some(store),
            owner,
            owner_pin: OWNER_PIN,
        }
    }

    pub fn s(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    pub async fn reopen(&mut self) {
        if let Some(s) = self.store.take() {
            s.close().await;
        }
        self.store = Some(
            Store::open(&self.path, &keyring(&self.service), self.clock.clone())
                .await
                .unwrap(),
        );
    }

    pub async fn add(&self, name: &str, role: Role, pin: &str) -> Session {
        let m = self
            .s()
            .add_staff(&self.owner, name, role, Pin::new(pin).unwrap())
            .await
            .unwrap();
        self.s().login(m.id, Pin::new(pin).unwrap()).await.unwrap()
    }

    /// Every row of every table, as text, for before/after comparisons.
    pub async fn snapshot(&self) -> Vec<String> {
        dump(&self.path).await
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some(s) = &self.store {
            let _ = keyring(&self.service).delete(&s.device_id().to_string());
        }
    }
}

pub async fn dump(path: &Path) -> Vec<String> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let cols: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{t}')"))
                .fetch_all(&mut c)
                .await
                .unwrap();
        let expr = cols
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows = sqlx::query(&format!(
            "SELECT '{t}: ' || {expr} AS line FROM \"{t}\" ORDER BY 1"
        ))
        .fetch_all(&mut c)
        .await
        .unwrap();
        out.extend(rows.iter().map(|r| r.get::<String, _>("line")));
    }
    c.close().await.unwrap();
    out
}

pub fn m(v: &str) -> Money {
    serde_json::from_value(serde_json::Value::String(v.into())).unwrap()
}

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn item(name: &str, qty: &str, price: &str) -> ItemInput {
    ItemInput {
        name: name.into(),
        sku: None,
        quantity: qty.parse().unwrap(),
        unit_price: m(price),
        discount: None,
    }
}

pub fn customer(name: &str, phone: Option<&str>, email: Option<&str>) -> Customer {
    Customer {
        name: name.into(),
        phone: phone.map(Into::into),
        email: email.map(Into::into),
        address: None,
    }
}

/// A phone order: 3 items (total 1,000,000), 3 monthly installments after a 100,000 down
/// payment that is paid at once.
pub fn phone_installment_order(name: &str, phone: &str) -> NewOrder {
    NewOrder {
        id: None,
        channel: Channel::Phone,
        customer: customer(name, Some(phone), None),
        items: vec![
            item("Kulkas 2 pintu", "1", "700000"),
            item("Rak piring", "2", "100000"),
            item("Kabel roll", "1", "100000"),
        ],
        discount: None,
        notes: None,
        payment_terms: PaymentTerms::Installment {
            down_payment: Some(m("100000")),
            installment_count: 3,
            interval: Interval::Monthly,
            first_due_date: d("2026-12-25"),
        },
        initial_payment: Some(pos_core::PaymentInput {
            id: None,
            amount: m("100000"),
            method: PaymentMethod::Cash,
            reference: None,
        }),
    }
}

pub fn walk_in_full(name: &str, total: &str) -> NewOrder {
    NewOrder {
        id: None,
        channel: Channel::WalkIn,
        customer: customer(name, None, None),
        items: vec![item("Beras 5kg", "1", total)],
        discount: None,
        notes: None,
        payment_terms: PaymentTerms::Full,
        initial_payment: Some(pos_core::PaymentInput {
            id: None,
            amount: m(total),
            method: PaymentMethod::Cash,
            reference: None,
        }),
    }
}

pub fn pay(amount: &str) -> pos_core::PaymentInput {
    pos_core::PaymentInput {
        id: None,
        amount: m(amount),
        method: PaymentMethod::Cash,
        reference: None,
    }
}

pub async fn create(t: &TestStore, who: &Session, o: NewOrder) -> OrderDetail {
    t.s().create_order(who, o).await.unwrap()
}

/// Refund before delete: the owner reverses every payment still standing on the order, so the
/// order holds no money and may be deleted.
pub async fn refund_all(t: &TestStore, order: pos_domain::OrderId) {
    let o = t.s().get_order(&t.owner, order).await.unwrap();
    for p in o
        .payments
        .iter()
        .filter(|p| p.reverses.is_none() && p.reversed_by.is_none())
    {
        t.s()
            .reverse_payment(&t.owner, order, p.id, "refund before delete", None)
            .await
            .unwrap();
    }
}
