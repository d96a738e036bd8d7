//! Bootstrap options and percentile confidence intervals shared by [`crate::fairness`] and
//! [`crate::stats`].

use serde::Serialize;

use crate::MetricsError;

/// How to bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapOptions {
    /// Number of resamples (default 1000; at most [`BootstrapOptions::MAX_RESAMPLES`]).
    pub resamples: usize,
    /// Two-sided confidence level of the percentile interval, in `(0, 1)` (default 0.95).
    pub confidence: f64,
    /// Seed of the [`crate::rng`] streams (default 0). Same seed, same data: same interval, on
    /// every platform and for any thread count.
    pub seed: u64,
    /// Worker threads (`0` = available parallelism, the default).
    pub threads: usize,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            resamples: 1000,
            confidence: 0.95,
            seed: 0,
            threads: 0,
        }
    }
}

impl BootstrapOptions {
    /// The most resamples: every resample's result is kept in memory, so a mistyped count
    /// (`10000000000`) would otherwise ask for more memory than there is and abort the process.
    pub const MAX_RESAMPLES: usize = 1_000_000;

    pub(crate) fn validate(&self) -> Result<(), MetricsError> {
        if self.resamples == 0 {
            return Err(MetricsError::InvalidOption {
                option: "resamples",
                reason: "at least one resample is needed".into(),
            });
        }
        if self.resamples > Self::MAX_RESAMPLES {
            return Err(MetricsError::InvalidOption {
                option: "resamples",
                reason: format!(
                    "{} is more than the {} resamples allowed",
                    self.resamples,
                    Self::MAX_RESAMPLES
                ),
            });
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(MetricsError::InvalidOption {
                option: "confidence",
                reason: format!("{} is not strictly between 0 and 1", self.confidence),
            });
        }
        Ok(())
    }
}

/// A percentile bootstrap confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfidenceInterval {
    /// Lower bound: the `(1 − confidence) / 2` quantile of the resampled values.
    pub low: f64,
    /// Upper bound: the `(1 + confidence) / 2` quantile.
    pub high: f64,
    /// The confidence level.
    pub confidence: f64,
    /// Resamples drawn.
    pub resamples: usize,
    /// Resamples on which the metric was defined (the interval is over these).
    pub defined: usize,
}

/// The percentile interval of `values` (reordered), `None` when empty. Quantiles interpolate
/// linearly between order statistics, NumPy's default (`method="linear"`).
pub(crate) fn percentile_interval(
    values: &mut [f64],
    confidence: f64,
    resamples: usize,
) -> Option<ConfidenceInterval> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let alpha = (1.0 - confidence) / 2.0;
    Some(ConfidenceInterval {
        low: quantile_sorted(values, alpha),
        high: quantile_sorted(values, 1.0 - alpha),
        confidence,
        resamples,
        defined: values.len(),
    })
}

/// NumPy's linear quantile of sorted, non-empty `values`.
pub(crate) fn quantile_sorted(values: &[f64], q: f64) -> f64 {
    let h = (values.len() - 1) as f64 * q;
    let lo = h.floor();
    let i = lo as usize;
    let frac = h - lo;
    match values.get(i + 1) {
        Some(&next) if frac > 0.0 => values[i] + frac * (next - values[i]),
        _ => values[i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_linear_quantiles() {
        // np.quantile([1, 2, 3, 4], [0.025, 0.975]) == [1.075, 3.925]
        let mut v = [4.0, 1.0, 3.0, 2.0];
        let ci = percentile_interval(&mut v, 0.95, 4).unwrap();
        assert!((ci.low - 1.075).abs() < 1e-12);
        assert!((ci.high - 3.925).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[5.0], 0.3), 5.0);
        assert!(percentile_interval(&mut [], 0.95, 0).is_none());
    }

    #[test]
    fn options_are_checked() {
        assert!(BootstrapOptions::default().validate().is_ok());
        for bad in [
            BootstrapOptions {
                resamples: 0,
                ..BootstrapOptions::default()
            },
            BootstrapOptions {
                confidence: 1.0,
                ..BootstrapOptions::default()
            },
            BootstrapOptions {
                confidence: f64::NAN,
                ..BootstrapOptions::default()
            },
            BootstrapOptions {
                confidence: -0.5,
                ..BootstrapOptions::default()
            },
            BootstrapOptions {
                resamples: usize::MAX,
                ..BootstrapOptions::default()
            },
            BootstrapOptions {
                resamples: BootstrapOptions::MAX_RESAMPLES + 1,
                ..BootstrapOptions::default()
            },
        ] {
            assert!(bad.validate().is_err());
        }
    }
}
