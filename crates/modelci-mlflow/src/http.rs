//! The transport: one blocking `reqwest` client, credentials, retries, body limits, and
//! MLflow's error answers turned into [`MlflowError`]s.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::time::{Duration, Instant, SystemTime};

use reqwest::blocking::{Client, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::config::{Auth, Config, parse_tracking_uri};
use crate::error::MlflowError;
use crate::retry::{Idempotency, backoff, parse_retry_after, retryable_status};

/// The most time spent connecting, within a request's timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest JSON answer read (64 MiB): registry and run answers are small.
const MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;

/// How much of an error answer is read, and quoted.
const MAX_ERROR_BYTES: u64 = 64 * 1024;
const QUOTED_CHARS: usize = 500;

/// The REST API's root under the tracking URI.
const API_PREFIX: [&str; 3] = ["api", "2.0", "mlflow"];

/// The artifact proxy's root under the tracking URI.
const ARTIFACTS_PREFIX: [&str; 3] = ["api", "2.0", "mlflow-artifacts"];

/// One request, as sent on every attempt.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    /// The body and its content type.
    pub body: Option<(Vec<u8>, &'static str)>,
    pub idempotency: Idempotency,
    /// Artifact transfers get the longer artifact timeout.
    pub transfer: bool,
    /// What the request is about, for [`MlflowError::NotFound`] ("registered model `m`").
    pub what: String,
    /// Whether MLflow's `INVALID_PARAMETER_VALUE` "... not found" also means not found (the
    /// answer to a missing alias).
    pub invalid_parameter_not_found: bool,
}

impl Call {
    pub fn new(method: Method, url: Url, what: impl Into<String>) -> Call {
        let idempotency = if method == Method::GET || method == Method::DELETE {
            Idempotency::Safe
        } else {
            Idempotency::Unsafe
        };
        Call {
            method,
            url,
            body: None,
            idempotency,
            transfer: false,
            what: what.into(),
            invalid_parameter_not_found: false,
        }
    }

    pub fn json(mut self, body: &Value) -> Call {
        self.body = Some((body.to_string().into_bytes(), "application/json"));
        self
    }

    pub fn idempotency(mut self, idempotency: Idempotency) -> Call {
        self.idempotency = idempotency;
        self
    }
}

/// How one attempt went wrong.
pub(crate) enum Failure {
    /// Worth another try (when the request allows it).
    Retry {
        error: MlflowError,
        /// Whether the request may have reached the server.
        sent: bool,
        retry_after: Option<Duration>,
    },
    /// Final.
    Fatal(MlflowError),
}

/// The client, the server and the limits.
pub(crate) struct Http {
    client: Client,
    /// `http(s)://host:port[/prefix]/`, without credentials.
    base: Url,
    authorization: Option<HeaderValue>,
    secrets: Secrets,
    timeout: Duration,
    artifact_timeout: Duration,
    retries: u32,
    backoff: Duration,
    retry_budget: Duration,
}

impl Http {
    pub fn new(config: &Config) -> Result<Http, MlflowError> {
        let (base, auth) = parse_tracking_uri(&config.tracking_uri, &config.auth)?;
        let secrets = Secrets::new(&auth, &config.tracking_uri);
        let authorization = match &auth {
            Auth::None => None,
            Auth::Bearer(token) => Some(header_value(
                &format!("Bearer {}", token.trim()),
                "the bearer token",
            )?),
            Auth::Basic { user, password } => Some(header_value(
                &format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
                "the user name or password",
            )?),
        };
        if config.timeout.is_zero() {
            return Err(MlflowError::Config {
                message: "the MLflow request timeout is zero".to_owned(),
            });
        }
        let client = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(MAX_CONNECT_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .danger_accept_invalid_certs(config.insecure_tls)
            .build()
            .map_err(|e| MlflowError::Config {
                message: format!("cannot set up an HTTP client: {}", chain(&e)),
            })?;
        Ok(Http {
            client,
            base,
            authorization,
            secrets,
            timeout: config.timeout,
            artifact_timeout: config.artifact_timeout.max(config.timeout),
            retries: config.retries,
            backoff: config.backoff,
            retry_budget: config.retry_budget,
        })
    }

    /// The server's base URL (no credentials).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Hides the credentials in a text.
    pub fn hide(&self, text: &str) -> String {
        self.secrets.hide(text)
    }

    /// `{base}/api/2.0/mlflow/{endpoint}` with the query pairs.
    pub fn api_url(&self, endpoint: &str, query: &[(&str, &str)]) -> Url {
        let mut url = join(&self.base, &API_PREFIX);
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(endpoint.split('/'));
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// `{base}/api/2.0/mlflow-artifacts/artifacts[/{path}]` (each segment of `path`
    /// percent-encoded).
    pub fn artifacts_url(&self, path: &str) -> Url {
        let mut url = join(&self.base, &ARTIFACTS_PREFIX);
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push("artifacts");
            segments.extend(path.split('/').filter(|s| !s.is_empty()));
        }
        url
    }

    /// A URL for messages.
    pub fn shown(&self, url: &Url) -> String {
        self.secrets.hide(url.as_str())
    }

    /// The server, for messages.
    pub fn server(&self) -> String {
        self.shown(&self.base)
    }

    /// Sends a call whose answer is JSON and returns it (`{}` for an empty body).
    pub fn json(&self, call: &Call) -> Result<Value, MlflowError> {
        self.run(call, |response| {
            let shown = self.shown(&call.url);
            let status = response.status().as_u16();
            if !response.status().is_success() {
                let body = read_capped(response, MAX_ERROR_BYTES, &shown)
                    .map(|(b, _)| b)
                    .unwrap_or_default();
                return Err(Failure::Fatal(self.refusal(call, status, &body)));
            }
            let body = match read_capped(response, MAX_JSON_BYTES, &shown) {
                Ok((body, false)) => body,
                Ok((_, true)) => {
                    return Err(Failure::Fatal(MlflowError::Protocol {
                        message: format!(
                            "{shown}: the answer is larger than {} MiB",
                            MAX_JSON_BYTES / (1024 * 1024)
                        ),
                    }));
                }
                Err(e) => return Err(e.into_failure(self.timeout)),
            };
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Object(serde_json::Map::new()));
            }
            serde_json::from_slice(&body).map_err(|e| {
                Failure::Fatal(MlflowError::Protocol {
                    message: format!(
                        "{shown}: answered {status} with a body that is not JSON ({e}); it \
                         starts with \"{}\"; is this an MLflow tracking server?",
                        preview(&body)
                    ),
                })
            })
        })
    }

    /// Sends a call and, on a 2xx answer, streams its body into `out` (up to `cap` bytes;
    /// `open` gives a fresh writer for each attempt). Returns the bytes written.
    pub fn download<W: Write>(
        &self,
        call: &Call,
        cap: u64,
        mut open: impl FnMut() -> Result<W, MlflowError>,
    ) -> Result<u64, MlflowError> {
        self.run(call, |mut response| {
            let shown = self.shown(&call.url);
            let status = response.status().as_u16();
            if !response.status().is_success() {
                let body = read_capped(response, MAX_ERROR_BYTES, &shown)
                    .map(|(b, _)| b)
                    .unwrap_or_default();
                return Err(Failure::Fatal(self.refusal(call, status, &body)));
            }
            if let Some(len) = response.content_length()
                && len > cap
            {
                return Err(Failure::Fatal(too_large(&shown, cap)));
            }
            let mut out = open().map_err(Failure::Fatal)?;
            let deadline = Instant::now().checked_add(self.artifact_timeout);
            let mut written = 0_u64;
            let mut chunk = vec![0_u8; 256 * 1024];
            loop {
                let n = match response.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(
                            ReadError::from_io(e, &shown).into_failure(self.artifact_timeout)
                        );
                    }
                };
                written = written.saturating_add(n as u64);
                if written > cap {
                    return Err(Failure::Fatal(too_large(&shown, cap)));
                }
                out.write_all(chunk.get(..n).unwrap_or_default())
                    .map_err(|e| {
                        Failure::Fatal(MlflowError::Io {
                            message: format!("cannot write the download of {shown}: {e}"),
                        })
                    })?;
                if deadline.is_some_and(|d| Instant::now() > d) {
                    return Err(Failure::Retry {
                        error: MlflowError::Unavailable {
                            message: format!(
                                "{shown}: the download did not finish within {}",
                                secs(self.artifact_timeout)
                            ),
                        },
                        sent: true,
                        retry_after: None,
                    });
                }
            }
            out.flush().map_err(|e| {
                Failure::Fatal(MlflowError::Io {
                    message: format!("cannot write the download of {shown}: {e}"),
                })
            })?;
            Ok(written)
        })
    }

    /// Sends `call` until `handle` accepts an answer, an error is final, or the retries (and
    /// their time budget) are spent. Answers with a retryable status never reach `handle`.
    fn run<T>(
        &self,
        call: &Call,
        mut handle: impl FnMut(Response) -> Result<T, Failure>,
    ) -> Result<T, MlflowError> {
        let started = Instant::now();
        let shown = self.shown(&call.url);
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            let failure = match self.request(call).send() {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if retryable_status(status) {
                        let retry_after = response
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, SystemTime::now()));
                        let body = read_capped(response, MAX_ERROR_BYTES, &shown)
                            .map(|(b, _)| b)
                            .unwrap_or_default();
                        let error = self.refusal(call, status, &body);
                        if status == 503
                            && String::from_utf8_lossy(&body).contains("serve-artifacts")
                        {
                            Failure::Fatal(MlflowError::Unsupported {
                                message: format!(
                                    "{shown}: the server does not serve artifacts (it runs with \
                                     `--no-serve-artifacts`); start it with `--serve-artifacts`, \
                                     the default since MLflow 2.0"
                                ),
                            })
                        } else {
                            Failure::Retry {
                                error,
                                // A 429 is a refusal before any work.
                                sent: status != 429,
                                retry_after,
                            }
                        }
                    } else {
                        match handle(response) {
                            Ok(value) => return Ok(value),
                            Err(failure) => failure,
                        }
                    }
                }
                Err(e) => Failure::Retry {
                    // A failed connection never reached the server.
                    sent: !e.is_connect(),
                    error: self.transport(&e, &shown, call),
                    retry_after: None,
                },
            };
            let (error, sent, retry_after) = match failure {
                Failure::Fatal(e) => return Err(self.scrub(e)),
                Failure::Retry {
                    error,
                    sent,
                    retry_after,
                } => (error, sent, retry_after),
            };
            let allowed = call.idempotency == Idempotency::Safe || !sent;
            if !allowed {
                return Err(self.scrub(error));
            }
            if attempt >= self.retries {
                return Err(self.scrub(gave_up(error, attempt + 1, started, None)));
            }
            let wait = retry_after.unwrap_or_else(|| backoff(self.backoff, attempt));
            if waited.saturating_add(wait) > self.retry_budget {
                let note = retry_after.map(|w| {
                    format!(
                        "the server asked to wait {} more, beyond the {} retry budget",
                        secs(w),
                        secs(self.retry_budget)
                    )
                });
                return Err(self.scrub(gave_up(error, attempt + 1, started, note)));
            }
            std::thread::sleep(wait);
            waited += wait;
            attempt += 1;
        }
    }

    fn request(&self, call: &Call) -> reqwest::blocking::RequestBuilder {
        let mut request = self.client.request(call.method.clone(), call.url.clone());
        if let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        if let Some((body, content_type)) = &call.body {
            request = request
                .header(CONTENT_TYPE, *content_type)
                .body(body.clone());
        }
        if call.transfer {
            request = request.timeout(self.artifact_timeout);
        }
        request
    }

    /// Why a request got no answer.
    fn transport(&self, e: &reqwest::Error, shown: &str, call: &Call) -> MlflowError {
        let limit = if call.transfer {
            self.artifact_timeout
        } else {
            self.timeout
        };
        let message = if e.is_timeout() {
            format!("{shown}: no answer within {}", secs(limit))
        } else if e.is_connect() {
            format!(
                "cannot reach the MLflow server at {}: {}",
                self.server(),
                innermost(e)
            )
        } else {
            format!("{shown}: the request failed: {}", innermost(e))
        };
        MlflowError::Unavailable { message }
    }

    /// A non-2xx answer as an error: [`MlflowError::NotFound`] for MLflow's
    /// `RESOURCE_DOES_NOT_EXIST`, else [`MlflowError::Api`] quoting the server.
    fn refusal(&self, call: &Call, status: u16, body: &[u8]) -> MlflowError {
        let shown = self.shown(&call.url);
        let parsed = serde_json::from_slice::<Value>(body).ok();
        let error_code = parsed
            .as_ref()
            .and_then(|v| v.get("error_code"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let said = parsed
            .as_ref()
            .and_then(|v| v.get("message").or_else(|| v.get("detail")))
            .map(|m| match m {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| text_of(body));
        let said = truncate(said.trim(), QUOTED_CHARS);
        let not_found = match error_code.as_deref() {
            Some("RESOURCE_DOES_NOT_EXIST") => true,
            Some("INVALID_PARAMETER_VALUE") if call.invalid_parameter_not_found => {
                let lower = said.to_ascii_lowercase();
                lower.contains("not found") || lower.contains("does not exist")
            }
            _ => false,
        };
        if not_found {
            return MlflowError::NotFound {
                what: call.what.clone(),
                server: self.server(),
                message: said,
            };
        }
        let mut message = format!("{shown}: answered {status}");
        match (&error_code, said.is_empty()) {
            (Some(code), false) => {
                let _ = write!(message, " {code}: {said}");
            }
            (Some(code), true) => {
                let _ = write!(message, " {code}");
            }
            (None, false) => {
                let _ = write!(message, ": {said}");
            }
            (None, true) => message.push_str(" (no message)"),
        }
        match status {
            401 if self.authorization.is_none() => message.push_str(
                "; the server wants credentials: set MLFLOW_TRACKING_TOKEN, or \
                 MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
            ),
            401 => message.push_str("; the server refused the credentials"),
            403 => message.push_str("; the credentials lack the permission"),
            404 if error_code.is_none() => {
                let _ = write!(
                    message,
                    "; this endpoint does not exist there: is {} an MLflow tracking server \
                     (2.0 or later)?",
                    self.server()
                );
            }
            _ => {}
        }
        if (300..400).contains(&status) {
            message.push_str("; redirects are not followed: give the URL it redirects to");
        }
        MlflowError::Api {
            status,
            error_code,
            message,
        }
    }

    fn scrub(&self, e: MlflowError) -> MlflowError {
        e.map_text(|t| self.secrets.hide(t))
    }
}

/// `error` with the attempts made, when there was more than one.
fn gave_up(
    error: MlflowError,
    attempts: u32,
    started: Instant,
    note: Option<String>,
) -> MlflowError {
    if attempts <= 1 && note.is_none() {
        return error;
    }
    let mut tail = format!(
        " (gave up after {attempts} attempt{} in {}",
        if attempts == 1 { "" } else { "s" },
        secs(started.elapsed())
    );
    if let Some(note) = note {
        let _ = write!(tail, "; {note}");
    }
    tail.push(')');
    match error {
        MlflowError::Unavailable { message } => MlflowError::Unavailable {
            message: message + &tail,
        },
        MlflowError::Api {
            status,
            error_code,
            message,
        } => MlflowError::Api {
            status,
            error_code,
            message: message + &tail,
        },
        other => other,
    }
}

fn too_large(shown: &str, cap: u64) -> MlflowError {
    MlflowError::Artifact {
        message: format!(
            "{shown}: the download is larger than the {} limit",
            bytes(cap)
        ),
    }
}

/// Why reading a body failed.
enum ReadError {
    TimedOut(String),
    Broken(String),
}

impl ReadError {
    fn from_io(e: std::io::Error, shown: &str) -> ReadError {
        let timed_out = e.kind() == std::io::ErrorKind::TimedOut
            || e.get_ref()
                .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                .is_some_and(reqwest::Error::is_timeout);
        if timed_out {
            ReadError::TimedOut(shown.to_owned())
        } else {
            ReadError::Broken(format!(
                "{shown}: the connection broke while reading the answer: {e}"
            ))
        }
    }

    fn into_failure(self, limit: Duration) -> Failure {
        let message = match self {
            ReadError::TimedOut(shown) => {
                format!(
                    "{shown}: no answer within {} (the body stopped coming)",
                    secs(limit)
                )
            }
            ReadError::Broken(message) => message,
        };
        Failure::Retry {
            error: MlflowError::Unavailable { message },
            sent: true,
            retry_after: None,
        }
    }
}

/// Reads a body up to `cap` bytes; the flag says it was longer (and was cut).
fn read_capped(response: Response, cap: u64, shown: &str) -> Result<(Vec<u8>, bool), ReadError> {
    let mut body = Vec::new();
    let mut limited = response.take(cap.saturating_add(1));
    limited
        .read_to_end(&mut body)
        .map_err(|e| ReadError::from_io(e, shown))?;
    let over = body.len() as u64 > cap;
    if over {
        body.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    }
    Ok((body, over))
}

fn header_value(value: &str, what: &str) -> Result<HeaderValue, MlflowError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| MlflowError::Config {
        message: format!(
            "{what} cannot be sent in an HTTP header (it holds characters HTTP forbids; the \
             value is not shown)"
        ),
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// `url` with path segments appended.
fn join(url: &Url, segments: &[&str]) -> Url {
    let mut out = url.clone();
    if let Ok(mut path) = out.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    out
}

/// Standard base64 (RFC 4648, with padding), for HTTP Basic credentials.
pub(crate) fn base64(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if k <= chunk.len() {
                out.push(char::from(TABLE[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Values that messages must never show: the token, the password, the `Authorization` value
/// and the credentials written in the tracking URI. This client's own messages never include
/// them; this also hides them when a server quotes them back.
#[derive(Clone, Default)]
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    /// Shorter values are not hidden: they would blank out ordinary words.
    const SHORTEST: usize = 4;

    fn new(auth: &Auth, tracking_uri: &str) -> Secrets {
        let mut found = Vec::new();
        match auth {
            Auth::None => {}
            Auth::Bearer(token) => {
                found.push(token.clone());
                found.push(token.trim().to_owned());
            }
            Auth::Basic { user, password } => {
                found.push(password.clone());
                found.push(base64(format!("{user}:{password}").as_bytes()));
            }
        }
        if let Ok(url) = Url::parse(tracking_uri.trim())
            && let Some(password) = url.password()
        {
            found.push(password.to_owned());
            found.push(percent_decode_lossy(password));
        }
        found.retain(|v| v.chars().count() >= Self::SHORTEST);
        // Longest first, so that a value is hidden whole before any part of it.
        found.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        found.dedup();
        Secrets(found)
    }

    pub fn hide(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

fn percent_decode_lossy(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A body as text for messages: HTML reduced to its title or first text, whitespace folded.
fn text_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    if lower.contains("<html") || lower.starts_with("<!doctype") {
        if let (Some(s), Some(e)) = (lower.find("<title>"), lower.find("</title>"))
            && s + 7 <= e
        {
            return text[s + 7..e].trim().to_owned();
        }
        return "(an HTML page)".to_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    truncate(&text, 200).escape_debug().to_string()
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

/// The innermost cause of an error (`Connection refused (os error 111)`).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(inner) = last.source() {
        last = inner;
    }
    last.to_string()
}

/// An error and its causes, `outer: inner: innermost`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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
pub(crate) fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A byte count for messages: `4 GiB`, `512 MiB`, `300 bytes`.
pub(crate) fn bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= 1024 * MIB && n.is_multiple_of(1024 * MIB) {
        format!("{} GiB", n / (1024 * MIB))
    } else if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("ann:pw", "YW5uOnB3"),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn secrets_are_hidden_whole_and_encoded() {
        let s = Secrets::new(
            &Auth::Basic {
                user: "ann".into(),
                password: "hunter22".into(),
            },
            "http://h:1",
        );
        let b64 = base64(b"ann:hunter22");
        assert_eq!(
            s.hide(&format!("got hunter22 and Basic {b64}")),
            "got *** and Basic ***"
        );
        let s = Secrets::new(&Auth::None, "http://u:p%40ssword@h:1");
        assert_eq!(s.hide("p@ssword p%40ssword"), "*** ***");
    }

    #[test]
    fn html_bodies_are_reduced_to_their_title() {
        assert_eq!(
            text_of(b"<!doctype html><html><title>404 Not Found</title><p>x</p>"),
            "404 Not Found"
        );
        assert_eq!(text_of(b"  a\n  b "), "a b");
    }

    #[test]
    fn durations_and_sizes_for_messages() {
        assert_eq!(secs(Duration::from_millis(250)), "250 ms");
        assert_eq!(secs(Duration::from_secs(30)), "30 s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(bytes(4 * 1024 * 1024 * 1024), "4 GiB");
        assert_eq!(bytes(300), "300 bytes");
    }
}
