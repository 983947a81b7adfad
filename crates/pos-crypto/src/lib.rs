//! Field encryption for PII at rest, blind indexes for exact search and argon2id verifiers for
//! passwords and PINs, the same on the desktop and in the order-service; and the recovery of a
//! data key by passphrase, with whole-file sealing for backups ([`recovery`]).

mod cipher;
pub mod customer;
mod master_key;
pub mod password;
pub mod recovery;

pub use cipher::{Aad, FieldCipher};
pub use master_key::MasterKey;
