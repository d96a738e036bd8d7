//! The errors of the MLflow client.

/// Why an MLflow request or an artifact transfer did not succeed. Messages are lowercase
/// fragments that name the server URL (credentials hidden) and quote MLflow's own
/// `{"error_code", "message"}` when it gave one; tokens and passwords never appear in them,
/// even when a server echoes them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MlflowError {
    /// The configuration cannot be used: no tracking URI, a scheme this client does not speak
    /// (`file:`, `databricks`, a database URI), a bad environment variable.
    #[error("{message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The server could not be reached or did not answer in time, after the retries.
    #[error("{message}")]
    Unavailable {
        /// The URL, the cause and the attempts made.
        message: String,
    },
    /// The server answered that the thing asked for does not exist (an unknown registered
    /// model, version, alias, run or experiment).
    #[error("{what} not found at {server}: {message}")]
    NotFound {
        /// What was asked for: "alias `champion` of registered model `fraud`".
        what: String,
        /// The tracking server (credentials hidden).
        server: String,
        /// The server's own words.
        message: String,
    },
    /// The server refused the request (any other non-2xx answer, or 5xx after the retries).
    #[error("{message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// MLflow's `error_code` (`INVALID_PARAMETER_VALUE`...), when the answer had one.
        error_code: Option<String>,
        /// The URL, the status and the server's message.
        message: String,
    },
    /// The server answered 2xx with something that is not what MLflow's REST API returns.
    #[error("{message}")]
    Protocol {
        /// The URL and what was wrong with the answer.
        message: String,
    },
    /// Something MLflow can do that this client does not: an artifact URI scheme other than
    /// `mlflow-artifacts:` and `runs:`, a server without the artifact proxy.
    #[error("{message}")]
    Unsupported {
        /// What is not supported, and what would work.
        message: String,
    },
    /// An artifact cannot be downloaded safely: a listed name that would escape the
    /// destination, a file over the size limit, too many files.
    #[error("{message}")]
    Artifact {
        /// The artifact and the problem.
        message: String,
    },
    /// A local file or folder could not be read or written.
    #[error("{message}")]
    Io {
        /// The path and the cause.
        message: String,
    },
    /// A model reference that is neither `version:N`, `alias:NAME` nor a version number.
    #[error("{message}")]
    InvalidReference {
        /// The reference and what is expected.
        message: String,
    },
}

impl MlflowError {
    /// Whether the error means "does not exist" ([`MlflowError::NotFound`]).
    pub fn is_not_found(&self) -> bool {
        matches!(self, MlflowError::NotFound { .. })
    }

    /// Whether the server could not be reached or did not answer in time.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, MlflowError::Unavailable { .. })
    }

    /// The same error with `hide` applied to every text it carries.
    pub(crate) fn map_text(self, hide: impl Fn(&str) -> String) -> MlflowError {
        match self {
            MlflowError::Config { message } => MlflowError::Config {
                message: hide(&message),
            },
            MlflowError::Unavailable { message } => MlflowError::Unavailable {
                message: hide(&message),
            },
            MlflowError::NotFound {
                what,
                server,
                message,
            } => MlflowError::NotFound {
                what: hide(&what),
                server: hide(&server),
                message: hide(&message),
            },
            MlflowError::Api {
                status,
                error_code,
                message,
            } => MlflowError::Api {
                status,
                error_code: error_code.map(|c| hide(&c)),
                message: hide(&message),
            },
            MlflowError::Protocol { message } => MlflowError::Protocol {
                message: hide(&message),
            },
            MlflowError::Unsupported { message } => MlflowError::Unsupported {
                message: hide(&message),
            },
            MlflowError::Artifact { message } => MlflowError::Artifact {
                message: hide(&message),
            },
            MlflowError::Io { message } => MlflowError::Io {
                message: hide(&message),
            },
            MlflowError::InvalidReference { message } => MlflowError::InvalidReference {
                message: hide(&message),
            },
        }
    }
}
