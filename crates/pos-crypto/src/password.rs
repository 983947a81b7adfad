//! argon2id verifiers (standard PHC strings) for passwords and PINs, on both sides.
//!
//! argon2id needs 19 MiB of working memory per hash. Allocated afresh each time, glibc kept the
//! freed blocks on the desktop's PIN thread (its mmap threshold rises to the first freed block's
//! size, and the aligned blocks then come from the heap and are not reused): the app grew by
//! 19 MiB per login, to about 200 MiB. So the memory is allocated once per thread and reused
//! (wiped after each use), and hashing runs on a fixed set of [`Hashers`] threads — never on a
//! runtime's blocking pool, where a burst of logins could hold 19 MiB on each of hundreds of
//! threads.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::Zeroize;

/// The most working memory a stored verifier may ask for (64 MiB; ours use 19 MiB).
pub const MAX_WORKING_MEMORY_KIB: u32 = 64 * 1024;

/// An argon2id verifier (PHC string, default parameters) of `secret` with a random salt.
pub fn hash(secret: &[u8]) -> Option<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let params = Params::default();
    let mut raw_salt = [0u8; 64];
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let verifier = salt
        .as_salt()
        .decode_b64(&mut raw_salt)
        .ok()
        .and_then(|salt_bytes| argon2id(&params, Version::V0x13, secret, salt_bytes, &mut out))
        .and_then(|()| {
            Some(PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).ok()?,
                salt: Some(salt.as_salt()),
                hash: Some(Output::new(&out).ok()?),
            })
        })
        .map(|h| h.to_string());
    out.zeroize();
    verifier
}

/// Whether `secret` matches `verifier` (an argon2id PHC string); a malformed verifier, another
/// algorithm, or one asking for more than [`MAX_WORKING_MEMORY_KIB`] matches nothing.
pub fn verify(secret: &[u8], verifier: &str) -> bool {
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
        secret,
        salt_bytes,
        &mut out,
    )
    .and_then(|()| Output::new(&out).ok())
    // `Output`'s equality is constant-time.
    .is_some_and(|computed| computed == expected);
    out.zeroize();
    ok
}

thread_local! {
    static WORKING_MEMORY: std::cell::RefCell<Vec<Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// argon2id of `secret` into `out`, in the thread's reused working memory, wiped after.
fn argon2id(
    params: &Params,
    version: Version,
    secret: &[u8],
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
        let r = argon.hash_password_into_with_memory(secret, salt, out, &mut memory[..blocks]);
        memory[..blocks].iter_mut().for_each(Zeroize::zeroize);
        r.ok()
    })
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads for hashing work (each keeps its own 19 MiB once it has hashed).
pub struct Hashers {
    jobs: std::sync::mpsc::Sender<Job>,
}

/// The hashing threads are gone (they could not be started, or one panicked holding the queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashersGone;

impl std::fmt::Display for HashersGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the password hashing threads are not running")
    }
}

impl std::error::Error for HashersGone {}

impl Hashers {
    /// Starts `threads` threads (at least one) named `name`.
    pub fn start(threads: usize, name: &str) -> std::io::Result<Hashers> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for _ in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job, not while it runs.
                    let job = match rx.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })?;
        }
        Ok(Hashers { jobs: tx })
    }

    /// Runs `f` on one of the threads and waits for its result without blocking the caller's
    /// async runtime. A job whose caller has gone (its future dropped: a client hung up) by the
    /// time a thread takes it is skipped, so abandoned work does not pile up.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashersGone> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if !tx.is_closed() {
                let _ = tx.send(f());
            }
        });
        self.jobs.send(job).map_err(|_| HashersGone)?;
        rx.await.map_err(|_| HashersGone)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Verifiers made by argon2's own hasher still verify, ours verify there, and other
    /// algorithms or absurd memory costs are refused rather than computed.
    #[test]
    fn verifiers_are_standard_argon2id_phc_strings() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"13579", &salt)
            .unwrap()
            .to_string();
        assert!(verify(b"13579", &theirs));
        assert!(!verify(b"13578", &theirs));
        let ours = hash(b"13579").unwrap();
        assert!(ours.starts_with("$argon2id$"));
        assert!(!ours.contains("13579"));
        assert!(Argon2::default()
            .verify_password(b"13579", &PasswordHash::new(&ours).unwrap())
            .is_ok());
        assert!(!verify(
            b"13579",
            &theirs.replacen("$argon2id$", "$argon2i$", 1)
        ));
        let huge = theirs.replacen("m=19456", "m=4194304", 1);
        assert_ne!(huge, theirs);
        assert!(!verify(b"13579", &huge));
        assert!(!verify(b"13579", "garbage"));
    }

    #[tokio::test]
    async fn hashers_run_jobs_on_their_threads() {
        let h = Hashers::start(2, "test-hash").unwrap();
        let name = h
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("test-hash"));
        let v = h.run(|| hash(b"2468").unwrap()).await.unwrap();
        assert!(h.run(move || verify(b"2468", &v)).await.unwrap());
    }
}
