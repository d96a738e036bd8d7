//! Tensors of every ONNX element type, golden cases (the ONNX test-data layout with serialized
//! `TensorProto`s, a readable JSON form, and `.npz`), ONNX model signatures, and the ONNX
//! Runtime layer: what a model service and the model suites need to load a model and run it,
//! and nothing about suites.
//!
//! [`backend::Backend`] is what the suites run on: a model in ONNX Runtime (here) or a live
//! Open Inference Protocol endpoint (`modelci-v2`).

pub mod backend;
pub mod cuda;
pub mod golden;
pub mod onnx;
pub mod pb;
pub mod runtime;
pub mod tensor;

pub use tensor::{DType, Data, Tensor};
