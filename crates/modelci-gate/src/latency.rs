//! Latency: a warm-up, then timed inferences of the candidate (a local session or a live
//! endpoint) at each configured batch size: `latency_p50_ms`, `latency_p95_ms`,
//! `latency_p99_ms` and `throughput_per_s` (rows per second), named plainly for the first batch
//! size and with a `/batch=N` suffix for the others.

use std::time::Instant;

use modelci_tensor::backend::Backend;
use modelci_tensor::tensor::{DType, Data, Tensor};

/// Timings at one batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub batch: usize,
    pub iterations: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Rows answered per second over the timed inferences.
    pub throughput_per_s: f64,
}

impl Timing {
    /// `(metric name, value)` pairs; `suffix` is empty for the first batch size.
    pub fn metrics(&self, suffix: &str) -> Vec<(String, f64)> {
        vec![
            (format!("latency_p50_ms{suffix}"), self.p50_ms),
            (format!("latency_p95_ms{suffix}"), self.p95_ms),
            (format!("latency_p99_ms{suffix}"), self.p99_ms),
            (format!("throughput_per_s{suffix}"), self.throughput_per_s),
        ]
    }
}

/// The `q` quantile (0..=1) of sorted values, interpolated linearly between closest ranks (as
/// NumPy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = pos.ceil() as usize;
            let frac = pos - lo as f64;
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        }
    }
}

/// `batch` rows of `features` (row-major, `width` per row), cycling through the rows when the
/// batch is larger than the data; `None` without rows.
pub fn batch_rows(features: &[f32], width: usize, batch: usize) -> Option<Vec<f32>> {
    let rows = features.len().checked_div(width)?;
    if rows == 0 {
        return None;
    }
    let mut data = Vec::with_capacity(batch * width);
    for r in 0..batch {
        let start = (r % rows) * width;
        data.extend_from_slice(&features[start..start + width]);
    }
    Some(data)
}

/// A `[batch, features]` float32 input named `name` built from `features` (row-major, `width`
/// per row), cycling through the rows when the batch is larger than the data.
pub fn batch_input(name: &str, features: &[f32], width: usize, batch: usize) -> Option<Tensor> {
    let data = batch_rows(features, width, batch)?;
    Tensor::new(
        name,
        DType::F32,
        vec![batch as i64, width as i64],
        Data::Float(data.into_iter().map(f64::from).collect()),
    )
    .ok()
}

/// Times `iterations` inferences of each `inputs` batch after `warmup` untimed ones.
///
/// # Errors
/// The first inference the model refuses, with its message.
pub fn measure(
    backend: &dyn Backend,
    inputs: &[(usize, Vec<Tensor>)],
    warmup: usize,
    iterations: usize,
) -> Result<Vec<Timing>, String> {
    let mut out = Vec::with_capacity(inputs.len());
    for (batch, input) in inputs {
        for _ in 0..warmup {
            backend
                .run(input)
                .map_err(|e| format!("warm-up inference of {batch} row(s) failed: {e}"))?;
        }
        let mut ms = Vec::with_capacity(iterations);
        let started = Instant::now();
        for _ in 0..iterations {
            let t = Instant::now();
            backend
                .run(input)
                .map_err(|e| format!("timed inference of {batch} row(s) failed: {e}"))?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let total = started.elapsed().as_secs_f64();
        ms.sort_by(f64::total_cmp);
        out.push(Timing {
            batch: *batch,
            iterations,
            p50_ms: quantile(&ms, 0.50),
            p95_ms: quantile(&ms, 0.95),
            p99_ms: quantile(&ms, 0.99),
            throughput_per_s: if total > 0.0 {
                (*batch * iterations) as f64 / total
            } else {
                f64::INFINITY
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert!((quantile(&v, 0.95) - 3.85).abs() < 1e-12);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantile(&[7.0], 0.99), 7.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn batches_cycle_through_the_rows() {
        let t = batch_input("input", &[1.0, 2.0, 3.0, 4.0], 2, 3).expect("t");
        assert_eq!(t.shape, vec![3, 2]);
        assert_eq!(t.data, Data::Float(vec![1.0, 2.0, 3.0, 4.0, 1.0, 2.0]));
        assert!(batch_input("input", &[], 2, 3).is_none());
    }
}
