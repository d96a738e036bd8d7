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

/// Writes an ignore file into `dir`.
fn ignore_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf8").to_owned()
}

#[test]
fn an_ignore_file_accepts_intentional_breaks_until_it_expires() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One intentional removal: still listed, marked, but the other breaks still fail.
    let one = ignore_file(
        dir.path(),
        "one.toml",
        "# intentional\n[[ignore]]\nid = \"path-removed\"\noperation = \"GET /v2/health/ready\"\nreason = \"readiness moved to /v2/health (OPS-12)\"\n",
    );
    let (code, out, err) = run(&mut modelci(&[
        "contract", "diff", V3, BROKEN, "--format", "json", "--ignore", &one,
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    let removed = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == "path-removed")
        .expect("still listed");
    assert_eq!(
        removed["ignored"]["reason"],
        "readiness moved to /v2/health (OPS-12)"
    );
    assert!(
        removed["ignored"]["source"]
            .as_str()
            .is_some_and(|s| s.ends_with("one.toml:2")),
        "{removed:#}"
    );
    assert_eq!(removed["operation"], "GET /v2/health/ready");
    assert_eq!(v["summary"]["ignored"], 1);

    // Everything accepted: the diff passes, and says how many it accepted.
    let all = ignore_file(
        dir.path(),
        "all.toml",
        "[[ignore]]\nid = \"*\"\nreason = \"v3 is a new major version\"\nuntil = 2999-12-31\n",
    );
    let (code, out, err) = run(&mut modelci(&[
        "contract", "diff", V3, BROKEN, "--ignore", &all,
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("IGNORED  path-removed"), "{out}");
    assert!(
        out.contains("ignored breaking change (") && out.contains("v3 is a new major version"),
        "{out}"
    );
    assert!(out.contains("0 breaking"), "{out}");

    // Past its date an entry stops applying, and the run says so.
    let expired = ignore_file(
        dir.path(),
        "expired.toml",
        "[[ignore]]\nid = \"*\"\nreason = \"grace period\"\nuntil = 2020-01-31\n",
    );
    let (code, out, err) = run(&mut modelci(&[
        "contract", "diff", V3, BROKEN, "--format", "json", "--ignore", &expired,
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("expired.toml:1: the ignore entry for `*` expired on 2020-01-31"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["summary"]["ignored"], 0);
    assert!(
        v["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("expired"))
    );

    // A broken ignore file is an error naming its line, before any diff.
    let bad = ignore_file(dir.path(), "bad.toml", "[[ignore]]\nid = \"x\"\n");
    let (code, out, err) = run(&mut modelci(&[
        "contract", "diff", V3, BROKEN, "--ignore", &bad,
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("bad.toml:1") && err.contains("no `reason`"),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
}

#[test]
fn changelog_lists_every_change_by_operation() {
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "diff",
        V1,
        V3,
        "--format",
        "changelog",
    ]));
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("diff_changelog_compatible", out);

    let dir = tempfile::tempdir().expect("tempdir");
    let one = ignore_file(
        dir.path(),
        "ignore.toml",
        "[[ignore]]\nid = \"path-removed\"\noperation = \"/v2/health/ready\"\nreason = \"readiness moved to /v2/health\"\n",
    );
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "diff",
        V3,
        BROKEN,
        "--format",
        "changelog",
        "--ignore",
        &one,
    ]));
    assert_eq!(code, 1, "{err}");
    insta::assert_snapshot!(
        "diff_changelog_breaking",
        out.replace(dir.path().to_str().expect("utf8"), "[dir]")
    );
}

/// `diff_ignore` in `[[suite.openapi]]`: the suite's breaking-change cases accepted by it are
/// skipped with the reason, and the suite passes.
#[test]
fn a_suite_diff_reads_its_ignore_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = crate::root();
    std::fs::copy(root.join(V3), dir.path().join("v3.yaml")).expect("copy");
    std::fs::copy(root.join(BROKEN), dir.path().join("api.yaml")).expect("copy");
    ignore_file(
        dir.path(),
        "api-ignore.toml",
        "[[ignore]]\nid = \"*\"\nreason = \"new major version\"\n\n[[ignore]]\nid = \"never-reported\"\nreason = \"stale\"\n",
    );
    std::fs::write(
        dir.path().join("modelci.toml"),
        "[[suite.openapi]]\nname = \"api\"\nopenapi = \"api.yaml\"\nprevious = \"v3.yaml\"\ndiff_ignore = [\"api-ignore.toml\"]\n",
    )
    .expect("config");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        dir.path().join("modelci.toml").to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    let cases = report["suites"][0]["cases"].as_array().expect("cases");
    let removed = cases
        .iter()
        .find(|c| {
            c["name"]
                .as_str()
                .is_some_and(|n| n.contains("path-removed"))
        })
        .expect("the removal is listed");
    assert_eq!(removed["outcome"], "skipped", "{removed:#}");
    assert!(
        removed["message"].as_str().is_some_and(
            |m| m.contains("ignored breaking change") && m.contains("new major version")
        ),
        "{removed:#}"
    );
    assert!(
        cases.iter().any(|c| c["message"]
            .as_str()
            .is_some_and(|m| m.contains("`never-reported` matches no finding"))),
        "{cases:#?}"
    );
}
