//! Samples from files: CSV (a header row, a column per metric, a row per sample; empty cells
//! are missing) or JSON (`{"metric": [numbers]}`, or a list of rows as objects). Values are
//! numbers; `NaN`, `Inf` and empty cells are missing values (counted, left out).

use std::collections::BTreeMap;
use std::path::Path;

/// The columns of one file: name to values (missing values as NaN).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    /// In the file's order.
    pub names: Vec<String>,
    /// By name.
    pub values: BTreeMap<String, Vec<f64>>,
}

impl Columns {
    /// The column `name`, or why there is none.
    ///
    /// # Errors
    /// The file has no such column (naming the ones it has).
    pub fn column(&self, name: &str, file: &str) -> Result<Vec<f64>, String> {
        self.values.get(name).cloned().ok_or_else(|| {
            let near = modelci_text::suggest(name, self.names.iter().map(String::as_str));
            format!(
                "`{file}` has no column `{name}`{} (its columns: {})",
                near.map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default(),
                if self.names.is_empty() {
                    "none".to_owned()
                } else {
                    self.names.join(", ")
                }
            )
        })
    }
}

/// Reads a number the way the files write them.
fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return Some(f64::NAN);
    }
    t.parse::<f64>().ok()
}

/// Reads `path` (by its extension: `.json`, else CSV).
///
/// # Errors
/// Unreadable file, malformed CSV or JSON, a value that is not a number (with its line or key).
pub fn read(path: &Path) -> Result<Columns, String> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if json {
        read_json(&bytes, &shown)
    } else {
        read_csv(&bytes, &shown)
    }
}

fn read_csv(bytes: &[u8], shown: &str) -> Result<Columns, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("`{shown}`: {e}"))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect::<Vec<_>>();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); headers.len()];
    // One record reused, fields as bytes: no allocation per row.
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(format!("`{shown}`: {e}")),
        }
        for (i, field) in record.iter().enumerate() {
            let cell = std::str::from_utf8(field).ok();
            let v = cell.and_then(number).ok_or_else(|| {
                let line = record.position().map_or(0, csv::Position::line);
                format!(
                    "`{shown}` line {line}: column `{}` holds `{}`, not a number",
                    headers[i],
                    modelci_text::truncate(&String::from_utf8_lossy(field), 40)
                )
            })?;
            values[i].push(v);
        }
    }
    let mut out = Columns::default();
    for (name, v) in headers.into_iter().zip(values) {
        if out.values.insert(name.clone(), v).is_some() {
            return Err(format!("`{shown}`: the column `{name}` appears twice"));
        }
        out.names.push(name);
    }
    Ok(out)
}

fn json_number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::Null => Some(f64::NAN),
        serde_json::Value::String(s) => number(s),
        _ => None,
    }
}

fn read_json(bytes: &[u8], shown: &str) -> Result<Columns, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("`{shown}` is not JSON: {e}"))?;
    let mut out = Columns::default();
    let bad = |key: &str, at: String, v: &serde_json::Value| {
        format!(
            "`{shown}`: `{key}`{at} holds {}, not a number",
            modelci_text::truncate(&v.to_string(), 40)
        )
    };
    match value {
        serde_json::Value::Object(map) => {
            for (key, list) in map {
                let serde_json::Value::Array(items) = list else {
                    return Err(format!(
                        "`{shown}`: `{key}` must be a list of numbers (`{{\"{key}\": [1.5, 2.0]}}`)"
                    ));
                };
                let values = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| json_number(v).ok_or_else(|| bad(&key, format!("[{i}]"), v)))
                    .collect::<Result<Vec<_>, _>>()?;
                out.names.push(key.clone());
                out.values.insert(key, values);
            }
        }
        serde_json::Value::Array(rows) => {
            for (i, row) in rows.iter().enumerate() {
                let serde_json::Value::Object(map) = row else {
                    return Err(format!(
                        "`{shown}`: row {i} must be an object of numbers (`{{\"latency_ms\": 12.5}}`)"
                    ));
                };
                for (key, v) in map {
                    let x = json_number(v).ok_or_else(|| bad(key, format!(" of row {i}"), v))?;
                    if !out.values.contains_key(key) {
                        out.names.push(key.clone());
                        // Rows before this one did not have it.
                        out.values.insert(key.clone(), vec![f64::NAN; i]);
                    }
                    if let Some(col) = out.values.get_mut(key) {
                        col.push(x);
                    }
                }
                for col in out.values.values_mut() {
                    if col.len() < i + 1 {
                        col.push(f64::NAN);
                    }
                }
            }
        }
        _ => {
            return Err(format!(
                "`{shown}` must hold an object of lists (`{{\"latency_ms\": [12.5, 13.1]}}`) or a list of rows"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_with_missing_cells() {
        let c = read_csv(b"latency_ms,errors\n1.5,0\n2.5,\n3,1\n", "b.csv").expect("csv");
        assert_eq!(c.names, ["latency_ms", "errors"]);
        assert_eq!(c.values["latency_ms"], [1.5, 2.5, 3.0]);
        assert!(c.values["errors"][1].is_nan());
        let e = c.column("latency", "b.csv").expect_err("missing");
        assert!(e.contains("did you mean `latency_ms`"), "{e}");
    }

    #[test]
    fn a_bad_csv_cell_names_its_line_and_column() {
        let e = read_csv(b"a,b\n1,2\n3,fast\n", "c.csv").expect_err("bad");
        assert_eq!(e, "`c.csv` line 3: column `b` holds `fast`, not a number");
        let e = read_csv(b"a,b\n1,2,3\n", "c.csv").expect_err("ragged");
        assert!(e.starts_with("`c.csv`"), "{e}");
    }

    #[test]
    fn json_as_columns_or_rows() {
        let c = read_json(br#"{"a": [1, 2.5, null], "b": ["3", 4]}"#, "x.json").expect("json");
        assert_eq!(c.values["b"], [3.0, 4.0]);
        assert!(c.values["a"][2].is_nan());
        let r = read_json(br#"[{"a": 1}, {"a": 2, "b": 5}, {"b": 6}]"#, "x.json").expect("rows");
        assert_eq!(r.values["a"][..2], [1.0, 2.0]);
        assert!(r.values["a"][2].is_nan());
        assert!(r.values["b"][0].is_nan());
        assert_eq!(r.values["b"][1..], [5.0, 6.0]);
        let e = read_json(br#"{"a": [1, true]}"#, "x.json").expect_err("bool");
        assert_eq!(e, "`x.json`: `a`[1] holds true, not a number");
        assert!(
            read_json(b"{", "x.json")
                .expect_err("broken")
                .contains("is not JSON")
        );
    }
}
