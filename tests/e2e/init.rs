//! `modelci init`: the real binary writes a configuration that `modelci check` then runs.

use std::fs;
use std::path::Path;

use crate::{modelci, root, run};

/// A repository with recordings, their schemas and an OpenAPI document with its previous
/// version: everything `check` can run without a service or a model.
fn offline_repo(dir: &Path) {
    let q = root().join("examples/quickstart");
    for f in [
        "schemas/prediction.schema.json",
        "schemas/v2-infer-response.schema.json",
        "recorded/predictions.jsonl",
        "recorded/infer/cat.json",
        "recorded/infer/dog-batch.json",
        "contracts/classifier-service/openapi.yaml",
        "contracts/classifier-service/openapi.v1.yaml",
        "contracts/classifier-service/infer-request.schema.json",
        "contracts/classifier-service/infer-response.schema.json",
    ] {
        let dest = dir.join(f);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(q.join(f), dest).unwrap();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn init_then_check_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    offline_repo(&repo);
    let (code, stdout, stderr) = run(&mut modelci(&["init", s(&repo)]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let config = repo.join("modelci.toml");
    let shown = stderr.replace(&tmp.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!("init_offline_stderr", shown);

    let (code, stdout, stderr) = run(&mut modelci(&["check", "--config", s(&config)]));
    assert_eq!(
        code,
        0,
        "{stdout}\n{stderr}\n{}",
        fs::read_to_string(&config).unwrap()
    );
    assert!(stdout.contains("verdict: PASS (exit 0)"), "{stdout}");
    for suite in ["prediction", "v2-infer-response", "classifier-service-api"] {
        assert!(stdout.contains(suite), "{suite} in {stdout}");
    }
}

#[test]
fn refuses_to_overwrite_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    offline_repo(repo);
    let config = repo.join("modelci.toml");
    fs::write(&config, "# mine\n").unwrap();
    let (code, _, stderr) = run(&mut modelci(&["init", s(repo)]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("modelci.toml` already exists; pass --force to replace it"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&config).unwrap(), "# mine\n");

    // --dry-run and --output - print instead, and leave the file alone.
    for flags in [&["--dry-run"][..], &["--output", "-"][..]] {
        let mut args = vec!["init", s(repo)];
        args.extend_from_slice(flags);
        let (code, stdout, stderr) = run(&mut modelci(&args));
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.starts_with("# modelci.toml, written by `modelci init`"),
            "{stdout}"
        );
        assert!(stdout.contains("[[suite.json-schema]]"), "{stdout}");
        assert_eq!(fs::read_to_string(&config).unwrap(), "# mine\n");
    }

    let (code, _, stderr) = run(&mut modelci(&["init", s(repo), "--force"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        fs::read_to_string(&config)
            .unwrap()
            .contains("[[suite.openapi]]")
    );

    // --output elsewhere: paths relative to that file, and `check` is told where it is.
    let other = tmp.path().join("ci.toml");
    let (code, _, stderr) = run(&mut modelci(&["init", s(repo), "--output", s(&other)]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("next: modelci check --config "), "{stderr}");
    let (code, stdout, stderr) = run(&mut modelci(&["check", "--config", s(&other)]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[test]
fn bad_files_give_warnings_and_an_empty_repo_a_template() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("bad");
    fs::create_dir_all(repo.join("api")).unwrap();
    fs::write(
        repo.join("api/openapi.yaml"),
        "openapi: 3.0.0\npaths:\n  /x: {get: [\n",
    )
    .unwrap();
    fs::write(repo.join("api/huge-but-fine.bin"), vec![0u8; 1024]).unwrap();
    fs::write(repo.join("api/latin1.yaml"), b"openapi: \xe9\n").unwrap();
    // A file that cannot be read, even by root: reading /proc/self/mem at offset 0 fails.
    #[cfg(target_os = "linux")]
    std::os::unix::fs::symlink("/proc/self/mem", repo.join("api/mem.json")).unwrap();
    let (code, _, stderr) = run(&mut modelci(&["init", s(&repo)]));
    assert_eq!(code, 0, "{stderr}");
    #[cfg(target_os = "linux")]
    assert!(
        stderr.contains("warning: api/mem.json: cannot read it: input/output error"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "warning: api/openapi.yaml: looks like an OpenAPI document but is not valid YAML"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: api/latin1.yaml: not UTF-8 text; left out"),
        "{stderr}"
    );
    assert!(stderr.contains("found nothing modelci checks"), "{stderr}");
    assert!(stderr.contains("next: uncomment a suite in"), "{stderr}");
    // The template loads, and `check` refuses a configuration without suites.
    let config = repo.join("modelci.toml");
    let (code, _, stderr) = run(&mut modelci(&["check", "--config", s(&config)]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("declares no suites"), "{stderr}");

    // A folder that does not exist is an error.
    let (code, _, stderr) = run(&mut modelci(&["init", s(&tmp.path().join("nope"))]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error: "), "{stderr}");
}
