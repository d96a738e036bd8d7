//! Whole-folder tests: fixture trees built in a temporary folder from bits of
//! examples/quickstart, the generated file snapshotted and loaded with the config loader.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart")
}

fn copy(from: &str, root: &Path, to: &str) {
    let dest = root.join(to);
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::copy(quickstart().join(from), dest).unwrap();
}

fn write(root: &Path, rel: &str, body: &str) {
    let dest = root.join(rel);
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::write(dest, body).unwrap();
}

/// A repository like the quickstart: `<tmp>/myrepo`.
fn quickstart_tree() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("myrepo");
    for f in [
        "contracts/classifier-service/openapi.yaml",
        "contracts/classifier-service/openapi.v1.yaml",
        "contracts/classifier-service/infer-request.schema.json",
        "contracts/classifier-service/infer-response.schema.json",
        "pacts/web-app-classifier-service.json",
        "model/classifier.onnx",
        "model/golden.json",
        "model/golden.npz",
        "model/eval.csv",
        "model/thresholds.toml",
        "recorded/infer/cat.json",
        "recorded/infer/dog-batch.json",
        "recorded/predictions.jsonl",
        "schemas/prediction.schema.json",
        "schemas/v2-infer-response.schema.json",
    ] {
        copy(f, &root, f);
    }
    write(&root, "Dockerfile", "FROM scratch\n");
    // Never looked at: build outputs, dependencies, hidden folders.
    write(&root, "target/x/openapi.yaml", "openapi: 3.0.0\n");
    write(&root, "node_modules/p/pact.json", "{}");
    write(&root, ".venv/m.onnx", "");
    (tmp, root)
}

fn options(root: &Path) -> Options {
    Options {
        root: root.to_path_buf(),
        config: root.join("modelci.toml"),
        limits: Limits::default(),
        git: false,
    }
}

#[test]
fn quickstart_like_tree() {
    let (_tmp, root) = quickstart_tree();
    let generated = generate(&options(&root)).unwrap();
    assert!(generated.warnings.is_empty(), "{:?}", generated.warnings);
    insta::assert_snapshot!("quickstart_config", generated.text);
    insta::assert_snapshot!(
        "quickstart_summary",
        format!(
            "{}\n--\n{}",
            generated.summary.join("\n"),
            generated.notes.join("\n")
        )
    );
    // It loads, and its paths lead to the files.
    let path = root.join("modelci.toml");
    fs::write(&path, &generated.text).unwrap();
    let config = modelci_config::load(&path).unwrap();
    let kinds: Vec<&str> = config
        .suites
        .iter()
        .map(modelci_config::SuiteDecl::kind)
        .collect();
    assert_eq!(
        kinds,
        ["json-schema", "json-schema", "openapi", "model", "gate"]
    );
    for s in &config.suites {
        match &s.spec {
            modelci_config::SuiteSpec::JsonSchema(j) => {
                assert!(j.schema.is_file());
                for f in &j.files {
                    assert!(
                        !glob::glob(&f.resolved)
                            .unwrap()
                            .collect::<Vec<_>>()
                            .is_empty()
                    );
                }
            }
            modelci_config::SuiteSpec::OpenApi(o) => {
                assert!(o.openapi.is_file() && o.previous.as_ref().unwrap().is_file());
            }
            modelci_config::SuiteSpec::Model(m) => {
                assert!(m.cases.iter().all(|c| c.exists()), "{:?}", m.cases);
            }
            modelci_config::SuiteSpec::Gate(g) => assert!(g.dataset.is_file()),
            modelci_config::SuiteSpec::Pact(_) => panic!("pact suites are commented out"),
            modelci_config::SuiteSpec::Load(_) => panic!("init writes no load suite"),
            modelci_config::SuiteSpec::Resilience(_) => panic!("init writes no resilience suite"),
            modelci_config::SuiteSpec::Canary(_) => panic!("init writes no canary suite"),
            modelci_config::SuiteSpec::Shadow(_) => panic!("init writes no shadow suite"),
        }
    }
}

#[test]
fn config_elsewhere_gets_relative_paths() {
    let (tmp, root) = quickstart_tree();
    let elsewhere = tmp.path().join("ci");
    fs::create_dir_all(&elsewhere).unwrap();
    let config = elsewhere.join("modelci.toml");
    let generated = generate(&Options {
        config: config.clone(),
        ..options(&root)
    })
    .unwrap();
    assert!(
        generated
            .text
            .contains("schema = \"../myrepo/schemas/prediction.schema.json\""),
        "{}",
        generated.text
    );
    fs::write(&config, &generated.text).unwrap();
    let loaded = modelci_config::load(&config).unwrap();
    let modelci_config::SuiteSpec::JsonSchema(j) = &loaded.suites[0].spec else {
        panic!("first suite is json-schema")
    };
    assert!(j.schema.is_file(), "{}", j.schema.display());
}

#[test]
fn empty_repository_gives_a_template_that_loads_without_suites() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("empty");
    fs::create_dir(&root).unwrap();
    let generated = generate(&options(&root)).unwrap();
    insta::assert_snapshot!("empty_config", generated.text);
    assert_eq!((generated.active, generated.commented), (0, 0));
    let config = modelci_config::parse(&root.join("modelci.toml"), &generated.text).unwrap();
    assert!(config.suites.is_empty() && config.service.is_none());
    assert_eq!(config.project_name.as_deref(), Some("empty"));
}

#[test]
fn bad_files_are_warnings_not_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("bad");
    write(
        &root,
        "api/openapi.yaml",
        "openapi: 3.0.0\npaths:\n  /x: {get: [\n",
    );
    write(
        &root,
        "api/swagger.json",
        r#"{"swagger": "2.0", "paths": {}}"#,
    );
    write(
        &root,
        "api/broken-pact.json",
        r#"{"consumer": {}, "provider": {"#,
    );
    write(&root, "data/not-utf8.yaml", "openapi: \u{0}");
    fs::write(root.join("data/latin1.json"), b"{\"a\": \"\xe9\"}").unwrap();
    write(&root, "data/empty.csv", "");
    write(&root, "weird ${service.url} [x]/Dockerfile", "FROM x\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::{PermissionsExt, symlink};
        write(&root, "locked/openapi.yaml", "openapi: 3.0.0\n");
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
        write(&root, "secret.json", "{}");
        fs::set_permissions(root.join("secret.json"), fs::Permissions::from_mode(0o000)).unwrap();
        // Unreadable even by root: reading /proc/self/mem at offset 0 fails.
        #[cfg(target_os = "linux")]
        symlink("/proc/self/mem", root.join("api/mem.yaml")).unwrap();
        // A link loop, and a link to a folder outside: neither is followed.
        symlink(&root, root.join("loop")).unwrap();
        symlink("/", root.join("slash")).unwrap();
    }
    let generated = generate(&options(&root));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(root.join("secret.json"), fs::Permissions::from_mode(0o644)).unwrap();
    }
    let generated = generated.unwrap();
    let warnings = generated.warnings.join("\n");
    assert!(
        warnings.contains("api/openapi.yaml: looks like an OpenAPI document but is not valid YAML"),
        "{warnings}"
    );
    assert!(
        warnings.contains("api/swagger.json: a Swagger 2.0 document"),
        "{warnings}"
    );
    assert!(
        warnings.contains("api/broken-pact.json: looks like a contract but is not valid JSON"),
        "{warnings}"
    );
    #[cfg(target_os = "linux")]
    assert!(
        warnings.contains("api/mem.yaml: cannot read it: input/output error"),
        "{warnings}"
    );
    // Root can read anything: the permission warnings only show for other users.
    let root_user = fs::read_dir(root.join("locked")).is_ok();
    if !root_user {
        assert!(
            warnings.contains("locked: cannot read the folder: permission denied"),
            "{warnings}"
        );
        assert!(
            warnings.contains("secret.json: cannot read it: permission denied"),
            "{warnings}"
        );
    }
    // The Dockerfile with a hostile folder name is quoted, and the text still loads.
    assert!(
        generated
            .text
            .contains("# Found: weird $ {service.url} [x]/Dockerfile."),
        "{}",
        generated.text
    );
    modelci_config::parse(&root.join("modelci.toml"), &generated.text).unwrap();
}

#[test]
fn limits_cut_the_walk_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("big");
    for i in 0..30 {
        write(&root, &format!("d{i:02}/x.txt"), "");
    }
    write(
        &root,
        "a/b/c/d/openapi.yaml",
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
    );
    let generated = generate(&Options {
        limits: Limits {
            max_entries: 40,
            ..Limits::default()
        },
        ..options(&root)
    })
    .unwrap();
    assert!(
        generated
            .warnings
            .iter()
            .any(|w| w.starts_with("stopped after 40 files and folders")),
        "{:?}",
        generated.warnings
    );
    let budget = generate(&Options {
        limits: Limits {
            max_total_bytes: 10,
            ..Limits::default()
        },
        ..options(&root)
    })
    .unwrap();
    assert!(
        budget
            .warnings
            .iter()
            .any(|w| w.starts_with("1 file(s) not opened")),
        "{:?}",
        budget.warnings
    );
    assert!(budget.summary.is_empty());
    let deep = generate(&Options {
        limits: Limits {
            max_depth: 2,
            ..Limits::default()
        },
        ..options(&root)
    })
    .unwrap();
    assert!(
        deep.warnings
            .iter()
            .any(|w| w.contains("deeper than 2 levels")),
        "{:?}",
        deep.warnings
    );
    assert!(deep.summary.is_empty());
    let all = generate(&options(&root)).unwrap();
    assert_eq!(all.summary.len(), 1, "{:?}", all.summary);
}

#[test]
fn models_without_golden_cases_and_several_models_in_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("models");
    copy("model/classifier.onnx", &root, "zoo/resnet/model.onnx");
    write(&root, "zoo/resnet/test_data_set_0/input_0.pb", "");
    copy("model/classifier.onnx", &root, "m/a.onnx");
    copy("model/classifier.onnx", &root, "m/a-v1.onnx");
    copy("model/classifier.onnx", &root, "m/b.onnx");
    copy("model/golden.json", &root, "m/b_cases.json");
    copy("model/golden.json", &root, "m/other.json");
    copy("model/classifier.onnx", &root, "lonely/c.onnx");
    write(
        &root,
        "lfs/d.onnx",
        "version https://git-lfs.github.com/spec/v1\noid sha256:0\n",
    );
    copy("model/golden.json", &root, "lfs/golden.json");
    let generated = generate(&options(&root)).unwrap();
    insta::assert_snapshot!(
        "models_summary",
        format!(
            "{}\n--\n{}",
            generated.summary.join("\n"),
            generated.notes.join("\n")
        )
    );
    let text = &generated.text;
    assert!(text.contains("cases = [\"zoo/resnet/\"]"), "{text}");
    assert!(text.contains("# baseline = \"m/a-v1.onnx\""), "{text}");
    assert!(
        text.contains("#   modelci model record --model lonely/c.onnx --inputs INPUTS.npz --out lonely/c.golden.json"),
        "{text}"
    );
    modelci_config::parse(&root.join("modelci.toml"), text).unwrap();
}

#[test]
fn base_ref_when_git_has_the_document_on_the_default_branch() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = tmp.path().join("upstream");
    write(
        &upstream,
        "api/openapi.yaml",
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
    );
    let git = |dir: &Path, args: &[&str]| modelci_test_support::git(dir, args);
    git(&upstream, &["init", "-q", "-b", "main"]);
    git(&upstream, &["add", "."]);
    git(
        &upstream,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "x",
        ],
    );
    let clone = tmp.path().join("clone");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            upstream.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    write(
        &clone,
        "api/new.openapi.yaml",
        "openapi: 3.0.0\ninfo: {title: n, version: '1'}\npaths: {}\n",
    );
    let generated = generate(&Options {
        git: true,
        ..options(&clone)
    })
    .unwrap();
    let text = &generated.text;
    assert!(
        text.contains("openapi = \"api/openapi.yaml\"\nbase_ref = \"origin/main\""),
        "{text}"
    );
    // The new document is not on origin/main yet: no diff, so commented out.
    assert!(
        text.contains("# openapi = \"api/new.openapi.yaml\""),
        "{text}"
    );
    modelci_config::parse(&clone.join("modelci.toml"), text).unwrap();
}

#[test]
fn relative_paths_between_folders() {
    let rel = |a: &str, b: &str| relative(Path::new(a), Path::new(b));
    assert_eq!(rel("/a/b", "/a/b").as_deref(), Some(""));
    assert_eq!(rel("/a/b", "/a/c/d").as_deref(), Some("../c/d"));
    assert_eq!(rel("/a/b/c", "/a").as_deref(), Some("../.."));
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = Path::new("/a").join(std::ffi::OsStr::from_bytes(b"\xff"));
        assert_eq!(relative(Path::new("/a/b"), &odd), None);
        // Through the non-UTF-8 folder's parent only: fine.
        assert_eq!(relative(&odd, Path::new("/a")).as_deref(), Some(".."));
    }
}

#[test]
fn a_log_with_a_few_bad_lines_is_still_the_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("logs");
    write(
        &root,
        "schemas/event.schema.json",
        r#"{"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}"#,
    );
    let line = |id: &str| format!("{{\"body\": {{\"id\": {id}}}}}\n");
    write(
        &root,
        "logs/good.jsonl",
        &[line("1"), line("2"), line("3"), line("\"x\"")].concat(),
    );
    write(
        &root,
        "logs/bad.jsonl",
        &[line("1"), line("\"x\""), line("\"y\"")].concat(),
    );
    let generated = generate(&options(&root)).unwrap();
    assert!(
        generated.text.contains("files = [\"logs/good.jsonl\"]")
            && generated.text.contains("pointer = \"/body\""),
        "{}",
        generated.text
    );
}

/// Every commented-out table and key made active, as a user uncommenting them would.
fn uncomment_all(text: &str) -> String {
    let key = regex::Regex::new(r"^# (\[|[a-z_]+ = )").unwrap();
    text.lines()
        .map(|l| {
            if key.is_match(l) {
                l.trim_start_matches("# ").to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_commented_parts_load_too() {
    let (_tmp, root) = quickstart_tree();
    let text = uncomment_all(&generate(&options(&root)).unwrap().text);
    let config = modelci_config::parse(&root.join("modelci.toml"), &text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let kinds: Vec<&str> = config
        .suites
        .iter()
        .map(modelci_config::SuiteDecl::kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "json-schema",
            "json-schema",
            "openapi",
            "pact",
            "model",
            "gate"
        ]
    );
    assert!(config.service.is_some() && config.junit.is_some());

    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let text = uncomment_all(&generate(&options(&empty)).unwrap().text);
    let config = modelci_config::parse(&empty.join("modelci.toml"), &text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(config.suites.len(), 5);

    // An OpenAPI document with nothing to diff against, a model without golden cases and a
    // dataset without a model: all commented out, all valid once uncommented.
    let other = tmp.path().join("other");
    write(
        &other,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
    );
    copy("model/classifier.onnx", &other, "m/c.onnx");
    write(&other, "data/eval.csv", "x,label\n1.5,0\n2.5,1\n");
    let generated = generate(&options(&other)).unwrap();
    assert_eq!(
        (generated.active, generated.commented),
        (0, 3),
        "{:?}",
        generated.summary
    );
    let text = uncomment_all(&generated.text);
    let config = modelci_config::parse(&other.join("modelci.toml"), &text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let kinds: Vec<&str> = config
        .suites
        .iter()
        .map(modelci_config::SuiteDecl::kind)
        .collect();
    assert_eq!(kinds, ["openapi", "model", "gate"]);
}
