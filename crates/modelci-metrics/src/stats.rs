//! Paired comparison of a candidate model with a baseline on the same rows.
//!
//! - [`mcnemar`]: McNemar's test on per-row correctness. With fewer than
//!   [`MCNEMAR_EXACT_BELOW`] discordant pairs it is the exact two-sided binomial test
//!   (`p = min(1, 2·P[X ≤ min(b, c)])`, `X ~ Binomial(b + c, ½)`), otherwise the chi-square test
//!   with continuity correction (`(|b − c| − 1)² / (b + c)`, 1 degree of freedom), as statsmodels'
//!   `mcnemar(exact=True)` / `mcnemar(exact=False, correction=True)`. Distributions from `statrs`.
//! - [`paired_bootstrap`]: the percentile confidence interval of `candidate − baseline` for any
//!   metric, given as a [`PairedMetric`] (a closure or a type) computed on a list of row indices.
//!   Each resample draws `rows` indices with replacement into a reused buffer (one per thread)
//!   and evaluates both models on the same indices. Resamples run in parallel
//!   (`std::thread::scope`), each on its own [`crate::rng`] stream, so the interval depends only
//!   on the seed.
//!
//! Both say when the sample is too small to tell ([`SmallSample`]): too few rows or discordant
//! pairs, too many resamples on which the metric is undefined, or an interval that straddles the
//! bound the gate compares with ([`PairedBootstrap::verdict`]). The gate turns those into warnings.

use serde::Serialize;
use statrs::distribution::{Binomial, ChiSquared, ContinuousCDF, DiscreteCDF};

use crate::bootstrap::{BootstrapOptions, ConfidenceInterval, percentile_interval};
use crate::rng::Streams;
use crate::sum::sum;
use crate::{MetricsError, parallel};

/// Below this many discordant pairs McNemar's test is exact (binomial); from it on, chi-square.
pub const MCNEMAR_EXACT_BELOW: u64 = 25;

/// Which form of McNemar's test was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum McNemarMethod {
    /// Exact two-sided binomial test; the statistic is `min(b, c)`.
    ExactBinomial,
    /// Chi-square with continuity correction; the statistic is `(|b − c| − 1)² / (b + c)`.
    ChiSquareCorrected,
}

/// The outcome of McNemar's test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McNemar {
    /// Rows compared.
    pub rows: usize,
    /// Rows both models get right.
    pub both_correct: u64,
    /// Rows only the baseline gets right (`b`).
    pub baseline_only: u64,
    /// Rows only the candidate gets right (`c`).
    pub candidate_only: u64,
    /// Rows both get wrong.
    pub both_wrong: u64,
    /// The form of the test.
    pub method: McNemarMethod,
    /// The test statistic (see [`McNemarMethod`]).
    pub statistic: f64,
    /// Two-sided p-value of "both models are equally often right where they disagree".
    pub p_value: f64,
}

impl McNemar {
    /// From the two discordant counts alone: `b` rows only the baseline gets right, `c` rows only
    /// the candidate gets right (the concordant counts are left at 0 and `rows` at `b + c`).
    #[must_use]
    pub fn from_discordant(baseline_only: u64, candidate_only: u64) -> Self {
        let (b, c) = (baseline_only, candidate_only);
        // Counts near u64::MAX must not overflow (a panic in debug builds, a wrong test after
        // wrapping in release ones); the chi-square statistic hardly changes.
        let n = b.saturating_add(c);
        let (method, statistic, p_value) = if n < MCNEMAR_EXACT_BELOW {
            let k = b.min(c);
            // Binomial::new only fails for p outside [0, 1]; 0.5 is inside.
            let p = Binomial::new(0.5, n).map_or(1.0, |d| (2.0 * d.cdf(k)).min(1.0));
            (McNemarMethod::ExactBinomial, k as f64, p)
        } else {
            let diff = b.abs_diff(c) as f64 - 1.0;
            let stat = diff * diff / n as f64;
            // ChiSquared::new only fails for non-positive degrees of freedom.
            let p = ChiSquared::new(1.0).map_or(1.0, |d| d.sf(stat));
            (McNemarMethod::ChiSquareCorrected, stat, p)
        };
        Self {
            rows: usize::try_from(n).unwrap_or(usize::MAX),
            both_correct: 0,
            baseline_only: b,
            candidate_only: c,
            both_wrong: 0,
            method,
            statistic,
            p_value,
        }
    }

    /// Discordant pairs (`b + c`).
    #[must_use]
    pub fn discordant(&self) -> u64 {
        self.baseline_only.saturating_add(self.candidate_only)
    }

    /// [`SmallSample::TooFewDiscordantPairs`] when fewer than `min` rows are discordant.
    #[must_use]
    pub fn small_sample(&self, min: u64) -> Option<SmallSample> {
        (self.discordant() < min).then_some(SmallSample::TooFewDiscordantPairs {
            discordant: self.discordant(),
            min,
        })
    }
}

/// McNemar's test of two models' per-row correctness on the same rows.
///
/// # Errors
/// Empty input, or lengths that differ.
pub fn mcnemar(
    baseline_correct: &[bool],
    candidate_correct: &[bool],
) -> Result<McNemar, MetricsError> {
    let n = baseline_correct.len();
    if n == 0 {
        return Err(MetricsError::Empty {
            what: "baseline_correct",
        });
    }
    if candidate_correct.len() != n {
        return Err(MetricsError::LengthMismatch {
            what: "candidate_correct",
            expected: n,
            actual: candidate_correct.len(),
        });
    }
    let mut table = [0_u64; 4];
    for (&b, &c) in baseline_correct.iter().zip(candidate_correct) {
        table[usize::from(b) * 2 + usize::from(c)] += 1;
    }
    let mut result = McNemar::from_discordant(table[2], table[1]);
    result.rows = n;
    result.both_correct = table[3];
    result.both_wrong = table[0];
    Ok(result)
}

/// Per-row correctness `y_true[i] == y_pred[i]`, the input of [`mcnemar`].
///
/// # Errors
/// Empty input, or lengths that differ.
pub fn correctness(y_true: &[u32], y_pred: &[u32]) -> Result<Vec<bool>, MetricsError> {
    if y_true.is_empty() {
        return Err(MetricsError::Empty { what: "y_true" });
    }
    if y_pred.len() != y_true.len() {
        return Err(MetricsError::LengthMismatch {
            what: "y_pred",
            expected: y_true.len(),
            actual: y_pred.len(),
        });
    }
    Ok(y_true.iter().zip(y_pred).map(|(t, p)| t == p).collect())
}

/// The model a [`PairedMetric`] is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// The current (champion) model.
    Baseline,
    /// The model that wants to ship.
    Candidate,
}

impl Model {
    fn as_str(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::Candidate => "candidate",
        }
    }
}

/// A metric of either model on a multiset of rows (indices may repeat).
///
/// Implemented for every `Fn(Model, &[usize]) -> Option<f64> + Sync` closure. Return `None`
/// where the metric is undefined on those rows (say, ROC AUC of a resample with one class).
pub trait PairedMetric: Sync {
    /// The metric of `model` on `rows`.
    fn compute(&self, model: Model, rows: &[usize]) -> Option<f64>;
}

impl<F> PairedMetric for F
where
    F: Fn(Model, &[usize]) -> Option<f64> + Sync,
{
    fn compute(&self, model: Model, rows: &[usize]) -> Option<f64> {
        self(model, rows)
    }
}

/// Options of [`paired_bootstrap`].
#[derive(Debug, Clone, PartialEq)]
pub struct PairedBootstrapOptions {
    /// Resamples, confidence, seed and threads.
    pub bootstrap: BootstrapOptions,
    /// Fewer rows than this are "too small to tell" (default 30).
    pub min_rows: usize,
    /// More than this share of resamples with an undefined metric is "too small to tell"
    /// (default 0.01).
    pub max_undefined_share: f64,
}

impl Default for PairedBootstrapOptions {
    fn default() -> Self {
        Self {
            bootstrap: BootstrapOptions::default(),
            min_rows: 30,
            max_undefined_share: 0.01,
        }
    }
}

/// Why a comparison cannot tell: the gate should warn rather than decide.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SmallSample {
    /// Fewer rows than the minimum.
    TooFewRows {
        /// Rows compared.
        rows: usize,
        /// The minimum asked for.
        min: usize,
    },
    /// Fewer discordant pairs than the minimum (McNemar).
    TooFewDiscordantPairs {
        /// Rows where exactly one model is right.
        discordant: u64,
        /// The minimum asked for.
        min: u64,
    },
    /// The metric was undefined on too many resamples.
    TooManyUndefinedResamples {
        /// Resamples where either model's metric was undefined.
        undefined: usize,
        /// Resamples drawn.
        resamples: usize,
    },
    /// The confidence interval contains the bound the gate compares with.
    IntervalStraddlesBound {
        /// Lower end of the interval.
        low: f64,
        /// Upper end of the interval.
        high: f64,
        /// The bound.
        bound: f64,
    },
}

impl std::fmt::Display for SmallSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooFewRows { rows, min } => {
                write!(f, "only {rows} rows, fewer than the {min} needed to tell")
            }
            Self::TooFewDiscordantPairs { discordant, min } => write!(
                f,
                "only {discordant} rows where the models disagree on correctness, fewer than {min}"
            ),
            Self::TooManyUndefinedResamples {
                undefined,
                resamples,
            } => write!(
                f,
                "the metric was undefined on {undefined} of {resamples} resamples"
            ),
            Self::IntervalStraddlesBound { low, high, bound } => write!(
                f,
                "the confidence interval [{low}, {high}] of the difference contains the bound {bound}"
            ),
        }
    }
}

/// The outcome of [`paired_bootstrap`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedBootstrap {
    /// Rows compared.
    pub rows: usize,
    /// The baseline's metric on all rows.
    pub baseline: f64,
    /// The candidate's metric on all rows.
    pub candidate: f64,
    /// `candidate − baseline` on all rows.
    pub delta: f64,
    /// Percentile interval of the resampled deltas; `None` if no resample was defined.
    pub interval: Option<ConfidenceInterval>,
    /// Standard deviation of the resampled deltas (the bootstrap standard error), when at least
    /// two were defined.
    pub standard_error: Option<f64>,
    /// Resamples on which either model's metric was undefined.
    pub undefined_resamples: usize,
    /// Reasons the sample is too small to tell, independent of any bound.
    pub small_sample: Vec<SmallSample>,
}

/// Where the difference lies relative to a bound.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", content = "reasons", rename_all = "snake_case")]
pub enum Verdict {
    /// The whole interval is at or above the bound.
    AtOrAbove,
    /// The whole interval is below the bound.
    Below,
    /// The sample cannot tell; the reasons say why.
    TooSmallToTell(Vec<SmallSample>),
}

impl PairedBootstrap {
    /// Compares the interval of `candidate − baseline` with `bound` (for "the candidate may be
    /// at most 0.01 worse", `bound = -0.01`). Any [`PairedBootstrap::small_sample`] reason, or an
    /// interval containing the bound (strictly below it at the low end, at or above it at the
    /// high end), makes it [`Verdict::TooSmallToTell`].
    #[must_use]
    pub fn verdict(&self, bound: f64) -> Verdict {
        let mut reasons = self.small_sample.clone();
        let position = match &self.interval {
            Some(ci) if ci.low >= bound => Some(Verdict::AtOrAbove),
            Some(ci) if ci.high < bound => Some(Verdict::Below),
            Some(ci) => {
                reasons.push(SmallSample::IntervalStraddlesBound {
                    low: ci.low,
                    high: ci.high,
                    bound,
                });
                None
            }
            None => {
                // No resample was defined: undefined == resamples.
                let all_undefined = SmallSample::TooManyUndefinedResamples {
                    undefined: self.undefined_resamples,
                    resamples: self.undefined_resamples,
                };
                if !reasons.contains(&all_undefined) {
                    reasons.push(all_undefined);
                }
                None
            }
        };
        match position {
            Some(v) if reasons.is_empty() => v,
            _ => Verdict::TooSmallToTell(reasons),
        }
    }
}

/// Paired bootstrap of `metric(candidate) − metric(baseline)` over `rows` rows (indices
/// `0..rows`), as described in the [module docs](self).
///
/// ```
/// use modelci_metrics::stats::{Model, PairedBootstrapOptions, paired_bootstrap};
///
/// let baseline = [true, false, true, true, false, true, true, true];
/// let candidate = [true, true, true, true, false, true, true, false];
/// let accuracy = |model: Model, rows: &[usize]| {
///     let correct = match model {
///         Model::Baseline => &baseline,
///         Model::Candidate => &candidate,
///     };
///     Some(rows.iter().filter(|&&r| correct[r]).count() as f64 / rows.len() as f64)
/// };
/// let result = paired_bootstrap(8, &accuracy, &PairedBootstrapOptions::default()).unwrap();
/// assert_eq!(result.delta, 0.0);
/// assert!(!result.small_sample.is_empty()); // 8 rows: too small to tell
/// ```
///
/// # Errors
/// No rows, invalid options, or a metric undefined on the full sample.
pub fn paired_bootstrap<M: PairedMetric + ?Sized>(
    rows: usize,
    metric: &M,
    options: &PairedBootstrapOptions,
) -> Result<PairedBootstrap, MetricsError> {
    let b = &options.bootstrap;
    b.validate()?;
    if rows == 0 {
        return Err(MetricsError::Empty { what: "rows" });
    }
    if !(0.0..=1.0).contains(&options.max_undefined_share) {
        return Err(MetricsError::InvalidOption {
            option: "max_undefined_share",
            reason: format!("{} is not in [0, 1]", options.max_undefined_share),
        });
    }
    let all: Vec<usize> = (0..rows).collect();
    let observed = |model: Model| {
        metric.compute(model, &all).filter(|v| v.is_finite()).ok_or(
            MetricsError::UndefinedOnSample {
                model: model.as_str(),
                rows,
            },
        )
    };
    let baseline = observed(Model::Baseline)?;
    let candidate = observed(Model::Candidate)?;
    drop(all);

    let streams = Streams::new(b.seed, b.resamples);
    let deltas: Vec<Option<f64>> = parallel::map(
        b.resamples,
        b.threads,
        || vec![0_usize; rows],
        |buffer, i| {
            streams.stream(i).fill_indices(rows, buffer);
            let base = metric.compute(Model::Baseline, buffer)?;
            let cand = metric.compute(Model::Candidate, buffer)?;
            Some(cand - base).filter(|d| d.is_finite())
        },
    );
    let mut defined: Vec<f64> = deltas.into_iter().flatten().collect();
    let undefined = b.resamples - defined.len();
    let standard_error = (defined.len() >= 2).then(|| {
        let k = defined.len() as f64;
        let mean = sum(defined.iter().copied()) / k;
        (sum(defined.iter().map(|d| (d - mean) * (d - mean))) / (k - 1.0)).sqrt()
    });
    let interval = percentile_interval(&mut defined, b.confidence, b.resamples);

    let mut small_sample = Vec::new();
    if rows < options.min_rows {
        small_sample.push(SmallSample::TooFewRows {
            rows,
            min: options.min_rows,
        });
    }
    if undefined as f64 > options.max_undefined_share * b.resamples as f64 {
        small_sample.push(SmallSample::TooManyUndefinedResamples {
            undefined,
            resamples: b.resamples,
        });
    }
    Ok(PairedBootstrap {
        rows,
        baseline,
        candidate,
        delta: candidate - baseline,
        interval,
        standard_error,
        undefined_resamples: undefined,
        small_sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_exact_small() {
        // statsmodels: mcnemar([[10, 2], [8, 5]], exact=True) -> statistic 2, p 0.109375
        let r = McNemar::from_discordant(2, 8);
        assert_eq!(r.method, McNemarMethod::ExactBinomial);
        assert_eq!(r.statistic, 2.0);
        assert!((r.p_value - 0.109_375).abs() < 1e-12, "{}", r.p_value);
        let r = McNemar::from_discordant(0, 0);
        assert_eq!(r.p_value, 1.0);
        let r = McNemar::from_discordant(3, 3);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn mcnemar_chi_square_large() {
        // statsmodels: mcnemar([[0, 10], [30, 0]], exact=False, correction=True)
        //   statistic = (20 - 1)^2 / 40 = 9.025, p = 0.002663119...
        let r = McNemar::from_discordant(10, 30);
        assert_eq!(r.method, McNemarMethod::ChiSquareCorrected);
        assert!((r.statistic - 9.025).abs() < 1e-12);
        assert!(
            (r.p_value - 0.002_663_119_259_744_9).abs() < 1e-9,
            "{}",
            r.p_value
        );
        assert!(r.small_sample(50).is_some());
        assert!(r.small_sample(40).is_none());
    }

    #[test]
    fn mcnemar_huge_counts_do_not_overflow() {
        let r = McNemar::from_discordant(u64::MAX, 1);
        assert_eq!(r.method, McNemarMethod::ChiSquareCorrected);
        assert!(r.p_value.is_finite() && r.p_value < 1e-9, "{}", r.p_value);
        assert_eq!(r.discordant(), u64::MAX);
        assert!(r.small_sample(u64::MAX).is_none());
        let r = McNemar::from_discordant(u64::MAX, u64::MAX);
        assert!(r.p_value.is_finite(), "{}", r.p_value);
    }

    #[test]
    fn mcnemar_from_rows() {
        let base = [true, true, false, false, true];
        let cand = [true, false, true, true, false];
        let r = mcnemar(&base, &cand).unwrap();
        assert_eq!(
            (
                r.both_correct,
                r.baseline_only,
                r.candidate_only,
                r.both_wrong
            ),
            (1, 2, 2, 0)
        );
        assert_eq!(r.rows, 5);
        assert!(mcnemar(&[], &[]).is_err());
        assert!(mcnemar(&[true], &[]).is_err());
    }

    fn accuracy_pair<'a>(
        base: &'a [bool],
        cand: &'a [bool],
    ) -> impl Fn(Model, &[usize]) -> Option<f64> + Sync + 'a {
        move |model, rows| {
            let correct = match model {
                Model::Baseline => base,
                Model::Candidate => cand,
            };
            Some(rows.iter().filter(|&&r| correct[r]).count() as f64 / rows.len() as f64)
        }
    }

    #[test]
    fn paired_bootstrap_is_reproducible_across_threads() {
        let n = 500;
        let base: Vec<bool> = (0..n).map(|i| i % 5 != 0).collect();
        let cand: Vec<bool> = (0..n).map(|i| i % 7 != 0).collect();
        let metric = accuracy_pair(&base, &cand);
        let run = |threads, seed| {
            let o = PairedBootstrapOptions {
                bootstrap: BootstrapOptions {
                    resamples: 300,
                    seed,
                    threads,
                    ..BootstrapOptions::default()
                },
                ..PairedBootstrapOptions::default()
            };
            paired_bootstrap(n, &metric, &o).unwrap()
        };
        let a = run(1, 3);
        assert_eq!(a, run(4, 3));
        assert_ne!(a.interval, run(1, 4).interval);
        let ci = a.interval.as_ref().unwrap();
        assert!(ci.low <= a.delta && a.delta <= ci.high);
        assert!(a.small_sample.is_empty());
        assert!(a.standard_error.is_some_and(|s| s > 0.0));
        // Delta is +0.057 with an interval well away from -0.2 and containing 0.05.
        assert_eq!(a.verdict(-0.2), Verdict::AtOrAbove);
        assert!(matches!(a.verdict(0.05), Verdict::TooSmallToTell(_)));
        assert_eq!(a.verdict(0.5), Verdict::Below);
    }

    #[test]
    fn paired_bootstrap_small_and_undefined() {
        let base = [true, false, true];
        let cand = [true, true, true];
        let r = paired_bootstrap(
            3,
            &accuracy_pair(&base, &cand),
            &PairedBootstrapOptions::default(),
        )
        .unwrap();
        assert!(matches!(
            r.small_sample[0],
            SmallSample::TooFewRows { rows: 3, min: 30 }
        ));
        assert!(matches!(r.verdict(-1.0), Verdict::TooSmallToTell(_)));

        // A metric undefined on resamples without row 0.
        let picky = |_: Model, rows: &[usize]| rows.contains(&0).then_some(1.0);
        let o = PairedBootstrapOptions {
            min_rows: 1,
            ..PairedBootstrapOptions::default()
        };
        let r = paired_bootstrap(3, &picky, &o).unwrap();
        assert!(r.undefined_resamples > 0);
        assert!(
            r.small_sample
                .iter()
                .any(|s| matches!(s, SmallSample::TooManyUndefinedResamples { .. }))
        );

        let never = |_: Model, _: &[usize]| None;
        assert!(matches!(
            paired_bootstrap(3, &never, &o),
            Err(MetricsError::UndefinedOnSample {
                model: "baseline",
                ..
            })
        ));
        assert!(paired_bootstrap(0, &picky, &o).is_err());
        // A huge resample count is refused up front, not an allocation that aborts.
        let huge = PairedBootstrapOptions {
            bootstrap: BootstrapOptions {
                resamples: usize::MAX,
                ..BootstrapOptions::default()
            },
            ..o
        };
        assert!(matches!(
            paired_bootstrap(3, &picky, &huge),
            Err(MetricsError::InvalidOption {
                option: "resamples",
                ..
            })
        ));
    }
}
