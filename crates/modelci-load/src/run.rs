//! The load generator.
//!
//! **Open model** (the default): requests are due at the times of a [`Starts`] schedule,
//! whatever the server does. A dispatcher thread sleeps until each one is due and hands it to
//! the async runtime's workers; latency is measured from the time it was *due*, so a server that
//! stalls is charged for every request queued behind the stall (no coordinated omission). When
//! every connection slot (`max_in_flight`) is busy at a request's due time, the request is not
//! sent and counts as *dropped*, as k6's arrival-rate executors count dropped iterations.
//!
//! **Closed model**: `vus` virtual users each send a request, wait for its answer, and send the
//! next; latency is from the actual send. This is what most tools measure, and it hides
//! queueing: both numbers are reported by the open model (`latency` and `service`).
//!
//! Every loop is bounded: the schedule ends, each request has a timeout, and a run is cut after
//! its planned time plus the timeout.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use modelci_rng::SeededRng;
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use tokio::sync::Semaphore;

use crate::profile::{Arrivals, Profile, Stage, Starts};
use crate::stats::{ErrorKind, Recorder, Sample};
use crate::threshold::Threshold;
use crate::transport::{Prepared, Transport};

/// One kind of request in the mix.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// Its name in reports (`small-image`, `#3`).
    pub name: String,
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: Url,
    /// Headers (values never printed).
    pub headers: HeaderMap,
    /// The body (empty: none).
    pub body: Bytes,
    /// Its share of the traffic, relative to the others' (positive).
    pub weight: f64,
}

/// How load is offered.
#[derive(Debug, Clone)]
pub enum Model {
    /// Requests due at the profile's rate, whatever the server does.
    Open {
        /// The rate over time.
        profile: Profile,
        /// Even spacing or Poisson.
        arrivals: Arrivals,
        /// Requests in flight at most; a request due while all are busy is dropped.
        max_in_flight: usize,
    },
    /// `vus` users, each sending its next request when the last one is answered.
    Closed {
        /// The virtual users.
        vus: usize,
        /// How long.
        duration: Duration,
    },
}

/// A load run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// The requests and their weights.
    pub requests: Vec<RequestTemplate>,
    /// How load is offered.
    pub model: Model,
    /// Run this long first, unmeasured (open model: at the profile's first rate).
    pub warmup: Duration,
    /// The limit of each request.
    pub timeout: Duration,
    /// The seed of the request mix (and of Poisson arrivals).
    pub seed: u64,
    /// Async worker threads (0: one per CPU).
    pub workers: usize,
    /// Stop early when one of these is already lost (counts and rates that can only get worse).
    pub abort_on: Vec<Threshold>,
    /// Accept an answer with this status as a success (default: below 400).
    pub success_below: u16,
    /// Evenly spaced arrivals start this fraction of an interval late (shards interleave).
    pub phase: f64,
    /// Keep a record of every request (see [`Tracing`]); off for plain load runs, which only
    /// keep histograms.
    pub tracing: Option<Tracing>,
}

/// What a traced run keeps of each request, and when it starts.
///
/// A traced run sends every request with an `X-Request-Id` header (`{prefix}-{seq}`), so that
/// what a dependency of the service received can be joined to the client's requests, and
/// through `reqwest` (the direct hyper path keeps nothing but timings).
#[derive(Debug, Clone, Default)]
pub struct Tracing {
    /// The request id prefix (unique per run).
    pub id_prefix: String,
    /// Response headers to keep (lowercase names).
    pub headers: Vec<String>,
    /// Keep response bodies up to this many bytes (0: none).
    pub body_limit: usize,
    /// Start the schedule at this time (open model), so that a caller can align other events
    /// with it; default: as soon as the run is ready.
    pub start_at: Option<Instant>,
}

/// One traced request.
#[derive(Debug, Clone)]
pub struct TraceEntry {
    /// Its sequence number (from 0, in due order); its `X-Request-Id` is `{prefix}-{seq}`.
    pub seq: u64,
    /// The request kind (index in the mix).
    pub kind: usize,
    /// When it was due.
    pub due: Instant,
    /// When it was sent.
    pub sent: Instant,
    /// When its answer was complete, or it failed.
    pub ended: Instant,
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// Why it failed (a status of `success_below` or more, a timeout, a broken connection).
    pub error: Option<ErrorKind>,
    /// The kept response headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// The body, up to the limit.
    pub body: Option<Bytes>,
    /// Whether it was in the measured part (not the warm-up).
    pub measured: bool,
}

impl TraceEntry {
    /// The kept header `name` (lowercase), if the answer had it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// From due to end.
    pub fn latency(&self) -> Duration {
        self.ended.saturating_duration_since(self.due)
    }
}

/// Counters a caller may read while the run goes on (progress lines).
#[derive(Debug, Default)]
pub struct Live {
    /// Requests due so far (measured part).
    pub scheduled: AtomicU64,
    /// Requests finished (answered or failed), measured part.
    pub done: AtomicU64,
    /// Failed requests, measured part.
    pub failed: AtomicU64,
    /// Dropped requests, measured part.
    pub dropped: AtomicU64,
}

/// What a run gives.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// Everything measured (warm-up excluded).
    pub recorder: Recorder,
    /// The same per request kind, by name, in the order of the mix.
    pub per_request: Vec<(String, Recorder)>,
    /// The measured time.
    pub measured: Duration,
    /// The mean rate asked for over the measured part (open model).
    pub target_rps: Option<f64>,
    /// Why the run stopped early, when a threshold was already lost.
    pub aborted: Option<String>,
    /// Whether the run was cancelled (Ctrl-C).
    pub cancelled: bool,
    /// Every request, in sequence order, when the run was traced.
    pub trace: Vec<TraceEntry>,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The settings cannot run.
    #[error("{0}")]
    Spec(String),
    /// The HTTP client or the runtime could not be built.
    #[error("cannot start the load generator: {0}")]
    Start(String),
}

/// Picks request kinds by weight.
struct Mix {
    cumulative: Vec<f64>,
    rng: SeededRng,
}

impl Mix {
    fn new(requests: &[RequestTemplate], seed: u64) -> Mix {
        let mut sum = 0.0;
        let cumulative = requests
            .iter()
            .map(|r| {
                sum += r.weight;
                sum
            })
            .collect();
        Mix {
            cumulative,
            rng: SeededRng::new(seed ^ 0x6d69_7865_645f_6c6f),
        }
    }

    fn pick(&mut self) -> usize {
        if self.cumulative.len() <= 1 {
            return 0;
        }
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = self.rng.unit() * total;
        self.cumulative
            .iter()
            .position(|&c| x < c)
            .unwrap_or(self.cumulative.len() - 1)
    }
}

impl LoadSpec {
    /// Checks the settings.
    ///
    /// # Errors
    /// A message saying what cannot run.
    pub fn validate(&self) -> Result<(), LoadError> {
        if self.requests.is_empty() {
            return Err(LoadError::Spec("no request to send".to_owned()));
        }
        if let Some(r) = self
            .requests
            .iter()
            .find(|r| !(r.weight.is_finite() && r.weight > 0.0))
        {
            return Err(LoadError::Spec(format!(
                "request `{}` has weight {}: weights are positive numbers",
                r.name, r.weight
            )));
        }
        if self.timeout.is_zero() {
            return Err(LoadError::Spec("the request timeout is zero".to_owned()));
        }
        match &self.model {
            Model::Open {
                profile,
                max_in_flight,
                ..
            } => {
                profile.validate().map_err(LoadError::Spec)?;
                if *max_in_flight == 0 {
                    return Err(LoadError::Spec(
                        "max in flight is 0: no request could ever start".to_owned(),
                    ));
                }
            }
            Model::Closed { vus, duration } => {
                if *vus == 0 || duration.is_zero() {
                    return Err(LoadError::Spec(
                        "a closed model needs at least one virtual user and a duration".to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The requests the measured part plans (open model), for rates and early aborts.
    fn planned(&self) -> u64 {
        match &self.model {
            Model::Open { profile, .. } => profile.expected_requests().round() as u64,
            Model::Closed { .. } => 0,
        }
    }
}

/// Runs the load. `cancel` stops it early (what finished is kept); `live` is updated as it goes.
///
/// # Errors
/// When the settings cannot run or the client cannot be built; failed requests are results.
pub fn run(spec: &LoadSpec, cancel: &AtomicBool, live: &Live) -> Result<LoadOutcome, LoadError> {
    spec.validate()?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if spec.workers > 0 {
        builder.worker_threads(spec.workers);
    }
    let runtime = builder
        .enable_all()
        .build()
        .map_err(|e| LoadError::Start(e.to_string()))?;
    let client = modelci_net::ClientPolicy::new(spec.timeout)
        .build()
        .map_err(|e| LoadError::Start(e.to_string()))?;
    let connect_timeout = spec.timeout.min(Duration::from_secs(10));
    let (transport, prepared) = if spec.tracing.is_some() {
        (Transport::Client(client), vec![None; spec.requests.len()])
    } else {
        runtime.block_on(Transport::choose(&spec.requests, client, connect_timeout))
    };
    let shared = Arc::new(Shared {
        transport,
        prepared,
        requests: spec.requests.clone(),
        timeout: spec.timeout,
        success_below: spec.success_below,
        tracing: spec.tracing.clone(),
        trace: Mutex::new(Vec::new()),
    });
    match &spec.model {
        Model::Open {
            profile,
            arrivals,
            max_in_flight,
        } => Ok(open(
            spec,
            &runtime,
            &shared,
            profile,
            *arrivals,
            *max_in_flight,
            cancel,
            live,
        )),
        Model::Closed { vus, duration } => {
            Ok(runtime.block_on(closed(spec, &shared, *vus, *duration, cancel, live)))
        }
    }
}

/// What every request task needs.
struct Shared {
    transport: Transport,
    prepared: Vec<Option<Prepared>>,
    requests: Vec<RequestTemplate>,
    timeout: Duration,
    success_below: u16,
    tracing: Option<Tracing>,
    trace: Mutex<Vec<TraceEntry>>,
}

impl Shared {
    async fn send(&self, kind: usize, due: Instant) -> Result<Sample, (ErrorKind, u64)> {
        self.send_seq(kind, due, 0, true).await
    }

    /// Sends request `seq` (its number in due order, for tracing).
    async fn send_seq(
        &self,
        kind: usize,
        due: Instant,
        seq: u64,
        measured: bool,
    ) -> Result<Sample, (ErrorKind, u64)> {
        if let (Some(t), Transport::Client(c), Some(r)) =
            (&self.tracing, &self.transport, self.requests.get(kind))
        {
            let (result, entry) = crate::transport::send_traced(
                c,
                r,
                t,
                crate::transport::TraceSlot {
                    seq,
                    kind,
                    due,
                    measured,
                },
                self.timeout,
                self.success_below,
            )
            .await;
            if let Ok(mut trace) = self.trace.lock() {
                trace.push(entry);
            }
            return result;
        }
        match self.requests.get(kind) {
            Some(r) => {
                self.transport
                    .send(
                        r,
                        self.prepared.get(kind).and_then(Option::as_ref),
                        due,
                        self.timeout,
                        self.success_below,
                    )
                    .await
            }
            None => Err((ErrorKind::Other, 0)),
        }
    }
}

impl Shared {
    /// The traced requests, in sequence order.
    fn take_trace(&self) -> Vec<TraceEntry> {
        let mut trace = self
            .trace
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        trace.sort_by_key(|e| e.seq);
        trace
    }
}

/// The measurements of some of the requests: everything and per request kind.
#[derive(Clone)]
struct Tally {
    all: Recorder,
    per: Vec<Recorder>,
}

impl Tally {
    fn new(kinds: usize) -> Tally {
        Tally {
            all: Recorder::default(),
            per: vec![Recorder::default(); kinds.max(1)],
        }
    }

    fn record(&mut self, kind: usize, result: &Result<Sample, (ErrorKind, u64)>, live: &Live) {
        live.done.fetch_add(1, Ordering::Relaxed);
        let k = kind.min(self.per.len() - 1);
        match result {
            Ok(s) => {
                self.all.success(s);
                self.per[k].success(s);
            }
            Err((e, bytes)) => {
                live.failed.fetch_add(1, Ordering::Relaxed);
                self.all.failure(e.clone(), *bytes);
                self.per[k].failure(e.clone(), *bytes);
            }
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.all.merge(&other.all);
        for (a, b) in self.per.iter_mut().zip(&other.per) {
            a.merge(b);
        }
    }
}

/// Tallies that concurrent request tasks record into, spread so that they rarely wait for one
/// another; merged (exactly) at the end.
struct Tallies {
    slots: Vec<Mutex<Tally>>,
    next: AtomicUsize,
}

impl Tallies {
    fn new(kinds: usize, slots: usize) -> Tallies {
        Tallies {
            slots: (0..slots.max(1))
                .map(|_| Mutex::new(Tally::new(kinds)))
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    fn record(&self, kind: usize, result: &Result<Sample, (ErrorKind, u64)>, live: &Live) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        if let Some(slot) = self.slots.get(i) {
            let mut t = slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            t.record(kind, result, live);
        }
    }

    fn total(&self, kinds: usize) -> Tally {
        let mut all = Tally::new(kinds);
        for slot in &self.slots {
            let t = slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            all.merge(&t);
        }
        all
    }
}

/// A summary built from the live counters, for early aborts.
fn lost(spec: &LoadSpec, live: &Live) -> Option<String> {
    if spec.abort_on.is_empty() {
        return None;
    }
    let mut r = Recorder {
        scheduled: live.scheduled.load(Ordering::Relaxed),
        dropped: live.dropped.load(Ordering::Relaxed),
        ..Recorder::default()
    };
    let failed = live.failed.load(Ordering::Relaxed);
    if failed > 0 {
        r.errors.insert(ErrorKind::Other, failed);
    }
    r.ok = live.done.load(Ordering::Relaxed).saturating_sub(failed);
    let s = r.summary(Duration::from_secs(1), None);
    spec.abort_on
        .iter()
        .find(|t| t.already_lost(&s, spec.planned()))
        .map(|t| format!("`{t}` was already lost"))
}

#[expect(clippy::too_many_arguments, reason = "the open model's settings")]
fn open(
    spec: &LoadSpec,
    runtime: &tokio::runtime::Runtime,
    shared: &Arc<Shared>,
    profile: &Profile,
    arrivals: Arrivals,
    max_in_flight: usize,
    cancel: &AtomicBool,
    live: &Live,
) -> LoadOutcome {
    // The warm-up runs first at the profile's first rate.
    let mut full = profile.clone();
    if !spec.warmup.is_zero() {
        let rate = profile.first_rate();
        full.stages.insert(
            0,
            Stage {
                duration: spec.warmup,
                from: rate,
                to: rate,
            },
        );
    }
    let kinds = spec.requests.len();
    let tallies = Arc::new(Tallies::new(kinds, 64));
    let live_arc = Arc::new(LiveCounts::default());
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let handle = runtime.handle().clone();
    let mut mix = Mix::new(&spec.requests, spec.seed);
    let start = spec
        .tracing
        .as_ref()
        .and_then(|t| t.start_at)
        .unwrap_or_else(|| Instant::now() + Duration::from_millis(5));
    let mut last_check = Instant::now();
    let mut aborted = None;
    let mut seq = 0u64;
    for offset in Starts::new(full.clone(), arrivals, None).with_phase(spec.phase) {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let due = start + offset;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let measured = offset >= spec.warmup;
        if measured {
            live.scheduled.fetch_add(1, Ordering::Relaxed);
        }
        if last_check.elapsed() >= Duration::from_millis(100) {
            last_check = Instant::now();
            live_arc.publish(live);
            if let Some(why) = lost(spec, live) {
                aborted = Some(why);
                break;
            }
        }
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            if measured {
                live.dropped.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        };
        let kind = mix.pick();
        let (shared, tallies, counts) = (
            Arc::clone(shared),
            Arc::clone(&tallies),
            Arc::clone(&live_arc),
        );
        let this = seq;
        seq += 1;
        handle.spawn(async move {
            let result = shared.send_seq(kind, due, this, measured).await;
            if measured {
                tallies.record(kind, &result, &counts.live);
            }
            drop(permit);
        });
    }
    let dispatched = Instant::now();
    // Every request has finished once every slot is free again (each is bounded by its
    // timeout).
    let all_slots = u32::try_from(max_in_flight).unwrap_or(u32::MAX);
    runtime.block_on(async {
        let _ = slots.acquire_many(all_slots).await;
    });
    live_arc.publish(live);
    let tally = tallies.total(kinds);
    let mut recorder = tally.all;
    recorder.scheduled = live.scheduled.load(Ordering::Relaxed);
    recorder.dropped = live.dropped.load(Ordering::Relaxed);
    let planned = profile.duration();
    let span = dispatched.saturating_duration_since(start + spec.warmup);
    let measured = if aborted.is_some() || cancel.load(Ordering::Relaxed) {
        span
    } else {
        span.max(planned)
    };
    let target = profile.expected_requests() / planned.as_secs_f64().max(f64::MIN_POSITIVE);
    LoadOutcome {
        per_request: spec
            .requests
            .iter()
            .map(|r| r.name.clone())
            .zip(tally.per)
            .collect(),
        recorder,
        measured,
        target_rps: Some(target),
        aborted,
        cancelled: cancel.load(Ordering::Relaxed),
        trace: shared.take_trace(),
    }
}

/// Counters the request tasks update (they outlive any borrow), copied into the caller's
/// [`Live`] from time to time.
#[derive(Default)]
struct LiveCounts {
    live: Live,
}

impl LiveCounts {
    fn publish(&self, to: &Live) {
        to.done
            .store(self.live.done.load(Ordering::Relaxed), Ordering::Relaxed);
        to.failed
            .store(self.live.failed.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

async fn closed(
    spec: &LoadSpec,
    shared: &Arc<Shared>,
    vus: usize,
    duration: Duration,
    cancel: &AtomicBool,
    live: &Live,
) -> LoadOutcome {
    let kinds = spec.requests.len();
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + duration;
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(LiveCounts::default());
    let mut users = Vec::new();
    for vu in 0..vus {
        let (shared, stop, counts) = (Arc::clone(shared), Arc::clone(&stop), Arc::clone(&counts));
        let mut mix = Mix::new(&spec.requests, spec.seed.wrapping_add(vu as u64));
        // Each user keeps its own tally: nothing is shared per request.
        users.push(tokio::spawn(async move {
            let mut tally = Tally::new(kinds);
            while Instant::now() < end && !stop.load(Ordering::Relaxed) {
                let kind = mix.pick();
                let due = Instant::now();
                let result = shared.send(kind, due).await;
                if due >= measure_from {
                    tally.record(kind, &result, &counts.live);
                }
            }
            tally
        }));
    }
    let watcher = {
        let stop = Arc::clone(&stop);
        let counts = Arc::clone(&counts);
        async move {
            let mut aborted = None;
            while Instant::now() < end && !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                counts.publish(live);
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                if let Some(why) = lost(spec, live) {
                    aborted = Some(why);
                    break;
                }
            }
            stop.store(true, Ordering::Relaxed);
            aborted
        }
    };
    let aborted = watcher.await;
    let mut tally = Tally::new(kinds);
    for u in users {
        if let Ok(t) = u.await {
            tally.merge(&t);
        }
    }
    counts.publish(live);
    let measured = Instant::now()
        .min(end)
        .saturating_duration_since(measure_from);
    let mut recorder = tally.all;
    recorder.scheduled = recorder.sent();
    LoadOutcome {
        per_request: spec
            .requests
            .iter()
            .map(|r| r.name.clone())
            .zip(tally.per)
            .collect(),
        recorder,
        measured,
        target_rps: None,
        aborted,
        cancelled: cancel.load(Ordering::Relaxed),
        trace: shared.take_trace(),
    }
}

/// One step of a search for the highest rate that holds an SLO.
#[derive(Debug, Clone)]
pub struct Step {
    /// The rate offered.
    pub rate: f64,
    /// What it gave.
    pub outcome: LoadOutcome,
    /// Whether every SLO held, the rate was achieved (within 5%) and under 1% could not start.
    pub held: bool,
    /// Why it did not hold (the first reason).
    pub why: Option<String>,
}

/// The result of [`find_max`].
#[derive(Debug, Clone)]
pub struct FindMax {
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The highest rate that held, if any did.
    pub best: Option<f64>,
}

/// Finds the highest constant rate that holds `slo`: runs `base`'s settings (its duration,
/// warm-up, requests) at `start` requests per second, doubles the rate while it holds (up to
/// `max_rate`), then bisects between the last rate that held and the first that did not until
/// they are within `precision` (a fraction, e.g. 0.05) of each other. At most `max_steps` runs;
/// each is bounded like any run.
///
/// # Errors
/// As [`run`].
pub fn find_max(
    base: &LoadSpec,
    slo: &[Threshold],
    start: f64,
    max_rate: f64,
    precision: f64,
    max_steps: usize,
    cancel: &AtomicBool,
) -> Result<FindMax, LoadError> {
    let duration = match &base.model {
        Model::Open { profile, .. } => profile.duration(),
        Model::Closed { .. } => {
            return Err(LoadError::Spec(
                "finding the highest rate needs the open model (a rate), not virtual users"
                    .to_owned(),
            ));
        }
    };
    if !(start.is_finite() && start > 0.0 && max_rate >= start) {
        return Err(LoadError::Spec(format!(
            "the search needs a starting rate above 0 and a maximum at least as high (start {start}, max {max_rate})"
        )));
    }
    let attempt = |rate: f64| -> Result<Step, LoadError> {
        let mut spec = base.clone();
        if let Model::Open { profile, .. } = &mut spec.model {
            *profile = Profile::constant(rate, duration);
        }
        let outcome = run(&spec, cancel, &Live::default())?;
        let s = outcome
            .recorder
            .summary(outcome.measured, outcome.target_rps);
        let why = slo
            .iter()
            .map(|t| t.judge_with(&outcome.recorder, &s))
            .find(|v| !v.passed)
            .map(|v| format!("`{}`: {}", v.threshold, v.describe()))
            .or_else(|| {
                (s.achieved_rps < 0.95 * rate).then(|| {
                    format!(
                        "achieved {:.1} req/s of the {rate:.1} asked",
                        s.achieved_rps
                    )
                })
            })
            .or_else(|| {
                (s.dropped_rate >= 0.01).then(|| {
                    format!(
                        "{:.1}% of the requests could not start",
                        s.dropped_rate * 100.0
                    )
                })
            });
        Ok(Step {
            rate,
            held: why.is_none(),
            why,
            outcome,
        })
    };
    let mut steps = Vec::new();
    let (mut good, mut bad): (Option<f64>, Option<f64>) = (None, None);
    let mut rate = start;
    // Grow.
    while steps.len() < max_steps && !cancel.load(Ordering::Relaxed) {
        let step = attempt(rate)?;
        let held = step.held;
        steps.push(step);
        if held {
            good = Some(rate);
            if rate >= max_rate {
                break;
            }
            rate = (rate * 2.0).min(max_rate);
        } else {
            bad = Some(rate);
            break;
        }
    }
    // The starting rate was already too much: halve until one holds (at most 4 times).
    let mut lower = start;
    while good.is_none()
        && bad.is_some()
        && lower > start / 16.0
        && steps.len() < max_steps
        && !cancel.load(Ordering::Relaxed)
    {
        lower /= 2.0;
        let step = attempt(lower)?;
        if step.held {
            good = Some(lower);
        } else {
            bad = Some(lower);
        }
        steps.push(step);
    }
    // Bisect.
    while let (Some(g), Some(b)) = (good, bad) {
        if steps.len() >= max_steps || cancel.load(Ordering::Relaxed) || (b - g) <= precision * g {
            break;
        }
        let mid = (g + b) / 2.0;
        let step = attempt(mid)?;
        if step.held {
            good = Some(mid);
        } else {
            bad = Some(mid);
        }
        steps.push(step);
    }
    Ok(FindMax { steps, best: good })
}
