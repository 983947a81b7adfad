//! Sync with the order-service: the HTTP client ([`client`]) that pushes the outbox and the
//! audit chain and pulls central changes. What sync keeps in the store (pairing, delivery
//! states, needs-attention, applying answers) is `crate::store::sync`; its types are
//! re-exported here.

pub mod client;
mod transport;

pub use crate::store::sync::*;
pub use client::{RetryPolicy, SyncClient, SyncError};
