//! Evaluation datasets for the model release gate.
//!
//! A gate evaluates a model on a dataset: feature columns go to the model; a label column, and
//! optionally prediction, score or probability columns computed elsewhere, are compared with
//! what it says; sensitive-attribute columns split the rows into groups for fairness metrics.
//! [`read`] loads a CSV, JSON Lines or Parquet file into a [`Table`] of typed columns, and the
//! table's helpers give the gate what it needs: [`Table::features`], [`Table::labels`] (and
//! [`Labels::map_column`] for predicted classes), [`Table::floats`],
//! [`Table::probabilities`] and [`Table::groups`].
//!
//! ```no_run
//! use std::path::Path;
//!
//! # fn main() -> Result<(), modelci_dataset::DataError> {
//! let table = modelci_dataset::read(Path::new("fixtures/datasets/classification.parquet"))?;
//! let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
//! let x = table.features(&names)?; // rows × 20, row-major f32
//! let labels = table.labels("label")?; // class ids over the sorted classes
//! let predicted = labels.map_column(&table, "pred")?;
//! let proba = table.probabilities(&["proba_0", "proba_1", "proba_2"])?;
//! let groups = table.groups(&["sex", "age_group"])?; // "sex=F, age_group=18-30", ...
//! # let _ = (x, predicted, proba, groups);
//! # Ok(())
//! # }
//! ```
//!
//! # Formats
//! Chosen by extension, ignoring case:
//! - `.csv` (and `.tsv`, tab-separated): a header row is required (an empty header name
//!   becomes `Unnamed: N`, as in pandas); quoted fields may hold delimiters and line breaks; an
//!   empty or blank field is missing; other fields are integers, then floats (`1e-3`, `NaN`,
//!   `inf` included), then `true`/`false` in any case, then text.
//! - `.jsonl`, `.ndjson`: one JSON object per line, blank lines skipped; keys are columns in
//!   order of first appearance; a key absent from a row, or `null`, is missing; numbers beyond
//!   `f64`'s range (`1e400`) are infinities, as in CSV; arrays of
//!   numbers are list columns (one with a `null` element is missing as a whole); other arrays
//!   and objects are kept as their JSON text.
//! - `.parquet`, `.pq`: read with the `parquet` crate's column API, without Arrow. Snappy
//!   (pandas', pyarrow's and Spark's default), zstd (polars' default) and uncompressed files
//!   are read; gzip, brotli and lz4 are not compiled in. Supported columns: BOOLEAN,
//!   INT32/INT64 (signed, unsigned; DECIMAL as floats; dates and timestamps as their raw
//!   integers), FLOAT/DOUBLE, UTF-8 BYTE_ARRAY (unannotated ones too, when they hold UTF-8
//!   text; binary data is left out), and top-level LISTs of numbers (pyarrow's
//!   three-level layout and the legacy two-level one). Nulls are missing; a list with a null
//!   element is missing as a whole. Columns of other types (INT96, fixed-length byte arrays,
//!   structs, maps, lists of text) are left out with a note in [`Table::notes`], which
//!   [`Table::column`] repeats when asked for one of them.
//!
//! # Types
//! Each column has one type. Integers mixed with floats give floats. Text mixed with anything
//! else, booleans mixed with numbers, and lists mixed with scalars give text (numbers written
//! back as text: `1`, `2.5`), with a [`Column::note`] naming the first value that forced it,
//! so a gate that then asks for numbers can say why. A column with no value at all is a float
//! column of missing values.
//!
//! # Missing values
//! Kept as `None`. The helpers refuse them with an error naming the column, the row (0-based)
//! and, for text formats, the line; [`Table::groups`] alone accepts them, as a group of their
//! own ([`MISSING_GROUP`]).
//!
//! # Errors
//! Every failure is a [`DataError`] (`file:line: column `name`: message`); nothing here
//! panics on bad input, and nothing prints.

mod builder;
mod csv;
mod error;
mod extract;
mod groups;
mod jsonl;
mod labels;
mod parquet;
mod table;

use std::fs::File;
use std::path::Path;

pub use error::DataError;
pub use groups::{Groups, MISSING_GROUP};
pub use labels::{Class, Labels};
pub use table::{Column, ColumnData, Table};

/// The file formats [`read`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON object per line.
    JsonLines,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format that a file's extension names, if any.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "tsv" => Some(Self::Tsv),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            "parquet" | "pq" => Some(Self::Parquet),
            _ => None,
        }
    }
}

/// Reads the dataset at `path`, choosing the format by its extension.
///
/// The file is streamed (read once, in 64 KiB pieces, and never held whole as text).
///
/// # Errors
/// An unknown extension, an unreadable file, malformed content (with its line), or a dataset
/// with no rows.
pub fn read(path: &Path) -> Result<Table, DataError> {
    let source = path.display().to_string();
    let format = Format::from_path(path).ok_or_else(|| {
        DataError::new(
            &source,
            "unknown dataset format: the file name must end in .csv, .tsv, .jsonl, .ndjson, \
             .parquet or .pq",
        )
    })?;
    read_as(path, format)
}

/// Reads the dataset at `path` as `format`, whatever its extension.
///
/// # Errors
/// As [`read`].
pub fn read_as(path: &Path, format: Format) -> Result<Table, DataError> {
    let source = path.display().to_string();
    let file = File::open(path)
        .map_err(|e| DataError::new(&source, format!("failed to open the dataset: {e}")))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(DataError::new(
            &source,
            "is a directory, not a dataset file",
        ));
    }
    match format {
        Format::Csv => csv::read(file, &source, b','),
        Format::Tsv => csv::read(file, &source, b'\t'),
        Format::JsonLines => jsonl::read(file, &source),
        Format::Parquet => parquet::read(file, &source),
    }
}
