//! A/A mode: the baseline judged against itself, to show the noise floor of each metric and the
//! number of samples a change of its tolerance needs.
//!
//! The baseline's samples are split into two interleaved halves (even and odd positions, so a
//! trend over the window falls on both) and judged as baseline and canary. A passing A/A says
//! the judge does not see differences where there are none; a failing one says the metric is too
//! noisy, or not stationary over the window, to judge a canary with.
//!
//! The sample size comes from Noether's formula for the Wilcoxon-Mann-Whitney test: the effect
//! is `p = P(X < Y + d)` for two draws of the baseline with `d` the tolerated shift (estimated
//! from the two halves by counting pairs), and the samples per side are those that detect it at
//! `1 - confidence` with the configured power.

use crate::judge::Samples;

/// The two interleaved halves of `xs`.
pub fn split(xs: &[f64]) -> Samples {
    Samples {
        baseline: xs.iter().step_by(2).copied().collect(),
        canary: xs.iter().skip(1).step_by(2).copied().collect(),
    }
}

/// `P(X < Y + delta)` for X from `a` and Y from `b` (both sorted, finite), ties counting one
/// half: the share of pairs, counted in one sweep.
pub fn prob_less(a: &[f64], b: &[f64], delta: f64) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let (mut below, mut at_or_below) = (0usize, 0usize);
    let mut total = 0.0;
    for &y in b {
        let t = y + delta;
        while below < a.len() && a[below] < t {
            below += 1;
        }
        if at_or_below < below {
            at_or_below = below;
        }
        while at_or_below < a.len() && a[at_or_below] <= t {
            at_or_below += 1;
        }
        #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
        {
            total += below as f64 + 0.5 * (at_or_below - below) as f64;
        }
    }
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    let pairs = a.len() as f64 * b.len() as f64;
    total / pairs
}

/// Samples per side needed to detect a shift of `delta` of a metric whose samples look like
/// `halves`, at level `alpha` (two-sided) with `power`. None when `delta` is 0 or the halves
/// are too small or too coarse (every pair tied) to tell.
pub fn samples_needed(halves: &Samples, delta: f64, alpha: f64, power: f64) -> Option<f64> {
    if delta == 0.0 || !delta.is_finite() {
        return None;
    }
    let sorted = |xs: &[f64]| {
        let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_unstable_by(f64::total_cmp);
        v
    };
    let (a, b) = (sorted(&halves.baseline), sorted(&halves.canary));
    let p = prob_less(&a, &b, delta);
    if !p.is_finite() {
        return None;
    }
    modelci_metrics::rank::noether_sample_size(p, alpha, power, 0.5).map(|n| (n / 2.0).ceil())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_interleave() {
        let s = split(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.baseline, [1.0, 3.0, 5.0]);
        assert_eq!(s.canary, [2.0, 4.0]);
    }

    #[test]
    fn prob_less_counts_pairs_and_half_ties() {
        let a = [1.0, 2.0, 3.0];
        let b = [2.0];
        // 1 < 2 counts, 2 == 2 counts a half, 3 does not: 1.5 of 3.
        assert!((prob_less(&a, &b, 0.0) - 0.5).abs() < 1e-12);
        assert!((prob_less(&a, &b, 1.5) - 1.0).abs() < 1e-12);
        assert!((prob_less(&a, &b, -5.0)).abs() < 1e-12);
    }

    #[test]
    fn a_smaller_change_needs_more_samples() {
        let xs: Vec<f64> = (0..2000)
            .map(|i| 100.0 + f64::from((i * 7919) % 1000) / 50.0)
            .collect();
        let halves = split(&xs);
        let big = samples_needed(&halves, 5.0, 0.05, 0.8).expect("big");
        let small = samples_needed(&halves, 1.0, 0.05, 0.8).expect("small");
        assert!(big < small, "{big} {small}");
        assert!(big >= 2.0);
        assert_eq!(samples_needed(&halves, 0.0, 0.05, 0.8), None);
    }
}
