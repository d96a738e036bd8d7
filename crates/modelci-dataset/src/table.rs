//! The in-memory table: named, typed columns of equal length.

use crate::error::DataError;

/// A dataset read into memory: columns of equal length, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where the table came from (the path as given), used in every error.
    pub source: String,
    /// The number of rows; never 0 for a table that [`crate::read`] returns.
    pub rows: usize,
    /// The columns, in the order of the file.
    pub columns: Vec<Column>,
    /// For text formats (CSV, JSON Lines), the 1-based line on which each row starts, so that
    /// an error about a value can name its line; empty for Parquet.
    pub row_lines: Vec<u32>,
    /// Things the reader did that a person may want to know (a column read as text because it
    /// mixes numbers and text, a Parquet column of an unsupported type left out).
    pub notes: Vec<String>,
}

/// One named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column's name (the CSV header, the JSON key, the Parquet field).
    pub name: String,
    /// The values, one per row; `None` is a missing value.
    pub data: ColumnData,
    /// Why the column has the type it has, when that may surprise (for example "mixes numbers
    /// and text (first text `abc` at line 17); read as text").
    pub note: Option<String>,
}

/// A column's values. Every reader unifies the values of a column to one of these types:
/// integers and floats mixed give `Float`; anything mixed with text (or booleans mixed with
/// numbers, or lists mixed with scalars) gives `Str`, with a [`Column::note`] saying so.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Floating-point numbers.
    Float(Vec<Option<f64>>),
    /// Integers.
    Int(Vec<Option<i64>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
    /// Text.
    Str(Vec<Option<String>>),
    /// Lists of numbers (a probability vector, an embedding, a feature vector).
    List(Vec<Option<Vec<f64>>>),
}

impl ColumnData {
    /// The number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Float(v) => v.len(),
            Self::Int(v) => v.len(),
            Self::Bool(v) => v.len(),
            Self::Str(v) => v.len(),
            Self::List(v) => v.len(),
        }
    }

    /// Whether there are no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the value in `row` is missing (`false` past the end).
    #[must_use]
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Self::Float(v) => matches!(v.get(row), Some(None)),
            Self::Int(v) => matches!(v.get(row), Some(None)),
            Self::Bool(v) => matches!(v.get(row), Some(None)),
            Self::Str(v) => matches!(v.get(row), Some(None)),
            Self::List(v) => matches!(v.get(row), Some(None)),
        }
    }

    /// The type's name as errors show it: `float`, `int`, `bool`, `text` or `list`.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Float(_) => "float",
            Self::Int(_) => "int",
            Self::Bool(_) => "bool",
            Self::Str(_) => "text",
            Self::List(_) => "list",
        }
    }
}

impl Column {
    /// A column with no note.
    #[must_use]
    pub fn new(name: impl Into<String>, data: ColumnData) -> Self {
        Self {
            name: name.into(),
            data,
            note: None,
        }
    }
}

impl Table {
    /// Builds a table from columns made in memory (tests, generated data), checking that there
    /// is at least one row, that all columns have the same length and that names are unique.
    ///
    /// # Errors
    /// A [`DataError`] naming `source` when the columns are empty, of unequal length or have a
    /// duplicate name.
    pub fn new(source: impl Into<String>, columns: Vec<Column>) -> Result<Self, DataError> {
        let source = source.into();
        let Some(first) = columns.first() else {
            return Err(DataError::new(source, "the dataset has no columns"));
        };
        let rows = first.data.len();
        for (i, column) in columns.iter().enumerate() {
            if column.data.len() != rows {
                return Err(DataError::new(
                    source,
                    format!(
                        "has {} values, but column `{}` has {rows}",
                        column.data.len(),
                        first.name
                    ),
                )
                .in_column(&column.name));
            }
            if columns[..i].iter().any(|c| c.name == column.name) {
                return Err(
                    DataError::new(source, "appears twice in the dataset").in_column(&column.name)
                );
            }
        }
        if rows == 0 {
            return Err(DataError::new(source, "the dataset has no rows"));
        }
        Ok(Self {
            source,
            rows,
            columns,
            row_lines: Vec::new(),
            notes: Vec::new(),
        })
    }

    /// The column names, in order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The column called `name`.
    ///
    /// # Errors
    /// When there is none: the error lists the available columns and suggests the closest
    /// name (a case-insensitive match, or one a few edits away).
    pub fn column(&self, name: &str) -> Result<&Column, DataError> {
        if let Some(column) = self.columns.iter().find(|c| c.name == name) {
            return Ok(column);
        }
        let mut message = format!("no column named `{name}`");
        if let Some(best) = modelci_text::suggest(name, self.column_names()) {
            message.push_str(&format!("; did you mean `{best}`?"));
        }
        if let Some(skipped) = self
            .notes
            .iter()
            .find(|n| n.starts_with(&format!("column `{name}` ")))
        {
            message.push_str(&format!(" ({skipped})"));
        }
        message.push_str(&format!(
            " (available: {})",
            list_names(self.column_names())
        ));
        Err(DataError::new(&self.source, message))
    }

    /// The 1-based line where `row` (0-based) starts, for text formats.
    #[must_use]
    pub fn line_of(&self, row: usize) -> Option<u32> {
        self.row_lines.get(row).copied()
    }

    /// An error about the value of `column` in `row`: it names the row's line when the format
    /// has lines, and the 0-based row index in any case.
    pub(crate) fn value_error(&self, row: usize, column: &str, message: &str) -> DataError {
        DataError::new(&self.source, format!("{message} (row index {row})"))
            .at_line(self.line_of(row))
            .in_column(column)
    }

    /// An error about a whole column (its type, say), with its note when it has one.
    pub(crate) fn column_error(&self, column: &Column, message: &str) -> DataError {
        let mut message = message.to_owned();
        if let Some(note) = &column.note {
            message.push_str(&format!(" ({note})"));
        }
        DataError::new(&self.source, message).in_column(&column.name)
    }
}

/// Names as backticked, comma-separated text, at most 30 of them.
fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    const SHOWN: usize = 30;
    let names: Vec<&str> = names.collect();
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}
