//! Report files validate against the committed JSON Schema.

use std::fs;

use crate::{modelci, root, run};

#[test]
fn json_report_validates_against_the_committed_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    run(&mut modelci(&[
        "check",
        "--config",
        "examples/failing/modelci.toml",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(root().join("contracts/modelci/report.schema.json")).expect("schema"),
    )
    .expect("json");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).expect("report")).expect("json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn config_examples_validate_against_the_committed_config_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(root().join("contracts/modelci/config.schema.json")).expect("schema"),
    )
    .expect("json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for example in ["quickstart", "failing"] {
        let text = fs::read_to_string(root().join(format!("examples/{example}/modelci.toml")))
            .expect("config");
        let value: toml::Value = toml::from_str(&text).expect("toml");
        let json = serde_json::to_value(value).expect("as json");
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{example}: {errors:#?}");
    }
}
