//! JSON Lines files: one JSON object per line; blank lines are skipped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};

use serde_json::Value;

use crate::builder::{Cell, ColumnBuilder};
use crate::error::{DataError, line_u32};
use crate::table::Table;

pub(crate) fn read(file: File, source: &str) -> Result<Table, DataError> {
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut builders: Vec<ColumnBuilder> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut row_lines: Vec<u32> = Vec::new();
    let mut buf = Vec::new();
    let mut line_no: u64 = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| DataError::new(source, format!("failed to read the file: {e}")))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let line = line_u32(line_no);
        let mut bytes = buf.as_slice();
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            DataError::new(
                source,
                format!(
                    "the line is not valid UTF-8 (bad byte at offset {}); save the file as UTF-8",
                    e.valid_up_to()
                ),
            )
            .at_line(Some(line))
        })?;
        // Trim only the end, so that the columns in JSON errors are the line's own.
        let text = text.trim_end();
        if text.trim_start().is_empty() {
            continue;
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| json_error(source, line, text, &e))?;
        let Value::Object(object) = value else {
            return Err(DataError::new(
                source,
                format!(
                    "expected a JSON object on each line, found {}",
                    kind(&value)
                ),
            )
            .at_line(Some(line)));
        };
        let row = row_lines.len();
        for (position, (key, value)) in object.into_iter().enumerate() {
            // Rows usually list their keys in the same order: try that before hashing.
            let i = match builders.get(position) {
                Some(b) if b.name() == key => position,
                _ => {
                    if let Some(&i) = index.get(&key) {
                        i
                    } else {
                        builders.push(ColumnBuilder::new(key.clone(), row));
                        index.insert(key, builders.len() - 1);
                        builders.len() - 1
                    }
                }
            };
            if builders[i].len() > row {
                // A key that appears twice in one object; serde_json keeps the last.
                continue;
            }
            builders[i].push(cell(value), line);
        }
        for builder in &mut builders {
            if builder.len() == row {
                builder.push(Cell::Missing, line);
            }
        }
        row_lines.push(line);
    }
    if row_lines.is_empty() {
        return Err(DataError::new(
            source,
            "the file has no JSON objects (no rows)",
        ));
    }
    let columns: Vec<_> = builders.into_iter().map(ColumnBuilder::finish).collect();
    let mut table = Table::new(source, columns)?;
    table.row_lines = row_lines;
    Ok(table)
}

fn cell(value: Value) -> Cell<'static> {
    match value {
        Value::Null => Cell::Missing,
        Value::Bool(b) => Cell::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Cell::Str(Cow::Owned(s)),
        Value::Array(items) => {
            if !items.iter().all(|v| v.is_number() || v.is_null()) {
                Cell::Json(Value::Array(items).to_string())
            } else if items.iter().any(Value::is_null) {
                // As in Parquet: a list with a null element is missing as a whole.
                Cell::Missing
            } else {
                Cell::List(items.iter().filter_map(Value::as_f64).collect())
            }
        }
        object @ Value::Object(_) => Cell::Json(object.to_string()),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_error(source: &str, line: u32, text: &str, e: &serde_json::Error) -> DataError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let what = full.strip_suffix(&suffix).unwrap_or(&full);
    let mut message = format!("invalid JSON at column {}: {what}", e.column());
    if ["NaN", "Infinity"].iter().any(|w| text.contains(w)) {
        message.push_str(" (JSON has no NaN or Infinity; write null for a missing value)");
    }
    DataError::new(source, message).at_line(Some(line))
}
