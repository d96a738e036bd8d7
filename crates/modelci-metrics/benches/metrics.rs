//! Timings of modelci-metrics against the targets (a `harness = false` bench: it prints,
//! it asserts nothing). Run it through `bench/metrics.sh`, or
//! `cargo bench -p modelci-metrics --bench metrics -- [rows] [bootstrap_rows] [resamples]`.
//!
//! Targets: every classifier and fairness metric over 1,000,000 rows in under 1 s; a paired
//! bootstrap of 1,000 resamples over 100,000 rows in under 5 s on 2 cores.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use modelci_metrics::classifier::{self, Average, ClassifierData, ClassifierOptions};
use modelci_metrics::fairness::{self, FairnessData, FairnessOptions};
use modelci_metrics::regressor::{self, RegressorData};
use modelci_metrics::rng::Streams;
use modelci_metrics::stats::{self, Model, PairedBootstrapOptions};
use modelci_metrics::{BootstrapOptions, MetricsError};

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
    (best, last.expect("runs > 0"))
}

fn uniform(s: &mut modelci_metrics::rng::Stream) -> f64 {
    (s.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
}

struct Binary {
    y_true: Vec<u32>,
    y_pred: Vec<u32>,
    proba: Vec<f64>,
    groups: Vec<u32>,
}

fn binary(n: usize) -> Binary {
    let mut s = Streams::new(1, 1).stream(0);
    let mut d = Binary {
        y_true: Vec::with_capacity(n),
        y_pred: Vec::with_capacity(n),
        proba: Vec::with_capacity(2 * n),
        groups: Vec::with_capacity(n),
    };
    for _ in 0..n {
        let g = s.index(6) as u32;
        let y = u32::from(uniform(&mut s) < 0.3 + 0.05 * f64::from(g));
        // Scores rounded to 1e-4: realistic ties.
        let p = ((0.35 * f64::from(y) + 0.65 * uniform(&mut s)) * 1e4).round() / 1e4;
        d.y_true.push(y);
        d.y_pred.push(u32::from(p >= 0.5));
        d.proba.extend([1.0 - p, p]);
        d.groups.push(g);
    }
    d
}

fn multiclass(n: usize, k: usize) -> (Vec<u32>, Vec<u32>, Vec<f64>) {
    let mut s = Streams::new(2, 1).stream(0);
    let (mut y_true, mut y_pred, mut proba) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n * k),
    );
    let mut row = vec![0.0; k];
    for _ in 0..n {
        let y = s.index(k);
        for (c, v) in row.iter_mut().enumerate() {
            *v = uniform(&mut s) + if c == y { 0.8 } else { 0.0 };
        }
        let total: f64 = row.iter().sum();
        let mut arg = 0;
        for c in 0..k {
            row[c] /= total;
            if row[c] > row[arg] {
                arg = c;
            }
        }
        y_true.push(y as u32);
        y_pred.push(arg as u32);
        proba.extend_from_slice(&row);
    }
    (y_true, y_pred, proba)
}

fn main() -> Result<(), MetricsError> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rows = args.first().copied().unwrap_or(1_000_000);
    let boot_rows = args.get(1).copied().unwrap_or(100_000);
    let resamples = args.get(2).copied().unwrap_or(1_000);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "modelci-metrics bench: {rows} rows, paired bootstrap {resamples} x {boot_rows} rows, {threads} threads"
    );

    let d = binary(rows);
    let (t_bin, m) = best(3, || {
        classifier::evaluate(
            &ClassifierData {
                y_true: &d.y_true,
                y_pred: &d.y_pred,
                y_proba: Some(&d.proba),
                n_classes: 2,
            },
            &ClassifierOptions::default(),
        )
    });
    let m = m?;
    println!(
        "classifier, binary with probabilities ({} metrics, roc_auc {:.4}): {:.3} s",
        m.len(),
        m.value("roc_auc").unwrap_or(f64::NAN),
        t_bin.as_secs_f64()
    );

    let k = 4;
    let (y_true, y_pred, proba) = multiclass(rows, k);
    let (t_multi, m) = best(3, || {
        classifier::evaluate(
            &ClassifierData {
                y_true: &y_true,
                y_pred: &y_pred,
                y_proba: Some(&proba),
                n_classes: k as u32,
            },
            &ClassifierOptions {
                average: Average::Weighted,
                ..ClassifierOptions::default()
            },
        )
    });
    let m = m?;
    println!(
        "classifier, {k}-class with probabilities and per-class AUCs ({} metrics): {:.3} s",
        m.len(),
        t_multi.as_secs_f64()
    );

    let (t_fair, r) = best(3, || {
        fairness::evaluate(
            &FairnessData {
                y_true: &d.y_true,
                y_pred: &d.y_pred,
                y_proba: Some(&d.proba),
                groups: &d.groups,
            },
            &FairnessOptions::default(),
        )
    });
    let r = r?;
    println!(
        "fairness, {} groups, per-group classifier metrics with probabilities: {:.3} s (demographic_parity_ratio {:.4})",
        r.by_group.len(),
        t_fair.as_secs_f64(),
        r.aggregates
            .value("demographic_parity_ratio")
            .unwrap_or(f64::NAN)
    );

    let y: Vec<f64> = d.proba.iter().step_by(2).copied().collect();
    let p: Vec<f64> = d.proba.iter().skip(1).step_by(2).copied().collect();
    let (t_reg, m) = best(3, || {
        regressor::evaluate(&RegressorData {
            y_true: &y,
            y_pred: &p,
        })
    });
    m?;
    println!("regressor: {:.3} s", t_reg.as_secs_f64());

    let (t_fair_boot, r) = best(1, || {
        fairness::evaluate(
            &FairnessData {
                y_true: &d.y_true,
                y_pred: &d.y_pred,
                y_proba: None,
                groups: &d.groups,
            },
            &FairnessOptions {
                bootstrap: Some(BootstrapOptions {
                    resamples: 100,
                    ..BootstrapOptions::default()
                }),
                ..FairnessOptions::default()
            },
        )
    });
    r?;
    println!(
        "fairness bootstrap, 100 resamples x {rows} rows (not a target): {:.3} s",
        t_fair_boot.as_secs_f64()
    );

    // Paired bootstrap: baseline vs candidate correctness on the same rows.
    let n = boot_rows.min(rows);
    let base: Vec<bool> = (0..n).map(|i| d.y_true[i] == d.y_pred[i]).collect();
    let cand: Vec<bool> = (0..n).map(|i| base[i] ^ (i % 17 == 0)).collect();
    let accuracy = |model: Model, idx: &[usize]| {
        let correct = match model {
            Model::Baseline => &base,
            Model::Candidate => &cand,
        };
        Some(idx.iter().filter(|&&r| correct[r]).count() as f64 / idx.len() as f64)
    };
    let options = PairedBootstrapOptions {
        bootstrap: BootstrapOptions {
            resamples,
            ..BootstrapOptions::default()
        },
        ..PairedBootstrapOptions::default()
    };
    let (t_boot, r) = best(3, || stats::paired_bootstrap(n, &accuracy, &options));
    let r = r?;
    let ci = r
        .interval
        .as_ref()
        .map_or((f64::NAN, f64::NAN), |c| (c.low, c.high));
    println!(
        "paired bootstrap of accuracy delta, {resamples} x {n} rows: {:.3} s (delta {:.5}, 95% CI [{:.5}, {:.5}])",
        t_boot.as_secs_f64(),
        r.delta,
        ci.0,
        ci.1
    );

    // The same with F1 of the positive class, a metric that needs the labels, not just correctness.
    let (bt, bp) = (&d.y_true[..n], &d.y_pred[..n]);
    let cp: Vec<u32> = (0..n).map(|i| bp[i] ^ u32::from(i % 17 == 0)).collect();
    let f1 = |model: Model, idx: &[usize]| {
        let pred = match model {
            Model::Baseline => bp,
            Model::Candidate => &cp[..],
        };
        // Confusion cells by index (truth * 2 + prediction): no data-dependent branch.
        let mut cells = [0_u64; 4];
        for &r in idx {
            cells[(bt[r] * 2 + pred[r]) as usize & 3] += 1;
        }
        let (fp, fn_, tp) = (cells[1], cells[2], cells[3]);
        let den = 2 * tp + fp + fn_;
        (den > 0).then(|| 2.0 * tp as f64 / den as f64)
    };
    let (t_boot_f1, r) = best(3, || stats::paired_bootstrap(n, &f1, &options));
    r?;
    println!(
        "paired bootstrap of f1 delta, {resamples} x {n} rows: {:.3} s",
        t_boot_f1.as_secs_f64()
    );

    let all_1m = t_bin + t_multi + t_fair;
    println!();
    println!(
        "TARGET classifier + fairness over {rows} rows (binary + {k}-class + fairness): {:.3} s  (target < 1 s: {})",
        all_1m.as_secs_f64(),
        if all_1m.as_secs_f64() < 1.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "TARGET paired bootstrap {resamples} x {n} rows: {:.3} s  (target < 5 s: {})",
        t_boot.as_secs_f64(),
        if t_boot.as_secs_f64() < 5.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
