//! Expectations beyond exact golden outputs for model suites: edge cases (bad or unusual inputs),
//! invariants (batch invariance, determinism, probability outputs), robustness to seeded
//! perturbations (noise, dropout, and a black-box search for the smallest label-flipping
//! perturbation), and regression against a baseline model.
//!
//! Everything starts from the golden cases' inputs; their expected outputs are not used.
//!
//! **Rows.** When every model input has a leading dynamic (`-1`) dimension, a case's inputs are a
//! batch along axis 0 and a *row* (one index along axis 0 across every input) is the unit that is
//! perturbed, batched and compared; rows are sent in batches of at most [`MAX_BATCH_ROWS`].
//! Otherwise whole cases are the units, each run alone, and the checks that need a batch
//! dimension (batch invariance, empty batch) are skipped with the reason.
//!
//! **Labels** (for flips and label changes) come from `label_output` when the suite names one
//! (an error when the model has no such output), else from the first integer output (its values),
//! else from the argmax along the last axis of the first floating-point output. A label group
//! holding NaN reads as the label `NaN`, so outputs that turn NaN count as flips. Cases say how
//! labels were read in their `labels` property.
//!
//! **Sequences of maps** (skl2onnx's ZipMap: one class → probability map per row) are read as a
//! floating-point `[rows, keys]` tensor with the keys in order ([`MapsAsMatrix`]), so the
//! probabilities invariant, robustness and regression treat them like a probability tensor.
//! Maps whose keys differ from row to row stay maps (and checks on float outputs pass them by).
//!
//! **Randomness** comes from `Rng` (`rng.rs`), a xoshiro256** generator seeded through splitmix64 and
//! written out here, so that a seed perturbs the same way on every platform and in every version.
//!
//! Nothing here panics on what the inputs or the model hold: a model that cannot answer the
//! unperturbed inputs gives an errored case with the model's message.

use std::time::Instant;

use modelci_report::Case;
use modelci_tensor::backend::Backend;
use modelci_tensor::golden;
use modelci_tensor::runtime::{Port, RuntimeError};
use modelci_tensor::tensor::{DType, Data, Tensor};

use crate::compare::Tolerance;
use crate::golden_suite::Overrides;

mod edge;
mod invariants;
mod labels;
mod regression;
mod rng;
mod robustness;
mod rows;
#[cfg(test)]
mod testing;

pub use edge::{edge_case_names, edge_cases};
pub use invariants::{invariant_names, invariants};
pub use regression::regression;
pub use robustness::robustness;

/// The most rows sent to the model in one batch.
pub const MAX_BATCH_ROWS: usize = 1024;

/// What the expectations run on.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The model under test.
    pub backend: &'a dyn Backend,
    /// The golden cases whose inputs are the starting rows (outputs ignored).
    pub cases: &'a [golden::Case],
    /// The suite's tolerance overrides (each output dtype's default otherwise): batch invariance
    /// compares with them, and probabilities may leave `[0, 1]` by the absolute tolerance.
    pub overrides: Overrides,
    /// `label_output` from the suite: the output holding class labels.
    pub label_output: Option<&'a str>,
}

/// A backend whose sequences of maps with the same keys in every row (ZipMap's probabilities)
/// answer as float `[rows, keys]` tensors, columns in key order: what every expectation runs on.
pub(crate) struct MapsAsMatrix<'a>(pub(crate) &'a dyn Backend);

impl Backend for MapsAsMatrix<'_> {
    fn inputs(&self) -> &[Port] {
        self.0.inputs()
    }
    fn outputs(&self) -> &[Port] {
        self.0.outputs()
    }
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        Ok(self
            .0
            .run(inputs)?
            .into_iter()
            .map(maps_as_matrix)
            .collect())
    }
    fn target(&self) -> String {
        self.0.target()
    }
    fn sends_non_finite(&self) -> bool {
        self.0.sends_non_finite()
    }
}

/// A sequence of maps with the same keys in every row as a float `[rows, keys]` tensor; any
/// other tensor as it is.
pub(crate) fn maps_as_matrix(t: Tensor) -> Tensor {
    if t.shape.len() != 1 {
        return t;
    }
    match t.maps_as_matrix() {
        Some(Ok((keys, values))) => Tensor {
            shape: vec![t.shape[0], keys.len() as i64],
            data: Data::Float(values),
            name: t.name,
            dtype: t.dtype,
        },
        _ => t,
    }
}

/// Runs `f` on a context whose backend reads sequences of maps as matrices ([`MapsAsMatrix`]).
fn with_matrices<T>(ctx: &Context<'_>, f: impl FnOnce(&Context<'_>) -> T) -> T {
    let backend = MapsAsMatrix(ctx.backend);
    f(&Context {
        backend: &backend,
        ..*ctx
    })
}

/// The suite's tolerance for an output type: the type's default, overridden by `rtol`/`atol`
/// (as golden suites resolve it).
fn tolerance(dtype: DType, o: Overrides) -> Option<Tolerance> {
    let base = Tolerance::default_for(dtype);
    if o.rtol.is_none() && o.atol.is_none() {
        return base;
    }
    let b = base.unwrap_or(Tolerance {
        rtol: 0.0,
        atol: 0.0,
    });
    Some(Tolerance {
        rtol: o.rtol.unwrap_or(b.rtol),
        atol: o.atol.unwrap_or(b.atol),
    })
}

fn timed(f: impl FnOnce() -> Case) -> Case {
    let started = Instant::now();
    let mut case = f();
    case.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    case
}

trait WithDetail {
    fn with_detail(self, detail: impl Into<String>) -> Self;
}

impl WithDetail for Case {
    fn with_detail(mut self, detail: impl Into<String>) -> Case {
        self.detail = Some(detail.into());
        self
    }
}

fn quoted(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A percentage with at most three decimals: `7.5%`.
fn pct(r: f64) -> String {
    format!("{}%", trim_zeros(&format!("{:.3}", r * 100.0)))
}

/// A number for messages: plain between 1e-3 and 1e6 (at most 6 decimals), else scientific with
/// 4 significant digits; `NaN`, `+Inf`, `-Inf`.
fn num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if (1e-3..1e6).contains(&a) {
        trim_zeros(&format!("{x:.6}"))
    } else {
        let s = format!("{x:.3e}");
        match s.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa)),
            None => s,
        }
    }
}

/// Every digit of a float (for sums that must show how far from 1 they are).
fn full(x: f64) -> String {
    if x.is_finite() { x.to_string() } else { num(x) }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s.to_owned()
    }
}

/// Tensors' names and types, for messages: `` `label`: int64, `probs`: float32 `` (`none`).
fn typed(tensors: &[Tensor]) -> String {
    if tensors.is_empty() {
        return "none".into();
    }
    tensors
        .iter()
        .map(|t| format!("`{}`: {}", t.name, t.dtype))
        .collect::<Vec<_>>()
        .join(", ")
}

fn no_float_reason(inputs: &[Tensor]) -> String {
    let types: Vec<String> = inputs
        .iter()
        .map(|t| format!("`{}`: {}", t.name, t.dtype))
        .collect();
    format!(
        "the model has no floating-point inputs ({})",
        types.join(", ")
    )
}

/// |a - b|, with NaN against NaN (and an infinity against the same one) counting as no change
/// and NaN against a number as an infinite one.
fn difference(a: f64, b: f64) -> f64 {
    if a.is_nan() && b.is_nan() || a == b {
        0.0
    } else if a.is_nan() || b.is_nan() {
        f64::INFINITY
    } else {
        (a - b).abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_of_maps_become_matrices_in_key_order() {
        use modelci_tensor::tensor::Key;
        let row = |a: f64, b: f64| vec![(Key::Int(2), b), (Key::Int(0), a)];
        let zipmap = Tensor::maps(
            "output_probability",
            DType::I64,
            DType::F32,
            vec![row(0.25, 0.75), row(1.0, 0.0)],
            true,
        )
        .expect("maps");
        let m = maps_as_matrix(zipmap);
        assert_eq!(m.shape, vec![2, 2]);
        assert_eq!(m.dtype, DType::F32);
        assert_eq!(m.data, Data::Float(vec![0.25, 0.75, 1.0, 0.0]));
        // Rows with other keys stay maps; tensors stay tensors.
        let ragged = Tensor::maps(
            "p",
            DType::I64,
            DType::F32,
            vec![row(0.5, 0.5), vec![(Key::Int(1), 1.0)]],
            true,
        )
        .expect("maps");
        assert_eq!(maps_as_matrix(ragged.clone()), ragged);
        let t = Tensor::new("x", DType::F32, vec![2], Data::Float(vec![1.0, 2.0])).expect("t");
        assert_eq!(maps_as_matrix(t.clone()), t);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(pct(0.075), "7.5%");
        assert_eq!(pct(0.05), "5%");
        assert_eq!(pct(0.0), "0%");
        assert_eq!(num(1e30), "1e30");
        assert_eq!(num(-1e-6), "-1e-6");
        assert_eq!(num(0.1234567), "0.123457");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(f64::NEG_INFINITY), "-Inf");
        assert_eq!(num(f64::from(f32::MAX)), "3.403e38");
    }
}
