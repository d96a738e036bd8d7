//! The client's HTTP plumbing: one blocking `reqwest` client per endpoint with its limits
//! (timeout, body cap), whole answers read within a deadline, and the secrets that messages must
//! never show. Kept apart so that a shared network layer can replace it.

use std::fmt::Write as _;
use std::io::Read as _;
use std::time::{Duration, Instant};

use modelci_tensor::runtime::RuntimeError;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use serde_json::Value;

use super::{ConnectOptions, run_error};
use crate::codec::quote_nonfinite;

/// The most time spent connecting, within the request timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a server's error body a message quotes.
const QUOTED_CHARS: usize = 500;

/// How much of a body that is not JSON a message shows.
const PREVIEW_CHARS: usize = 200;

/// The client and the limits, shared by every request of an endpoint.
pub(super) struct Http {
    pub(super) client: Client,
    pub(super) timeout: Duration,
    pub(super) max_body_bytes: u64,
}

/// A read answer: status and body.
pub(super) struct Answer {
    /// The URL, credentials hidden.
    pub(super) shown: String,
    pub(super) status: StatusCode,
    pub(super) body: Vec<u8>,
}

impl Http {
    pub(super) fn new(options: &ConnectOptions) -> Result<Http, RuntimeError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &options.headers {
            let key = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| run_error(format!("header `{name}`: not a valid HTTP header name")))?;
            let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
                run_error(format!(
                    "header `{name}`: its value is not a valid HTTP header value (the value is not shown)"
                ))
            })?;
            value.set_sensitive(true);
            headers.append(key, value);
        }
        let client = Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(MAX_CONNECT_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .default_headers(headers)
            .build()
            .map_err(|e| run_error(format!("cannot set up an HTTP client: {}", chain(&e))))?;
        Ok(Http {
            client,
            timeout: options.timeout,
            max_body_bytes: options.max_body_bytes,
        })
    }

    /// Sends a request and reads the whole answer (up to the body limit). The client's timeout
    /// bounds the wait for the answer's head and each read of its body; the deadline here bounds
    /// the whole body too, so a server that trickles bytes cannot hold a run forever.
    pub(super) fn send(&self, request: RequestBuilder, url: &Url) -> Result<Answer, RuntimeError> {
        let shown = shown(url);
        // `None` (no deadline) only for a timeout too large for the clock.
        let deadline = Instant::now().checked_add(self.timeout);
        let mut response = request.send().map_err(|e| {
            // No answer at all: another request would fare no better.
            let unavailable = e.is_timeout() || e.is_connect();
            let message = self.transport(e, &shown);
            if unavailable {
                RuntimeError::Unavailable { message }
            } else {
                run_error(message)
            }
        })?;
        let status = response.status();
        let cap = self.max_body_bytes;
        if let Some(len) = response.content_length()
            && len > cap
        {
            return Err(run_error(format!(
                "{shown}: answered {status} with a body of {len} bytes, more than the {} limit",
                bytes(cap)
            )));
        }
        let mut body = Vec::new();
        let mut chunk = vec![0_u8; 64 * 1024];
        loop {
            let n = match response.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                        || e.get_ref()
                            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                            .is_some_and(reqwest::Error::is_timeout);
                    return Err(if timed_out {
                        RuntimeError::Unavailable {
                            message: format!(
                                "{shown}: no answer within {} (the body stopped coming)",
                                secs(self.timeout)
                            ),
                        }
                    } else {
                        run_error(format!(
                            "{shown}: the connection broke while reading the answer: {e}"
                        ))
                    });
                }
            };
            let read = chunk.get(..n).unwrap_or_default();
            if (body.len() as u64).saturating_add(read.len() as u64) > cap {
                return Err(run_error(format!(
                    "{shown}: answered {status} with a body larger than the {} limit",
                    bytes(cap)
                )));
            }
            body.extend_from_slice(read);
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Err(RuntimeError::Unavailable {
                    message: format!(
                        "{shown}: no answer within {} (the body was still coming)",
                        secs(self.timeout)
                    ),
                });
            }
        }
        Ok(Answer {
            shown,
            status,
            body,
        })
    }

    /// Why a request got no answer.
    pub(super) fn transport(&self, e: reqwest::Error, shown: &str) -> String {
        let e = e.without_url();
        if e.is_timeout() {
            format!("{shown}: no answer within {}", secs(self.timeout))
        } else if e.is_connect() {
            format!("cannot reach {shown}: {}", innermost(&e))
        } else {
            format!("{shown}: the request failed: {}", chain(&e))
        }
    }
}

impl Answer {
    /// A non-2xx answer, for messages: `answered 400 Bad Request: {the server's message}`.
    pub(super) fn refusal(&self) -> String {
        let said = serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned());
        let said = said.trim();
        if said.is_empty() {
            format!("answered {} (no message)", self.status)
        } else {
            format!("answered {}: {}", self.status, truncate(said, QUOTED_CHARS))
        }
    }

    /// The body as JSON (the bare tokens `NaN`, `Infinity` and `-Infinity` read as strings).
    pub(super) fn json(&self) -> Result<Value, RuntimeError> {
        let Ok(text) = std::str::from_utf8(&self.body) else {
            let head = &self.body[..self.body.len().min(PREVIEW_CHARS)];
            return Err(run_error(format!(
                "{}: answered {} with a body that is not UTF-8 text (so not JSON); it starts with b\"{}\"",
                self.shown,
                self.status,
                head.escape_ascii()
            )));
        };
        match serde_json::from_str(text) {
            Ok(v) => Ok(v),
            Err(first) => quote_nonfinite(text)
                .and_then(|t| serde_json::from_str(&t).ok())
                .ok_or_else(|| {
                    let head: String = text.chars().take(PREVIEW_CHARS).collect();
                    let more = if text.chars().nth(PREVIEW_CHARS).is_some() {
                        "..."
                    } else {
                        ""
                    };
                    run_error(format!(
                        "{}: answered {} with a body that is not JSON ({first}); it starts with \"{}\"{more}",
                        self.shown,
                        self.status,
                        head.escape_debug()
                    ))
                }),
        }
    }
}

/// Values that messages must never show: header values (and their long words, such as a
/// bearer token), and the password and query values of the base URL. Modelci's own messages
/// never include them; this also hides them when a server quotes them back (an error body that
/// echoes the request).
#[derive(Clone, Default)]
pub(super) struct Secrets(Vec<String>);

impl Secrets {
    /// Shorter values are not hidden: they would blank out ordinary words and numbers.
    const SHORTEST: usize = 6;
    /// Words of a header value hidden on their own (`Bearer <token>`: the token).
    const LONG_WORD: usize = 8;

    pub(super) fn new(headers: &[(String, String)], base: &Url) -> Secrets {
        let mut found: Vec<String> = Vec::new();
        for (_, value) in headers {
            let value = value.trim();
            found.push(value.to_owned());
            found.extend(
                value
                    .split_whitespace()
                    .filter(|w| w.chars().count() >= Self::LONG_WORD)
                    .map(str::to_owned),
            );
        }
        found.extend(base.password().map(str::to_owned));
        found.extend(base.query_pairs().map(|(_, v)| v.into_owned()));
        found.retain(|v| v.chars().count() >= Self::SHORTEST);
        // Longest first, so that a value is hidden whole before any word of it.
        found.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        found.dedup();
        Secrets(found)
    }

    pub(super) fn hide(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }

    pub(super) fn scrub(&self, e: RuntimeError) -> RuntimeError {
        match e {
            RuntimeError::Run { message } => run_error(self.hide(&message)),
            RuntimeError::Unavailable { message } => RuntimeError::Unavailable {
                message: self.hide(&message),
            },
            other => other,
        }
    }
}

/// Parses and checks the base URL.
pub(super) fn parse_base(base_url: &str) -> Result<Url, RuntimeError> {
    let text = base_url.trim();
    let url = Url::parse(text).map_err(|e| {
        run_error(format!(
            "`{}` is not a URL ({e}); an endpoint is an http(s) base URL such as http://127.0.0.1:8000",
            redact_text(text)
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(run_error(format!(
            "`{}` is not an http(s) URL; an endpoint is a base URL such as http://127.0.0.1:8000",
            redact_text(text)
        )));
    }
    Ok(url)
}

/// `url` with path segments appended (each percent-encoded as needed).
pub(super) fn join(url: &Url, segments: &[&str]) -> Url {
    let mut out = url.clone();
    if let Ok(mut path) = out.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    out
}

/// A URL for messages: user, password and query shown as `***`.
pub(super) fn shown(url: &Url) -> String {
    let mut u = url.clone();
    if !u.username().is_empty() || u.password().is_some() {
        let _ = u.set_password(None);
        let _ = u.set_username("***");
    }
    if u.query().is_some() {
        u.set_query(Some("***"));
    }
    u.set_fragment(None);
    u.to_string()
}

/// Best effort for text that did not parse as a URL: hides what sits before an `@`, and the
/// query (as [`shown`] does for URLs that parse).
pub(super) fn redact_text(text: &str) -> String {
    let (text, query) = match text.split_once('?') {
        Some((head, _)) => (head, "?***"),
        None => (text, ""),
    };
    let hidden = match (text.find("://"), text.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => format!("{}***{}", &text[..s + 3], &text[at..]),
        (None, Some(at)) => format!("***{}", &text[at..]),
        _ => text.to_owned(),
    };
    format!("{hidden}{query}")
}

/// The innermost cause of an error (`Connection refused (os error 111)`).
pub(super) fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(inner) = last.source() {
        last = inner;
    }
    last.to_string()
}

/// An error and its causes, `outer: inner: innermost`.
pub(super) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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

/// `0.3s`, `30s`.
pub(super) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{}s", (s * 1000.0).round() / 1000.0)
    }
}

/// `512 MiB`, `100 bytes`.
pub(super) fn bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// The first `max` characters, with `...` when cut.
pub(super) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}
