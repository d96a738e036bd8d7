//! Comparing an actual output with a golden one.
//!
//! Element type and shape are checked first. Floating-point values match when
//! `|actual - expected| <= atol + rtol * |expected|`, with per-dtype defaults ([`Tolerance::default_for`]);
//! integers, booleans and strings must be equal. NaN handling is explicit ([`NanPolicy`]).
//! A mismatch reports how many elements differ, the worst one (index, expected, actual), the
//! largest absolute and relative errors, and for `[N, C]` float outputs (class scores) how many
//! rows changed their top label.
//!
//! Sequences of maps (ZipMap's class → probability per row) and maps compare key by key: the
//! same number of maps, the same keys in each (a missing or extra key is a difference named by
//! its row and key), values within the float tolerance of the maps' value type.

use std::fmt;

use modelci_tensor::tensor::{DType, Data, Key, Map, Tensor};

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
    if let (Some(_), _) | (_, Some(_)) = (expected.map_key(), actual.map_key()) {
        return compare_map_values(expected, actual, tolerance, nan);
    }
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

/// Whether `actual` matches `expected` within `tol` (NaN and infinities as [`compare`]).
fn float_ok(expected: f64, actual: f64, tol: Tolerance, nan: NanPolicy) -> bool {
    match (expected.is_nan(), actual.is_nan()) {
        (true, true) => nan == NanPolicy::Equal,
        (true, false) | (false, true) => false,
        _ if expected.is_infinite() || actual.is_infinite() => expected == actual,
        _ => tol.holds(expected, actual),
    }
}

/// The absolute error of a differing pair (infinite when either is NaN or infinite).
fn abs_error(expected: f64, actual: f64) -> f64 {
    if !(expected.is_finite() && actual.is_finite()) {
        f64::INFINITY
    } else {
        (actual - expected).abs()
    }
}

/// The key with the largest value of a map (the first on ties), for label changes.
fn top_key(m: &Map) -> Option<&Key> {
    m.iter()
        .fold(None::<(&Key, f64)>, |best, (k, v)| match best {
            Some((_, b)) if *v <= b => best,
            _ => Some((k, *v)),
        })
        .map(|(k, _)| k)
}

/// Sequences of maps, or maps, key by key (see the module docs).
fn compare_map_values(
    expected: &Tensor,
    actual: &Tensor,
    tolerance: Option<Tolerance>,
    nan: NanPolicy,
) -> Option<ValueMismatch> {
    let name = &expected.name;
    let (
        Data::Maps {
            key: ek,
            maps: emaps,
        },
        Data::Maps {
            key: ak,
            maps: amaps,
        },
    ) = (&expected.data, &actual.data)
    else {
        let hint = if actual.map_key().is_some() {
            " (sequences and maps cannot be stored in .npz or as a TensorProto: keep such outputs in the JSON golden form, e.g. with `modelci model record`)"
        } else {
            ""
        };
        return Some(mismatch(format!(
            "`{name}`: expected {} but got {}{hint}",
            expected.type_text(),
            actual.type_text()
        )));
    };
    if ek != ak || expected.dtype != actual.dtype || expected.shape.len() != actual.shape.len() {
        let kind = |t: &Tensor| {
            let text = t.type_text();
            text.split_once('[')
                .map_or(text.clone(), |(k, _)| k.to_owned())
        };
        return Some(mismatch(format!(
            "`{name}`: expected {} but got {}",
            kind(expected),
            kind(actual)
        )));
    }
    if emaps.len() != amaps.len() {
        return Some(mismatch(format!(
            "`{name}`: expected {} map(s) but got {}",
            emaps.len(),
            amaps.len()
        )));
    }
    let tol = tolerance.unwrap_or(Tolerance {
        rtol: 0.0,
        atol: 0.0,
    });
    let sequence = !expected.shape.is_empty();
    // Values as their type holds them: a float32 0.1 reads `0.1`, not its float64 widening.
    let narrow = expected.dtype != DType::F64;
    let show = |x: f64| {
        if narrow {
            format!("{}", x as f32)
        } else {
            format!("{x}")
        }
    };
    let at = |row: usize, key: &Key| {
        if sequence {
            format!("row {row}, key {key}")
        } else {
            format!("key {key}")
        }
    };
    let mut total = 0usize;
    let mut differing = 0usize;
    let mut key_problems: Vec<String> = Vec::new();
    // (row, position in the expected map, expected, actual, excess over the tolerance)
    let mut worst: Option<(usize, usize, Key, f64, f64, f64)> = None;
    let mut max_abs = 0.0f64;
    let mut max_rel = 0.0f64;
    let mut changed = 0usize;
    for (row, (e, a)) in emaps.iter().zip(amaps).enumerate() {
        total += e.len().max(1);
        if top_key(e) != top_key(a) {
            changed += 1;
        }
        for (pos, (k, x)) in e.iter().enumerate() {
            let Ok(j) = a.binary_search_by(|(ak, _)| ak.cmp(k)) else {
                differing += 1;
                key_problems.push(format!("{}: missing from the answer", at(row, k)));
                continue;
            };
            let y = a[j].1;
            if float_ok(*x, y, tol, nan) {
                continue;
            }
            differing += 1;
            let abs = abs_error(*x, y);
            let rel = if *x == 0.0 { abs } else { abs / x.abs() };
            max_abs = max_abs.max(abs);
            max_rel = max_rel.max(rel);
            let excess = abs - (tol.atol + tol.rtol * x.abs());
            if worst.as_ref().is_none_or(|w| excess > w.5) {
                worst = Some((row, pos, k.clone(), *x, y, excess));
            }
        }
        for (k, _) in a {
            if e.binary_search_by(|(ek, _)| ek.cmp(k)).is_err() {
                differing += 1;
                key_problems.push(format!("{}: not expected (extra key)", at(row, k)));
            }
        }
    }
    if differing == 0 {
        return None;
    }
    let mut parts = Vec::new();
    if let Some((row, _, k, x, y, _)) = &worst {
        parts.push(format!(
            "worst at {}: expected {}, got {} (max abs error {max_abs:.3e}, max rel error {max_rel:.3e})",
            at(*row, k),
            show(*x),
            show(*y)
        ));
    }
    if !key_problems.is_empty() {
        let shown: Vec<&str> = key_problems.iter().take(3).map(String::as_str).collect();
        let more = key_problems.len().saturating_sub(shown.len());
        let mut text = format!("keys differ: {}", shown.join("; "));
        if more > 0 {
            text.push_str(&format!(" (and {more} more)"));
        }
        parts.push(text);
    }
    let changed_labels = sequence.then_some((changed, emaps.len()));
    if let Some((c, n)) = changed_labels
        && c > 0
    {
        parts.push(format!("top key changed in {c} of {n} row(s)"));
    }
    Some(ValueMismatch {
        message: format!(
            "`{name}`: {differing} of {total} map value(s) differ beyond rtol {} / atol {}; {}",
            tol.rtol,
            tol.atol,
            parts.join("; ")
        ),
        differing,
        total,
        worst: worst.map(|(row, pos, _, x, y, _)| (vec![row, pos], show(x), show(y))),
        max_abs_error: (max_abs > 0.0).then_some(max_abs),
        max_rel_error: (max_rel > 0.0).then_some(max_rel),
        changed_labels,
    })
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
        if float_ok(x, y, tol, nan) {
            continue;
        }
        differing += 1;
        let abs = abs_error(x, y);
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

    fn maps(rows: &[&[(i64, f64)]]) -> Tensor {
        let maps = rows
            .iter()
            .map(|r| r.iter().map(|(k, v)| (Key::Int(*k), *v)).collect())
            .collect();
        Tensor::maps("output_probability", DType::I64, DType::F32, maps, true).expect("maps")
    }

    #[test]
    fn sequences_of_maps_compare_key_by_key_within_tolerance() {
        let tol = Tolerance::default_for(DType::F32);
        let e = maps(&[&[(0, 0.25), (1, 0.75)], &[(0, 0.9), (1, 0.1)]]);
        let close = maps(&[&[(0, 0.250_001), (1, 0.749_999)], &[(0, 0.9), (1, 0.1)]]);
        assert!(compare(&e, &close, tol, NanPolicy::Equal).is_none());
        assert!(
            compare(&e, &close, None, NanPolicy::Equal).is_some(),
            "exact"
        );
        let off = maps(&[&[(0, 0.25), (1, 0.75)], &[(0, 0.4), (1, 0.6)]]);
        let m = compare(&e, &off, tol, NanPolicy::Equal).expect("differs");
        assert_eq!((m.differing, m.total), (2, 4));
        assert_eq!(m.changed_labels, Some((1, 2)));
        // Both moved by 0.5: the worst is the one whose allowed error is smaller.
        assert_eq!(m.worst.as_ref().map(|w| w.0.clone()), Some(vec![1, 1]));
        assert!(
            m.message.starts_with(
                "`output_probability`: 2 of 4 map value(s) differ beyond rtol 0.0000013 / atol 0.00001; worst at row 1, key 1: expected 0.1, got 0.6"
            ),
            "{}",
            m.message
        );
        assert!(
            m.message.ends_with("top key changed in 1 of 2 row(s)"),
            "{}",
            m.message
        );
    }

    #[test]
    fn missing_and_extra_keys_and_lengths_are_named() {
        let tol = Tolerance::default_for(DType::F32);
        let e = maps(&[&[(0, 0.5), (1, 0.5)], &[(0, 0.5), (1, 0.5)]]);
        let keys = maps(&[&[(0, 0.5), (1, 0.5)], &[(0, 0.5), (2, 0.5)]]);
        let m = compare(&e, &keys, tol, NanPolicy::Equal).expect("keys");
        assert!(
            m.message.contains(
                "keys differ: row 1, key 1: missing from the answer; row 1, key 2: not expected (extra key)"
            ),
            "{}",
            m.message
        );
        let short = maps(&[&[(0, 0.5), (1, 0.5)]]);
        assert_eq!(
            compare(&e, &short, tol, NanPolicy::Equal)
                .expect("len")
                .message,
            "`output_probability`: expected 2 map(s) but got 1"
        );
        let tensor = f(vec![2, 2], vec![0.5; 4]);
        assert_eq!(
            compare(&e, &tensor, tol, NanPolicy::Equal)
                .expect("kind")
                .message,
            "`output_probability`: expected seq(map(int64, float32))[2] but got float32[2, 2]"
        );
        assert!(
            compare(&tensor, &e, tol, NanPolicy::Equal)
                .expect("kind")
                .message
                .starts_with("`probs`: expected float32[2, 2] but got seq(map(int64, float32))[2] (sequences and maps cannot be stored in .npz")
        );
        let strings = Tensor::maps(
            "output_probability",
            DType::String,
            DType::F32,
            vec![vec![(Key::Str("a".into()), 1.0)]; 2],
            true,
        )
        .expect("t");
        assert_eq!(
            compare(&e, &strings, tol, NanPolicy::Equal)
                .expect("keys")
                .message,
            "`output_probability`: expected seq(map(int64, float32)) but got seq(map(string, float32))"
        );
        let nan = maps(&[&[(0, f64::NAN)]]);
        assert!(compare(&nan, &nan.clone(), tol, NanPolicy::Equal).is_none());
        assert!(compare(&nan, &nan.clone(), tol, NanPolicy::Never).is_some());
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
