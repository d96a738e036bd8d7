//! modelci's load generator: `modelci load` and `[[suite.load]]`.
//!
//! - [`profile`]: when requests are due (constant or ramping rates, even or Poisson arrivals);
//! - [`run`]: the open-model generator (latency from each request's intended start, so that
//!   queueing behind a stalled server is measured, not hidden) and the closed model;
//! - [`stats`]: HDR histograms and outcome counts that merge exactly across workers and shards;
//! - [`threshold`]: k6-style thresholds (`p(95)<200ms`, `error_rate<1%`, `rps>=500`).
//!
//! The crate never prints.

pub mod plot;
pub mod profile;
pub mod run;
pub mod stats;
pub mod suite;
pub mod threshold;
mod transport;

pub use profile::{Arrivals, Profile, Stage, Starts};
pub use run::{
    FindMax, Live, LoadError, LoadOutcome, LoadSpec, Model, RequestTemplate, Step, TraceEntry,
    Tracing, find_max, run,
};
pub use stats::{ErrorKind, Recorder, Summary};
pub use threshold::{Threshold, Verdict};
