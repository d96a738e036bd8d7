//! What a scenario observed, on both sides of the fault proxy, in a form the oracles read
//! without knowing where it came from (tests build it by hand).

use std::time::{Duration, Instant};

use modelci_load::TraceEntry;

/// The scenario's timeline.
#[derive(Debug, Clone, Copy)]
pub struct Timeline {
    /// The traffic starts.
    pub start: Instant,
    /// The fault is applied.
    pub fault_start: Instant,
    /// The fault is removed.
    pub fault_end: Instant,
    /// The traffic ends (requests due before it).
    pub end: Instant,
}

impl Timeline {
    /// From `start`, with the three phases' lengths.
    pub fn new(start: Instant, before: Duration, during: Duration, after: Duration) -> Timeline {
        let fault_start = start + before;
        let fault_end = fault_start + during;
        Timeline {
            start,
            fault_start,
            fault_end,
            end: fault_end + after,
        }
    }

    /// Milliseconds of `t` since the fault started (negative before it), for messages.
    pub fn ms_after_fault(&self, t: Instant) -> f64 {
        if t >= self.fault_start {
            t.duration_since(self.fault_start).as_secs_f64() * 1000.0
        } else {
            -(self.fault_start.duration_since(t).as_secs_f64() * 1000.0)
        }
    }
}

/// One request the dependency received (through an HTTP fault proxy).
#[derive(Debug, Clone, PartialEq)]
pub struct DepRequest {
    /// The client request it serves (`X-Request-Id`), if the service forwarded it.
    pub request_id: Option<String>,
    /// Its path (no query).
    pub path: String,
    /// When it reached the proxy.
    pub started: Instant,
    /// When its answer (or failure) was complete; `None` while held.
    pub finished: Option<Instant>,
    /// What the service was sent back, if anything.
    pub status: Option<u16>,
    /// Whether it failed from the service's point of view (no answer, a 5xx, a cut-off body).
    pub failed: bool,
}

/// Everything observed in one scenario.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The timeline.
    pub timeline: Timeline,
    /// Every client request, in due order.
    pub client: Vec<TraceEntry>,
    /// The request kinds' names, by index.
    pub kinds: Vec<String>,
    /// The `X-Request-Id` prefix of this scenario's requests.
    pub id_prefix: String,
    /// What the dependencies received (HTTP proxies), in arrival order; `None` when no HTTP
    /// proxy watched them.
    pub dependency: Option<Vec<DepRequest>>,
    /// The requests per second offered.
    pub rate: f64,
}

impl Observed {
    /// The client request a dependency request serves (by its `X-Request-Id`).
    pub fn client_of(&self, dep: &DepRequest) -> Option<&TraceEntry> {
        let seq: u64 = dep
            .request_id
            .as_deref()?
            .strip_prefix(self.id_prefix.as_str())?
            .strip_prefix('-')?
            .parse()
            .ok()?;
        let i = usize::try_from(seq).ok()?;
        self.client.get(i).filter(|e| e.seq == seq).or_else(|| {
            // Requests that could not start leave gaps.
            self.client.iter().find(|e| e.seq == seq)
        })
    }

    /// The kind's name of a client request.
    pub fn kind(&self, e: &TraceEntry) -> &str {
        self.kinds.get(e.kind).map_or("", String::as_str)
    }

    /// Client requests due in `[from, to)`.
    pub fn due_in(&self, from: Instant, to: Instant) -> impl Iterator<Item = &TraceEntry> {
        self.client
            .iter()
            .filter(move |e| e.due >= from && e.due < to)
    }
}

/// The `q`-th percentile (0-100, nearest rank) of durations, in milliseconds.
pub fn percentile_ms(values: &[Duration], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    v.sort_by(f64::total_cmp);
    let rank = ((q / 100.0) * v.len() as f64).ceil() as usize;
    v.get(rank.clamp(1, v.len()) - 1).copied()
}

/// The most intervals `[from, to]` open at once.
pub fn max_overlap(intervals: impl Iterator<Item = (Instant, Instant)>) -> usize {
    let mut events: Vec<(Instant, i32)> = Vec::new();
    for (from, to) in intervals {
        events.push((from, 1));
        events.push((to, -1));
    }
    // Ends before starts at the same instant: touching intervals do not overlap.
    events.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        most = most.max(now);
    }
    usize::try_from(most).unwrap_or(0)
}

/// Milliseconds, for messages (`12 ms`, `1.25 s`).
pub fn show_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// A duration, for messages.
pub fn show(d: Duration) -> String {
    show_ms(d.as_secs_f64() * 1000.0)
}
