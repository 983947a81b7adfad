use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
        let params = Params::default();
        let mut raw_salt = [0u8; 64];
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let hashed = salt
            .as_salt()
            .decode_b64(&mut raw_salt)
            .ok()
            .and_then(|salt_bytes| {
                argon2id(
                    &params,
                    Version::V0x13,
                    self.0.as_bytes(),
                    salt_bytes,
                    &mut out,
                )
            })
            .and_then(|()| {
                Some(PasswordHash {
                    algorithm: Algorithm::Argon2id.ident(),
                    version: Some(Version::V0x13.into()),
                    params: ParamsString::try_from(&params).ok()?,
                    salt: Some(salt.as_salt()),
                    hash: Some(Output::new(&out).ok()?),
                })
            })
            .map(|h| h.to_string())
            .unwrap_or_default();
        out.zeroize();
        hashed
    }

    /// Whether this PIN matches `verifier` (an argon2id PHC string); a malformed verifier, or
    /// one asking for more than [`MAX_WORKING_MEMORY_KIB`], matches nothing.
    pub(crate) fn verify(&self, verifier: &str) -> bool {
        let Ok(h) = PasswordHash::new(verifier) else {
            return false;
        };
        let (Ok(Algorithm::Argon2id), Ok(params), Some(salt), Some(expected)) = (
            Algorithm::try_from(h.algorithm),
            Params::try_from(&h),
            h.salt,
            h.hash,
        ) else {
            return false;
        };
        let Ok(version) = h.version.map(Version::try_from).transpose() else {
            return false;
        };
        let mut raw_salt = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut raw_salt) else {
            return false;
        };
        let mut out = vec![0u8; expected.len()];
        let ok = argon2id(
            &params,
            version.unwrap_or_default(),
            self.0.as_bytes(),
            salt_bytes,
            &mut out,
        )
        .and_then(|()| Output::new(&out).ok())
        // `Output`'s equality is constant-time.
        .is_some_and(|computed| computed == expected);
        out.zeroize();
        ok
    }
}

/// The most working memory a stored verifier may ask for (64 MiB; ours use 19 MiB).
pub const MAX_WORKING_MEMORY_KIB: u32 = 64 * 1024;

thread_local! {
    /// argon2's working memory, allocated once per thread (PIN work runs on one thread) and
    /// reused. Allocating 19 MiB per hash made glibc keep every freed block: the app grew by
    /// 19 MiB per login until about 200 MiB.
    static WORKING_MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// argon2id of `pwd` into `out`, in the thread's reused working memory, which is wiped after.
fn argon2id(
    params: &Params,
    version: Version,
    pwd: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Option<()> {
    if params.m_cost() > MAX_WORKING_MEMORY_KIB {
        return None;
    }
    let argon = Argon2::new(Algorithm::Argon2id, version, params.clone());
    WORKING_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let r = argon.hash_password_into_with_memory(pwd, salt, out, &mut memory[..blocks]);
        memory[..blocks].iter_mut().for_each(Zeroize::zeroize);
        r.ok()
    })
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

    /// Verifiers made by argon2's own hasher (as before the working memory was reused, and as
    /// the service makes them) still verify, and ours verify there.
    #[test]
    fn verifiers_are_standard_argon2id_phc_strings() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let p = Pin::new("13579").unwrap();
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"13579", &salt)
            .unwrap()
            .to_string();
        assert!(p.verify(&theirs));
        assert!(!Pin::new("13578").unwrap().verify(&theirs));
        let ours = p.hash();
        assert!(Argon2::default()
            .verify_password(b"13579", &PasswordHash::new(&ours).unwrap())
            .is_ok());
        // argon2i/argon2d verifiers and absurd memory costs are refused, not computed
        let argon2i = theirs.replacen("$argon2id$", "$argon2i$", 1);
        assert!(!p.verify(&argon2i));
        let huge = theirs.replacen("m=19456", "m=4194304", 1);
        assert_ne!(huge, theirs);
        assert!(!p.verify(&huge));
    }
}
