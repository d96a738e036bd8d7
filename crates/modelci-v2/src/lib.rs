//! The Open Inference Protocol (KServe v2 REST): one JSON [`codec`] shared by the [`client`]
//! (a live model endpoint as a [`modelci_tensor::backend::Backend`]) and the reference service
//! (`modelci-service`).

pub mod client;
pub mod codec;

pub use client::{ConnectOptions, Endpoint, signature_mismatches};
