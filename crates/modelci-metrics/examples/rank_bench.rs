//! Timings of `modelci_metrics::rank` at the canary judge's size: 100,000 vs 100,000 lognormal
//! values (the candidate 2% slower). Prints milliseconds (best of several runs); asserts nothing.
//!
//! `cargo run --release -p modelci-metrics --example rank_bench [-- samples]`
//!
//! Target: the judge runs 10 metrics × 100,000 samples per group in under 1 s on 2 cores, so each
//! of Mann-Whitney and Hodges-Lehmann must stay well under ~40 ms.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark code: a failed assumption is a failed run"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use modelci_metrics::rank::{
    Alternative, Sorted, hodges_lehmann, hodges_lehmann_sorted, mann_whitney_u,
    mann_whitney_u_sorted, population_stability_index,
};
use modelci_rng::SeededRng;

/// Best of `runs` wall times of `f`.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = black_box(f());
        best = best.min(start.elapsed());
        last = Some(out);
    }
    (best, last.unwrap())
}

/// `n` lognormal values (Box-Muller), `exp(mu + sigma·z)`.
fn lognormal(rng: &mut SeededRng, n: usize, mu: f64, sigma: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let (u1, u2) = (1.0 - rng.unit(), rng.unit());
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (mu + sigma * z).exp()
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().expect("samples per group"));
    let mut rng = SeededRng::new(7);
    let baseline = lognormal(&mut rng, n, 3.0, 0.6);
    let candidate: Vec<f64> = lognormal(&mut rng, n, 3.0, 0.6)
        .into_iter()
        .map(|v| v * 1.02)
        .collect();
    // Latencies rounded to whole milliseconds: heavy ties.
    let rounded = |v: &[f64]| v.iter().map(|x| x.round()).collect::<Vec<f64>>();
    let (baseline_ms, candidate_ms) = (rounded(&baseline), rounded(&candidate));
    let runs = 7;

    println!("rank statistics, {n} vs {n} lognormal values (best of {runs} runs)");
    let (t, sorted) = best(runs, || {
        (
            Sorted::new(&candidate).unwrap(),
            Sorted::new(&baseline).unwrap(),
        )
    });
    println!(
        "  {:<46}{:8.2} ms",
        "sort both samples (Sorted::new ×2)",
        ms(t)
    );
    let (x, y) = sorted;

    let (t, mw) = best(runs, || {
        mann_whitney_u(&candidate, &baseline, Alternative::TwoSided).unwrap()
    });
    println!(
        "  {:<46}{:8.2} ms   U = {}, p = {:.3e}",
        "mann_whitney_u (sorts copies)",
        ms(t),
        mw.u,
        mw.p_value
    );
    let (t, _) = best(runs, || {
        mann_whitney_u_sorted(&x, &y, Alternative::TwoSided).unwrap()
    });
    println!("  {:<46}{:8.2} ms", "mann_whitney_u_sorted", ms(t));

    let (t, hl) = best(runs, || {
        hodges_lehmann(&candidate, &baseline, 0.95).unwrap()
    });
    println!(
        "  {:<46}{:8.2} ms   shift = {:.4} [{:.4}, {:.4}]",
        "hodges_lehmann (sorts copies)",
        ms(t),
        hl.estimate,
        hl.low,
        hl.high
    );
    let (t, _) = best(runs, || hodges_lehmann_sorted(&x, &y, 0.95).unwrap());
    println!("  {:<46}{:8.2} ms", "hodges_lehmann_sorted", ms(t));

    let (t, (mw, hl)) = best(runs, || {
        let (x, y) = (
            Sorted::new(&candidate_ms).unwrap(),
            Sorted::new(&baseline_ms).unwrap(),
        );
        (
            mann_whitney_u_sorted(&x, &y, Alternative::TwoSided).unwrap(),
            hodges_lehmann_sorted(&x, &y, 0.95).unwrap(),
        )
    });
    println!(
        "  {:<46}{:8.2} ms   p = {:.3e}, shift = {} [{}, {}]",
        "whole-ms latencies (ties): sort + MW + HL",
        ms(t),
        mw.p_value,
        hl.estimate,
        hl.low,
        hl.high
    );

    let (t, _) = best(3, || {
        for _ in 0..10 {
            let (x, y) = (
                Sorted::new(&candidate).unwrap(),
                Sorted::new(&baseline).unwrap(),
            );
            black_box(mann_whitney_u_sorted(&x, &y, Alternative::TwoSided).unwrap());
            black_box(hodges_lehmann_sorted(&x, &y, 0.95).unwrap());
        }
    });
    println!(
        "  {:<46}{:8.2} ms",
        "judge: 10 metrics × (sort + MW + HL), 1 thread",
        ms(t)
    );

    let small = &candidate[..8];
    let (t, mw) = best(runs, || {
        mann_whitney_u(small, &baseline, Alternative::TwoSided).unwrap()
    });
    println!(
        "  {:<46}{:8.2} ms   p = {:.4}",
        format!("mann_whitney_u, 8 vs {n} (exact)"),
        ms(t),
        mw.p_value
    );
    let (t, hl) = best(runs, || {
        hodges_lehmann(&candidate[..1000], &baseline, 0.95).unwrap()
    });
    println!(
        "  {:<46}{:8.2} ms   shift = {:.4}",
        format!("hodges_lehmann, 1000 vs {n}"),
        ms(t),
        hl.estimate
    );

    let (t, psi) = best(runs, || {
        population_stability_index(&baseline, &candidate, 10).unwrap()
    });
    println!(
        "  {:<46}{:8.2} ms   PSI = {psi:.5}",
        "population_stability_index (10 bins)",
        ms(t)
    );
}
