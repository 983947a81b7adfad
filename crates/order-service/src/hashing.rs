//! Password and PIN hashing (argon2id, deliberately slow) off the async runtime, on a bounded
//! pool of threads.

/// Password checks allowed to wait for a hashing thread, per thread. Beyond that a login is
/// refused at once (503 `busy`, `Retry-After: 1`) rather than queued: argon2's cost must not be
/// a lever that makes every other login wait (the rate limits bound each address; this bounds
/// them all together).
pub const HASH_QUEUE_PER_THREAD: usize = 16;

/// Runs password hashing and checking on the service's fixed hashing threads (one per core; see
/// [`pos_crypto::password`]), never on the runtime's blocking pool: a burst of logins queues
/// here instead of holding 19 MiB of argon2 memory on each of up to 512 blocking threads.
pub async fn on_hash_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> crate::error::ApiResult<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static HASHERS: std::sync::OnceLock<Option<(pos_crypto::password::Hashers, usize)>> =
        std::sync::OnceLock::new();
    static WAITING: AtomicUsize = AtomicUsize::new(0);
    let (hashers, threads) = HASHERS
        .get_or_init(|| {
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            pos_crypto::password::Hashers::start(threads, "password-hash")
                .ok()
                .map(|h| (h, threads))
        })
        .as_ref()
        .ok_or_else(|| crate::error::ApiError::Internal("no password hashing threads".into()))?;
    // Counted out when the job ends or is skipped (not when the request goes: the job may
    // still be queued then, and would go on counting against the bound unseen).
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let before = WAITING.fetch_add(1, Ordering::SeqCst);
    let waiting = Waiting;
    if before >= threads * HASH_QUEUE_PER_THREAD {
        return Err(crate::error::ApiError::Unavailable {
            code: "busy",
            message: "Too many logins at once; try again in a moment".into(),
            retry_after: 1,
        });
    }
    // the job owns the count; a skipped job (its caller gone) drops it too
    let job = move || {
        let _waiting = waiting;
        f()
    };
    hashers
        .run(job)
        .await
        .map_err(|e| crate::error::ApiError::Internal(e.to_string()))
}
