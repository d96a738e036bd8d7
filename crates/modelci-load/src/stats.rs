//! What a load run measured: HDR histograms of latency (microseconds, 3 significant digits),
//! outcomes by kind, and what could not start. Recorders merge exactly (per worker, per shard).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use serde::Serialize;

/// The largest latency a histogram holds: one hour, in microseconds (longer ones are clamped).
const MAX_MICROS: u64 = 3_600_000_000;

#[expect(
    clippy::expect_used,
    reason = "constant bounds that HdrHistogram accepts (1 µs to 1 h, 3 digits)"
)]
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_MICROS)
}

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// An answer with this status (not 2xx/3xx).
    Status(u16),
    /// No complete answer within the timeout.
    Timeout,
    /// The connection could not be made or broke.
    Connection,
    /// Anything else (a body that could not be read).
    Other,
}

impl ErrorKind {
    /// The kind's name in reports (`status 503`, `timeout`, `connection`).
    pub fn name(&self) -> String {
        match self {
            ErrorKind::Status(s) => format!("status {s}"),
            ErrorKind::Timeout => "timeout".to_owned(),
            ErrorKind::Connection => "connection".to_owned(),
            ErrorKind::Other => "other".to_owned(),
        }
    }
}

/// Everything measured in the measured part of a run (warm-up excluded).
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Latency from each request's intended start to its complete answer: what a user waiting
    /// for that request saw, queueing included (no coordinated omission). Successes only.
    pub latency: Histogram<u64>,
    /// Latency from the moment each request was actually sent (what a closed-loop tool
    /// reports). Successes only.
    pub service: Histogram<u64>,
    /// Time to the response's first byte (its headers), from the intended start.
    pub first_byte: Histogram<u64>,
    /// Streaming (`text/event-stream`) answers: time to the first event (token), from the
    /// intended start.
    pub first_token: Histogram<u64>,
    /// Streaming answers: the time between consecutive events (inter-token latency).
    pub inter_token: Histogram<u64>,
    /// Requests due in the measured part.
    pub scheduled: u64,
    /// Requests that got a successful answer.
    pub ok: u64,
    /// Failed requests by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Requests that could not start: every connection slot was busy when they were due.
    pub dropped: u64,
    /// Response bytes read.
    pub bytes: u64,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder {
            latency: histogram(),
            service: histogram(),
            first_byte: histogram(),
            first_token: histogram(),
            inter_token: histogram(),
            scheduled: 0,
            ok: 0,
            errors: BTreeMap::new(),
            dropped: 0,
            bytes: 0,
        }
    }
}

/// One finished request.
#[derive(Debug, Clone)]
pub struct Sample {
    /// From the intended start to the complete answer (or the failure).
    pub latency: Duration,
    /// From the actual send.
    pub service: Duration,
    /// To the first byte, from the intended start (none when no answer came).
    pub first_byte: Option<Duration>,
    /// Bytes of the answer's body.
    pub bytes: u64,
    /// A streaming answer's events: when the first came (from the intended start) and the gaps
    /// between the next ones.
    pub tokens: Option<Tokens>,
}

/// The events of a streaming (server-sent events) answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tokens {
    /// To the first event, from the intended start.
    pub first: Option<Duration>,
    /// Between consecutive events.
    pub gaps: Vec<Duration>,
}

impl Recorder {
    /// Records a success.
    pub fn success(&mut self, s: &Sample) {
        self.ok += 1;
        self.latency.saturating_record(micros(s.latency));
        self.service.saturating_record(micros(s.service));
        if let Some(fb) = s.first_byte {
            self.first_byte.saturating_record(micros(fb));
        }
        if let Some(t) = &s.tokens {
            if let Some(first) = t.first {
                self.first_token.saturating_record(micros(first));
            }
            for g in &t.gaps {
                // Events that came in one read are 0 apart: recorded as the smallest value.
                self.inter_token.saturating_record(micros(*g));
            }
        }
        self.bytes += s.bytes;
    }

    /// Records a failure.
    pub fn failure(&mut self, kind: ErrorKind, bytes: u64) {
        *self.errors.entry(kind).or_default() += 1;
        self.bytes += bytes;
    }

    /// Adds another recorder's counts (another worker's, another shard's): exact.
    pub fn merge(&mut self, other: &Recorder) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        let _ = self.first_byte.add(&other.first_byte);
        let _ = self.first_token.add(&other.first_token);
        let _ = self.inter_token.add(&other.inter_token);
        self.scheduled += other.scheduled;
        self.ok += other.ok;
        for (k, n) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += n;
        }
        self.dropped += other.dropped;
        self.bytes += other.bytes;
    }

    /// Requests sent (answered or failed).
    pub fn sent(&self) -> u64 {
        self.ok + self.errors.values().sum::<u64>()
    }

    /// Failed requests.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The summary over `measured` seconds at a target of `target_rps`.
    pub fn summary(&self, measured: Duration, target_rps: Option<f64>) -> Summary {
        let secs = measured.as_secs_f64();
        let ms = |h: &Histogram<u64>, q: f64| {
            if h.is_empty() {
                None
            } else {
                Some(h.value_at_quantile(q) as f64 / 1000.0)
            }
        };
        let sent = self.sent();
        let ratio = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        Summary {
            scheduled: self.scheduled,
            sent,
            ok: self.ok,
            failed: self.failed(),
            dropped: self.dropped,
            error_rate: ratio(self.failed(), sent),
            dropped_rate: ratio(self.dropped, self.scheduled),
            duration_s: secs,
            achieved_rps: if secs > 0.0 { sent as f64 / secs } else { 0.0 },
            target_rps,
            p50_ms: ms(&self.latency, 0.50),
            p90_ms: ms(&self.latency, 0.90),
            p95_ms: ms(&self.latency, 0.95),
            p99_ms: ms(&self.latency, 0.99),
            p999_ms: ms(&self.latency, 0.999),
            max_ms: (!self.latency.is_empty()).then(|| self.latency.max() as f64 / 1000.0),
            min_ms: (!self.latency.is_empty()).then(|| self.latency.min() as f64 / 1000.0),
            mean_ms: (!self.latency.is_empty()).then(|| self.latency.mean() / 1000.0),
            service_p50_ms: ms(&self.service, 0.50),
            service_p99_ms: ms(&self.service, 0.99),
            first_byte_p50_ms: ms(&self.first_byte, 0.50),
            first_byte_p99_ms: ms(&self.first_byte, 0.99),
            first_token_p50_ms: ms(&self.first_token, 0.50),
            first_token_p99_ms: ms(&self.first_token, 0.99),
            inter_token_p50_ms: ms(&self.inter_token, 0.50),
            inter_token_p99_ms: ms(&self.inter_token, 0.99),
            errors: self.errors.iter().map(|(k, n)| (k.name(), *n)).collect(),
            bytes: self.bytes,
        }
    }

    /// The latency percentile `q` (0–100) in milliseconds, `None` with no success.
    pub fn percentile_ms(&self, q: f64) -> Option<f64> {
        (!self.latency.is_empty())
            .then(|| self.latency.value_at_quantile(q / 100.0) as f64 / 1000.0)
    }

    /// The latency histogram, HdrHistogram's V2 encoding in base64 (what `report merge` adds
    /// exactly, and what HdrHistogram's own tools read).
    pub fn encode_latency(&self) -> String {
        encode(&self.latency)
    }

    /// The service-time histogram, encoded as [`Recorder::encode_latency`].
    pub fn encode_service(&self) -> String {
        encode(&self.service)
    }

    /// The time-to-first-byte histogram, encoded as [`Recorder::encode_latency`].
    pub fn encode_first_byte(&self) -> String {
        encode(&self.first_byte)
    }

    /// The time-to-first-token histogram, encoded as [`Recorder::encode_latency`].
    pub fn encode_first_token(&self) -> String {
        encode(&self.first_token)
    }

    /// The inter-token histogram, encoded as [`Recorder::encode_latency`].
    pub fn encode_inter_token(&self) -> String {
        encode(&self.inter_token)
    }

    /// A percentile (0–100) of a streaming metric in milliseconds (`first_token` or
    /// `inter_token`), `None` when nothing streamed.
    pub fn token_percentile_ms(&self, inter: bool, q: f64) -> Option<f64> {
        let h = if inter {
            &self.inter_token
        } else {
            &self.first_token
        };
        (!h.is_empty()).then(|| h.value_at_quantile(q / 100.0) as f64 / 1000.0)
    }

    /// Reads a histogram written by [`Recorder::encode_latency`].
    ///
    /// # Errors
    /// When the text is not such a histogram.
    pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("not an HdrHistogram: {e:?}"))
    }

    /// The latency distribution as CSV: `percentile,latency_ms,count` (HdrHistogram's
    /// percentile iteration, 5 ticks per half-distance).
    pub fn latency_csv(&self) -> String {
        let mut out = String::from("percentile,latency_ms,count\n");
        for v in self.latency.iter_quantiles(5) {
            out.push_str(&format!(
                "{:.6},{:.3},{}\n",
                v.quantile_iterated_to() * 100.0,
                v.value_iterated_to() as f64 / 1000.0,
                v.count_since_last_iteration()
            ));
        }
        out
    }
}

fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2Serializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// The figures of a run, as reports show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Requests due in the measured part.
    pub scheduled: u64,
    /// Requests sent.
    pub sent: u64,
    /// Successful answers.
    pub ok: u64,
    /// Failed requests.
    pub failed: u64,
    /// Requests that could not start on time (every slot busy).
    pub dropped: u64,
    /// `failed / sent`.
    pub error_rate: f64,
    /// `dropped / scheduled`.
    pub dropped_rate: f64,
    /// The measured time, seconds.
    pub duration_s: f64,
    /// Requests sent per second.
    pub achieved_rps: f64,
    /// The rate asked for (open model).
    pub target_rps: Option<f64>,
    /// Latency percentiles from the intended start, milliseconds.
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub min_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    /// Latency from the actual send (what a closed-loop tool would report).
    pub service_p50_ms: Option<f64>,
    pub service_p99_ms: Option<f64>,
    /// Time to the first byte.
    pub first_byte_p50_ms: Option<f64>,
    pub first_byte_p99_ms: Option<f64>,
    /// Streaming answers: time to the first event and between events.
    pub first_token_p50_ms: Option<f64>,
    pub first_token_p99_ms: Option<f64>,
    pub inter_token_p50_ms: Option<f64>,
    pub inter_token_p99_ms: Option<f64>,
    /// Failures by kind.
    pub errors: BTreeMap<String, u64>,
    /// Response bytes read.
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn sample(latency: u64, service: u64) -> Sample {
        Sample {
            latency: ms(latency),
            service: ms(service),
            first_byte: Some(ms(latency)),
            bytes: 10,
            tokens: None,
        }
    }

    #[test]
    fn percentiles_merge_and_encode_exactly() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for v in 1..=100 {
            a.success(&sample(v, v));
        }
        for v in 101..=200 {
            b.success(&sample(v, v));
        }
        b.failure(ErrorKind::Status(503), 0);
        b.failure(ErrorKind::Timeout, 0);
        a.scheduled = 100;
        b.scheduled = 103;
        b.dropped = 1;
        let mut all = a.clone();
        all.merge(&b);
        let s = all.summary(Duration::from_secs(2), Some(101.5));
        assert_eq!((s.ok, s.failed, s.sent, s.dropped), (200, 2, 202, 1));
        assert!((s.p50_ms.expect("p50") - 100.0).abs() <= 0.1, "{s:?}");
        assert!((s.p99_ms.expect("p99") - 198.0).abs() <= 0.2, "{s:?}");
        assert!((s.achieved_rps - 101.0).abs() < 1e-9);
        assert_eq!(s.errors.get("status 503"), Some(&1));
        assert_eq!(s.errors.get("timeout"), Some(&1));
        let back = Recorder::decode_histogram(&all.encode_latency()).expect("decode");
        assert_eq!(back, all.latency);
        assert!(Recorder::decode_histogram("bm90IGEgaGlzdG9ncmFt").is_err());
        let csv = all.latency_csv();
        assert!(csv.starts_with("percentile,latency_ms,count\n"), "{csv}");
        assert!(csv.lines().count() > 10);
    }

    #[test]
    fn an_empty_run_has_no_percentiles() {
        let s = Recorder::default().summary(Duration::from_secs(1), None);
        assert_eq!(s.p99_ms, None);
        assert_eq!(s.error_rate, 0.0);
    }
}
