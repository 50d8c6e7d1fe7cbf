//! A per-person limit on questions: at most `limit` in any rolling minute.
//!
//! Invariants:
//! - Keyed by an opaque key the front end derives from the platform's user id; the key is kept
//!   in memory only, never with question text, and forgotten once its minute has passed.
//! - Only ordinary questions are limited: the command layer checks distress and help first,
//!   so a crisis reply is never refused.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The rolling window.
const WINDOW: Duration = Duration::from_secs(60);

/// Past this many keys, a check first drops every key whose window has passed, so memory is
/// bounded by the number of people asking within one minute.
const SWEEP_AT: usize = 4096;

/// Remembers when each key last asked.
pub struct RateLimiter {
    limit: usize,
    /// Keys are kept as hashes with this process's random salt, never as given.
    salt: RandomState,
    seen: Mutex<HashMap<u64, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// At most `per_minute` questions per key in any 60 s; 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            limit: per_minute as usize,
            salt: RandomState::new(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records a question from `key` at `now` when it is within the limit; otherwise records
    /// nothing and says how long until the oldest question leaves the window.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= SWEEP_AT {
            seen.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < WINDOW)
            });
        }
        let times = seen.entry(self.salt.hash_one(key)).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = times[0];
            return Err(WINDOW.saturating_sub(now.saturating_duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_per_rolling_minute_per_key() {
        let r = RateLimiter::new(3);
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(r.check("a", t0 + Duration::from_secs(i)).is_ok());
        }
        let wait = r.check("a", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        // Someone else is not affected.
        assert!(r.check("b", t0 + Duration::from_secs(10)).is_ok());
        // A refused question does not count: once the first leaves the window, one more fits.
        assert!(r.check("a", t0 + Duration::from_secs(60)).is_ok());
        assert!(r.check("a", t0 + Duration::from_secs(60)).is_err());
    }

    #[test]
    fn zero_means_no_limit() {
        let r = RateLimiter::new(0);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| r.check("a", t0).is_ok()));
    }

    #[test]
    fn old_keys_are_forgotten() {
        let r = RateLimiter::new(1);
        let t0 = Instant::now();
        for i in 0..SWEEP_AT {
            r.check(&i.to_string(), t0).unwrap();
        }
        r.check("late", t0 + WINDOW).unwrap();
        assert_eq!(r.seen.lock().unwrap().len(), 1);
    }
}
