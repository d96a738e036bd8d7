//! JSON Lines files: one JSON object per line; blank lines are skipped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

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
        let fields: Vec<(String, Cell<'static>)> = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => object.into_iter().map(|(k, v)| (k, cell(v))).collect(),
            Ok(value) => {
                return Err(DataError::new(
                    source,
                    format!(
                        "expected a JSON object on each line, found {}",
                        kind(&value)
                    ),
                )
                .at_line(Some(line)));
            }
            // serde_json refuses numbers beyond f64's range (`1e400`); read them as infinities,
            // as the CSV reader (and Python's `json`) do.
            Err(e) if e.to_string().starts_with("number out of range") => {
                lenient_object(text).ok_or_else(|| json_error(source, line, text, &e))?
            }
            Err(e) => return Err(json_error(source, line, text, &e)),
        };
        let row = row_lines.len();
        for (position, (key, value)) in fields.into_iter().enumerate() {
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
            builders[i].push(value, line);
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

/// A line's object read with numbers beyond `f64`'s range as infinities, keys in order (a
/// repeated key keeps its first place and its last value, as `serde_json` does); `None` when
/// the line is not such an object.
fn lenient_object(text: &str) -> Option<Vec<(String, Cell<'static>)>> {
    let Fields(raw) = serde_json::from_str::<Fields>(text).ok()?;
    let mut fields: Vec<(String, Cell<'static>)> = Vec::with_capacity(raw.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for (key, value) in raw {
        let value = lenient_cell(&value);
        match index.get(&key) {
            Some(&i) => fields[i].1 = value,
            None => {
                index.insert(key.clone(), fields.len());
                fields.push((key, value));
            }
        }
    }
    Some(fields)
}

/// One value of [`lenient_object`].
fn lenient_cell(raw: &RawValue) -> Cell<'static> {
    let text = raw.get().trim();
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return cell(value);
    }
    // A number out of range (the line parsed as JSON, so nothing else fails here but values
    // that hold one). JSON's number syntax is a subset of Rust's float syntax.
    if let Ok(x) = text.parse::<f64>() {
        return Cell::Float(x);
    }
    if let Ok(items) = serde_json::from_str::<Vec<Box<RawValue>>>(text) {
        let mut values = Vec::with_capacity(items.len());
        let mut has_null = false;
        for item in &items {
            let item = item.get().trim();
            if item == "null" {
                has_null = true;
            } else if let Ok(x) = item.parse::<f64>() {
                values.push(x);
            } else {
                return Cell::Json(text.to_owned());
            }
        }
        // As in `cell`: a list with a null element is missing as a whole.
        return if has_null {
            Cell::Missing
        } else {
            Cell::List(values)
        };
    }
    Cell::Json(text.to_owned())
}

/// A JSON object's entries in order, values unparsed.
struct Fields(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Fields;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push(entry);
                }
                Ok(Fields(entries))
            }
        }
        deserializer.deserialize_map(Entries)
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
