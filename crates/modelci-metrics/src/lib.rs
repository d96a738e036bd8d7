//! Model-quality metrics, fairness and paired statistics for modelci's release gate.
//!
//! Inputs are already decoded by the caller: class labels as indices `0..n_classes`
//! (`&[u32]`), predicted probabilities row-major `n × n_classes` (`&[f64]`), regression targets
//! and predictions (`&[f64]`), and one sensitive-group id per row (`&[u32]`; the caller maps
//! column values, or intersections of several columns, to ids and keeps their display names).
//!
//! - [`classifier::evaluate`] and [`regressor::evaluate`] compute the metrics of MLflow's default
//!   evaluator, under MLflow's names (`accuracy_score`, `f1_score`, `roc_auc`, `log_loss`,
//!   `mean_absolute_error`, ...), with scikit-learn's definitions.
//! - [`fairness::evaluate`] computes per-group metrics and fairlearn's disparity aggregates
//!   (`demographic_parity_difference`, `equalized_odds_ratio`, ...), the four-fifths rule, a
//!   minimum group size and seeded bootstrap confidence intervals.
//! - [`stats::mcnemar`] and [`stats::paired_bootstrap`] compare a candidate with a baseline on
//!   the same rows, and say when the sample is too small to tell.
//! - [`rank`] compares two independent samples (a canary against its baseline): the
//!   Mann-Whitney U test as SciPy's `mannwhitneyu`, the Hodges-Lehmann shift with R's
//!   `wilcox.test` confidence interval (both `O(n log n)`, never materialising the `n·m` pairwise
//!   differences), Noether's sample size and the population stability index.
//!
//! Every result is a [`Metrics`] map: an ordered list of names, each either a value or absent
//! with a reason. A metric that is undefined on the data (ROC AUC with one class present, log loss
//! without probabilities) is absent with its reason, never `NaN`. Where scikit-learn replaces an
//! ill-defined precision, recall or F1 by 0 and warns, so does this crate: the warning is returned
//! in [`Metrics::warnings`], never printed.
//!
//! Randomness (bootstrap resamples) comes from [`rng`]: modelci-rng's pinned xoshiro256** seeded
//! from the seed, one stream per resample, so results are identical on every platform, for any
//! number of threads and across dependency upgrades.
//!
//! This crate never prints and never panics on user data; invalid input is a [`MetricsError`].

pub mod bootstrap;
pub mod classifier;
mod error;
pub mod fairness;
mod metrics;
mod parallel;
pub mod rank;
mod ranking;
pub mod regressor;
pub mod rng;
pub mod stats;
mod sum;

pub use bootstrap::{BootstrapOptions, ConfidenceInterval};
pub use error::MetricsError;
pub use metrics::{Metric, MetricValue, MetricWarning, Metrics};
