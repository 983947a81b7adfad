use pos_domain::ValidationError;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A staff PIN: 4 to 8 digits. Never printed, never serialised, zeroed on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn new(raw: &str) -> Result<Pin, ValidationError> {
        Ok(Pin(pos_domain::staff::pin(raw)?.to_owned()))
    }

    /// An argon2id verifier (PHC string) with a random salt.
    pub(crate) fn hash(&self) -> String {
        pos_crypto::password::hash(self.0.as_bytes()).unwrap_or_default()
    }

    pub(crate) fn verify(&self, verifier: &str) -> bool {
        pos_crypto::password::verify(self.0.as_bytes(), verifier)
    }
}

/// Runs PIN hashing and checking on one dedicated thread (see [`pos_crypto::password`]: one
/// thread keeps one 19 MiB working memory, reused).
pub(crate) async fn on_pin_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, crate::StoreError> {
    static WORKER: std::sync::OnceLock<Option<pos_crypto::password::Hashers>> =
        std::sync::OnceLock::new();
    WORKER
        .get_or_init(|| pos_crypto::password::Hashers::start(1, "pos-pin").ok())
        .as_ref()
        .ok_or_else(|| crate::StoreError::corrupt("the PIN thread is not running"))?
        .run(f)
        .await
        .map_err(crate::StoreError::corrupt)
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(****)")
    }
}

impl<'de> serde::Deserialize<'de> for Pin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = zeroize::Zeroizing::new(String::deserialize(d)?);
        Pin::new(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_verification() {
        assert!(Pin::new("123").is_err());
        assert!(Pin::new("123456789").is_err());
        assert!(Pin::new("12a4").is_err());
        let p = Pin::new("2468").unwrap();
        assert_eq!(format!("{p:?}"), "Pin(****)");
        let h = p.hash();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("2468"));
        assert!(p.verify(&h));
        assert!(!Pin::new("2469").unwrap().verify(&h));
        assert!(!p.verify("garbage"));
    }
}
