//! When and how long to wait before trying a request again.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest single wait of the exponential backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Whether a request may be sent again when its first try may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Sending it twice has the effect of sending it once: GETs, and the POSTs that overwrite
    /// (set-tag, set alias, log-batch, runs/update) and DELETE alias. Retried on connection
    /// errors, timeouts, 408, 429 and 5xx.
    Safe,
    /// Sending it twice may do it twice (the `create` calls): retried only when it certainly
    /// did not reach the server (the connection could not be made) or was refused unprocessed
    /// (429).
    Unsafe,
}

/// Whether a status is worth another try: 408, 429 and 5xx except those that say the server
/// cannot ever do it (501 Not Implemented, 505 HTTP Version Not Supported).
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || (500..600).contains(&status) && !matches!(status, 501 | 505)
}

/// The wait before attempt `attempt + 1` (`attempt` counts from 0 for the first retry):
/// `base * 2^attempt`, at most [`MAX_BACKOFF`], with "equal jitter" (between half and all of
/// it), so that clients that failed together do not come back together.
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base
        .saturating_mul(2_u32.saturating_pow(attempt.min(20)))
        .min(MAX_BACKOFF);
    let half = full / 2;
    let spread = u64::try_from((full - half).as_micros()).unwrap_or(u64::MAX);
    let jitter = if spread == 0 {
        0
    } else {
        random_u64() % (spread + 1)
    };
    half + Duration::from_micros(jitter)
}

/// A random number from the standard library's randomly keyed hasher (no RNG dependency for
/// jitter).
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// Reads a `Retry-After` header: a number of seconds, or an HTTP date (`Sun, 06 Nov 1994
/// 08:49:37 GMT`) turned into the time from `now`. `None` when it is neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
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
    }

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 0..4 {
            let full = base * 2_u32.pow(attempt);
            for _ in 0..20 {
                let d = backoff(base, attempt);
                assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
            }
        }
        assert!(backoff(base, 40) <= MAX_BACKOFF);
        assert_eq!(backoff(Duration::ZERO, 3), Duration::ZERO);
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
