//! Network errors, durations and sizes as message text, the same way everywhere.

use std::fmt::Write as _;
use std::time::Duration;

/// Why a request got no (complete) answer, as a lowercase fragment: `timed out after 30 s`,
/// `connection failed: Connection refused (os error 111)`, `the connection broke while reading
/// the body: ...`. `timeout` is the limit the request ran under. The request's URL is left out
/// (callers name it, credentials hidden).
pub fn describe(e: reqwest::Error, timeout: Duration) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        format!("timed out after {}", duration(timeout))
    } else if e.is_connect() {
        format!("connection failed: {}", innermost(&e))
    } else if e.is_body() || e.is_decode() {
        format!(
            "the connection broke while reading the body: {}",
            innermost(&e)
        )
    } else {
        chain(&e)
    }
}

/// [`describe`] for a client whose proxies come from the environment: a connection failure
/// also says which proxy the request went through (credentials hidden), since that is often
/// what failed.
pub fn describe_routed(e: reqwest::Error, timeout: Duration) -> String {
    let route = if e.is_connect() && !e.is_timeout() {
        e.url().and_then(|url| {
            crate::ProxySettings::from_env()
                .ok()
                .and_then(|p| p.describe(url))
        })
    } else {
        None
    };
    let text = describe(e, timeout);
    match route {
        Some(route) => format!("{text} ({route})"),
        None => text,
    }
}

/// Whether an I/O error from reading a (blocking) body is a timeout, including a `reqwest`
/// timeout wrapped in the I/O error.
pub fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout)
}

/// The innermost cause of an error (`Connection refused (os error 111)`).
pub fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(inner) = last.source() {
        last = inner;
    }
    last.to_string()
}

/// An error and its causes, `outer: inner: innermost` (a cause already quoted by the one above
/// it is not repeated).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let text = inner.to_string();
        if !s.contains(&text) {
            let _ = write!(s, ": {text}");
        }
        src = inner.source();
    }
    s
}

/// A duration for messages: `30 s`, `1.5 s`, `250 ms`.
pub fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A byte count for messages: `4 GiB`, `64 MiB`, `300 bytes`.
pub fn bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= 1024 * MIB && n.is_multiple_of(1024 * MIB) {
        format!("{} GiB", n / (1024 * MIB))
    } else if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// The first `max` characters of `text`, with `...` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

/// A body as text for messages: HTML reduced to its title (or "(an HTML page)"), whitespace
/// folded.
pub fn text_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    if lower.contains("<html") || lower.starts_with("<!doctype") {
        if let (Some(s), Some(e)) = (lower.find("<title>"), lower.find("</title>"))
            && s + 7 <= e
            && let Some(title) = text.get(s + 7..e)
        {
            return title.trim().to_owned();
        }
        return "(an HTML page)".to_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The start of a body (`max` characters), escaped for quoting in a message.
pub fn preview(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    truncate(&text, max).escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_one_format() {
        assert_eq!(duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(duration(Duration::ZERO), "0 ms");
        assert_eq!(duration(Duration::from_secs(30)), "30 s");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(duration(Duration::from_millis(2400)), "2.4 s");
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes(4 * 1024 * 1024 * 1024), "4 GiB");
        assert_eq!(bytes(64 * 1024 * 1024), "64 MiB");
        assert_eq!(bytes(1024 * 1024 + 1), "1048577 bytes");
        assert_eq!(bytes(300), "300 bytes");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 2), "hé...");
        assert_eq!(truncate("hé", 2), "hé");
        assert_eq!(preview(b"a\"b\ncd", 4), "a\\\"b\\n...");
    }

    #[test]
    fn html_bodies_are_reduced_to_their_title() {
        assert_eq!(
            text_of(b"<!doctype html><html><title>404 Not Found</title><p>x</p>"),
            "404 Not Found"
        );
        assert_eq!(text_of(b"<html><body>x</body></html>"), "(an HTML page)");
        assert_eq!(text_of(b"  a\n  b "), "a b");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chains_and_innermost_causes() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&e), "outer: inner");
        assert_eq!(innermost(&e), "inner");
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        assert!(is_timeout(&io));
        assert!(!is_timeout(&std::io::Error::other("x")));
    }

    #[test]
    fn a_refused_connection_and_a_timeout_read_the_same_everywhere() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let e = client
            .get(format!("http://127.0.0.1:{port}/x?token=abc"))
            .send()
            .expect_err("refused");
        let text = describe(e, Duration::from_secs(30));
        assert!(text.starts_with("connection failed: "), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
        assert!(!text.contains("token"), "{text}");

        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = silent.local_addr().expect("addr");
        let e = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_millis(200))
            .build()
            .expect("client")
            .get(format!("http://{addr}/"))
            .send()
            .expect_err("times out");
        assert_eq!(
            describe(e, Duration::from_millis(200)),
            "timed out after 200 ms"
        );
        drop(silent);
    }
}
