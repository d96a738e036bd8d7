//! Remote models: a model served by a remote Open Inference Protocol (v2 REST) server, with this
//! service as its gateway (`--model NAME=http://HOST:PORT`).
//!
//! At startup the model's metadata (`GET {base}/v2/models/{remote}`) gives its inputs and
//! outputs; the server is waited for (tries 500 ms apart, each bounded by 10 s) for at most
//! `--remote-wait-ms`. An inference is the request's typed inputs written as a v2 JSON request
//! and posted to `{base}/v2/models/{remote}/infer`; the answer's outputs are read back as
//! tensors. Every attempt carries the client's `X-Request-Id` (when it sent one) and
//! `X-Attempt: N` (1-based).
//!
//! Retries: at most `--retries` more attempts, only after connection errors, resets, cut-off
//! answers and 500/502/503/504 (never after a 4xx, which is passed on, nor after an answer that
//! is not a v2 inference answer), and only for idempotent requests. Before attempt k+1 the
//! service waits a random time in `[B·2^(k-1)/2, B·2^(k-1)]` (B: `--retry-backoff-ms`, "equal
//! jitter", from a generator seeded per request). No attempt starts, and no backoff sleeps, past
//! the request's deadline: each attempt is bounded by the time left, and a backoff that would
//! end past the deadline ends the retries at once. One HTTP client (and its connection pool) is
//! shared by every remote model.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use modelci_rng::SeededRng;
use modelci_tensor::Tensor;
use modelci_tensor::runtime::Port;
use modelci_v2::codec::metadata::Metadata;
use modelci_v2::codec::quote_nonfinite;
use modelci_v2::codec::request::encode;
use modelci_v2::codec::response::parse_outputs;
use serde_json::Value;
use tokio::time::Instant;

use crate::breaker::Outcome;
use crate::cli::Broken;
use crate::served::Deadline;

/// The header of the client's request id, sent on to the remote server and echoed back.
pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// The header that numbers the attempts sent to the remote server (1-based).
pub(crate) const ATTEMPT_HEADER: &str = "x-attempt";

/// The longest a metadata try at startup may take.
const METADATA_TRY_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest a metadata try at startup is given, even when the wait is nearly over.
const METADATA_TRY_FLOOR: Duration = Duration::from_secs(1);

/// The pause between metadata tries at startup.
const METADATA_TRY_PAUSE: Duration = Duration::from_millis(500);

/// The longest backoff, whatever `--retry-backoff-ms` and the attempt (an hour).
const MAX_BACKOFF_US: u64 = 3_600_000_000;

/// How much of a remote server's error answer goes into messages.
const MAX_QUOTED_CHARS: usize = 300;

/// The HTTP client every remote model shares: a connection pool, no proxy from the
/// environment (the URL given is the one reached), no redirects, no timeout of its own (each
/// request is bounded by its deadline).
///
/// # Errors
/// A message when the client cannot be built.
pub(crate) fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .user_agent(concat!("modelci-service/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            format!(
                "cannot build the HTTP client of the remote models: {}",
                chain(&e)
            )
        })
}

/// How a remote model retries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Attempts after the first one (`--retries`).
    pub retries: u32,
    /// The backoff's base (`--retry-backoff-ms`).
    pub backoff: Duration,
    /// The `--broken` switches (`retry-no-backoff`, `retry-non-idempotent` matter here).
    pub broken: Broken,
}

/// What the client's request brings to the remote call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// The client's `X-Request-Id`, sent unchanged on every attempt.
    pub request_id: Option<HeaderValue>,
    /// False when the request says `"parameters": {"idempotent": false}`: never retried.
    pub idempotent: bool,
}

/// Why a remote inference has no answer.
#[derive(Debug)]
pub(crate) enum RemoteError {
    /// The inputs cannot be written as a JSON request (400; says nothing about the server).
    Unencodable(String),
    /// The remote server refused the request with a 4xx, passed on to the client (neutral for
    /// the breaker).
    Refused {
        status: StatusCode,
        message: String,
        retry_after: Option<HeaderValue>,
    },
    /// Every attempt failed, or the answer was unusable (502).
    Failed(String),
    /// The deadline passed during the attempts (504); `attempts` were started.
    Deadline { attempts: u32 },
}

impl RemoteError {
    /// What the error says about the remote model, for the breaker.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            RemoteError::Unencodable(_) | RemoteError::Refused { .. } => Outcome::Neutral,
            RemoteError::Failed(_) | RemoteError::Deadline { .. } => Outcome::Failure,
        }
    }
}

/// How one attempt failed.
#[derive(Debug)]
enum Failure {
    /// Worth another attempt: no answer (cannot connect, reset, cut off) or 500/502/503/504.
    Transient(String),
    /// A 4xx: passed on, never retried.
    Refused {
        status: StatusCode,
        message: String,
        retry_after: Option<HeaderValue>,
    },
    /// An answer that another attempt would not fix (another status, not an inference answer).
    Unusable(String),
}

/// How a remote call is bounded in time.
#[derive(Debug, Clone, Copy)]
enum Bound {
    /// By the request's deadline: each attempt gets the time left, and nothing starts past it.
    Deadline(Instant),
    /// Each attempt by this much, whatever the deadline (`--broken retry-no-backoff`).
    EachAttempt(Duration),
    /// Not at all (`--broken no-deadline`).
    Unbounded,
}

/// A model of a remote v2 server (see the module docs).
pub(crate) struct RemoteModel {
    /// The model's name on the server.
    pub remote_name: String,
    /// `{base}/v2/models/{remote_name}/infer`.
    pub infer_url: String,
    /// The inputs and outputs its metadata declares.
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    /// The metadata's `platform`, when it says.
    pub platform: Option<String>,
    client: reqwest::Client,
    policy: RetryPolicy,
}

/// Whether a metadata try at startup is worth repeating.
enum Fetch {
    Again(String),
    Final(String),
}

impl RemoteModel {
    /// Reads the metadata of model `remote_name` at `base`, waiting up to `wait` for the
    /// server (see the module docs); `name` is the model's name here, for the log.
    ///
    /// # Errors
    /// A message naming the URL: the server did not answer in time, refused (a 4xx other than
    /// 408 and 429), or gave metadata that cannot be served.
    pub(crate) async fn connect(
        name: &str,
        base: &str,
        remote_name: &str,
        client: reqwest::Client,
        policy: RetryPolicy,
        wait: Duration,
    ) -> Result<RemoteModel, String> {
        let url = format!("{base}/v2/models/{remote_name}");
        let started = Instant::now();
        let mut tries: u32 = 0;
        let metadata = loop {
            tries += 1;
            let left = wait.saturating_sub(started.elapsed());
            let limit = METADATA_TRY_TIMEOUT.min(left.max(METADATA_TRY_FLOOR));
            match fetch_metadata(&client, &url, limit).await {
                Ok(metadata) => break metadata,
                Err(Fetch::Final(why)) => {
                    return Err(format!("the remote model at {url}: {why}"));
                }
                Err(Fetch::Again(why)) => {
                    if started.elapsed() + METADATA_TRY_PAUSE >= wait {
                        return Err(format!(
                            "the remote server at {url} did not answer the model's metadata within {} ms ({tries} tr{}; raise --remote-wait-ms): {why}",
                            wait.as_millis(),
                            if tries == 1 { "y" } else { "ies" }
                        ));
                    }
                    if tries == 1 {
                        eprintln!(
                            "modelci-service: model `{name}`: waiting for the remote server at {url} ({why}); at most {} ms",
                            wait.as_millis()
                        );
                    }
                    tokio::time::sleep(METADATA_TRY_PAUSE).await;
                }
            }
        };
        let ports = |declared: Vec<modelci_v2::codec::metadata::DeclaredPort>, what: &str| {
            if declared.is_empty() {
                return Err(format!(
                    "the remote model at {url} declares no {what}s in its metadata"
                ));
            }
            declared
                .into_iter()
                .map(|d| match d.port.dtype {
                    Some(_) => Ok(d.port),
                    None => Err(format!(
                        "the remote model at {url}: its {what} `{}` has datatype `{}`, which cannot be served",
                        d.port.name, d.datatype
                    )),
                })
                .collect::<Result<Vec<Port>, String>>()
        };
        let inputs = ports(metadata.inputs, "input")?;
        let outputs = ports(metadata.outputs, "output")?;
        Ok(RemoteModel {
            remote_name: remote_name.to_owned(),
            infer_url: format!("{url}/infer"),
            inputs,
            outputs,
            platform: metadata.platform,
            client,
            policy,
        })
    }

    /// Runs one inference on the remote server, with the retries of the module docs.
    ///
    /// # Errors
    /// [`RemoteError`]: one per answer the service gives.
    pub(crate) async fn infer(
        &self,
        inputs: &[Tensor],
        call: &Call,
        deadline: Deadline,
    ) -> Result<Vec<Tensor>, RemoteError> {
        let body = Bytes::from(encode(inputs, &[], false).map_err(RemoteError::Unencodable)?);
        let url = &self.infer_url;
        let broken = self.policy.broken;
        let bound = if !deadline.enforced {
            Bound::Unbounded
        } else if broken.retry_no_backoff {
            Bound::EachAttempt(deadline.budget)
        } else {
            Bound::Deadline(deadline.at)
        };
        let retried = call.idempotent || broken.retry_non_idempotent;
        let attempts = if retried {
            self.policy.retries.saturating_add(1)
        } else {
            1
        };
        let mut rng: Option<SeededRng> = None;
        let mut last = String::new();
        for n in 1..=attempts {
            if n > 1 && !broken.retry_no_backoff {
                let rng = rng.get_or_insert_with(|| SeededRng::new(seed()));
                let wait = equal_jitter(self.policy.backoff, n - 1, rng);
                if let Bound::Deadline(at) = bound
                    && Instant::now() + wait >= at
                {
                    return Err(RemoteError::Failed(format!(
                        "the remote model at {url} failed after {} attempt(s), and the backoff before another would end past the deadline; the last: {last}",
                        n - 1
                    )));
                }
                tokio::time::sleep(wait).await;
            }
            if let Bound::Deadline(at) = bound
                && Instant::now() >= at
            {
                return Err(RemoteError::Deadline { attempts: n - 1 });
            }
            let attempt = self.attempt(body.clone(), call, n);
            let result = match bound {
                Bound::Deadline(at) => match tokio::time::timeout_at(at, attempt).await {
                    Ok(result) => result,
                    Err(_) => return Err(RemoteError::Deadline { attempts: n }),
                },
                Bound::EachAttempt(limit) => tokio::time::timeout(limit, attempt)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Failure::Transient(format!(
                            "no answer within {} ms",
                            limit.as_millis()
                        )))
                    }),
                Bound::Unbounded => attempt.await,
            };
            match result {
                Ok(outputs) => return Ok(outputs),
                Err(Failure::Transient(why)) => last = why,
                Err(Failure::Refused {
                    status,
                    message,
                    retry_after,
                }) => {
                    return Err(RemoteError::Refused {
                        status,
                        message: format!(
                            "the remote model at {url} refused the request with {status}{}",
                            suffix(&message)
                        ),
                        retry_after,
                    });
                }
                Err(Failure::Unusable(why)) => {
                    return Err(RemoteError::Failed(format!(
                        "the remote model at {url} gave an unusable answer (attempt {n}): {why}"
                    )));
                }
            }
        }
        let mut message = format!("the remote model at {url} failed after {attempts} attempt(s)");
        if !retried && self.policy.retries > 0 {
            message.push_str(" (the request is not idempotent: it is never retried)");
        }
        let _ = write!(message, "; the last: {last}");
        Err(RemoteError::Failed(message))
    }

    /// One attempt: the request, its answer read and decoded.
    async fn attempt(&self, body: Bytes, call: &Call, n: u32) -> Result<Vec<Tensor>, Failure> {
        let mut request = self
            .client
            .post(&self.infer_url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                HeaderName::from_static(ATTEMPT_HEADER),
                HeaderValue::from(n),
            )
            .body(body);
        if let Some(id) = &call.request_id {
            request = request.header(HeaderName::from_static(REQUEST_ID_HEADER), id.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Transient(sending(&e)))?;
        let status = response.status();
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        let read = response.bytes().await;
        if !status.is_success() {
            let message = read.map(|b| quoted(&b)).unwrap_or_default();
            return Err(match status.as_u16() {
                500 | 502 | 503 | 504 => {
                    Failure::Transient(format!("answered {status}{}", suffix(&message)))
                }
                400..=499 => Failure::Refused {
                    status,
                    message,
                    retry_after,
                },
                _ => Failure::Unusable(format!("answered {status}{}", suffix(&message))),
            });
        }
        let bytes = read
            .map_err(|e| Failure::Transient(format!("the answer was cut off ({})", chain(&e))))?;
        let answer = match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => v,
            Err(e) if e.is_eof() => {
                return Err(Failure::Transient(format!("the answer was cut off ({e})")));
            }
            Err(e) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(quote_nonfinite)
                .and_then(|text| serde_json::from_str(&text).ok())
                .ok_or_else(|| Failure::Unusable(format!("the answer is not JSON: {e}")))?,
        };
        let outputs = parse_outputs(&answer).map_err(|m| {
            Failure::Unusable(format!("the answer is not a v2 inference answer: {m}"))
        })?;
        if let Some(missing) = self
            .outputs
            .iter()
            .find(|p| !outputs.iter().any(|t| t.name == p.name))
        {
            return Err(Failure::Unusable(format!(
                "the answer has no output `{}`",
                missing.name
            )));
        }
        Ok(outputs)
    }
}

/// One metadata try at startup, bounded by `limit`.
async fn fetch_metadata(
    client: &reqwest::Client,
    url: &str,
    limit: Duration,
) -> Result<Metadata, Fetch> {
    let get = async {
        let response = client
            .get(url)
            .send()
            .await
            .map_err(|e| Fetch::Again(sending(&e)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Fetch::Again(format!("the answer was cut off ({})", chain(&e))))?;
        Ok::<_, Fetch>((status, bytes))
    };
    let (status, bytes) = tokio::time::timeout(limit, get)
        .await
        .map_err(|_| Fetch::Again(format!("no answer within {} ms", limit.as_millis())))??;
    if !status.is_success() {
        let why = format!("answered {status}{}", suffix(&quoted(&bytes)));
        return Err(match status.as_u16() {
            408 | 429 | 500..=599 => Fetch::Again(why),
            _ => Fetch::Final(why),
        });
    }
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Fetch::Final(format!("the metadata is not JSON: {e}")))?;
    Metadata::parse(&v).map_err(|m| Fetch::Final(format!("the metadata is not v2 metadata: {m}")))
}

/// A request that got no answer, said plainly.
fn sending(e: &reqwest::Error) -> String {
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "no answer"
    };
    format!("{what} ({})", chain(e))
}

/// An error and its sources, joined by `: ` (a source already said is skipped).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// What an error answer says: its `{"error": ...}` string, else its text, cut short.
fn quoted(body: &[u8]) -> String {
    let text = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// `: message`, or nothing for an empty message.
fn suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The backoff before retry `retry` (1 for the second attempt): uniform in
/// `[cap/2, cap]` with `cap = base·2^(retry-1)` ("equal jitter"), at most an hour.
pub(crate) fn equal_jitter(base: Duration, retry: u32, rng: &mut SeededRng) -> Duration {
    let base_us = u64::try_from(base.as_micros()).unwrap_or(u64::MAX);
    let factor = 1u64
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u64::MAX);
    let cap = base_us.saturating_mul(factor).min(MAX_BACKOFF_US);
    let low = cap / 2;
    Duration::from_micros(low + rng.below(cap - low + 1))
}

/// A seed per request: the clock and a counter, so that requests do not back off in step.
fn seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_equal_jitter_and_grows() {
        let mut rng = SeededRng::new(7);
        let base = Duration::from_millis(100);
        for retry in 1..=5u32 {
            let cap = base * 2u32.pow(retry - 1);
            let waits: Vec<Duration> = (0..200)
                .map(|_| equal_jitter(base, retry, &mut rng))
                .collect();
            assert!(
                waits.iter().all(|w| *w >= cap / 2 && *w <= cap),
                "{retry}: {waits:?}"
            );
            let (min, max) = (
                waits.iter().min().copied().unwrap_or_default(),
                waits.iter().max().copied().unwrap_or_default(),
            );
            // Spread over the range, not lock-step.
            assert!(max - min > cap / 4, "{retry}: {min:?}..{max:?}");
        }
        assert_eq!(equal_jitter(Duration::ZERO, 3, &mut rng), Duration::ZERO);
        let huge = equal_jitter(Duration::from_secs(60), 64, &mut rng);
        assert!(huge <= Duration::from_micros(MAX_BACKOFF_US));
    }

    #[test]
    fn seeds_differ_per_request() {
        assert_ne!(seed(), seed());
    }

    #[test]
    fn error_answers_are_quoted_short() {
        assert_eq!(quoted(br#"{"error": "model x failed"}"#), "model x failed");
        assert_eq!(quoted(b"  plain text \n"), "plain text");
        assert_eq!(quoted(b""), "");
        let long = "y".repeat(1000);
        assert_eq!(quoted(long.as_bytes()).len(), MAX_QUOTED_CHARS + 3);
        assert_eq!(suffix(""), "");
        assert_eq!(suffix("x"), ": x");
    }

    #[test]
    fn outcomes_for_the_breaker() {
        assert_eq!(
            RemoteError::Unencodable(String::new()).outcome(),
            Outcome::Neutral
        );
        assert_eq!(
            RemoteError::Refused {
                status: StatusCode::BAD_REQUEST,
                message: String::new(),
                retry_after: None
            }
            .outcome(),
            Outcome::Neutral
        );
        assert_eq!(
            RemoteError::Failed(String::new()).outcome(),
            Outcome::Failure
        );
        assert_eq!(
            RemoteError::Deadline { attempts: 1 }.outcome(),
            Outcome::Failure
        );
    }
}
