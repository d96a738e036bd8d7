//! The model gate: is a candidate model at least as good as the baseline (the champion) on
//! accuracy, fair across groups and fast enough? Thresholds with MLflow's `MetricThreshold`
//! semantics (plus non-inferiority bounds and optional statistics), resolved from a local file
//! and the MLflow registry's tags, judged on metrics computed for both models on the same rows.

pub mod cases;
pub mod latency;
pub mod threshold;
