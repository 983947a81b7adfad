//! Field encryption for PII at rest and blind indexes for exact search, the same on the
//! desktop and in the order-service.

mod cipher;
mod master_key;

pub use cipher::{Aad, FieldCipher};
pub use master_key::MasterKey;
