//! AES-256-GCM per field. Ciphertext format, version 1:
//! `0x01 | nonce (12 bytes, random) | ciphertext | tag (16 bytes)`.
//! The associated data binds a ciphertext to its table, record and field, so a value copied
//! to another record or field fails to decrypt.

use super::MasterKey;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

const VERSION_1: u8 = 1;
const NONCE_LEN: usize = 12;

/// Where a ciphertext belongs.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub record_id: &'a str,
    pub field: &'a str,
}

impl Aad<'_> {
    fn bytes(&self) -> Vec<u8> {
        format!(
            "pos:v1\u{1f}{}\u{1f}{}\u{1f}{}",
            self.table, self.record_id, self.field
        )
        .into_bytes()
    }
}

/// Encrypts and decrypts fields and computes blind indexes, with keys derived (HKDF-SHA256)
/// from the master key: one for AES-GCM, one for the HMAC index.
pub struct FieldCipher {
    aead: Aes256Gcm,
    index_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldCipher(********)")
    }
}

impl FieldCipher {
    pub fn new(master: &MasterKey) -> Self {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"offline-order-pos"), master.bytes());
        let mut enc = Zeroizing::new([0u8; 32]);
        let mut idx = Zeroizing::new([0u8; 32]);
        // 32-byte outputs are always within HKDF-SHA256's limit.
        let _ = hk.expand(b"pos/v1/field-encryption", enc.as_mut());
        let _ = hk.expand(b"pos/v1/blind-index", idx.as_mut());
        let aead = Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(enc.as_ref()));
        FieldCipher {
            aead,
            index_key: idx,
        }
    }

    pub fn encrypt(&self, plaintext: &[u8], aad: Aad<'_>) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = aad.bytes();
        // AES-GCM encryption only fails for inputs beyond 64 GiB.
        let ct = self
            .aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION_1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn encrypt_str(&self, plaintext: &str, aad: Aad<'_>) -> Vec<u8> {
        self.encrypt(plaintext.as_bytes(), aad)
    }

    /// `None` when the ciphertext is malformed, of an unknown version, tampered with, or
    /// belongs to another record or field.
    pub fn decrypt(&self, blob: &[u8], aad: Aad<'_>) -> Option<Zeroizing<Vec<u8>>> {
        let (&version, rest) = blob.split_first()?;
        if version != VERSION_1 || rest.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let aad = aad.bytes();
        self.aead
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .ok()
            .map(Zeroizing::new)
    }

    pub fn decrypt_string(&self, blob: &[u8], aad: Aad<'_>) -> Option<String> {
        let bytes = self.decrypt(blob, aad)?;
        String::from_utf8(bytes.to_vec()).ok()
    }

    /// A keyed HMAC of a normalised value, for exact search without storing the value.
    pub fn blind_index(&self, kind: &str, normalized: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.index_key.as_ref())
            .unwrap_or_else(|_| unreachable_hmac());
        mac.update(kind.as_bytes());
        mac.update(&[0x1f]);
        mac.update(normalized.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// HMAC accepts keys of any length; this is never reached.
fn unreachable_hmac() -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable_hmac())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aad<'a>(id: &'a str, field: &'a str) -> Aad<'a> {
        Aad {
            table: "orders",
            record_id: id,
            field,
        }
    }

    #[test]
    fn round_trip_and_binding() {
        let c = FieldCipher::new(&MasterKey::generate());
        let ct = c.encrypt_str("Siti Rahayu", aad("o1", "customer_name"));
        assert_eq!(ct[0], 1);
        assert_eq!(
            c.decrypt_string(&ct, aad("o1", "customer_name")).unwrap(),
            "Siti Rahayu"
        );
        // moved to another record or field
        assert!(c.decrypt(&ct, aad("o2", "customer_name")).is_none());
        assert!(c.decrypt(&ct, aad("o1", "customer_email")).is_none());
        // any flipped byte
        for i in 0..ct.len() {
            let mut t = ct.clone();
            t[i] ^= 0x01;
            assert!(
                c.decrypt(&t, aad("o1", "customer_name")).is_none(),
                "byte {i}"
            );
        }
        // random nonce: same value, different ciphertext
        assert_ne!(ct, c.encrypt_str("Siti Rahayu", aad("o1", "customer_name")));
        // another key cannot read it
        let other = FieldCipher::new(&MasterKey::generate());
        assert!(other.decrypt(&ct, aad("o1", "customer_name")).is_none());
    }

    #[test]
    fn blind_index_is_keyed_and_deterministic() {
        let k = MasterKey::generate();
        let c = FieldCipher::new(&k);
        assert_eq!(
            c.blind_index("phone", "62812"),
            c.blind_index("phone", "62812")
        );
        assert_ne!(
            c.blind_index("phone", "62812"),
            c.blind_index("email", "62812")
        );
        let other = FieldCipher::new(&MasterKey::generate());
        assert_ne!(
            c.blind_index("phone", "62812"),
            other.blind_index("phone", "62812")
        );
    }
}
