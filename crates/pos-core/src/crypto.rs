//! Field encryption and blind indexes (from `pos-crypto`, shared with the order-service).

pub use pos_crypto::{Aad, FieldCipher, MasterKey};
