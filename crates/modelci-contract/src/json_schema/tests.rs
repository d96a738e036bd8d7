use std::fs;

use modelci_config::FilePattern;

use super::*;

const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["label", "confidence"],
  "properties": {
    "label": {"type": "string"},
    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    "created": {"type": "string", "format": "date-time"}
  }
}"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("schema.json"), SCHEMA).expect("schema");
        Fixture { dir }
    }

    fn write(&self, name: &str, content: impl AsRef<[u8]>) {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(path, content).expect("write");
    }

    fn suite(&self, files: &[&str]) -> JsonSchemaSuite {
        JsonSchemaSuite {
            schema: self.dir.path().join("schema.json"),
            schema_line: 3,
            files: files
                .iter()
                .map(|f| FilePattern {
                    written: (*f).to_owned(),
                    resolved: self.dir.path().join(f).to_string_lossy().into_owned(),
                })
                .collect(),
            files_line: 4,
            format: RecordFormat::Auto,
            pointer: String::new(),
            validate_formats: true,
        }
    }

    fn run(&self, suite: &JsonSchemaSuite) -> Vec<Case> {
        let check = JsonSchemaCheck::plan(suite, "modelci.toml", self.dir.path()).expect("plan");
        (0..check.len()).map(|i| check.run(i)).collect()
    }
}

#[test]
fn valid_documents_pass_and_violations_fail_at_their_line() {
    let f = Fixture::new();
    f.write("rec/a.json", r#"{"label": "cat", "confidence": 0.5}"#);
    f.write(
        "rec/b.json",
        "{\n  \"label\": \"cat\",\n  \"confidence\": 1.7\n}\n",
    );
    let cases = f.run(&f.suite(&["rec/*.json"]));
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].name, "rec/a.json");
    assert_eq!(cases[0].outcome, Outcome::Passed);
    let b = &cases[1];
    assert_eq!(b.outcome, Outcome::Failed);
    assert_eq!(
        b.message.as_deref(),
        Some("/confidence: 1.7 is greater than the maximum of 1")
    );
    let loc = b.location.as_ref().expect("location");
    assert!(loc.file.ends_with("rec/b.json"));
    assert_eq!((loc.line, loc.column), (Some(3), Some(17)));
    assert_eq!(b.expected.as_deref(), Some("maximum: 1"));
    assert_eq!(b.actual.as_deref(), Some("1.7"));
}

#[test]
fn every_violation_is_listed() {
    let f = Fixture::new();
    f.write(
        "x.json",
        r#"{"confidence": "high", "created": "yesterday"}"#,
    );
    let cases = f.run(&f.suite(&["x.json"]));
    let c = &cases[0];
    assert_eq!(c.outcome, Outcome::Failed);
    assert_eq!(
        c.properties.get("violations").map(String::as_str),
        Some("3")
    );
    let detail = c.detail.as_deref().expect("detail");
    assert!(
        detail.contains("\"label\" is a required property"),
        "{detail}"
    );
    assert!(
        detail.contains("/confidence: \"high\" is not of type \"number\""),
        "{detail}"
    );
    assert!(
        detail.contains("/created: \"yesterday\" is not a \"date-time\""),
        "{detail}"
    );
    assert!(
        c.message
            .as_deref()
            .expect("message")
            .ends_with("(and 2 more)")
    );
}

#[test]
fn formats_can_be_left_unchecked() {
    let f = Fixture::new();
    f.write(
        "x.json",
        r#"{"label": "a", "confidence": 0, "created": "yesterday"}"#,
    );
    let mut suite = f.suite(&["x.json"]);
    suite.validate_formats = false;
    assert_eq!(f.run(&suite)[0].outcome, Outcome::Passed);
}

#[test]
fn unreadable_documents_are_errored_cases() {
    let f = Fixture::new();
    f.write("bad/not-json.json", "{\"label\": ");
    f.write("bad/latin1.json", b"{\"label\": \"caf\xe9\"}");
    let cases = f.run(&f.suite(&["bad/*.json", "missing.json", "nothing/*.json"]));
    let by_name = |n: &str| cases.iter().find(|c| c.name == n).expect(n);
    let latin = by_name("bad/latin1.json");
    assert_eq!(latin.outcome, Outcome::Errored);
    assert!(
        latin
            .message
            .as_deref()
            .expect("m")
            .contains("is not valid UTF-8 (byte 14, line 1)")
    );
    let nj = by_name("bad/not-json.json");
    assert_eq!(nj.outcome, Outcome::Errored);
    assert!(
        nj.message
            .as_deref()
            .expect("m")
            .starts_with("not valid JSON: EOF while parsing")
    );
    let missing = by_name("missing.json");
    assert_eq!(missing.outcome, Outcome::Errored);
    assert!(
        missing
            .message
            .as_deref()
            .expect("m")
            .ends_with("missing.json`: no such file")
    );
    let nothing = by_name("nothing/*.json");
    assert_eq!(
        nothing.message.as_deref(),
        Some("file pattern `nothing/*.json` matched no files")
    );
    assert_eq!(nothing.location, Some(Location::line("modelci.toml", 4)));
}

#[test]
fn json_lines_give_one_case_per_line() {
    let f = Fixture::new();
    f.write(
        "log.jsonl",
        "{\"label\": \"a\", \"confidence\": 0.1}\n\n{\"label\": \"b\", \"confidence\": -1}\nnot json\n",
    );
    let cases = f.run(&f.suite(&["log.jsonl"]));
    let names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["log.jsonl:1", "log.jsonl:3", "log.jsonl:4"]);
    assert_eq!(cases[0].outcome, Outcome::Passed);
    assert_eq!(cases[1].outcome, Outcome::Failed);
    let loc = cases[1].location.as_ref().expect("loc");
    assert_eq!((loc.line, loc.column), (Some(3), Some(30)));
    assert_eq!(cases[2].outcome, Outcome::Errored);
    assert_eq!(cases[2].location.as_ref().and_then(|l| l.line), Some(4));
}

#[test]
fn pointer_selects_the_payload() {
    let f = Fixture::new();
    f.write(
        "env.json",
        r#"{"status": 200, "body": {"label": "a", "confidence": 2}}"#,
    );
    f.write("other.json", r#"{"status": 500}"#);
    let mut suite = f.suite(&["env.json", "other.json"]);
    suite.pointer = "/body".into();
    let cases = f.run(&suite);
    assert_eq!(
        cases[0].message.as_deref(),
        Some("/body/confidence: 2 is greater than the maximum of 1")
    );
    assert_eq!(
        cases[1].message.as_deref(),
        Some("the document has no value at pointer `/body`")
    );
}

#[test]
fn schema_problems_are_setup_errors_with_locations() {
    let f = Fixture::new();
    let mut suite = f.suite(&["x.json"]);
    suite.schema = f.dir.path().join("nope.json");
    let err = JsonSchemaCheck::plan(&suite, "modelci.toml", f.dir.path())
        .err()
        .expect("err");
    assert!(
        err.message
            .ends_with("nope.json` : no such file".replace(" :", ":").as_str()),
        "{}",
        err.message
    );
    assert_eq!(err.location, Location::line("modelci.toml", 3));

    f.write("broken.json", "{\n  \"type\": \"object\",\n  oops\n}");
    suite.schema = f.dir.path().join("broken.json");
    let err = JsonSchemaCheck::plan(&suite, "modelci.toml", f.dir.path())
        .err()
        .expect("err");
    assert!(err.message.contains("is not valid JSON"), "{}", err.message);
    assert_eq!(err.location.line, Some(3));

    f.write("invalid.json", "{\"type\": \"nonsense\"}");
    suite.schema = f.dir.path().join("invalid.json");
    let err = JsonSchemaCheck::plan(&suite, "modelci.toml", f.dir.path())
        .err()
        .expect("err");
    assert!(
        err.message.contains("is not a valid JSON Schema"),
        "{}",
        err.message
    );
}

#[test]
fn relative_refs_resolve_against_the_schema_folder() {
    let f = Fixture::new();
    // Spaces in the schema's folder and in the reference: the base URI is percent-encoded and
    // the reference percent-decoded.
    f.write(
        "sub dir/my defs/label.json",
        r#"{"type": "string", "enum": ["cat", "dog"]}"#,
    );
    f.write(
        "sub dir/ref-schema.json",
        r#"{"type": "object", "properties": {"label": {"$ref": "my%20defs/label.json"}}}"#,
    );
    f.write("x.json", r#"{"label": "cow"}"#);
    let mut suite = f.suite(&["x.json"]);
    suite.schema = f.dir.path().join("sub dir/ref-schema.json");
    let cases = f.run(&suite);
    assert_eq!(cases[0].outcome, Outcome::Failed, "{:?}", cases[0]);
    assert!(
        cases[0]
            .message
            .as_deref()
            .expect("m")
            .starts_with("/label: \"cow\" is not one of")
    );
}

#[test]
fn a_file_named_twice_is_one_case() {
    let f = Fixture::new();
    f.write("a.json", r#"{"label": "a", "confidence": 0}"#);
    let cases = f.run(&f.suite(&["a.json", "./a.json", "*.json"]));
    let names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
    // schema.json also matches `*.json` (and fails: it has no label).
    assert_eq!(names, ["a.json", "schema.json"]);
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let f = Fixture::new();
    f.write("bom.json", "\u{feff}{\"label\": \"a\", \"confidence\": 0}");
    assert_eq!(f.run(&f.suite(&["bom.json"]))[0].outcome, Outcome::Passed);
}

#[test]
fn remote_refs_are_refused() {
    let f = Fixture::new();
    f.write(
        "remote.json",
        r#"{"properties": {"a": {"$ref": "https://example.com/a.schema.json"}}}"#,
    );
    let mut suite = f.suite(&["x.json"]);
    suite.schema = f.dir.path().join("remote.json");
    let err = JsonSchemaCheck::plan(&suite, "modelci.toml", f.dir.path())
        .err()
        .expect("err");
    assert!(
        err.message
            .contains("remote `$ref` https://example.com/a.schema.json is not fetched"),
        "{}",
        err.message
    );
}

#[test]
fn file_uri_paths_are_percent_decoded_and_bad_utf8_is_replaced() {
    assert_eq!(
        percent_decode("/tmp/my%20schemas/a.json"),
        "/tmp/my schemas/a.json"
    );
    assert_eq!(percent_decode("/tmp/%C3%A9t%C3%A9.json"), "/tmp/été.json");
    assert_eq!(percent_decode("/tmp/100%.json"), "/tmp/100%.json");
    assert_eq!(percent_decode("/tmp/%FF.json"), "/tmp/\u{FFFD}.json");
    // The round trip with file_uri, whatever the path holds.
    let path = Path::new("/tmp/a b#c?d/ü.json");
    let uri = file_uri(path);
    let decoded = percent_decode(uri.trim_start_matches("file://"));
    assert_eq!(Path::new(&decoded), path);
}
