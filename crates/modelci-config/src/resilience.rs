//! `[[suite.resilience]]`: drive traffic at a service, inject a fault into it or one of its
//! dependencies for a while, and judge its resilience patterns (timeouts, retries, circuit
//! breaker, bulkheads, fallback, recovery) from what was seen on both sides of a fault proxy.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::load::{DurationValue, LoadSuite, LoadSuiteFile};
use crate::service::{CommandLine, Service, ServiceFile};
use crate::{ConfigError, Origin};

/// A fault proxy the suite runs between the service and a dependency.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyFile {
    /// Its name, as `fault.proxy` names it.
    pub name: String,
    /// Where it listens (`127.0.0.1:18001`): point the service at this address.
    pub listen: String,
    /// The dependency it forwards to (`127.0.0.1:18000`).
    pub upstream: String,
    /// `http` (default: faults per route and request, and every request the dependency received
    /// is logged for the oracles) or `tcp` (byte-level faults only; the retries, breaker and
    /// timeout oracles then have no dependency-side figures).
    #[serde(default)]
    pub protocol: Option<String>,
}

/// A process the suite starts and stops (a dependency, or the service itself), which process
/// faults act on.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessFile {
    /// Its name, as `fault.process` names it.
    pub name: String,
    /// The command (a shell line, or an argument list).
    pub command: CommandLine,
    /// The URL polled until it answers 2xx.
    pub ready_url: String,
    /// Seconds to wait for readiness (default 60).
    #[serde(default)]
    pub ready_timeout_secs: Option<f64>,
    /// Seconds to wait after SIGTERM before SIGKILL (default 10).
    #[serde(default)]
    pub stop_timeout_secs: Option<f64>,
    /// Environment variables for the command.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The folder it runs in (default: the configuration file's folder).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
}

/// What a scenario breaks, and how: one of a proxy toxic, a process fault, or an HTTP call that
/// switches a fault on and off (a service's own fault switch, such as the reference service's
/// GPU out-of-memory fault).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    /// The proxy the toxic goes on.
    #[serde(default)]
    pub proxy: Option<String>,
    /// The toxic's type: `latency`, `timeout`, `http_error`, `abort_body`, `reset`,
    /// `bandwidth`, `reset_peer`, `slow_close`, `slicer`, `limit_data`.
    #[serde(default)]
    pub toxic: Option<String>,
    /// The toxic's attributes (`{ latency = 300, jitter = 50 }`, `{ status = 503 }`).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub attributes: BTreeMap<String, toml::Value>,
    /// The share of requests (HTTP proxies) or connections (TCP) it applies to (default 1).
    #[serde(default)]
    pub toxicity: Option<f64>,
    /// `downstream` (default: the dependency's answers) or `upstream`.
    #[serde(default)]
    pub stream: Option<String>,
    /// Only requests whose path starts with this (HTTP proxies).
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Only requests of this method (HTTP proxies).
    #[serde(default)]
    pub method: Option<String>,
    /// The process a process fault acts on.
    #[serde(default)]
    pub process: Option<String>,
    /// `kill` (SIGKILL at the start, started again at the end), `pause` (SIGSTOP, then
    /// SIGCONT at the end) or `restart` (stopped and started again at the start).
    #[serde(default)]
    pub action: Option<String>,
    /// A URL to POST at the start of the fault window (a fault switch).
    #[serde(default)]
    pub post: Option<String>,
    /// The JSON body of that POST.
    #[serde(default)]
    pub body: Option<String>,
    /// A URL to DELETE at the end of the fault window.
    #[serde(default)]
    pub delete: Option<String>,
}

/// `timeout`: no client request outlives the service's deadline plus a margin while the fault
/// lasts, and requests do not pile up.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeoutOracleFile {
    /// The service's deadline.
    pub deadline: DurationValue,
    /// Allowed on top of the deadline (default: a quarter of it, at least 100 ms).
    #[serde(default)]
    pub margin: Option<DurationValue>,
    /// Client requests in flight at once, at most (default: the rate times deadline plus
    /// margin, times 1.5, plus 2).
    #[serde(default)]
    pub max_in_flight: Option<usize>,
}

/// `retries`: bounded, with growing jittered gaps, none for non-idempotent requests or after
/// the deadline (judged from the proxy's request log).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetriesOracleFile {
    /// Attempts per client request, at most (the first one included).
    pub max_attempts: usize,
    /// The shortest acceptable gap before the first retry (default 5 ms).
    #[serde(default)]
    pub min_backoff: Option<DurationValue>,
    /// The median ratio of a gap to the one before it, at least (default 1.3).
    #[serde(default)]
    pub growth: Option<f64>,
    /// The spread (coefficient of variation) of first gaps across requests, at least (default
    /// 0.05): identical gaps mean retries in lock-step.
    #[serde(default)]
    pub jitter: Option<f64>,
    /// Names of request kinds (from `requests`) that must never be retried.
    #[serde(default)]
    pub non_idempotent: Vec<String>,
    /// No attempt may start later than this after the client sent the request.
    #[serde(default)]
    pub deadline: Option<DurationValue>,
}

/// `circuit_breaker`: after the failure threshold the dependency stops receiving traffic, the
/// service fails fast, one half-open probe at a time, and it closes after recovery.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerOracleFile {
    /// Failed client requests that must open it.
    pub threshold: usize,
    /// How long it stays open before a probe.
    pub cooldown: DurationValue,
    /// Answers while open must come this fast (95th percentile; default 100 ms).
    #[serde(default)]
    pub fail_fast: Option<DurationValue>,
    /// After the fault ends, the dependency must answer a client request again within this
    /// (default: the cooldown plus 2 s).
    #[serde(default)]
    pub close_within: Option<DurationValue>,
    /// The request kinds the fault takes down (default: all); the dependency's requests are
    /// counted on the fault's `path_prefix` only, when it has one.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// `bulkhead`: the fault overloads one model; the others' latency and error rate stay within
/// bounds.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkheadOracleFile {
    /// The request kinds (names from `requests`) that must be unaffected.
    pub protected: Vec<String>,
    /// Their 95th percentile latency while the fault lasts, at most.
    #[serde(default)]
    pub p95: Option<DurationValue>,
    /// Their error rate while the fault lasts, at most (default 0.01).
    #[serde(default)]
    pub error_rate: Option<f64>,
}

/// `fallback`: while the primary is down, answers carry the fallback marker, satisfy the
/// contract, and meet a quality floor on golden cases.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FallbackOracleFile {
    /// The marker: `Header-Name: value` (default `X-Model-Fallback: true`).
    #[serde(default)]
    pub marker: Option<String>,
    /// The share of answers in the judged part of the fault window that must be successful and
    /// marked (default 0.95).
    #[serde(default)]
    pub min_share: Option<f64>,
    /// Judge from this long after the fault starts (default: a third of the window), leaving
    /// the breaker time to open.
    #[serde(default)]
    pub settle: Option<DurationValue>,
    /// The request kinds (names from `requests`) the fault takes down; answers to the others
    /// are not judged (default: all).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// An OpenAPI document every fallback answer must satisfy (status, content type, body).
    #[serde(default)]
    pub openapi: Option<PathBuf>,
    /// With `model_name` and `cases` traffic: the share of golden cases whose fallback answers
    /// match the expected outputs within the cases' tolerances, at least.
    #[serde(default)]
    pub quality_floor: Option<f64>,
}

/// `recovery`: after the fault, error rate and latency return to the baseline within a bound.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryOracleFile {
    /// Within this after the fault ends (default 2 s).
    #[serde(default)]
    pub within: Option<DurationValue>,
    /// Error rate allowed above the baseline's (default 0.01).
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// p95 latency allowed, as a multiple of the baseline's (default 1.5; at least 20 ms
    /// above it).
    #[serde(default)]
    pub latency_factor: Option<f64>,
}

/// One `[[suite.resilience.scenario]]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Its name (case names start with it).
    pub name: String,
    /// Traffic before the fault: the baseline (default 2 s).
    #[serde(default)]
    pub before: Option<DurationValue>,
    /// How long the fault lasts (default 3 s).
    #[serde(default)]
    pub during: Option<DurationValue>,
    /// Traffic after the fault is removed (default 3 s).
    #[serde(default)]
    pub after: Option<DurationValue>,
    /// Requests per second (default: the suite's `rate`).
    #[serde(default)]
    pub rate: Option<f64>,
    /// The fault.
    pub fault: FaultFile,
    /// Oracle: timeouts.
    #[serde(default)]
    pub timeout: Option<TimeoutOracleFile>,
    /// Oracle: retries.
    #[serde(default)]
    pub retries: Option<RetriesOracleFile>,
    /// Oracle: the circuit breaker.
    #[serde(default)]
    pub circuit_breaker: Option<BreakerOracleFile>,
    /// Oracle: bulkheads.
    #[serde(default)]
    pub bulkhead: Option<BulkheadOracleFile>,
    /// Oracle: the fallback.
    #[serde(default)]
    pub fallback: Option<FallbackOracleFile>,
    /// Oracle: recovery.
    #[serde(default)]
    pub recovery: Option<RecoveryOracleFile>,
}

/// One `[[suite.resilience]]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResilienceSuiteFile {
    /// The suite's name: unique in the file.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The service's URL the traffic goes to (with `requests`: the base their paths join).
    #[schemars(with = "String")]
    pub url: Spanned<String>,
    /// The method (default `GET`, or `POST` with a body).
    #[serde(default)]
    pub method: Option<String>,
    /// The request body, as text.
    #[serde(default)]
    pub body: Option<String>,
    /// A file whose content is the request body.
    #[serde(default)]
    pub body_file: Option<PathBuf>,
    /// A JSON Lines file of request kinds (as `[[suite.load]]` reads it); oracles name kinds
    /// by their `name`.
    #[serde(default)]
    pub requests: Option<PathBuf>,
    /// An Open Inference Protocol v2 model whose golden `cases` make the requests.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Golden cases for `model_name`.
    #[serde(default)]
    pub cases: Vec<PathBuf>,
    /// Headers for every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Requests per second (default 20).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Each client request's limit in seconds (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// The seed of the request mix (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Fault proxies the suite runs while it lasts.
    #[serde(default)]
    pub proxy: Vec<ProxyFile>,
    /// Processes the suite starts first and stops at the end, in order.
    #[serde(default)]
    pub process: Vec<ProcessFile>,
    /// The scenarios, run one after another.
    #[serde(default)]
    pub scenario: Vec<ScenarioFile>,
}

/// A resolved fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// A toxic on a proxy.
    Toxic {
        /// The proxy.
        proxy: String,
        /// The toxic's JSON, as Toxiproxy's API takes it.
        toxic: serde_json::Value,
    },
    /// A process fault.
    Process {
        /// The process.
        process: String,
        /// What happens to it.
        action: ProcessAction,
    },
    /// A fault switch over HTTP.
    Switch {
        /// POSTed at the start.
        post: String,
        /// Its JSON body.
        body: Option<String>,
        /// DELETEd at the end.
        delete: Option<String>,
    },
}

/// What a process fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessAction {
    /// SIGKILL at the start; started again at the end.
    Kill,
    /// SIGSTOP at the start, SIGCONT at the end.
    Pause,
    /// Stopped and started again at the start.
    Restart,
}

/// A resolved scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// Baseline traffic.
    pub before: Duration,
    /// The fault window.
    pub during: Duration,
    /// Traffic after.
    pub after: Duration,
    /// Requests per second.
    pub rate: f64,
    /// The fault.
    pub fault: Fault,
    /// Oracles.
    pub timeout: Option<TimeoutOracleFile>,
    /// Oracles.
    pub retries: Option<RetriesOracleFile>,
    /// Oracles.
    pub circuit_breaker: Option<BreakerOracleFile>,
    /// Oracles.
    pub bulkhead: Option<BulkheadOracleFile>,
    /// Oracles.
    pub fallback: Option<FallbackOracleFile>,
    /// Oracles.
    pub recovery: Option<RecoveryOracleFile>,
}

/// A resolved proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Name.
    pub name: String,
    /// Listen address.
    pub listen: String,
    /// Upstream address.
    pub upstream: String,
    /// Whether it speaks HTTP (else TCP).
    pub http: bool,
}

/// A resolved `[[suite.resilience]]`.
#[derive(Debug, Clone)]
pub struct ResilienceSuite {
    /// The traffic, as a load suite (its rate and duration are set per scenario).
    pub traffic: LoadSuite,
    /// Proxies.
    pub proxies: Vec<Proxy>,
    /// Processes (as `[service]` tables), by name.
    pub processes: Vec<(String, Service)>,
    /// Scenarios.
    pub scenarios: Vec<Scenario>,
    /// The suite's folder, for oracle files.
    pub dir: PathBuf,
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Value::from(*f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

fn fault(f: &FaultFile, proxies: &[Proxy], processes: &[String]) -> Result<Fault, String> {
    let kinds = [f.proxy.is_some(), f.process.is_some(), f.post.is_some()]
        .iter()
        .filter(|&&b| b)
        .count();
    if kinds != 1 {
        return Err(
            "`fault` needs exactly one of `proxy` (with `toxic`), `process` (with `action`) or `post` (a fault switch URL)"
                .to_owned(),
        );
    }
    if let Some(proxy) = &f.proxy {
        let Some(p) = proxies.iter().find(|p| &p.name == proxy) else {
            return Err(format!(
                "`fault.proxy` names `{proxy}`, which no `[[suite.resilience.proxy]]` declares"
            ));
        };
        let toxic = f.toxic.as_deref().ok_or(
            "`fault.proxy` needs `fault.toxic` (its type, such as `latency` or `http_error`)",
        )?;
        let mut attributes: serde_json::Map<String, serde_json::Value> = f
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), toml_to_json(v)))
            .collect();
        if let Some(prefix) = &f.path_prefix {
            attributes.insert("path_prefix".into(), prefix.clone().into());
        }
        if let Some(method) = &f.method {
            attributes.insert("method".into(), method.clone().into());
        }
        if (f.path_prefix.is_some() || f.method.is_some()) && !p.http {
            return Err(format!(
                "`fault.path_prefix` and `fault.method` need an HTTP proxy; `{proxy}` is TCP"
            ));
        }
        let toxicity = f.toxicity.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&toxicity) {
            return Err(format!(
                "`fault.toxicity` is a share from 0 to 1, not {toxicity}"
            ));
        }
        let stream = f.stream.clone().unwrap_or_else(|| "downstream".to_owned());
        if stream != "downstream" && stream != "upstream" {
            return Err(format!(
                "`fault.stream` is `downstream` or `upstream`, not `{stream}`"
            ));
        }
        return Ok(Fault::Toxic {
            proxy: proxy.clone(),
            toxic: serde_json::json!({
                "name": "modelci-resilience",
                "type": toxic,
                "stream": stream,
                "toxicity": toxicity,
                "attributes": attributes,
            }),
        });
    }
    if let Some(process) = &f.process {
        if !processes.iter().any(|p| p == process) {
            return Err(format!(
                "`fault.process` names `{process}`, which no `[[suite.resilience.process]]` declares"
            ));
        }
        let action = match f.action.as_deref() {
            Some("kill") => ProcessAction::Kill,
            Some("pause") => ProcessAction::Pause,
            Some("restart") => ProcessAction::Restart,
            Some(other) => {
                return Err(format!(
                    "`fault.action` is `kill`, `pause` or `restart`, not `{other}`"
                ));
            }
            None => {
                return Err(
                    "`fault.process` needs `fault.action` (`kill`, `pause` or `restart`)"
                        .to_owned(),
                );
            }
        };
        return Ok(Fault::Process {
            process: process.clone(),
            action,
        });
    }
    let post = f.post.clone().unwrap_or_default();
    for u in std::iter::once(&post).chain(f.delete.iter()) {
        if !crate::values::is_http_url(u) {
            return Err(format!(
                "`fault.post` and `fault.delete` are http:// URLs, not `{u}`"
            ));
        }
    }
    if let Some(b) = &f.body
        && serde_json::from_str::<serde_json::Value>(b).is_err()
    {
        return Err("`fault.body` is not JSON".to_owned());
    }
    Ok(Fault::Switch {
        post,
        body: f.body.clone(),
        delete: f.delete.clone(),
    })
}

fn positive(d: Option<&DurationValue>, default: Duration, what: &str) -> Result<Duration, String> {
    d.map_or(Ok(default), |d| d.get(what))
}

/// Checks a `[[suite.resilience]]` table.
///
/// # Errors
/// A bad URL, traffic, proxy, process, fault or oracle setting, at its line.
pub fn resolve(
    raw: ResilienceSuiteFile,
    origin: &Origin<'_>,
) -> Result<ResilienceSuite, ConfigError> {
    let name = raw.name.get_ref().clone();
    let at = raw.name.span().start;
    let err = |m: String| origin.error(at, format!("suite `{name}`: {m}"));
    let rate = raw.rate.unwrap_or(20.0);
    if !(rate.is_finite() && rate > 0.0 && rate <= crate::load::MAX_RATE) {
        return Err(err(format!(
            "`rate` must be a positive number of requests per second, not {rate}"
        )));
    }
    let traffic = crate::load::resolve(
        LoadSuiteFile {
            name: raw.name.clone(),
            url: raw.url.clone(),
            method: raw.method.clone(),
            body: raw.body.clone(),
            body_file: raw.body_file.clone(),
            requests: raw.requests.clone(),
            model_name: raw.model_name.clone(),
            cases: raw.cases.clone(),
            dataset: None,
            features: Vec::new(),
            input: None,
            rows_per_request: None,
            headers: raw.headers.clone(),
            secret_headers: BTreeMap::new(),
            rate: Some(rate),
            duration: Some(DurationValue::Seconds(1.0)),
            stages: Vec::new(),
            start_rate: None,
            arrivals: crate::load::ArrivalsFile::Uniform,
            vus: None,
            warmup: None,
            timeout_secs: raw.timeout_secs,
            max_in_flight: None,
            thresholds: Vec::new(),
            abort_on_fail: false,
            seed: raw.seed,
            histogram_csv: None,
            plot: None,
            find_max: None,
        },
        origin,
    )?;
    let mut proxies = Vec::new();
    for p in &raw.proxy {
        let http = match p.protocol.as_deref() {
            None | Some("http") => true,
            Some("tcp") => false,
            Some(other) => {
                return Err(err(format!(
                    "proxy `{}`: `protocol` is `http` or `tcp`, not `{other}`",
                    p.name
                )));
            }
        };
        if proxies.iter().any(|q: &Proxy| q.name == p.name) {
            return Err(err(format!("proxy `{}` is declared twice", p.name)));
        }
        proxies.push(Proxy {
            name: p.name.clone(),
            listen: p.listen.clone(),
            upstream: p.upstream.clone(),
            http,
        });
    }
    let line = origin.line(at);
    let mut processes = Vec::new();
    for p in &raw.process {
        if processes
            .iter()
            .any(|(n, _): &(String, Service)| n == &p.name)
        {
            return Err(err(format!("process `{}` is declared twice", p.name)));
        }
        let service = ServiceFile {
            command: Some(p.command.clone()),
            url: None,
            ready_url: Some(p.ready_url.clone()),
            ready_timeout_secs: p.ready_timeout_secs,
            stop_timeout_secs: p.stop_timeout_secs,
            env: p.env.clone(),
            cwd: p.cwd.clone(),
        }
        .resolve(&origin.dir, line)
        .map_err(|m| err(format!("process `{}`: {m}", p.name)))?;
        processes.push((p.name.clone(), service));
    }
    let names: Vec<String> = processes.iter().map(|(n, _)| n.clone()).collect();
    if raw.scenario.is_empty() {
        return Err(err(
            "no scenario: add `[[suite.resilience.scenario]]` tables with a `fault` and oracles"
                .to_owned(),
        ));
    }
    let mut scenarios = Vec::new();
    for s in raw.scenario {
        let e = |m: String| err(format!("scenario `{}`: {m}", s.name));
        if scenarios.iter().any(|x: &Scenario| x.name == s.name) {
            return Err(e("is declared twice".to_owned()));
        }
        let fault = fault(&s.fault, &proxies, &names).map_err(&e)?;
        let before = positive(s.before.as_ref(), Duration::from_secs(2), "`before`").map_err(&e)?;
        let during = positive(s.during.as_ref(), Duration::from_secs(3), "`during`").map_err(&e)?;
        let after = positive(s.after.as_ref(), Duration::from_secs(3), "`after`").map_err(&e)?;
        if during.is_zero() {
            return Err(e(
                "`during` is zero: the fault must last some time".to_owned()
            ));
        }
        let rate = s.rate.unwrap_or(rate);
        if !(rate.is_finite() && rate > 0.0 && rate <= crate::load::MAX_RATE) {
            return Err(e(format!("`rate` must be a positive number, not {rate}")));
        }
        if s.timeout.is_none()
            && s.retries.is_none()
            && s.circuit_breaker.is_none()
            && s.bulkhead.is_none()
            && s.fallback.is_none()
            && s.recovery.is_none()
        {
            return Err(e(
                "has no oracle: add `timeout`, `retries`, `circuit_breaker`, `bulkhead`, `fallback` or `recovery`"
                    .to_owned(),
            ));
        }
        if let Some(r) = &s.retries
            && r.max_attempts == 0
        {
            return Err(e(
                "`retries.max_attempts` counts the first attempt: at least 1".to_owned(),
            ));
        }
        if let Some(b) = &s.circuit_breaker
            && b.threshold == 0
        {
            return Err(e(
                "`circuit_breaker.threshold` must be at least 1".to_owned()
            ));
        }
        if let Some(b) = &s.bulkhead
            && b.protected.is_empty()
        {
            return Err(e("`bulkhead.protected` names no request kind".to_owned()));
        }
        scenarios.push(Scenario {
            name: s.name.clone(),
            before,
            during,
            after,
            rate,
            fault,
            timeout: s.timeout,
            retries: s.retries,
            circuit_breaker: s.circuit_breaker,
            bulkhead: s.bulkhead,
            fallback: s.fallback,
            recovery: s.recovery,
        });
    }
    Ok(ResilienceSuite {
        traffic,
        proxies,
        processes,
        scenarios,
        dir: origin.dir.clone(),
    })
}
