//! The judgement: each metric classified from its two samples, groups scored, a verdict.
//!
//! Per metric (as Kayenta's NetflixACAJudge does): a two-sided Mann-Whitney U test of the
//! canary against the baseline, and the Hodges-Lehmann estimate of the canary's shift (the
//! median of all canary - baseline differences) with its distribution-free confidence interval.
//! The metric is **high** (or **low**) when the test is significant at `1 - confidence` and the
//! estimated shift is beyond what is tolerated: `tolerance` times the baseline's median (in
//! absolute value) plus `tolerance_abs`. It fails when that is the bad direction. A metric with
//! fewer than `min_samples` finite samples on a side has no data and follows its `nodata` rule.
//!
//! A group's score is the share of its judged metrics that passed (0-100); the overall score is
//! the weighted mean over the groups with a judged metric. The verdict: Inconclusive when nothing
//! could be judged, a metric's data could not be read, or a metric whose `nodata` is
//! `inconclusive` had none; Fail when a critical metric failed; otherwise Pass from `pass_score`,
//! Marginal from `marginal_score`, else Fail.

use modelci_config::canary::{CanarySuite, Direction, Metric, NoData};
use modelci_metrics::rank::{self, Alternative, HodgesLehmann};

/// The judgement's settings (from the suite).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Of the test and the interval.
    pub confidence: f64,
    /// Pass from this score.
    pub pass_score: f64,
    /// Marginal from this score.
    pub marginal_score: f64,
    /// Samples needed on each side.
    pub min_samples: usize,
}

impl Settings {
    /// A suite's settings.
    pub fn of(suite: &CanarySuite) -> Settings {
        Settings {
            confidence: suite.confidence,
            pass_score: suite.pass_score,
            marginal_score: suite.marginal_score,
            min_samples: suite.min_samples,
        }
    }
}

/// One metric's samples, or why there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// The baseline's.
    pub baseline: Vec<f64>,
    /// The canary's.
    pub canary: Vec<f64>,
}

/// How a metric compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// No significant shift beyond the tolerance.
    Pass,
    /// The canary is significantly higher, beyond the tolerance.
    High,
    /// The canary is significantly lower, beyond the tolerance.
    Low,
    /// Too few samples on a side.
    NoData,
    /// Its samples could not be had (a query or a file failed).
    Error,
}

impl Class {
    /// Kayenta's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Pass => "Pass",
            Class::High => "High",
            Class::Low => "Low",
            Class::NoData => "NoData",
            Class::Error => "Error",
        }
    }
}

/// The figures of one side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Side {
    /// Finite samples.
    pub count: usize,
    /// Samples left out because they were NaN or infinite.
    pub dropped: usize,
    /// Their median (NaN when there are none).
    pub median: f64,
    /// Their mean (NaN when there are none).
    pub mean: f64,
}

/// One metric, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    /// The metric.
    pub metric: Metric,
    /// How it compares.
    pub class: Class,
    /// Whether it counts as failed (bad direction, or no data with `nodata = "fail"`).
    pub bad: bool,
    /// The baseline's figures.
    pub baseline: Side,
    /// The canary's.
    pub canary: Side,
    /// The Mann-Whitney U statistic of the canary.
    pub u: Option<f64>,
    /// Its two-sided p-value.
    pub p_value: Option<f64>,
    /// The canary's shift with its interval.
    pub shift: Option<HodgesLehmann>,
    /// The shift relative to the baseline's median (None when that is 0).
    pub relative: Option<f64>,
    /// The shift tolerated (in the metric's unit).
    pub allowed: f64,
    /// Why it has no class (an error, or no data).
    pub reason: Option<String>,
}

/// One group's score.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupScore {
    /// Its name.
    pub name: String,
    /// Its weight.
    pub weight: f64,
    /// Metrics judged (classified, or failed for lack of data).
    pub judged: usize,
    /// Of those, passed.
    pub passed: usize,
    /// 100 * passed / judged (None when nothing was judged).
    pub score: Option<f64>,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Promote.
    Pass,
    /// Between the thresholds: review.
    Marginal,
    /// Roll back.
    Fail,
    /// Not enough to tell.
    Inconclusive,
}

impl Verdict {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "Pass",
            Verdict::Marginal => "Marginal",
            Verdict::Fail => "Fail",
            Verdict::Inconclusive => "Inconclusive",
        }
    }
}

/// The whole judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Per metric, in the configuration's order.
    pub metrics: Vec<MetricResult>,
    /// Per group, in first-use order.
    pub groups: Vec<GroupScore>,
    /// The weighted score (None when nothing was judged).
    pub score: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why (one sentence each).
    pub reasons: Vec<String>,
}

/// `xs` sorted, without non-finite values; and how many were dropped.
fn finite_sorted(xs: &[f64]) -> (Vec<f64>, usize) {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    let dropped = xs.len() - v.len();
    v.sort_unstable_by(f64::total_cmp);
    (v, dropped)
}

fn side(sorted: &[f64], dropped: usize) -> Side {
    let n = sorted.len();
    let median = match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    #[expect(
        clippy::cast_precision_loss,
        reason = "sample counts are far below 2^52"
    )]
    let mean = if n == 0 {
        f64::NAN
    } else {
        sorted.iter().sum::<f64>() / n as f64
    };
    Side {
        count: n,
        dropped,
        median,
        mean,
    }
}

/// Judges one metric from its samples (or the error that kept them away).
pub fn judge_metric(
    metric: &Metric,
    samples: Result<&Samples, &str>,
    settings: &Settings,
) -> MetricResult {
    let empty = Side {
        count: 0,
        dropped: 0,
        median: f64::NAN,
        mean: f64::NAN,
    };
    let mut result = MetricResult {
        metric: metric.clone(),
        class: Class::Error,
        bad: false,
        baseline: empty,
        canary: empty,
        u: None,
        p_value: None,
        shift: None,
        relative: None,
        allowed: metric.tolerance_abs,
        reason: None,
    };
    let samples = match samples {
        Ok(s) => s,
        Err(why) => {
            result.reason = Some(why.to_owned());
            return result;
        }
    };
    let (b, b_dropped) = finite_sorted(&samples.baseline);
    let (c, c_dropped) = finite_sorted(&samples.canary);
    result.baseline = side(&b, b_dropped);
    result.canary = side(&c, c_dropped);
    result.allowed = metric.tolerance * result.baseline.median.abs() + metric.tolerance_abs;
    if !result.allowed.is_finite() {
        result.allowed = metric.tolerance_abs;
    }
    if b.len() < settings.min_samples || c.len() < settings.min_samples {
        result.class = Class::NoData;
        result.bad = metric.nodata == NoData::Fail;
        result.reason = Some(format!(
            "too few samples: baseline {}, canary {} (at least {} on each side)",
            b.len(),
            c.len(),
            settings.min_samples
        ));
        return result;
    }
    // Sorted once for both tests (the samples are already finite and sorted).
    let (cs, bs) = (rank::Sorted::from_vec(c), rank::Sorted::from_vec(b));
    let (test, shift) = match (&cs, &bs) {
        (Some(cs), Some(bs)) => (
            rank::mann_whitney_u_sorted(cs, bs, Alternative::TwoSided),
            rank::hodges_lehmann_sorted(cs, bs, settings.confidence),
        ),
        _ => (None, None),
    };
    result.u = test.as_ref().map(|t| t.u);
    result.p_value = test.as_ref().map(|t| t.p_value);
    result.relative = shift.as_ref().and_then(|s| {
        (result.baseline.median != 0.0).then(|| s.estimate / result.baseline.median.abs())
    });
    let significant = result
        .p_value
        .is_some_and(|p| p < 1.0 - settings.confidence);
    let estimate = shift.as_ref().map_or(0.0, |s| s.estimate);
    result.shift = shift;
    result.class = if significant && estimate > result.allowed {
        Class::High
    } else if significant && estimate < -result.allowed {
        Class::Low
    } else {
        Class::Pass
    };
    result.bad = matches!(
        (metric.direction, result.class),
        (Direction::Increase | Direction::Either, Class::High)
            | (Direction::Decrease | Direction::Either, Class::Low)
    );
    result
}

/// Scores the metrics' results and gives the verdict.
pub fn score(
    metrics: Vec<MetricResult>,
    groups: &[(String, f64)],
    settings: &Settings,
) -> Judgement {
    let mut scores: Vec<GroupScore> = groups
        .iter()
        .map(|(name, weight)| GroupScore {
            name: name.clone(),
            weight: *weight,
            judged: 0,
            passed: 0,
            score: None,
        })
        .collect();
    let mut reasons = Vec::new();
    let mut inconclusive = false;
    for m in &metrics {
        let Some(g) = scores.iter_mut().find(|g| g.name == m.metric.group) else {
            continue;
        };
        match m.class {
            Class::Pass | Class::High | Class::Low => {
                g.judged += 1;
                if !m.bad {
                    g.passed += 1;
                }
            }
            Class::NoData => match m.metric.nodata {
                NoData::Fail => g.judged += 1,
                NoData::Inconclusive => {
                    inconclusive = true;
                    reasons.push(format!(
                        "metric `{}` has no data and its `nodata` is `inconclusive`",
                        m.metric.name
                    ));
                }
                NoData::Ignore => {}
            },
            Class::Error => {
                inconclusive = true;
                reasons.push(format!("metric `{}` could not be read", m.metric.name));
            }
        }
    }
    let mut total = 0.0;
    let mut weights = 0.0;
    for g in &mut scores {
        if g.judged > 0 {
            #[expect(clippy::cast_precision_loss, reason = "metric counts are small")]
            let s = 100.0 * g.passed as f64 / g.judged as f64;
            g.score = Some(s);
            total += g.weight * s;
            weights += g.weight;
        }
    }
    let score = (weights > 0.0).then(|| total / weights);
    let critical: Vec<&str> = metrics
        .iter()
        .filter(|m| m.metric.critical && m.bad)
        .map(|m| m.metric.name.as_str())
        .collect();
    let verdict = if inconclusive {
        Verdict::Inconclusive
    } else if let Some(s) = score {
        if !critical.is_empty() {
            reasons.push(format!(
                "critical metric{} {} failed",
                if critical.len() == 1 { "" } else { "s" },
                critical
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            Verdict::Fail
        } else if s >= settings.pass_score {
            Verdict::Pass
        } else if s >= settings.marginal_score {
            Verdict::Marginal
        } else {
            Verdict::Fail
        }
    } else {
        reasons.push("no metric had enough data to judge".to_owned());
        Verdict::Inconclusive
    };
    Judgement {
        metrics,
        groups: scores,
        score,
        verdict,
        reasons,
    }
}

/// Judges every metric (on up to `jobs` threads) and scores them.
pub fn judge(
    suite: &CanarySuite,
    samples: &[Result<Samples, String>],
    settings: &Settings,
    jobs: usize,
) -> Judgement {
    let results = crate::parallel::map(&suite.metrics, jobs, |i, m| {
        judge_metric(m, samples[i].as_ref().map_err(String::as_str), settings)
    });
    score(results, &suite.groups, settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, direction: Direction) -> Metric {
        Metric {
            name: name.to_owned(),
            query: None,
            column: name.to_owned(),
            direction,
            tolerance: 0.05,
            tolerance_abs: 0.0,
            critical: false,
            nodata: NoData::Ignore,
            group: "default".to_owned(),
        }
    }

    const SETTINGS: Settings = Settings {
        confidence: 0.95,
        pass_score: 95.0,
        marginal_score: 75.0,
        min_samples: 10,
    };

    /// `n` values spread evenly around `center` (deterministic, no ties).
    fn around(center: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| center + ((i * 37) % n) as f64 / n as f64 - 0.5)
            .collect()
    }

    fn samples(b: Vec<f64>, c: Vec<f64>) -> Samples {
        Samples {
            baseline: b,
            canary: c,
        }
    }

    #[test]
    fn a_clearly_higher_canary_is_high_and_fails_an_increase_metric() {
        let s = samples(around(100.0, 200), around(130.0, 200));
        let r = judge_metric(&metric("latency", Direction::Increase), Ok(&s), &SETTINGS);
        assert_eq!(r.class, Class::High);
        assert!(r.bad);
        let shift = r.shift.expect("shift");
        assert!((shift.estimate - 30.0).abs() < 0.1, "{shift:?}");
        assert!(r.p_value.expect("p") < 1e-10);
        assert!((r.relative.expect("relative") - 0.3).abs() < 0.01);
        // The same shift is good news for a metric whose decrease is bad.
        let r = judge_metric(&metric("rps", Direction::Decrease), Ok(&s), &SETTINGS);
        assert_eq!(r.class, Class::High);
        assert!(!r.bad);
    }

    #[test]
    fn a_significant_shift_within_the_tolerance_passes() {
        // +1% on a median of 100: significant with 2000 samples, but under 5%.
        let s = samples(around(100.0, 2000), around(101.0, 2000));
        let r = judge_metric(&metric("latency", Direction::Increase), Ok(&s), &SETTINGS);
        assert!(r.p_value.expect("p") < 0.05);
        assert_eq!(r.class, Class::Pass);
        assert!(!r.bad);
        assert!((r.allowed - 5.0).abs() < 0.01);
    }

    #[test]
    fn identical_samples_pass_and_nan_is_dropped() {
        let mut b = around(10.0, 50);
        b.push(f64::NAN);
        let s = samples(b, around(10.0, 50));
        let r = judge_metric(&metric("m", Direction::Either), Ok(&s), &SETTINGS);
        assert_eq!(r.class, Class::Pass);
        assert_eq!(r.baseline.dropped, 1);
        assert_eq!(r.baseline.count, 50);
    }

    #[test]
    fn too_few_samples_is_no_data_and_follows_the_rule() {
        let s = samples(around(10.0, 5), around(10.0, 50));
        let mut m = metric("m", Direction::Increase);
        let r = judge_metric(&m, Ok(&s), &SETTINGS);
        assert_eq!(r.class, Class::NoData);
        assert!(!r.bad);
        m.nodata = NoData::Fail;
        assert!(judge_metric(&m, Ok(&s), &SETTINGS).bad);
    }

    #[test]
    fn groups_are_weighted_and_critical_metrics_fail_the_verdict() {
        let good = samples(around(100.0, 100), around(100.0, 100));
        let worse = samples(around(100.0, 100), around(150.0, 100));
        let mut a = metric("a", Direction::Increase);
        a.group = "latency".to_owned();
        let mut b = metric("b", Direction::Increase);
        b.group = "latency".to_owned();
        let mut c = metric("c", Direction::Increase);
        c.group = "errors".to_owned();
        let groups = [("latency".to_owned(), 3.0), ("errors".to_owned(), 1.0)];
        let results = vec![
            judge_metric(&a, Ok(&good), &SETTINGS),
            judge_metric(&b, Ok(&worse), &SETTINGS),
            judge_metric(&c, Ok(&good), &SETTINGS),
        ];
        let j = score(results.clone(), &groups, &SETTINGS);
        // latency 50 (weight 3), errors 100 (weight 1): 62.5.
        assert_eq!(j.groups[0].score, Some(50.0));
        assert_eq!(j.groups[1].score, Some(100.0));
        assert_eq!(j.score, Some(62.5));
        assert_eq!(j.verdict, Verdict::Fail);
        let lenient = Settings {
            marginal_score: 60.0,
            ..SETTINGS
        };
        assert_eq!(
            score(results.clone(), &groups, &lenient).verdict,
            Verdict::Marginal
        );
        // With `b` critical, a passing score still fails.
        let mut results = results;
        results[1].metric.critical = true;
        let easy = Settings {
            pass_score: 50.0,
            marginal_score: 10.0,
            ..SETTINGS
        };
        let j = score(results, &groups, &easy);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.reasons[0].contains("critical metric `b` failed"), "{j:?}");
    }

    #[test]
    fn nothing_judged_or_an_unreadable_metric_is_inconclusive() {
        let few = samples(vec![1.0], vec![1.0]);
        let m = metric("m", Direction::Increase);
        let j = score(
            vec![judge_metric(&m, Ok(&few), &SETTINGS)],
            &[("default".to_owned(), 1.0)],
            &SETTINGS,
        );
        assert_eq!(j.verdict, Verdict::Inconclusive);
        assert_eq!(j.score, None);
        let j = score(
            vec![judge_metric(&m, Err("the query failed"), &SETTINGS)],
            &[("default".to_owned(), 1.0)],
            &SETTINGS,
        );
        assert_eq!(j.verdict, Verdict::Inconclusive);
        assert_eq!(j.metrics[0].reason.as_deref(), Some("the query failed"));
    }
}
