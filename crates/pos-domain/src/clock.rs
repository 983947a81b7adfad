//! The one place both programs read the time, and the time-ordered ids stamped with it.
//!
//! Every id (UUIDv7), business day and timestamp comes from a [`Clock`] that the program is
//! given: the apps use [`SystemClock`], tests move a clock of their own. Nothing else reads the
//! wall clock, so a store that runs on a test clock never mixes in the machine's date (a UUIDv7
//! carries its creation time, and the stores find a day's orders by it).

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use uuid::timestamp::context::ContextV7;
use uuid::{Timestamp, Uuid};

/// Where a program reads the time.
pub trait Clock: Send + Sync + 'static {
    /// The current time, UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // The one wall-clock read of both programs.
        Utc::now()
    }
}

/// Makes UUIDv7 ids (RFC 9562 §5.7) stamped with a given time: the millisecond of `at` and a
/// counter (uuid's [`ContextV7`]) so that ids made in the same millisecond still sort in the
/// order they were made.
///
/// Unlike [`Uuid::now_v7`], an id's time is never clamped to the latest time seen: when the
/// clock steps back (a corrected device clock, a test clock), the next id carries the new,
/// earlier time, so an id always names the moment (and business day) of its record.
#[derive(Debug, Default)]
pub struct UuidV7s {
    state: Mutex<(ContextV7, i64)>,
}

impl UuidV7s {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new UUIDv7 for time `at` (times before 1970 are stamped 1970-01-01).
    pub fn at(&self, at: DateTime<Utc>) -> Uuid {
        let ms = at.timestamp_millis().max(0);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if ms < state.1 {
            // The clock stepped back: a fresh context, or the library would keep the later time.
            state.0 = ContextV7::new();
        }
        state.1 = ms;
        let secs = u64::try_from(ms / 1000).unwrap_or_default();
        let nanos = u32::try_from((ms % 1000) * 1_000_000).unwrap_or_default();
        Uuid::new_v7(Timestamp::from_unix(&state.0, secs, nanos))
    }
}

/// A program's clock with the ids stamped with it: what a store or a service instance holds.
#[derive(Clone)]
pub struct TimeSource {
    clock: Arc<dyn Clock>,
    ids: Arc<UuidV7s>,
}

impl TimeSource {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        TimeSource {
            clock,
            ids: Arc::default(),
        }
    }

    /// The time, truncated to the microsecond (what both stores keep).
    pub fn now(&self) -> DateTime<Utc> {
        let t = self.clock.now();
        DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
    }

    /// A new UUIDv7 stamped with `at`.
    pub fn uuid_at(&self, at: DateTime<Utc>) -> Uuid {
        self.ids.at(at)
    }

    /// A new UUIDv7 stamped with the time now.
    /// The clock this source reads.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn new_uuid(&self) -> Uuid {
        self.ids.at(self.clock.now())
    }
}

impl Default for TimeSource {
    /// The machine's clock.
    fn default() -> Self {
        TimeSource::new(Arc::new(SystemClock))
    }
}

impl std::fmt::Debug for TimeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeSource").finish_non_exhaustive()
    }
}

/// The millisecond a UUIDv7 was made at, if `id` is one.
pub fn uuid_v7_millis(id: &Uuid) -> Option<i64> {
    if id.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    i64::try_from(secs)
        .ok()
        .map(|s| s * 1000 + i64::from(nanos / 1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn ids_carry_the_given_time_and_sort_within_a_millisecond() {
        let ids = UuidV7s::new();
        let t: DateTime<Utc> = "2031-12-31T23:30:00.123Z".parse().unwrap_or_default();
        let made: Vec<Uuid> = (0..1000).map(|_| ids.at(t)).collect();
        assert!(
            made.windows(2).all(|w| w[0] < w[1]),
            "ids of one ms sort in order"
        );
        assert_eq!(uuid_v7_millis(&made[0]), Some(t.timestamp_millis()));
        // A clock that steps back a year stamps the earlier time, not the latest seen.
        let back = t - Duration::days(365);
        assert_eq!(uuid_v7_millis(&ids.at(back)), Some(back.timestamp_millis()));
        assert_eq!(uuid_v7_millis(&Uuid::new_v4()), None);
    }
}
