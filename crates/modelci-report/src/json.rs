//! The JSON report: the [`Run`] model serialized with serde.
//!
//! The format is versioned by `schema_version` ([`crate::SCHEMA_VERSION`]); its JSON Schema is
//! generated from the model with `schemars` ([`schema`]) and committed as
//! `contracts/modelci/report.schema.json`, where an end-to-end test keeps it current.

use std::io::{self, Write};
use std::path::Path;

use crate::{ReportError, Run, SCHEMA_VERSION, write_atomic};

/// Serializes a run as pretty-printed JSON (with a trailing newline).
///
/// # Errors
/// Fails when `out` fails.
pub fn write(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, run).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Serializes a run as JSON to a string.
pub fn to_string(run: &Run) -> String {
    let mut buf = Vec::new();
    let _ = write(run, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Writes a run as JSON to `path`, atomically.
///
/// # Errors
/// Fails when the file cannot be written.
pub fn write_file(run: &Run, path: &Path) -> Result<(), ReportError> {
    write_atomic(path, |out| write(run, out))
}

/// Reads a JSON report and recomputes its summary from the cases.
///
/// # Errors
/// Fails when the file cannot be read, is not a modelci JSON report, or has a newer
/// `schema_version` than this modelci understands.
pub fn read_file(path: &Path) -> Result<Run, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |message: String| ReportError::Invalid {
        path: path.to_path_buf(),
        kind: "modelci JSON",
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(invalid(format!(
                "schema_version {v} is not supported (this modelci reads version {SCHEMA_VERSION})"
            )));
        }
        None => return Err(invalid("no `schema_version` field".into())),
    }
    let mut run: Run = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
    run.refresh_summary();
    Ok(run)
}

/// The JSON Schema of the report format, as pretty-printed JSON.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Run);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn snapshot_of_sample_run() {
        insta::assert_snapshot!(to_string(&sample::run()));
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("report.json");
        let run = sample::run();
        write_file(&run, &path).expect("write");
        assert_eq!(read_file(&path).expect("read"), run);
    }

    #[test]
    fn rejects_future_versions_and_foreign_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("report.json");
        let mut text = to_string(&sample::run());
        text = text.replacen("\"schema_version\": 1", "\"schema_version\": 99", 1);
        std::fs::write(&path, text).expect("write");
        let err = read_file(&path).expect_err("future version").to_string();
        assert!(err.contains("schema_version 99 is not supported"), "{err}");
        std::fs::write(&path, "{\"hello\": 1}").expect("write");
        let err = read_file(&path).expect_err("foreign").to_string();
        assert!(err.contains("no `schema_version`"), "{err}");
    }

    #[test]
    fn sample_report_validates_against_the_schema() {
        let schema: serde_json::Value = serde_json::from_str(&schema()).expect("schema json");
        let validator = jsonschema::validator_for(&schema).expect("valid schema");
        let report: serde_json::Value =
            serde_json::from_str(&to_string(&sample::run())).expect("report json");
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let mut broken = report.clone();
        broken["suites"][0]["cases"][0]["outcome"] = "exploded".into();
        assert!(!validator.is_valid(&broken));
    }
}
