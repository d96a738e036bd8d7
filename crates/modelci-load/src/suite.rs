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
use crate::stats::{Recorder, Summary};
use crate::threshold::Threshold;

/// A planned load suite.
pub struct LoadCheck {
    spec: LoadSpec,
    thresholds: Vec<Threshold>,
    /// Search for the highest rate holding these SLOs (max rate, precision, max steps).
    find_max: Option<(Vec<Threshold>, f64, f64, usize)>,
    url_shown: String,
    location: Location,
    histogram_csv: Option<std::path::PathBuf>,
    plot: Option<std::path::PathBuf>,
    properties: Mutex<Properties>,
}

/// The load run a `[[suite.load]]` describes (its requests read from their files), for
/// suites that drive traffic with the load engine (resilience scenarios).
///
/// # Errors
/// A file that cannot be read, a request that cannot be built, a bad threshold.
pub fn load_spec(spec: &LoadSuite) -> Result<LoadSpec, String> {
    LoadCheck::new(spec, "", 0).map(|c| c.spec)
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

/// The requests of a file as JSON objects in the `--requests` line format, each with its
/// number and where it is: JSON Lines (a line may also be a recorded exchange,
/// `{"request": {...}, "response": {...}}`, as `contract validate` reads, whose request is
/// taken), or a HAR file (each entry's request: method, URL, headers, `postData.text`).
fn request_items(text: &str, shown: &str) -> Result<Vec<(usize, String, Value)>, String> {
    let whole: Option<Value> = text
        .trim_start()
        .starts_with('{')
        .then(|| serde_json::from_str(text).ok())
        .flatten();
    if let Some(entries) = whole
        .as_ref()
        .and_then(|v| v.pointer("/log/entries"))
        .and_then(Value::as_array)
    {
        // Headers HTTP sets by itself are not replayed.
        let skip = [
            "host",
            "content-length",
            "connection",
            "transfer-encoding",
            "accept-encoding",
        ];
        let mut items = Vec::new();
        for (k, e) in entries.iter().enumerate() {
            let at = format!("{shown}: entry {}", k + 1);
            let req = e
                .get("request")
                .ok_or_else(|| format!("{at}: no `request`"))?;
            let mut obj = serde_json::Map::new();
            for key in ["method", "url"] {
                if let Some(v) = req.get(key) {
                    obj.insert(key.to_owned(), v.clone());
                }
            }
            let mut headers = serde_json::Map::new();
            for h in req
                .get("headers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(n), Some(v)) = (
                    h.get("name").and_then(Value::as_str),
                    h.get("value").and_then(Value::as_str),
                ) && !n.starts_with(':')
                    && !skip.contains(&n.to_ascii_lowercase().as_str())
                {
                    headers.insert(n.to_owned(), Value::String(v.to_owned()));
                }
            }
            obj.insert("headers".to_owned(), Value::Object(headers));
            if let Some(t) = req.pointer("/postData/text").and_then(Value::as_str) {
                obj.insert("body_text".to_owned(), Value::String(t.to_owned()));
            }
            items.push((k + 1, at, Value::Object(obj)));
        }
        return Ok(items);
    }
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = format!("{shown}:{}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let mut v: Value =
            serde_json::from_str(line).map_err(|e| format!("{at}: not JSON: {e}"))?;
        // A recorded exchange: its request.
        if let Some(mut req) = v.get("request").filter(|r| r.is_object()).cloned() {
            // There, a string body is the body's text (anything else is JSON).
            if let Some(obj) = req.as_object_mut()
                && let Some(Value::String(text)) = obj.remove("body")
            {
                obj.insert("body_text".to_owned(), Value::String(text));
            }
            v = req;
        }
        items.push((i + 1, at, v));
    }
    Ok(items)
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
    for (i, at, v) in request_items(&text, &shown)? {
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
            name: text_of("name").map_or_else(|| format!("#{i}"), str::to_owned),
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

/// The v2 infer URL of `model` under `base`, and the headers of a JSON request.
fn infer_target(base: &Url, model: &str, common: &HeaderMap) -> Result<(Url, HeaderMap), String> {
    let mut root = base.clone();
    if !root.path().ends_with('/') {
        let path = format!("{}/", root.path());
        root.set_path(&path);
    }
    let url = root
        .join(&format!("v2/models/{model}/infer"))
        .map_err(|e| format!("model `{model}`: {e}"))?;
    let mut headers = common.clone();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((url, headers))
}

/// One inference request per batch of a dataset's rows (their feature columns as one float32
/// input), at most 100,000 kinds.
fn dataset_requests(
    base: &Url,
    d: &modelci_config::load::DatasetRequests,
    common: &HeaderMap,
) -> Result<Vec<RequestTemplate>, String> {
    let (url, headers) = infer_target(base, &d.model_name, common)?;
    let table = modelci_dataset::read(&d.path).map_err(|e| e.to_string())?;
    let values = table.features(&d.features).map_err(|e| e.to_string())?;
    let rows = table.rows;
    if rows == 0 {
        return Err(format!(
            "`{}` has no rows",
            modelci_config::display_path(&d.path)
        ));
    }
    let width = values.len() / rows;
    let mut out = Vec::new();
    for (k, start) in (0..rows)
        .step_by(d.rows_per_request)
        .take(100_000)
        .enumerate()
    {
        let n = d.rows_per_request.min(rows - start);
        let data: Vec<f64> = values[start * width..(start + n) * width]
            .iter()
            .map(|v| f64::from(*v))
            .collect();
        let tensor = modelci_tensor::Tensor::new(
            d.input.clone(),
            modelci_tensor::DType::F32,
            vec![n as i64, width as i64],
            modelci_tensor::Data::Float(data),
        )
        .map_err(|e| e.to_string())?;
        let body = modelci_v2::codec::request::encode(&[tensor], &[], false).map_err(|e| {
            format!(
                "{}: rows {}-{}: {e}",
                modelci_config::display_path(&d.path),
                start + 1,
                start + n
            )
        })?;
        out.push(RequestTemplate {
            name: format!("rows-{}", k + 1),
            method: Method::POST,
            url: url.clone(),
            headers: headers.clone(),
            body: Bytes::from(body),
            weight: 1.0,
        });
    }
    Ok(out)
}

/// One inference request per golden case (JSON files), to the v2 model's infer URL.
fn v2_requests(
    base: &Url,
    model: &str,
    cases: &[std::path::PathBuf],
    common: &HeaderMap,
) -> Result<Vec<RequestTemplate>, String> {
    let (url, headers) = infer_target(base, model, common)?;
    let mut out = Vec::new();
    for path in cases {
        let golden = modelci_tensor::golden::read_json(path).map_err(|e| e.to_string())?;
        for case in golden {
            let body = modelci_v2::codec::request::encode(&case.inputs, &[], false)
                .map_err(|e| format!("{}: case `{}`: {e}", case.source, case.name))?;
            out.push(RequestTemplate {
                name: case.name.clone(),
                method: Method::POST,
                url: url.clone(),
                headers: headers.clone(),
                body: Bytes::from(body),
                weight: 1.0,
            });
        }
    }
    if out.is_empty() {
        return Err(format!("the golden cases of model `{model}` hold no case"));
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
        let requests = match (&spec.requests, &spec.model) {
            _ if spec.dataset.is_some() => match &spec.dataset {
                Some(d) => dataset_requests(&base, d, &common)?,
                None => Vec::new(),
            },
            (_, Some((model, cases))) => v2_requests(&base, model, cases, &common)?,
            (Some(path), None) => read_requests(path, &base, &common)?,
            (None, None) => {
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
            phase: 0.0,
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
            tracing: None,
        };
        load.validate().map_err(|e| e.to_string())?;
        let find_max = match &spec.find_max {
            None => None,
            Some(f) => Some((
                f.slo
                    .iter()
                    .map(|t| Threshold::parse(t))
                    .collect::<Result<Vec<_>, _>>()?,
                f.max_rate,
                f.precision,
                f.max_steps,
            )),
        };
        Ok(LoadCheck {
            spec: load,
            thresholds,
            find_max,
            url_shown,
            location: if line == 0 {
                Location::file(file)
            } else {
                Location::line(file, line)
            },
            histogram_csv: spec.histogram_csv.clone(),
            plot: spec.plot.clone(),
            properties: Mutex::new(Properties::new()),
        })
    }

    /// The report's cases and properties for an outcome (of this shard, when `shard` is set).
    fn judge(&self, out: &LoadOutcome, shard: Option<(u32, u32)>) -> (Vec<Case>, Properties) {
        let s = out.recorder.summary(out.measured, out.target_rps);
        let mut p = Properties::new();
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
        p.insert("warmup_s", format!("{:.3}", self.spec.warmup.as_secs_f64()));
        p.insert(
            "thresholds",
            serde_json::to_string(
                &self
                    .thresholds
                    .iter()
                    .map(|t| t.expression.clone())
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
        );
        figures(&mut p, &out.recorder, &s);
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
        let mut cases = match shard {
            Some((k, n)) if n > 1 => {
                p.insert("shard", format!("{k}/{n}"));
                // A part is not judged: its p99 is not the run's, and its rate a fraction.
                let names: Vec<String> = if self.thresholds.is_empty() {
                    vec!["load".to_owned()]
                } else {
                    self.thresholds
                        .iter()
                        .map(|t| t.expression.clone())
                        .collect()
                };
                names
                    .into_iter()
                    .map(|n_| {
                        Case::skipped(
                            n_,
                            format!(
                                "shard {k} of {n}: {} requests at {:.1} req/s; the thresholds are judged over all shards by `modelci report merge`{note}",
                                s.sent, s.achieved_rps
                            ),
                        )
                        .with_location(self.location.clone())
                    })
                    .collect()
            }
            _ => verdicts(
                &self.thresholds,
                &out.recorder,
                &s,
                &note,
                &self.url_shown,
                &self.location,
            ),
        };
        let title = format!(
            "{} · {:.1} req/s{} · {} requests",
            self.url_shown,
            s.achieved_rps,
            s.target_rps
                .map(|t| format!(" (target {t:.1})"))
                .unwrap_or_default(),
            s.sent
        );
        let files = [
            (
                &self.histogram_csv,
                "histogram_csv",
                out.recorder.latency_csv(),
            ),
            (
                &self.plot,
                "plot",
                crate::plot::latency_svg(
                    &title,
                    &[
                        ("latency from the intended start", &out.recorder, false),
                        ("from the send (service time)", &out.recorder, true),
                    ],
                ),
            ),
        ];
        for (path, what, text) in files {
            let Some(path) = path else { continue };
            let written = modelci_report::write_atomic(path, |w| w.write_all(text.as_bytes()));
            if let Err(e) = written {
                cases.push(
                    Case::errored(
                        what,
                        format!("cannot write `{}`: {e}", modelci_config::display_path(path)),
                    )
                    .with_location(self.location.clone()),
                );
            }
        }
        (cases, p)
    }

    /// `find_max`: one case for the search (passed when a rate held), then the thresholds
    /// judged at the highest rate that held; every step in the properties.
    fn search(
        &self,
        spec: &LoadSpec,
        (slo, max_rate, precision, max_steps): &(Vec<Threshold>, f64, f64, usize),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Vec<Case> {
        let start = match &spec.model {
            Model::Open { profile, .. } => profile.first_rate(),
            Model::Closed { .. } => 0.0,
        };
        let found =
            match crate::run::find_max(spec, slo, start, *max_rate, *precision, *max_steps, cancel)
            {
                Ok(f) => f,
                Err(e) => {
                    return vec![
                        Case::errored("find max", e.to_string())
                            .with_location(self.location.clone()),
                    ];
                }
            };
        let slo_text = slo
            .iter()
            .map(|t| t.expression.clone())
            .collect::<Vec<_>>()
            .join(", ");
        let name = format!("highest rate holding {slo_text}");
        let best_step = found
            .best
            .and_then(|b| found.steps.iter().find(|s| s.held && s.rate == b));
        let (mut cases, mut props) = match best_step {
            Some(step) => self.judge(&step.outcome, None),
            None => (Vec::new(), Properties::new()),
        };
        if best_step.is_none() {
            cases.clear();
        }
        for (i, step) in found.steps.iter().enumerate() {
            let s = step
                .outcome
                .recorder
                .summary(step.outcome.measured, step.outcome.target_rps);
            props.insert(
                format!("step.{:02}", i + 1),
                format!(
                    "{:.1} req/s: {} (achieved {:.1} req/s, p99 {} ms, {} failed, {} dropped)",
                    step.rate,
                    match &step.why {
                        None => "held".to_owned(),
                        Some(w) => format!("did not hold, {w}"),
                    },
                    s.achieved_rps,
                    ms(s.p99_ms),
                    s.failed,
                    s.dropped
                ),
            );
        }
        props.insert("slo", slo_text.clone());
        let first_why = found.steps.first().and_then(|s| s.why.clone());
        let search_case = match found.best {
            Some(best) => {
                props.insert("max_rps", format!("{best:.2}"));
                let limit = found
                    .steps
                    .iter()
                    .filter(|s| !s.held && s.rate > best)
                    .map(|s| s.rate)
                    .fold(f64::INFINITY, f64::min);
                Case::passed(name).with_message(if limit.is_finite() {
                    format!(
                        "{best:.1} req/s held ({slo_text}); {limit:.1} req/s did not ({} runs)",
                        found.steps.len()
                    )
                } else {
                    format!(
                        "{best:.1} req/s held ({slo_text}), the highest rate tried ({} runs)",
                        found.steps.len()
                    )
                })
            }
            None => Case::failed(
                name,
                format!(
                    "no rate held down to {:.2} req/s: {}",
                    found.steps.last().map_or(start, |s| s.rate),
                    first_why.unwrap_or_else(|| "the search was interrupted".to_owned())
                ),
            ),
        }
        .with_location(self.location.clone());
        if let Ok(mut p) = self.properties.lock() {
            *p = props;
        }
        // Without a rate that held there is nothing to judge the thresholds on.
        let mut all = vec![search_case];
        if best_step.is_some() {
            all.extend(cases.into_iter().filter(|c| c.name != "load"));
        }
        all
    }

    /// This shard's part of the load: rates (and connection slots, virtual users) divided by the
    /// shard count, evenly spaced schedules offset so that the shards interleave, Poisson seeds
    /// apart.
    fn part(&self, k: u32, n: u32) -> LoadSpec {
        let mut spec = self.spec.clone();
        let n_f = f64::from(n);
        spec.seed = spec.seed.wrapping_add(u64::from(k));
        match &mut spec.model {
            Model::Open {
                profile,
                arrivals,
                max_in_flight,
            } => {
                for st in &mut profile.stages {
                    st.from /= n_f;
                    st.to /= n_f;
                }
                *max_in_flight = max_in_flight.div_ceil(n as usize).max(1);
                match arrivals {
                    Arrivals::Poisson { seed } => *seed = seed.wrapping_add(u64::from(k)),
                    Arrivals::Uniform => spec.phase = f64::from(k - 1) / n_f,
                }
            }
            Model::Closed { vus, .. } => {
                let (base, extra) = (*vus / n as usize, *vus % n as usize);
                *vus = base + usize::from(((k - 1) as usize) < extra);
            }
        }
        spec
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"))
}

/// The figures of a recorder as suite properties (what `report merge` reads back).
fn figures(p: &mut Properties, rec: &Recorder, s: &Summary) {
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
    // Streaming answers only.
    for (k, v) in [
        ("first_token_p50_ms", s.first_token_p50_ms),
        ("first_token_p99_ms", s.first_token_p99_ms),
        ("inter_token_p50_ms", s.inter_token_p50_ms),
        ("inter_token_p99_ms", s.inter_token_p99_ms),
    ] {
        let Some(v) = v else { continue };
        p.insert(k, ms(Some(v)));
    }
    p.insert("achieved_rps", format!("{:.2}", s.achieved_rps));
    if let Some(t) = s.target_rps {
        p.insert("target_rps", format!("{t:.2}"));
    }
    p.insert("measured_s", format!("{:.3}", s.duration_s));
    p.insert("scheduled", s.scheduled.to_string());
    p.insert("sent", s.sent.to_string());
    p.insert("ok", s.ok.to_string());
    p.insert("failed", s.failed.to_string());
    p.insert("dropped", s.dropped.to_string());
    p.insert("error_rate", format!("{:.6}", s.error_rate));
    p.insert("bytes", s.bytes.to_string());
    for (kind, n) in &s.errors {
        p.insert(format!("errors.{}", kind.replace(' ', "_")), n.to_string());
    }
    p.insert("latency_histogram", rec.encode_latency());
    p.insert("service_histogram", rec.encode_service());
    p.insert("first_byte_histogram", rec.encode_first_byte());
    if !rec.first_token.is_empty() {
        p.insert("first_token_histogram", rec.encode_first_token());
        p.insert("inter_token_histogram", rec.encode_inter_token());
    }
}

/// The threshold cases (or one `load` case without thresholds) for a summary; errored cases
/// when nothing reached the service.
fn verdicts(
    thresholds: &[Threshold],
    rec: &Recorder,
    s: &Summary,
    note: &str,
    url: &str,
    location: &Location,
) -> Vec<Case> {
    let mut cases = Vec::new();
    // Nothing reached the service: the load could not be measured at all.
    let unreachable =
        s.ok == 0 && s.sent > 0 && s.errors.keys().all(|k| k == "connection" || k == "timeout");
    if unreachable {
        let why = format!(
            "no request to {url} got an answer: {}",
            s.errors
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let names: Vec<String> = if thresholds.is_empty() {
            vec!["load".to_owned()]
        } else {
            thresholds.iter().map(|t| t.expression.clone()).collect()
        };
        for n in names {
            cases.push(Case::errored(n, why.clone()).with_location(location.clone()));
        }
        return cases;
    }
    if thresholds.is_empty() {
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
        cases.push(case.with_location(location.clone()));
    }
    for t in thresholds {
        let v = t.judge_with(rec, s);
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
            .with_location(location.clone());
        if let Some(m) = v.measured {
            case.properties.insert("measured", format!("{m}"));
            case.actual = Some(format!("{m}"));
        }
        case.properties.insert("limit", format!("{}", t.value));
        case.properties.insert("unit", t.metric.unit());
        case.expected = Some(t.expression.clone());
        cases.push(case);
    }
    cases
}

/// Joins the parts of a load suite run as `--shard K/N` (one per shard, each with its
/// histograms and counts in its properties) into one suite, judged again over the whole: the
/// histograms are added exactly, the counts summed, the rates summed.
///
/// # Errors
/// When the parts are not the N shards of one run (a part missing or twice, different shard
/// counts) or their histograms cannot be read.
pub fn merge_shards(parts: Vec<modelci_report::Suite>) -> Result<modelci_report::Suite, String> {
    let Some(first) = parts.first() else {
        return Err("no parts to merge".to_owned());
    };
    let name = first.name.clone();
    let mut seen = Vec::new();
    let mut count = None;
    let mut all = Recorder::default();
    let mut measured = 0.0_f64;
    let mut target: Option<f64> = None;
    for part in &parts {
        let prop = |k: &str| part.properties.get(k).cloned().unwrap_or_default();
        let shard = prop("shard");
        let (k, n) = shard
            .split_once('/')
            .and_then(|(k, n)| Some((k.parse::<u32>().ok()?, n.parse::<u32>().ok()?)))
            .ok_or_else(|| format!("load suite `{name}`: a part without its shard (`{shard}`)"))?;
        if *count.get_or_insert(n) != n {
            return Err(format!(
                "load suite `{name}`: parts of {} and of {n} shards",
                count.unwrap_or(n)
            ));
        }
        if seen.contains(&k) {
            return Err(format!("load suite `{name}`: shard {k}/{n} is given twice"));
        }
        seen.push(k);
        let num = |k: &str| prop(k).parse::<u64>().unwrap_or(0);
        let hist = |k: &str| {
            Recorder::decode_histogram(&prop(k))
                .map_err(|e| format!("load suite `{name}`, shard {shard}: `{k}` {e}"))
        };
        let streamed = |k: &str| match part.properties.get(k) {
            Some(_) => hist(k),
            None => Ok(Recorder::default().first_token),
        };
        let mut r = Recorder {
            latency: hist("latency_histogram")?,
            service: hist("service_histogram")?,
            first_byte: hist("first_byte_histogram")?,
            first_token: streamed("first_token_histogram")?,
            inter_token: streamed("inter_token_histogram")?,
            scheduled: num("scheduled"),
            ok: num("ok"),
            dropped: num("dropped"),
            bytes: num("bytes"),
            ..Recorder::default()
        };
        for (key, v) in part.properties.iter() {
            if let Some(kind) = key.strip_prefix("errors.") {
                let kind = match kind {
                    "timeout" => crate::stats::ErrorKind::Timeout,
                    "connection" => crate::stats::ErrorKind::Connection,
                    other => other
                        .strip_prefix("status_")
                        .and_then(|c| c.parse().ok())
                        .map_or(
                            crate::stats::ErrorKind::Other,
                            crate::stats::ErrorKind::Status,
                        ),
                };
                *r.errors.entry(kind).or_default() += v.parse::<u64>().unwrap_or(0);
            }
        }
        all.merge(&r);
        measured = measured.max(prop("measured_s").parse().unwrap_or(0.0));
        if let Ok(t) = prop("target_rps").parse::<f64>() {
            *target.get_or_insert(0.0) += t;
        }
    }
    let n = count.unwrap_or(1);
    let thresholds: Vec<Threshold> = first
        .properties
        .get("thresholds")
        .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| Threshold::parse(t).ok())
        .collect();
    let location = first
        .location
        .clone()
        .unwrap_or_else(|| Location::file(String::new()));
    let s = all.summary(Duration::from_secs_f64(measured), target);
    let mut suite = modelci_report::Suite::new(name.clone(), first.kind.clone());
    suite.location = first.location.clone();
    for (k, v) in first.properties.iter() {
        let per_part = k.starts_with("errors.")
            || k.starts_with("request.")
            || k.ends_with("_histogram")
            || k.ends_with("_ms")
            || matches!(
                k.as_str(),
                "shard"
                    | "achieved_rps"
                    | "target_rps"
                    | "measured_s"
                    | "scheduled"
                    | "sent"
                    | "ok"
                    | "failed"
                    | "dropped"
                    | "error_rate"
                    | "bytes"
                    | "max_in_flight"
                    | "vus"
            );
        if !per_part {
            suite.properties.insert(k.clone(), v.clone());
        }
    }
    figures(&mut suite.properties, &all, &s);
    suite.properties.insert("shards", n.to_string());
    let url = first.properties.get("url").cloned().unwrap_or_default();
    let mut missing: Vec<u32> = (1..=n).filter(|k| !seen.contains(k)).collect();
    missing.sort_unstable();
    suite.cases = if missing.is_empty() {
        verdicts(&thresholds, &all, &s, "", &url, &location)
    } else {
        vec![
            Case::errored(
                "load",
                format!(
                    "shard(s) {} of {n} are missing: the load cannot be judged from a part",
                    missing
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_location(location),
        ]
    };
    let per_case =
        parts.iter().map(|p| p.duration_ms).fold(0.0, f64::max) / suite.cases.len().max(1) as f64;
    for c in &mut suite.cases {
        c.duration_ms = per_case;
    }
    suite.refresh_summary();
    suite.duration_ms = suite.cases.iter().map(|c| c.duration_ms).sum();
    Ok(suite)
}

impl Suite for LoadCheck {
    fn plan(&self) -> Plan {
        // A search is one sequence of runs: it does not divide among shards.
        if self.find_max.is_some() {
            Plan::Whole
        } else {
            Plan::Split
        }
    }

    fn run(&self, _indices: &[usize], ctx: &Context) -> Vec<Case> {
        let shard = ctx.shard.filter(|&(_, n)| n > 1);
        let mut spec = match shard {
            Some((k, n)) => self.part(k, n),
            None => self.spec.clone(),
        };
        if let Model::Closed { vus: 0, .. } = spec.model {
            let (k, n) = shard.unwrap_or((1, 1));
            return vec![
                Case::skipped(
                    "load",
                    format!("shard {k} of {n}: no virtual user falls to this shard (fewer users than shards)"),
                )
                .with_location(self.location.clone()),
            ];
        }
        spec.workers = ctx.jobs;
        let flag = ctx.cancel.flag();
        let started = std::time::Instant::now();
        if let Some(search) = &self.find_max {
            let mut cases = self.search(&spec, search, &flag);
            let share = started.elapsed().as_secs_f64() * 1000.0 / cases.len().max(1) as f64;
            for c in &mut cases {
                c.duration_ms = share;
            }
            return cases;
        }
        match crate::run::run(&spec, &flag, &Live::default()) {
            Ok(out) => {
                let (mut cases, props) = self.judge(&out, shard);
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
