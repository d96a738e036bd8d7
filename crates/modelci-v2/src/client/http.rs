//! The client's HTTP plumbing on modelci's network layer ([`modelci_net`]): one blocking
//! `reqwest` client per endpoint under the shared [`ClientPolicy`] (timeout, no redirects,
//! environment proxies with loopback always direct), whole answers read up to a cap within a
//! [`Deadline`], and the secrets that messages must never show.

use std::time::Duration;

use modelci_net::{
    BodyError, ClientPolicy, Deadline, HIDDEN, ProxySettings, Redactor, bytes, describe, innermost,
    read_capped_blocking, redact_url_and_query, redact_url_text, truncate,
};
use modelci_tensor::runtime::RuntimeError;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use super::{ConnectOptions, run_error};
use crate::codec::quote_nonfinite;

/// How much of a server's error body a message quotes.
const QUOTED_CHARS: usize = 500;

/// How much of a body that is not JSON a message shows.
const PREVIEW_CHARS: usize = 200;

/// Secrets shorter than this are not hidden: they would blank out ordinary words and numbers.
const SHORTEST_SECRET: usize = 6;

/// The client and the limits, shared by every request of an endpoint.
pub(super) struct Http {
    pub(super) client: Client,
    /// The proxies the client uses, for messages.
    proxy: ProxySettings,
    timeout: Duration,
    max_body_bytes: u64,
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
            let (key, value) =
                modelci_net::header(name, value, true).map_err(|e| run_error(e.to_string()))?;
            headers.append(key, value);
        }
        let policy = ClientPolicy::new(options.timeout).default_headers(headers);
        let proxy = match &options.proxy {
            Some(p) => p.clone(),
            None => policy
                .proxy_settings()
                .map_err(|e| run_error(e.to_string()))?,
        };
        let client = policy
            .proxy(proxy.clone())
            .build_blocking()
            .map_err(|e| run_error(e.to_string()))?;
        Ok(Http {
            client,
            proxy,
            timeout: options.timeout,
            max_body_bytes: options.max_body_bytes,
        })
    }

    /// Sends a request and reads the whole answer (up to the body limit). The client's timeout
    /// bounds the wait for the answer's head and each read of its body; the deadline here bounds
    /// the whole body too, so a server that trickles bytes cannot hold a run forever.
    pub(super) fn send(&self, request: RequestBuilder, url: &Url) -> Result<Answer, RuntimeError> {
        let shown = redact_url_and_query(url);
        let deadline = Deadline::after(self.timeout);
        let response = request.send().map_err(|e| {
            // No answer at all: another request would fare no better.
            let unavailable = e.is_timeout() || e.is_connect();
            let message = self.transport(e, url, &shown);
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
        let body = match read_capped_blocking(response, cap, deadline) {
            Ok(body) if body.truncated => {
                return Err(run_error(format!(
                    "{shown}: answered {status} with a body larger than the {} limit",
                    bytes(cap)
                )));
            }
            Ok(body) => body.bytes,
            // The server stopped answering in time: as unavailable as no answer at all.
            Err(e @ BodyError::TimedOut { .. }) => {
                return Err(RuntimeError::Unavailable {
                    message: format!("{shown}: {e}"),
                });
            }
            Err(e) => return Err(run_error(format!("{shown}: {e}"))),
        };
        Ok(Answer {
            shown,
            status,
            body,
        })
    }

    /// Why a request got no answer.
    fn transport(&self, e: reqwest::Error, url: &Url, shown: &str) -> String {
        if e.is_timeout() {
            format!("{shown}: {}", describe(e, self.timeout))
        } else if e.is_connect() {
            let route = self
                .proxy
                .describe(url)
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!("cannot reach {shown}{route}: {}", innermost(&e))
        } else {
            format!("{shown}: the request failed: {}", describe(e, self.timeout))
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
pub(super) fn secrets(headers: &[(String, String)], base: &Url) -> Redactor {
    let mut r = Redactor::new().with_shortest(SHORTEST_SECRET);
    for (_, value) in headers {
        r.header_value(value, HIDDEN);
    }
    r.url(base, true);
    r
}

/// `e` with the secrets hidden from its message.
pub(super) fn scrub(secrets: &Redactor, e: RuntimeError) -> RuntimeError {
    match e {
        RuntimeError::Run { message } => run_error(secrets.hide(&message)),
        RuntimeError::Unavailable { message } => RuntimeError::Unavailable {
            message: secrets.hide(&message),
        },
        other => other,
    }
}

/// Parses and checks the base URL.
pub(super) fn parse_base(base_url: &str) -> Result<Url, RuntimeError> {
    let text = base_url.trim();
    let url = Url::parse(text).map_err(|e| {
        run_error(format!(
            "`{}` is not a URL ({e}); an endpoint is an http(s) base URL such as http://127.0.0.1:8000",
            redact_url_text(text)
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(run_error(format!(
            "`{}` is not an http(s) URL; an endpoint is a base URL such as http://127.0.0.1:8000",
            redact_url_text(text)
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
