//! The one error type of this crate: input that cannot be evaluated.

/// Why a set of metrics could not be computed. Metrics that are merely undefined on valid input
/// (ROC AUC with one class) are not errors: they come back absent with a reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// No rows at all.
    #[error("nothing to evaluate: `{what}` is empty")]
    Empty {
        /// The empty input.
        what: &'static str,
    },
    /// Two inputs that must describe the same rows differ in length.
    #[error("`{what}` has {actual} values, expected {expected}")]
    LengthMismatch {
        /// The input with the wrong length.
        what: &'static str,
        /// The length it should have.
        expected: usize,
        /// Its length.
        actual: usize,
    },
    /// A class label outside `0..n_classes`.
    #[error("`{what}` row {row}: class {label} is out of range (n_classes = {n_classes})")]
    LabelOutOfRange {
        /// `y_true` or `y_pred`.
        what: &'static str,
        /// Row index (0-based).
        row: usize,
        /// The label found.
        label: u32,
        /// The number of classes declared.
        n_classes: u32,
    },
    /// Fewer than two classes declared.
    #[error("a classifier needs at least two classes, got n_classes = {0}")]
    TooFewClasses(u32),
    /// A NaN or infinite value where a number is needed.
    #[error("`{what}` value {index} is not a finite number ({value})")]
    NonFinite {
        /// The input holding it.
        what: &'static str,
        /// Index in that input (0-based; for probabilities, `row * n_classes + class`).
        index: usize,
        /// The value.
        value: f64,
    },
    /// An option out of its domain.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A metric the caller supplied is undefined on the full sample, so no comparison is possible.
    #[error("the {model} metric is undefined on the full sample of {rows} rows")]
    UndefinedOnSample {
        /// `baseline` or `candidate`.
        model: &'static str,
        /// Rows in the sample.
        rows: usize,
    },
}
