use super::*;

fn err(text: &str) -> String {
    parse(Path::new("dir/modelci.toml"), text)
        .expect_err("must be rejected")
        .to_string()
}

const GOOD: &str = r#"
[project]
name = "demo"

[report]
junit = "reports/junit.xml"

[[suite.json-schema]]
name = "responses"
schema = "contracts/prediction.schema.json"
files = ["recorded/*.json", "/abs/*.jsonl"]

[[suite.json-schema]]
name = "envelopes"
schema = "s.json"
files = ["logs/*.jsonl"]
format = "jsonl"
pointer = "/body"
validate_formats = false
"#;

#[test]
fn resolves_paths_against_the_config_folder_and_keeps_order() {
    let config = parse(Path::new("dir/modelci.toml"), GOOD).expect("valid");
    assert_eq!(config.project_name.as_deref(), Some("demo"));
    assert_eq!(config.junit, Some(PathBuf::from("dir/reports/junit.xml")));
    assert_eq!(config.suites.len(), 2);
    let s = &config.suites[0];
    assert_eq!(
        (s.name.as_str(), s.line, s.file.as_str()),
        ("responses", 8, "dir/modelci.toml")
    );
    let SuiteSpec::JsonSchema(js) = &s.spec;
    assert_eq!(
        js.schema,
        PathBuf::from("dir/contracts/prediction.schema.json")
    );
    assert_eq!(js.schema_line, 10);
    assert_eq!(js.files[0].resolved, "dir/recorded/*.json");
    assert_eq!(js.files[1].resolved, "/abs/*.jsonl");
    assert!(js.validate_formats);
    let SuiteSpec::JsonSchema(js) = &config.suites[1].spec;
    assert_eq!(js.pointer, "/body");
    assert_eq!(js.format, RecordFormat::Jsonl);
}

#[test]
fn config_in_the_current_folder_gives_bare_paths() {
    let config = parse(Path::new("modelci.toml"), GOOD).expect("valid");
    let SuiteSpec::JsonSchema(js) = &config.suites[0].spec;
    assert_eq!(js.schema, PathBuf::from("contracts/prediction.schema.json"));
}

#[test]
fn unknown_keys_are_rejected_with_a_suggestion_and_a_line() {
    let text = "[[suite.json-schema]]\nname = \"a\"\nschema = \"s.json\"\nfiels = [\"x\"]\n";
    assert_eq!(
        err(text),
        "dir/modelci.toml:4:1: unknown key `fiels`; did you mean `files`?"
    );
    assert_eq!(
        err("[[suite.jsonschema]]\nname = \"a\"\n"),
        "dir/modelci.toml:1:9: unknown key `jsonschema`; did you mean `json-schema`?"
    );
    assert!(
        err("[reports]\n")
            .starts_with("dir/modelci.toml:1:2: unknown key `reports`; did you mean `report`?")
    );
}

#[test]
fn wrong_types_and_missing_keys_point_at_the_line() {
    let text = "[[suite.json-schema]]\nname = \"a\"\nschema = 3\nfiles = [\"x\"]\n";
    let e = err(text);
    assert!(e.starts_with("dir/modelci.toml:3:"), "{e}");
    assert!(e.contains("invalid type: integer `3`"), "{e}");
    let e = err("[[suite.json-schema]]\nname = \"a\"\nfiles = [\"x\"]\n");
    assert!(e.starts_with("dir/modelci.toml:1:"), "{e}");
    assert!(e.contains("missing required key `schema`"), "{e}");
    let e = err(
        "[[suite.json-schema]]\nname = \"a\"\nschema = \"s\"\nfiles = [\"x\"]\nformat = \"josn\"\n",
    );
    assert_eq!(
        e,
        "dir/modelci.toml:5:10: unknown value `josn`; did you mean `json`?"
    );
}

#[test]
fn invalid_toml_points_at_the_line() {
    let e = err("[project]\nname = \"unterminated\n");
    assert!(e.starts_with("dir/modelci.toml:2:"), "{e}");
}

#[test]
fn semantic_errors() {
    let dup = "[[suite.json-schema]]\nname = \"a\"\nschema = \"s\"\nfiles = [\"x\"]\n\n[[suite.json-schema]]\nname = \"a\"\nschema = \"s\"\nfiles = [\"y\"]\n";
    assert_eq!(
        err(dup),
        "dir/modelci.toml:7:8: suite name `a` is already used by the suite on line 1"
    );
    let e = err("[[suite.json-schema]]\nname = \"a b\"\nschema = \"s\"\nfiles = [\"x\"]\n");
    assert!(e.contains("has the character ' '"), "{e}");
    let e = err("[[suite.json-schema]]\nname = \"a\"\nschema = \"s\"\nfiles = []\n");
    assert_eq!(
        e,
        "dir/modelci.toml:4:9: `files` must list at least one path or glob pattern"
    );
    let e = err(
        "[[suite.json-schema]]\nname = \"a\"\nschema = \"s\"\nfiles = [\"x\"]\npointer = \"body\"\n",
    );
    assert!(
        e.starts_with("dir/modelci.toml:5:11: `pointer` must be a JSON Pointer"),
        "{e}"
    );
    let e = err("[report]\njunit = \"r.xml\"\njson = \"r.xml\"\n");
    assert_eq!(
        e,
        "dir/modelci.toml:3:8: `report.junit` and `report.json` both write `dir/r.xml`"
    );
}

#[test]
fn missing_and_non_utf8_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    let e = load(&missing).expect_err("missing").to_string();
    assert!(
        e.starts_with("failed to read config `") && e.ends_with("nope.toml`: no such file"),
        "{e}"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, b"[project]\nname = \"\xff\"\n").expect("write");
    let e = load(&bad).expect_err("non-utf8").to_string();
    assert!(
        e.ends_with("bad.toml:2:9: the file is not valid UTF-8"),
        "{e}"
    );
}

#[test]
fn empty_config_is_valid_and_has_no_suites() {
    let config = parse(Path::new("modelci.toml"), "").expect("valid");
    assert!(config.suites.is_empty());
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("modelci.toml");
    std::fs::write(&path, "\u{feff}[project]\nname = \"bom\"\n").expect("write");
    assert_eq!(
        load(&path).expect("loads").project_name.as_deref(),
        Some("bom")
    );
}
