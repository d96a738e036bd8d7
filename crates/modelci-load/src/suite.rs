//! `[[suite.load]]` as a suite: planned from the configuration (requests read, thresholds
//! parsed), judged as a whole: one case per threshold, named by its expression, with the
//! measured value among its properties; the suite's properties carry the latency percentiles,
//! the achieved rate and what could not start.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use modelci_config::{LoadShape, LoadSuite};
use modelci_report::{Case, Location, Outcome, Properties};
use modelci_suite::{Context, Plan, SetupFailed, Suite};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::profile::{Arrivals, Profile, Stage};
use crate::run::{Live, LoadOutcome, LoadSpec, Model, RequestTemplate};
use crate::threshold::Threshold;

/// A planned load suite.
pub struct LoadCheck {
    spec: LoadSpec,
    thresholds: Vec<Threshold>,
    url_shown: String,
    location: Location,
    histogram_csv: Option<std::path::PathBuf>,
    properties: Mutex<Properties>,
}

/// Plans a `[[suite.load]]` (or `modelci load`): reads the body and requests files, parses
/// the thresholds. A problem becomes one errored `(setup)` case at `file:line`.
pub fn plan(spec: &LoadSuite, file: &str, line: u32) -> Box<dyn Suite> {
    match LoadCheck::new(spec, file, line) {
        Ok(check) => Box::new(check),
        Err(message) => Box::new(SetupFailed::new(message, Location::line(file, line))),
    }
}

fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let n = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("`{name}` is not a header name"))?;
        let mut v = HeaderValue::from_str(value).map_err(|_| {
            format!("the value of header `{name}` holds characters a header cannot carry")
        })?;
        if modelci_net::is_sensitive_header(name) {
            v.set_sensitive(true);
        }
        map.append(n, v);
    }
    Ok(map)
}

fn method(text: &str) -> Result<Method, String> {
    Method::from_bytes(text.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("`{text}` is not an HTTP method"))
}

/// Reads a JSON Lines file of requests.
fn read_requests(
    path: &std::path::Path,
    base: &Url,
    common: &HeaderMap,
) -> Result<Vec<RequestTemplate>, String> {
    let shown = modelci_config::display_path(path);
    let text = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let text = String::from_utf8(text).map_err(|_| format!("`{shown}` is not valid UTF-8"))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = format!("{shown}:{}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| format!("{at}: not JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or_else(|| format!("{at}: each line is a JSON object"))?;
        let known = [
            "name",
            "method",
            "path",
            "url",
            "headers",
            "body",
            "body_text",
            "weight",
        ];
        if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!(
                "{at}: unknown key `{k}` (known: {})",
                known.join(", ")
            ));
        }
        let text_of = |k: &str| obj.get(k).and_then(Value::as_str);
        let url = match (text_of("url"), text_of("path")) {
            (Some(u), None) => Url::parse(u).map_err(|e| format!("{at}: `url` {e}"))?,
            (None, Some(p)) => base
                .join(p.trim_start_matches('/'))
                .map_err(|e| format!("{at}: `path` {e}"))?,
            (None, None) => base.clone(),
            (Some(_), Some(_)) => return Err(format!("{at}: give `url` or `path`, not both")),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{at}: the URL must be http(s)"));
        }
        let body = match (obj.get("body"), text_of("body_text")) {
            (Some(b), None) => Bytes::from(b.to_string()),
            (None, Some(t)) => Bytes::from(t.to_owned()),
            (None, None) => Bytes::new(),
            (Some(_), Some(_)) => {
                return Err(format!("{at}: give `body` or `body_text`, not both"));
            }
        };
        let mut headers = common.clone();
        if obj.contains_key("body") && !headers.contains_key(reqwest::header::CONTENT_TYPE) {
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        if let Some(h) = obj.get("headers") {
            let h = h
                .as_object()
                .ok_or_else(|| format!("{at}: `headers` is an object of names and values"))?;
            let pairs: Vec<(String, String)> = h
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect();
            for (k, v) in header_map(&pairs).map_err(|e| format!("{at}: {e}"))? {
                if let Some(k) = k {
                    headers.insert(k, v);
                }
            }
        }
        let method = match text_of("method") {
            Some(m) => method(m).map_err(|e| format!("{at}: {e}"))?,
            None if body.is_empty() => Method::GET,
            None => Method::POST,
        };
        let weight = match obj.get("weight") {
            None => 1.0,
            Some(w) => w
                .as_f64()
                .filter(|w| w.is_finite() && *w > 0.0)
                .ok_or_else(|| format!("{at}: `weight` must be a positive number"))?,
        };
        out.push(RequestTemplate {
            name: text_of("name").map_or_else(|| format!("#{}", i + 1), str::to_owned),
            method,
            url,
            headers,
            body,
            weight,
        });
    }
    if out.is_empty() {
        return Err(format!("`{shown}` holds no request"));
    }
    Ok(out)
}

impl LoadCheck {
    fn new(spec: &LoadSuite, file: &str, line: u32) -> Result<LoadCheck, String> {
        let base = Url::parse(&spec.url).map_err(|e| format!("`url` is not a URL: {e}"))?;
        let url_shown = modelci_net::redact_url(&base);
        let mut pairs = spec.headers.clone();
        for (name, var, _) in &spec.secret_headers {
            let value = std::env::var(var).map_err(|_| {
                format!("secret header `{name}`: the environment variable `{var}` is not set")
            })?;
            pairs.push((name.clone(), value));
        }
        let mut common = header_map(&pairs)?;
        for v in common.values_mut() {
            v.set_sensitive(true);
        }
        let requests = match &spec.requests {
            Some(path) => read_requests(path, &base, &common)?,
            None => {
                let body = match (&spec.body, &spec.body_file) {
                    (Some(b), _) => Bytes::from(b.clone()),
                    (None, Some(p)) => Bytes::from(std::fs::read(p).map_err(|e| {
                        format!(
                            "cannot read the body file `{}`: {e}",
                            modelci_config::display_path(p)
                        )
                    })?),
                    (None, None) => Bytes::new(),
                };
                let method = match &spec.method {
                    Some(m) => method(m)?,
                    None if body.is_empty() => Method::GET,
                    None => Method::POST,
                };
                let mut headers = common.clone();
                let looks_json = body.first().is_some_and(|b| matches!(b, b'{' | b'['));
                if looks_json && !headers.contains_key(reqwest::header::CONTENT_TYPE) {
                    headers.insert(
                        reqwest::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
                vec![RequestTemplate {
                    name: format!("{method} {}", base.path()),
                    method,
                    url: base.clone(),
                    headers,
                    body,
                    weight: 1.0,
                }]
            }
        };
        let thresholds = spec
            .thresholds
            .iter()
            .map(|t| Threshold::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let model = match &spec.shape {
            LoadShape::Open { stages, poisson } => Model::Open {
                profile: Profile {
                    stages: stages
                        .iter()
                        .map(|&(duration, from, to)| Stage { duration, from, to })
                        .collect(),
                },
                arrivals: if *poisson {
                    Arrivals::Poisson { seed: spec.seed }
                } else {
                    Arrivals::Uniform
                },
                max_in_flight: spec.max_in_flight,
            },
            LoadShape::Closed { vus, duration } => Model::Closed {
                vus: *vus,
                duration: *duration,
            },
        };
        let load = LoadSpec {
            requests,
            model,
            warmup: spec.warmup,
            timeout: spec.timeout,
            seed: spec.seed,
            workers: 0,
            abort_on: if spec.abort_on_fail {
                thresholds.clone()
            } else {
                Vec::new()
            },
            success_below: 400,
        };
        load.validate().map_err(|e| e.to_string())?;
        Ok(LoadCheck {
            spec: load,
            thresholds,
            url_shown,
            location: if line == 0 {
                Location::file(file)
            } else {
                Location::line(file, line)
            },
            histogram_csv: spec.histogram_csv.clone(),
            properties: Mutex::new(Properties::new()),
        })
    }

    /// The report's cases and properties for an outcome.
    fn judge(&self, out: &LoadOutcome) -> (Vec<Case>, Properties) {
        let s = out.recorder.summary(out.measured, out.target_rps);
        let mut p = Properties::new();
        let ms = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
        p.insert("url", self.url_shown.clone());
        match &self.spec.model {
            Model::Open {
                arrivals,
                max_in_flight,
                ..
            } => {
                p.insert("model", "open");
                p.insert(
                    "arrivals",
                    match arrivals {
                        Arrivals::Uniform => "uniform",
                        Arrivals::Poisson { .. } => "poisson",
                    },
                );
                p.insert("max_in_flight", max_in_flight.to_string());
            }
            Model::Closed { vus, .. } => {
                p.insert("model", "closed");
                p.insert("vus", vus.to_string());
            }
        }
        for (k, v) in [
            ("p50_ms", s.p50_ms),
            ("p90_ms", s.p90_ms),
            ("p95_ms", s.p95_ms),
            ("p99_ms", s.p99_ms),
            ("p999_ms", s.p999_ms),
            ("max_ms", s.max_ms),
            ("mean_ms", s.mean_ms),
            ("service_p50_ms", s.service_p50_ms),
            ("service_p99_ms", s.service_p99_ms),
            ("first_byte_p99_ms", s.first_byte_p99_ms),
        ] {
            p.insert(k, ms(v));
        }
        p.insert("achieved_rps", format!("{:.2}", s.achieved_rps));
        if let Some(t) = s.target_rps {
            p.insert("target_rps", format!("{t:.2}"));
        }
        p.insert("measured_s", format!("{:.3}", s.duration_s));
        p.insert("warmup_s", format!("{:.3}", self.spec.warmup.as_secs_f64()));
        p.insert("scheduled", s.scheduled.to_string());
        p.insert("sent", s.sent.to_string());
        p.insert("ok", s.ok.to_string());
        p.insert("failed", s.failed.to_string());
        p.insert("dropped", s.dropped.to_string());
        p.insert("error_rate", format!("{:.6}", s.error_rate));
        for (kind, n) in &s.errors {
            p.insert(format!("errors.{}", kind.replace(' ', "_")), n.to_string());
        }
        p.insert("latency_histogram", out.recorder.encode_latency());
        if out.per_request.len() > 1 {
            for (name, r) in &out.per_request {
                let rs = r.summary(out.measured, None);
                p.insert(format!("request.{name}.sent"), rs.sent.to_string());
                p.insert(format!("request.{name}.failed"), rs.failed.to_string());
                p.insert(format!("request.{name}.p99_ms"), ms(rs.p99_ms));
            }
        }
        if let Some(why) = &out.aborted {
            p.insert("aborted", why.clone());
        }

        let note = match (&out.aborted, out.cancelled) {
            (Some(why), _) => format!(" (the run stopped early: {why})"),
            (None, true) => " (the run was interrupted)".to_owned(),
            _ => String::new(),
        };
        // Nothing reached the service: the load could not be measured at all.
        let unreachable =
            s.ok == 0 && s.sent > 0 && s.errors.keys().all(|k| k == "connection" || k == "timeout");
        let mut cases = Vec::new();
        if unreachable {
            let why = format!(
                "no request to {} got an answer: {}",
                self.url_shown,
                s.errors
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let names: Vec<String> = if self.thresholds.is_empty() {
                vec!["load".to_owned()]
            } else {
                self.thresholds
                    .iter()
                    .map(|t| t.expression.clone())
                    .collect()
            };
            for n in names {
                cases.push(Case::errored(n, why.clone()).with_location(self.location.clone()));
            }
            return (cases, p);
        }
        if self.thresholds.is_empty() {
            let case = if s.sent == 0 {
                Case::errored("load", format!("no request was sent{note}"))
            } else {
                Case::passed("load").with_message(format!(
                    "{} requests, {:.1} req/s, p99 {} ms, {} failed, {} dropped{note}",
                    s.sent,
                    s.achieved_rps,
                    ms(s.p99_ms),
                    s.failed,
                    s.dropped
                ))
            };
            cases.push(case.with_location(self.location.clone()));
        }
        for t in &self.thresholds {
            let v = t.judge(&s, |q| out.recorder.percentile_ms(q));
            let outcome = if v.passed {
                Outcome::Passed
            } else {
                Outcome::Failed
            };
            let errors = if matches!(
                t.metric,
                crate::threshold::Metric::ErrorRate | crate::threshold::Metric::Errors
            ) && !s.errors.is_empty()
            {
                format!(
                    " ({})",
                    s.errors
                        .iter()
                        .map(|(k, n)| format!("{n} {k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                String::new()
            };
            let mut case = Case::new(t.expression.clone(), outcome)
                .with_message(format!("{}{errors}{note}", v.describe()))
                .with_location(self.location.clone());
            if let Some(m) = v.measured {
                case.properties.insert("measured", format!("{m}"));
                case.actual = Some(format!("{m}"));
            }
            case.properties.insert("limit", format!("{}", t.value));
            case.properties.insert("unit", t.metric.unit());
            case.expected = Some(t.expression.clone());
            cases.push(case);
        }
        if let Some(path) = &self.histogram_csv {
            let written = modelci_report::write_atomic(path, |w| {
                w.write_all(out.recorder.latency_csv().as_bytes())
            });
            if let Err(e) = written {
                cases.push(
                    Case::errored(
                        "histogram_csv",
                        format!("cannot write `{}`: {e}", modelci_config::display_path(path)),
                    )
                    .with_location(self.location.clone()),
                );
            }
        }
        (cases, p)
    }
}

impl Suite for LoadCheck {
    fn plan(&self) -> Plan {
        Plan::Whole
    }

    fn run(&self, _indices: &[usize], ctx: &Context) -> Vec<Case> {
        let mut spec = self.spec.clone();
        spec.workers = ctx.jobs;
        let flag = ctx.cancel.flag();
        let started = std::time::Instant::now();
        match crate::run::run(&spec, &flag, &Live::default()) {
            Ok(out) => {
                let (mut cases, props) = self.judge(&out);
                // The load is judged as a whole: its time is shared by its cases.
                let share = started.elapsed().as_secs_f64() * 1000.0 / cases.len().max(1) as f64;
                for c in &mut cases {
                    c.duration_ms = share;
                }
                if let Ok(mut p) = self.properties.lock() {
                    *p = props;
                }
                cases
            }
            Err(e) => {
                vec![Case::errored("load", e.to_string()).with_location(self.location.clone())]
            }
        }
    }

    fn properties(&self) -> Properties {
        self.properties
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }
}

/// How long a load suite is planned to take (warm-up and measured part), for progress.
pub fn planned_duration(spec: &LoadSuite) -> Duration {
    spec.warmup
        + match &spec.shape {
            LoadShape::Open { stages, .. } => stages.iter().map(|s| s.0).sum(),
            LoadShape::Closed { duration, .. } => *duration,
        }
}
