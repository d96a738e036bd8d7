//! `modelci-service`: a reference AI model service. It serves ONNX models over the Open
//! Inference Protocol (KServe v2 REST) with ONNX Runtime, and shows the resilience patterns that
//! modelci's checks exercise: a deadline per request, a bulkhead per model, and a circuit breaker
//! that serves a smaller fallback model while the primary fails. `--help` documents the options.

mod app;
mod breaker;
mod bulkhead;
mod cli;
mod faults;
mod listen;
mod metrics;
mod remote;
mod served;
mod server;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    match app::run(cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("modelci-service: error: {e}");
            ExitCode::from(2)
        }
    }
}
