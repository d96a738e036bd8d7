use std::fmt;
use std::path::PathBuf;

use modelci_report::Location;

/// A problem in a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "failed to read config `{}`: {}",
        crate::display_path(path),
        io_reason(source)
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration.
    #[error("{0}")]
    At(Diagnostic),
    /// A single-suite command's flags do not make a valid suite.
    #[error("{0}")]
    Usage(String),
    /// A `--set KEY=VALUE` override is malformed or sets a value that is not valid.
    #[error("`--set {key}`: {message}")]
    Override {
        /// The key as written before `=`.
        key: String,
        /// What is wrong, as a lowercase fragment.
        message: String,
    },
}

impl ConfigError {
    /// The file, line and column the error points at, when it points at one.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            ConfigError::At(d) => Some(d),
            ConfigError::Read { .. } | ConfigError::Usage(_) | ConfigError::Override { .. } => None,
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a folder, not a file".into(),
        _ => e.to_string(),
    }
}

/// A message about a place in a file: `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, and the line and column when known.
    pub location: Location,
    /// What is wrong, as a lowercase fragment.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at a byte offset of `text`.
    pub fn at_offset(file: &str, text: &str, offset: usize, message: String) -> Diagnostic {
        Diagnostic {
            location: Location::at_offset(file, text, offset),
            message,
        }
    }

    /// A diagnostic about a whole file.
    pub fn whole_file(file: &str, message: String) -> Diagnostic {
        Diagnostic {
            location: Location::file(file),
            message,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}
