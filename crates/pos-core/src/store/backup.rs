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

/// A parsed backup file: header, the bytes the seal binds to, and the sealed body.
struct Parsed<'a> {
    header: BackupHeader,
    aad: &'a [u8],
    sealed: &'a [u8],
}

fn parse(file: &[u8]) -> Result<Parsed<'_>> {
    if file.len() < MAGIC.len() + 4 + 32 || &file[..MAGIC.len()] != MAGIC {
        return Err(StoreError::Validation(ValidationError::new(
            "file",
            "not_a_backup",
            "This file is not a backup of this app",
        )));
    }
    let (content, trailer) = file.split_at(file.len() - 32);
    if Sha256::digest(content).as_slice() != trailer {
        return Err(damaged());
    }
    let len_bytes: [u8; 4] = content[MAGIC.len()..MAGIC.len() + 4]
        .try_into()
        .map_err(|_| damaged())?;
    let len = u32::from_le_bytes(len_bytes);
    let start = MAGIC.len() + 4;
    let end = start + len as usize;
    if len > MAX_HEADER || end > content.len() {
        return Err(damaged());
    }
    let header: BackupHeader =
        serde_json::from_slice(&content[start..end]).map_err(|_| damaged())?;
    if header.format != 1 {
        return Err(StoreError::Validation(ValidationError::new(
            "file",
            "backup_version",
            "This backup was made by a newer version of the app; update the app first",
        )));
    }
    Ok(Parsed {
        header,
        aad: &content[..end],
        sealed: &content[end..],
    })
}

fn assemble(header: &BackupHeader, key: &MasterKey, body: &[u8]) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(header).map_err(StoreError::corrupt)?;
    let mut out = Vec::with_capacity(body.len() + json.len() + 128);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    let sealed = recovery::seal(key, &out, body).map_err(|_| damaged())?;
    out.extend_from_slice(&sealed);
    let hash = Sha256::digest(&out);
    out.extend_from_slice(&hash);
    Ok(out)
}

/// Splits a body into its secrets and the snapshot.
fn split_body(body: &[u8]) -> Result<(BodySecrets, &[u8])> {
    let len_bytes: [u8; 4] = body
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(damaged)?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    let secrets = body.get(4..4 + len).ok_or_else(damaged)?;
    let secrets: BodySecrets = serde_json::from_slice(secrets).map_err(|_| damaged())?;
    Ok((secrets, &body[4 + len..]))
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
        let wrapped = blocking(move || {
            recovery::wrap(&key, passphrase.as_bytes(), recovery::DEFAULT_KDF, &context)
        })
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
        let Some(shop) = self.config() else {
            return Ok(None);
        };
        let status = self.backup_status().await?;
        if !status.passphrase_set || status.config.folder.is_none() {
            return Ok(None);
        }
        let last_day = status.last_success.map(|r| shop.business_date(r.at));
        if !pos_domain::backup::daily_due(last_day, shop.business_date(self.now())) {
            return Ok(None);
        }
        self.backup(None, keys, BackupReason::Daily).await.map(Some)
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
        if let Some(s) = session {
            if !s.role().can_approve() {
                return Err(StoreError::Forbidden {
                    message: "Only an owner or a manager may take a backup".into(),
                });
            }
        }
        self.require_config()?;
        let result = self.write_backup(keys).await;
        let now = self.now();
        let mut state: BackupState = self.setting(STATE_KEY).await?.unwrap_or_default();
        let actor = session.map(|s| (s.staff_id(), s.role()));
        let event = match &result {
            Ok(r) => {
                state.last_success = Some(r.clone());
                state.last_failure = None;
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
                tracing::warn!(code = e.code(), error = %e, "backup failed");
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
        result
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
        let tmp = with_suffix(&self.path, ".backup-tmp");
        let _ = std::fs::remove_file(&tmp);
        let snapshot = async {
            let target = tmp.to_str().ok_or(BackupError::PathNotText)?;
            sqlx::query("VACUUM INTO ?")
                .bind(target)
                .execute(&self.pool)
                .await?;
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
            let bytes = tokio::fs::read(&tmp)
                .await
                .map_err(|e| io("read its snapshot", e))?;
            Ok::<_, StoreError>((bytes, orders as u64, audit_head.unwrap_or(0) as u64))
        }
        .await;
        let _ = std::fs::remove_file(&tmp);
        let (snapshot, orders, audit_head) = snapshot?;

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
        let secrets =
            serde_json::to_vec(&BodySecrets { device_secret }).map_err(StoreError::corrupt)?;
        let (file, digest) = blocking(move || {
            let mut body = Zeroizing::new(Vec::with_capacity(4 + secrets.len() + snapshot.len()));
            body.extend_from_slice(&(secrets.len() as u32).to_le_bytes());
            body.extend_from_slice(&secrets);
            body.extend_from_slice(&snapshot);
            let digest = Sha256::digest(body.as_slice());
            assemble(&header, &key, &body).map(|f| (f, (digest, key)))
        })
        .await??;
        let (digest, key) = digest;

        // Written under a temporary name, flushed, then renamed: a half-written file never
        // carries the backup's name.
        let stamp = now.format("%Y%m%d-%H%M%S%3fZ");
        let prefix = backup_prefix(&shop.device_code, self.device_id);
        let name = format!("{prefix}{stamp}.{EXTENSION}");
        let target = folder.join(&name);
        let partial = folder.join(format!(".{name}.partial"));
        let bytes = file.len() as u64;
        let written = blocking({
            let (partial, target) = (partial.clone(), target.clone());
            move || -> std::io::Result<()> {
                use std::io::Write;
                let mut f = std::fs::File::create(&partial)?;
                f.write_all(&file)?;
                f.sync_all()?;
                drop(f);
                std::fs::rename(&partial, &target)?;
                sync_dir(target.parent())
            }
        })
        .await?;
        if let Err(e) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(io("be written to the folder", e));
        }

        // Verified as written: read back, checked whole, opened and compared.
        let back = tokio::fs::read(&target)
            .await
            .map_err(|e| io("be read back", e))?;
        let ok = blocking(move || -> bool {
            parse(&back).is_ok_and(|p| {
                recovery::open(&key, p.aad, p.sealed)
                    .is_ok_and(|body| Sha256::digest(body.as_slice()) == digest)
            })
        })
        .await?;
        if !ok {
            let _ = std::fs::remove_file(&target);
            return Err(BackupError::Unverified.into());
        }
        prune(&folder, &prefix, config.keep as usize);
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
        if self.config().is_some() {
            return Err(BackupError::NotNewInstall.into());
        }
        let bytes = tokio::fs::read(file).await.map_err(|e| {
            StoreError::Validation(ValidationError::new(
                "file",
                "unreadable",
                format!("The backup file cannot be read: {}", e.kind()),
            ))
        })?;
        let passphrase = Zeroizing::new(passphrase.to_owned());
        let (header, body, key) = blocking(
            move || -> Result<(BackupHeader, Zeroizing<Vec<u8>>, MasterKey)> {
                let p = parse(&bytes)?;
                let wrapped = p.header.recovery.as_ref().ok_or_else(damaged)?;
                let context = p.header.device_id.to_string();
                let key = recovery::unwrap(wrapped, passphrase.as_bytes(), &context).map_err(
                    |e| match e {
                        RecoveryError::WrongPassphrase => {
                            StoreError::Validation(ValidationError::new(
                                "passphrase",
                                "wrong_passphrase",
                                "This passphrase does not open the backup",
                            ))
                        }
                        _ => damaged(),
                    },
                )?;
                let body = recovery::open(&key, p.aad, p.sealed).map_err(|_| damaged())?;
                Ok((p.header, body, key))
            },
        )
        .await??;
        let (secrets, snapshot) = split_body(&body)?;

        // Staged under a temporary name, checked as a store of this device under this key,
        // marked as restored, then named for the next open.
        let staged = staged_path(&self.path);
        let partial = with_suffix(&self.path, ".restore-partial");
        let _ = std::fs::remove_file(&partial);
        let write = {
            let (partial, snapshot) = (partial.clone(), snapshot.to_vec());
            blocking(move || -> std::io::Result<()> {
                use std::io::Write;
                let mut f = std::fs::File::create(&partial)?;
                f.write_all(&snapshot)?;
                f.sync_all()
            })
            .await?
        };
        if let Err(e) = write {
            let _ = std::fs::remove_file(&partial);
            return Err(io("be staged", e));
        }
        let checked = check_staged(&partial, &header, &key).await;
        if let Err(e) = checked {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        // The keys go back in the keyring (those it lacks; undone if the restore stops here).
        let key_id = header.device_id.to_string();
        let secret_id = crate::store::sync::local::secret_id(header.device_id);
        let had_key = keys.load(&key_id)?.is_some();
        let had_secret = keys.load_secret(&secret_id)?.is_some();
        let undo = |keys: &dyn KeyStore| {
            if !had_key {
                let _ = keys.delete(&key_id);
            }
            if !had_secret && secrets.device_secret.is_some() {
                let _ = keys.delete(&secret_id);
            }
            let _ = std::fs::remove_file(&partial);
            let _ = std::fs::remove_file(with_suffix(&partial, ".lock"));
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
        if let Err(e) = self.recover_staged(&partial, keys, recovery).await {
            undo(keys);
            return Err(e);
        }
        let _ = std::fs::remove_file(with_suffix(&partial, ".lock"));
        if let Err(e) = std::fs::rename(&partial, &staged) {
            undo(keys);
            return Err(io("be staged", e));
        }
        Ok(header)
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
/// with `key`; then marks it as restored (its next open audits the restore).
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
    if !sound {
        conn.close().await?;
        return Err(damaged());
    }
    sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(RESTORED_KEY)
        .bind(serde_json::json!({ "backup_created_at": ts(&header.created_at), "audit_head": header.audit_head }).to_string())
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Swaps a staged restore in place of the store at `path` (before it opens). Crash-safe: the
/// staged file is renamed over the store last, so an interrupted swap is redone next time.
pub(crate) fn apply_staged(path: &Path) -> Result<bool> {
    let staged = staged_path(path);
    if !staged.is_file() {
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

impl Store {
    /// After a restore's first open: audits it (in the restored chain) and clears the mark.
    pub(crate) async fn audit_restore(&self) -> Result<()> {
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

/// `pos-backup-K01-1a2b3c4d-`: this counter's backups in a folder several may share.
fn backup_prefix(device_code: &str, device_id: Uuid) -> String {
    let short = &device_id.simple().to_string()[..8];
    format!("pos-backup-{device_code}-{short}-")
}

/// Removes this counter's oldest backups beyond `keep` (names sort by time).
fn prune(folder: &Path, prefix: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let mut ours: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(&format!(".{EXTENSION}")))
        })
        .collect();
    ours.sort();
    let extra = ours.len().saturating_sub(keep);
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
