//! The store: one SQLite file, its data key, its device identity and shop settings.

mod audit_log;
pub mod backup;
pub mod orders;
pub mod staff;
pub mod sync;

use crate::audit::{self, NewEvent};
use crate::clock::{Clock, TimeSource};
use crate::crypto::{Aad, FieldCipher, MasterKey};
use crate::db::{self, ts};
use crate::error::{Result, StoreError};
use crate::keystore::{KeyStore, KeyStoreError};
use crate::search_index::SearchIndex;
use crate::session::Session;
use crate::write_tx::{Heads, WriteTx};
use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};
use pos_domain::{Currency, Hlc, ValidationError};
use pos_protocol::AuditAction;
use serde::{Deserialize, Serialize};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const KEY_CHECK: &[u8] = b"offline-order-pos key check";

/// Shop-wide settings chosen at first-run setup. None of it is personal data.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopConfig {
    pub shop_name: String,
    pub currency: Currency,
    /// Prefix of this counter's order numbers, e.g. `K01` in `K01-20261125-0042`.
    pub device_code: String,
    /// Country calling code used to normalise local phone numbers (`0812…` → `62812…`).
    pub phone_country_code: String,
    /// The shop's offset from UTC, which decides the business day (WIB is +420) until the
    /// counter is paired.
    pub utc_offset_minutes: i32,
    /// The shop's IANA time zone, taken from the service once paired: from then on it decides
    /// the business day, so counter and service agree on every order's day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl ShopConfig {
    pub(crate) fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_minutes * 60).unwrap_or(chrono::Utc.fix())
    }

    fn zone(&self) -> Option<pos_domain::ShopZone> {
        self.time_zone
            .as_deref()
            .and_then(|z| pos_domain::ShopZone::parse("time_zone", z).ok())
    }

    /// The offset from UTC at `at` (the shop's zone's, once paired).
    pub(crate) fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        match self.zone() {
            Some(z) => z.offset_at(at),
            None => self.offset(),
        }
    }

    pub(crate) fn business_date(&self, at: DateTime<Utc>) -> NaiveDate {
        match self.zone() {
            Some(z) => z.business_date(at),
            None => at.with_timezone(&self.offset()).date_naive(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        let name = self.shop_name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(ValidationError::new(
                "shop_name",
                "required",
                "Shop name is required (at most 120 characters)",
            ));
        }
        let code = &self.device_code;
        if code.is_empty()
            || code.len() > 8
            || !code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(ValidationError::new(
                "device_code",
                "invalid_device_code",
                "Counter code must be 1 to 8 capital letters or digits, e.g. K01",
            ));
        }
        pos_domain::CountryCode::parse("phone_country_code", &self.phone_country_code)?;
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return Err(ValidationError::new(
                "utc_offset_minutes",
                "out_of_range",
                "UTC offset must be between -14:00 and +14:00",
            )
            .with("min", "-14:00")
            .with("max", "+14:00"));
        }
        Ok(())
    }
}

pub struct Store {
    pool: SqlitePool,
    cipher: FieldCipher,
    /// The store's clock: every id, business day and timestamp it writes comes from it.
    time: TimeSource,
    device_id: Uuid,
    config: Mutex<Option<ShopConfig>>,
    hlc: Mutex<Hlc>,
    search: tokio::sync::Mutex<Option<SearchIndex>>,
    heads: tokio::sync::Mutex<Heads>,
    /// Held by a backup, a restore and the setup: none of them runs while another does (two
    /// backups would share a snapshot; a setup must not race a restore).
    pub(crate) maintenance: tokio::sync::Mutex<()>,
    /// The SQLite file (backups are written from a snapshot beside it).
    path: std::path::PathBuf,
    /// Held for the store's life: one process at a time owns the file (the chain heads kept
    /// in memory rely on it).
    _lock: std::fs::File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store at `path`. On first run a new data key is created in
    /// `keys`; afterwards the key must be there and must match this file, or opening fails
    /// rather than writing under a different key.
    pub async fn open(path: &Path, keys: &dyn KeyStore, clock: Arc<dyn Clock>) -> Result<Store> {
        let lock = lock_file(path)?;
        backup::sweep_leftovers(path);
        // A restore staged on the setup screen replaces the (new, empty) store first.
        backup::apply_staged(path).await?;
        let time = TimeSource::new(clock);
        let pool = db::open_pool(path).await?;
        let row = sqlx::query("SELECT device_id, key_check FROM device WHERE id = 1")
            .fetch_optional(&pool)
            .await?;
        let (device_id, cipher) = match row {
            Some(r) => {
                let device_id: Uuid = r
                    .get::<String, _>("device_id")
                    .parse()
                    .map_err(|_| StoreError::corrupt("device id"))?;
                let key = keys
                    .load(&device_id.to_string())?
                    .ok_or(KeyStoreError::Missing)?;
                let check: Vec<u8> = r.get("key_check");
                if !key_opens(&key, &device_id.to_string(), &check) {
                    return Err(StoreError::Key(KeyStoreError::Malformed));
                }
                (device_id, FieldCipher::new(&key))
            }
            None => {
                let device_id = time.new_uuid();
                let key = MasterKey::generate();
                keys.save(&device_id.to_string(), &key)?;
                let cipher = FieldCipher::new(&key);
                let check = cipher.encrypt(KEY_CHECK, key_check_aad(&device_id.to_string()));
                sqlx::query(
                    "INSERT INTO device (id, device_id, key_check, created_at) VALUES (1, ?, ?, ?)",
                )
                .bind(device_id.to_string())
                .bind(check)
                .bind(ts(&time.now()))
                .execute(&pool)
                .await?;
                (device_id, cipher)
            }
        };
        let config: Option<ShopConfig> =
            sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = 'shop'")
                .fetch_optional(&pool)
                .await?
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(StoreError::corrupt)?;
        // HLC values only grow with the outbox sequence: the last row holds the newest.
        let last_hlc: Option<String> =
            sqlx::query_scalar("SELECT hlc FROM outbox ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&pool)
                .await?;
        // ... and never below the newest service time seen at a sync.
        let seen: Option<String> =
            sqlx::query_scalar("SELECT hlc_seen FROM sync_state WHERE id = 1")
                .fetch_optional(&pool)
                .await?
                .flatten();
        let parse = |s: Option<String>| {
            s.map(|s| s.parse::<Hlc>())
                .transpose()
                .map_err(StoreError::corrupt)
        };
        let hlc = parse(last_hlc)?
            .unwrap_or_default()
            .max(parse(seen)?.unwrap_or_default());
        let store = Store {
            pool,
            path: path.to_owned(),
            cipher,
            time,
            device_id,
            config: Mutex::new(config),
            hlc: Mutex::new(hlc),
            search: tokio::sync::Mutex::new(None),
            heads: tokio::sync::Mutex::new(Heads::default()),
            maintenance: tokio::sync::Mutex::new(()),
            _lock: lock,
        };
        // a restore's first open audits it (a marker in the restored store says so)
        store.audit_restore().await?;
        Ok(store)
    }

    /// Closes the database cleanly (checkpointing the WAL).
    pub async fn close(self) {
        self.pool.close().await;
    }

    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    /// The shop's settings, once set up.
    pub fn config(&self) -> Option<ShopConfig> {
        self.config.lock().ok().and_then(|c| c.clone())
    }

    pub(crate) fn require_config(&self) -> Result<ShopConfig> {
        self.config().ok_or(StoreError::NotSetUp)
    }

    /// Records in `tx` that `session` looked at a list, a search or a report: an ACCESS event
    /// with no entity id and `detail` (counts, ranges — never PII).
    pub(crate) async fn audit_access(
        &self,
        tx: &mut WriteTx<'_>,
        session: &Session,
        entity_type: &'static str,
        operation: &'static str,
        detail: String,
    ) -> Result<()> {
        audit::append(
            tx,
            self.device_id,
            self.now(),
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Access,
                entity_type,
                None,
                operation,
            )
            .detail(detail),
        )
        .await?;
        Ok(())
    }

    /// Begins a write transaction (see [`WriteTx`]).
    pub(crate) async fn begin_write(&self) -> Result<WriteTx<'_>> {
        WriteTx::begin(&self.heads, &self.pool, &self.time).await
    }

    /// The store's time, from the clock it was opened with.
    pub fn now(&self) -> DateTime<Utc> {
        self.time.now()
    }

    /// A new UUIDv7 stamped with `at` (a time read from [`Store::now`]).
    pub(crate) fn uuid_at(&self, at: DateTime<Utc>) -> Uuid {
        self.time.uuid_at(at)
    }

    pub(crate) fn next_hlc(&self, now: DateTime<Utc>) -> Hlc {
        let mut h = match self.hlc.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        *h = h.tick(now.timestamp_millis());
        *h
    }

    pub(crate) fn set_config(&self, c: ShopConfig) {
        if let Ok(mut g) = self.config.lock() {
            *g = Some(c);
        }
    }
}

/// Takes `<file>.lock` exclusively, or says the store is already open elsewhere.
fn lock_file(path: &Path) -> Result<std::fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::path::PathBuf::from(name))
        .map_err(|e| StoreError::corrupt(format!("cannot create the lock file: {e}")))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Conflict {
            code: "store_in_use",
            message: "This shop's data is already open in another window or program".into(),
        }),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(StoreError::corrupt(format!("cannot lock the store: {e}")))
        }
    }
}

/// Whether `key` is the one this store's key check (of device `device_id`) was made with.
pub(crate) fn key_opens(key: &MasterKey, device_id: &str, check: &[u8]) -> bool {
    FieldCipher::new(key)
        .decrypt(check, key_check_aad(device_id))
        .as_deref()
        .map(|v| v.as_slice())
        == Some(KEY_CHECK)
}

/// Binding the check to the device id stops a key check being copied between stores.
fn key_check_aad(device_id: &str) -> Aad<'_> {
    Aad {
        table: "device",
        record_id: device_id,
        field: "key_check",
    }
}
