//! A real desktop counter for the sync tests: pos-core on a real SQLite file with its key in
//! the real OS keyring (Secret Service in the test script's D-Bus session, or keyutils).

use pos_core::{KeyStore, KeyringBackend, OsKeyring, Pin, SetupInput, Store, SystemClock};
use pos_domain::{Channel, Customer, Interval, ItemInput, Money, PaymentMethod, PaymentTerms};
use std::sync::Arc;

pub struct Desk {
    _dir: tempfile::TempDir,
    pub path: std::path::PathBuf,
    pub keys: Arc<OsKeyring>,
    pub store: Arc<Store>,
}

impl Drop for Desk {
    fn drop(&mut self) {
        let id = self.store.device_id();
        let _ = self.keys.delete(&id.to_string());
        let _ = self.keys.delete(&format!("{id}.sync"));
    }
}

pub async fn desk_with_code(code: &str) -> (Desk, pos_core::Session) {
    desk_on(code, Arc::new(SystemClock)).await
}

/// A counter whose store runs on `clock`.
pub async fn desk_on(code: &str, clock: Arc<dyn pos_domain::Clock>) -> (Desk, pos_core::Session) {
    let dir = tempfile::tempdir().unwrap();
    let backend = std::env::var("POS_TEST_KEYRING")
        .ok()
        .and_then(|n| KeyringBackend::named(&n))
        .unwrap_or(KeyringBackend::native());
    let keys = Arc::new(OsKeyring::new(
        format!("offline-order-pos-test-{}", uuid::Uuid::now_v7()),
        backend,
    ));
    let store = Store::open(&dir.path().join("pos.db"), keys.as_ref(), clock)
        .await
        .unwrap();
    let owner = store
        .setup(
            SetupInput {
                shop_name: "Toko".into(),
                currency: pos_domain::Currency::IDR,
                owner_name: format!("Ibu Owner {code}"),
                device_code: Some(code.into()),
                phone_country_code: None,
                utc_offset_minutes: Some(420),
            },
            Pin::new("135790").unwrap(),
        )
        .await
        .unwrap();
    (
        Desk {
            path: dir.path().join("pos.db"),
            _dir: dir,
            keys,
            store: Arc::new(store),
        },
        owner,
    )
}

pub async fn desk() -> (Desk, pos_core::Session) {
    desk_with_code("K01").await
}

pub fn money(v: i64) -> Money {
    pos_domain::Currency::IDR.from_minor(v)
}

/// A phone order of 1,000,000: 100,000 down (paid now) and three monthly installments.
/// The counter of [`desk`] runs on [`SystemClock`]: its business day comes from that clock.
pub fn new_order(name: &str) -> pos_core::NewOrder {
    use pos_domain::Clock;
    new_order_on(name, SystemClock.now().date_naive())
}

/// [`new_order`] for a counter whose business day is `today` (its first installment is due
/// 30 days later).
pub fn new_order_on(name: &str, today: chrono::NaiveDate) -> pos_core::NewOrder {
    pos_core::NewOrder {
        id: None,
        channel: Channel::Phone,
        customer: Customer {
            name: name.into(),
            phone: Some("08121112222".into()),
            email: None,
            address: None,
        },
        items: vec![ItemInput {
            name: "Kulkas".into(),
            sku: None,
            quantity: 1.into(),
            unit_price: money(1_000_000),
            discount: None,
        }],
        discount: None,
        notes: None,
        payment_terms: PaymentTerms::Installment {
            down_payment: Some(money(100_000)),
            installment_count: 3,
            interval: Interval::Monthly,
            first_due_date: today + chrono::Days::new(30),
        },
        initial_payment: Some(pos_core::PaymentInput {
            id: None,
            amount: money(100_000),
            method: PaymentMethod::Cash,
            reference: None,
        }),
    }
}

pub fn cash(amount: i64) -> pos_core::PaymentInput {
    pos_core::PaymentInput {
        id: None,
        amount: money(amount),
        method: PaymentMethod::Cash,
        reference: None,
    }
}

/// What a counter holds, read through a separate read-only connection (nothing audited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCounts {
    pub orders: i64,
    pub deleted: i64,
    pub payments: i64,
    pub paid_minor: i64,
    pub pending: i64,
    pub acked: i64,
    pub attention: i64,
    pub audit_events: i64,
    /// Bytes of outbox payload still kept for acknowledged mutations (compacted: 0).
    pub acked_payload_bytes: i64,
}

impl Desk {
    /// A copy of the counter's store as it is now (a backup), written to `to`.
    pub async fn backup(&self, to: &std::path::Path) {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", self.path.display()))
            .await
            .unwrap();
        sqlx::query("VACUUM INTO ?")
            .bind(to.display().to_string())
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }

    /// Closes the store and opens it again (a restart), on `clock`.
    pub async fn reopen(&mut self, clock: Arc<dyn pos_domain::Clock>) {
        let other = self.path.with_extension("other.db");
        let placeholder = Store::open(&other, self.keys.as_ref(), clock.clone())
            .await
            .unwrap();
        let store = std::mem::replace(&mut self.store, Arc::new(placeholder));
        Arc::into_inner(store)
            .expect("the store is shared")
            .close()
            .await;
        let placeholder = std::mem::replace(
            &mut self.store,
            Arc::new(
                Store::open(&self.path, self.keys.as_ref(), clock)
                    .await
                    .unwrap(),
            ),
        );
        if let Some(p) = Arc::into_inner(placeholder) {
            let id = p.device_id();
            p.close().await;
            let _ = self.keys.delete(&id.to_string());
            let _ = std::fs::remove_file(&other);
        }
    }

    /// The counter restored from `backup` onto a replacement machine: the copy opened with the
    /// same key (from the keyring), on `clock`.
    pub async fn restored_from(
        &self,
        backup: &std::path::Path,
        clock: Arc<dyn pos_domain::Clock>,
    ) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pos.db");
        std::fs::copy(backup, &path).unwrap();
        let store = Store::open(&path, self.keys.as_ref(), clock).await.unwrap();
        Desk {
            _dir: dir,
            path,
            keys: self.keys.clone(),
            store: Arc::new(store),
        }
    }

    pub async fn counts(&self) -> LocalCounts {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", self.path.display()))
            .await
            .unwrap();
        let one = |q: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(q)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let c = LocalCounts {
            orders: one("SELECT COUNT(*) FROM orders").await,
            deleted: one("SELECT COUNT(*) FROM orders WHERE status = 'deleted'").await,
            payments: one("SELECT COUNT(*) FROM payments").await,
            paid_minor: one("SELECT COALESCE(SUM(amount_minor), 0) FROM payments").await,
            pending: one("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await,
            acked: one("SELECT COUNT(*) FROM outbox WHERE state = 'acked'").await,
            attention: one("SELECT COUNT(*) FROM outbox WHERE state = 'needs_attention'").await,
            audit_events: one("SELECT COUNT(*) FROM audit_events").await,
            acked_payload_bytes: one(
                "SELECT COALESCE(SUM(length(payload)), 0) FROM outbox WHERE state = 'acked'",
            )
            .await,
        };
        pool.close().await;
        c
    }

    /// Mutation ids the counter holds as acknowledged by the service.
    pub async fn acked_ids(&self) -> std::collections::HashSet<uuid::Uuid> {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", self.path.display()))
            .await
            .unwrap();
        let ids =
            sqlx::query_scalar::<_, String>("SELECT mutation_id FROM outbox WHERE state = 'acked'")
                .fetch_all(&pool)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.parse().unwrap())
                .collect();
        pool.close().await;
        ids
    }
}

/// Refund before delete at a counter: `who` reverses every payment still standing on `order`,
/// each approved with `approver`'s PIN.
pub async fn refund_on_desk(
    store: &Store,
    who: &pos_core::Session,
    order: pos_domain::OrderId,
    approver: pos_domain::StaffId,
    pin: &str,
) {
    let o = store.get_order(who, order).await.unwrap();
    for p in o
        .payments
        .iter()
        .filter(|p| p.reverses.is_none() && p.reversed_by.is_none())
    {
        store
            .reverse_payment(
                who,
                order,
                p.id,
                "refund before delete",
                Some(pos_core::ApprovalInput {
                    approver_id: approver,
                    pin: Pin::new(pin).unwrap(),
                }),
            )
            .await
            .unwrap();
    }
}
