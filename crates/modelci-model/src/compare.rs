//! Comparing an actual output with a golden one.
//!
//! Element type and shape are checked first. Floating-point values match when
//! `|actual - expected| <= atol + rtol * |expected|`, with per-dtype defaults ([`Tolerance::default_for`]);
//! integers, booleans and strings must be equal. NaN handling is explicit ([`NanPolicy`]).
//! A mismatch reports how many elements differ, the worst one (index, expected, actual), the
//! largest absolute and relative errors, and for `[N, C]` float outputs (class scores) how many
//! rows changed their top label.

use std::fmt;

use modelci_tensor::tensor::{DType, Data, Tensor};

/// `|actual - expected| <= atol + rtol * |expected|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

impl Tolerance {
    /// The default for a dtype: float32 rtol 1.3e-6 / atol 1e-5, float16 and bfloat16
    /// 1e-3 / 1e-5, float64 1e-7 / 1e-7; `None` (exact) for integers, booleans and strings.
    pub fn default_for(dtype: DType) -> Option<Tolerance> {
        match dtype {
            DType::F32 => Some(Tolerance {
                rtol: 1.3e-6,
                atol: 1e-5,
            }),
            DType::F16 | DType::BF16 => Some(Tolerance {
                rtol: 1e-3,
                atol: 1e-5,
            }),
            DType::F64 => Some(Tolerance {
                rtol: 1e-7,
                atol: 1e-7,
            }),
            _ => None,
        }
    }

    /// The ONNX backend-test default (rtol 1e-3, atol 1e-7), used for the ONNX test-data layout.
    pub const ONNX_BACKEND: Tolerance = Tolerance {
        rtol: 1e-3,
        atol: 1e-7,
    };

    fn holds(&self, expected: f64, actual: f64) -> bool {
        (actual - expected).abs() <= self.atol + self.rtol * expected.abs()
    }
}

/// How NaN values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NanPolicy {
    /// A NaN matches a NaN at the same position (the usual choice for golden outputs).
    #[default]
    Equal,
    /// Any NaN is a mismatch.
    Never,
}

/// Why an actual output does not match.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueMismatch {
    /// One-line summary.
    pub message: String,
    /// Elements that differ, out of `total`.
    pub differing: usize,
    pub total: usize,
    /// Index of the worst element, with its expected and actual values.
    pub worst: Option<(Vec<usize>, String, String)>,
    pub max_abs_error: Option<f64>,
    pub max_rel_error: Option<f64>,
    /// For `[N, C]` scores: rows whose top label changed, out of N.
    pub changed_labels: Option<(usize, usize)>,
}

impl fmt::Display for ValueMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn mismatch(message: String) -> ValueMismatch {
    ValueMismatch {
        message,
        differing: 0,
        total: 0,
        worst: None,
        max_abs_error: None,
        max_rel_error: None,
        changed_labels: None,
    }
}

/// Compares `actual` with `expected`: `None` when they match, else what differs. `tolerance`
/// `None` means exact (the default for the dtype is the caller's choice, see
/// [`Tolerance::default_for`]).
pub fn compare(
    expected: &Tensor,
    actual: &Tensor,
    tolerance: Option<Tolerance>,
    nan: NanPolicy,
) -> Option<ValueMismatch> {
    let name = &expected.name;
    if expected.dtype != actual.dtype {
        return Some(mismatch(format!(
            "`{name}`: expected {} values but got {}",
            expected.dtype, actual.dtype
        )));
    }
    if expected.shape != actual.shape {
        return Some(mismatch(format!(
            "`{name}`: expected shape {:?} but got {:?}",
            expected.shape, actual.shape
        )));
    }
    let total = expected.data.len();
    match (&expected.data, &actual.data) {
        (Data::Float(e), Data::Float(a)) => compare_floats(expected, e, a, tolerance, nan),
        (Data::Int(e), Data::Int(a)) => exact(expected, e, a, total),
        (Data::UInt(e), Data::UInt(a)) => exact(expected, e, a, total),
        (Data::Bool(e), Data::Bool(a)) => exact(expected, e, a, total),
        (Data::Str(e), Data::Str(a)) => exact(expected, e, a, total),
        _ => Some(mismatch(format!(
            "`{name}`: the values are of different kinds"
        ))),
    }
}

fn exact<T: PartialEq + fmt::Debug>(
    t: &Tensor,
    e: &[T],
    a: &[T],
    total: usize,
) -> Option<ValueMismatch> {
    let differing: Vec<usize> = (0..total).filter(|&i| e[i] != a[i]).collect();
    let &first = differing.first()?;
    Some(ValueMismatch {
        message: format!(
            "`{}`: {} of {total} element(s) differ; first at {:?}: expected {:?}, got {:?}",
            t.name,
            differing.len(),
            t.index_of(first),
            e[first],
            a[first]
        ),
        differing: differing.len(),
        total,
        worst: Some((
            t.index_of(first),
            format!("{:?}", e[first]),
            format!("{:?}", a[first]),
        )),
        max_abs_error: None,
        max_rel_error: None,
        changed_labels: None,
    })
}

fn compare_floats(
    t: &Tensor,
    e: &[f64],
    a: &[f64],
    tolerance: Option<Tolerance>,
    nan: NanPolicy,
) -> Option<ValueMismatch> {
    let tol = tolerance.unwrap_or(Tolerance {
        rtol: 0.0,
        atol: 0.0,
    });
    let mut differing = 0usize;
    let mut worst: Option<(usize, f64)> = None;
    let mut max_abs = 0.0f64;
    let mut max_rel = 0.0f64;
    for (i, (&x, &y)) in e.iter().zip(a).enumerate() {
        let ok = match (x.is_nan(), y.is_nan()) {
            (true, true) => nan == NanPolicy::Equal,
            (true, false) | (false, true) => false,
            _ if x.is_infinite() || y.is_infinite() => x == y,
            _ => tol.holds(x, y),
        };
        if ok {
            continue;
        }
        differing += 1;
        let abs = if x.is_nan() || y.is_nan() || x.is_infinite() || y.is_infinite() {
            f64::INFINITY
        } else {
            (y - x).abs()
        };
        let rel = if x == 0.0 { abs } else { abs / x.abs() };
        max_abs = max_abs.max(abs);
        max_rel = max_rel.max(rel);
        // The worst element: the one furthest beyond its allowed error.
        let excess = abs - (tol.atol + tol.rtol * x.abs());
        if worst.is_none_or(|(_, w)| excess > w) {
            worst = Some((i, excess));
        }
    }
    let (w, _) = worst?;
    let total = e.len();
    let changed_labels = labels_changed(t, e, a);
    let mut message = format!(
        "`{}`: {differing} of {total} element(s) differ beyond rtol {} / atol {}; worst at {:?}: expected {}, got {} (max abs error {max_abs:.3e}, max rel error {max_rel:.3e})",
        t.name,
        tol.rtol,
        tol.atol,
        t.index_of(w),
        e[w],
        a[w]
    );
    if let Some((changed, rows)) = changed_labels {
        message.push_str(&format!(
            "; top label changed in {changed} of {rows} row(s)"
        ));
    }
    Some(ValueMismatch {
        message,
        differing,
        total,
        worst: Some((t.index_of(w), e[w].to_string(), a[w].to_string())),
        max_abs_error: Some(max_abs),
        max_rel_error: Some(max_rel),
        changed_labels,
    })
}

/// For `[N, C]` scores (C > 1): how many rows changed their arg-max.
fn labels_changed(t: &Tensor, e: &[f64], a: &[f64]) -> Option<(usize, usize)> {
    let [n, c] = t.shape.as_slice() else {
        return None;
    };
    let (n, c) = (usize::try_from(*n).ok()?, usize::try_from(*c).ok()?);
    if c < 2 || n == 0 {
        return None;
    }
    let argmax = |row: &[f64]| {
        row.iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                if v > bv { (i, v) } else { (bi, bv) }
            })
            .0
    };
    let changed = (0..n)
        .filter(|r| argmax(&e[r * c..(r + 1) * c]) != argmax(&a[r * c..(r + 1) * c]))
        .count();
    Some((changed, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(shape: Vec<i64>, v: Vec<f64>) -> Tensor {
        Tensor::new("probs", DType::F32, shape, Data::Float(v)).expect("tensor")
    }

    #[test]
    fn within_tolerance_passes() {
        let e = f(vec![2], vec![1.0, 100.0]);
        let a = f(vec![2], vec![1.000_001, 100.000_1]);
        assert!(compare(&e, &a, Tolerance::default_for(DType::F32), NanPolicy::Equal).is_none());
        assert!(
            compare(&e, &a, None, NanPolicy::Equal).is_some(),
            "exact when no tolerance"
        );
    }

    #[test]
    fn reports_count_worst_errors_and_labels() {
        let e = f(vec![2, 3], vec![0.7, 0.2, 0.1, 0.1, 0.8, 0.1]);
        let a = f(vec![2, 3], vec![0.7, 0.2, 0.1, 0.6, 0.3, 0.1]);
        let m =
            compare(&e, &a, Tolerance::default_for(DType::F32), NanPolicy::Equal).expect("differs");
        assert_eq!((m.differing, m.total), (2, 6));
        assert_eq!(m.worst.as_ref().map(|w| w.0.clone()), Some(vec![1, 0]));
        assert_eq!(m.changed_labels, Some((1, 2)));
        assert!(
            m.message.contains("2 of 6 element(s) differ"),
            "{}",
            m.message
        );
        assert!(
            m.message.ends_with("top label changed in 1 of 2 row(s)"),
            "{}",
            m.message
        );
        assert!((m.max_abs_error.expect("abs") - 0.5).abs() < 1e-12);
    }

    #[test]
    fn nan_and_infinity() {
        let e = f(vec![3], vec![f64::NAN, f64::INFINITY, 1.0]);
        let same = f(vec![3], vec![f64::NAN, f64::INFINITY, 1.0]);
        assert!(
            compare(
                &e,
                &same,
                Tolerance::default_for(DType::F32),
                NanPolicy::Equal
            )
            .is_none()
        );
        assert!(
            compare(
                &e,
                &same,
                Tolerance::default_for(DType::F32),
                NanPolicy::Never
            )
            .is_some()
        );
        let other = f(vec![3], vec![1.0, f64::INFINITY, 1.0]);
        assert!(
            compare(
                &e,
                &other,
                Tolerance::default_for(DType::F32),
                NanPolicy::Equal
            )
            .is_some()
        );
    }

    #[test]
    fn dtype_shape_and_exact_kinds() {
        let e = f(vec![2], vec![1.0, 2.0]);
        let wrong_shape = f(vec![1, 2], vec![1.0, 2.0]);
        assert_eq!(
            compare(&e, &wrong_shape, None, NanPolicy::Equal)
                .expect("shape")
                .message,
            "`probs`: expected shape [2] but got [1, 2]"
        );
        let ints = Tensor::new("label", DType::I64, vec![3], Data::Int(vec![0, 1, 2])).expect("t");
        let other = Tensor::new("label", DType::I64, vec![3], Data::Int(vec![0, 2, 2])).expect("t");
        let m = compare(&ints, &other, None, NanPolicy::Equal).expect("ints");
        assert_eq!(
            m.message,
            "`label`: 1 of 3 element(s) differ; first at [1]: expected 1, got 2"
        );
        let strs =
            Tensor::new("s", DType::String, vec![1], Data::Str(vec!["cat".into()])).expect("t");
        let dogs =
            Tensor::new("s", DType::String, vec![1], Data::Str(vec!["dog".into()])).expect("t");
        assert!(compare(&strs, &dogs, None, NanPolicy::Equal).is_some());
        let as_f64 =
            Tensor::new("probs", DType::F64, vec![2], Data::Float(vec![1.0, 2.0])).expect("t");
        assert!(
            compare(&e, &as_f64, None, NanPolicy::Equal)
                .expect("dtype")
                .message
                .contains("expected float32 values but got float64")
        );
    }
}
