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
    let SuiteSpec::JsonSchema(js) = &s.spec else {
        panic!("not a json-schema suite")
    };
    assert_eq!(
        js.schema,
        PathBuf::from("dir/contracts/prediction.schema.json")
    );
    assert_eq!(js.schema_line, 10);
    assert_eq!(js.files[0].resolved, "dir/recorded/*.json");
    assert_eq!(js.files[1].resolved, "/abs/*.jsonl");
    assert!(js.validate_formats);
    let SuiteSpec::JsonSchema(js) = &config.suites[1].spec else {
        panic!("not a json-schema suite")
    };
    assert_eq!(js.pointer, "/body");
    assert_eq!(js.format, RecordFormat::Jsonl);
}

#[test]
fn config_in_the_current_folder_gives_bare_paths() {
    let config = parse(Path::new("modelci.toml"), GOOD).expect("valid");
    let SuiteSpec::JsonSchema(js) = &config.suites[0].spec else {
        panic!("not a json-schema suite")
    };
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

#[test]
fn pact_suites_resolve_paths_and_check_urls_regexes_and_secret_names() {
    let text = r#"
[[suite.pact]]
name = "web"
pacts = ["pacts/web.json", "https://broker.example/pacts/latest"]
provider_url = "http://127.0.0.1:8080"
state_change_url = "http://127.0.0.1:8080/_pact/state"
filter_description = "^infer"
headers = { "X-Tenant" = "a" }
secret_headers = { Authorization = "PROVIDER_TOKEN" }
timeout_secs = 5
"#;
    let config = parse(Path::new("dir/modelci.toml"), text).expect("valid");
    let SuiteSpec::Pact(p) = &config.suites[0].spec else {
        panic!("not a pact suite")
    };
    assert_eq!(config.suites[0].kind(), "pact");
    assert_eq!(
        p.pacts,
        ["dir/pacts/web.json", "https://broker.example/pacts/latest"]
    );
    assert_eq!(
        p.secret_headers,
        [("Authorization".to_owned(), "PROVIDER_TOKEN".to_owned(), 9)]
    );
    assert_eq!(p.timeout, std::time::Duration::from_secs(5));
    assert_eq!(p.concurrency, 8);
    let bad_url = text.replace("http://127.0.0.1:8080\"\nstate", "localhost:8080\"\nstate");
    assert!(
        err(&bad_url)
            .contains("`provider_url` must be an http:// or https:// URL, not `localhost:8080`"),
        "{}",
        err(&bad_url)
    );
    let bad_re = text.replace("^infer", "(");
    assert!(
        err(&bad_re).starts_with("dir/modelci.toml:7:22: `filter_description`: invalid regex `(`"),
        "{}",
        err(&bad_re)
    );
    let bad_var = text.replace("PROVIDER_TOKEN", "provider-token");
    assert!(
        err(&bad_var).contains("`provider-token` is not a valid environment variable name"),
        "{}",
        err(&bad_var)
    );
}

#[test]
fn openapi_suites() {
    let ok = "[[suite.openapi]]\nname = \"api\"\nopenapi = \"api.yaml\"\nprevious = \"api.v1.yaml\"\nfail_on = \"warning\"\n";
    let config = parse(Path::new("dir/modelci.toml"), ok).expect("a diff-only suite is valid");
    let SuiteSpec::OpenApi(o) = &config.suites[0].spec else {
        panic!("not an openapi suite")
    };
    assert_eq!(o.openapi, PathBuf::from("dir/api.yaml"));
    assert_eq!(o.previous, Some(PathBuf::from("dir/api.v1.yaml")));
    assert_eq!(o.fail_on, FailOn::Warning);
    assert_eq!((o.max_cases, o.seed, o.concurrency), (10, 0, 8));
    let e = err("[[suite.openapi]]\nname = \"api\"\nopenapi = \"api.yaml\"\n");
    assert!(
        e.starts_with("dir/modelci.toml:2:8: suite `api` has nothing to check"),
        "{e}"
    );
    let e = err(
        "[[suite.openapi]]\nname = \"api\"\nopenapi = \"a.yaml\"\nprevious = \"b.yaml\"\nbase_ref = \"main\"\n",
    );
    assert!(
        e.ends_with("give `previous` or `base_ref`, not both"),
        "{e}"
    );
    let e =
        err("[[suite.openapi]]\nname = \"api\"\nopenapi = \"a.yaml\"\nbase_url = \"localhost\"\n");
    assert!(
        e.contains("`base_url` must be an http:// or https:// URL, not `localhost`"),
        "{e}"
    );
    let e = err(
        "[[suite.openapi]]\nname = \"api\"\nopenapi = \"a.yaml\"\nbase_url = \"http://h\"\nconcurrency = 0\n",
    );
    assert!(
        e.ends_with("`concurrency` must be from 1 to 1024, not 0"),
        "{e}"
    );
    let e = err(
        "[[suite.openapi]]\nname = \"api\"\nopenapi = \"a.yaml\"\nbase_url = \"http://h\"\nconcurrency = 9000000000000000000\n",
    );
    assert!(
        e.ends_with("`concurrency` must be from 1 to 1024, not 9000000000000000000"),
        "{e}"
    );
    let e = err("[service]\ncommand = \"x\"\nurl = \"http://h:1\"\nready_timeout_secs = 1e20\n");
    assert!(
        e.contains(
            "`service.ready_timeout_secs` must be a number of seconds above 0 and at most 86400"
        ),
        "{e}"
    );
}

#[test]
fn model_suites_with_endpoints_and_expectations() {
    let config = parse(
        Path::new("dir/modelci.toml"),
        r#"
[[suite.model]]
name = "live"
endpoint = "http://127.0.0.1:8000/"
model_name = "clf"
model = "m.onnx"
cases = ["rows.npz"]
per_row = true
max_batch = 64

[suite.model.edge_cases]
non_finite = "reject"
empty_batch = false

[suite.model.invariants]
probabilities = ["probabilities"]

[[suite.model.robustness]]
perturbation = "gaussian"
scale = 0.05
max_flip_rate = 0.1

[suite.model.regression]
baseline = "old.onnx"
max_label_change_rate = 0.02
"#,
    )
    .expect("valid");
    let SuiteSpec::Model(m) = &config.suites[0].spec else {
        panic!("not a model suite")
    };
    assert_eq!(m.endpoint.as_deref(), Some("http://127.0.0.1:8000"));
    assert_eq!(m.model, Some(PathBuf::from("dir/m.onnx")));
    assert_eq!(m.model_line, 4, "the endpoint line");
    assert_eq!(
        (m.per_row, m.max_batch, m.timeout),
        (true, 64, std::time::Duration::from_secs(30))
    );
    let edge = m.edge_cases.as_ref().expect("edge");
    assert!(edge.wrong_shape && !edge.empty_batch);
    assert_eq!(edge.non_finite, model::NonFinite::Reject);
    let inv = m.invariants.as_ref().expect("invariants");
    assert!(inv.batch_invariance && inv.determinism);
    assert_eq!(inv.probability_tolerance, 1e-4);
    assert_eq!(m.robustness[0].samples, 10);
    assert_eq!(m.robustness[0].display_name(), "gaussian-0.05");
    let r = m.regression.as_ref().expect("regression");
    assert_eq!(r.baseline, Some(PathBuf::from("dir/old.onnx")));
    assert_eq!(r.baseline_model_name.as_deref(), Some("clf"));
}

#[test]
fn model_suite_mistakes_are_named() {
    let base = "[[suite.model]]\nname = \"m\"\ncases = [\"c.json\"]\n";
    let e = err(base);
    assert!(
        e.contains("needs `model` (an .onnx file) or `endpoint`"),
        "{e}"
    );
    let e = err(&format!("{base}endpoint = \"http://x\"\n"));
    assert!(e.contains("`endpoint` needs `model_name`"), "{e}");
    assert!(e.contains(":4:"), "{e}");
    let e = err(&format!(
        "{base}endpoint = \"x:8000\"\nmodel_name = \"a\"\n"
    ));
    assert!(e.contains("must be an http:// or https:// URL"), "{e}");
    let m = format!("{base}model = \"m.onnx\"\n");
    let e = err(&format!("{m}max_batch = 0\n"));
    assert!(
        e.contains("`max_batch` must be from 1 to 1048576, not 0"),
        "{e}"
    );
    let e = err(&format!("{m}timeout_secs = 1e20\n"));
    assert!(
        e.contains(
            "`timeout_secs` must be a number of seconds above 0 and at most 86400, not 1e20"
        ),
        "{e}"
    );
    let e = err(&format!(
        "{m}[[suite.model.robustness]]\nperturbation = \"dropout\"\nscale = 2\nmax_flip_rate = 0.1\n"
    ));
    assert!(e.contains("a dropout `scale` is a probability"), "{e}");
    let e = err(&format!(
        "{m}[[suite.model.robustness]]\nperturbation = \"gaussian\"\nscale = 0.1\n"
    ));
    assert!(
        e.contains("robustness `gaussian-0.1` bounds nothing"),
        "{e}"
    );
    let e = err(&format!(
        "{m}[[suite.model.robustness]]\nperturbation = \"blur\"\nscale = 0.1\n"
    ));
    assert!(e.contains("blur"), "{e}");
    let e = err(&format!(
        "{m}[suite.model.regression]\nmax_output_drift = 0.1\n"
    ));
    assert!(e.contains("`regression` needs `baseline`"), "{e}");
    let e = err(&format!(
        "{m}[suite.model.regression]\nbaseline = \"b.onnx\"\n"
    ));
    assert!(e.contains("`regression` bounds nothing"), "{e}");
    let e = err(&format!(
        "{m}[suite.model.edge_cases]\nnon_finite = \"maybe\"\n"
    ));
    assert!(e.contains("maybe"), "{e}");
}

#[test]
fn model_suites_take_cuda_options_and_tolerances_by_device() {
    let base = "[[suite.model]]\nname = \"m\"\ncases = [\"c.json\"]\nmodel = \"m.onnx\"\n";
    let config = parse(Path::new("dir/modelci.toml"), base).expect("valid");
    let SuiteSpec::Model(m) = &config.suites[0].spec else {
        panic!("not a model suite")
    };
    // float32 stays float32 on CUDA unless asked; ONNX Runtime's own search.
    assert_eq!(m.cuda, crate::CudaOptions::default());
    assert!(!m.cuda.tf32);
    assert_eq!(m.cuda.conv_algo_search, crate::ConvAlgoSearch::Exhaustive);
    assert_eq!(m.tolerance_on(Device::Cuda), (None, None));
    let text = format!(
        "{base}rtol = 1e-5\natol = 1e-6\ntf32 = true\ncudnn_conv_algo_search = \"Heuristic\"\n\
         [suite.model.tolerance.cuda]\natol = 5e-3\n"
    );
    let config = parse(Path::new("dir/modelci.toml"), &text).expect("valid");
    let SuiteSpec::Model(m) = &config.suites[0].spec else {
        panic!("not a model suite")
    };
    assert!(m.cuda.tf32);
    assert_eq!(m.cuda.conv_algo_search, crate::ConvAlgoSearch::Heuristic);
    // The device's own where it gives one, the suite's for the rest and for other devices.
    assert_eq!(m.tolerance_on(Device::Cuda), (Some(1e-5), Some(5e-3)));
    assert_eq!(m.tolerance_on(Device::Cpu), (Some(1e-5), Some(1e-6)));
    let e = err(&format!("{base}cudnn_conv_algo_search = \"fastest\"\n"));
    assert_eq!(
        e,
        "dir/modelci.toml:5:26: `cudnn_conv_algo_search` must be `exhaustive`, `heuristic` or `default`, not `fastest`"
    );
    let e = err(&format!("{base}[suite.model.tolerance.cuda]\nrtol = -1\n"));
    assert!(
        e.contains("`tolerance.cuda.rtol` must be a non-negative number, not -1.0"),
        "{e}"
    );
    let e = err(&format!("{base}[suite.model.tolerance.tpu]\natol = 1\n"));
    assert!(e.contains("unknown key `tpu`"), "{e}");
}

#[test]
fn suites_that_talk_to_the_service_are_known() {
    let config = parse(
        Path::new("modelci.toml"),
        r#"
[service]
command = "serve"
url = "http://localhost:8080/"

[[suite.json-schema]]
name = "files"
schema = "s.json"
files = ["r/*.json"]

[[suite.pact]]
name = "via-placeholder"
pacts = ["p.json"]
provider_url = "${service.url}"

[[suite.openapi]]
name = "written-out"
openapi = "o.yaml"
base_url = "http://127.0.0.1:8080/api"

[[suite.openapi]]
name = "elsewhere"
openapi = "o.yaml"
base_url = "http://127.0.0.1:9090"
"#,
    )
    .expect("config");
    let uses: Vec<(&str, bool)> = config
        .suites
        .iter()
        .map(|s| (s.name.as_str(), config.uses_service(s)))
        .collect();
    assert_eq!(
        uses,
        [
            ("files", false),
            ("via-placeholder", true),
            ("written-out", true),
            ("elsewhere", false)
        ]
    );
}

#[test]
fn gate_inputs_map_feature_columns_to_model_inputs() {
    let text = r#"
[[suite.gate]]
name = "gate"
candidate = "model.onnx"
dataset = "eval.csv"
label = "label"
inputs = { tail = ["f8", "f9"], head = ["f0"] }
"#;
    let config = parse(Path::new("dir/modelci.toml"), text).expect("valid");
    let SuiteSpec::Gate(g) = &config.suites[0].spec else {
        panic!("a gate")
    };
    assert_eq!(
        g.inputs,
        vec![
            ("head".to_owned(), vec!["f0".to_owned()]),
            ("tail".to_owned(), vec!["f8".to_owned(), "f9".to_owned()])
        ]
    );
    let both = text.replace("inputs =", "features = [\"f0\"]\ninputs =");
    assert!(
        err(&both).contains("give `features` or `inputs`, not both"),
        "{}",
        err(&both)
    );
    let empty = text.replace("head = [\"f0\"]", "head = []");
    assert!(
        err(&empty).contains("`inputs` lists no feature columns for input `head`"),
        "{}",
        err(&empty)
    );
    let blank = text.replace("head = [\"f0\"]", "head = [\" \"]");
    assert!(
        err(&blank).contains("`inputs` lists an empty column name (\" \") for input `head`"),
        "{}",
        err(&blank)
    );
    let typed = text.replace("head = [\"f0\"]", "head = \"f0\"");
    assert!(
        err(&typed).starts_with("dir/modelci.toml:7:")
            && err(&typed).contains("expected a sequence"),
        "{}",
        err(&typed)
    );
}
