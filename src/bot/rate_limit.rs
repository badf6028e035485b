//! A limit on how fast one person's updates are handled, so that someone flooding the bot
//! (a stuck key, a script, a child with the phone) cannot take the worker and the database
//! from everyone else. Checked in the polling loop before a batch is handed out: an update
//! over the limit is acknowledged with the batch and not handled, and its sender hears once
//! that they should wait.
//!
//! Each person has a token bucket of `updates` tokens that refills evenly over `window`,
//! kept as the moment it is full again (GCRA's "theoretical arrival time"), so a check is a
//! comparison and an addition, and a bucket that is full again is the same as none at all:
//! those are forgotten. Time is the app's clock, so tests drive it.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};

/// At most `updates` updates from one person in any `window` (a burst of `updates`, then
/// one every `window / updates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub updates: u32,
    pub window: TimeDelta,
}

impl RateLimit {
    /// The time one token takes to come back.
    fn interval(&self) -> TimeDelta {
        self.window / self.updates.max(1) as i32
    }
}

/// What to do with one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Handle,
    /// Over the limit, and the sender has not been told since they were last calm: drop it
    /// and ask them to wait.
    DropAndAskToWait,
    /// Over the limit, and they were told already.
    Drop,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// When the bucket is full again.
    full_at: NaiveDateTime,
    /// Asked to wait since the bucket was last full.
    asked: bool,
}

/// The buckets of the people seen lately (in memory: a restart forgets them, which only
/// forgives a flood).
#[derive(Debug)]
pub struct Limiter {
    limit: RateLimit,
    buckets: HashMap<i64, Bucket>,
    last_sweep: Option<NaiveDateTime>,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            buckets: HashMap::new(),
            last_sweep: None,
        }
    }

    /// Takes one token of `person`'s bucket at `now`.
    pub fn check(&mut self, person: i64, now: NaiveDateTime) -> Verdict {
        self.sweep(now);
        let interval = self.limit.interval();
        let bucket = self.buckets.entry(person).or_insert(Bucket {
            full_at: now,
            asked: false,
        });
        if bucket.full_at <= now {
            *bucket = Bucket {
                full_at: now,
                asked: false,
            };
        }
        let taken = bucket.full_at + interval;
        if taken - now <= self.limit.window {
            bucket.full_at = taken;
            return Verdict::Handle;
        }
        if bucket.asked {
            Verdict::Drop
        } else {
            bucket.asked = true;
            Verdict::DropAndAskToWait
        }
    }

    /// Forgets the buckets that are full again (at most once a window, so the cost stays
    /// proportional to the people seen within it).
    fn sweep(&mut self, now: NaiveDateTime) {
        if self
            .last_sweep
            .is_some_and(|last| now - last < self.limit.window)
        {
            return;
        }
        self.buckets.retain(|_, bucket| bucket.full_at > now);
        self.last_sweep = Some(now);
    }

    /// How many people have a bucket that is not full (for tests).
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-12-05 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
            + TimeDelta::milliseconds(seconds * 1000)
    }

    fn limiter() -> Limiter {
        Limiter::new(RateLimit {
            updates: 5,
            window: TimeDelta::seconds(10),
        })
    }

    #[test]
    fn a_burst_up_to_the_limit_passes_then_one_ask_then_silence() {
        let mut limiter = limiter();
        let verdicts: Vec<Verdict> = (0..9).map(|_| limiter.check(1, at(0))).collect();
        assert_eq!(&verdicts[..5], &[Verdict::Handle; 5]);
        assert_eq!(verdicts[5], Verdict::DropAndAskToWait);
        assert_eq!(&verdicts[6..], &[Verdict::Drop; 3]);
    }

    #[test]
    fn a_token_comes_back_every_window_over_limit_and_a_calm_sender_is_asked_again_later() {
        let mut limiter = limiter();
        for _ in 0..5 {
            assert_eq!(limiter.check(1, at(0)), Verdict::Handle);
        }
        assert_eq!(limiter.check(1, at(1)), Verdict::DropAndAskToWait);
        // One token is back after 2 s, not before; the sender was asked already.
        assert_eq!(limiter.check(1, at(2)), Verdict::Handle);
        assert_eq!(limiter.check(1, at(2)), Verdict::Drop);
        // Full again after a quiet window: a new burst, and a new ask when it overflows.
        for _ in 0..5 {
            assert_eq!(limiter.check(1, at(20)), Verdict::Handle);
        }
        assert_eq!(limiter.check(1, at(20)), Verdict::DropAndAskToWait);
    }

    #[test]
    fn one_person_flooding_takes_nothing_from_another() {
        let mut limiter = limiter();
        for _ in 0..50 {
            limiter.check(1, at(0));
        }
        for _ in 0..5 {
            assert_eq!(limiter.check(2, at(0)), Verdict::Handle);
        }
    }

    #[test]
    fn buckets_full_again_are_forgotten() {
        let mut limiter = limiter();
        for person in 0..100 {
            limiter.check(person, at(0));
        }
        limiter.check(1, at(5));
        assert!(limiter.tracked() >= 100);
        limiter.check(1, at(11));
        assert_eq!(limiter.tracked(), 1, "only the one who just wrote");
    }
}
