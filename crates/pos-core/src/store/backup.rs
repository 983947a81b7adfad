//! Encrypted backups of the store, and restoring one on a new install (issue 20).
//!
//! **The recovery passphrase.** The owner sets it at setup or in Settings; the data key is then
//! also kept in the store wrapped by a key derived from it ([`pos_crypto::recovery`]: argon2id,
//! parameters recorded with it). A backup carries that wrapped key, so the passphrase opens it
//! on a machine whose OS keyring never held the key.
//!
//! **A backup file**, version 1 (`.oopbak`):
//!
//! ```text
//! "OOPOSBK1" | header length (u32 LE) | header (JSON) | sealed body | SHA-256 of all before
//! ```
//!
//! The header ([`BackupHeader`]) says whose backup it is (device, counter code, shop name, time,
//! order count — no personal data) and holds the wrapped data key. The body is a consistent
//! snapshot of the store (`VACUUM INTO`) and the device's sync secret, encrypted and
//! authenticated as a whole under a key derived from the data key, with the header as
//! associated data: any changed byte is refused. The trailing hash tells a damaged file from
//! a wrong passphrase before the passphrase is tried.
//!
//! **Restore** checks everything, then stages the snapshot beside the store (`<store>.restore`)
//! and puts the data key (and sync secret) back in the OS keyring; the app restarts, and
//! [`Store::open`] swaps the staged file in before it opens. The restored counter keeps its
//! device identity and outbox; what it recorded after the backup and already synced comes
//! back from the service.

use crate::audit::{self, NewEvent};
use crate::db::{parse_ts, ts};
use crate::error::{Result, StoreError};
use crate::keystore::{KeyStore, KeyStoreError};
use crate::session::Session;
use crate::store::Store;
use chrono::{DateTime, Utc};
use pos_crypto::recovery::{self, RecoveryError, WrappedKey};
use pos_crypto::MasterKey;
use pos_domain::ValidationError;
use pos_protocol::AuditAction;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use uuid::Uuid;
use zeroize::Zeroizing;

/// The first bytes of every backup file (format version 1).
pub const MAGIC: &[u8; 8] = b"OOPOSBK1";
/// A backup file's extension.
pub const EXTENSION: &str = "oopbak";
/// The settings rows this module keeps (none holds personal data or a usable key).
const RECOVERY_KEY: &str = "recovery";
const CONFIG_KEY: &str = "backup";
const STATE_KEY: &str = "backup_state";
const RESTORED_KEY: &str = "restored_from";
const UNLOCKED_KEY: &str = "key_recovered";
/// The most header bytes a file may claim: a header is well under 2 KiB.
const MAX_HEADER: u32 = 64 * 1024;

/// Where backups go and how many are kept.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupConfig {
    /// The folder the owner picked (a USB stick, a synced folder); none until picked.
    #[serde(default)]
    pub folder: Option<String>,
    /// How many of this counter's backups the folder keeps (oldest removed first).
    #[serde(default = "default_keep")]
    pub keep: u32,
}

fn default_keep() -> u32 {
    pos_domain::backup::DEFAULT_KEEP
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            folder: None,
            keep: default_keep(),
        }
    }
}

/// Why a backup was taken.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupReason {
    OnDemand,
    Daily,
    EndOfDay,
}

impl BackupReason {
    fn as_str(self) -> &'static str {
        match self {
            BackupReason::OnDemand => "on_demand",
            BackupReason::Daily => "daily",
            BackupReason::EndOfDay => "end_of_day",
        }
    }
}

/// A backup written and verified.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRecord {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: DateTime<Utc>,
    pub file_name: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub orders: u64,
}

/// The last backup that failed, and why (a message for the owner; no personal data).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupFailure {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: DateTime<Utc>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct BackupState {
    last_success: Option<BackupRecord>,
    /// The business day of the last end-of-day backup (one a day, however often the
    /// end-of-day sync is run).
    #[serde(default)]
    last_end_of_day: Option<chrono::NaiveDate>,
    /// The latest attempt's failure, cleared by the next good backup.
    last_failure: Option<BackupFailure>,
}

/// What the top bar warns of (see [`pos_domain::backup::attention`]).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupAttention {
    NotSetUp,
    Failed,
    Missing,
}

/// Backups as Settings and the top bar show them.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupStatus {
    pub config: BackupConfig,
    pub passphrase_set: bool,
    pub last_success: Option<BackupRecord>,
    pub last_failure: Option<BackupFailure>,
    pub attention: Option<BackupAttention>,
}

/// A backup file's header: whose it is and the wrapped data key. No personal data.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    pub format: u32,
    pub app_version: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub device_id: Uuid,
    pub device_code: String,
    pub shop_name: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub orders: u64,
    /// The newest audit event in the snapshot.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub audit_head: u64,
    #[cfg_attr(feature = "ts", ts(skip))]
    #[serde(default)]
    recovery: Option<WrappedKey>,
}

/// The secrets a backup carries besides the snapshot (inside the sealed body).
#[derive(Serialize, Deserialize)]
struct BodySecrets {
    /// The device's sync secret, when paired.
    device_secret: Option<String>,
}

/// Where a store stages a restore: `<store>.restore`.
pub(crate) fn staged_path(store: &Path) -> PathBuf {
    with_suffix(store, ".restore")
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub use crate::error::BackupError;

fn damaged() -> StoreError {
    StoreError::Validation(ValidationError::new(
        "file",
        "backup_damaged",
        "This backup file is damaged or was altered; pick another backup",
    ))
}

fn io(what: &'static str, e: std::io::Error) -> StoreError {
    BackupError::Io(what, e.kind()).into()
}

/// Runs CPU-bound work (argon2id, sealing a large file) off the async runtime's threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::corrupt(format!("a backup task stopped: {e}")))
}

fn not_a_backup() -> StoreError {
    StoreError::Validation(ValidationError::new(
        "file",
        "not_a_backup",
        "This file is not a backup of this app",
    ))
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes what passes through it.
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Where the decrypted body goes on a restore: its secrets (a length and JSON, first) kept in
/// memory, the snapshot after them written to a file — or, when verifying, only hashed.
struct BodySink<W> {
    prefix: Zeroizing<Vec<u8>>,
    secrets_len: Option<usize>,
    rest: W,
}

impl<W: Write> Write for BodySink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while self
            .secrets_len
            .is_none_or(|len| self.prefix.len() < 4 + len)
        {
            if rest.is_empty() {
                return Ok(buf.len());
            }
            let need = self.secrets_len.map_or(4, |len| 4 + len);
            let take = (need - self.prefix.len()).min(rest.len());
            self.prefix.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.secrets_len.is_none() && self.prefix.len() == 4 {
                let len = u32::from_le_bytes([
                    self.prefix[0],
                    self.prefix[1],
                    self.prefix[2],
                    self.prefix[3],
                ]) as usize;
                if len > MAX_HEADER as usize {
                    return Err(std::io::Error::other("the secrets are too long"));
                }
                self.secrets_len = Some(len);
            }
        }
        self.rest.write_all(rest)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.rest.flush()
    }
}

impl<W> BodySink<W> {
    fn new(rest: W) -> Self {
        BodySink {
            prefix: Zeroizing::new(Vec::new()),
            secrets_len: None,
            rest,
        }
    }

    fn secrets(&self) -> Result<BodySecrets> {
        let len = self.secrets_len.ok_or_else(damaged)?;
        let json = self.prefix.get(4..4 + len).ok_or_else(damaged)?;
        serde_json::from_slice(json).map_err(|_| damaged())
    }
}

/// Checks a backup file's trailing SHA-256 (one pass) and reads its header: the header and the
/// bytes the seal binds to (magic, length, header), and the sealed body's offset and length.
fn read_header(path: &Path) -> Result<(BackupHeader, Vec<u8>, u64, u64)> {
    let unreadable = |e: std::io::Error| {
        StoreError::Validation(ValidationError::new(
            "file",
            "unreadable",
            format!("The backup file cannot be read: {}", e.kind()),
        ))
    };
    let mut f = std::fs::File::open(path).map_err(unreadable)?;
    let size = f.metadata().map_err(unreadable)?.len();
    let mut magic = [0u8; 8];
    if size < (MAGIC.len() + 4 + 32) as u64 || f.read_exact(&mut magic).is_err() || &magic != MAGIC
    {
        return Err(not_a_backup());
    }
    f.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let content = size - 32;
    let mut hashing = Hashing {
        inner: (&mut f).take(content),
        hash: Sha256::new(),
    };
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(unreadable)?;
    let digest = hashing.hash.finalize();
    let mut trailer = [0u8; 32];
    f.read_exact(&mut trailer).map_err(unreadable)?;
    if digest.as_slice() != trailer {
        return Err(damaged());
    }
    f.seek(SeekFrom::Start(MAGIC.len() as u64))
        .map_err(unreadable)?;
    let mut len = [0u8; 4];
    f.read_exact(&mut len).map_err(unreadable)?;
    let len = u32::from_le_bytes(len);
    let end = (MAGIC.len() + 4) as u64 + u64::from(len);
    if len > MAX_HEADER || end > content {
        return Err(damaged());
    }
    let mut json = vec![0u8; len as usize];
    f.read_exact(&mut json).map_err(unreadable)?;
    let header: BackupHeader = serde_json::from_slice(&json).map_err(|_| damaged())?;
    if header.format != 1 {
        return Err(StoreError::Validation(ValidationError::new(
            "file",
            "backup_version",
            "This backup was made by a newer version of the app; update the app first",
        )));
    }
    let mut aad = Vec::with_capacity(end as usize);
    aad.extend_from_slice(MAGIC);
    aad.extend_from_slice(&len.to_le_bytes());
    aad.extend_from_slice(&json);
    Ok((header, aad, end, content - end))
}

/// Decrypts the sealed body of `path` (after [`read_header`]) into `sink`.
fn open_body<W: Write>(
    path: &Path,
    key: &MasterKey,
    aad: &[u8],
    offset: u64,
    len: u64,
    sink: &mut BodySink<W>,
) -> Result<()> {
    let mut f = std::fs::File::open(path).map_err(|e| io("be read", e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| io("be read", e))?;
    let mut sealed = std::io::BufReader::new(f.take(len));
    recovery::open_stream(key, aad, &mut sealed, sink).map_err(|e| match e {
        recovery::StreamError::Damaged => damaged(),
        recovery::StreamError::Io(e) => io("be read", e),
    })
}

fn require_owner(session: &Session, what: &str) -> Result<()> {
    if session.role().can_manage_staff() {
        Ok(())
    } else {
        Err(StoreError::Forbidden {
            message: format!("Only the owner may {what}"),
        })
    }
}

impl Store {
    async fn setting<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(StoreError::corrupt)
    }

    /// Sets (or changes) the recovery passphrase: the data key is kept wrapped under it from
    /// now on, and every later backup carries it. Owner only; audited.
    pub async fn set_recovery_passphrase(
        &self,
        session: &Session,
        passphrase: &str,
        keys: &dyn KeyStore,
    ) -> Result<()> {
        require_owner(session, "set the recovery passphrase")?;
        self.require_config()?;
        let passphrase =
            Zeroizing::new(pos_domain::backup::passphrase("passphrase", passphrase)?.to_owned());
        let key = keys
            .load(&self.device_id.to_string())?
            .ok_or(KeyStoreError::Missing)?;
        let context = self.device_id.to_string();
        let wrapped =
            blocking(move || recovery::wrap(&key, &passphrase, recovery::DEFAULT_KDF, &context))
                .await?
                .map_err(|e| StoreError::corrupt(format!("recovery key: {e}")))?;
        let had: Option<WrappedKey> = self.setting(RECOVERY_KEY).await?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(RECOVERY_KEY)
            .bind(serde_json::to_string(&wrapped).map_err(StoreError::corrupt)?)
            .execute(tx.conn().await?)
            .await?;
        let kdf = wrapped.kdf;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Update,
                "settings",
                None,
                if had.is_some() {
                    "recovery.passphrase_changed"
                } else {
                    "recovery.passphrase_set"
                },
            )
            .detail(format!(
                "kdf=argon2id m_kib={} t={} p={}",
                kdf.m_cost_kib, kdf.t_cost, kdf.p_cost
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where backups go and how many are kept. Owner only; audited. The folder must exist.
    pub async fn save_backup_config(&self, session: &Session, config: BackupConfig) -> Result<()> {
        require_owner(session, "choose where backups go")?;
        self.require_config()?;
        let keep = pos_domain::backup::keep("keep", config.keep)?;
        let folder = match config.folder.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(f) => {
                let p = Path::new(f);
                if !p.is_absolute() || !p.is_dir() {
                    return Err(StoreError::Validation(ValidationError::new(
                        "folder",
                        "folder_unavailable",
                        "Pick a folder that exists on this computer (or a plugged-in USB stick)",
                    )));
                }
                Some(f.to_owned())
            }
        };
        let config = BackupConfig { folder, keep };
        let now = self.now();
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(CONFIG_KEY)
            .bind(serde_json::to_string(&config).map_err(StoreError::corrupt)?)
            .execute(tx.conn().await?)
            .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Update,
                "settings",
                None,
                "backup.configured",
            )
            .detail(format!(
                "folder_set={} keep={keep}",
                config.folder.is_some()
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Backups as Settings and the top bar show them.
    pub async fn backup_status(&self) -> Result<BackupStatus> {
        let config: BackupConfig = self.setting(CONFIG_KEY).await?.unwrap_or_default();
        let passphrase_set = self.setting::<WrappedKey>(RECOVERY_KEY).await?.is_some();
        let state: BackupState = self.setting(STATE_KEY).await?.unwrap_or_default();
        let shop = self.config();
        let today = shop.as_ref().map(|c| c.business_date(self.now()));
        let last_day = match (&shop, &state.last_success) {
            (Some(c), Some(r)) => Some(c.business_date(r.at)),
            _ => None,
        };
        let attention = today.and_then(|today| {
            pos_domain::backup::attention(
                passphrase_set && config.folder.is_some(),
                state.last_failure.is_some(),
                last_day,
                today,
            )
        });
        Ok(BackupStatus {
            config,
            passphrase_set,
            last_success: state.last_success,
            last_failure: state.last_failure,
            attention: attention.map(|a| match a {
                pos_domain::backup::Attention::NotSetUp => BackupAttention::NotSetUp,
                pos_domain::backup::Attention::Failed => BackupAttention::Failed,
                pos_domain::backup::Attention::Missing => BackupAttention::Missing,
            }),
        })
    }

    /// Takes the day's backup if it is due (set up, and none yet this business day). `None`
    /// when nothing was due; a failure is recorded and audited as by [`Store::backup_now`].
    pub async fn backup_if_due(&self, keys: &dyn KeyStore) -> Result<Option<BackupRecord>> {
        if !self.backup_due(BackupReason::Daily).await? {
            return Ok(None);
        }
        self.run_backup(None, keys, BackupReason::Daily, true).await
    }

    /// The end-of-day backup, after the end-of-day sync: when backups are set up, once per
    /// business day (any staff member runs the end-of-day sync; a backup taken again and again
    /// would push the older days out of the kept ones). `None` when none was due.
    pub async fn backup_at_end_of_day(&self, keys: &dyn KeyStore) -> Result<Option<BackupRecord>> {
        if !self.backup_due(BackupReason::EndOfDay).await? {
            return Ok(None);
        }
        self.run_backup(None, keys, BackupReason::EndOfDay, true)
            .await
    }

    /// Whether an automatic backup for `reason` is due: backups set up, and none for it yet
    /// this business day (one asked for is always due).
    async fn backup_due(&self, reason: BackupReason) -> Result<bool> {
        let Some(shop) = self.config() else {
            return Ok(false);
        };
        let today = shop.business_date(self.now());
        let last_day = match reason {
            BackupReason::Daily => {
                let status = self.backup_status().await?;
                if !status.passphrase_set || status.config.folder.is_none() {
                    return Ok(false);
                }
                status.last_success.map(|r| shop.business_date(r.at))
            }
            BackupReason::EndOfDay => {
                let status = self.backup_status().await?;
                if !status.passphrase_set || status.config.folder.is_none() {
                    return Ok(false);
                }
                let state: BackupState = self.setting(STATE_KEY).await?.unwrap_or_default();
                state.last_end_of_day
            }
            BackupReason::OnDemand => return Ok(true),
        };
        Ok(pos_domain::backup::daily_due(last_day, today))
    }

    /// Writes an encrypted backup to the chosen folder, verifies it, and removes the oldest
    /// beyond the number kept. `session` is who asked (owner or manager), `None` for the
    /// automatic ones. Success and failure are both recorded (the top bar shows a failure)
    /// and audited.
    pub async fn backup(
        &self,
        session: Option<&Session>,
        keys: &dyn KeyStore,
        reason: BackupReason,
    ) -> Result<BackupRecord> {
        match self.run_backup(session, keys, reason, false).await? {
            Some(r) => Ok(r),
            None => Err(StoreError::corrupt("a backup asked for was not taken")),
        }
    }

    /// [`Store::backup`]; an automatic one is checked again once no other backup runs (the
    /// daily one and the end of day's may meet), `None` when it is no longer due.
    async fn run_backup(
        &self,
        session: Option<&Session>,
        keys: &dyn KeyStore,
        reason: BackupReason,
        recheck: bool,
    ) -> Result<Option<BackupRecord>> {
        if let Some(s) = session {
            if !s.role().can_approve() {
                return Err(StoreError::Forbidden {
                    message: "Only an owner or a manager may take a backup".into(),
                });
            }
        }
        self.require_config()?;
        // one backup at a time (the daily one, the end of day's and one asked for may meet)
        let _maintenance = self.maintenance.lock().await;
        if recheck && !self.backup_due(reason).await? {
            return Ok(None);
        }
        let result = self.write_backup(keys).await;
        let now = self.now();
        let mut state: BackupState = self.setting(STATE_KEY).await?.unwrap_or_default();
        let actor = session.map(|s| (s.staff_id(), s.role()));
        let event = match &result {
            Ok(r) => {
                state.last_success = Some(r.clone());
                state.last_failure = None;
                if reason == BackupReason::EndOfDay {
                    state.last_end_of_day = self.config().map(|c| c.business_date(r.at));
                }
                NewEvent::new(actor, AuditAction::Create, "backup", None, "backup.created").detail(
                    format!(
                        "reason={} bytes={} orders={}",
                        reason.as_str(),
                        r.bytes,
                        r.orders
                    ),
                )
            }
            Err(e) => {
                // the code only: a message may name the folder's path
                tracing::warn!(code = e.code(), "backup failed");
                state.last_failure = Some(BackupFailure {
                    at: now,
                    code: e.code().to_owned(),
                    message: if e.is_internal() {
                        StoreError::INTERNAL_MESSAGE.to_owned()
                    } else {
                        e.to_string()
                    },
                });
                NewEvent::new(actor, AuditAction::Create, "backup", None, "backup.failed")
                    .detail(format!("reason={} code={}", reason.as_str(), e.code()))
            }
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(STATE_KEY)
            .bind(serde_json::to_string(&state).map_err(StoreError::corrupt)?)
            .execute(tx.conn().await?)
            .await?;
        audit::append(&mut tx, self.device_id, now, event).await?;
        tx.commit().await?;
        result.map(Some)
    }

    async fn write_backup(&self, keys: &dyn KeyStore) -> Result<BackupRecord> {
        let shop = self.require_config()?;
        let config: BackupConfig = self.setting(CONFIG_KEY).await?.unwrap_or_default();
        let wrapped: WrappedKey = self
            .setting(RECOVERY_KEY)
            .await?
            .ok_or(BackupError::NoPassphrase)?;
        let folder = PathBuf::from(config.folder.as_deref().ok_or(BackupError::NoFolder)?);
        if !folder.is_dir() {
            return Err(BackupError::FolderUnavailable.into());
        }
        let key = keys
            .load(&self.device_id.to_string())?
            .ok_or(KeyStoreError::Missing)?;
        let device_secret = keys
            .load_secret(&crate::store::sync::local::secret_id(self.device_id))?
            .map(|s| s.to_string());
        let now = self.now();

        // A consistent snapshot, beside the store (never in the backup folder in the clear).
        let tmp = with_suffix(
            &self.path,
            &format!(".backup-tmp-{}", Uuid::new_v4().simple()),
        );
        let snapshot = async {
            let target = tmp.to_str().ok_or(BackupError::PathNotText)?;
            // on a connection of its own: a reader under WAL, so the till keeps writing
            let mut reader =
                sqlx::SqliteConnection::connect_with(&crate::db::connect_options(&self.path))
                    .await?;
            let vacuumed = sqlx::query("VACUUM INTO ?")
                .bind(target)
                .execute(&mut reader)
                .await;
            reader.close().await?;
            vacuumed?;
            let mut conn = sqlx::SqliteConnection::connect_with(
                &sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&tmp)
                    .read_only(true),
            )
            .await?;
            let check: String = sqlx::query_scalar("PRAGMA quick_check")
                .fetch_one(&mut conn)
                .await?;
            let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
                .fetch_one(&mut conn)
                .await?;
            let audit_head: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
                .fetch_one(&mut conn)
                .await?;
            conn.close().await?;
            if check != "ok" {
                return Err(StoreError::corrupt(
                    "the snapshot failed its integrity check",
                ));
            }
            Ok::<_, StoreError>((orders as u64, audit_head.unwrap_or(0) as u64))
        }
        .await;
        let (orders, audit_head) = match snapshot {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };

        let header = BackupHeader {
            format: 1,
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            device_id: self.device_id,
            device_code: shop.device_code.clone(),
            shop_name: shop.shop_name.clone(),
            created_at: now,
            orders,
            audit_head,
            recovery: Some(wrapped),
        };
        let secrets = Zeroizing::new(
            serde_json::to_vec(&BodySecrets { device_secret }).map_err(StoreError::corrupt)?,
        );
        // Sealed chunk by chunk from the snapshot into a temporary name in the folder, flushed,
        // then renamed: a half-written file never carries a backup's name, and memory stays
        // at a few chunks whatever the store's size.
        let stamp = now.format("%Y%m%d-%H%M%S%3fZ");
        let prefix = backup_prefix(&shop.device_code, self.device_id);
        // the time sorts them; a random tail keeps two of the same millisecond apart
        let tail = &Uuid::new_v4().simple().to_string()[..6];
        let name = format!("{prefix}{stamp}-{tail}.{EXTENSION}");
        let target = folder.join(&name);
        let partial = folder.join(format!(".{name}.partial"));
        let written = blocking({
            let (tmp, partial, target) = (tmp.clone(), partial.clone(), target.clone());
            move || -> Result<(u64, sha2::digest::Output<Sha256>, MasterKey)> {
                let json = serde_json::to_vec(&header).map_err(StoreError::corrupt)?;
                let mut aad = Vec::with_capacity(json.len() + 12);
                aad.extend_from_slice(MAGIC);
                aad.extend_from_slice(&(json.len() as u32).to_le_bytes());
                aad.extend_from_slice(&json);
                let file = std::fs::File::create(&partial)
                    .map_err(|e| io("be written to the folder", e))?;
                let mut out = HashingWriter {
                    inner: std::io::BufWriter::new(file),
                    hash: Sha256::new(),
                };
                out.write_all(&aad)
                    .map_err(|e| io("be written to the folder", e))?;
                let mut body_prefix = Zeroizing::new((secrets.len() as u32).to_le_bytes().to_vec());
                body_prefix.extend_from_slice(&secrets);
                let snapshot = std::fs::File::open(&tmp).map_err(|e| io("read its snapshot", e))?;
                let mut snapshot = Hashing {
                    inner: std::io::BufReader::new(snapshot),
                    hash: Sha256::new(),
                };
                recovery::seal_stream(
                    &key,
                    &aad,
                    &mut std::io::Cursor::new(body_prefix.as_slice()).chain(&mut snapshot),
                    &mut out,
                )
                .map_err(|e| match e {
                    recovery::StreamError::Io(e) => io("be written to the folder", e),
                    recovery::StreamError::Damaged => StoreError::corrupt("sealing failed"),
                })?;
                let file_hash = out.hash.finalize();
                let mut w = out.inner;
                w.write_all(&file_hash)
                    .map_err(|e| io("be written to the folder", e))?;
                let f = w
                    .into_inner()
                    .map_err(|e| io("be written to the folder", e.into_error()))?;
                f.sync_all()
                    .map_err(|e| io("be written to the folder", e))?;
                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                drop(f);
                std::fs::rename(&partial, &target)
                    .and_then(|()| sync_dir(target.parent()))
                    .map_err(|e| io("be written to the folder", e))?;
                Ok((size, snapshot.hash.finalize(), key))
            }
        })
        .await;
        let _ = std::fs::remove_file(&tmp);
        let (bytes, digest, key) = match written.and_then(|r| r) {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };

        // Verified as written: read back, its hash checked, opened chunk by chunk, compared.
        let ok = blocking({
            let target = target.clone();
            move || -> bool {
                let Ok((_, aad, offset, len)) = read_header(&target) else {
                    return false;
                };
                let mut sink = BodySink::new(HashingWriter {
                    inner: std::io::sink(),
                    hash: Sha256::new(),
                });
                open_body(&target, &key, &aad, offset, len, &mut sink).is_ok()
                    && sink.secrets().is_ok()
                    && sink.rest.hash.finalize() == digest
            }
        })
        .await?;
        if !ok {
            let _ = std::fs::remove_file(&target);
            return Err(BackupError::Unverified.into());
        }
        prune(&folder, &prefix, &name, config.keep as usize);
        Ok(BackupRecord {
            at: now,
            file_name: name,
            bytes,
            orders,
        })
    }

    /// Checks a backup file with its passphrase and stages it to replace this store on the
    /// next open (the app restarts to finish). Only on a new install: a store with a shop
    /// set up is never overwritten. A wrong passphrase or a damaged file changes nothing.
    ///
    /// The backup of a paired counter is brought up to date by `recovery` before it is staged
    /// (the sync client's, [`crate::SyncClient::recover`]): its audit chain goes on from the
    /// service's copy and the orders it synced after the backup come back. Without the service
    /// it is not staged ([`BackupError::ServiceNeeded`]).
    pub async fn stage_restore(
        &self,
        file: &Path,
        passphrase: &str,
        keys: &dyn KeyStore,
        recovery: &impl RecoverStaged,
    ) -> Result<BackupHeader> {
        // the setup waits meanwhile (and refuses once this is staged)
        let _maintenance = self.maintenance.lock().await;
        if self.config().is_some() {
            return Err(BackupError::NotNewInstall.into());
        }
        let passphrase = Zeroizing::new(passphrase.to_owned());
        // Checked whole first (a damaged file is told apart from a wrong passphrase), then the
        // passphrase, then decrypted chunk by chunk into a temporary file beside the store.
        let staged = staged_path(&self.path);
        let partial = with_suffix(&self.path, ".restore-partial");
        remove_partial(&partial);
        let opened = blocking({
            let (file, partial) = (file.to_owned(), partial.clone());
            move || -> Result<(BackupHeader, MasterKey, BodySecrets)> {
                let (header, aad, offset, len) = read_header(&file)?;
                let wrapped = header.recovery.as_ref().ok_or_else(damaged)?;
                let context = header.device_id.to_string();
                let key =
                    recovery::unwrap(wrapped, &passphrase, &context).map_err(|e| match e {
                        RecoveryError::WrongPassphrase => {
                            StoreError::Validation(ValidationError::new(
                                "passphrase",
                                "wrong_passphrase",
                                "This passphrase does not open the backup",
                            ))
                        }
                        _ => damaged(),
                    })?;
                let out = std::fs::File::create(&partial).map_err(|e| io("be staged", e))?;
                let mut sink = BodySink::new(std::io::BufWriter::new(out));
                open_body(&file, &key, &aad, offset, len, &mut sink)?;
                let secrets = sink.secrets()?;
                let f = sink
                    .rest
                    .into_inner()
                    .map_err(|e| io("be staged", e.into_error()))?;
                f.sync_all().map_err(|e| io("be staged", e))?;
                Ok((header, key, secrets))
            }
        })
        .await;
        let (header, key, secrets) = match opened.and_then(|r| r) {
            Ok(v) => v,
            Err(e) => {
                remove_partial(&partial);
                return Err(e);
            }
        };
        let checked = check_staged(&partial, &header, &key).await;
        if let Err(e) = checked {
            remove_partial(&partial);
            return Err(e);
        }
        // The keys go back in the keyring; what the keyring held before is put back if the
        // restore stops here.
        let key_id = header.device_id.to_string();
        let secret_id = crate::store::sync::local::secret_id(header.device_id);
        let before =
            (|| -> Result<_> { Ok((keys.load(&key_id)?, keys.load_secret(&secret_id)?)) })();
        let (had_key, had_secret) = match before {
            Ok(v) => v,
            Err(e) => {
                remove_partial(&partial);
                return Err(e);
            }
        };
        let undo = |keys: &dyn KeyStore| {
            match &had_key {
                Some(k) => {
                    let _ = keys.save(&key_id, k);
                }
                None => {
                    let _ = keys.delete(&key_id);
                }
            }
            if secrets.device_secret.is_some() {
                match &had_secret {
                    Some(s) => {
                        let _ = keys.save_secret(&secret_id, s);
                    }
                    None => {
                        let _ = keys.delete(&secret_id);
                    }
                }
            }
            remove_partial(&partial);
        };
        let saved = (|| -> Result<()> {
            keys.save(&key_id, &key)?;
            if let Some(secret) = secrets.device_secret.as_deref() {
                keys.save_secret(&secret_id, secret)?;
            }
            Ok(())
        })();
        if let Err(e) = saved {
            undo(keys);
            return Err(e);
        }
        // brought up to date first, then marked: the marker's audit event goes after what the
        // service gives back (the chain goes on unforked)
        let recovered = match self.recover_staged(&partial, keys, recovery).await {
            Ok(()) => mark_restored(&partial, &header).await,
            Err(e) => Err(e),
        };
        if let Err(e) = recovered {
            undo(keys);
            return Err(e);
        }
        let _ = std::fs::remove_file(with_suffix(&partial, ".lock"));
        if let Err(e) = std::fs::rename(&partial, &staged) {
            undo(keys);
            return Err(io("be staged", e));
        }
        // what the screen shows: whose backup it is, not the wrapped key
        Ok(BackupHeader {
            recovery: None,
            ..header
        })
    }

    /// Brings a staged snapshot of a paired counter up to date from the service (nothing to do
    /// for a counter that was never paired, or was unpaired).
    async fn recover_staged(
        &self,
        partial: &Path,
        keys: &dyn KeyStore,
        recovery: &impl RecoverStaged,
    ) -> Result<()> {
        let store = Store::open(partial, keys, self.time.clock()).await?;
        let result = match store.pairing().await {
            Ok(Some(_)) => recovery.recover_staged(&store, keys).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        store.close().await;
        result
    }
}

/// Brings a restored paired counter's store up to date from the service before it is staged:
/// what the sync client does ([`crate::SyncClient::recover`]); a test may do it otherwise.
pub trait RecoverStaged: Sync {
    /// Takes back into `store` what the counter synced after its backup, or says why not
    /// ([`BackupError::ServiceNeeded`] when the service cannot be asked).
    fn recover_staged(
        &self,
        store: &Store,
        keys: &dyn KeyStore,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
}

/// Checks a staged snapshot: a sound SQLite file of the header's device whose key check opens
/// with `key`.
async fn check_staged(path: &Path, header: &BackupHeader, key: &MasterKey) -> Result<()> {
    let mut conn = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
    )
    .await?;
    let check: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await?;
    let device: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT device_id, key_check FROM device WHERE id = 1")
            .fetch_optional(&mut conn)
            .await?;
    let id = header.device_id.to_string();
    let sound =
        check == "ok" && device.is_some_and(|(d, k)| d == id && super::key_opens(key, &id, &k));
    conn.close().await?;
    if sound {
        Ok(())
    } else {
        Err(damaged())
    }
}

/// Marks a staged snapshot as restored from `header`'s backup: its next open audits the
/// restore. Written after the snapshot was brought up to date (a paired counter's audit chain
/// goes on from what the service gave back).
async fn mark_restored(path: &Path, header: &BackupHeader) -> Result<()> {
    let mut conn = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
    )
    .await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(RESTORED_KEY)
        .bind(serde_json::json!({ "backup_created_at": ts(&header.created_at), "audit_head": header.audit_head }).to_string())
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Removes a restore's partial file and what SQLite and the lock left beside it.
fn remove_partial(partial: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal", ".lock"] {
        let _ = std::fs::remove_file(with_suffix(partial, suffix));
    }
}

/// The OS keyring lost this store's data key (a new user profile, a keyring reset) but the disk
/// is whole: the recovery passphrase unwraps the key kept in the store, which is checked
/// against the store's key check and put back in the keyring. The next open audits it. A wrong
/// passphrase changes nothing.
pub async fn unlock_with_passphrase(
    path: &Path,
    passphrase: &str,
    keys: &dyn KeyStore,
) -> Result<()> {
    let mut conn = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
    )
    .await?;
    let device: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT device_id, key_check FROM device WHERE id = 1")
            .fetch_optional(&mut conn)
            .await?;
    let wrapped: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
        .bind(RECOVERY_KEY)
        .fetch_optional(&mut conn)
        .await?;
    let (Some((device_id, check)), Some(wrapped)) = (device, wrapped) else {
        conn.close().await?;
        return Err(BackupError::NoPassphrase.into());
    };
    let wrapped: WrappedKey = serde_json::from_str(&wrapped).map_err(StoreError::corrupt)?;
    let passphrase = Zeroizing::new(passphrase.to_owned());
    let context = device_id.clone();
    let key = blocking(move || recovery::unwrap(&wrapped, &passphrase, &context))
        .await?
        .map_err(|e| match e {
            RecoveryError::WrongPassphrase => StoreError::Validation(ValidationError::new(
                "passphrase",
                "wrong_passphrase",
                "This passphrase does not open this counter's data",
            )),
            _ => StoreError::corrupt("the stored recovery key"),
        })?;
    if !super::key_opens(&key, &device_id, &check) {
        conn.close().await?;
        return Err(StoreError::corrupt(
            "the recovered key does not open this store",
        ));
    }
    keys.save(&device_id, &key)?;
    sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(UNLOCKED_KEY)
        .bind("{}")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Swaps a staged restore in place of the store at `path` (before it opens). Crash-safe: the
/// staged file is renamed over the store last, so an interrupted swap is redone next time. A
/// store that holds a shop is never replaced: the staged file is then set aside (named
/// `<store>.restore-not-applied`) and the store opens as it is.
pub(crate) async fn apply_staged(path: &Path) -> Result<bool> {
    let staged = staged_path(path);
    if !staged.is_file() {
        return Ok(false);
    }
    if path.is_file() && holds_shop(path).await? {
        tracing::warn!(
            "a staged restore found a set-up store: the store is kept, the restore set aside"
        );
        std::fs::rename(&staged, with_suffix(path, ".restore-not-applied"))
            .map_err(|e| io("be set aside", e))?;
        return Ok(false);
    }
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(with_suffix(path, suffix)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("replace the store", e)),
        }
    }
    std::fs::rename(&staged, path).map_err(|e| io("replace the store", e))?;
    sync_dir(path.parent()).map_err(|e| io("replace the store", e))?;
    Ok(true)
}

/// Removes what a backup or a restore cut off (a crash, the app closed) left beside the store:
/// snapshots in the clear and a half-staged restore. Called with the store's lock held, so
/// none of them is being written.
pub(crate) fn sweep_leftovers(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let (snapshot, partial) = (
        format!("{name}.backup-tmp-"),
        format!("{name}.restore-partial"),
    );
    for entry in entries.filter_map(|e| e.ok()) {
        let file = entry.file_name();
        let Some(f) = file.to_str() else { continue };
        if f.starts_with(&snapshot) || f.starts_with(&partial) {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(error = %e.kind(), "a backup's leftover could not be removed");
            }
        }
    }
}

/// Whether the SQLite file at `path` (its WAL included) holds a set-up shop.
async fn holds_shop(path: &Path) -> Result<bool> {
    let mut conn = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .read_only(true),
    )
    .await?;
    let table: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings'",
    )
    .fetch_optional(&mut conn)
    .await?;
    let shop: Option<i64> = match table {
        Some(_) => {
            sqlx::query_scalar("SELECT 1 FROM settings WHERE key = 'shop'")
                .fetch_optional(&mut conn)
                .await?
        }
        None => None,
    };
    conn.close().await?;
    Ok(shop.is_some())
}

impl Store {
    /// After a restore's first open (whenever the restored store first opens): audits it in the
    /// restored chain and clears the mark.
    pub(crate) async fn audit_restore(&self) -> Result<()> {
        if self
            .setting::<serde_json::Value>(UNLOCKED_KEY)
            .await?
            .is_some()
        {
            let now = self.now();
            let mut tx = self.begin_write().await?;
            sqlx::query("DELETE FROM settings WHERE key = ?")
                .bind(UNLOCKED_KEY)
                .execute(tx.conn().await?)
                .await?;
            audit::append(
                &mut tx,
                self.device_id,
                now,
                NewEvent::new(
                    None,
                    AuditAction::Update,
                    "device",
                    None,
                    "recovery.key_unlocked",
                ),
            )
            .await?;
            tx.commit().await?;
        }
        let Some(from) = self.setting::<serde_json::Value>(RESTORED_KEY).await? else {
            return Ok(());
        };
        let created = from
            .get("backup_created_at")
            .and_then(|v| v.as_str())
            .map(parse_ts)
            .transpose()?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM settings WHERE key = ?")
            .bind(RESTORED_KEY)
            .execute(tx.conn().await?)
            .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(None, AuditAction::Update, "device", None, "backup.restored").detail(
                format!(
                    "backup_created_at={}",
                    created.map(|t| ts(&t)).unwrap_or_default()
                ),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// `pos-backup-K01-1a2b3c4d-`: this counter's backups in a folder several may share (the
/// device id's random tail: its head is a time, alike for counters set up together).
fn backup_prefix(device_code: &str, device_id: Uuid) -> String {
    let id = device_id.simple().to_string();
    let short = &id[id.len() - 8..];
    format!("pos-backup-{device_code}-{short}-")
}

/// Removes this counter's oldest backups beyond `keep` (names sort by time), never `newest`:
/// the one just written stays whatever the computer's clock said when it was named.
fn prune(folder: &Path, prefix: &str, newest: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let leftover = format!(".{prefix}");
    let mut ours: Vec<PathBuf> = Vec::new();
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let Some(n) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if n.starts_with(&leftover) && n.ends_with(".partial") {
            // a backup cut off half-written (one runs at a time: not one being written now)
            let _ = std::fs::remove_file(&path);
        } else if n.starts_with(prefix)
            && n.ends_with(&format!(".{EXTENSION}"))
            // names sort by time: one dated after the newest (a clock that ran ahead, a file
            // put there) neither counts nor is removed, so it cannot push real ones out
            && n < newest
        {
            ours.push(path);
        }
    }
    ours.sort();
    // the newest is kept besides these
    let extra = ours.len().saturating_sub(keep.saturating_sub(1));
    for old in &ours[..extra] {
        if let Err(e) = std::fs::remove_file(old) {
            tracing::warn!(error = %e.kind(), "an old backup could not be removed");
        }
    }
}

/// Flushes a directory's entries (a rename) to disk where the platform allows it.
fn sync_dir(dir: Option<&Path>) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(d) = dir {
        std::fs::File::open(d)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

impl Store {
    /// Whether a restore is staged (the app must restart to finish it).
    pub fn restore_staged(&self) -> bool {
        staged_path(&self.path).is_file()
    }
}
