//! The desktop POS engine: an encrypted, audited SQLite order store with staff and roles and a
//! sync outbox. No Tauri here: the shell calls these functions and nothing else.

pub mod audit;
pub mod clock;
pub mod crypto;
mod db;
pub mod error;
pub mod keystore;
pub mod outbox;
pub mod pin;
mod search_index;
pub mod session;
pub mod settings;
pub mod store;
pub use store::{backup, orders, staff};
pub mod sync;
mod write_tx;

pub use audit::{AuditFilter, ChainReport};
pub use backup::{BackupConfig, BackupReason, BackupRecord, BackupStatus};
pub use clock::{Clock, SystemClock};
pub use error::StoreError;
pub use keystore::{KeyStore, KeyStoreError, KeyringBackend, OsKeyring};
pub use orders::{
    ListQuery, NewOrder, OrderDetail, OrderEdit, OrderPage, OrderPreview, PaymentInput,
    PreviewInput, SearchKind,
};
pub use pin::Pin;
pub use session::Session;
pub use settings::{AppSettings, Language};
pub use staff::{ApprovalInput, SetupInput, StaffMember};
pub use store::{ShopConfig, Store};
pub use sync::{
    AttentionItem, Pairing, RetryPolicy, ServiceState, SyncClient, SyncError, SyncFailure,
    SyncProgress, SyncReport, SyncStatus, Tally,
};
