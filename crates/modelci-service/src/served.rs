//! One served model: its primary and fallback ONNX Runtime models, and the bulkhead, circuit
//! breaker and fault switch around them.
//!
//! An inference takes a bulkhead slot (waiting in the bounded queue until the deadline at the
//! latest), asks the breaker where to go, and runs as its own task: the fault delay (if any), then
//! the model on tokio's blocking pool (ONNX Runtime's `run` blocks; the model's session pool
//! hands it a free session), all bounded by the request's deadline. The task settles the breaker
//! itself, so an overrun counts as a failure even when the client has gone, and the slot stays
//! taken until ONNX Runtime really returns. Nothing here holds a lock across an inference.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use modelci_tensor::Tensor;
use modelci_tensor::runtime::{Device, Model, Port, Runtime};
use tokio::time::Instant;

use crate::breaker::{Breaker, Outcome, Phase, Route, Transition};
use crate::bulkhead::{Bulkhead, Refused};
use crate::cli::ModelSpec;
use crate::faults::{Fault, FaultSwitch};

/// The limits every model gets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_concurrency: usize,
    pub max_queue: usize,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
}

/// When a request must be answered by, and the budget it was given (for messages).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub at: Instant,
    pub budget: Duration,
}

impl Deadline {
    pub(crate) fn ms(&self) -> u128 {
        self.budget.as_millis()
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
        stage: &'static str,
    },
    /// The breaker is open and there is no fallback (503).
    Unavailable { retry_after: Duration },
    /// The model failed (500).
    Failed {
        served_by: ServedBy,
        message: String,
    },
}

/// A model that cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("model `{name}`: {message}")]
pub(crate) struct LoadError {
    pub name: String,
    pub message: String,
}

/// See the module docs.
pub(crate) struct ServedModel {
    pub name: String,
    pub version: String,
    /// The primary's inputs and outputs (the fallback has the same).
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    pub device: Device,
    pub faults: FaultSwitch,
    primary: Arc<Model>,
    fallback: Option<Arc<Model>>,
    bulkhead: Bulkhead,
    breaker: Breaker,
    limits: Limits,
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

/// Why a fallback cannot stand in for the primary, if it cannot.
fn signature_mismatch(primary: &Model, fallback: &Model) -> Option<String> {
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
    compare(&primary.inputs, &fallback.inputs, "input")
        .or_else(|| compare(&primary.outputs, &fallback.outputs, "output"))
}

impl ServedModel {
    /// Loads the primary (and fallback) of `spec` with `sessions` ONNX Runtime sessions each.
    ///
    /// # Errors
    /// A file ONNX Runtime refuses, a device that is not there, a model with ports that cannot
    /// be served as JSON tensors, a fallback whose signature differs from the primary's.
    pub(crate) fn load(
        runtime: &Runtime,
        spec: &ModelSpec,
        device: Device,
        sessions: usize,
        limits: Limits,
    ) -> Result<ServedModel, LoadError> {
        let fail = |message: String| LoadError {
            name: spec.name.clone(),
            message,
        };
        let open = |path: &Path, what: &str| -> Result<Model, LoadError> {
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
        };
        let primary = open(&spec.path, "the model")?;
        let fallback = match &spec.fallback {
            Some(path) => {
                let fallback = open(path, "the fallback")?;
                if let Some(why) = signature_mismatch(&primary, &fallback) {
                    return Err(fail(format!(
                        "the fallback `{}` cannot stand in for `{}`: {why}",
                        path.display(),
                        spec.path.display()
                    )));
                }
                Some(Arc::new(fallback))
            }
            None => None,
        };
        Ok(ServedModel {
            name: spec.name.clone(),
            version: spec.version.clone(),
            inputs: primary.inputs.clone(),
            outputs: primary.outputs.clone(),
            device: primary.device,
            faults: FaultSwitch::default(),
            primary: Arc::new(primary),
            fallback,
            bulkhead: Bulkhead::new(limits.max_concurrency, limits.max_queue),
            breaker: Breaker::new(limits.breaker_failures, limits.breaker_cooldown),
            limits,
        })
    }

    /// Whether a fallback is loaded.
    pub(crate) fn has_fallback(&self) -> bool {
        self.fallback.is_some()
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

    /// Runs one inference (see the module docs).
    ///
    /// # Errors
    /// [`InferError`], one per answer the service gives.
    pub(crate) async fn infer(
        self: &Arc<Self>,
        inputs: Vec<Tensor>,
        deadline: Deadline,
    ) -> Result<Answer, InferError> {
        let slot = match self.bulkhead.enter(deadline.at).await {
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
                    stage: "while waiting in the model's queue (the bulkhead was busy)",
                });
            }
        };
        let (route, transition) = self.breaker.route(std::time::Instant::now());
        self.log(transition);
        let (model, fault, trial, served_by) = match route {
            Route::Primary { trial } => (
                Arc::clone(&self.primary),
                self.faults.get(),
                Some(trial),
                ServedBy::Primary,
            ),
            Route::Fallback { retry_after } => match &self.fallback {
                Some(f) => (Arc::clone(f), Fault::default(), None, ServedBy::Fallback),
                None => return Err(InferError::Unavailable { retry_after }),
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
            let work = async move {
                if fault.delay_ms > 0 {
                    tokio::time::sleep(fault.delay()).await;
                }
                if fault.fail {
                    return Err(format!(
                        "injected fault: model `{name}` is set to fail (POST /faults)"
                    ));
                }
                if fault.gpu_oom {
                    // The words ONNX Runtime's CUDA provider uses when the GPU is out of memory.
                    return Err(format!(
                        "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running the model `{name}`: CUDA failure 2: out of memory (injected GPU fault, POST /faults)"
                    ));
                }
                let run = tokio::task::spawn_blocking(move || {
                    // The slot is held until ONNX Runtime returns, even past the deadline.
                    let _slot = slot;
                    model.run(&inputs)
                });
                match run.await {
                    Ok(Ok(outputs)) => Ok(outputs),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(format!("the inference stopped unexpectedly: {e}")),
                }
            };
            let result = tokio::time::timeout_at(deadline.at, work).await;
            settle.done(match &result {
                Ok(Ok(_)) => Outcome::Success,
                Ok(Err(_)) | Err(_) => Outcome::Failure,
            });
            result
        });
        let result = job.await.map_err(|e| InferError::Failed {
            served_by,
            message: format!("the inference stopped unexpectedly: {e}"),
        })?;
        let breaker = self.breaker_phase();
        match result {
            Ok(Ok(outputs)) => Ok(Answer {
                outputs,
                served_by,
                breaker,
            }),
            Ok(Err(message)) => Err(InferError::Failed { served_by, message }),
            Err(_) => Err(InferError::Deadline {
                deadline,
                stage: match served_by {
                    ServedBy::Primary => "while the model was running",
                    ServedBy::Fallback => "while the fallback model was running",
                },
            }),
        }
    }
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
