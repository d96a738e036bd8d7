//! `modelci contract diff`: files, git revisions, formats and exit codes.

use serde_json::Value;

use crate::{modelci, run, validate_junit};

const V1: &str = "fixtures/openapi/model-service.v1.openapi.yaml";
const V3: &str = "fixtures/openapi/model-service.openapi.yaml";
const BROKEN: &str = "tests/e2e/openapi/model-service-v2.yaml";

#[test]
fn compatible_versions_pass_and_breaking_ones_fail_with_pointers_and_witnesses() {
    let (code, out, err) = run(&mut modelci(&["contract", "diff", V1, V3]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("INFO     operation-added"), "{out}");

    let (code, out, err) = run(&mut modelci(&[
        "contract", "diff", V3, BROKEN, "--format", "json",
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["summary"]["verdict"], "fail");
    let findings = v["findings"].as_array().expect("findings");
    let ids: Vec<&str> = findings
        .iter()
        .map(|f| f["id"].as_str().expect("id"))
        .collect();
    assert!(ids.contains(&"path-removed"), "{ids:?}");
    assert!(ids.contains(&"request-parameter-required-added"), "{ids:?}");
    assert!(ids.contains(&"response-body-required-removed"), "{ids:?}");
    let removed = findings
        .iter()
        .find(|f| f["id"] == "response-body-required-removed")
        .expect("finding");
    assert_eq!(removed["severity"], "breaking");
    assert_eq!(
        removed["old_pointer"],
        "/components/schemas/ModelMetadata/required"
    );
    assert!(removed["witness"].is_object(), "{removed:#}");
    assert!(
        removed["witness"].get("platform").is_none(),
        "the witness lacks `platform`"
    );
}

#[test]
fn markdown_and_junit_formats() {
    let (code, out, _) = run(&mut modelci(&[
        "contract", "diff", V3, BROKEN, "--format", "markdown",
    ]));
    assert_eq!(code, 1);
    assert!(out.starts_with("## ❌ Contract diff: "), "{out}");
    assert!(out.contains("| breaking | `path-removed` |"), "{out}");
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("diff.xml");
    let (code, _, err) = run(&mut modelci(&[
        "contract",
        "diff",
        V3,
        BROKEN,
        "--format",
        "junit",
        "--output",
        junit.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "{err}");
    validate_junit(&junit);
    let xml = std::fs::read_to_string(&junit).expect("xml");
    assert!(
        xml.contains("<failure message=\"breaking: GET /v2/health/ready: the path was removed\""),
        "{xml}"
    );
}

#[test]
fn fail_on_warning_and_bare_json_schemas_by_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    std::fs::write(&old, r#"{"type": "object", "properties": {"label": {"enum": ["cat", "dog"]}}, "required": ["label"]}"#).expect("w");
    std::fs::write(&new, r#"{"type": "object", "properties": {"label": {"enum": ["cat", "dog", "bird"]}}, "required": ["label"]}"#).expect("w");
    let p = |x: &std::path::Path| x.to_str().expect("utf8").to_owned();
    // A new enum value: fine for a request (it widens), breaking for a response.
    let (code, out, _) = run(&mut modelci(&[
        "contract",
        "diff",
        &p(&old),
        &p(&new),
        "--role",
        "request",
    ]));
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&mut modelci(&[
        "contract",
        "diff",
        &p(&old),
        &p(&new),
        "--role",
        "response",
    ]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("response-enum-value-added"), "{out}");
    let (code, out, _) = run(&mut modelci(&["contract", "diff", &p(&old), &p(&new)]));
    assert_eq!(code, 1, "both roles by default\n{out}");
    // Removed parameters are warnings: they fail only with --fail-on warning.
    let (code, out, _) = run(&mut modelci(&["contract", "diff", BROKEN, V3]));
    assert!(out.contains("WARNING  request-parameter-removed"), "{out}");
    let _ = code;
}

#[test]
fn base_ref_reads_the_old_version_from_git() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    let git = |args: &[&str]| modelci_test_support::git(repo, args);
    git(&["init", "-q"]);
    let spec = repo.join("api.yaml");
    std::fs::copy(crate::root().join(V3), &spec).expect("copy");
    git(&["add", "api.yaml"]);
    git(&["commit", "-qm", "v3"]);
    std::fs::copy(crate::root().join(BROKEN), &spec).expect("copy");
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "diff",
        spec.to_str().expect("utf8"),
        "--base-ref",
        "HEAD",
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("api.yaml@HEAD ->"), "{out}");
    assert!(out.contains("path-removed"), "{out}");
    let (code, _, err) = run(&mut modelci(&[
        "contract",
        "diff",
        spec.to_str().expect("utf8"),
        "--base-ref",
        "no-such-ref",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("at `no-such-ref` from git"), "{err}");

    // A revision that is an option never reaches git as one.
    let option = format!("--base-ref=--output={}", repo.join("written").display());
    let (code, _, err) = run(&mut modelci(&[
        "contract",
        "diff",
        spec.to_str().expect("utf8"),
        &option,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(!repo.join("written").exists(), "git wrote a file: {err}");
}

#[test]
fn unusable_inputs_exit_2() {
    let (code, _, err) = run(&mut modelci(&["contract", "diff", V3, "nope.yaml"]));
    assert_eq!(code, 2);
    assert_eq!(err.trim(), "error: `nope.yaml`: no such file");
    let (code, _, err) = run(&mut modelci(&[
        "contract",
        "diff",
        V3,
        "examples/quickstart/schemas/prediction.schema.json",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("are not the same kind of contract"), "{err}");
}

#[test]
fn text_and_markdown_output_snapshots() {
    let (_, text, _) = run(&mut modelci(&["contract", "diff", V3, BROKEN]));
    insta::assert_snapshot!("diff_text", text);
    let (_, md, _) = run(&mut modelci(&[
        "contract", "diff", V3, BROKEN, "--format", "markdown",
    ]));
    insta::assert_snapshot!("diff_markdown", md);
}

/// A `[[suite.openapi]]` with `base_ref` whose document is new since that revision: nothing
/// to compare, so the breaking-change case is skipped (not an error that fails the build).
#[test]
fn a_document_added_since_base_ref_is_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    let git = |args: &[&str]| modelci_test_support::git(repo, args);
    git(&["init", "-q"]);
    std::fs::write(repo.join("README"), "x\n").expect("write");
    git(&["add", "README"]);
    git(&["commit", "-qm", "before the contract"]);
    std::fs::copy(crate::root().join(V3), repo.join("api.yaml")).expect("copy");
    std::fs::write(
        repo.join("modelci.toml"),
        "[[suite.openapi]]\nname = \"api\"\nopenapi = \"api.yaml\"\nbase_ref = \"HEAD\"\n",
    )
    .expect("config");
    let json = repo.join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        repo.join("modelci.toml").to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    let case = &report["suites"][0]["cases"][0];
    assert_eq!(case["outcome"], "skipped", "{case}");
    assert!(
        case["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not exist at `HEAD`") && m.contains("new")),
        "{case}"
    );
}
