//! Locking an account after wrong secrets (a counter's PIN, the service's password), written
//! once for both programs.
//!
//! Every `free_attempts` wrong secrets in a row lock the account; the first lock lasts `first`,
//! each further one twice the one before, up to `longest`. The count starts again only after
//! the right secret. While locked, no secret is checked at all. This is the usual back-off of
//! NIST SP 800-63B §5.2.2 ("rate limiting (throttling)": at most 100 consecutive failed
//! attempts on one account, with increasing waits), far stricter than its ceiling.

use chrono::{DateTime, Duration, Utc};

/// A lockout policy (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub free_attempts: u32,
    pub first: Duration,
    pub longest: Duration,
}

/// What one more wrong secret does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Wrong secrets in a row, this one included (to store).
    pub failures: u32,
    /// Set when this failure locks the account.
    pub locked_until: Option<DateTime<Utc>>,
    /// Wrong secrets left before the next lock.
    pub attempts_left: u32,
}

impl Lockout {
    /// A counter's staff PINs: 5 wrong PINs lock the user for 5 minutes, every time (a
    /// cashier's PIN is short, but it is typed at the till, in front of the shop).
    pub const COUNTER_PIN: Lockout = Lockout {
        free_attempts: 5,
        first: Duration::minutes(5),
        longest: Duration::minutes(5),
    };

    /// The service's passwords (reachable from the internet): 5 wrong passwords lock the
    /// account for 1 minute, each further 5 for twice as long, up to an hour.
    pub const SERVICE_LOGIN: Lockout = Lockout {
        free_attempts: 5,
        first: Duration::minutes(1),
        longest: Duration::hours(1),
    };

    /// One more wrong secret after `failures_so_far` in a row, at `now`.
    pub fn after_failure(&self, failures_so_far: u32, now: DateTime<Utc>) -> Failure {
        let free = self.free_attempts.max(1);
        let failures = failures_so_far.saturating_add(1);
        let locks = failures / free;
        let locked_until = failures.is_multiple_of(free).then(|| {
            // first × 2^(locks − 1), without overflowing on a long siege
            let doublings = locks.saturating_sub(1).min(30);
            let wait = self
                .first
                .checked_mul(1i32 << doublings)
                .map_or(self.longest, |w| w.min(self.longest));
            now + wait
        });
        Failure {
            failures,
            locked_until,
            attempts_left: free - failures % free,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_fifth_wrong_secret_locks_and_each_further_lock_doubles_up_to_the_longest() {
        let l = Lockout::SERVICE_LOGIN;
        let now = at("2026-11-30T10:00:00Z");
        let waits: Vec<Option<i64>> = (0..40)
            .map(|n| {
                l.after_failure(n, now)
                    .locked_until
                    .map(|u| (u - now).num_minutes())
            })
            .collect();
        assert_eq!(waits[..4], [None, None, None, None]);
        assert_eq!(waits[4], Some(1));
        assert_eq!(waits[9], Some(2));
        assert_eq!(waits[14], Some(4));
        assert_eq!(waits[29], Some(32));
        assert_eq!(waits[34], Some(60));
        assert_eq!(waits[39], Some(60));
        assert_eq!(l.after_failure(0, now).attempts_left, 4);
        assert_eq!(l.after_failure(4, now).attempts_left, 5);
        // a siege far beyond u32 locks for the longest, never overflows
        assert_eq!(l.after_failure(u32::MAX - 1, now).failures, u32::MAX);
    }

    #[test]
    fn a_counter_pin_locks_for_five_minutes_every_fifth_time() {
        let l = Lockout::COUNTER_PIN;
        let now = at("2026-11-30T10:00:00Z");
        for n in [4, 9, 49] {
            assert_eq!(
                l.after_failure(n, now).locked_until,
                Some(now + Duration::minutes(5))
            );
        }
    }
}
