//! The one error type of this crate.

use std::fmt;

/// Why a dataset could not be read or a column could not be used.
///
/// Displays as `file:line: column `name`: message`; the line and the column part appear only
/// when known (Parquet files have no lines; a missing file has neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    /// The dataset's path, as given to [`crate::read`] (or [`crate::Table::source`]).
    pub file: String,
    /// The 1-based line of the file where the problem is, when the format has lines.
    pub line: Option<u32>,
    /// The column involved, when there is one.
    pub column: Option<String>,
    /// A lowercase fragment saying what is wrong.
    pub message: String,
}

impl DataError {
    pub(crate) fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_line(mut self, line: Option<u32>) -> Self {
        self.line = line;
        self
    }

    pub(crate) fn in_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(column) = &self.column {
            write!(f, "column `{column}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for DataError {}

/// Converts a 1-based `u64` line number from a parser to the `u32` the error carries.
pub(crate) fn line_u32(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}
