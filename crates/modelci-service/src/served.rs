//! One served model: its primary (an ONNX Runtime model here, or a model of a remote v2 server)
//! and fallback, and the bulkhead, circuit breaker and fault switch around them.
//!
//! An inference takes a bulkhead slot (waiting in the bounded queue until the deadline at the
//! latest), asks the breaker where to go, and runs as its own task: the fault delay (if any), then
//! the model, bounded by the request's deadline. A local model runs on tokio's blocking pool
//! (ONNX Runtime's `run` blocks; the model's session pool hands it a free session); a remote one
//! is asked over HTTP with retries ([`crate::remote`]), which bound every attempt by the
//! deadline themselves. The task settles the breaker itself, once per request (after every
//! retry), so an overrun counts as a failure even when the client has gone, and the slot stays
//! taken until ONNX Runtime (or the remote call) really returns. Nothing here holds a lock across
//! an inference.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use modelci_tensor::Tensor;
use modelci_tensor::runtime::{Device, Model, Port, Runtime};
use tokio::time::Instant;

use crate::breaker::{Breaker, Outcome, Phase, Route, Transition};
use crate::bulkhead::{Bulkhead, Refused};
use crate::cli::Broken;
use crate::faults::{Fault, FaultSwitch};
use crate::remote::{Call, RemoteError, RemoteModel};

/// The limits every model gets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_concurrency: usize,
    pub max_queue: usize,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    /// Bytes of request bodies a model takes in at once (`--max-inflight-body-bytes`).
    pub max_inflight_body_bytes: u64,
    /// The patterns deliberately disabled (`--broken`, tests only).
    pub broken: Broken,
}

/// When a request must be answered by, and the budget it was given (for messages).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub at: Instant,
    pub budget: Duration,
    /// False under `--broken no-deadline`: nothing waits for `at`.
    pub enforced: bool,
}

impl Deadline {
    pub(crate) fn ms(&self) -> u128 {
        self.budget.as_millis()
    }

    /// `at` when enforced.
    pub(crate) fn limit(&self) -> Option<Instant> {
        self.enforced.then_some(self.at)
    }
}

/// Which model answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServedBy {
    Primary,
    Fallback,
}

impl ServedBy {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ServedBy::Primary => "primary",
            ServedBy::Fallback => "fallback",
        }
    }
}

/// A successful inference.
#[derive(Debug)]
pub(crate) struct Answer {
    /// Every output, in the primary's output order.
    pub outputs: Vec<Tensor>,
    pub served_by: ServedBy,
    pub breaker: Phase,
}

/// Why an inference has no answer.
#[derive(Debug)]
pub(crate) enum InferError {
    /// The bulkhead is full (429).
    Full {
        max_concurrency: usize,
        max_queue: usize,
        retry_after: Duration,
    },
    /// The deadline passed (504); `stage` says where.
    Deadline {
        deadline: Deadline,
        stage: Cow<'static, str>,
    },
    /// The breaker is open and there is no fallback, or it is disabled (503).
    Unavailable {
        retry_after: Duration,
        fallback_disabled: bool,
    },
    /// The model failed (500).
    Failed {
        served_by: ServedBy,
        message: String,
    },
    /// The inputs cannot be sent to the remote model (400).
    Unsendable(String),
    /// The remote model's server refused the request with this 4xx (passed on).
    Refused {
        status: StatusCode,
        message: String,
        retry_after: Option<HeaderValue>,
    },
    /// The remote model failed, after every attempt (502).
    Upstream(String),
}

/// A model that cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("model `{name}`: {message}")]
pub(crate) struct LoadError {
    pub name: String,
    pub message: String,
}

/// What runs a model's primary.
pub(crate) enum Backend {
    /// An ONNX Runtime model, here.
    Local(Arc<Model>),
    /// A model of a remote v2 server.
    Remote(Arc<RemoteModel>),
}

impl Backend {
    /// The primary's inputs.
    pub(crate) fn inputs(&self) -> &[Port] {
        match self {
            Backend::Local(m) => &m.inputs,
            Backend::Remote(r) => &r.inputs,
        }
    }

    /// The primary's outputs.
    pub(crate) fn outputs(&self) -> &[Port] {
        match self {
            Backend::Local(m) => &m.outputs,
            Backend::Remote(r) => &r.outputs,
        }
    }
}

/// See the module docs.
pub(crate) struct ServedModel {
    pub name: String,
    pub version: String,
    /// The primary's inputs and outputs (the fallback has the same).
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    pub faults: FaultSwitch,
    primary: Backend,
    fallback: Option<Arc<Model>>,
    bulkhead: Arc<Bulkhead>,
    /// Admission by size: KiB of request bodies being read or run, at most the limit's.
    bodies: Arc<tokio::sync::Semaphore>,
    breaker: Breaker,
    limits: Limits,
}

/// The budget of [`ServedModel::admit`] in its unit (KiB), at most what a semaphore counts.
fn kib(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX >> 3)
}

/// Whether two dimensions can be the same (`-1` is dynamic).
fn dims_agree(a: &[i64], b: &[i64]) -> bool {
    a.is_empty()
        || b.is_empty()
        || (a.len() == b.len() && a.iter().zip(b).all(|(x, y)| *x < 0 || *y < 0 || x == y))
}

/// Every port must be a tensor of a known element type.
fn check_ports(ports: &[Port], what: &str) -> Result<(), String> {
    match ports.iter().find(|p| p.dtype.is_none()) {
        Some(p) => Err(format!(
            "{what} `{}` is not a tensor of a supported element type (sequences and maps cannot be served; convert with zipmap off)",
            p.name
        )),
        None => Ok(()),
    }
}

/// Why a fallback cannot stand in for the primary (of these inputs and outputs), if it cannot.
fn signature_mismatch(inputs: &[Port], outputs: &[Port], fallback: &Model) -> Option<String> {
    let compare = |want: &[Port], have: &[Port], what: &str| -> Option<String> {
        let names = |ps: &[Port]| ps.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        if want.len() != have.len() || want.iter().any(|w| !have.iter().any(|h| h.name == w.name)) {
            return Some(format!(
                "its {what}s are {:?}, the primary's {:?}",
                names(have),
                names(want)
            ));
        }
        for w in want {
            let h = have.iter().find(|h| h.name == w.name)?;
            if h.dtype != w.dtype || !dims_agree(&h.shape, &w.shape) {
                return Some(format!(
                    "its {what} `{}` is {} {:?}, the primary's is {} {:?}",
                    w.name,
                    h.dtype.map_or("untyped", |d| d.name()),
                    h.shape,
                    w.dtype.map_or("untyped", |d| d.name()),
                    w.shape
                ));
            }
        }
        None
    };
    compare(inputs, &fallback.inputs, "input")
        .or_else(|| compare(outputs, &fallback.outputs, "output"))
}

/// Loads an ONNX model of model `name` (`what`: "the model" or "the fallback") with `sessions`
/// ONNX Runtime sessions.
///
/// # Errors
/// A file ONNX Runtime refuses, a device that is not there, a model with ports that cannot be
/// served as JSON tensors.
pub(crate) fn load_onnx(
    runtime: &Runtime,
    name: &str,
    path: &Path,
    what: &str,
    device: Device,
    sessions: usize,
) -> Result<Model, LoadError> {
    let fail = |message: String| LoadError {
        name: name.to_owned(),
        message,
    };
    if !path.is_file() {
        return Err(fail(format!("{what} `{}` is not a file", path.display())));
    }
    let model = runtime
        .load_pool(path, device, sessions)
        .map_err(|e| fail(e.to_string()))?;
    check_ports(&model.inputs, &format!("{what}'s input"))
        .and_then(|()| check_ports(&model.outputs, &format!("{what}'s output")))
        .map_err(fail)?;
    Ok(model)
}

/// Checks that `fallback` (loaded from `path`) can stand in for `primary` (`shown`: where the
/// primary comes from, for the message).
///
/// # Errors
/// Why it cannot: another set of inputs or outputs, or one of another type or shape.
pub(crate) fn check_fallback(
    name: &str,
    primary: &Backend,
    shown: &str,
    fallback: &Model,
    path: &Path,
) -> Result<(), LoadError> {
    match signature_mismatch(primary.inputs(), primary.outputs(), fallback) {
        Some(why) => Err(LoadError {
            name: name.to_owned(),
            message: format!(
                "the fallback `{}` cannot stand in for `{shown}`: {why}",
                path.display()
            ),
        }),
        None => Ok(()),
    }
}

/// The job of one inference.
enum JobError {
    /// The model (or the fault switch) failed.
    Failed(String),
    /// The deadline passed.
    Deadline,
    /// The remote call failed.
    Remote(RemoteError),
}

impl ServedModel {
    /// A served model of `primary` and its `fallback` (checked with [`check_fallback`]), taking
    /// its slots from `bulkhead` (its own, or under `--broken shared-pool` every model's).
    pub(crate) fn new(
        name: &str,
        version: &str,
        primary: Backend,
        fallback: Option<Model>,
        bulkhead: Arc<Bulkhead>,
        limits: Limits,
    ) -> ServedModel {
        let breaker = Breaker::new(limits.breaker_failures, limits.breaker_cooldown);
        ServedModel {
            name: name.to_owned(),
            version: version.to_owned(),
            inputs: primary.inputs().to_vec(),
            outputs: primary.outputs().to_vec(),
            faults: FaultSwitch::default(),
            primary,
            fallback: fallback.map(Arc::new),
            bulkhead,
            bodies: Arc::new(tokio::sync::Semaphore::new(
                usize::try_from(kib(limits.max_inflight_body_bytes)).unwrap_or(1),
            )),
            breaker: match (limits.broken.no_breaker, limits.broken.no_half_open) {
                (true, _) => breaker.never_opens(),
                (false, true) => breaker.never_half_opens(),
                (false, false) => breaker,
            },
            limits,
        }
    }

    /// Admits a request body of `bytes` (its `Content-Length`, or the body limit when it has
    /// none) before it is read: `None` when the model already takes in as many bytes of bodies
    /// as `--max-inflight-body-bytes` allows (a body larger than the whole budget waits for it
    /// to be free). The permit is held until the answer is written.
    pub(crate) fn admit(&self, bytes: u64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let total = kib(self.limits.max_inflight_body_bytes);
        Arc::clone(&self.bodies)
            .try_acquire_many_owned(kib(bytes).clamp(1, total.max(1)))
            .ok()
    }

    /// The remote model behind this one, if it is remote.
    pub(crate) fn remote(&self) -> Option<&RemoteModel> {
        match &self.primary {
            Backend::Local(_) => None,
            Backend::Remote(r) => Some(r),
        }
    }

    /// Whether a fallback is loaded and used (`--broken no-fallback` never uses it).
    pub(crate) fn has_fallback(&self) -> bool {
        self.fallback.is_some() && !self.limits.broken.no_fallback
    }

    /// The breaker's phase now.
    pub(crate) fn breaker_phase(&self) -> Phase {
        self.breaker.phase(std::time::Instant::now()).0
    }

    fn log(&self, transition: Option<Transition>) {
        let Some(t) = transition else {
            return;
        };
        let instead = if self.has_fallback() {
            "serving the fallback"
        } else if self.fallback.is_some() {
            "refusing requests with 503 (the fallback is disabled: --broken no-fallback)"
        } else {
            "refusing requests with 503 (no fallback)"
        };
        let cooldown = self.limits.breaker_cooldown.as_millis();
        let line = match t {
            Transition::Opened {
                trial: false,
                failures,
            } => format!(
                "circuit breaker open after {failures} consecutive failure{}; {instead} for {cooldown} ms",
                if failures == 1 { "" } else { "s" }
            ),
            Transition::Opened { trial: true, .. } => format!(
                "circuit breaker open again (the half-open trial failed); {instead} for {cooldown} ms"
            ),
            Transition::HalfOpened => {
                "circuit breaker half-open: one trial request goes to the model".to_owned()
            }
            Transition::Closed => {
                "circuit breaker closed (the trial succeeded); serving the model".to_owned()
            }
        };
        eprintln!("modelci-service: model `{}`: {line}", self.name);
    }

    /// Runs one inference (see the module docs); `call` is what the request brings to a remote
    /// model (its id, whether it may be retried).
    ///
    /// # Errors
    /// [`InferError`], one per answer the service gives.
    pub(crate) async fn infer(
        self: &Arc<Self>,
        inputs: Vec<Tensor>,
        deadline: Deadline,
        call: Call,
    ) -> Result<Answer, InferError> {
        let slot = match self.bulkhead.enter(deadline.limit()).await {
            Ok(slot) => slot,
            Err(Refused::Full {
                max_concurrency,
                max_queue,
            }) => {
                return Err(InferError::Full {
                    max_concurrency,
                    max_queue,
                    retry_after: self.bulkhead.retry_after(),
                });
            }
            Err(Refused::Deadline) => {
                return Err(InferError::Deadline {
                    deadline,
                    stage: Cow::Borrowed(
                        "while waiting in the model's queue (the bulkhead was busy)",
                    ),
                });
            }
        };
        let (route, transition) = self.breaker.route(std::time::Instant::now());
        self.log(transition);
        enum Target {
            Local(Arc<Model>),
            Remote(Arc<RemoteModel>),
        }
        let (target, fault, trial, served_by) = match route {
            Route::Primary { trial } => (
                match &self.primary {
                    Backend::Local(m) => Target::Local(Arc::clone(m)),
                    Backend::Remote(r) => Target::Remote(Arc::clone(r)),
                },
                self.faults.get(),
                Some(trial),
                ServedBy::Primary,
            ),
            Route::Fallback { retry_after } => match &self.fallback {
                Some(f) if !self.limits.broken.no_fallback => (
                    Target::Local(Arc::clone(f)),
                    Fault::default(),
                    None,
                    ServedBy::Fallback,
                ),
                _ => {
                    return Err(InferError::Unavailable {
                        retry_after,
                        fallback_disabled: self.fallback.is_some(),
                    });
                }
            },
        };
        let this = Arc::clone(self);
        let job = tokio::spawn(async move {
            // Settles the breaker once: with the outcome, or as neutral if the task is dropped.
            let mut settle = Settle {
                model: &this,
                trial,
            };
            let name = this.name.clone();
            let result = match target {
                Target::Local(model) => {
                    let work = async move {
                        if fault.delay_ms > 0 {
                            tokio::time::sleep(fault.delay()).await;
                        }
                        injected(&name, fault)?;
                        let run = tokio::task::spawn_blocking(move || {
                            // The slot is held until ONNX Runtime returns, even past the deadline.
                            let _slot = slot;
                            model.run_owned(inputs)
                        });
                        match run.await {
                            Ok(Ok(outputs)) => Ok(outputs),
                            Ok(Err(e)) => {
                                Err(JobError::Failed(runtime_failure(&name, &e.to_string())))
                            }
                            Err(e) => Err(JobError::Failed(format!(
                                "the inference stopped unexpectedly: {e}"
                            ))),
                        }
                    };
                    match deadline.limit() {
                        Some(at) => tokio::time::timeout_at(at, work)
                            .await
                            .unwrap_or(Err(JobError::Deadline)),
                        None => work.await,
                    }
                }
                Target::Remote(remote) => {
                    // The slot is held until the remote call (every attempt) is over.
                    let _slot = slot;
                    let work = async {
                        if fault.delay_ms > 0 {
                            let delay = tokio::time::sleep(fault.delay());
                            match deadline.limit() {
                                Some(at) => tokio::time::timeout_at(at, delay)
                                    .await
                                    .map_err(|_| JobError::Deadline)?,
                                None => delay.await,
                            }
                        }
                        injected(&name, fault)?;
                        remote
                            .infer(&inputs, &call, deadline)
                            .await
                            .map_err(JobError::Remote)
                    };
                    work.await
                }
            };
            settle.done(match &result {
                Ok(_) => Outcome::Success,
                Err(JobError::Failed(_) | JobError::Deadline) => Outcome::Failure,
                Err(JobError::Remote(e)) => e.outcome(),
            });
            result
        });
        let result = job.await.map_err(|e| InferError::Failed {
            served_by,
            message: format!("the inference stopped unexpectedly: {e}"),
        })?;
        let breaker = self.breaker_phase();
        match result {
            Ok(outputs) => Ok(Answer {
                outputs,
                served_by,
                breaker,
            }),
            Err(JobError::Failed(message)) => Err(InferError::Failed { served_by, message }),
            Err(JobError::Deadline) => Err(InferError::Deadline {
                deadline,
                stage: Cow::Borrowed(match (served_by, &self.primary) {
                    (ServedBy::Fallback, _) => "while the fallback model was running",
                    (ServedBy::Primary, Backend::Local(_)) => "while the model was running",
                    (ServedBy::Primary, Backend::Remote(_)) => {
                        "during the injected delay (POST /faults), before the remote model was asked"
                    }
                }),
            }),
            Err(JobError::Remote(e)) => Err(match e {
                RemoteError::Unencodable(m) => InferError::Unsendable(m),
                RemoteError::Refused {
                    status,
                    message,
                    retry_after,
                } => InferError::Refused {
                    status,
                    message,
                    retry_after,
                },
                RemoteError::Failed(m) => InferError::Upstream(m),
                RemoteError::Deadline { attempts } => InferError::Deadline {
                    deadline,
                    stage: Cow::Owned(format!(
                        "while waiting for the remote model at {} ({attempts} attempt(s))",
                        self.remote().map_or("", |r| r.infer_url.as_str())
                    )),
                },
            }),
        }
    }
}

/// The failure the fault switch injects, if it does.
/// What a client is told when ONNX Runtime fails: not its message, which names the model's
/// internal nodes and files; that goes to the service's log.
fn runtime_failure(name: &str, detail: &str) -> String {
    eprintln!("modelci-service: model `{name}`: ONNX Runtime failed: {detail}");
    if detail.to_ascii_lowercase().contains("out of memory") {
        "ONNX Runtime ran out of memory (the service's log has the details)".to_owned()
    } else {
        "ONNX Runtime could not run the model (the service's log has the details)".to_owned()
    }
}

fn injected(name: &str, fault: Fault) -> Result<(), JobError> {
    if fault.fail {
        return Err(JobError::Failed(format!(
            "injected fault: model `{name}` is set to fail (POST /faults)"
        )));
    }
    if fault.gpu_oom {
        // The words ONNX Runtime's CUDA provider uses when the GPU is out of memory.
        return Err(JobError::Failed(format!(
            "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running the model `{name}`: CUDA failure 2: out of memory (injected GPU fault, POST /faults)"
        )));
    }
    Ok(())
}

/// Settles the breaker for a request routed to the primary (`trial` is `None` for the fallback).
struct Settle<'a> {
    model: &'a ServedModel,
    trial: Option<bool>,
}

impl Settle<'_> {
    fn done(&mut self, outcome: Outcome) {
        if let Some(trial) = self.trial.take() {
            let t = self
                .model
                .breaker
                .record(trial, outcome, std::time::Instant::now());
            self.model.log(t);
        }
    }
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        self.done(Outcome::Neutral);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_agree_where_dynamic() {
        assert!(dims_agree(&[-1, 20], &[-1, 20]));
        assert!(dims_agree(&[-1, 20], &[5, 20]));
        assert!(!dims_agree(&[-1, 20], &[-1, 21]));
        assert!(!dims_agree(&[-1, 20], &[-1]));
        assert!(dims_agree(&[], &[3]));
    }
}
