//! Regressor metrics under the names of MLflow's default evaluator
//! (`mlflow/models/evaluation/evaluators/regressor.py`, `_get_regressor_metrics`), computed as
//! scikit-learn computes them (unweighted):
//!
//! `example_count`, `mean_absolute_error`, `mean_squared_error`, `root_mean_squared_error`,
//! `sum_on_target`, `mean_on_target`, `r2_score`, `max_error`, `mean_absolute_percentage_error`.
//!
//! `mean_absolute_percentage_error` is scikit-learn's: the mean of
//! `|y_pred − y_true| / max(|y_true|, ε)` with ε = `f64::EPSILON`, so a zero target gives a huge
//! but finite term. `r2_score` is absent when `y_true` is constant or has a single row (scikit-learn
//! then returns 1.0 or 0.0 by its `force_finite` convention, respectively NaN).

use crate::MetricsError;
use crate::metrics::Metrics;
use crate::sum::sum;

/// Targets and predictions, one per row.
#[derive(Debug, Clone, Copy)]
pub struct RegressorData<'a> {
    /// True values.
    pub y_true: &'a [f64],
    /// Predicted values.
    pub y_pred: &'a [f64],
}

/// Computes the regressor metrics described in the [module docs](self).
///
/// # Errors
/// Empty input, lengths that differ, or a non-finite value.
pub fn evaluate(data: &RegressorData<'_>) -> Result<Metrics, MetricsError> {
    let (y, p) = (data.y_true, data.y_pred);
    let n = y.len();
    if n == 0 {
        return Err(MetricsError::Empty { what: "y_true" });
    }
    if p.len() != n {
        return Err(MetricsError::LengthMismatch {
            what: "y_pred",
            expected: n,
            actual: p.len(),
        });
    }
    for (what, values) in [("y_true", y), ("y_pred", p)] {
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(MetricsError::NonFinite { what, index, value });
        }
    }
    let nf = n as f64;
    let pairs = || y.iter().zip(p);
    let mae = sum(pairs().map(|(t, q)| (t - q).abs())) / nf;
    let ss_res = sum(pairs().map(|(t, q)| (t - q) * (t - q)));
    let mse = ss_res / nf;
    let sum_on_target = sum(y.iter().copied());
    let mean = sum_on_target / nf;
    let ss_tot = sum(y.iter().map(|t| (t - mean) * (t - mean)));
    let max_error = pairs().map(|(t, q)| (t - q).abs()).fold(0.0, f64::max);
    let mape = sum(pairs().map(|(t, q)| (q - t).abs() / t.abs().max(f64::EPSILON))) / nf;

    let mut m = Metrics::new();
    m.set("example_count", nf);
    m.set("mean_absolute_error", mae);
    m.set("mean_squared_error", mse);
    m.set("root_mean_squared_error", mse.sqrt());
    m.set("sum_on_target", sum_on_target);
    m.set("mean_on_target", mean);
    if n < 2 {
        m.set_absent("r2_score", "r2_score is undefined with fewer than two rows");
    } else if ss_tot == 0.0 {
        m.set_absent(
            "r2_score",
            "y_true is constant, so r2_score is undefined (zero total variance)",
        );
    } else {
        m.set("r2_score", 1.0 - ss_res / ss_tot);
    }
    m.set("max_error", max_error);
    m.set("mean_absolute_percentage_error", mape);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sklearn_doc_examples() {
        // mean_absolute_error([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) == 0.5, MSE 0.375,
        // r2 0.948608137..., max_error 1.0, MAPE 0.3273809523...
        let m = evaluate(&RegressorData {
            y_true: &[3.0, -0.5, 2.0, 7.0],
            y_pred: &[2.5, 0.0, 2.0, 8.0],
        })
        .unwrap();
        assert_eq!(m.value("mean_absolute_error"), Some(0.5));
        assert_eq!(m.value("mean_squared_error"), Some(0.375));
        assert!((m.value("r2_score").unwrap() - 0.948_608_137_044_967_9).abs() < 1e-12);
        assert_eq!(m.value("max_error"), Some(1.0));
        let mape = m.value("mean_absolute_percentage_error").unwrap();
        assert!((mape - 0.327_380_952_380_952_4).abs() < 1e-12);
        assert_eq!(m.value("sum_on_target"), Some(11.5));
    }

    #[test]
    fn errors_and_undefined() {
        assert!(matches!(
            evaluate(&RegressorData {
                y_true: &[],
                y_pred: &[]
            }),
            Err(MetricsError::Empty { .. })
        ));
        assert!(matches!(
            evaluate(&RegressorData {
                y_true: &[1.0, f64::INFINITY],
                y_pred: &[1.0, 2.0]
            }),
            Err(MetricsError::NonFinite { index: 1, .. })
        ));
        let m = evaluate(&RegressorData {
            y_true: &[2.0, 2.0],
            y_pred: &[1.0, 3.0],
        })
        .unwrap();
        assert!(m.value("r2_score").is_none());
        let m = evaluate(&RegressorData {
            y_true: &[0.0],
            y_pred: &[1.0],
        })
        .unwrap();
        assert!(m.value("r2_score").is_none());
        assert!(
            m.value("mean_absolute_percentage_error")
                .is_some_and(f64::is_finite)
        );
    }
}
