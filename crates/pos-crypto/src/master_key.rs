use base64::Engine;
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The store's 256-bit data key, kept in the OS keyring. Zeroed on drop; `Debug` prints
/// nothing of it; it has no `Clone`, `Display` or `Serialize`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        MasterKey(k)
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The form kept in the keyring. The returned string is zeroed on drop.
    pub fn to_base64(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.0))
    }

    pub fn from_base64(s: &str) -> Option<Self> {
        let mut raw = zeroize::Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok()?,
        );
        if raw.len() != 32 {
            return None;
        }
        let mut k = [0u8; 32];
        k.copy_from_slice(&raw);
        raw.zeroize();
        Some(MasterKey(k))
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(********)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let k = MasterKey::generate();
        let b64 = k.to_base64();
        assert_eq!(format!("{k:?}"), "MasterKey(********)");
        assert!(!format!("{k:?}").contains(b64.as_str()));
        let back = MasterKey::from_base64(&b64).unwrap();
        assert_eq!(back.bytes(), k.bytes());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_none());
    }
}
