//! Shadow comparison (`[[suite.shadow]]`, `modelci canary shadow`): the same requests sent to
//! the baseline and the canary at the same moment, and their answers judged as a canary is.
//!
//! The requests are built as a load suite builds them (golden cases' inputs, a dataset's rows,
//! recorded traffic, or one request), once against each side's base URL; each pair is sent to
//! both sides at once, so both see the same moment's conditions. A first `warmup` of pairs is
//! not measured. Then, over the measured pairs:
//!
//! - **latency** (milliseconds, answers whose status is below 400): judged as a canary metric
//!   is, a Mann-Whitney U test and the Hodges-Lehmann shift against `latency_tolerance` times
//!   the baseline's median plus `latency_tolerance_ms`;
//! - **errors** (a transport failure, a timeout, a status of 400 or more, an answer over the
//!   size cap): the canary's error rate against the baseline's; worse when it is higher by more
//!   than `max_error_increase` and the difference is significant (Mann-Whitney on the 0/1
//!   indicators, which is the two-proportion test with ties handled);
//! - **agreement** per output (pairs both sides answered): the share of rows whose predictions
//!   agree. A float output with several values per row (class scores) agrees on its top-1 class;
//!   one value per row (a regression, a single score) agrees within `atol + rtol·|baseline|`;
//!   labels (integers, booleans, strings) and maps must be equal. Worse under `min_agreement`.
//!   An answer that is not a v2 inference answer is compared whole as JSON (numbers within the
//!   same tolerance), or byte for byte when it is not JSON;
//! - **drift** per float output: the population stability index of the canary's scores (the
//!   top-1 score, or the single value) against the baseline's; worse over `max_psi`.
//!
//! The metrics score into the groups `latency`, `errors` and `predictions` and the verdict
//! follows as in [`crate::judge::score`]; `errors` and `agreement` are critical by default.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use modelci_config::canary::{Direction, Metric, NoData};
use modelci_config::shadow::{ShadowSuite, group_of};
use modelci_load::run::RequestTemplate;
use modelci_metrics::rank::{self, Alternative};
use modelci_report::{Case, Location, Properties};
use modelci_suite::{Context, Plan, SetupFailed, Suite};
use modelci_tensor::{Data, Tensor};
use serde_json::Value;

use crate::judge::{Class, Judgement, MetricResult, Samples, Settings, Side};
use crate::{Rules, judged_case, metric_case, num, passes, verdict_case};

/// The largest answer read (bigger ones are errors of their side).
const BODY_CAP: u64 = 64 * 1024 * 1024;
/// Disagreements shown in a case's message.
const SHOWN: usize = 5;

/// Plans a `[[suite.shadow]]`: builds the requests for both sides. A problem becomes one
/// errored `(setup)` case at `file:line`.
pub fn plan(spec: &ShadowSuite, file: &str, line: u32) -> Box<dyn Suite> {
    // Line 0: the flags of `modelci canary shadow`, whose "file" is the two URLs.
    let location = if line == 0 {
        Location::file(file.to_owned())
    } else {
        Location::line(file, line)
    };
    match ShadowCheck::new(spec, location.clone()) {
        Ok(check) => Box::new(check),
        Err(m) => Box::new(SetupFailed::new(m, location)),
    }
}

/// A planned shadow comparison.
pub struct ShadowCheck {
    spec: ShadowSuite,
    /// The same request for the baseline and for the canary.
    pairs: Arc<Vec<(RequestTemplate, RequestTemplate)>>,
    /// Hides the headers' values and the URLs' credentials in what servers answer.
    secrets: modelci_net::Redactor,
    location: Location,
    properties: Mutex<Properties>,
}

impl ShadowCheck {
    /// Builds the requests for both sides.
    ///
    /// # Errors
    /// A file that cannot be read, a request that cannot be built, a request with an absolute
    /// URL (it would reach the same server from both sides).
    pub fn new(spec: &ShadowSuite, location: Location) -> Result<ShadowCheck, String> {
        let baseline = modelci_load::suite::load_spec(&spec.traffic)?.requests;
        let canary_base = reqwest::Url::parse(&spec.canary)
            .map_err(|e| format!("the canary URL is not a URL: {e}"))?;
        let canary = if spec.traffic.requests.is_some() {
            // Recorded traffic may give absolute URLs, which would reach the same server from
            // both sides: built again for the canary, a URL that comes out the same is refused.
            let mut canary_traffic = spec.traffic.clone();
            canary_traffic.url.clone_from(&spec.canary);
            let canary = modelci_load::suite::load_spec(&canary_traffic)?.requests;
            let same_base =
                spec.traffic.url.trim_end_matches('/') == spec.canary.trim_end_matches('/');
            if let Some((b, _)) = baseline
                .iter()
                .zip(&canary)
                .find(|(b, c)| b.url == c.url && !same_base)
            {
                return Err(format!(
                    "request `{}` gives an absolute `url` ({}): a shadow comparison sends the same path to both sides, so give `path` instead",
                    b.name,
                    modelci_net::redact_url(&b.url)
                ));
            }
            canary
        } else {
            // Golden cases and dataset rows go to the base URL's infer path: built once (a
            // dataset is read once), the canary's URL is the baseline's with the other base.
            let base = reqwest::Url::parse(&spec.traffic.url)
                .map_err(|e| format!("the baseline URL is not a URL: {e}"))?;
            let prefix = base.as_str().trim_end_matches('/');
            let canary_prefix = canary_base.as_str().trim_end_matches('/');
            baseline
                .iter()
                .map(|b| {
                    let rest = b.url.as_str().strip_prefix(prefix).ok_or_else(|| {
                        format!("request `{}` is not under the baseline's URL", b.name)
                    })?;
                    let url = reqwest::Url::parse(&format!("{canary_prefix}{rest}"))
                        .map_err(|e| format!("request `{}`: the canary's URL {e}", b.name))?;
                    Ok(RequestTemplate { url, ..b.clone() })
                })
                .collect::<Result<Vec<_>, String>>()?
        };
        // Values a server may echo back: every header value, the URLs' credentials.
        let mut secrets = modelci_net::Redactor::new();
        secrets.url(&canary_base, false);
        if let Ok(base) = reqwest::Url::parse(&spec.traffic.url) {
            secrets.url(&base, false);
        }
        for b in &baseline {
            for v in b.headers.values() {
                if let Ok(text) = v.to_str() {
                    secrets.header_value(text, modelci_net::HIDDEN);
                }
            }
        }
        let pairs: Vec<(RequestTemplate, RequestTemplate)> =
            baseline.into_iter().zip(canary).collect();
        let mut properties = Properties::new();
        properties.insert("baseline", shown(&spec.traffic.url));
        properties.insert("canary", shown(&spec.canary));
        properties.insert("requests", pairs.len().to_string());
        Ok(ShadowCheck {
            spec: spec.clone(),
            pairs: Arc::new(pairs),
            secrets,
            location,
            properties: Mutex::new(properties),
        })
    }

    /// Pairs measured: as configured, or 100, or one per request when there are more.
    fn samples(&self) -> usize {
        self.spec
            .samples
            .unwrap_or_else(|| self.pairs.len().max(100))
    }
}

fn shown(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(|_| url.to_owned(), |u| modelci_net::redact_url(&u))
}

/// What one side answered.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// A status below 400 and the whole body.
    Ok { latency_ms: f64, body: Vec<u8> },
    /// No usable answer: why.
    Failed(String),
}

/// One measured pair, compared.
#[derive(Debug, Default)]
struct Record {
    /// Latency of the side's successful answer.
    latency: [Option<f64>; 2],
    /// The side's error.
    error: [Option<String>; 2],
    /// Per output: the comparison (when both sides answered).
    outputs: Vec<(String, OutputComparison)>,
}

/// One output of one pair, compared.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct OutputComparison {
    /// Rows compared.
    pub rows: usize,
    /// Of those, agreeing.
    pub agreeing: usize,
    /// The first disagreement, described.
    pub first: Option<String>,
    /// Each side's scores (float outputs only).
    pub scores: [Vec<f64>; 2],
}

/// How two answers are compared.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

impl Tolerance {
    fn close(self, b: f64, c: f64) -> bool {
        b == c || (b - c).abs() <= self.atol + self.rtol * b.abs()
    }
}

/// The index and value of the largest value (the first of equal ones; NaN never wins).
fn top1(row: &[f64]) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &v) in row.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best
}

fn rows_of(t: &Tensor, len: usize) -> usize {
    match t.shape.first() {
        Some(&n) if t.shape.len() >= 2 => usize::try_from(n).unwrap_or(0),
        Some(_) => len,
        None => 1,
    }
}

fn elements(data: &Data) -> usize {
    match data {
        Data::Float(v) => v.len(),
        Data::Int(v) => v.len(),
        Data::UInt(v) => v.len(),
        Data::Bool(v) => v.len(),
        Data::Str(v) => v.len(),
        Data::Maps { maps, .. } => maps.len(),
    }
}

fn short<T: std::fmt::Debug>(v: &[T]) -> String {
    let mut s = format!("{:?}", &v[..v.len().min(4)]);
    if v.len() > 4 {
        s.pop();
        s.push_str(", …]");
    }
    s
}

/// Compares one output of both answers, row by row.
pub(crate) fn compare_tensors(b: &Tensor, c: &Tensor, tol: Tolerance) -> OutputComparison {
    let len = elements(&b.data);
    let rows = rows_of(b, len);
    let mut out = OutputComparison {
        rows,
        ..OutputComparison::default()
    };
    if b.shape != c.shape || std::mem::discriminant(&b.data) != std::mem::discriminant(&c.data) {
        out.first = Some(format!(
            "the canary answers {} {:?}, the baseline {} {:?}",
            c.dtype.name(),
            c.shape,
            b.dtype.name(),
            b.shape
        ));
        return out;
    }
    if rows == 0 {
        return out;
    }
    let width = len / rows;
    let note = |row: usize, what: String, first: &mut Option<String>| {
        if first.is_none() {
            *first = Some(if rows == 1 {
                what
            } else {
                format!("row {row}: {what}")
            });
        }
    };
    match (&b.data, &c.data) {
        (Data::Float(bv), Data::Float(cv)) => {
            for (row, (br, cr)) in bv
                .chunks(width.max(1))
                .zip(cv.chunks(width.max(1)))
                .enumerate()
            {
                if width >= 2 {
                    let (bt, ct) = (top1(br), top1(cr));
                    if let Some((_, s)) = bt {
                        out.scores[0].push(s);
                    }
                    if let Some((_, s)) = ct {
                        out.scores[1].push(s);
                    }
                    match (bt, ct) {
                        (Some((bi, _)), Some((ci, _))) if bi == ci => out.agreeing += 1,
                        (Some((bi, bs)), Some((ci, cs))) => note(
                            row,
                            format!(
                                "top-1 class {ci} ({}) instead of {bi} ({})",
                                num(cs),
                                num(bs)
                            ),
                            &mut out.first,
                        ),
                        _ => note(row, "no score that is a number".to_owned(), &mut out.first),
                    }
                } else {
                    let (bx, cx) = (br[0], cr[0]);
                    if bx.is_finite() {
                        out.scores[0].push(bx);
                    }
                    if cx.is_finite() {
                        out.scores[1].push(cx);
                    }
                    if tol.close(bx, cx) {
                        out.agreeing += 1;
                    } else {
                        note(
                            row,
                            format!("{} instead of {}", num(cx), num(bx)),
                            &mut out.first,
                        );
                    }
                }
            }
        }
        (bd, cd) => {
            let chunks = |d: &Data| -> Vec<String> {
                match d {
                    Data::Int(v) => v.chunks(width.max(1)).map(short).collect(),
                    Data::UInt(v) => v.chunks(width.max(1)).map(short).collect(),
                    Data::Bool(v) => v.chunks(width.max(1)).map(short).collect(),
                    Data::Str(v) => v.chunks(width.max(1)).map(short).collect(),
                    Data::Maps { maps, .. } => maps.iter().map(|m| format!("{m:?}")).collect(),
                    Data::Float(_) => Vec::new(),
                }
            };
            for (row, (br, cr)) in chunks(bd).into_iter().zip(chunks(cd)).enumerate() {
                if br == cr {
                    out.agreeing += 1;
                } else {
                    note(row, format!("{cr} instead of {br}"), &mut out.first);
                }
            }
        }
    }
    out
}

/// Whether two JSON values are the same (numbers within the tolerance).
fn json_close(b: &Value, c: &Value, tol: Tolerance) -> bool {
    match (b, c) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => tol.close(x, y),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_close(x, y, tol))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_close(v, w, tol)))
        }
        _ => b == c,
    }
}

/// Compares the two answers of a pair: per v2 output (the ones asked for, or all the
/// baseline's), or the whole body.
pub(crate) fn compare_answers(
    b: &[u8],
    c: &[u8],
    wanted: &[String],
    tol: Tolerance,
) -> Vec<(String, OutputComparison)> {
    let whole = |agree: bool, first: Option<String>| {
        vec![(
            "body".to_owned(),
            OutputComparison {
                rows: 1,
                agreeing: usize::from(agree),
                first: if agree { None } else { first },
                scores: [Vec::new(), Vec::new()],
            },
        )]
    };
    let (Ok(bj), cj) = (
        serde_json::from_slice::<Value>(b),
        serde_json::from_slice::<Value>(c),
    ) else {
        return whole(b == c, Some("the bodies differ".to_owned()));
    };
    let Some(b_outputs) = bj
        .get("outputs")
        .and_then(|_| modelci_v2::codec::response::parse_outputs(&bj).ok())
    else {
        return match cj {
            Ok(cj) => whole(
                json_close(&bj, &cj, tol),
                Some("the JSON bodies differ".to_owned()),
            ),
            Err(_) => whole(false, Some("the canary's answer is not JSON".to_owned())),
        };
    };
    let c_outputs = match cj
        .map_err(|e| e.to_string())
        .and_then(|v| modelci_v2::codec::response::parse_outputs(&v))
    {
        Ok(o) => o,
        Err(e) => {
            return names(&b_outputs, wanted)
                .into_iter()
                .map(|(name, t)| {
                    let rows = t.map_or(1, |t| rows_of(t, elements(&t.data)));
                    let first = Some(format!("the canary's answer is not a v2 answer: {e}"));
                    (
                        name,
                        OutputComparison {
                            rows,
                            first,
                            ..OutputComparison::default()
                        },
                    )
                })
                .collect();
        }
    };
    names(&b_outputs, wanted)
        .into_iter()
        .map(|(name, bt)| {
            let ct = c_outputs.iter().find(|t| t.name == name);
            let cmp = match (bt, ct) {
                (Some(bt), Some(ct)) => compare_tensors(bt, ct, tol),
                (Some(bt), None) => OutputComparison {
                    rows: rows_of(bt, elements(&bt.data)),
                    first: Some(format!("the canary's answer has no output `{name}`")),
                    ..OutputComparison::default()
                },
                (None, _) => OutputComparison {
                    rows: 1,
                    first: Some(format!("the baseline's answer has no output `{name}`")),
                    ..OutputComparison::default()
                },
            };
            (name, cmp)
        })
        .collect()
}

/// The outputs compared: those asked for (found or not), or all the baseline's.
fn names<'a>(outputs: &'a [Tensor], wanted: &[String]) -> Vec<(String, Option<&'a Tensor>)> {
    if wanted.is_empty() {
        outputs.iter().map(|t| (t.name.clone(), Some(t))).collect()
    } else {
        wanted
            .iter()
            .map(|w| (w.clone(), outputs.iter().find(|t| t.name == *w)))
            .collect()
    }
}

/// Sends one request and reads its answer.
async fn send(
    client: &reqwest::Client,
    r: &RequestTemplate,
    timeout: std::time::Duration,
) -> Answer {
    let deadline = modelci_net::Deadline::after(timeout);
    let started = Instant::now();
    let mut request = client
        .request(r.method.clone(), r.url.clone())
        .headers(r.headers.clone());
    if !r.body.is_empty() {
        request = request.body(r.body.clone());
    }
    let response = match request.send().await {
        Ok(resp) => resp,
        Err(e) if e.is_timeout() => {
            return Answer::Failed(format!("no answer within {} s", num(timeout.as_secs_f64())));
        }
        Err(e) => return Answer::Failed(modelci_net::innermost(&e)),
    };
    let status = response.status().as_u16();
    let body = match modelci_net::read_capped(response, BODY_CAP, deadline).await {
        Ok(b) if b.truncated => {
            return Answer::Failed(format!(
                "HTTP {status}: the answer is over {} MiB",
                BODY_CAP >> 20
            ));
        }
        Ok(b) => b.bytes,
        Err(e) => return Answer::Failed(format!("HTTP {status}: {e}")),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 400 {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        return Answer::Failed(if text.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {text}")
        });
    }
    Answer::Ok { latency_ms, body }
}

fn record(b: Answer, c: Answer, wanted: &[String], tol: Tolerance) -> Record {
    let mut r = Record::default();
    let mut bodies: [Option<Vec<u8>>; 2] = [None, None];
    for (k, a) in [b, c].into_iter().enumerate() {
        match a {
            Answer::Ok { latency_ms, body } => {
                r.latency[k] = Some(latency_ms);
                bodies[k] = Some(body);
            }
            Answer::Failed(why) => r.error[k] = Some(why),
        }
    }
    if let [Some(b), Some(c)] = &bodies {
        r.outputs = compare_answers(b, c, wanted, tol);
    }
    r
}

impl ShadowCheck {
    /// Sends the warm-up and the measured pairs, `concurrency` at a time.
    fn gather(&self, cancel: &Arc<AtomicBool>) -> Result<Gathered, String> {
        let spec = &self.spec;
        if self.pairs.is_empty() {
            return Err("there is no request to send".to_owned());
        }
        let client = modelci_net::ClientPolicy::new(spec.timeout)
            .build()
            .map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let samples = self.samples();
        let total = spec.warmup + samples;
        let next = Arc::new(AtomicUsize::new(0));
        let records = Arc::new(Mutex::new(Vec::with_capacity(samples)));
        let tol = Tolerance {
            rtol: spec.rtol,
            atol: spec.atol,
        };
        let wanted = Arc::new(spec.outputs.clone());
        let (warmup, timeout) = (spec.warmup, spec.timeout);
        let started = Instant::now();
        runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..spec.concurrency.min(total) {
                let client = client.clone();
                let next = Arc::clone(&next);
                let records = Arc::clone(&records);
                let pairs = Arc::clone(&self.pairs);
                let wanted = Arc::clone(&wanted);
                let cancel = Arc::clone(cancel);
                tasks.spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total || cancel.load(Ordering::Relaxed) {
                            break;
                        }
                        let (b, c) = &pairs[i % pairs.len()];
                        let (ba, ca) =
                            tokio::join!(send(&client, b, timeout), send(&client, c, timeout));
                        if i < warmup {
                            continue;
                        }
                        let record = record(ba, ca, &wanted, tol);
                        if let Ok(mut r) = records.lock() {
                            r.push((i - warmup, b.name.clone(), record));
                        }
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
        });
        let mut records =
            std::mem::take(&mut *records.lock().map_err(|_| "a sender panicked".to_owned())?);
        records.sort_by_key(|(i, _, _)| *i);
        Ok(Gathered {
            records,
            cancelled: cancel.load(Ordering::Relaxed),
            elapsed_s: started.elapsed().as_secs_f64(),
        })
    }
}

/// Every measured pair, in order: (index, request name, record).
struct Gathered {
    records: Vec<(usize, String, Record)>,
    cancelled: bool,
    elapsed_s: f64,
}

/// A metric of the comparison, with what its case says.
struct Judged {
    result: MetricResult,
    /// The figures, in a sentence.
    figures: String,
    /// Why it is worse (None: it is not).
    worse: Option<String>,
    properties: Vec<(&'static str, String)>,
}

fn metric(name: &str, kind: &str, spec: &ShadowSuite) -> Metric {
    Metric {
        name: name.to_owned(),
        query: None,
        column: name.to_owned(),
        direction: if kind == "agreement" {
            Direction::Decrease
        } else {
            Direction::Increase
        },
        tolerance: 0.0,
        tolerance_abs: 0.0,
        critical: spec.critical.iter().any(|c| c == kind),
        nodata: NoData::Ignore,
        group: group_of(kind).to_owned(),
    }
}

fn side(values: &[f64]) -> Side {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    Side {
        count: n,
        dropped: values.len() - n,
        median: match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        },
        mean: if n == 0 {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / n as f64
        },
    }
}

/// A result without the rank statistics (for the metrics judged by a threshold).
fn plain(
    metric: Metric,
    class: Class,
    bad: bool,
    b: Side,
    c: Side,
    reason: Option<String>,
) -> MetricResult {
    MetricResult {
        metric,
        class,
        bad,
        baseline: b,
        canary: c,
        u: None,
        p_value: None,
        shift: None,
        relative: None,
        allowed: 0.0,
        reason,
    }
}

fn percent(x: f64) -> String {
    format!("{}%", num(x * 100.0))
}

/// Wilson's score interval of a share (at `z`).
fn wilson(successes: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let (k, n) = (successes as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let center = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((center - half).max(0.0), (center + half).min(1.0))
}

fn judge_errors(g: &Gathered, spec: &ShadowSuite, settings: &Settings) -> Judged {
    let m = metric("errors", "errors", spec);
    let n = g.records.len();
    let indicators = |k: usize| -> Vec<f64> {
        g.records
            .iter()
            .map(|(_, _, r)| if r.error[k].is_some() { 1.0 } else { 0.0 })
            .collect()
    };
    let (bi, ci) = (indicators(0), indicators(1));
    let count = |v: &[f64]| v.iter().filter(|x| **x > 0.0).count();
    let (be, ce) = (count(&bi), count(&ci));
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let rate = |e: usize| if n == 0 { 0.0 } else { e as f64 / n as f64 };
    let (br, cr) = (rate(be), rate(ce));
    let mut properties = vec![
        ("baseline_errors", be.to_string()),
        ("canary_errors", ce.to_string()),
        ("pairs", n.to_string()),
        ("baseline_error_rate", num(br)),
        ("canary_error_rate", num(cr)),
        ("max_error_increase", num(spec.max_error_increase)),
    ];
    let first = |k: usize| {
        g.records
            .iter()
            .find_map(|(_, name, r)| r.error[k].as_ref().map(|e| format!("`{name}`: {e}")))
    };
    let mut figures = format!(
        "canary {ce} of {n} failed ({}), baseline {be} ({})",
        percent(cr),
        percent(br)
    );
    for (k, who) in [(1, "canary"), (0, "baseline")] {
        if let Some(f) = first(k) {
            let _ = write!(figures, "; first {who} error: {f}");
        }
    }
    if n < settings.min_samples {
        let why = format!(
            "too few pairs: {n} (at least {} to judge)",
            settings.min_samples
        );
        let mut result = plain(m, Class::NoData, false, side(&bi), side(&ci), Some(why));
        result.metric.nodata = NoData::Inconclusive;
        return Judged {
            result,
            figures,
            worse: None,
            properties,
        };
    }
    let p = if be == ce && (be == 0 || be == n) {
        1.0
    } else {
        rank::mann_whitney_u(&ci, &bi, Alternative::TwoSided).map_or(1.0, |t| t.p_value)
    };
    let significant = p < 1.0 - settings.confidence;
    let shift = cr - br;
    properties.push(("p_value", format!("{p:e}")));
    let _ = write!(figures, "; p = {}", crate::pvalue(p));
    let class = if significant && shift > spec.max_error_increase {
        Class::High
    } else if significant && shift < -spec.max_error_increase {
        Class::Low
    } else {
        Class::Pass
    };
    let bad = class == Class::High;
    let mut result = plain(m, class, bad, side(&bi), side(&ci), None);
    result.p_value = Some(p);
    Judged {
        worse: bad.then(|| {
            format!(
                "High: {figures}: the canary fails more often (a rise over {} is not tolerated)",
                percent(spec.max_error_increase)
            )
        }),
        result,
        figures,
        properties,
    }
}

fn judge_latency(g: &Gathered, spec: &ShadowSuite, settings: &Settings) -> MetricResult {
    let mut m = metric("latency", "latency", spec);
    m.column = "latency_ms".to_owned();
    m.tolerance = spec.latency_tolerance;
    m.tolerance_abs = spec.latency_tolerance_ms;
    let lat = |k: usize| -> Vec<f64> {
        g.records
            .iter()
            .filter_map(|(_, _, r)| r.latency[k])
            .collect()
    };
    let samples = Samples {
        baseline: lat(0),
        canary: lat(1),
    };
    crate::judge::judge_metric(&m, Ok(&samples), settings)
}

/// One output over every pair: its name, the comparisons summed, the disagreements shown
/// (request name, what differed).
type Merged = (String, OutputComparison, Vec<(String, String)>);

/// Agreement and drift of each output.
fn judge_outputs(g: &Gathered, spec: &ShadowSuite, settings: &Settings) -> Vec<Judged> {
    // Outputs in first-seen order.
    let mut merged: Vec<Merged> = Vec::new();
    for (_, name, r) in &g.records {
        for (out, cmp) in &r.outputs {
            let at = match merged.iter().position(|(o, _, _)| o == out) {
                Some(i) => i,
                None => {
                    merged.push((out.clone(), OutputComparison::default(), Vec::new()));
                    merged.len() - 1
                }
            };
            let (_, total, shown) = &mut merged[at];
            total.rows += cmp.rows;
            total.agreeing += cmp.agreeing;
            total.scores[0].extend_from_slice(&cmp.scores[0]);
            total.scores[1].extend_from_slice(&cmp.scores[1]);
            if let Some(f) = &cmp.first
                && shown.len() < SHOWN
                && !shown.iter().any(|(n, _)| n == name)
            {
                shown.push((name.clone(), f.clone()));
            }
        }
    }
    if merged.is_empty() {
        // No pair both sides answered: agreement has nothing to judge.
        merged.push(("body".to_owned(), OutputComparison::default(), Vec::new()));
    }
    let single = merged.len() == 1;
    let mut out = Vec::new();
    for (output, total, shown) in merged {
        let label = |kind: &str| {
            if single {
                kind.to_owned()
            } else {
                format!("{kind}.{output}")
            }
        };
        // Agreement.
        let m = metric(&label("agreement"), "agreement", spec);
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let share = if total.rows == 0 {
            f64::NAN
        } else {
            total.agreeing as f64 / total.rows as f64
        };
        let z = rank::upper_quantile((1.0 - settings.confidence) / 2.0);
        let (lo, hi) = wilson(total.agreeing, total.rows, z);
        let mut figures = format!(
            "output `{output}`: {} of {} rows agree ({}; {}% interval [{}, {}]), at least {} wanted",
            total.agreeing,
            total.rows,
            percent(share),
            num(settings.confidence * 100.0),
            percent(lo),
            percent(hi),
            percent(spec.min_agreement)
        );
        if !shown.is_empty() {
            let list = shown
                .iter()
                .map(|(n, f)| format!("`{n}` {f}"))
                .collect::<Vec<_>>()
                .join("; ");
            let _ = write!(figures, "; disagreements: {list}");
        }
        let properties = vec![
            ("output", output.clone()),
            ("rows", total.rows.to_string()),
            ("agreeing", total.agreeing.to_string()),
            ("agreement", num(share)),
            ("agreement_low", num(lo)),
            ("agreement_high", num(hi)),
            ("min_agreement", num(spec.min_agreement)),
        ];
        let empty = side(&[]);
        let (class, reason) = if total.rows < settings.min_samples {
            (
                Class::NoData,
                Some(format!(
                    "too few rows compared: {} (at least {})",
                    total.rows, settings.min_samples
                )),
            )
        } else if share < spec.min_agreement {
            (Class::Low, None)
        } else {
            (Class::Pass, None)
        };
        let bad = class == Class::Low;
        out.push(Judged {
            worse: bad.then(|| format!("Low: {figures}: the canary's predictions differ")),
            result: plain(m, class, bad, empty, empty, reason),
            figures,
            properties,
        });
        // Drift, for outputs with scores.
        if total.scores[0].is_empty() && total.scores[1].is_empty() {
            continue;
        }
        let m = metric(&label("drift"), "drift", spec);
        let (bs, cs) = (&total.scores[0], &total.scores[1]);
        let (b, c) = (side(bs), side(cs));
        let psi = rank::population_stability_index(bs, cs, spec.psi_bins);
        let mut properties = vec![
            ("output", output.clone()),
            ("max_psi", num(spec.max_psi)),
            ("bins", spec.psi_bins.to_string()),
            ("baseline_count", b.count.to_string()),
            ("canary_count", c.count.to_string()),
        ];
        if b.count > 0 && c.count > 0 {
            properties.push(("baseline_score_mean", num(b.mean)));
            properties.push(("canary_score_mean", num(c.mean)));
        }
        let figures = match psi {
            Some(p) => {
                properties.push(("psi", num(p)));
                format!(
                    "output `{output}`: stability index {} over {} bins (at most {}); mean score {} vs baseline {}",
                    num(p),
                    spec.psi_bins,
                    num(spec.max_psi),
                    num(c.mean),
                    num(b.mean)
                )
            }
            None => format!("output `{output}`: no stability index (a side has no finite score)"),
        };
        let (class, reason) = match psi {
            _ if b.count < settings.min_samples || c.count < settings.min_samples => (
                Class::NoData,
                Some(format!(
                    "too few scores: baseline {}, canary {} (at least {} on each side)",
                    b.count, c.count, settings.min_samples
                )),
            ),
            Some(p) if p > spec.max_psi => (Class::High, None),
            Some(_) => (Class::Pass, None),
            None => (Class::NoData, Some("a side has no finite score".to_owned())),
        };
        let bad = class == Class::High;
        out.push(Judged {
            worse: bad.then(|| format!("High: {figures}: the canary's scores drifted")),
            result: plain(m, class, bad, b, c, reason),
            figures,
            properties,
        });
    }
    out
}

impl ShadowCheck {
    fn rules(&self) -> Rules {
        Rules {
            confidence: self.spec.confidence,
            pass_score: self.spec.pass_score,
            marginal_score: self.spec.marginal_score,
            marginal_passes: self.spec.marginal_passes,
            aa: false,
        }
    }

    /// Judges the gathered pairs: the judgement and one case per metric, then the verdict.
    fn judge(&self, g: &Gathered) -> (Judgement, Vec<Case>) {
        let spec = &self.spec;
        let settings = Settings {
            confidence: spec.confidence,
            pass_score: spec.pass_score,
            marginal_score: spec.marginal_score,
            min_samples: spec.min_samples,
        };
        let latency = judge_latency(g, spec, &settings);
        let mut others = vec![judge_errors(g, spec, &settings)];
        others.extend(judge_outputs(g, spec, &settings));
        let results: Vec<MetricResult> = std::iter::once(latency.clone())
            .chain(others.iter().map(|j| j.result.clone()))
            .collect();
        let judgement = crate::judge::score(results, &spec.groups, &settings);
        let rules = self.rules();
        let verdict_passes = passes(judgement.verdict, spec.marginal_passes);
        let mut cases =
            vec![metric_case(&latency, verdict_passes, &rules, None).with_property("unit", "ms")];
        for j in others {
            let name = format!("metric {}", j.result.metric.name);
            let mut case = match j.result.class {
                Class::NoData if j.result.metric.nodata == NoData::Inconclusive => Case::errored(
                    &name,
                    format!(
                        "no data: {}; {}",
                        j.result.reason.clone().unwrap_or_default(),
                        j.figures
                    ),
                ),
                Class::NoData => Case::skipped(
                    &name,
                    format!(
                        "no data: {}; left out of the score",
                        j.result.reason.clone().unwrap_or_default()
                    ),
                ),
                _ => judged_case(
                    &name,
                    format!("{}: {}", j.result.class.as_str(), j.figures),
                    j.worse,
                    j.result.metric.critical,
                    verdict_passes,
                ),
            };
            case = case
                .with_property("class", j.result.class.as_str())
                .with_property("group", j.result.metric.group.clone())
                .with_property("critical", j.result.metric.critical.to_string());
            for (k, v) in j.properties {
                case = case.with_property(k, v);
            }
            cases.push(case);
        }
        cases.push(verdict_case(&judgement, &rules));
        (judgement, cases)
    }
}

impl Suite for ShadowCheck {
    fn plan(&self) -> Plan {
        Plan::Whole
    }

    fn run(&self, _indices: &[usize], ctx: &Context) -> Vec<Case> {
        let started = Instant::now();
        let mut out = match self.gather(&ctx.cancel.flag()) {
            Err(m) => vec![Case::errored("verdict", m)],
            Ok(g) if g.cancelled => vec![Case::errored(
                "verdict",
                format!(
                    "cancelled after {} of {} pairs: not judged",
                    g.records.len(),
                    self.samples()
                ),
            )],
            Ok(g) => {
                if let Ok(mut p) = self.properties.lock() {
                    p.insert("pairs", g.records.len().to_string());
                    p.insert("warmup", self.spec.warmup.to_string());
                    p.insert("concurrency", self.spec.concurrency.to_string());
                    p.insert("seconds", num(g.elapsed_s));
                }
                self.judge(&g).1
            }
        };
        for c in &mut out {
            c.location = Some(self.location.clone());
            // Errors quote the servers' answers, which may echo the request's secrets.
            c.message = c.message.take().map(|m| self.secrets.hide(&m));
            c.detail = c.detail.take().map(|d| self.secrets.hide(&d));
        }
        if let Some(last) = out.last_mut() {
            last.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        }
        out
    }

    fn properties(&self) -> Properties {
        self.properties
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelci_tensor::DType;

    const TOL: Tolerance = Tolerance {
        rtol: 0.01,
        atol: 1e-6,
    };

    fn scores(name: &str, rows: &[[f64; 3]]) -> Tensor {
        Tensor::new(
            name,
            DType::F32,
            vec![rows.len() as i64, 3],
            Data::Float(rows.iter().flatten().copied().collect()),
        )
        .expect("tensor")
    }

    #[test]
    fn class_scores_agree_on_their_top_class_and_give_the_top_score() {
        let b = scores("p", &[[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.3, 0.3, 0.4]]);
        let c = scores("p", &[[0.9, 0.05, 0.05], [0.1, 0.4, 0.5], [0.2, 0.2, 0.6]]);
        let cmp = compare_tensors(&b, &c, TOL);
        assert_eq!((cmp.rows, cmp.agreeing), (3, 2));
        assert_eq!(
            cmp.first.as_deref(),
            Some("row 1: top-1 class 2 (0.5) instead of 1 (0.5)")
        );
        assert_eq!(cmp.scores[0], [0.7, 0.5, 0.4]);
        assert_eq!(cmp.scores[1], [0.9, 0.5, 0.6]);
    }

    #[test]
    fn single_values_agree_within_the_tolerance_and_labels_exactly() {
        let t = |v: Vec<f64>| {
            Tensor::new("y", DType::F64, vec![v.len() as i64], Data::Float(v)).expect("tensor")
        };
        let cmp = compare_tensors(&t(vec![100.0, 1.0, 0.0]), &t(vec![100.9, 1.02, 0.0]), TOL);
        assert_eq!((cmp.rows, cmp.agreeing), (3, 2));
        assert_eq!(cmp.first.as_deref(), Some("row 1: 1.02 instead of 1"));
        let l = |v: Vec<i64>| {
            Tensor::new("label", DType::I64, vec![v.len() as i64], Data::Int(v)).expect("tensor")
        };
        let cmp = compare_tensors(&l(vec![0, 1, 2, 2]), &l(vec![0, 2, 2, 2]), TOL);
        assert_eq!((cmp.rows, cmp.agreeing), (4, 3));
        assert!(cmp.scores[0].is_empty(), "labels have no scores");
    }

    #[test]
    fn a_different_shape_disagrees_on_every_row() {
        let b = scores("p", &[[0.7, 0.2, 0.1], [0.1, 0.5, 0.4]]);
        let c = scores("p", &[[0.7, 0.2, 0.1]]);
        let cmp = compare_tensors(&b, &c, TOL);
        assert_eq!((cmp.rows, cmp.agreeing), (2, 0));
        assert!(
            cmp.first.as_deref().unwrap_or_default().contains("[1, 3]"),
            "{cmp:?}"
        );
    }

    #[test]
    fn v2_answers_are_compared_per_output_and_a_missing_one_disagrees() {
        let b = br#"{"model_name":"m","outputs":[
            {"name":"label","datatype":"INT64","shape":[2],"data":[0,1]},
            {"name":"p","datatype":"FP32","shape":[2,2],"data":[0.9,0.1,0.2,0.8]}]}"#;
        let c = br#"{"model_name":"m","outputs":[
            {"name":"label","datatype":"INT64","shape":[2],"data":[0,0]}]}"#;
        let out = compare_answers(b, c, &[], TOL);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, "label");
        assert_eq!((out[0].1.rows, out[0].1.agreeing), (2, 1));
        assert_eq!(out[1].0, "p");
        assert_eq!((out[1].1.rows, out[1].1.agreeing), (2, 0));
        assert_eq!(
            out[1].1.first.as_deref(),
            Some("the canary's answer has no output `p`")
        );
        // Only the outputs asked for.
        let out = compare_answers(b, c, &["label".to_owned()], TOL);
        assert_eq!(out.len(), 1);
        // A canary that does not answer in v2 disagrees on every row.
        let out = compare_answers(b, br#"{"error":"x"}"#, &[], TOL);
        assert!(
            out.iter().all(|(_, o)| o.agreeing == 0 && o.rows == 2),
            "{out:?}"
        );
    }

    #[test]
    fn other_answers_are_compared_whole() {
        let same = compare_answers(
            br#"{"score": 0.5, "tags": ["a"]}"#,
            br#"{"tags":["a"],"score":0.501}"#,
            &[],
            TOL,
        );
        assert_eq!((same[0].1.rows, same[0].1.agreeing), (1, 1));
        let differ = compare_answers(br#"{"score": 0.5}"#, br#"{"score": 0.6}"#, &[], TOL);
        assert_eq!(differ[0].1.agreeing, 0);
        let text = compare_answers(b"ok", b"ok", &[], TOL);
        assert_eq!(text[0].1.agreeing, 1);
        let text = compare_answers(b"ok", b"no", &[], TOL);
        assert_eq!(text[0].1.agreeing, 0);
    }

    #[test]
    fn wilson_interval_matches_the_textbook() {
        // 942 of 1000 at 95%, as SciPy 1.17 gives it:
        // binomtest(942, 1000).proportion_ci(0.95, "wilson").
        let (lo, hi) = wilson(942, 1000, rank::upper_quantile(0.025));
        assert!((lo - 0.925_750_423_733_767_5).abs() < 1e-12, "{lo}");
        assert!((hi - 0.954_866_721_765_001_8).abs() < 1e-12, "{hi}");
        assert_eq!(wilson(0, 0, 1.96), (0.0, 1.0));
    }

    #[test]
    fn nan_never_wins_the_top_class() {
        assert_eq!(top1(&[f64::NAN, 0.2, 0.5]), Some((2, 0.5)));
        assert_eq!(top1(&[0.5, 0.5]), Some((0, 0.5)));
        assert_eq!(top1(&[f64::NAN]), None);
    }
}
