use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use pos_domain::ValidationError;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A staff PIN: 4 to 8 digits. Never printed, never serialised, zeroed on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn new(raw: &str) -> Result<Pin, ValidationError> {
        let raw = raw.trim();
        if !(4..=8).contains(&raw.len()) || !raw.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValidationError::new(
                "pin",
                "invalid_pin",
                "PIN must be 4 to 8 digits",
            ));
        }
        Ok(Pin(raw.to_owned()))
    }

    /// An argon2id verifier (PHC string) with a random salt.
    pub(crate) fn hash(&self) -> String {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    }

    pub(crate) fn verify(&self, verifier: &str) -> bool {
        PasswordHash::new(verifier)
            .map(|h| {
                Argon2::default()
                    .verify_password(self.0.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs PIN hashing and checking (argon2id, 19 MiB of working memory each) on one dedicated
/// thread. On the runtime's blocking pool every new thread got its own malloc arena, and each
/// arena kept a 19 MiB block after its hash: a long-running app grew by that much per thread.
pub(crate) async fn on_pin_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, crate::StoreError> {
    static WORKER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    let worker = WORKER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("pos-pin".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .ok()
            .map(|_| tx)
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    match worker {
        Some(w) if w.send(job).is_ok() => {}
        _ => return Err(crate::StoreError::corrupt("the PIN thread is not running")),
    }
    rx.await
        .map_err(|_| crate::StoreError::corrupt("the PIN thread stopped"))
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
