//! Thresholds as k6 users write them: `p(95)<200ms`, `p99<=1s`, `avg<50`, `error_rate<0.01`,
//! `error_rate<1%`, `dropped<1%`, `dropped<=10`, `rps>=500`, `errors==0`.
//!
//! Latencies are in milliseconds unless a unit says otherwise (`us`, `ms`, `s`); they are
//! measured from each request's intended start. A rate given with `%` is divided by 100.

use std::fmt;

use crate::stats::Summary;

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency percentile (0–100), ms.
    Percentile(f64),
    /// Mean latency, ms.
    Avg,
    /// Median latency, ms.
    Med,
    /// Smallest latency, ms.
    Min,
    /// Largest latency, ms.
    Max,
    /// Failed / sent.
    ErrorRate,
    /// Failed requests.
    Errors,
    /// Requests that could not start on time.
    Dropped,
    /// Dropped / scheduled.
    DroppedRate,
    /// Requests sent per second.
    Rps,
    /// Streaming answers: a percentile of the time to the first event (token), ms.
    FirstToken(f64),
    /// Streaming answers: a percentile of the time between events (inter-token latency), ms.
    InterToken(f64),
}

impl Metric {
    fn is_latency(self) -> bool {
        matches!(
            self,
            Metric::Percentile(_)
                | Metric::Avg
                | Metric::Med
                | Metric::Min
                | Metric::Max
                | Metric::FirstToken(_)
                | Metric::InterToken(_)
        )
    }

    /// The measured value in `s`, `None` when nothing measured it (no success for a latency).
    pub fn measure(self, s: &Summary, percentile: impl Fn(f64) -> Option<f64>) -> Option<f64> {
        match self {
            Metric::Percentile(q) => percentile(q),
            Metric::Avg => s.mean_ms,
            Metric::Med => s.p50_ms,
            Metric::Min => s.min_ms,
            Metric::Max => s.max_ms,
            Metric::ErrorRate => Some(s.error_rate),
            Metric::Errors => Some(s.failed as f64),
            Metric::Dropped => Some(s.dropped as f64),
            Metric::DroppedRate => Some(s.dropped_rate),
            Metric::Rps => Some(s.achieved_rps),
            // Measured from the recorder (see `Threshold::judge_with`).
            Metric::FirstToken(_) | Metric::InterToken(_) => None,
        }
    }

    /// The unit of the measured value (`ms`, ``).
    pub fn unit(self) -> &'static str {
        if self.is_latency() {
            "ms"
        } else if self == Metric::Rps {
            "req/s"
        } else {
            ""
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => (a - b).abs() <= f64::EPSILON * b.abs().max(1.0),
        }
    }
}

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as written (the case's name in reports).
    pub expression: String,
    /// What it measures.
    pub metric: Metric,
    /// How it compares.
    pub op: Op,
    /// The bound, in the metric's unit (ms, a fraction, a count, req/s).
    pub value: f64,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

/// The outcome of one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The threshold.
    pub threshold: Threshold,
    /// What was measured (`None`: nothing to measure).
    pub measured: Option<f64>,
    /// Whether it holds.
    pub passed: bool,
}

impl Verdict {
    /// `p(95)=182.4ms (limit <200ms)`-style text.
    pub fn describe(&self) -> String {
        let t = &self.threshold;
        let unit = t.metric.unit();
        match self.measured {
            Some(v) => format!(
                "measured {} {unit}, limit {} {unit}",
                round(v),
                round(t.value)
            )
            .replace(" ,", ",")
            .trim_end()
            .to_owned(),
            None if matches!(t.metric, Metric::FirstToken(_) | Metric::InterToken(_)) => {
                "nothing to measure: no answer was an event stream (text/event-stream)".to_owned()
            }
            None => "nothing to measure: no request succeeded".to_owned(),
        }
    }
}

fn round(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

impl Threshold {
    /// Parses an expression.
    ///
    /// # Errors
    /// A message naming what is wrong and the accepted forms.
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let expression: String = text.split_whitespace().collect();
        let bad = |why: &str| {
            format!(
                "threshold `{text}`: {why} (write e.g. `p(95)<200ms`, `avg<50ms`, `error_rate<1%`, `dropped<1%`, `rps>=500`)"
            )
        };
        let at = expression
            .find(['<', '>', '='])
            .ok_or_else(|| bad("no comparison (<, <=, >, >=, ==)"))?;
        let (left, rest) = expression.split_at(at);
        let (op, right) = if let Some(r) = rest.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = rest.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = rest.strip_prefix("==") {
            (Op::Eq, r)
        } else if let Some(r) = rest.strip_prefix('<') {
            (Op::Lt, r)
        } else if let Some(r) = rest.strip_prefix('>') {
            (Op::Gt, r)
        } else {
            return Err(bad("`=` alone is not a comparison; use `==`"));
        };
        let name = left.to_ascii_lowercase();
        let mut metric = match name.as_str() {
            "avg" | "mean" => Metric::Avg,
            "med" | "median" => Metric::Med,
            "min" => Metric::Min,
            "max" => Metric::Max,
            "error_rate" | "errors_rate" | "http_req_failed" => Metric::ErrorRate,
            "errors" => Metric::Errors,
            "dropped" | "dropped_iterations" => Metric::Dropped,
            "dropped_rate" => Metric::DroppedRate,
            "rps" | "throughput" => Metric::Rps,
            other if other.starts_with("ttft_") || other.starts_with("itl_") => {
                let (inter, rest) = match other.strip_prefix("ttft_") {
                    Some(r) => (false, r),
                    None => (true, other.trim_start_matches("itl_")),
                };
                let q = rest
                    .strip_prefix("p(")
                    .and_then(|r| r.strip_suffix(')'))
                    .or_else(|| rest.strip_prefix('p'))
                    .and_then(|q| q.parse::<f64>().ok())
                    .filter(|q| (0.0..=100.0).contains(q))
                    .ok_or_else(|| {
                        bad(&format!(
                            "`{left}` is not a percentile such as ttft_p(95) or itl_p99"
                        ))
                    })?;
                if inter {
                    Metric::InterToken(q)
                } else {
                    Metric::FirstToken(q)
                }
            }
            other => {
                let q = other
                    .strip_prefix("p(")
                    .and_then(|r| r.strip_suffix(')'))
                    .or_else(|| other.strip_prefix('p'))
                    .ok_or_else(|| bad(&format!("unknown metric `{left}`")))?;
                let q: f64 = q
                    .parse()
                    .map_err(|_| bad(&format!("`{left}` is not a percentile such as p(95)")))?;
                if !(0.0..=100.0).contains(&q) {
                    return Err(bad("a percentile is between 0 and 100"));
                }
                Metric::Percentile(q)
            }
        };
        if right.is_empty() {
            return Err(bad("no value after the comparison"));
        }
        let (number, unit) = split_unit(right);
        let mut value: f64 = number
            .parse()
            .map_err(|_| bad(&format!("`{right}` is not a number")))?;
        if !value.is_finite() {
            return Err(bad("the value is not a finite number"));
        }
        match (metric.is_latency(), unit) {
            (true, "" | "ms") => {}
            (true, "s") => value *= 1000.0,
            (true, "us" | "µs") => value /= 1000.0,
            (true, "m" | "min") => value *= 60_000.0,
            (false, "%") => {
                value /= 100.0;
                if metric == Metric::Dropped {
                    metric = Metric::DroppedRate;
                }
                if !matches!(metric, Metric::ErrorRate | Metric::DroppedRate) {
                    return Err(bad("`%` goes with error_rate or dropped"));
                }
            }
            (false, "") => {}
            (false, "/s" | "rps") if metric == Metric::Rps => {}
            (_, u) => return Err(bad(&format!("unit `{u}` does not fit `{left}`"))),
        }
        Ok(Threshold {
            expression,
            metric,
            op,
            value,
        })
    }

    /// Judges the threshold against a recorder and its summary (every metric, streaming ones
    /// included).
    pub fn judge_with(&self, rec: &crate::stats::Recorder, s: &Summary) -> Verdict {
        let measured = match self.metric {
            Metric::FirstToken(q) => rec.token_percentile_ms(false, q),
            Metric::InterToken(q) => rec.token_percentile_ms(true, q),
            m => m.measure(s, |q| rec.percentile_ms(q)),
        };
        Verdict {
            threshold: self.clone(),
            measured,
            passed: measured.is_some_and(|m| self.op.holds(m, self.value)),
        }
    }

    /// Judges the threshold against a summary.
    pub fn judge(&self, s: &Summary, percentile: impl Fn(f64) -> Option<f64>) -> Verdict {
        let measured = self.metric.measure(s, percentile);
        Verdict {
            threshold: self.clone(),
            measured,
            passed: measured.is_some_and(|m| self.op.holds(m, self.value)),
        }
    }

    /// Whether the threshold is already lost while the run goes on, whatever happens next: a
    /// count that can only grow past an upper bound, or a rate over `planned` requests whose
    /// failures already exceed it.
    pub fn already_lost(&self, s: &Summary, planned: u64) -> bool {
        let upper = matches!(self.op, Op::Lt | Op::Le | Op::Eq);
        if !upper {
            return false;
        }
        let over = |count: f64| !self.op.holds(count, self.value) && count > self.value;
        match self.metric {
            Metric::Errors => over(s.failed as f64),
            Metric::Dropped => over(s.dropped as f64),
            Metric::ErrorRate if planned > 0 => over(s.failed as f64 / planned as f64),
            Metric::DroppedRate if planned > 0 => over(s.dropped as f64 / planned as f64),
            Metric::Max => s.max_ms.is_some_and(over),
            _ => false,
        }
    }
}

fn split_unit(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(text.len());
    text.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn summary() -> Summary {
        Summary {
            scheduled: 1000,
            sent: 990,
            ok: 980,
            failed: 10,
            dropped: 10,
            error_rate: 10.0 / 990.0,
            dropped_rate: 0.01,
            duration_s: 10.0,
            achieved_rps: 99.0,
            target_rps: Some(100.0),
            p50_ms: Some(20.0),
            p90_ms: Some(40.0),
            p95_ms: Some(50.0),
            p99_ms: Some(180.0),
            p999_ms: Some(900.0),
            max_ms: Some(1000.0),
            min_ms: Some(1.0),
            mean_ms: Some(25.0),
            service_p50_ms: Some(20.0),
            service_p99_ms: Some(30.0),
            first_byte_p50_ms: None,
            first_byte_p99_ms: None,
            first_token_p50_ms: None,
            first_token_p99_ms: None,
            inter_token_p50_ms: None,
            inter_token_p99_ms: None,
            errors: BTreeMap::new(),
            bytes: 0,
        }
    }

    fn pct(q: f64) -> Option<f64> {
        Some(q * 2.0)
    }

    #[test]
    fn k6_style_expressions() {
        let s = summary();
        for (expr, passes) in [
            ("p(95)<200ms", true),
            ("p(95) < 0.1s", false),
            ("p99<=198", true),
            ("p(99.9)<199", false),
            ("avg<30ms", true),
            ("med>=20", true),
            ("max<1s", false),
            ("max<=1s", true),
            ("min<2000us", true),
            ("error_rate<0.01", false),
            ("error_rate<2%", true),
            ("dropped<1%", false),
            ("dropped<=1%", true),
            ("dropped<=10", true),
            ("errors==10", true),
            ("rps>=100", false),
            ("rps>95", true),
        ] {
            let t = Threshold::parse(expr).expect(expr);
            assert_eq!(t.judge(&s, pct).passed, passes, "{expr}: {t:?}");
        }
        assert_eq!(
            Threshold::parse("p(95) < 200 ms").expect("p").expression,
            "p(95)<200ms"
        );
    }

    #[test]
    fn streaming_metrics_parse() {
        let t = Threshold::parse("ttft_p(95)<500ms").expect("ttft");
        assert_eq!(t.metric, Metric::FirstToken(95.0));
        assert_eq!(t.value, 500.0);
        let t = Threshold::parse("itl_p99 < 0.05s").expect("itl");
        assert_eq!(t.metric, Metric::InterToken(99.0));
        assert_eq!(t.value, 50.0);
        assert!(
            Threshold::parse("ttft_avg<3")
                .expect_err("avg")
                .contains("ttft_p(95)")
        );
        let v = t.judge(&summary(), |_| None);
        assert!(!v.passed);
        assert!(
            v.describe().contains("text/event-stream"),
            "{}",
            v.describe()
        );
    }

    #[test]
    fn bad_expressions_say_why() {
        for (expr, why) in [
            ("p95", "no comparison"),
            ("latency<3", "unknown metric `latency`"),
            ("p(101)<3", "between 0 and 100"),
            ("p95<", "no value"),
            ("p95<fast", "not a number"),
            ("p95<3kg", "unit `kg`"),
            ("rps<5%", "`%` goes with"),
            ("p95=3", "use `=="),
        ] {
            let e = Threshold::parse(expr).expect_err(expr);
            assert!(e.contains(why), "{expr}: {e}");
            assert!(e.contains("p(95)<200ms"), "{e}");
        }
    }

    #[test]
    fn nothing_measured_fails_and_says_so() {
        let mut s = summary();
        s.p99_ms = None;
        let v = Threshold::parse("p99<100").expect("t").judge(&s, |_| None);
        assert!(!v.passed);
        assert!(v.describe().contains("no request succeeded"));
        let v = Threshold::parse("p(95)<200ms")
            .expect("t")
            .judge(&summary(), pct);
        assert_eq!(v.describe(), "measured 190 ms, limit 200 ms");
    }

    #[test]
    fn counts_are_lost_early() {
        let s = summary();
        assert!(
            Threshold::parse("errors<5")
                .expect("t")
                .already_lost(&s, 2000)
        );
        assert!(
            !Threshold::parse("errors<50")
                .expect("t")
                .already_lost(&s, 2000)
        );
        // 10 failures of 2000 planned: 0.5%, not yet above 1%.
        assert!(
            !Threshold::parse("error_rate<1%")
                .expect("t")
                .already_lost(&s, 2000)
        );
        assert!(
            Threshold::parse("error_rate<0.1%")
                .expect("t")
                .already_lost(&s, 2000)
        );
        assert!(!Threshold::parse("p99<1").expect("t").already_lost(&s, 2000));
        assert!(
            !Threshold::parse("rps>1000")
                .expect("t")
                .already_lost(&s, 2000)
        );
    }
}
