//! The oracles: each reads what a scenario observed and says whether one resilience pattern did
//! its job, with the figure it measured and, when it did not, what went wrong.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use modelci_load::{ErrorKind, TraceEntry};

use crate::observe::{DepRequest, Observed, max_overlap, percentile_ms, show, show_ms};

/// One oracle's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The oracle (`timeout`, `retries`, ...).
    pub oracle: &'static str,
    /// Whether the pattern did its job.
    pub passed: bool,
    /// What was measured, and what went wrong when it failed.
    pub message: String,
    /// The measured figures, for the report's properties.
    pub figures: Vec<(String, String)>,
}

impl Judgement {
    fn new(oracle: &'static str, problems: Vec<String>, fine: String) -> Judgement {
        Judgement {
            oracle,
            passed: problems.is_empty(),
            message: if problems.is_empty() {
                fine
            } else {
                problems.join("; ")
            },
            figures: Vec::new(),
        }
    }

    fn figure(mut self, key: &str, value: impl ToString) -> Judgement {
        self.figures.push((key.to_owned(), value.to_string()));
        self
    }
}

/// The fallback marker: a response header and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// Lowercase header name.
    pub header: String,
    /// The value (compared without case).
    pub value: String,
}

impl Default for Marker {
    fn default() -> Marker {
        Marker {
            header: "x-model-fallback".to_owned(),
            value: "true".to_owned(),
        }
    }
}

impl Marker {
    /// Reads `Header-Name: value`.
    ///
    /// # Errors
    /// Text without a colon or a name.
    pub fn parse(text: &str) -> Result<Marker, String> {
        let (h, v) = text
            .split_once(':')
            .filter(|(h, _)| !h.trim().is_empty())
            .ok_or_else(|| format!("the fallback marker `{text}` is not `Header-Name: value`"))?;
        Ok(Marker {
            header: h.trim().to_ascii_lowercase(),
            value: v.trim().to_owned(),
        })
    }

    /// Whether a client request's answer carries it.
    pub fn on(&self, e: &TraceEntry) -> bool {
        e.header(&self.header)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(&self.value))
    }

    /// As written.
    pub fn shown(&self) -> String {
        format!("{}: {}", self.header, self.value)
    }
}

fn ok(e: &TraceEntry) -> bool {
    e.error.is_none()
}

/// From the client's send to the end of its answer.
fn took(e: &TraceEntry) -> Duration {
    e.ended.saturating_duration_since(e.sent)
}

fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Settings of the timeout oracle.
#[derive(Debug, Clone)]
pub struct TimeoutSpec {
    pub deadline: Duration,
    pub margin: Duration,
    pub max_in_flight: Option<usize>,
}

/// No client request outlives the deadline plus the margin while the fault lasts, and requests
/// do not pile up.
pub fn timeout(o: &Observed, s: &TimeoutSpec) -> Judgement {
    let t = &o.timeline;
    let limit = s.deadline + s.margin;
    let during: Vec<&TraceEntry> = o.due_in(t.fault_start, t.fault_end).collect();
    let over: Vec<&&TraceEntry> = during.iter().filter(|e| took(e) > limit).collect();
    let longest = during.iter().map(|e| took(e)).max().unwrap_or_default();
    let timed_out = over
        .iter()
        .filter(|e| e.error == Some(ErrorKind::Timeout))
        .count();
    let bound = s
        .max_in_flight
        .unwrap_or_else(|| (o.rate * limit.as_secs_f64() * 1.5).ceil() as usize + 2);
    let in_flight = max_overlap(o.due_in(t.fault_start, t.end).map(|e| (e.sent, e.ended)));
    let mut problems = Vec::new();
    if during.is_empty() {
        problems.push("no request was sent while the fault lasted".to_owned());
    }
    if !over.is_empty() {
        problems.push(format!(
            "{} of {} requests during the fault outlived the deadline {} + margin {}: the longest took {}{}",
            over.len(),
            during.len(),
            show(s.deadline),
            show(s.margin),
            show(longest),
            if timed_out > 0 {
                format!(" ({timed_out} reached the client's own timeout without any answer)")
            } else {
                String::new()
            }
        ));
    }
    if in_flight > bound {
        problems.push(format!(
            "{in_flight} requests were in flight at once (at most {bound}): requests piled up behind the fault"
        ));
    }
    Judgement::new(
        "timeout",
        problems,
        format!(
            "all {} requests during the fault were answered within {} (deadline {} + margin {}; the longest took {}); at most {in_flight} in flight (bound {bound})",
            during.len(),
            show(limit),
            show(s.deadline),
            show(s.margin),
            show(longest)
        ),
    )
    .figure("longest_ms", format!("{:.1}", longest.as_secs_f64() * 1000.0))
    .figure("over_limit", over.len())
    .figure("max_in_flight", in_flight)
}

/// Settings of the retries oracle.
#[derive(Debug, Clone)]
pub struct RetriesSpec {
    pub max_attempts: usize,
    pub min_backoff: Duration,
    pub growth: f64,
    pub jitter: f64,
    pub non_idempotent: Vec<String>,
    pub deadline: Option<Duration>,
}

/// The dependency's requests grouped by client request (sequence number), in arrival order.
fn attempts_by_request<'a>(
    o: &'a Observed,
    dep: &'a [DepRequest],
) -> BTreeMap<u64, (&'a TraceEntry, Vec<&'a DepRequest>)> {
    let mut by: BTreeMap<u64, (&TraceEntry, Vec<&DepRequest>)> = BTreeMap::new();
    for d in dep {
        if let Some(c) = o.client_of(d) {
            by.entry(c.seq).or_insert_with(|| (c, Vec::new())).1.push(d);
        }
    }
    for (_, list) in by.values_mut() {
        list.sort_by_key(|d| d.started);
    }
    by
}

/// The waits between attempts: from one attempt's end (its start while it was held) to the
/// next one's start.
fn gaps(attempts: &[&DepRequest]) -> Vec<Duration> {
    attempts
        .windows(2)
        .map(|w| {
            let from = w[0].finished.unwrap_or(w[0].started).min(w[1].started);
            w[1].started.saturating_duration_since(from)
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// Retries are bounded, spaced by growing jittered gaps, never for non-idempotent requests and
/// never after the deadline.
pub fn retries(o: &Observed, s: &RetriesSpec) -> Judgement {
    let Some(dep) = o.dependency.as_deref() else {
        return Judgement::new(
            "retries",
            vec!["no HTTP fault proxy watched the dependency: the retries oracle reads what it received (declare the proxy with `protocol = \"http\"`)".to_owned()],
            String::new(),
        );
    };
    if !dep.is_empty() && dep.iter().all(|d| o.client_of(d).is_none()) {
        return Judgement::new(
            "retries",
            vec![format!(
                "none of the {} requests the dependency received carried a client's X-Request-Id: the service must forward it to tell retries apart",
                dep.len()
            )],
            String::new(),
        );
    }
    let by = attempts_by_request(o, dep);
    let mut problems = Vec::new();
    let most = by.values().map(|(_, a)| a.len()).max().unwrap_or(0);
    let over: Vec<(&u64, usize)> = by
        .iter()
        .filter(|(_, (_, a))| a.len() > s.max_attempts)
        .map(|(k, (_, a))| (k, a.len()))
        .collect();
    if let Some((seq, n)) = over.first() {
        problems.push(format!(
            "{} client requests reached the dependency more than {} times (request {}-{seq}: {n} attempts)",
            over.len(),
            s.max_attempts,
            o.id_prefix
        ));
    }
    let retried: Vec<&(&TraceEntry, Vec<&DepRequest>)> =
        by.values().filter(|(_, a)| a.len() > 1).collect();
    let first_gaps: Vec<Duration> = retried
        .iter()
        .filter_map(|(_, a)| gaps(a).first().copied())
        .collect();
    let shortest = first_gaps.iter().min().copied();
    if s.max_attempts > 1 && retried.is_empty() {
        problems.push(
            "no request was retried during the scenario: the fault provoked no retry, or the service does not retry"
                .to_owned(),
        );
    }
    if let Some(short) = shortest
        && short < s.min_backoff
    {
        let n = first_gaps.iter().filter(|g| **g < s.min_backoff).count();
        problems.push(format!(
            "{n} first retries came sooner than {} after the failure (the shortest after {}): no backoff",
            show(s.min_backoff),
            show(short)
        ));
    }
    let ratios: Vec<f64> = retried
        .iter()
        .flat_map(|(_, a)| {
            gaps(a)
                .windows(2)
                .filter(|w| !w[0].is_zero())
                .map(|w| w[1].as_secs_f64() / w[0].as_secs_f64())
                .collect::<Vec<_>>()
        })
        .collect();
    let growth = median(ratios.clone());
    if let Some(g) = growth
        && g < s.growth
    {
        problems.push(format!(
            "the gaps between retries do not grow: the median ratio of a gap to the one before is {g:.2} (at least {:.2} expected for exponential backoff)",
            s.growth
        ));
    }
    let spread = if first_gaps.len() >= 5 {
        let v: Vec<f64> = first_gaps.iter().map(Duration::as_secs_f64).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        (mean > 0.0).then(|| var.sqrt() / mean)
    } else {
        None
    };
    if let Some(cv) = spread
        && cv < s.jitter
    {
        problems.push(format!(
            "the retries are in lock-step: first gaps vary by {:.1}% across {} requests (at least {:.1}% expected with jitter)",
            cv * 100.0,
            first_gaps.len(),
            s.jitter * 100.0
        ));
    }
    let non_idem: Vec<(u64, usize)> = by
        .values()
        .filter(|(c, a)| a.len() > 1 && s.non_idempotent.iter().any(|k| k == o.kind(c)))
        .map(|(c, a)| (c.seq, a.len()))
        .collect();
    if let Some((seq, n)) = non_idem.first() {
        problems.push(format!(
            "{} non-idempotent requests ({}) were retried (request {}-{seq}: {n} attempts)",
            non_idem.len(),
            s.non_idempotent.join(", "),
            o.id_prefix
        ));
    }
    if let Some(deadline) = s.deadline {
        let late: Vec<Duration> = by
            .values()
            .flat_map(|(c, a)| {
                a.iter()
                    .skip(1)
                    .map(|d| d.started.saturating_duration_since(c.sent))
                    .filter(|after| *after > deadline + Duration::from_millis(10))
                    .collect::<Vec<_>>()
            })
            .collect();
        if let Some(worst) = late.iter().max() {
            problems.push(format!(
                "{} retries started after the deadline {} had passed (the latest {} after the client's request)",
                late.len(),
                show(deadline),
                show(*worst)
            ));
        }
    }
    let fine = format!(
        "{} of {} requests were retried, at most {most} attempts each (bound {}); first retry after {} at the earliest; gaps grew {}; spread of first gaps {}",
        retried.len(),
        by.len(),
        s.max_attempts,
        shortest.map_or_else(|| "-".to_owned(), show),
        growth.map_or_else(
            || "(no request retried twice)".to_owned(),
            |g| format!("x{g:.2} (median)")
        ),
        spread.map_or_else(|| "(too few retries to tell)".to_owned(), pct)
    );
    Judgement::new("retries", problems, fine)
        .figure("retried", retried.len())
        .figure("max_attempts", most)
        .figure(
            "min_first_gap_ms",
            shortest.map_or_else(String::new, |d| format!("{:.1}", d.as_secs_f64() * 1000.0)),
        )
        .figure(
            "gap_growth",
            growth.map_or_else(String::new, |g| format!("{g:.2}")),
        )
}

/// Settings of the circuit breaker oracle.
#[derive(Debug, Clone)]
pub struct BreakerSpec {
    pub threshold: usize,
    pub cooldown: Duration,
    pub fail_fast: Duration,
    pub close_within: Duration,
    pub marker: Marker,
    /// The request kinds the fault takes down (empty: all).
    pub kinds: Vec<String>,
    /// The dependency's route the fault is on (its path prefix), if only one.
    pub route: Option<String>,
}

/// After the failure threshold the dependency stops receiving traffic, the service fails fast,
/// one probe at a time reaches the dependency, and the primary answers again after recovery.
pub fn circuit_breaker(o: &Observed, s: &BreakerSpec) -> Judgement {
    let t = &o.timeline;
    let Some(dep) = o.dependency.as_deref() else {
        return Judgement::new(
            "circuit_breaker",
            vec!["no HTTP fault proxy watched the dependency: the breaker oracle reads what it received (declare the proxy with `protocol = \"http\"`)".to_owned()],
            String::new(),
        );
    };
    let mut problems = Vec::new();
    let affected = |e: &TraceEntry| s.kinds.is_empty() || s.kinds.iter().any(|k| k == o.kind(e));
    let dep: Vec<DepRequest> = dep
        .iter()
        .filter(|d| {
            s.route
                .as_ref()
                .is_none_or(|r| d.path.starts_with(r.as_str()))
        })
        .filter(|d| o.client_of(d).is_none_or(&affected))
        .cloned()
        .collect();
    // The breaker opens when the service has seen `threshold` failures: as it answers the
    // client of the threshold-th failing request.
    let mut failing: Vec<Instant> = o
        .due_in(t.fault_start, t.fault_end)
        .filter(|e| affected(e))
        .filter(|e| !ok(e) || s.marker.on(e))
        .map(|e| e.ended)
        .collect();
    failing.sort();
    let Some(&opened) = failing.get(s.threshold.saturating_sub(1)) else {
        return Judgement::new(
            "circuit_breaker",
            vec![format!(
                "only {} requests failed during the fault: the fault must fail at least {} (the threshold) to test the breaker",
                failing.len(),
                s.threshold
            )],
            String::new(),
        );
    };
    // Requests already on their way when it opened may still arrive.
    let settle = opened + Duration::from_millis(50);
    let window = t.fault_end.saturating_duration_since(settle);
    let mut reached: Vec<&DepRequest> = dep
        .iter()
        .filter(|d| d.started >= settle && d.started < t.fault_end)
        .collect();
    reached.sort_by_key(|d| d.started);
    // Retries of one probe are one probe.
    let mut probes: Vec<Option<u64>> = Vec::new();
    for d in &reached {
        let id = o.client_of(d).map(|c| c.seq);
        if id.is_none() || !probes.contains(&id) {
            probes.push(id);
        }
    }
    let allowed = (window.as_secs_f64() / s.cooldown.as_secs_f64().max(1e-3)).floor() as usize + 1;
    if window > Duration::ZERO && probes.len() > allowed {
        problems.push(format!(
            "the dependency kept receiving traffic after the breaker should have opened: {} requests in the {} after the {}{} failure (at most {allowed}: one half-open probe per {} cooldown)",
            probes.len(),
            show(window),
            s.threshold,
            ordinal(s.threshold),
            show(s.cooldown)
        ));
    }
    let probe_ids: Vec<u64> = probes.iter().flatten().copied().collect();
    let fast: Vec<Duration> = o
        .due_in(settle, t.fault_end)
        .filter(|e| affected(e))
        .filter(|e| !probe_ids.contains(&e.seq))
        .map(took)
        .collect();
    let p95 = percentile_ms(&fast, 95.0);
    if let Some(p) = p95
        && p > s.fail_fast.as_secs_f64() * 1000.0
    {
        problems.push(format!(
            "the service did not fail fast while the breaker was open: p95 {} (at most {})",
            show_ms(p),
            show(s.fail_fast)
        ));
    }
    let probe_spans = reached.iter().map(|d| {
        let end = d.finished.unwrap_or(t.fault_end).max(d.started);
        (d.started, end)
    });
    let concurrent = if probe_ids.is_empty() {
        max_overlap(probe_spans)
    } else {
        // Attempts of one probe follow one another; count probes, not attempts.
        let mut spans: BTreeMap<Option<u64>, (Instant, Instant)> = BTreeMap::new();
        for d in &reached {
            let id = o.client_of(d).map(|c| c.seq);
            let end = d.finished.unwrap_or(t.fault_end).max(d.started);
            let e = spans.entry(id).or_insert((d.started, end));
            e.0 = e.0.min(d.started);
            e.1 = e.1.max(end);
        }
        max_overlap(spans.into_values())
    };
    if concurrent > 1 {
        problems.push(format!(
            "{concurrent} requests reached the dependency at once while the breaker should have been open or half-open (one probe at a time)"
        ));
    }
    let closed_after = o
        .due_in(t.fault_end, t.end)
        .filter(|e| affected(e))
        .find(|e| ok(e) && !s.marker.on(e))
        .map(|e| e.ended.saturating_duration_since(t.fault_end));
    match closed_after {
        None => problems.push(format!(
            "the primary never answered again after the fault ended ({} of traffic): the breaker did not close",
            show(t.end.saturating_duration_since(t.fault_end))
        )),
        Some(d) if d > s.close_within => problems.push(format!(
            "the primary answered again only {} after the fault ended (within {} expected)",
            show(d),
            show(s.close_within)
        )),
        Some(_) => {}
    }
    let fine = format!(
        "opened {} after the fault started (the {}{} failure); {} requests reached the dependency while open (at most {allowed}), never more than {concurrent} at once; answers while open p95 {}; closed {} after the fault ended",
        show_ms(t.ms_after_fault(opened).max(0.0)),
        s.threshold,
        ordinal(s.threshold),
        probes.len(),
        p95.map_or_else(|| "-".to_owned(), show_ms),
        closed_after.map_or_else(|| "-".to_owned(), show)
    );
    Judgement::new("circuit_breaker", problems, fine)
        .figure(
            "opened_after_ms",
            format!("{:.1}", t.ms_after_fault(opened)),
        )
        .figure("dependency_requests_while_open", probes.len())
        .figure(
            "p95_while_open_ms",
            p95.map_or_else(String::new, |p| format!("{p:.1}")),
        )
        .figure(
            "closed_after_ms",
            closed_after.map_or_else(String::new, |d| format!("{:.1}", d.as_secs_f64() * 1000.0)),
        )
}

fn ordinal(n: usize) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// Settings of the bulkhead oracle.
#[derive(Debug, Clone)]
pub struct BulkheadSpec {
    pub protected: Vec<String>,
    pub p95: Option<Duration>,
    pub error_rate: f64,
}

/// The protected request kinds keep their latency and error rate while the fault overloads
/// another.
pub fn bulkhead(o: &Observed, s: &BulkheadSpec) -> Judgement {
    let t = &o.timeline;
    let unknown: Vec<&String> = s
        .protected
        .iter()
        .filter(|k| !o.kinds.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Judgement::new(
            "bulkhead",
            vec![format!(
                "`bulkhead.protected` names {}, which the traffic does not send (its kinds: {})",
                unknown
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                o.kinds.join(", ")
            )],
            String::new(),
        );
    }
    let protected = |e: &&TraceEntry| s.protected.iter().any(|k| k == o.kind(e));
    let base: Vec<Duration> = o
        .due_in(t.start, t.fault_start)
        .filter(protected)
        .filter(|e| ok(e))
        .map(took)
        .collect();
    let base_p95 = percentile_ms(&base, 95.0);
    let bound_ms = s.p95.map_or_else(
        || base_p95.map(|b| (b * 2.0).max(b + 20.0)),
        |d| Some(d.as_secs_f64() * 1000.0),
    );
    let during: Vec<&TraceEntry> = o
        .due_in(t.fault_start, t.fault_end)
        .filter(protected)
        .collect();
    let failed = during.iter().filter(|e| !ok(e)).count();
    let err = rate(failed, during.len());
    let lat: Vec<Duration> = during.iter().map(|e| took(e)).collect();
    let p95 = percentile_ms(&lat, 95.0);
    let mut problems = Vec::new();
    let names = s.protected.join(", ");
    if during.is_empty() {
        problems.push(format!(
            "no `{names}` request was sent while the fault lasted"
        ));
    }
    if err > s.error_rate {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for e in during.iter().filter(|e| !ok(e)) {
            *kinds
                .entry(e.error.as_ref().map_or_else(String::new, ErrorKind::name))
                .or_default() += 1;
        }
        problems.push(format!(
            "{failed} of {} `{names}` requests failed while another model was overloaded ({}, at most {}): {}",
            during.len(),
            pct(err),
            pct(s.error_rate),
            kinds
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let (Some(p), Some(b)) = (p95, bound_ms)
        && p > b
    {
        problems.push(format!(
            "`{names}` slowed down while another model was overloaded: p95 {} (at most {}; {} before the fault)",
            show_ms(p),
            show_ms(b),
            base_p95.map_or_else(|| "-".to_owned(), show_ms)
        ));
    }
    let fine = format!(
        "`{names}` kept p95 {} (at most {}; {} before the fault) and error rate {} over {} requests while another model was overloaded",
        p95.map_or_else(|| "-".to_owned(), show_ms),
        bound_ms.map_or_else(|| "-".to_owned(), show_ms),
        base_p95.map_or_else(|| "-".to_owned(), show_ms),
        pct(err),
        during.len()
    );
    Judgement::new("bulkhead", problems, fine)
        .figure(
            "p95_ms",
            p95.map_or_else(String::new, |p| format!("{p:.1}")),
        )
        .figure(
            "baseline_p95_ms",
            base_p95.map_or_else(String::new, |p| format!("{p:.1}")),
        )
        .figure("error_rate", format!("{err:.4}"))
}

/// Checks one answer against the contract: `None` when it holds, else why not.
pub type ContractCheck = Box<dyn Fn(&TraceEntry) -> Option<String> + Send + Sync>;

/// Checks one answer against its golden case: `Some(true)` when it holds, `None` when the
/// request is not a golden case.
pub type QualityCheck = Box<dyn Fn(&TraceEntry) -> Option<bool> + Send + Sync>;

/// Settings of the fallback oracle.
pub struct FallbackSpec {
    pub marker: Marker,
    pub min_share: f64,
    pub settle: Duration,
    /// The request kinds the fault takes down (empty: all).
    pub kinds: Vec<String>,
    /// Checks one answer against the contract: `None` when it holds, else why not.
    pub contract: Option<ContractCheck>,
    /// Checks one answer against its golden case: `Some(true)` when it holds, `None` when the
    /// request is not a golden case.
    pub quality: Option<(f64, QualityCheck)>,
}

/// While the primary is down, answers are successful, carry the fallback marker, satisfy the
/// contract and meet the quality floor.
pub fn fallback(o: &Observed, s: &FallbackSpec) -> Judgement {
    let t = &o.timeline;
    let judged: Vec<&TraceEntry> = o
        .due_in(t.fault_start + s.settle, t.fault_end)
        .filter(|e| s.kinds.is_empty() || s.kinds.iter().any(|k| k == o.kind(e)))
        .collect();
    let marked: Vec<&&TraceEntry> = judged.iter().filter(|e| ok(e) && s.marker.on(e)).collect();
    let share = rate(marked.len(), judged.len());
    let mut problems = Vec::new();
    if judged.is_empty() {
        problems.push(format!(
            "no request was sent in the judged part of the fault window (from {} after it started)",
            show(s.settle)
        ));
    } else if share < s.min_share {
        let mut other: BTreeMap<String, usize> = BTreeMap::new();
        for e in judged.iter().filter(|e| !(ok(e) && s.marker.on(e))) {
            let what = match (&e.error, e.status) {
                (Some(ErrorKind::Status(st)), _) => format!("status {st}"),
                (Some(k), _) => k.name(),
                (None, _) => format!("answered without `{}`", s.marker.shown()),
            };
            *other.entry(what).or_default() += 1;
        }
        problems.push(format!(
            "{} of {} answers while the primary was down came from the fallback ({}, at least {} expected); the others: {}",
            marked.len(),
            judged.len(),
            pct(share),
            pct(s.min_share),
            other
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut broken = 0usize;
    let mut first_break = None;
    if let Some(check) = &s.contract {
        for e in &marked {
            if let Some(why) = check(e) {
                broken += 1;
                first_break.get_or_insert(why);
            }
        }
        if let Some(why) = &first_break {
            problems.push(format!(
                "{broken} fallback answers break the contract: {why}"
            ));
        }
    }
    let mut quality = None;
    if let Some((floor, check)) = &s.quality {
        let verdicts: Vec<bool> = marked.iter().filter_map(|e| check(e)).collect();
        let good = verdicts.iter().filter(|b| **b).count();
        let q = rate(good, verdicts.len());
        quality = Some(q);
        if verdicts.is_empty() {
            problems.push("no fallback answer was to a golden case: the quality floor needs `model_name` and `cases` traffic".to_owned());
        } else if q < *floor {
            problems.push(format!(
                "the fallback's answers agree with the golden outputs on {good} of {} cases ({}, floor {})",
                verdicts.len(),
                pct(q),
                pct(*floor)
            ));
        }
    }
    let fine = format!(
        "{} of {} answers while the primary was down came from the fallback ({}){}{}",
        marked.len(),
        judged.len(),
        pct(share),
        if s.contract.is_some() {
            ", all satisfy the contract"
        } else {
            ""
        },
        quality.map_or_else(String::new, |q| format!(
            ", top-1 agreement with the golden outputs {}",
            pct(q)
        ))
    );
    Judgement::new("fallback", problems, fine)
        .figure("fallback_share", format!("{share:.4}"))
        .figure("contract_violations", broken)
        .figure(
            "quality",
            quality.map_or_else(String::new, |q| format!("{q:.4}")),
        )
}

/// Settings of the recovery oracle.
#[derive(Debug, Clone)]
pub struct RecoverySpec {
    pub within: Duration,
    pub error_rate: f64,
    pub latency_factor: f64,
    /// Answers with the fallback marker are degraded: not yet recovered.
    pub marker: Marker,
}

/// After the fault, the error rate (failures and fallback answers) and p95 latency return to
/// the baseline's within the bound.
pub fn recovery(o: &Observed, s: &RecoverySpec) -> Judgement {
    let t = &o.timeline;
    let ok = |e: &TraceEntry| ok(e) && !s.marker.on(e);
    // The first tenth of the baseline warms connections up.
    let warm = t.start + t.fault_start.saturating_duration_since(t.start) / 10;
    let base: Vec<&TraceEntry> = o.due_in(warm, t.fault_start).collect();
    let base_err = rate(base.iter().filter(|e| !ok(e)).count(), base.len());
    let base_lat: Vec<Duration> = base.iter().filter(|e| ok(e)).map(|e| took(e)).collect();
    let base_p95 = percentile_ms(&base_lat, 95.0).unwrap_or(0.0);
    let err_bound = base_err + s.error_rate;
    let lat_bound = (base_p95 * s.latency_factor).max(base_p95 + 20.0);
    let after: Vec<&TraceEntry> = o.due_in(t.fault_end, t.end).collect();
    let holds = |from: usize| {
        let rest = &after[from..];
        let err = rate(rest.iter().filter(|e| !ok(e)).count(), rest.len());
        let lat: Vec<Duration> = rest.iter().map(|e| took(e)).collect();
        let p = percentile_ms(&lat, 95.0).unwrap_or(0.0);
        err <= err_bound && p <= lat_bound
    };
    // The earliest request from which everything after it is back to the baseline; the last
    // tenth of the after-window must hold in any case.
    let tail = after.len() - after.len() / 10;
    let recovered = (0..tail.max(1).min(after.len())).find(|&i| holds(i));
    let mut problems = Vec::new();
    if base.is_empty() {
        problems.push("no request was sent before the fault: there is no baseline".to_owned());
    }
    let took_to = recovered.map(|i| after[i].due.saturating_duration_since(t.fault_end));
    let rest = recovered.map_or(&after[after.len()..], |i| &after[i..]);
    let rest_err = rate(rest.iter().filter(|e| !ok(e)).count(), rest.len());
    match took_to {
        _ if after.is_empty() => problems.push("no request was sent after the fault".to_owned()),
        None => {
            let err = rate(after.iter().filter(|e| !ok(e)).count(), after.len());
            let lat: Vec<Duration> = after.iter().map(|e| took(e)).collect();
            problems.push(format!(
                "the service did not recover within the {} of traffic after the fault: failed or fallback answers {} (baseline {}), p95 {} (baseline {})",
                show(t.end.saturating_duration_since(t.fault_end)),
                pct(err),
                pct(base_err),
                percentile_ms(&lat, 95.0).map_or_else(|| "-".to_owned(), show_ms),
                show_ms(base_p95)
            ));
        }
        Some(d) if d > s.within => problems.push(format!(
            "the service took {} to return to its baseline after the fault (within {} expected; bound on failed or fallback answers {}, p95 bound {})",
            show(d),
            show(s.within),
            pct(err_bound),
            show_ms(lat_bound)
        )),
        Some(_) => {}
    }
    let fine = format!(
        "back to the baseline {} after the fault ended (within {}): failed or fallback answers {} (baseline {}), p95 bound {} (baseline {})",
        took_to.map_or_else(|| "-".to_owned(), show),
        show(s.within),
        pct(rest_err),
        pct(base_err),
        show_ms(lat_bound),
        show_ms(base_p95)
    );
    Judgement::new("recovery", problems, fine)
        .figure(
            "recovered_after_ms",
            took_to.map_or_else(String::new, |d| format!("{:.1}", d.as_secs_f64() * 1000.0)),
        )
        .figure("baseline_p95_ms", format!("{base_p95:.1}"))
        .figure("baseline_error_rate", format!("{base_err:.4}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Timeline;

    const MS: Duration = Duration::from_millis(1);

    /// 20 requests per second for 2 s before, 2 s during and 2 s after the fault, each
    /// answered after `took(i, due)`, with the outcome `status(i, due)` and the marker when
    /// `marked(i, due)`.
    fn observed(
        took: impl Fn(u64, Instant) -> Duration,
        status: impl Fn(u64, Instant) -> Option<ErrorKind>,
        marked: impl Fn(u64, Instant) -> bool,
    ) -> Observed {
        let start = Instant::now();
        let timeline = Timeline::new(start, 2000 * MS, 2000 * MS, 2000 * MS);
        let client = (0..120u64)
            .map(|i| {
                let due = start + 50 * MS * u32::try_from(i).expect("small");
                let error = status(i, due);
                TraceEntry {
                    seq: i,
                    kind: usize::from(i % 2 == 1),
                    due,
                    sent: due,
                    ended: due + took(i, due),
                    status: Some(match &error {
                        Some(ErrorKind::Status(s)) => *s,
                        _ => 200,
                    }),
                    error,
                    headers: if marked(i, due) {
                        vec![("x-model-fallback".into(), "true".into())]
                    } else {
                        Vec::new()
                    },
                    body: None,
                    measured: true,
                }
            })
            .collect();
        Observed {
            timeline,
            client,
            kinds: vec!["a".into(), "b".into()],
            id_prefix: "t".into(),
            dependency: Some(Vec::new()),
            rate: 20.0,
        }
    }

    fn during(o: &Observed, due: Instant) -> bool {
        due >= o.timeline.fault_start && due < o.timeline.fault_end
    }

    #[test]
    fn timeout_fails_when_requests_outlive_the_deadline() {
        let spec = TimeoutSpec {
            deadline: 200 * MS,
            margin: 100 * MS,
            max_in_flight: None,
        };
        let fine = observed(|_, _| 10 * MS, |_, _| None, |_, _| false);
        let j = timeout(&fine, &spec);
        assert!(j.passed, "{j:?}");
        let probe = observed(|_, _| MS, |_, _| None, |_, _| false);
        let hanging = observed(
            |_, due| {
                if during(&probe, due) {
                    5000 * MS
                } else {
                    10 * MS
                }
            },
            |_, _| None,
            |_, _| false,
        );
        let j = timeout(&hanging, &spec);
        assert!(!j.passed);
        assert!(
            j.message.contains(
                "40 of 40 requests during the fault outlived the deadline 200 ms + margin 100 ms"
            ),
            "{}",
            j.message
        );
        assert!(j.message.contains("piled up"), "{}", j.message);
    }

    #[test]
    fn retries_need_growing_jittered_gaps() {
        let spec = RetriesSpec {
            max_attempts: 3,
            min_backoff: 5 * MS,
            growth: 1.3,
            jitter: 0.05,
            non_idempotent: vec!["b".into()],
            deadline: None,
        };
        let mut o = observed(|_, _| 100 * MS, |_, _| None, |_, _| false);
        let dep = |o: &Observed, gap: &dyn Fn(u64, usize) -> Duration| {
            let mut v = Vec::new();
            for e in o.client.iter().filter(|e| e.kind == 0) {
                let mut t = e.sent;
                for k in 0..3 {
                    v.push(DepRequest {
                        request_id: Some(format!("t-{}", e.seq)),
                        path: "/a".into(),
                        started: t,
                        finished: Some(t + MS),
                        status: Some(503),
                        failed: true,
                    });
                    t += MS + gap(e.seq, k);
                }
            }
            v
        };
        o.dependency = Some(dep(&o, &|seq, k| {
            MS * u32::try_from((10 + seq % 7) << k).expect("small")
        }));
        let j = retries(&o, &spec);
        assert!(j.passed, "{}", j.message);
        o.dependency = Some(dep(&o, &|_, _| Duration::from_micros(200)));
        let j = retries(&o, &spec);
        assert!(!j.passed);
        assert!(j.message.contains("no backoff"), "{}", j.message);
        assert!(j.message.contains("lock-step"), "{}", j.message);
        o.dependency = Some(dep(&o, &|_, _| 20 * MS));
        let j = retries(&o, &spec);
        assert!(j.message.contains("do not grow"), "{}", j.message);
    }

    #[test]
    fn fallback_counts_marked_successes() {
        let spec = FallbackSpec {
            marker: Marker::default(),
            min_share: 0.95,
            settle: 500 * MS,
            kinds: Vec::new(),
            contract: None,
            quality: None,
        };
        let probe = observed(|_, _| MS, |_, _| None, |_, _| false);
        let good = observed(|_, _| 5 * MS, |_, _| None, |_, due| during(&probe, due));
        assert!(fallback(&good, &spec).passed);
        let none = observed(
            |_, _| 5 * MS,
            |_, due| during(&probe, due).then_some(ErrorKind::Status(503)),
            |_, _| false,
        );
        let j = fallback(&none, &spec);
        assert!(!j.passed);
        assert!(
            j.message
                .contains("0 of 30 answers while the primary was down came from the fallback"),
            "{}",
            j.message
        );
        assert!(j.message.contains("30 status 503"), "{}", j.message);
    }

    #[test]
    fn recovery_measures_the_time_back_to_the_baseline() {
        let spec = RecoverySpec {
            within: 500 * MS,
            error_rate: 0.01,
            latency_factor: 1.5,
            marker: Marker::default(),
        };
        let probe = observed(|_, _| MS, |_, _| None, |_, _| false);
        let end = probe.timeline.fault_end;
        let quick = observed(
            |_, _| 5 * MS,
            |_, due| {
                (due >= probe.timeline.fault_start && due < end + 200 * MS)
                    .then_some(ErrorKind::Status(503))
            },
            |_, _| false,
        );
        let j = recovery(&quick, &spec);
        assert!(j.passed, "{}", j.message);
        let slow = observed(
            |_, _| 5 * MS,
            |_, due| {
                (due >= probe.timeline.fault_start && due < end + 1500 * MS)
                    .then_some(ErrorKind::Status(503))
            },
            |_, _| false,
        );
        let j = recovery(&slow, &spec);
        assert!(!j.passed);
        assert!(
            j.message.contains("took 1.50 s to return to its baseline"),
            "{}",
            j.message
        );
    }

    #[test]
    fn markers_parse() {
        assert_eq!(
            Marker::parse("X-Served-By: fallback").expect("ok").header,
            "x-served-by"
        );
        assert!(Marker::parse("nothing").is_err());
    }
}
