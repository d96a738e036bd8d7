//! `[[suite.resilience]]`: inject faults and judge whether the service's resilience patterns
//! did their job.
//!
//! A suite starts its fault proxies (in-process, [`modelci_chaos`]) and its processes (the
//! service's dependencies, or the service itself), then runs its scenarios one after another.
//! Each scenario drives traffic at the service with the load engine (open model, every request
//! traced and sent with an `X-Request-Id`), applies its fault after `before`, removes it after
//! `during`, and keeps the traffic going for `after`. The oracles then read what the client saw
//! and what the dependency received through the proxy ([`observe`]) and give one case each,
//! named `{scenario}: {oracle}`, with the measured figures among its properties ([`oracle`]).
//!
//! - [`observe`]: the observations and the timeline;
//! - [`oracle`]: the oracles;
//! - `run`: one scenario's timeline; `deps`: the proxies, through [`modelci_chaos`].
//!
//! The crate never prints.

mod deps;
pub mod observe;
pub mod oracle;
mod run;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelci_config::resilience::{ResilienceSuite, Scenario};
use modelci_load::{LoadSpec, TraceEntry, Tracing};
use modelci_report::{Case, Location, Properties};
use modelci_suite::{Context, Plan, SetupFailed, Suite};
use modelci_tensor::{Data, Tensor};

use crate::oracle::{
    BreakerSpec, BulkheadSpec, ContractCheck, FallbackSpec, Judgement, Marker, QualityCheck,
    RecoverySpec, RetriesSpec, TimeoutSpec,
};

/// A planned resilience suite.
pub struct ResilienceCheck {
    spec: ResilienceSuite,
    name: String,
    load: LoadSpec,
    /// Golden cases' expected outputs by case name (traffic made of golden cases).
    golden: HashMap<String, Vec<Tensor>>,
    location: Location,
    properties: Mutex<Properties>,
}

/// Plans a `[[suite.resilience]]` named `name`: reads its traffic and checks its oracles'
/// settings. A problem becomes one errored `(setup)` case at `file:line`.
pub fn plan(name: &str, spec: &ResilienceSuite, file: &str, line: u32) -> Box<dyn Suite> {
    let location = Location::line(file, line);
    match ResilienceCheck::new(name, spec, location.clone()) {
        Ok(check) => Box::new(check),
        Err(message) => Box::new(SetupFailed::new(message, location)),
    }
}

fn duration(
    d: Option<&modelci_config::load::DurationValue>,
    default: Duration,
    what: &str,
) -> Result<Duration, String> {
    d.map_or(Ok(default), |d| d.get(what))
}

fn share(x: Option<f64>, default: f64, what: &str) -> Result<f64, String> {
    let v = x.unwrap_or(default);
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{what} is a share from 0 to 1, not {v}"))
    }
}

/// The oracles of a scenario, with their settings resolved.
struct Oracles {
    timeout: Option<TimeoutSpec>,
    retries: Option<RetriesSpec>,
    breaker: Option<BreakerSpec>,
    bulkhead: Option<BulkheadSpec>,
    fallback: Option<(FallbackSpec, bool)>,
    recovery: Option<RecoverySpec>,
}

impl ResilienceCheck {
    fn new(
        name: &str,
        spec: &ResilienceSuite,
        location: Location,
    ) -> Result<ResilienceCheck, String> {
        let load = modelci_load::suite::load_spec(&spec.traffic)?;
        let mut golden = HashMap::new();
        if let Some((_, cases)) = &spec.traffic.model {
            for path in cases {
                for case in modelci_tensor::golden::read_json(path).map_err(|e| e.to_string())? {
                    golden.insert(case.name.clone(), case.outputs);
                }
            }
        }
        let check = ResilienceCheck {
            spec: spec.clone(),
            name: name.to_owned(),
            load,
            golden,
            location,
            properties: Mutex::new(Properties::new()),
        };
        // Every scenario's settings are checked before anything starts.
        for s in &spec.scenarios {
            check
                .oracles(s)
                .map_err(|e| format!("scenario `{}`: {e}", s.name))?;
        }
        Ok(check)
    }

    fn oracles(&self, s: &Scenario) -> Result<Oracles, String> {
        let marker = match s.fallback.as_ref().and_then(|f| f.marker.as_deref()) {
            Some(m) => Marker::parse(m)?,
            None => Marker::default(),
        };
        let timeout = match &s.timeout {
            None => None,
            Some(t) => {
                let deadline = t.deadline.get("`timeout.deadline`")?;
                let margin = duration(
                    t.margin.as_ref(),
                    (deadline / 4).max(Duration::from_millis(100)),
                    "`timeout.margin`",
                )?;
                Some(TimeoutSpec {
                    deadline,
                    margin,
                    max_in_flight: t.max_in_flight,
                })
            }
        };
        let retries = match &s.retries {
            None => None,
            Some(r) => {
                for k in &r.non_idempotent {
                    if !self.load.requests.iter().any(|q| &q.name == k) {
                        return Err(format!(
                            "`retries.non_idempotent` names `{k}`, which the traffic does not send (its kinds: {})",
                            self.kind_names()
                        ));
                    }
                }
                Some(RetriesSpec {
                    max_attempts: r.max_attempts,
                    min_backoff: duration(
                        r.min_backoff.as_ref(),
                        Duration::from_millis(5),
                        "`retries.min_backoff`",
                    )?,
                    growth: r.growth.unwrap_or(1.3),
                    jitter: r.jitter.unwrap_or(0.05),
                    non_idempotent: r.non_idempotent.clone(),
                    deadline: r
                        .deadline
                        .as_ref()
                        .map(|d| d.get("`retries.deadline`"))
                        .transpose()?,
                })
            }
        };
        let breaker = match &s.circuit_breaker {
            None => None,
            Some(b) => {
                let cooldown = b.cooldown.get("`circuit_breaker.cooldown`")?;
                Some(BreakerSpec {
                    threshold: b.threshold,
                    cooldown,
                    fail_fast: duration(
                        b.fail_fast.as_ref(),
                        Duration::from_millis(100),
                        "`circuit_breaker.fail_fast`",
                    )?,
                    close_within: duration(
                        b.close_within.as_ref(),
                        cooldown + Duration::from_secs(2),
                        "`circuit_breaker.close_within`",
                    )?,
                    marker: marker.clone(),
                    kinds: self.known(&b.kinds, "circuit_breaker.kinds")?,
                    route: match &s.fault {
                        modelci_config::resilience::Fault::Toxic { toxic, .. } => toxic
                            .pointer("/attributes/path_prefix")
                            .and_then(|v| v.as_str())
                            .map(str::to_owned),
                        _ => None,
                    },
                })
            }
        };
        let bulkhead = match &s.bulkhead {
            None => None,
            Some(b) => {
                for k in &b.protected {
                    if !self.load.requests.iter().any(|q| &q.name == k) {
                        return Err(format!(
                            "`bulkhead.protected` names `{k}`, which the traffic does not send (its kinds: {})",
                            self.kind_names()
                        ));
                    }
                }
                Some(BulkheadSpec {
                    protected: b.protected.clone(),
                    p95: b
                        .p95
                        .as_ref()
                        .map(|d| d.get("`bulkhead.p95`"))
                        .transpose()?,
                    error_rate: share(b.error_rate, 0.01, "`bulkhead.error_rate`")?,
                })
            }
        };
        let fallback = match &s.fallback {
            None => None,
            Some(f) => {
                let contract = match &f.openapi {
                    None => None,
                    Some(path) => Some(self.contract(path)?),
                };
                let quality = match f.quality_floor {
                    None => None,
                    Some(floor) => {
                        let floor = share(Some(floor), 0.0, "`fallback.quality_floor`")?;
                        if self.golden.is_empty() {
                            return Err("`fallback.quality_floor` needs traffic made of golden cases (`model_name` and `cases`)".to_owned());
                        }
                        let golden = self.golden.clone();
                        let kinds: Vec<String> =
                            self.load.requests.iter().map(|r| r.name.clone()).collect();
                        let check: QualityCheck = Box::new(move |e: &TraceEntry| {
                            let expected = golden.get(kinds.get(e.kind)?)?;
                            Some(agrees(expected, e.body.as_deref().unwrap_or_default()))
                        });
                        Some((floor, check))
                    }
                };
                for k in &f.kinds {
                    if !self.load.requests.iter().any(|q| &q.name == k) {
                        return Err(format!(
                            "`fallback.kinds` names `{k}`, which the traffic does not send (its kinds: {})",
                            self.kind_names()
                        ));
                    }
                }
                let needs_body = contract.is_some() || quality.is_some();
                Some((
                    FallbackSpec {
                        marker: marker.clone(),
                        min_share: share(f.min_share, 0.95, "`fallback.min_share`")?,
                        settle: duration(f.settle.as_ref(), s.during / 3, "`fallback.settle`")?,
                        kinds: f.kinds.clone(),
                        contract,
                        quality,
                    },
                    needs_body,
                ))
            }
        };
        let recovery = match &s.recovery {
            None => None,
            Some(r) => {
                let within = duration(
                    r.within.as_ref(),
                    Duration::from_secs(2),
                    "`recovery.within`",
                )?;
                if within >= s.after {
                    return Err(format!(
                        "`recovery.within` ({} ms) must be shorter than `after` ({} ms): recovery is judged on the traffic after the fault",
                        within.as_millis(),
                        s.after.as_millis()
                    ));
                }
                let factor = r.latency_factor.unwrap_or(1.5);
                if !(factor.is_finite() && factor >= 1.0) {
                    return Err(format!(
                        "`recovery.latency_factor` must be at least 1, not {factor}"
                    ));
                }
                Some(RecoverySpec {
                    within,
                    error_rate: share(r.error_rate, 0.01, "`recovery.error_rate`")?,
                    latency_factor: factor,
                    marker: marker.clone(),
                })
            }
        };
        Ok(Oracles {
            timeout,
            retries,
            breaker,
            bulkhead,
            fallback,
            recovery,
        })
    }

    /// `kinds`, each checked to be a request kind of the traffic.
    fn known(&self, kinds: &[String], key: &str) -> Result<Vec<String>, String> {
        for k in kinds {
            if !self.load.requests.iter().any(|q| &q.name == k) {
                return Err(format!(
                    "`{key}` names `{k}`, which the traffic does not send (its kinds: {})",
                    self.kind_names()
                ));
            }
        }
        Ok(kinds.to_vec())
    }

    fn kind_names(&self) -> String {
        self.load
            .requests
            .iter()
            .map(|r| format!("`{}`", r.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A check of answers against an OpenAPI document.
    fn contract(&self, path: &std::path::Path) -> Result<ContractCheck, String> {
        let shown = modelci_config::display_path(path);
        let doc =
            modelci_openapi::load::load_with(path, &shown, None).map_err(|e| e.to_string())?;
        let ops = modelci_openapi::operations(&doc)?;
        let requests: Vec<(String, String)> = self
            .load
            .requests
            .iter()
            .map(|r| (r.method.to_string(), r.url.path().to_owned()))
            .collect();
        let validators = modelci_openapi::Validators::default();
        Ok(Box::new(move |e: &TraceEntry| {
            let (method, path) = requests.get(e.kind)?;
            let Some(op) = modelci_openapi::ops::find(&ops, method, path) else {
                return Some(format!("{method} {path} is not an operation of {shown}"));
            };
            let observed = modelci_openapi::Observed {
                status: e.status.unwrap_or(0),
                headers: e.headers.clone(),
                body: e.body.as_ref().map(|b| b.to_vec()),
            };
            modelci_openapi::check_response(&doc, op, &observed, &validators)
                .into_iter()
                .find_map(|v| {
                    v.failure
                        .map(|f| format!("{} ({}): {}", op.label(), v.check, f.message))
                })
        }))
    }

    fn scenario_cases(
        &self,
        s: &Scenario,
        index: usize,
        env: &Env<'_>,
        cancel: &AtomicBool,
    ) -> Vec<Case> {
        let name = |oracle: &str| format!("{}: {oracle}", s.name);
        let oracles = match self.oracles(s) {
            Ok(o) => o,
            Err(e) => {
                return vec![
                    Case::errored(name("(setup)"), e).with_location(self.location.clone()),
                ];
            }
        };
        let planned: Vec<&str> = [
            oracles.timeout.is_some().then_some("timeout"),
            oracles.retries.is_some().then_some("retries"),
            oracles.breaker.is_some().then_some("circuit_breaker"),
            oracles.bulkhead.is_some().then_some("bulkhead"),
            oracles.fallback.is_some().then_some("fallback"),
            oracles.recovery.is_some().then_some("recovery"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut headers = vec!["x-model-fallback".to_owned(), "content-type".to_owned()];
        if let Some((f, _)) = &oracles.fallback
            && !headers.contains(&f.marker.header)
        {
            headers.push(f.marker.header.clone());
        }
        let tracing = Tracing {
            id_prefix: format!("modelci-{}-{}-{}", std::process::id(), self.name, index + 1),
            headers,
            body_limit: if oracles.fallback.as_ref().is_some_and(|(_, body)| *body) {
                4 * 1024 * 1024
            } else {
                0
            },
            start_at: None,
        };
        let started = std::time::Instant::now();
        let result = run::scenario(s, &self.load, tracing, env.proxies, &env.processes, cancel);
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let (observed, log) = match result {
            Ok(r) => r,
            Err(e) => {
                return planned
                    .iter()
                    .map(|o| {
                        Case::errored(name(o), format!("the traffic could not run: {e}"))
                            .with_location(self.location.clone())
                    })
                    .collect();
            }
        };
        if !log.problems.is_empty() || log.applied.is_none() {
            let why = if log.problems.is_empty() {
                "the scenario was interrupted before the fault".to_owned()
            } else {
                log.problems.join("; ")
            };
            return planned
                .iter()
                .map(|o| Case::errored(name(o), why.clone()).with_location(self.location.clone()))
                .collect();
        }
        let mut judgements: Vec<Judgement> = Vec::new();
        if let Some(t) = &oracles.timeout {
            judgements.push(oracle::timeout(&observed, t));
        }
        if let Some(r) = &oracles.retries {
            judgements.push(oracle::retries(&observed, r));
        }
        if let Some(b) = &oracles.breaker {
            judgements.push(oracle::circuit_breaker(&observed, b));
        }
        if let Some(b) = &oracles.bulkhead {
            judgements.push(oracle::bulkhead(&observed, b));
        }
        if let Some((f, _)) = &oracles.fallback {
            judgements.push(oracle::fallback(&observed, f));
        }
        if let Some(r) = &oracles.recovery {
            judgements.push(oracle::recovery(&observed, r));
        }
        let share = elapsed / judgements.len().max(1) as f64;
        let sent = observed.client.len();
        judgements
            .into_iter()
            .map(|j| {
                let mut case = if j.passed {
                    Case::passed(name(j.oracle)).with_message(j.message)
                } else {
                    Case::failed(name(j.oracle), j.message)
                };
                case.duration_ms = share;
                for (k, v) in j.figures {
                    case = case.with_property(k, v);
                }
                case.with_property("requests", sent.to_string())
                    .with_location(self.location.clone())
            })
            .collect()
    }
}

/// Top-1 agreement of an answer's outputs with a golden case's: per row (the last axis), the
/// highest score is at the same place; other types must be equal.
fn agrees(expected: &[Tensor], body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let Ok(actual) = modelci_v2::codec::response::parse_outputs(&v) else {
        return false;
    };
    expected.iter().all(|e| {
        let Some(a) = actual.iter().find(|a| a.name == e.name) else {
            return false;
        };
        match (&e.data, &a.data) {
            (Data::Float(x), Data::Float(y)) => {
                let width = e.shape.last().copied().unwrap_or(1).max(1) as usize;
                x.len() == y.len()
                    && x.chunks(width)
                        .zip(y.chunks(width))
                        .all(|(r, s)| argmax(r) == argmax(s))
            }
            _ => e.data == a.data,
        }
    })
}

fn argmax(row: &[f64]) -> Option<usize> {
    row.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

/// What a suite's scenarios share.
struct Env<'a> {
    proxies: &'a deps::Proxies,
    processes: run::Processes,
}

impl Suite for ResilienceCheck {
    fn plan(&self) -> Plan {
        Plan::Whole
    }

    fn run(&self, _indices: &[usize], ctx: &Context) -> Vec<Case> {
        let cancel = ctx.cancel.flag();
        let setup =
            |m: String| vec![Case::errored("(setup)", m).with_location(self.location.clone())];
        let proxies = match deps::Proxies::start(&self.spec.proxies) {
            Ok(p) => p,
            Err(e) => return setup(e),
        };
        let mut processes: run::Processes = Vec::new();
        for (name, service) in &self.spec.processes {
            match modelci_process::Service::start(service, &cancel) {
                Ok(p) => processes.push((name.clone(), Arc::new(Mutex::new(p)))),
                Err(e) => {
                    let tail = if e.log_tail.is_empty() {
                        String::new()
                    } else {
                        format!("\nthe end of its output:\n{}", e.log_tail)
                    };
                    return setup(format!("process `{name}`: {}{tail}", e.message));
                }
            }
        }
        let env = Env {
            proxies: &proxies,
            processes,
        };
        let mut cases = Vec::new();
        for (i, s) in self.spec.scenarios.iter().enumerate() {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            cases.extend(self.scenario_cases(s, i, &env, &cancel));
        }
        if let Ok(mut p) = self.properties.lock() {
            p.insert("scenarios", self.spec.scenarios.len().to_string());
            p.insert("url", modelci_net::redact_url_text(&self.spec.traffic.url));
        }
        // Processes stop (SIGTERM, then SIGKILL) as they are dropped, the proxies with theirs.
        drop(env);
        cases
    }

    fn properties(&self) -> Properties {
        self.properties
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }
}
