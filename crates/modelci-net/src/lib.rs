//! modelci's network policy, in one place for every client (pact verifier, OpenAPI tester,
//! endpoint client, MLflow client, service readiness probe):
//!
//! - [`ClientPolicy`]: reqwest clients (async and blocking) with a per-request timeout, a
//!   connect-timeout cap, no redirects, `User-Agent: modelci/VERSION`, and proxies from the
//!   environment ([`ProxySettings`]: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`;
//!   loopback always direct; credentials never shown). TLS is rustls (no system OpenSSL): the
//!   system's roots (or `SSL_CERT_FILE` / `SSL_CERT_DIR`) plus Mozilla's, built in.
//! - [`read_capped`], [`read_capped_blocking`], [`copy_capped`]: bodies read with a byte cap,
//!   within the request's [`Deadline`].
//! - [`describe`], [`duration`], [`bytes`]: errors, durations and sizes as message text, the same
//!   everywhere (`timed out after 30 s`, `connection failed: ...`).
//! - [`Redactor`], [`redact_url`], [`redact_url_text`], [`header`]: secrets kept out of
//!   messages, including those a server echoes back.
//! - [`RetryPolicy`]: exponential backoff with full jitter, bounded by retries and a time
//!   budget, honouring `Retry-After`; [`retryable_status`] decides which answers are retried.
//!
//! The crate never prints. It sits below every crate that talks HTTP and depends on no other
//! modelci crate (`modelci-config` keeps its `Secret` type, which reads the environment; the
//! network side only ever sees the values).

mod body;
mod client;
mod proxy;
mod redact;
mod retry;
mod text;

#[cfg(feature = "testing")]
pub mod testing;

pub use body::{Body, BodyError, Copied, Deadline, copy_capped, read_capped, read_capped_blocking};
pub use client::{ClientError, ClientPolicy, MAX_CONNECT_TIMEOUT, Redirects, USER_AGENT};
pub use proxy::{ProxyError, ProxySettings, is_loopback};
pub use redact::{
    HIDDEN, HeaderError, Redactor, base64, basic_auth, header, is_sensitive_header,
    is_sensitive_query_key, percent_decode, redact_url, redact_url_and_query, redact_url_text,
};
pub use retry::{
    GiveUp, Idempotency, MAX_BACKOFF, Next, Retries, RetryPolicy, error_reached_server,
    parse_retry_after, retryable_status, status_reached_server,
};
pub use text::{
    bytes, chain, describe, describe_routed, duration, innermost, is_timeout, preview, text_of,
    truncate,
};

/// `reqwest`'s URL type, re-exported so that callers name one.
pub use reqwest::Url;
