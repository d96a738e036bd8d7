//! The configuration as `modelci check` reads it: `${NAME}` placeholders from the environment
//! (their values never shown), `--set` overrides, and `modelci.toml` found in parent folders.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::{modelci, run, schemas_suite};

const TOKEN: &str = "tok-abcdef123456";
const TRACE: &str = "trace-9f8e7d6c5b4a";

/// A provider that answers every request `200` with a JSON body echoing the request's head
/// (its request line and every header).
fn echoing_provider() -> String {
    crate::raw::serve(|stream, head| {
        let body = serde_json::json!({ "echo": head }).to_string();
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    })
}

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("modelci.toml");
    fs::write(&path, text).expect("write config");
    path.to_str().expect("utf8").to_owned()
}

/// Tokens put in headers through placeholders reach the provider, which echoes them; the
/// terminal and both reports show `$NAME (redacted)` instead, whatever the header's name.
#[test]
fn placeholders_fill_headers_and_their_values_never_reach_output_or_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pact = crate::raw::pact_file(
        dir.path(),
        "echo",
        vec![serde_json::json!({
            "description": "an answer that is not the echo",
            "request": {"method": "GET", "path": "/x"},
            "response": {"status": 200, "body": {"ok": true}}
        })],
    );
    let config = write_config(
        dir.path(),
        &format!(
            r#"[[suite.pact]]
name = "echo"
pacts = ["{pact}"]
provider_url = "${{PROVIDER_URL}}"
headers = {{ Authorization = "Bearer ${{API_TOKEN}}", X-Trace = "${{TRACE_ID}}", X-Plain = "${{UNSET_E2E_VAR:-plain-default}}" }}
"#,
            pact = pact.display()
        ),
    );
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let (code, out, err) = run(modelci(&[
        "check",
        "--config",
        &config,
        "--json",
        json.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
    ])
    .env("PROVIDER_URL", echoing_provider())
    .env("API_TOKEN", TOKEN)
    .env("TRACE_ID", TRACE)
    .env_remove("UNSET_E2E_VAR"));
    assert_eq!(code, 1, "the body mismatches: {out}\n{err}");
    let json = fs::read_to_string(&json).expect("json");
    let junit = fs::read_to_string(&junit).expect("junit");
    for text in [&out, &err, &json, &junit] {
        for secret in [TOKEN, TRACE] {
            assert!(!text.contains(secret), "`{secret}` was shown:\n{text}");
        }
    }
    // The echo reached the report, with the values hidden (so the check is not vacuous); a
    // default written in the file is not a secret.
    assert!(json.contains("$TRACE_ID (redacted)"), "{json}");
    assert!(json.contains("plain-default"), "{json}");
}

#[test]
fn an_unset_variable_is_exit_2_naming_file_line_column_and_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            "{}\n[report]\njson = \"${{REPORT_DIR_E2E}}/r.json\"\n",
            schemas_suite()
        ),
    );
    let (code, out, err) =
        run(modelci(&["check", "--config", &config]).env_remove("REPORT_DIR_E2E"));
    assert_eq!(code, 2, "{out}\n{err}");
    let err = err.replace(&dir.path().display().to_string(), "[TMP]");
    assert_eq!(
        err.trim_end(),
        "error: [TMP]/modelci.toml:9:9: environment variable `REPORT_DIR_E2E` is not set (write `${REPORT_DIR_E2E:-default}` to give a default)"
    );
}

#[test]
fn a_bad_url_from_the_environment_is_refused_without_being_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[service]\nurl = \"${STAGING_URL}\"\n\n[[suite.openapi]]\nname = \"api\"\nopenapi = \"a.yaml\"\nbase_url = \"${service.url}\"\n",
    );
    let (code, out, err) = run(modelci(&["check", "--config", &config])
        .env("STAGING_URL", "ftp://deploy:pw-0123456789@staging"));
    assert_eq!(code, 2, "{out}\n{err}");
    let err = err.replace(&dir.path().display().to_string(), "[TMP]");
    assert_eq!(
        err.trim_end(),
        "error: [TMP]/modelci.toml:7:12: `base_url` must be an http:// or https:// URL, not `$STAGING_URL (redacted)`"
    );
}

#[test]
fn set_overrides_keys_and_names_itself_in_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &schemas_suite());
    // `report.json` set from the command line: the report is written there.
    let report = dir.path().join("set.json");
    let set_report = format!("report.json={}", report.display());
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        &config,
        "--set",
        &set_report,
        "--set",
        "suite.schemas.pointer=/body",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(report.exists(), "{err}");
    // A suite value that changes the outcome: validating whole lines (not `/body`) fails.
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        &config,
        "--set",
        "suite.schemas.pointer=\"\"",
    ]));
    assert_eq!(code, 1, "{out}\n{err}");

    for (set, expected) in [
        (
            "suite.schemes.pointer=/body",
            "error: `--set suite.schemes.pointer`: no suite is named `schemes`; did you mean `schemas`?",
        ),
        (
            "suite.schemas.pointr=/body",
            "error: `--set suite.schemas.pointr`: unknown key `pointr`; did you mean `pointer`?",
        ),
        (
            "suite.schemas.validate_formats=maybe",
            "error: `--set suite.schemas.validate_formats`: invalid type: string \"maybe\", expected a boolean",
        ),
        (
            "suite.schemas",
            "error: `--set suite.schemas`: expected KEY=VALUE, e.g. `--set suite.NAME.timeout_secs=10` or `--set service.url=http://127.0.0.1:8080`",
        ),
    ] {
        let (code, out, err) = run(&mut modelci(&["check", "--config", &config, "--set", set]));
        assert_eq!(code, 2, "{set}: {out}\n{err}");
        assert_eq!(err.trim_end(), expected, "{set}");
    }
}

#[test]
fn the_config_is_found_in_parent_folders_up_to_the_repository_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let deep = repo.join("a/b");
    fs::create_dir_all(&deep).expect("mkdir");
    fs::create_dir(repo.join(".git")).expect("mkdir .git");
    // Relative paths in the file resolve against its folder, wherever modelci runs.
    fs::copy(
        crate::root().join("examples/quickstart/schemas/prediction.schema.json"),
        repo.join("prediction.schema.json"),
    )
    .expect("copy schema");
    fs::copy(
        crate::root().join("examples/quickstart/recorded/predictions.jsonl"),
        repo.join("predictions.jsonl"),
    )
    .expect("copy records");
    write_config(
        &repo,
        "[[suite.json-schema]]\nname = \"schemas\"\nschema = \"prediction.schema.json\"\nfiles = [\"predictions.jsonl\"]\npointer = \"/body\"\n",
    );
    let (code, out, err) = run(modelci(&["check", "--json", "r.json"]).current_dir(&deep));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.starts_with("using ../../modelci.toml (the nearest modelci.toml above this folder)\n"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(deep.join("r.json")).expect("report"))
            .expect("json");
    assert_eq!(report["config"], "../../modelci.toml");
    // In the config's own folder, nothing is said about it.
    let (code, out, err) = run(modelci(&["check"]).current_dir(&repo));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!err.contains("using "), "{err}");

    // The search stops at the repository's root: a file above it is not used.
    fs::rename(repo.join("modelci.toml"), dir.path().join("modelci.toml")).expect("move");
    let (code, out, err) = run(modelci(&["check"]).current_dir(&deep));
    assert_eq!(code, 2, "{out}\n{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "error: no `modelci.toml` in this folder or its parents up to the git repository's root `{}` (run modelci where modelci.toml is, or pass --config PATH; `modelci schema config` prints its schema)",
            repo.display()
        )
    );
}

/// `modelci doctor` finds the configuration as `check` does, takes `--set`, and never shows a
/// value read from the environment (here the service's program).
#[test]
fn doctor_finds_the_config_takes_set_and_hides_environment_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("sub");
    fs::create_dir_all(&sub).expect("mkdir");
    fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    write_config(
        dir.path(),
        &format!(
            "[service]\ncommand = \"exec ${{SVC_BIN_E2E}} --port 1\"\nurl = \"http://127.0.0.1:1\"\n{}",
            schemas_suite()
        ),
    );
    let secret = "/nonexistent/secret-svc-path";
    let (code, out, err) = run(modelci(&["doctor"])
        .current_dir(&sub)
        .env("SVC_BIN_E2E", secret));
    assert_eq!(code, 2, "the program is missing: {out}\n{err}");
    assert!(
        out.lines().any(|l| l.starts_with("config")
            && l.contains("../modelci.toml: 1 suite(s): schemas (json-schema)")),
        "{out}"
    );
    assert!(out.contains("$SVC_BIN_E2E (redacted)"), "{out}");
    assert!(
        !out.contains(secret) && !err.contains(secret),
        "{out}\n{err}"
    );

    let (code, out, err) = run(modelci(&["doctor", "--set", "suite.schema.pointer=/x"])
        .current_dir(&sub)
        .env("SVC_BIN_E2E", secret));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains(
            "`--set suite.schema.pointer`: no suite is named `schema`; did you mean `schemas`?"
        ),
        "{out}"
    );
}
