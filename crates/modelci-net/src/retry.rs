//! When to try a request again, and how long to wait: exponential backoff with full jitter,
//! bounded by a number of retries and a time budget, and the one place that decides which
//! answers and errors are worth another try.
//!
//! Hand-written rather than `backoff`/`backon`: the loop must honour a server's `Retry-After`
//! (seconds or an HTTP date) within the same budget, and tell the caller why it stopped, which
//! those crates' iterators do not; what is left is a few lines.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::text::duration;

/// The longest single wait of the exponential backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Whether a request may be sent again when its first try may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the effect of sending it once (GETs, PUTs and POSTs that
    /// overwrite): retried on connection errors, timeouts, 408, 429 and 5xx.
    Safe,
    /// Sending it twice may do it twice (a `create`): retried only when it certainly did not
    /// reach the server (the connection could not be made) or was refused unprocessed (429).
    Unsafe,
}

impl Idempotency {
    /// Whether a failed try may be repeated: always when [`Idempotency::Safe`], else only when
    /// the request did not reach the server (`sent` false).
    pub fn allows_retry(self, sent: bool) -> bool {
        self == Idempotency::Safe || !sent
    }
}

/// Whether a status is worth another try: 408, 429 and 5xx except those that say the server
/// cannot ever do it (501 Not Implemented, 505 HTTP Version Not Supported).
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || (500..600).contains(&status) && !matches!(status, 501 | 505)
}

/// Whether an answer with a retryable status may have done some work: all but 429, which is a
/// refusal before any.
pub fn status_reached_server(status: u16) -> bool {
    status != 429
}

/// Whether a request that failed without an answer may have reached the server: all failures
/// but one to connect (to the server, or to the proxy).
pub fn error_reached_server(e: &reqwest::Error) -> bool {
    !e.is_connect()
}

/// How often and how long to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first.
    pub retries: u32,
    /// The first wait's upper bound, doubled for each further retry.
    pub base: Duration,
    /// The longest single wait.
    pub max_wait: Duration,
    /// All waits of one request together stay within this.
    pub budget: Duration,
}

impl RetryPolicy {
    /// `retries` tries after the first, waits from `base` doubling up to [`MAX_BACKOFF`],
    /// within `budget` in all.
    pub fn new(retries: u32, base: Duration, budget: Duration) -> RetryPolicy {
        RetryPolicy {
            retries,
            base,
            max_wait: MAX_BACKOFF,
            budget,
        }
    }

    /// No retries.
    pub fn never() -> RetryPolicy {
        RetryPolicy::new(0, Duration::ZERO, Duration::ZERO)
    }

    /// The wait before retry `attempt + 1` (`attempt` counts from 0 for the first retry):
    /// "full jitter", uniformly random between zero and `base * 2^attempt` (at most
    /// `max_wait`), so that clients that failed together do not come back together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2_u32.saturating_pow(attempt.min(20)))
            .min(self.max_wait);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        if micros == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(rand::random_range(0..=micros))
    }

    /// Starts counting the tries of one request.
    pub fn start(&self) -> Retries {
        Retries {
            policy: *self,
            attempt: 0,
            waited: Duration::ZERO,
            started: Instant::now(),
        }
    }
}

/// The tries of one request so far.
#[derive(Debug, Clone)]
pub struct Retries {
    policy: RetryPolicy,
    attempt: u32,
    waited: Duration,
    started: Instant,
}

/// What to do after a failed try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then try again.
    Wait(Duration),
    /// Stop: the retries are spent, or the next wait would exceed the budget.
    GiveUp(GiveUp),
}

/// Why the retries ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveUp {
    /// Every allowed try was made.
    Exhausted,
    /// The server asked (`Retry-After`) for a wait beyond the budget.
    ServerWaitBeyondBudget {
        /// What it asked for.
        asked: Duration,
        /// The budget.
        budget: Duration,
    },
    /// The backoff's next wait would exceed the budget.
    BudgetSpent,
}

impl Retries {
    /// After a failed try: wait (the server's `Retry-After` when it sent one, else the
    /// backoff) or give up. Call [`Retries::waited`] after sleeping.
    pub fn next(&mut self, retry_after: Option<Duration>) -> Next {
        if self.attempt >= self.policy.retries {
            return Next::GiveUp(GiveUp::Exhausted);
        }
        let wait = retry_after.unwrap_or_else(|| self.policy.backoff(self.attempt));
        if self.waited.saturating_add(wait) > self.policy.budget {
            return Next::GiveUp(match retry_after {
                Some(asked) => GiveUp::ServerWaitBeyondBudget {
                    asked,
                    budget: self.policy.budget,
                },
                None => GiveUp::BudgetSpent,
            });
        }
        Next::Wait(wait)
    }

    /// Records a wait made before the next try.
    pub fn waited(&mut self, wait: Duration) {
        self.waited = self.waited.saturating_add(wait);
        self.attempt = self.attempt.saturating_add(1);
    }

    /// Tries made so far (the next one not yet counted): 1 after the first failure.
    pub fn tries(&self) -> u32 {
        self.attempt.saturating_add(1)
    }

    /// How a failure after more than one try, or after a refused wait, ends its message:
    /// ` (gave up after 3 attempts in 1.5 s)`, with why when the budget ended it; `None` after
    /// a single try that was simply final.
    pub fn summary(&self, why: &GiveUp) -> Option<String> {
        let note = match why {
            GiveUp::ServerWaitBeyondBudget { asked, budget } => Some(format!(
                "the server asked to wait {} more, beyond the {} retry budget",
                duration(*asked),
                duration(*budget)
            )),
            GiveUp::Exhausted | GiveUp::BudgetSpent => None,
        };
        let tries = self.tries();
        if tries <= 1 && note.is_none() {
            return None;
        }
        let mut tail = format!(
            " (gave up after {tries} attempt{} in {}",
            if tries == 1 { "" } else { "s" },
            duration(self.started.elapsed())
        );
        if let Some(note) = note {
            tail.push_str("; ");
            tail.push_str(&note);
        }
        tail.push(')');
        Some(tail)
    }
}

/// Reads a `Retry-After` header: a number of seconds, or an HTTP date (`Sun, 06 Nov 1994
/// 08:49:37 GMT`) turned into the time from `now`. `None` when it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = parse_http_date(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the Unix epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the
/// form HTTP/1.1 requires senders to use.
fn parse_http_date(value: &str) -> Option<u64> {
    let rest = value.split_once(", ").map_or(value, |(_, r)| r);
    let mut parts = rest.split_whitespace();
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()?.to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    // Four digits, as IMF-fixdate has them (a longer year would overflow the arithmetic).
    let year: i64 = parts
        .next()
        .filter(|y| y.len() == 4)?
        .parse()
        .ok()
        .filter(|y| *y >= 1970)?;
    let mut hms = parts.next()?.split(':');
    let h: u64 = hms.next()?.parse().ok()?;
    let m: u64 = hms.next()?.parse().ok()?;
    let s: u64 = hms.next()?.parse().ok()?;
    if !matches!(parts.next(), Some("GMT" | "UTC")) || day == 0 || day > 31 || h > 23 || m > 59 {
        return None;
    }
    let days = days_from_civil(year, month, i64::try_from(day).ok()?);
    let days = u64::try_from(days).ok()?;
    days.checked_mul(86_400)?
        .checked_add(h * 3600 + m * 60 + s.min(60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_worth_a_retry() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 501, 505] {
            assert!(!retryable_status(s), "{s}");
        }
        assert!(!status_reached_server(429));
        assert!(status_reached_server(503));
        assert!(Idempotency::Safe.allows_retry(true));
        assert!(Idempotency::Unsafe.allows_retry(false));
        assert!(!Idempotency::Unsafe.allows_retry(true));
    }

    #[test]
    fn backoff_doubles_with_full_jitter_and_is_capped() {
        let p = RetryPolicy::new(5, Duration::from_millis(100), Duration::from_secs(60));
        for attempt in 0..4 {
            let ceiling = Duration::from_millis(100) * 2_u32.pow(attempt);
            let waits: Vec<Duration> = (0..200).map(|_| p.backoff(attempt)).collect();
            assert!(waits.iter().all(|d| *d <= ceiling), "{attempt}: {waits:?}");
            // Full jitter: spread over the whole range, not bunched at the top.
            assert!(
                waits.iter().any(|d| *d < ceiling / 2),
                "{attempt}: {waits:?}"
            );
            assert!(
                waits.iter().any(|d| *d > ceiling / 2),
                "{attempt}: {waits:?}"
            );
        }
        assert!(p.backoff(40) <= MAX_BACKOFF);
        assert!(p.backoff(u32::MAX) <= MAX_BACKOFF);
        assert_eq!(
            RetryPolicy::new(3, Duration::ZERO, Duration::from_secs(1)).backoff(3),
            Duration::ZERO
        );
    }

    #[test]
    fn retries_stop_at_the_count_and_the_budget() {
        let p = RetryPolicy::new(2, Duration::from_millis(1), Duration::from_secs(1));
        let mut r = p.start();
        assert!(r.summary(&GiveUp::Exhausted).is_none());
        for _ in 0..2 {
            let Next::Wait(d) = r.next(None) else {
                panic!("a retry is left")
            };
            assert!(d <= Duration::from_millis(2));
            r.waited(d);
        }
        assert_eq!(r.next(None), Next::GiveUp(GiveUp::Exhausted));
        let tail = r.summary(&GiveUp::Exhausted).expect("three tries");
        assert!(tail.starts_with(" (gave up after 3 attempts in "), "{tail}");

        // The server's Retry-After is honoured, within the budget.
        let mut r = RetryPolicy::new(5, Duration::from_millis(1), Duration::from_secs(2)).start();
        assert_eq!(
            r.next(Some(Duration::from_millis(1500))),
            Next::Wait(Duration::from_millis(1500))
        );
        r.waited(Duration::from_millis(1500));
        let why = GiveUp::ServerWaitBeyondBudget {
            asked: Duration::from_secs(1),
            budget: Duration::from_secs(2),
        };
        assert_eq!(
            r.next(Some(Duration::from_secs(1))),
            Next::GiveUp(why.clone())
        );
        let tail = r.summary(&why).expect("note");
        assert!(
            tail.contains("gave up after 2 attempts")
                && tail
                    .ends_with("; the server asked to wait 1 s more, beyond the 2 s retry budget)"),
            "{tail}"
        );
        // The backoff never waits beyond the budget either.
        let mut r = RetryPolicy::new(5, Duration::from_secs(10), Duration::ZERO).start();
        loop {
            match r.next(None) {
                Next::Wait(d) if d.is_zero() => r.waited(d),
                Next::Wait(d) => panic!("waited {d:?} with no budget"),
                Next::GiveUp(why) => {
                    assert_eq!(why, GiveUp::BudgetSpent);
                    break;
                }
            }
        }
        assert!(RetryPolicy::never().start().next(None) == Next::GiveUp(GiveUp::Exhausted));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770); // Sun, 06 Nov 1994 08:49:30
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        // A date in the past means now.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(
            parse_retry_after("Sun, 32 Nov 1994 08:49:37 GMT", now),
            None
        );
        // A server's nonsense must not overflow (a panic in debug builds) or wrap.
        for nonsense in [
            "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
            "Sun, 06 Nov -9223372036854775808 08:49:37 GMT",
            "Sun, 06 Nov 99999999999 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:99999999999999999999 GMT",
        ] {
            assert_eq!(parse_retry_after(nonsense, now), None, "{nonsense}");
        }
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(Duration::from_secs(253_402_300_799 - 784_111_770))
        );
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1994, 11, 6), 9_075);
    }
}
