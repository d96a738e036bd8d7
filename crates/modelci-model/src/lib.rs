//! Model suites: golden cases run on a model in ONNX Runtime or on a live Open Inference
//! Protocol endpoint ([`golden_suite::ModelCheck`]), the comparison of actual outputs with golden
//! ones (per-dtype tolerances, explicit NaN handling, reports that say how many elements differ,
//! where the worst one is, and which labels changed), and the expectations beyond exact outputs
//! (edge cases, invariants, robustness, regression).
//!
//! Tensors, golden formats and the runtime are in `modelci-tensor`; the endpoint client in
//! `modelci-v2`.

pub mod compare;
pub mod expect;
pub mod golden_suite;
pub mod suite;
pub mod timing;

pub use compare::{NanPolicy, Tolerance, ValueMismatch, compare};
