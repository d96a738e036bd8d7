//! The transport: one blocking `reqwest` client, credentials, retries, body limits, and
//! MLflow's error answers turned into [`MlflowError`]s.

use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, SystemTime};

use modelci_net::{
    BodyError, ClientPolicy, Deadline, Idempotency, Next, ProxySettings, Redactor, RetryPolicy,
    basic_auth, bytes, copy_capped, error_reached_server, innermost, parse_retry_after, preview,
    read_capped_blocking, retryable_status, status_reached_server, text_of, truncate,
};
use reqwest::blocking::{Client, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::config::{Auth, Config, parse_tracking_uri};
use crate::error::MlflowError;

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
    secrets: Redactor,
    proxy: ProxySettings,
    timeout: Duration,
    artifact_timeout: Duration,
    retry: RetryPolicy,
    /// When the client was made, and the most time all its calls may take together.
    budget: Option<(std::time::Instant, Duration)>,
}

impl Http {
    pub fn new(config: &Config) -> Result<Http, MlflowError> {
        let (base, auth) = parse_tracking_uri(&config.tracking_uri, &config.auth)?;
        let secrets = secrets(&auth, &config.tracking_uri);
        let authorization = match &auth {
            Auth::None => None,
            Auth::Bearer(token) => Some(header_value(
                &format!("Bearer {}", token.trim()),
                "the bearer token",
            )?),
            Auth::Basic { user, password } => Some(header_value(
                &basic_auth(user, password),
                "the user name or password",
            )?),
        };
        if config.timeout.is_zero() {
            return Err(MlflowError::Config {
                message: "the MLflow request timeout is zero".to_owned(),
            });
        }
        let policy = ClientPolicy::new(config.timeout).insecure_tls(config.insecure_tls);
        let config_error = |message: String| MlflowError::Config { message };
        let proxy = policy
            .proxy_settings()
            .map_err(|e| config_error(e.to_string()))?;
        let client: Client = policy
            .proxy(proxy.clone())
            .build_blocking()
            .map_err(|e| config_error(e.to_string()))?;
        Ok(Http {
            client,
            base,
            authorization,
            secrets,
            proxy,
            timeout: config.timeout,
            artifact_timeout: config.artifact_timeout.max(config.timeout),
            retry: RetryPolicy::new(config.retries, config.backoff, config.retry_budget),
            budget: config.budget.map(|b| (std::time::Instant::now(), b)),
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
                let body = self.error_body(response);
                return Err(Failure::Fatal(self.refusal(call, status, &body)));
            }
            let read =
                read_capped_blocking(response, MAX_JSON_BYTES, Deadline::after(self.limit(call)));
            let body = match read {
                Ok(body) if !body.truncated => body.bytes,
                Ok(_) => {
                    return Err(Failure::Fatal(MlflowError::Protocol {
                        message: format!(
                            "{shown}: the answer is larger than {} MiB",
                            MAX_JSON_BYTES / (1024 * 1024)
                        ),
                    }));
                }
                Err(e) => return Err(read_failure(&e, &shown)),
            };
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Object(serde_json::Map::new()));
            }
            serde_json::from_slice(&body).map_err(|e| {
                Failure::Fatal(MlflowError::Protocol {
                    message: format!(
                        "{shown}: answered {status} with a body that is not JSON ({e}); it \
                         starts with \"{}\"; is this an MLflow tracking server?",
                        preview(&body, 200)
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
                let body = self.error_body(response);
                return Err(Failure::Fatal(self.refusal(call, status, &body)));
            }
            if let Some(len) = response.content_length()
                && len > cap
            {
                return Err(Failure::Fatal(too_large(&shown, cap)));
            }
            let mut out = open().map_err(Failure::Fatal)?;
            let deadline = Deadline::after(self.artifact_timeout);
            match copy_capped(&mut response, &mut out, cap, deadline) {
                Ok(copied) if copied.truncated => Err(Failure::Fatal(too_large(&shown, cap))),
                Ok(copied) => Ok(copied.written),
                Err(BodyError::Write(e)) => Err(Failure::Fatal(MlflowError::Io {
                    message: format!("cannot write the download of {shown}: {e}"),
                })),
                Err(e) => Err(read_failure(&e, &shown)),
            }
        })
    }

    /// An error answer's body, read up to [`MAX_ERROR_BYTES`] (what could not be read is left
    /// out).
    fn error_body(&self, response: Response) -> Vec<u8> {
        read_capped_blocking(response, MAX_ERROR_BYTES, Deadline::after(self.timeout))
            .map(|b| b.bytes)
            .unwrap_or_default()
    }

    /// Sends `call` until `handle` accepts an answer, an error is final, or the retries (and
    /// their time budget) are spent. Answers with a retryable status never reach `handle`.
    fn run<T>(
        &self,
        call: &Call,
        mut handle: impl FnMut(Response) -> Result<T, Failure>,
    ) -> Result<T, MlflowError> {
        let shown = self.shown(&call.url);
        let mut retries = self.retry.start();
        loop {
            // The run's budget: no attempt starts past it, and none runs beyond it.
            let mut request = self.request(call);
            if let Some((since, budget)) = self.budget {
                let left = budget.saturating_sub(since.elapsed());
                if left.is_zero() {
                    return Err(self.scrub(MlflowError::Unavailable {
                        message: format!(
                            "{shown}: not sent: the MLflow time budget of {} is spent",
                            modelci_net::duration(budget)
                        ),
                    }));
                }
                request = request.timeout(left.min(self.limit(call)));
            }
            let failure = match request.send() {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if retryable_status(status) {
                        let retry_after = response
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, SystemTime::now()));
                        let body = self.error_body(response);
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
                                sent: status_reached_server(status),
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
                    sent: error_reached_server(&e),
                    error: self.transport(e, &shown, call),
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
            if !call.idempotency.allows_retry(sent) {
                return Err(self.scrub(error));
            }
            match retries.next(retry_after) {
                Next::Wait(wait) => {
                    // No waiting past the run's budget: the next attempt would not start.
                    let wait = match self.budget {
                        Some((since, budget)) => wait.min(budget.saturating_sub(since.elapsed())),
                        None => wait,
                    };
                    std::thread::sleep(wait);
                    retries.waited(wait);
                }
                Next::GiveUp(why) => {
                    let error = match retries.summary(&why) {
                        Some(tail) => with_tail(error, &tail),
                        None => error,
                    };
                    return Err(self.scrub(error));
                }
            }
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

    /// The time a call may take: the artifact timeout for transfers.
    fn limit(&self, call: &Call) -> Duration {
        if call.transfer {
            self.artifact_timeout
        } else {
            self.timeout
        }
    }

    /// Why a request got no answer.
    fn transport(&self, e: reqwest::Error, shown: &str, call: &Call) -> MlflowError {
        let limit = self.limit(call);
        let message = if e.is_connect() && !e.is_timeout() {
            let route = self
                .proxy
                .describe(&call.url)
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!(
                "cannot reach the MLflow server at {}{route}: {}",
                self.server(),
                innermost(&e)
            )
        } else if e.is_timeout() {
            format!("{shown}: {}", modelci_net::describe(e, limit))
        } else {
            format!(
                "{shown}: the request failed: {}",
                modelci_net::describe(e, limit)
            )
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

/// `error` with how the retries ended (` (gave up after 3 attempts in 1.5 s)`).
fn with_tail(error: MlflowError, tail: &str) -> MlflowError {
    match error {
        MlflowError::Unavailable { message } => MlflowError::Unavailable {
            message: message + tail,
        },
        MlflowError::Api {
            status,
            error_code,
            message,
        } => MlflowError::Api {
            status,
            error_code,
            message: message + tail,
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

/// A body that could not be read: worth another try.
fn read_failure(e: &BodyError, shown: &str) -> Failure {
    Failure::Retry {
        error: MlflowError::Unavailable {
            message: format!("{shown}: {e}"),
        },
        sent: true,
        retry_after: None,
    }
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

/// Values that messages must never show: the token, the password, the `Authorization` value
/// and the credentials written in the tracking URI. This client's own messages never include
/// them; this also hides them when a server quotes them back.
fn secrets(auth: &Auth, tracking_uri: &str) -> Redactor {
    let mut found = Redactor::new();
    match auth {
        Auth::None => {}
        Auth::Bearer(token) => {
            found.secret(token);
            found.secret(token.trim());
        }
        Auth::Basic { user, password } => {
            found.basic_credentials(user, password);
        }
    }
    if let Ok(url) = Url::parse(tracking_uri.trim()) {
        found.url(&url, false);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_whole_and_encoded() {
        let s = secrets(
            &Auth::Basic {
                user: "ann".into(),
                password: "hunter22".into(),
            },
            "http://h:1",
        );
        let b64 = modelci_net::base64(b"ann:hunter22");
        assert_eq!(
            s.hide(&format!("got hunter22 and Basic {b64}")),
            "got *** and Basic ***"
        );
        let s = secrets(&Auth::None, "http://u:p%40ssword@h:1");
        assert_eq!(s.hide("p@ssword p%40ssword"), "*** ***");
    }
}
