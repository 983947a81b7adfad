use crate::keystore::KeyStoreError;
use chrono::{DateTime, Utc};
use pos_domain::{Money, ValidationError};

/// Everything the core can refuse or fail with. Messages are for a cashier to act on; none
/// carries PII or key material.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Validation(#[from] ValidationError),
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error(
        "The order was changed meanwhile (it is now version {current}); reopen it and try again"
    )]
    StaleVersion { current: u32 },
    #[error("A payment of {amount} is more than the outstanding balance of {balance}")]
    Overpayment { amount: Money, balance: Money },
    #[error("Wrong PIN ({attempts_left} attempts left before a lockout)")]
    WrongPin { attempts_left: u32 },
    #[error("Too many wrong PINs: this user is locked until {until}")]
    LockedOut { until: DateTime<Utc> },
    #[error("An owner or manager must approve this")]
    ApprovalRequired,
    #[error("The shop is not set up yet")]
    NotSetUp,
    #[error("The shop is already set up")]
    AlreadySetUp,
    #[error("{0}")]
    Backup(#[from] BackupError),
    #[error("encryption key: {0}")]
    Key(#[from] KeyStoreError),
    #[error("stored data could not be decrypted (wrong key or tampered record)")]
    Decrypt,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// What a person is shown for an internal failure, whose own text may name files or SQL.
    pub const INTERNAL_MESSAGE: &'static str =
        "Something went wrong while saving; nothing was changed. Please try again.";

    /// A failure of the store itself (database, migration, inconsistent data) rather than a
    /// refusal: logged in full, shown as [`Self::INTERNAL_MESSAGE`].
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            StoreError::Database(_) | StoreError::Migrate(_) | StoreError::Corrupt(_)
        )
    }

    /// A stable code for the UI and logs.
    pub fn code(&self) -> &str {
        match self {
            StoreError::Validation(v) => &v.code,
            StoreError::NotFound { .. } => "not_found",
            StoreError::Forbidden { .. } => "forbidden",
            StoreError::Conflict { code, .. } => code,
            StoreError::StaleVersion { .. } => "stale_version",
            StoreError::Overpayment { .. } => "overpayment",
            StoreError::WrongPin { .. } => "wrong_pin",
            StoreError::LockedOut { .. } => "locked_out",
            StoreError::ApprovalRequired => "approval_required",
            StoreError::NotSetUp => "not_set_up",
            StoreError::AlreadySetUp => "already_set_up",
            StoreError::Backup(b) => b.code(),
            StoreError::Key(_) => "key_error",
            StoreError::Decrypt => "decrypt_failed",
            StoreError::Database(_) => "database_error",
            StoreError::Migrate(_) => "migration_error",
            StoreError::Corrupt(_) => "corrupt",
        }
    }

    /// The input field the error concerns, for showing it next to that field.
    pub fn field(&self) -> Option<&str> {
        match self {
            StoreError::Validation(v) => Some(&v.field),
            StoreError::Overpayment { .. } => Some("amount"),
            StoreError::WrongPin { .. } | StoreError::LockedOut { .. } => Some("pin"),
            _ => None,
        }
    }

    /// The values the message names (attempts left, a lockout's end, amounts), so a
    /// translation can name them too. Amounts are decimal strings, times RFC 3339.
    pub fn params(&self) -> Vec<(String, String)> {
        let named = |k: &str, v: String| (k.to_owned(), v);
        match self {
            StoreError::Validation(v) => v.params.clone().into_iter().collect(),
            StoreError::WrongPin { attempts_left } => {
                vec![named("attempts_left", attempts_left.to_string())]
            }
            StoreError::LockedOut { until } => vec![named("until", until.to_rfc3339())],
            StoreError::Overpayment { amount, balance } => vec![
                named("amount", amount.to_string()),
                named("balance", balance.to_string()),
            ],
            _ => Vec::new(),
        }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}

impl From<pos_domain::LedgerError> for StoreError {
    fn from(e: pos_domain::LedgerError) -> Self {
        use pos_domain::LedgerError as L;
        match e {
            L::Invalid(v) => StoreError::Validation(v),
            L::Overpayment { amount, balance } => StoreError::Overpayment { amount, balance },
            L::ApprovalRequired => StoreError::ApprovalRequired,
            L::UnknownPayment => StoreError::NotFound { entity: "payment" },
            e if e.is_invalid_input() => StoreError::Validation(ValidationError::new(
                e.field().unwrap_or("amount"),
                e.rule_code(),
                e.to_string(),
            )),
            e => StoreError::Conflict {
                code: e.rule_code(),
                message: e.to_string(),
            },
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a backup or a restore could not be done (besides a refused input: a damaged file, a
/// wrong passphrase, which are [`ValidationError`]s of their field).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("Set a recovery passphrase first (Settings → Backups)")]
    NoPassphrase,
    #[error("Pick a backup folder first (Settings → Backups)")]
    NoFolder,
    #[error("The backup folder cannot be reached (is the USB stick plugged in?)")]
    FolderUnavailable,
    #[error("The backup could not {0}: {1}")]
    Io(&'static str, std::io::ErrorKind),
    #[error("The store's folder name is not valid text")]
    PathNotText,
    #[error(
        "The backup read back from the folder did not match what was written (is the disk failing?)"
    )]
    Unverified,
    #[error("A backup is restored only on a new install; this counter already holds a shop")]
    NotNewInstall,
    #[error("A backup is being restored: restart the app to finish it")]
    RestoreStaged,
    #[error(
        "The shop's service holds another audit trail for this counter than the backup continues: this backup is not the counter's latest line (was it restored before?)"
    )]
    ChainMismatch,
    #[error(
        "This counter was paired with the shop's service, which cannot be reached now ({0}). Connect to it to restore: what the counter synced after the backup comes back from it"
    )]
    ServiceNeeded(String),
}

impl BackupError {
    /// A stable code for the UI and logs.
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::NoPassphrase => "no_recovery_passphrase",
            BackupError::NoFolder => "no_backup_folder",
            BackupError::FolderUnavailable => "folder_unavailable",
            BackupError::Io(..) => "backup_io",
            BackupError::PathNotText => "backup_io",
            BackupError::Unverified => "backup_unverified",
            BackupError::NotNewInstall => "already_set_up",
            BackupError::RestoreStaged => "restore_staged",
            BackupError::ChainMismatch => "restore_chain_mismatch",
            BackupError::ServiceNeeded(_) => "restore_needs_service",
        }
    }
}
