//! The result model shared by every modelci check, and its writers.
//!
//! A [`Run`] holds [`Suite`]s, a suite holds [`Case`]s, and each case has an [`Outcome`]:
//! passed, failed (an assertion about the system under test did not hold), errored (the check
//! could not be carried out) or skipped. Every writer in this crate works from that one model:
//!
//! - [`junit`]: JUnit XML through `quick-junit`, with `file`/`line` on every test case;
//! - [`json`]: the versioned JSON report whose schema is committed under `contracts/modelci/`;
//! - [`github`]: workflow-command annotations, the job summary and step outputs for GitHub Actions;
//! - [`markdown`]: the Markdown summary (used for the GitHub job summary);
//! - [`merge`]: merging the reports of a sharded run back into one.
//!
//! The crate never prints; callers decide where text goes.

pub mod diff;
mod error;
pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
mod model;
mod properties;
#[doc(hidden)]
pub mod sample;
mod write;

pub use error::ReportError;
pub use model::{
    Case, Counts, Location, Outcome, Run, SCHEMA_VERSION, ShardSpec, Suite, Tool, Verdict, line_col,
};
pub use properties::Properties;
pub use write::{is_stdout, write_atomic};
