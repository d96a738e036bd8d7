//! Rank statistics of two independent samples, for a Kayenta-style canary judge (`x` the canary,
//! `y` the baseline, one metric at a time).
//!
//! - [`mann_whitney_u`]: the Mann-Whitney U test, as SciPy's `mannwhitneyu` with its defaults
//!   (`use_continuity=True`, `method="auto"`). `u` is the statistic of `x` (`U₁ = R₁ − n₁(n₁+1)/2`,
//!   the number of pairs with `xᵢ > yⱼ` plus half the ties). SciPy's "auto" rule picks the exact
//!   null distribution when one sample has at most 8 values and no value occurs twice in the two
//!   samples together, and the normal approximation with tie correction and continuity correction
//!   otherwise. The exact distribution counts the arrangements by the generating function
//!   `∏ᵢ₌₁..ₘ (1 − q^(n+i)) / (1 − q^i)` (the Gaussian binomial `[m+n choose m]_q`), in exact
//!   integers while the number of arrangements fits in an `i128`.
//! - [`hodges_lehmann`]: the Hodges-Lehmann shift of `x` relative to `y` (the median of the
//!   pairwise differences `xᵢ − yⱼ`) with the distribution-free confidence interval of R's
//!   `wilcox.test(x, y, conf.int = TRUE)`: order statistics of the pairwise differences. With
//!   both samples under 50 values and no tie among all the values it is R's exact interval
//!   (`qwilcox`); otherwise it is the normal approximation with tie and continuity correction,
//!   whose root R finds with `uniroot` to within `1e-4`: here the same root is found exactly
//!   (it is always one of the pairwise differences, see [`hodges_lehmann`]).
//! - [`noether_sample_size`]: Noether's (1987) total sample size for the Wilcoxon-Mann-Whitney
//!   test.
//! - [`population_stability_index`]: the PSI of a sample against a reference, on the reference's
//!   quantile bins.
//!
//! # Accuracy
//!
//! U is exact (kept as an integer count of half pairs). Exact p-values are ratios of exact
//! integer counts; normal-approximation p-values go through `statrs`'s `erfc`, which is accurate
//! to about `1e-10` relative, so they agree with SciPy's to that (the cross-check in
//! `tests/rank_scipy.rs` allows `1e-9`). Hodges-Lehmann values are pairwise differences (or the
//! mean of two), so they are exactly NumPy's `x[i] - y[j]`.
//!
//! # Performance
//!
//! Both tests sort each sample once (`O(n log n)`; [`Sorted`]) and then work in `O(n + m)` per
//! pass. The `n·m` pairwise differences are never materialised: they form a matrix sorted along
//! its rows (`xᵢ` ascending) and columns (`yⱼ` descending), in which the entries below a pivot
//! are counted by one staircase sweep. The order statistics that Hodges-Lehmann needs (the
//! median and the two bounds, 3 or 4 ranks) are selected together: each round takes a stratified
//! sample of the entries still in play, puts two pivots a few standard deviations either side of
//! each target's place in the sample, and keeps, per row, only the columns between them (about
//! 1/40 of the entries per round with 16,384 samples); targets close together share their pivots
//! and their sweep. When few entries remain they are gathered and the targets selected among
//! them. The result is exact; the sample (from a fixed seed) only affects the speed. On 100,000
//! vs 100,000 values that is about 7 sweeps in all (see `examples/rank_bench.rs`).
//!
//! The exact Mann-Whitney distribution costs `O(min(n, m) · n·m)`: cheap under SciPy's rule
//! (`min(n, m) ≤ 8`) unless the other sample has millions of values.
//!
//! A caller that needs both tests on the same data sorts once with [`Sorted`] and calls
//! [`mann_whitney_u_sorted`] and [`hodges_lehmann_sorted`].
//!
//! Every function returns `None` rather than panicking on input it cannot use (empty samples,
//! values that are not finite, parameters out of range).

use modelci_rng::SeededRng;
use statrs::function::erf::{erf, erfc, erfc_inv};

use crate::sum::sum;

/// The alternative hypothesis, about `x` relative to `y` (as SciPy's `alternative`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    /// `x` and `y` differ in location, in either direction.
    TwoSided,
    /// `x` is stochastically less than `y`.
    Less,
    /// `x` is stochastically greater than `y`.
    Greater,
}

/// The outcome of the Mann-Whitney U test.
#[derive(Debug, Clone, PartialEq)]
pub struct MannWhitney {
    /// The U statistic of `x` (SciPy's `statistic`): pairs with `xᵢ > yⱼ`, plus half the pairs
    /// with `xᵢ = yⱼ`. A multiple of ½ between `0` and `n·m`.
    pub u: f64,
    /// The p-value of the chosen [`Alternative`], in `[0, 1]`.
    pub p_value: f64,
    /// Whether the exact null distribution was used (otherwise the normal approximation).
    pub exact: bool,
}

/// The Hodges-Lehmann shift estimate with its confidence interval.
#[derive(Debug, Clone, PartialEq)]
pub struct HodgesLehmann {
    /// The median of all pairwise differences `xᵢ − yⱼ`.
    pub estimate: f64,
    /// The lower end of the confidence interval (a pairwise difference).
    pub low: f64,
    /// The upper end of the confidence interval (a pairwise difference).
    pub high: f64,
    /// The confidence level of the interval: the one asked for, except where R says "Requested
    /// conf.level not achievable" (exact interval on samples too small for it), where it is the
    /// level actually achieved, `1 − 2·P(W ≤ q − 1)`, as R reports it.
    pub confidence: f64,
}

/// A sample sorted ascending, every value finite (`-0.0` stored as `0.0`): sort once, then run
/// [`mann_whitney_u_sorted`] and [`hodges_lehmann_sorted`] on it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sorted {
    values: Vec<f64>,
}

impl Sorted {
    /// Sorts a copy of `values`; `None` if any value is not finite.
    #[must_use]
    pub fn new(values: &[f64]) -> Option<Self> {
        Self::from_vec(values.to_vec())
    }

    /// Sorts `values` in place; `None` if any value is not finite.
    #[must_use]
    pub fn from_vec(mut values: Vec<f64>) -> Option<Self> {
        if values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        for v in &mut values {
            // -0.0 + 0.0 is +0.0: one zero, so that no pairwise difference is -0.0.
            *v += 0.0;
        }
        values.sort_unstable_by(f64::total_cmp);
        Some(Self { values })
    }

    /// The values, ascending.
    #[must_use]
    pub fn as_slice(&self) -> &[f64] {
        &self.values
    }

    /// The number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The Mann-Whitney U test of `x` against `y`, as `scipy.stats.mannwhitneyu(x, y,
/// alternative=...)` with its defaults (continuity correction, `method="auto"`: exact when
/// `min(n₁, n₂) ≤ 8` and there are no ties, asymptotic otherwise).
///
/// `None` when either sample is empty or any value is not finite (NaN or ±∞: the caller removes
/// them first). Sorts copies of both samples; see [`mann_whitney_u_sorted`] to sort once.
#[must_use]
pub fn mann_whitney_u(x: &[f64], y: &[f64], alternative: Alternative) -> Option<MannWhitney> {
    mann_whitney_u_sorted(&Sorted::new(x)?, &Sorted::new(y)?, alternative)
}

/// [`mann_whitney_u`] on samples already sorted (`O(n + m)` for the statistic and the normal
/// approximation). `None` when either sample is empty.
#[must_use]
pub fn mann_whitney_u_sorted(
    x: &Sorted,
    y: &Sorted,
    alternative: Alternative,
) -> Option<MannWhitney> {
    let (x, y) = (x.as_slice(), y.as_slice());
    let (n1, n2) = (x.len() as u64, y.len() as u64);
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let nm = n1.checked_mul(n2)?;
    let combined = combine(x, y);
    // U₁ and U₂ = n·m − U₁, kept doubled so that they stay integers.
    let twice_u1 = combined.twice_u;
    let twice_u2 = (2 * u128::from(nm)).checked_sub(u128::from(twice_u1))?;
    let twice_u1 = u128::from(twice_u1);
    let (twice_u, factor) = match alternative {
        Alternative::Greater => (twice_u1, 1.0),
        Alternative::Less => (twice_u2, 1.0),
        Alternative::TwoSided => (twice_u1.max(twice_u2), 2.0),
    };
    let exact = (n1 <= 8 || n2 <= 8) && !combined.ties;
    let p = if exact {
        // Without ties U is an integer.
        exact_sf((twice_u / 2) as u64, n1, n2)
    } else {
        let z = mwu_z(twice_u as f64 / 2.0, n1, n2, combined.tie_term as f64);
        ndtr(-z)
    };
    let p_value = (p * factor).clamp(0.0, 1.0);
    Some(MannWhitney {
        u: twice_u1 as f64 / 2.0,
        p_value: if p_value.is_nan() { 1.0 } else { p_value },
        exact,
    })
}

/// The Hodges-Lehmann shift of `x` relative to `y` with its two-sided `confidence` interval, as
/// R's `wilcox.test(x, y, conf.int = TRUE, conf.level = confidence)`.
///
/// - `estimate`: the median of the `n·m` differences `xᵢ − yⱼ` (the mean of the two middle ones
///   when `n·m` is even). R's exact branch reports the same; its normal-approximation branch
///   finds it with `uniroot` to within `1e-4` (for even `n·m`, somewhere between the two middle
///   differences).
/// - Exact interval (both samples under 50 values, and no value shared by two observations of
///   `x` and `y` together): with `q = qwilcox(α/2, n, m)` (1 if 0), `[D₍q₎, D₍nm−q+1₎]`, `D₍k₎`
///   the k-th smallest difference, `α = 1 − confidence`.
/// - Otherwise R's normal approximation: the bounds are where
///   `W(d) = (U(d) − nm/2 − ½·sign(U(d) − nm/2)) / σ` crosses `±z₁₋α/₂`, `U(d)` the U statistic
///   of `x − d` against `y` and `σ` its standard deviation with the tie correction of the ties
///   within `x` and within `y`. `W` is a step function that only jumps at pairwise differences,
///   so the bound is `D₍k₎` for the smallest `k` with `W ≤ z` just above `D₍k₎`; R's `uniroot`
///   finds the same jump to within `1e-4`. (Where every value of `x` equals every value of
///   `y`, R stops with "cannot compute confidence interval when all observations are tied"; here
///   the interval is that one difference.)
///
/// `None` when either sample is empty, any value is not finite, `confidence` is not in `(0, 1)`,
/// or a pairwise difference overflows to infinity.
#[must_use]
pub fn hodges_lehmann(x: &[f64], y: &[f64], confidence: f64) -> Option<HodgesLehmann> {
    hodges_lehmann_sorted(&Sorted::new(x)?, &Sorted::new(y)?, confidence)
}

/// [`hodges_lehmann`] on samples already sorted: a few `O(n + m)` sweeps (see the module's
/// Performance section). `None` as for [`hodges_lehmann`].
#[must_use]
pub fn hodges_lehmann_sorted(x: &Sorted, y: &Sorted, confidence: f64) -> Option<HodgesLehmann> {
    let (x, y) = (x.as_slice(), y.as_slice());
    if !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let (n, m) = (x.len() as u64, y.len() as u64);
    let nm = n.checked_mul(m)?;
    let (x_min, x_max, y_min, y_max) = (x.first()?, x.last()?, y.first()?, y.last()?);
    if !(x_min - y_max).is_finite() || !(x_max - y_min).is_finite() {
        return None;
    }
    let alpha = 1.0 - confidence;
    let (k_low, k_high, confidence) = if n < 50 && m < 50 && !combine(x, y).ties {
        exact_interval_ranks(n, m, alpha, confidence)?
    } else {
        let within = tie_term(x) + tie_term(y);
        let (low, high) = normal_interval_ranks(n, m, alpha, within as f64);
        (low, high, confidence)
    };

    // The median is D(nm/2 + 1) for odd nm, the mean of D(nm/2) and D(nm/2 + 1) for even nm.
    let middle = nm / 2 + 1;
    let mut ranks = vec![k_low, k_high, middle];
    if nm % 2 == 0 {
        ranks.push(middle - 1);
    }
    ranks.sort_unstable();
    ranks.dedup();
    let values = Differences::new(x, y).select(&ranks)?;
    let at = |k: u64| {
        ranks
            .binary_search(&k)
            .ok()
            .and_then(|i| values.get(i).copied())
    };
    let estimate = if nm % 2 == 1 {
        at(middle)?
    } else {
        let (lower, upper) = (at(middle - 1)?, at(middle)?);
        let s = lower + upper;
        if s.is_finite() {
            s / 2.0
        } else {
            lower / 2.0 + upper / 2.0
        }
    };
    let (low, high) = (at(k_low)?, at(k_high)?);
    Some(HodgesLehmann {
        estimate,
        low,
        high,
        confidence,
    })
}

/// Noether's (1987) total sample size `N` (both groups together, a share `fraction` of it in the
/// first) for the two-sided Wilcoxon-Mann-Whitney test at level `alpha` to detect
/// `P(X < Y) = p` with probability `power`:
///
/// `N = (z₁₋α/₂ + z_power)² / (12 · c(1 − c) · (p − ½)²)`, `c = fraction`.
///
/// Not rounded: round up for a number of observations. `None` when `p == 0.5` or is outside
/// `[0, 1]`, when `alpha`, `power` or `fraction` is outside `(0, 1)`, or when `power ≤ alpha/2`
/// (no sample is needed to reject that rarely).
#[must_use]
pub fn noether_sample_size(p: f64, alpha: f64, power: f64, fraction: f64) -> Option<f64> {
    let open = |v: f64| v > 0.0 && v < 1.0;
    if !(0.0..=1.0).contains(&p) || p == 0.5 || !open(alpha) || !open(power) || !open(fraction) {
        return None;
    }
    let z = upper_quantile(alpha / 2.0) + normal_quantile(power);
    if z.is_nan() || z <= 0.0 {
        return None;
    }
    let shift = p - 0.5;
    Some(z * z / (12.0 * fraction * (1.0 - fraction) * shift * shift))
}

/// The smallest share a bin may have in [`population_stability_index`].
pub const PSI_MIN_SHARE: f64 = 1e-4;

/// The population stability index of `actual` against `expected`:
/// `Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ)` over `bins` bins, `eᵢ` and `aᵢ` the shares of each sample in bin
/// `i`, each floored at [`PSI_MIN_SHARE`] so that an empty bin does not give infinity.
///
/// The bins come from `expected`: the `bins − 1` inner edges are its quantiles at `i / bins`
/// (NumPy's default `np.quantile`, linear interpolation), and a value `v` falls in bin
/// `#{edges < v}`, so the bins are `(−∞, e₁], (e₁, e₂], …, (e_{bins−1}, ∞)` and values of `actual`
/// outside `expected`'s range land in the outer bins. Repeated edges (many equal values in
/// `expected`) leave bins empty in both samples, which add nothing.
///
/// `None` when either sample is empty, any value is not finite, or `bins < 2`.
#[must_use]
pub fn population_stability_index(expected: &[f64], actual: &[f64], bins: usize) -> Option<f64> {
    if expected.is_empty() || actual.is_empty() || bins < 2 {
        return None;
    }
    if actual.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let sorted = Sorted::new(expected)?;
    let sorted = sorted.as_slice();
    let edges: Vec<f64> = (1..bins)
        .map(|i| quantile_linear(sorted, i as f64 / bins as f64))
        .collect::<Option<_>>()?;

    // Expected is sorted: bin i holds the values in (e_i, e_{i+1}].
    let mut expected_counts = Vec::with_capacity(bins);
    let mut before = 0;
    for edge in &edges {
        let at_most = sorted.partition_point(|v| v <= edge);
        expected_counts.push(at_most - before);
        before = at_most;
    }
    expected_counts.push(sorted.len() - before);

    let mut actual_counts = vec![0_usize; bins];
    for v in actual {
        let bin = edges.partition_point(|e| e < v);
        if let Some(count) = actual_counts.get_mut(bin) {
            *count += 1;
        }
    }

    let (ne, na) = (expected.len() as f64, actual.len() as f64);
    Some(sum(expected_counts.iter().zip(&actual_counts).map(
        |(&e, &a)| {
            let e = (e as f64 / ne).max(PSI_MIN_SHARE);
            let a = (a as f64 / na).max(PSI_MIN_SHARE);
            (a - e) * (a / e).ln()
        },
    )))
}

/// NumPy's default quantile (`method="linear"`) of a sorted, non-empty sample, with its exact
/// floating-point steps (virtual index `(n − 1)·q`, then `_lerp`).
fn quantile_linear(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let virtual_index = last as f64 * q;
    if virtual_index >= last as f64 {
        return sorted.last().copied();
    }
    let previous = virtual_index.floor();
    let gamma = virtual_index - previous;
    let i = previous as usize;
    let (a, b) = (*sorted.get(i)?, *sorted.get(i + 1)?);
    let diff = b - a;
    Some(if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    })
}

/// What one merge of the two sorted samples gives: `2·U₁`, `Σ (t³ − t)` over the groups of
/// equal values in both samples together, and whether any group has more than one value.
struct Combined {
    twice_u: u64,
    tie_term: u128,
    ties: bool,
}

fn combine(x: &[f64], y: &[f64]) -> Combined {
    let (mut i, mut j) = (0, 0);
    let mut combined = Combined {
        twice_u: 0,
        tie_term: 0,
        ties: false,
    };
    loop {
        let v = match (x.get(i), y.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        let (i0, j0) = (i, j);
        while x.get(i) == Some(&v) {
            i += 1;
        }
        while y.get(j) == Some(&v) {
            j += 1;
        }
        let (cx, cy) = ((i - i0) as u64, (j - j0) as u64);
        // Each x in the group beats the j0 smaller y values and ties with the cy equal ones.
        combined.twice_u += cx * (2 * j0 as u64 + cy);
        let t = u128::from(cx + cy);
        combined.tie_term += t * t * t - t;
        combined.ties |= t > 1;
    }
    combined
}

/// `Σ (t³ − t)` over the groups of equal values of one sorted sample.
fn tie_term(sorted: &[f64]) -> u128 {
    let mut total = 0;
    for run in sorted.chunk_by(|a, b| a == b) {
        let t = run.len() as u128;
        total += t * t * t - t;
    }
    total
}

/// SciPy's `_get_mwu_z` with continuity correction, with the same floating-point steps.
fn mwu_z(u: f64, n1: u64, n2: u64, tie_term: f64) -> f64 {
    let nm = (n1 * n2) as f64;
    let n = (n1 + n2) as f64;
    let mu = nm / 2.0;
    let s = (nm / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    (u - mu - 0.5) / s
}

/// The standard normal CDF, as Cephes' `ndtr` (SciPy's `special.ndtr`).
fn ndtr(a: f64) -> f64 {
    let x = a * std::f64::consts::FRAC_1_SQRT_2;
    let z = x.abs();
    if z < std::f64::consts::FRAC_1_SQRT_2 {
        0.5 + 0.5 * erf(x)
    } else {
        let y = 0.5 * erfc(z);
        if x > 0.0 { 1.0 - y } else { y }
    }
}

/// The standard normal quantile `Φ⁻¹(p)`, `p` in `(0, 1)`.
fn normal_quantile(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p)
}

/// The upper quantile `Φ⁻¹(1 − p)`, `p` in `(0, 1)` (R's `qnorm(p, lower.tail = FALSE)`).
#[must_use]
pub fn upper_quantile(p: f64) -> f64 {
    std::f64::consts::SQRT_2 * erfc_inv(2.0 * p)
}

/// `C(n + m, m)`, or `None` when it (or a step towards it) does not fit in an `i128`.
fn arrangements(m: u64, n: u64) -> Option<i128> {
    let (m, n) = (m.min(n), m.max(n));
    let mut c: i128 = 1;
    for j in 1..=i128::from(m) {
        c = c.checked_mul(i128::from(n) + j)? / j;
    }
    Some(c)
}

/// The number of arrangements of samples of sizes `m` and `n` with `U = k`, for `k` in
/// `0..=up_to`: the coefficients of the Gaussian binomial `∏ᵢ₌₁..ₘ (1 − q^(n+i)) / (1 − q^i)`,
/// one factor at a time (after factor `i` they are those of `[n+i choose i]_q`, so every value
/// stays between `−C(n+m, m)` and `C(n+m, m)`). `O(m · up_to)`.
fn u_counts<T>(m: usize, n: usize, up_to: usize) -> Vec<T>
where
    T: Copy + From<u8> + std::ops::AddAssign + std::ops::SubAssign,
{
    let mut c = vec![T::from(0); up_to + 1];
    if let Some(first) = c.first_mut() {
        *first = T::from(1);
    }
    for i in 1..=m {
        // × (1 − q^(n+i)), from the top so that each step reads the previous polynomial.
        let shift = n + i;
        for k in (shift..=up_to).rev() {
            let v = c[k - shift];
            c[k] -= v;
        }
        // ÷ (1 − q^i) = × (1 + q^i + q^2i + …), from the bottom.
        for k in i..=up_to {
            let v = c[k - i];
            c[k] += v;
        }
    }
    c
}

/// `P(U ≥ k)` under the null for samples of sizes `n1` and `n2` (no ties): SciPy's
/// `_MWU.sf`, in exact integers when the number of arrangements fits an `i128` (a few-ulp
/// floating-point computation otherwise).
fn exact_sf(k: u64, n1: u64, n2: u64) -> f64 {
    let (m, n) = (n1.min(n2), n1.max(n2));
    let mn = m * n;
    if k == 0 {
        return 1.0;
    }
    if k > mn {
        return 0.0;
    }
    // By symmetry P(U ≥ k) = P(U ≤ mn − k); sum the shorter side.
    let kc = mn - k;
    let (up_to, complement) = if kc <= k { (kc, false) } else { (k - 1, true) };
    let (m, n, up_to) = (m as usize, n as usize, up_to as usize);
    match arrangements(m as u64, n as u64) {
        Some(total) if total < i128::MAX / 4 => {
            let cum: i128 = u_counts::<i128>(m, n, up_to).iter().sum();
            let count = if complement { total - cum } else { cum };
            count as f64 / total as f64
        }
        _ => {
            let total: f64 = (1..=m).map(|j| (n + j) as f64 / j as f64).product();
            let cum: f64 = sum(u_counts::<f64>(m, n, up_to));
            let p = cum / total;
            if complement { 1.0 - p } else { p }
        }
    }
}

/// The ranks (1-based) of the pairwise differences that bound R's exact interval, and the
/// confidence R reports: `q = qwilcox(α/2, n, m)` with R's `10·DBL_EPSILON` fuzz (1 if it is 0),
/// `[q, nm − q + 1]`; the confidence is `1 − 2·pwilcox(q − 1)` where R warns that the requested
/// one is not achievable.
fn exact_interval_ranks(n: u64, m: u64, alpha: f64, confidence: f64) -> Option<(u64, u64, f64)> {
    let nm = n * m;
    let counts = u_counts::<i128>(n as usize, m as usize, nm as usize);
    let total = arrangements(n, m)? as f64;
    let target = alpha / 2.0 - 10.0 * f64::EPSILON;
    let mut p = 0.0;
    let mut q = 0;
    for (k, &c) in counts.iter().enumerate() {
        p += c as f64 / total;
        q = k as u64;
        if p >= target {
            break;
        }
    }
    let q = q.max(1);
    let below: i128 = counts.iter().take(q as usize).sum();
    let achieved = 2.0 * (below as f64 / total);
    let confidence = if achieved - alpha > alpha / 2.0 {
        1.0 - achieved
    } else {
        confidence
    };
    Some((q, nm - q + 1, confidence))
}

/// The ranks (1-based) of the pairwise differences where R's normal-approximation `W(d)` crosses
/// `z₁₋α/₂` (lower bound) and `−z₁₋α/₂` (upper bound). Just above `D₍k₎` (k differences `≤ d`),
/// `U(d) = nm − k`, so `W = (nm/2 − k − ½·sign(nm/2 − k)) / σ`, computed with R's
/// floating-point steps; `σ` counts the ties within each sample (`within = Σ (t³ − t)`). The
/// bound is `D₍k₎` for the smallest `k ≥ 1` with `W ≤ z` (`D₍nm₎` when there is none, like R's
/// `mumax`).
fn normal_interval_ranks(n: u64, m: u64, alpha: f64, within: f64) -> (u64, u64) {
    let nm = n * m;
    let (nx, ny) = (n as f64, m as f64);
    let sigma =
        ((nx * ny / 12.0) * ((nx + ny + 1.0) - within / ((nx + ny) * (nx + ny - 1.0)))).sqrt();
    let half = nm as f64 / 2.0;
    let w = |k: u64| {
        let dz = half - k as f64;
        let correction = if dz > 0.0 {
            0.5
        } else if dz < 0.0 {
            -0.5
        } else {
            0.0
        };
        (dz - correction) / sigma
    };
    // W is non-increasing in k: the first k in 1..=nm with W(k) ≤ zq, by bisection.
    let first = |zq: f64| {
        let (mut lo, mut hi) = (1, nm);
        if w(nm) > zq {
            return nm;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if w(mid) <= zq { hi = mid } else { lo = mid + 1 }
        }
        lo
    };
    let z = upper_quantile(alpha / 2.0);
    (first(z), first(-z))
}

/// The `n·m` pairwise differences `xᵢ − yⱼ` of two sorted samples, as a matrix whose row `i` is
/// `xᵢ` and column `j` is the `j`-th largest `y`: entries grow along rows and down columns
/// (floating-point subtraction is monotone), which is all the selection needs.
struct Differences<'a> {
    x: &'a [f64],
    /// `y` descending.
    y: Vec<f64>,
}

/// At or below this many remaining entries (or twice the sweep's length, if more), the wanted
/// ones are selected directly among them.
const DIRECT_MIN: u64 = 1 << 14;
/// Entries sampled per round to choose the pivots.
const SAMPLE: u64 = 16384;
/// The pivots are this many standard deviations of a sample quantile's rank either side of the
/// target's position in the sample.
const SPREAD: f64 = 3.0;
// A round samples with a stride of at least one entry.
const _: () = assert!(DIRECT_MIN >= SAMPLE);

/// The entries still in play for some wanted ranks: columns `lo[i]..hi[i]` of each row. Every
/// entry left of them is smaller than every active entry, every entry right of them larger.
struct Active {
    lo: Vec<usize>,
    hi: Vec<usize>,
    /// Entries left of the active ranges (`Σ lo[i]`).
    below: u64,
    /// Entries left of the ends of the active ranges (`Σ hi[i]`).
    left_of_hi: u64,
}

impl Active {
    fn len(&self) -> u64 {
        self.left_of_hi - self.below
    }
}

/// A wanted rank (1-based, in the whole matrix) and where its value goes.
#[derive(Clone, Copy)]
struct Target {
    rank: u64,
    slot: usize,
}

impl<'a> Differences<'a> {
    fn new(x: &'a [f64], y: &[f64]) -> Self {
        Self {
            x,
            y: y.iter().rev().copied().collect(),
        }
    }

    fn at(&self, i: usize, j: usize) -> f64 {
        self.x[i] - self.y[j]
    }

    /// One sweep for two pivots `p` and `q`, each inside the active column ranges `lo[i]..hi[i]`
    /// (entries left of `lo[i]` are below it, entries from `hi[i]` on above it): `a[i]` = the
    /// first column of row `i` whose entry is `≥ p` (`> p` when `SA`), `b[i]` the same for `q`
    /// (`> q` when `SB`). Returns `(Σ a[i], Σ b[i])`: the number of entries `< p` (`≤ p` when
    /// `SA`) and `< q` (`≤ q` when `SB`) in the whole matrix.
    ///
    /// A boundary only moves left as `i` grows, so each is a staircase walk of at most `n + m`
    /// steps; the two walks are independent, which lets the processor overlap them.
    fn boundaries<const SA: bool, const SB: bool>(
        &self,
        (p, q): (f64, f64),
        active: &Active,
    ) -> (Vec<usize>, Vec<usize>, u64, u64) {
        let w = self.y.as_slice();
        let n = self.x.len();
        let (mut a, mut b) = (vec![0; n], vec![0; n]);
        let (mut g, mut h) = (w.len(), w.len());
        let (mut total_a, mut total_b) = (0_u64, 0_u64);
        let rows = self.x.iter().zip(&active.lo).zip(&active.hi);
        for (((&xi, &l), &r), (a, b)) in rows.zip(a.iter_mut().zip(b.iter_mut())) {
            g = advance::<SA>(w, xi, p, g.min(r).max(l), l);
            h = advance::<SB>(w, xi, q, h.min(r).max(l), l);
            *a = g;
            *b = h;
            total_a += g as u64;
            total_b += h as u64;
        }
        (a, b, total_a, total_b)
    }

    /// The entries of the given ranks (1-based, ascending, each in `1..=n·m`), in the same order.
    fn select(&self, ranks: &[u64]) -> Option<Vec<f64>> {
        let (n, m) = (self.x.len(), self.y.len());
        let nm = (n as u64).checked_mul(m as u64)?;
        if ranks.iter().any(|&k| k == 0 || k > nm) {
            return None;
        }
        let mut out = vec![f64::NAN; ranks.len()];
        let targets = ranks
            .iter()
            .enumerate()
            .map(|(slot, &rank)| Target { rank, slot })
            .collect();
        let all = Active {
            lo: vec![0; n],
            hi: vec![m; n],
            below: 0,
            left_of_hi: nm,
        };
        let mut rng = SeededRng::new(0x5eed_4a1e_0d1f_f5e7);
        self.select_in(all, targets, &mut out, &mut rng)?;
        out.iter().all(|v| !v.is_nan()).then_some(out)
    }

    /// Fills `out[t.slot]` for every target, each of which is active in `active` (targets sorted
    /// by rank).
    ///
    /// Each round takes a stratified sample of the active entries and, for each group of
    /// targets whose sample positions are close, two pivots a few standard deviations either
    /// side of them; one sweep per group then counts the entries below the pivots, and the group
    /// goes on with the entries between them, usually a few percent of the active ones. A target
    /// the pivots missed (rarely) goes on with the entries on its side of the pivot. Every round
    /// removes at least the pivots' own entries, so it ends; when few entries remain they are
    /// gathered and the targets selected among them.
    fn select_in(
        &self,
        active: Active,
        targets: Vec<Target>,
        out: &mut [f64],
        rng: &mut SeededRng,
    ) -> Option<()> {
        if targets.is_empty() {
            return Some(());
        }
        let (n, m) = (self.x.len(), self.y.len());
        let size = active.len();
        if size <= DIRECT_MIN.max(2 * (n + m) as u64) {
            return self.gather(&active, &targets, out);
        }

        // A stratified sample of the active entries (in row-major order).
        let mut sample = Vec::with_capacity(SAMPLE as usize);
        let step = size / SAMPLE;
        let (mut row, mut start) = (0, 0_u64);
        for t in 0..SAMPLE {
            let r = t * step + rng.below(step);
            while row < n && r >= start + (active.hi[row] - active.lo[row]) as u64 {
                start += (active.hi[row] - active.lo[row]) as u64;
                row += 1;
            }
            if row == n {
                break;
            }
            sample.push(self.at(row, active.lo[row] + (r - start) as usize));
        }
        let last = sample.len().checked_sub(1)?;

        // Groups of targets whose pivot ranges in the sample overlap, and their pivot positions.
        let spread = SPREAD * (sample.len() as f64).sqrt() / 2.0;
        let mut groups: Vec<(usize, usize, Vec<Target>)> = Vec::new();
        for &t in &targets {
            let position = ((t.rank - active.below) as f64 - 0.5) / size as f64 * last as f64;
            let low = (position - spread).floor().clamp(0.0, last as f64) as usize;
            let high = (position + spread).ceil().clamp(0.0, last as f64) as usize;
            match groups.last_mut() {
                Some((_, group_high, group)) if low <= *group_high => {
                    *group_high = high.max(*group_high);
                    group.push(t);
                }
                _ => groups.push((low, high, vec![t])),
            }
        }
        let mut positions: Vec<usize> = groups.iter().flat_map(|g| [g.0, g.1]).collect();
        positions.dedup();
        let pivots = select_many(&mut sample, &positions)?;
        let pivot = |position: usize| {
            positions
                .binary_search(&position)
                .ok()
                .and_then(|i| pivots.get(i).copied())
        };

        let mut next: Vec<(Active, Vec<Target>)> = Vec::new();
        for (low, high, group) in groups {
            let (p, q) = (pivot(low)?, pivot(high)?);
            // Entries < p into `a`, entries ≤ q into `b`.
            let (a, b, less_p, at_most_q) = self.boundaries::<false, true>((p, q), &active);
            let (mut left, mut inside, mut right) = (Vec::new(), Vec::new(), Vec::new());
            for t in group {
                if t.rank <= less_p {
                    left.push(t);
                } else if t.rank > at_most_q {
                    right.push(t);
                } else {
                    inside.push(t);
                }
            }
            if !left.is_empty() {
                let part = Active {
                    lo: active.lo.clone(),
                    hi: a.clone(),
                    below: active.below,
                    left_of_hi: less_p,
                };
                next.push((part, left));
            }
            if !right.is_empty() {
                let part = Active {
                    lo: b.clone(),
                    hi: active.hi.clone(),
                    below: at_most_q,
                    left_of_hi: active.left_of_hi,
                };
                next.push((part, right));
            }
            if inside.is_empty() {
                continue;
            }
            if p == q {
                for t in inside {
                    *out.get_mut(t.slot)? = p;
                }
            } else if at_most_q - less_p < size {
                let part = Active {
                    lo: a,
                    hi: b,
                    below: less_p,
                    left_of_hi: at_most_q,
                };
                next.push((part, inside));
            } else {
                // Every active entry lies in [p, q] (heavy ties): shrink strictly, which removes
                // the pivots' own entries.
                let (a, b, at_most_p, less_q) = self.boundaries::<true, false>((p, q), &active);
                let mut between = Vec::new();
                for t in inside {
                    if t.rank <= at_most_p {
                        *out.get_mut(t.slot)? = p;
                    } else if t.rank > less_q {
                        *out.get_mut(t.slot)? = q;
                    } else {
                        between.push(t);
                    }
                }
                let part = Active {
                    lo: a,
                    hi: b,
                    below: at_most_p,
                    left_of_hi: less_q,
                };
                next.push((part, between));
            }
        }
        drop(active);
        for (part, targets) in next {
            self.select_in(part, targets, out, rng)?;
        }
        Some(())
    }

    /// Gathers the active entries and selects the targets among them.
    fn gather(&self, active: &Active, targets: &[Target], out: &mut [f64]) -> Option<()> {
        let mut values = Vec::with_capacity(usize::try_from(active.len()).ok()?);
        for (i, (&l, &r)) in active.lo.iter().zip(&active.hi).enumerate() {
            values.extend((l..r).map(|j| self.at(i, j)));
        }
        let mut positions = targets
            .iter()
            .map(|t| usize::try_from(t.rank.checked_sub(active.below)?.checked_sub(1)?).ok())
            .collect::<Option<Vec<_>>>()?;
        positions.dedup();
        let found = select_many(&mut values, &positions)?;
        for t in targets {
            let position = usize::try_from(t.rank - active.below - 1).ok()?;
            let i = positions.binary_search(&position).ok()?;
            *out.get_mut(t.slot)? = *found.get(i)?;
        }
        Some(())
    }
}

/// The values that would be at the given positions (ascending, each `< values.len()`) if
/// `values` were sorted: one `select_nth_unstable` per position, each on the part of `values`
/// between its neighbours'.
fn select_many(values: &mut [f64], positions: &[usize]) -> Option<Vec<f64>> {
    fn go(values: &mut [f64], positions: &[usize], offset: usize, out: &mut [f64]) -> Option<()> {
        let middle = positions.len() / 2;
        let Some(&position) = positions.get(middle) else {
            return Some(());
        };
        let index = position.checked_sub(offset)?;
        if index >= values.len() {
            return None;
        }
        let (left, value, right) = values.select_nth_unstable_by(index, f64::total_cmp);
        *out.get_mut(middle)? = *value;
        let (out_left, out_right) = out.split_at_mut(middle);
        go(left, &positions[..middle], offset, out_left)?;
        go(
            right,
            &positions[middle + 1..],
            position + 1,
            out_right.get_mut(1..)?,
        )
    }
    let mut out = vec![0.0; positions.len()];
    go(values, positions, 0, &mut out)?;
    Some(out)
}

/// Moves a row's boundary `g` left, down to `l` at most, while the entry left of it is on the
/// high side of `p` (`≥ p`, `> p` when `STRICT`) in row `xi` of the difference matrix (`w` is `y`
/// descending, so the row's entries `xi − w[j]` grow with `j`). Four columns at a time without a
/// data-dependent branch: the four tests are a run of `false` then `true`, so their sum is the
/// step.
#[inline(always)]
fn advance<const STRICT: bool>(w: &[f64], xi: f64, p: f64, mut g: usize, l: usize) -> usize {
    let high = |wj: f64| {
        let d = xi - wj;
        if STRICT { d > p } else { d >= p }
    };
    while g >= l + 4 {
        let Some(&[w4, w3, w2, w1]) = w.get(g - 4..g) else {
            break;
        };
        let c = usize::from(high(w1))
            + usize::from(high(w2))
            + usize::from(high(w3))
            + usize::from(high(w4));
        g -= c;
        if c < 4 {
            return g;
        }
    }
    while g > l && w.get(g - 1).is_some_and(|&wj| high(wj)) {
        g -= 1;
    }
    g
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// U of x by counting pairs.
    fn brute_u(x: &[f64], y: &[f64]) -> f64 {
        let mut u = 0.0;
        for a in x {
            for b in y {
                if a > b {
                    u += 1.0;
                } else if a == b {
                    u += 0.5;
                }
            }
        }
        u
    }

    fn sorted_differences(x: &[f64], y: &[f64]) -> Vec<f64> {
        let mut d: Vec<f64> = x
            .iter()
            .flat_map(|a| y.iter().map(move |b| a - b))
            .collect();
        d.sort_unstable_by(f64::total_cmp);
        d
    }

    /// A small deterministic generator for test data.
    fn values(seed: u64, n: usize, f: impl Fn(&mut SeededRng) -> f64) -> Vec<f64> {
        let mut rng = SeededRng::new(seed);
        (0..n).map(|_| f(&mut rng)).collect()
    }

    #[test]
    fn mann_whitney_exact_on_separated_samples() {
        // U = 0; every one of the C(6, 3) = 20 arrangements is equally likely.
        let (x, y) = ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]);
        let two = mann_whitney_u(&x, &y, Alternative::TwoSided).unwrap();
        assert_eq!(two.u, 0.0);
        assert!(two.exact);
        assert!((two.p_value - 0.1).abs() < 1e-15);
        let less = mann_whitney_u(&x, &y, Alternative::Less).unwrap();
        assert!((less.p_value - 0.05).abs() < 1e-15);
        let greater = mann_whitney_u(&x, &y, Alternative::Greater).unwrap();
        assert_eq!(greater.p_value, 1.0);
    }

    #[test]
    fn mann_whitney_counts_ties_as_half() {
        // x > y: (3 > 2); x = y: the two 2s against y's 2. U = 1 + 2 × ½.
        let r = mann_whitney_u(&[1.0, 2.0, 2.0, 3.0], &[2.0, 4.0], Alternative::TwoSided).unwrap();
        assert_eq!(r.u, 2.0);
        assert!(!r.exact, "ties: normal approximation");
    }

    #[test]
    fn mann_whitney_normal_approximation_matches_scipy() {
        // scipy.stats.mannwhitneyu([1, 2, 2, 3, 5], [2, 3, 4, 4, 6, 7]) (SciPy 1.17.1).
        let x = [1.0, 2.0, 2.0, 3.0, 5.0];
        let y = [2.0, 3.0, 4.0, 4.0, 6.0, 7.0];
        let r = mann_whitney_u(&x, &y, Alternative::TwoSided).unwrap();
        assert_eq!(r.u, 6.5);
        assert!(!r.exact);
        let scipy = 0.138_625_879_878_927_63;
        assert!((r.p_value - scipy).abs() < 1e-9 * scipy);
    }

    #[test]
    fn mann_whitney_all_tied_is_not_significant() {
        let r = mann_whitney_u(&[3.0; 4], &[3.0; 5], Alternative::TwoSided).unwrap();
        assert_eq!(r.u, 10.0);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn mann_whitney_rejects_empty_and_non_finite_input() {
        assert!(mann_whitney_u(&[], &[1.0], Alternative::TwoSided).is_none());
        assert!(mann_whitney_u(&[1.0], &[], Alternative::Less).is_none());
        assert!(mann_whitney_u(&[1.0, f64::NAN], &[2.0], Alternative::Greater).is_none());
        assert!(mann_whitney_u(&[1.0], &[f64::INFINITY], Alternative::TwoSided).is_none());
        assert!(Sorted::new(&[f64::NEG_INFINITY]).is_none());
    }

    #[test]
    fn exact_distribution_matches_enumeration() {
        // Every arrangement of m + n ranks, m of them for x: U = Σ (rank of x) − m(m+1)/2.
        for m in 1..=5_u64 {
            for n in m..=7_u64 {
                let total = m + n;
                let mut counts = vec![0_u64; (m * n + 1) as usize];
                for mask in 0_u32..(1 << total) {
                    if u64::from(mask.count_ones()) != m {
                        continue;
                    }
                    let rank_sum: u64 = (0..total)
                        .filter(|b| mask >> b & 1 == 1)
                        .map(|b| b + 1)
                        .sum();
                    counts[(rank_sum - m * (m + 1) / 2) as usize] += 1;
                }
                let all: u64 = counts.iter().sum();
                for k in 0..=m * n + 1 {
                    let at_least: u64 = counts.iter().skip(k as usize).sum();
                    let want = at_least as f64 / all as f64;
                    let got = exact_sf(k, m, n);
                    assert!(
                        (got - want).abs() < 1e-15,
                        "m={m} n={n} k={k}: {got} vs {want}"
                    );
                    assert_eq!(exact_sf(k, n, m), got);
                }
            }
        }
    }

    #[test]
    fn floating_point_counts_agree_with_exact_ones() {
        let (m, n) = (8, 700);
        let exact = u_counts::<i128>(m, n, m * n / 2);
        let float = u_counts::<f64>(m, n, m * n / 2);
        let (mut ce, mut cf) = (0_i128, 0.0);
        for (e, f) in exact.iter().zip(&float) {
            ce += e;
            cf += f;
            assert!((cf - ce as f64).abs() <= 1e-12 * ce as f64, "{cf} vs {ce}");
        }
    }

    #[test]
    fn hodges_lehmann_by_hand() {
        // Differences 1, 2, 3. Exact interval: qwilcox(0.025, 3, 1) = 0, so q = 1 and the interval
        // is [D(1), D(3)], whose level is 1 − 2·P(W ≤ 0) = 0.5, as R reports it.
        let r = hodges_lehmann(&[1.0, 2.0, 3.0], &[0.0], 0.95).unwrap();
        assert_eq!(
            r,
            HodgesLehmann {
                estimate: 2.0,
                low: 1.0,
                high: 3.0,
                confidence: 0.5
            }
        );
        // Even n·m: the mean of the two middle differences (−0.5, 0.5, 1, 2 → 0.75).
        let r = hodges_lehmann(&[1.0, 2.0], &[0.0, 1.5], 0.9).unwrap();
        assert_eq!(r.estimate, 0.75);
    }

    #[test]
    fn hodges_lehmann_rejects_bad_input() {
        assert!(hodges_lehmann(&[], &[1.0], 0.95).is_none());
        assert!(hodges_lehmann(&[1.0], &[2.0], 0.0).is_none());
        assert!(hodges_lehmann(&[1.0], &[2.0], 1.0).is_none());
        assert!(hodges_lehmann(&[1.0], &[2.0], f64::NAN).is_none());
        assert!(hodges_lehmann(&[f64::NAN], &[2.0], 0.95).is_none());
        // 1.5e308 − (−1.5e308) overflows.
        assert!(hodges_lehmann(&[1.5e308], &[-1.5e308], 0.95).is_none());
    }

    #[test]
    fn hodges_lehmann_all_tied_is_the_one_difference() {
        let r = hodges_lehmann(&[2.0; 60], &[0.5; 70], 0.95).unwrap();
        assert_eq!((r.estimate, r.low, r.high), (1.5, 1.5, 1.5));
    }

    #[test]
    fn normal_interval_is_symmetric_in_rank() {
        for (n, m, within) in [(60, 70, 0.0), (100, 100, 5000.0), (2000, 1500, 0.0)] {
            let (low, high) = normal_interval_ranks(n, m, 0.05, within);
            assert_eq!(low + high, n * m + 1, "n={n} m={m}");
            assert!(low < n * m / 2);
        }
    }

    #[test]
    fn selection_matches_sorting_on_large_inputs() {
        // Big enough for several sampling rounds; continuous values, heavy ties, and unbalanced
        // sizes.
        let continuous = |r: &mut SeededRng| r.unit() * 10.0 - 3.0;
        let counts = |r: &mut SeededRng| r.below(12) as f64;
        let cases = [
            (values(1, 500, continuous), values(2, 600, continuous)),
            (values(3, 400, counts), values(4, 700, counts)),
            (values(5, 40, continuous), values(6, 3000, continuous)),
            (values(7, 2500, counts), values(8, 30, continuous)),
        ];
        for (x, y) in cases {
            let (sx, sy) = (Sorted::new(&x).unwrap(), Sorted::new(&y).unwrap());
            let d = sorted_differences(sx.as_slice(), sy.as_slice());
            let nm = d.len() as u64;
            let ranks = [1, 2, nm / 3, nm / 2, nm / 2 + 1, nm - 7, nm];
            let got = Differences::new(sx.as_slice(), sy.as_slice())
                .select(&ranks)
                .unwrap();
            for (k, v) in ranks.iter().zip(got) {
                assert_eq!(v, d[*k as usize - 1], "rank {k} of {nm}");
            }
        }
    }

    #[test]
    fn noether_by_hand() {
        // (z₀.₉₇₅ + z₀.₈)² / (12 · ¼ · 0.2²) = (1.959964 + 0.841621)² / 0.12.
        let n = noether_sample_size(0.7, 0.05, 0.8, 0.5).unwrap();
        assert!((n - 65.407_331_119_575_79).abs() < 1e-9);
        // Symmetric in p around ½.
        let m = noether_sample_size(0.3, 0.05, 0.8, 0.5).unwrap();
        assert!((n - m).abs() < 1e-9);
        assert!(noether_sample_size(0.5, 0.05, 0.8, 0.5).is_none());
        assert!(noether_sample_size(1.5, 0.05, 0.8, 0.5).is_none());
        assert!(noether_sample_size(0.7, 0.0, 0.8, 0.5).is_none());
        assert!(noether_sample_size(0.7, 0.05, 1.0, 0.5).is_none());
        assert!(noether_sample_size(0.7, 0.05, 0.8, 1.0).is_none());
        assert!(noether_sample_size(0.7, 0.5, 0.1, 0.5).is_none());
    }

    #[test]
    fn psi_by_hand() {
        // One inner edge at the median 2.5; shares (½, ½) against (¾, ¼): ¼·ln 1.5 + ¼·ln 2.
        let psi = population_stability_index(&[1.0, 2.0, 3.0, 4.0], &[0.0, 0.0, 0.0, 10.0], 2);
        assert!((psi.unwrap() - 0.25 * 3.0_f64.ln()).abs() < 1e-15);
        // An empty bin counts as a share of 1e-4.
        let psi = population_stability_index(&[1.0, 2.0, 3.0, 4.0], &[0.0, 1.0], 2).unwrap();
        let want = 0.5 * 2.0_f64.ln() + (1e-4 - 0.5) * (1e-4 / 0.5_f64).ln();
        assert!((psi - want).abs() < 1e-15);
        // The same distribution is stable.
        let x = values(9, 1000, |r| r.unit());
        assert!(population_stability_index(&x, &x, 10).unwrap().abs() < 1e-15);
        assert!(population_stability_index(&x, &[], 10).is_none());
        assert!(population_stability_index(&x, &x, 1).is_none());
        assert!(population_stability_index(&x, &[f64::NAN], 10).is_none());
    }

    #[test]
    fn quantiles_follow_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_linear(&v, 0.5), Some(2.5));
        assert_eq!(quantile_linear(&v, 0.25), Some(1.75));
        assert_eq!(quantile_linear(&[7.0], 0.3), Some(7.0));
        assert_eq!(quantile_linear(&[], 0.3), None);
    }

    #[test]
    fn sorted_normalises_negative_zero() {
        let s = Sorted::new(&[0.0, -0.0, -1.0]).unwrap();
        assert_eq!(s.as_slice(), &[-1.0, 0.0, 0.0]);
        assert!(s.as_slice()[1].is_sign_positive());
        assert_eq!(s.len(), 3);
        assert!(!s.is_empty());
    }

    fn sample() -> impl Strategy<Value = Vec<f64>> {
        prop_oneof![
            prop::collection::vec(-1e3..1e3_f64, 1..40),
            prop::collection::vec((0_u8..6).prop_map(f64::from), 1..40),
        ]
    }

    proptest! {
        #[test]
        fn u_is_the_pair_count(x in sample(), y in sample()) {
            let r = mann_whitney_u(&x, &y, Alternative::TwoSided).unwrap();
            prop_assert_eq!(r.u, brute_u(&x, &y));
            prop_assert!((0.0..=1.0).contains(&r.p_value));
            let swapped = mann_whitney_u(&y, &x, Alternative::TwoSided).unwrap();
            prop_assert_eq!(r.u + swapped.u, (x.len() * y.len()) as f64);
            prop_assert_eq!(r.p_value, swapped.p_value);
            let less = mann_whitney_u(&x, &y, Alternative::Less).unwrap();
            let greater = mann_whitney_u(&y, &x, Alternative::Greater).unwrap();
            prop_assert_eq!(less.p_value, greater.p_value);
        }

        #[test]
        fn hodges_lehmann_is_the_median_difference(x in sample(), y in sample(), c in 0.5..0.999_f64) {
            let r = hodges_lehmann(&x, &y, c).unwrap();
            let d = sorted_differences(&x, &y);
            let k = d.len();
            let median = if k % 2 == 1 { d[k / 2] } else { (d[k / 2 - 1] + d[k / 2]) / 2.0 };
            prop_assert_eq!(r.estimate, median);
            prop_assert!(d.contains(&r.low) && d.contains(&r.high));
            prop_assert!(r.low <= r.estimate && r.estimate <= r.high);
            // Shifting x shifts everything (up to rounding).
            let shifted: Vec<f64> = x.iter().map(|v| v + 0.5).collect();
            let s = hodges_lehmann(&shifted, &y, c).unwrap();
            prop_assert!((s.estimate - r.estimate - 0.5).abs() < 1e-9);
        }

        #[test]
        fn selection_matches_sorting(
            x in prop::collection::vec((0_u16..300).prop_map(f64::from), 150..260),
            y in prop::collection::vec(-50.0..50.0_f64, 150..260),
            picks in prop::collection::vec(0.0..1.0_f64, 1..5),
        ) {
            let (sx, sy) = (Sorted::new(&x).unwrap(), Sorted::new(&y).unwrap());
            let d = sorted_differences(sx.as_slice(), sy.as_slice());
            let nm = d.len() as u64;
            let mut ranks: Vec<u64> = picks.iter().map(|p| 1 + (p * (nm - 1) as f64) as u64).collect();
            ranks.sort_unstable();
            ranks.dedup();
            let got = Differences::new(sx.as_slice(), sy.as_slice()).select(&ranks).unwrap();
            for (k, v) in ranks.iter().zip(got) {
                prop_assert_eq!(v, d[*k as usize - 1]);
            }
        }
    }
}
