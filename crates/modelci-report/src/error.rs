use std::path::PathBuf;

/// Errors raised while reading or writing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A report file could not be written.
    #[error("failed to write report `{path}`: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A report file could not be read.
    #[error("failed to read report `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A report file could be read but is not a valid report of the expected kind.
    #[error("`{path}` is not a valid {kind} report: {message}")]
    Invalid {
        path: PathBuf,
        kind: &'static str,
        message: String,
    },
    /// Two inputs of a merge hold the same test case, so they are not disjoint shards.
    #[error("{message}")]
    Merge { message: String },
}
