//! Models under test: tensors of every ONNX element type, golden cases (the ONNX test-data
//! layout with serialized `TensorProto`s, and a readable JSON form), and the comparison of actual
//! outputs with golden ones (per-dtype tolerances, explicit NaN handling, reports that say how
//! many elements differ, where the worst one is, and which labels changed).
//!
//! The ONNX Runtime layer and the model suites build on these.

pub mod backend;
pub mod compare;
pub mod endpoint;
pub mod expect;
pub mod golden;
pub mod golden_suite;
pub mod onnx;
pub mod pb;
pub mod runtime;
pub mod suite;
pub mod tensor;
pub mod v2;

pub use compare::{NanPolicy, Tolerance, ValueMismatch, compare};
pub use tensor::{DType, Data, Tensor};
