//! Telegram's sending limits as a pure bookkeeping of when each chat last got a message:
//! no clock of its own, so tests replay minutes of sending in microseconds. Times are
//! offsets from any fixed origin (the sender uses the moment it started).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// How fast the bot may send. Telegram's documented limits are the default: about one
/// message a second to one chat, 20 a minute to one group, 30 a second overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// Least time between two messages to one chat.
    pub per_chat_gap: Duration,
    /// Most messages to one group (a chat with a negative id) in any minute.
    pub per_group_minute: usize,
    /// Most messages in any second, all chats together.
    pub per_second: usize,
    /// The largest file sent as a document: Telegram takes up to 50 MB from a bot. A bigger
    /// one is replaced by its caption and why.
    pub max_file_bytes: usize,
}

/// What Telegram's Bot API accepts in one upload from a bot.
pub const TELEGRAM_MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

impl Default for SendLimits {
    fn default() -> Self {
        SendLimits {
            per_chat_gap: Duration::from_secs(1),
            per_group_minute: 20,
            per_second: 30,
            max_file_bytes: TELEGRAM_MAX_FILE_BYTES,
        }
    }
}

impl SendLimits {
    /// No pacing at all (tests whose subject is not the pace).
    pub fn unlimited() -> Self {
        SendLimits {
            per_chat_gap: Duration::ZERO,
            per_group_minute: usize::MAX,
            per_second: usize::MAX,
            max_file_bytes: TELEGRAM_MAX_FILE_BYTES,
        }
    }
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct ChatPace {
    last: Option<Duration>,
    /// Sends of the last minute (groups only).
    minute: VecDeque<Duration>,
    /// Telegram asked to wait (429 `retry_after`), or the last attempt failed.
    blocked_until: Option<Duration>,
}

#[derive(Debug)]
pub struct Pace {
    limits: SendLimits,
    chats: HashMap<i64, ChatPace>,
    second: VecDeque<Duration>,
}

fn is_group(chat: i64) -> bool {
    chat < 0
}

impl Pace {
    pub fn new(limits: SendLimits) -> Pace {
        Pace {
            limits,
            chats: HashMap::new(),
            second: VecDeque::new(),
        }
    }

    /// The earliest moment at or after `at` when a message to `chat` keeps every limit.
    pub fn earliest(&self, chat: i64, at: Duration) -> Duration {
        let mut earliest = at.max(self.overall_free_at());
        if let Some(pace) = self.chats.get(&chat) {
            if let Some(last) = pace.last {
                earliest = earliest.max(last + self.limits.per_chat_gap);
            }
            if let Some(blocked) = pace.blocked_until {
                earliest = earliest.max(blocked);
            }
            if is_group(chat) && pace.minute.len() >= self.limits.per_group_minute {
                // The minute must have let go of enough of its sends.
                let oldest_kept = pace.minute.len() - self.limits.per_group_minute;
                earliest = earliest.max(pace.minute[oldest_kept] + MINUTE);
            }
        }
        earliest
    }

    fn overall_free_at(&self) -> Duration {
        if self.second.len() < self.limits.per_second {
            return Duration::ZERO;
        }
        let oldest_kept = self.second.len() - self.limits.per_second;
        self.second[oldest_kept] + SECOND
    }

    pub fn allows(&self, chat: i64, at: Duration) -> bool {
        self.earliest(chat, at) <= at
    }

    /// A message to `chat` went out at `at`.
    pub fn record(&mut self, chat: i64, at: Duration) {
        self.forget_before(at);
        self.second.push_back(at);
        let pace = self.chats.entry(chat).or_default();
        pace.last = Some(at);
        if is_group(chat) {
            pace.minute.push_back(at);
        }
    }

    /// Nothing goes to `chat` before `until` (Telegram's retry_after, or a back-off).
    pub fn block(&mut self, chat: i64, until: Duration) {
        let pace = self.chats.entry(chat).or_default();
        pace.blocked_until = Some(pace.blocked_until.map_or(until, |b| b.max(until)));
    }

    /// Drops what no limit looks at any more: sends older than a minute, lapsed blocks.
    fn forget_before(&mut self, at: Duration) {
        while self.second.front().is_some_and(|&t| t + SECOND <= at) {
            self.second.pop_front();
        }
        let gap = self.limits.per_chat_gap;
        self.chats.retain(|_, pace| {
            while pace.minute.front().is_some_and(|&t| t + MINUTE <= at) {
                pace.minute.pop_front();
            }
            if pace.blocked_until.is_some_and(|b| b <= at) {
                pace.blocked_until = None;
            }
            let recent = pace.last.is_some_and(|last| last + gap > at);
            recent || !pace.minute.is_empty() || pace.blocked_until.is_some()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// Sends to `chat` as fast as the pace allows, polling every `step`, for `span`.
    fn drain(pace: &mut Pace, chat: i64, wanted: usize, step: f64, span: f64) -> Vec<Duration> {
        let mut sent = Vec::new();
        let mut t = 0.0;
        while t <= span && sent.len() < wanted {
            if pace.allows(chat, secs(t)) {
                pace.record(chat, secs(t));
                sent.push(secs(t));
            }
            t += step;
        }
        sent
    }

    #[test]
    fn one_chat_gets_at_most_one_message_a_second() {
        let mut pace = Pace::new(SendLimits::default());
        let sent = drain(&mut pace, 42, 5, 0.1, 10.0);
        assert_eq!(sent.len(), 5);
        for pair in sent.windows(2) {
            assert!(pair[1] - pair[0] >= SECOND, "{sent:?}");
        }
        assert!(sent[4] < secs(4.5), "no slower than needed: {sent:?}");
    }

    #[test]
    fn a_group_never_gets_more_than_twenty_in_any_minute() {
        let mut pace = Pace::new(SendLimits::default());
        let sent = drain(&mut pace, -100, 45, 0.25, 200.0);
        assert_eq!(sent.len(), 45, "all are sent eventually");
        for (i, t) in sent.iter().enumerate().skip(20) {
            assert!(*t - sent[i - 20] >= MINUTE, "21 within a minute: {sent:?}");
        }
        // The first twenty go at the per-chat pace, then the group waits for its minute.
        assert!(sent[19] < secs(20.0));
        assert!(sent[20] >= MINUTE);
    }

    #[test]
    fn all_chats_together_get_at_most_thirty_a_second() {
        let mut pace = Pace::new(SendLimits::default());
        let mut sent = Vec::new();
        for round in 0..40 {
            let t = secs(f64::from(round) * 0.05);
            for chat in 1..=100 {
                if pace.allows(chat, t) {
                    pace.record(chat, t);
                    sent.push(t);
                }
            }
        }
        assert!(sent.len() > 30);
        for (i, t) in sent.iter().enumerate().skip(30) {
            assert!(*t - sent[i - 30] >= SECOND, "31 within a second");
        }
    }

    #[test]
    fn a_block_holds_only_its_chat() {
        let mut pace = Pace::new(SendLimits::default());
        pace.block(7, secs(30.0));
        assert!(!pace.allows(7, secs(29.9)));
        assert_eq!(pace.earliest(7, secs(1.0)), secs(30.0));
        assert!(pace.allows(8, secs(1.0)), "another chat is not held");
        assert!(pace.allows(7, secs(30.0)));
    }

    #[test]
    fn unlimited_sends_everything_at_once() {
        let mut pace = Pace::new(SendLimits::unlimited());
        for _ in 0..100 {
            assert!(pace.allows(-5, secs(1.0)));
            pace.record(-5, secs(1.0));
        }
    }
}
