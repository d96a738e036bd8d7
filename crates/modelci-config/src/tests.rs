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
fn pact_suites_take_their_pacts_from_a_broker() {
    let text = r#"
[[suite.pact]]
name = "broker"
provider_url = "http://127.0.0.1:8080"
broker_url = "https://broker.example"
provider = "api"
consumer_version_selectors = [{mainBranch = true}, {deployedOrReleased = true}]
enable_pending = true
include_wip_pacts_since = "2024-01-31"
provider_version = "1.2.3"
provider_branch = "main"
publish_results = true
broker_token_env = "MY_BROKER_TOKEN"
"#;
    let config = parse(Path::new("dir/modelci.toml"), text).expect("valid");
    let SuiteSpec::Pact(p) = &config.suites[0].spec else {
        panic!("not a pact suite")
    };
    assert!(p.pacts.is_empty());
    let b = p.broker.as_ref().expect("a broker");
    assert_eq!(b.url, "https://broker.example");
    assert_eq!(b.provider, "api");
    assert_eq!(
        b.selectors,
        [
            serde_json::json!({"mainBranch": true}),
            serde_json::json!({"deployedOrReleased": true})
        ]
    );
    assert_eq!(b.selectors_line, 7);
    assert_eq!(b.token_env, "MY_BROKER_TOKEN");
    assert_eq!(b.username_env, "PACT_BROKER_USERNAME");
    assert!(b.enable_pending && b.publish_results);
    assert_eq!(b.provider_version.as_deref(), Some("1.2.3"));
    assert_eq!(
        config.suites[0].urls(),
        ["http://127.0.0.1:8080", "https://broker.example"]
    );
    let err = |t: &str| {
        parse(Path::new("dir/modelci.toml"), t)
            .expect_err("invalid")
            .to_string()
    };
    let no_provider = text.replace("provider = \"api\"\n", "");
    assert!(
        err(&no_provider).contains("`broker_url` needs `provider`"),
        "{}",
        err(&no_provider)
    );
    let no_version = text.replace("provider_version = \"1.2.3\"\n", "");
    assert!(
        err(&no_version).contains("`publish_results` needs `provider_version`"),
        "{}",
        err(&no_version)
    );
    let bad_date = text.replace("2024-01-31", "last week");
    assert!(
        err(&bad_date).contains("`include_wip_pacts_since` must be a date"),
        "{}",
        err(&bad_date)
    );
    let no_broker = text.replace("broker_url = \"https://broker.example\"\n", "");
    assert!(
        err(&no_broker).contains("`pacts` must list at least one pact file"),
        "{}",
        err(&no_broker)
    );
    let stray = "[[suite.pact]]\nname = \"x\"\npacts = [\"a.json\"]\nprovider_url = \"http://h\"\nprovider = \"api\"\n";
    assert!(
        err(stray).contains("`provider` is a Pact Broker setting: set `broker_url` too"),
        "{}",
        err(stray)
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

// Placeholders, `--set` overrides and discovery (issue 14).

/// Parses `text` as `dir/modelci.toml` with `overrides`, reading variables from `env` only.
fn parse_env(text: &str, overrides: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let overrides: Vec<String> = overrides.iter().map(|s| (*s).to_owned()).collect();
    parse_full(Path::new("dir/modelci.toml"), text, &overrides, &|name| {
        map.get(name).map(Into::into)
    })
}

fn env_err(text: &str, overrides: &[&str], env: &[(&str, &str)]) -> String {
    parse_env(text, overrides, env)
        .expect_err("must be rejected")
        .to_string()
}

const PACT: &str = r#"[[suite.pact]]
name = "web"
pacts = ["pacts/web.json"]
provider_url = "${PROVIDER_URL:-http://127.0.0.1:8080}"
headers = { Authorization = "Bearer ${TOKEN}" }
"#;

fn pact(config: &Config) -> &PactSuite {
    let SuiteSpec::Pact(p) = &config.suites[0].spec else {
        panic!("not a pact suite")
    };
    p
}

#[test]
fn placeholders_read_the_environment_with_defaults() {
    let config = parse_env(PACT, &[], &[("TOKEN", "tok-123456")]).expect("valid");
    let p = pact(&config);
    assert_eq!(p.provider_url, "http://127.0.0.1:8080");
    assert_eq!(
        p.headers,
        [("Authorization".to_owned(), "Bearer tok-123456".to_owned())]
    );
    // Only values read from the environment are remembered (not defaults), each once.
    assert_eq!(config.secrets.len(), 1);
    assert_eq!(config.secrets[0].var(), "TOKEN");

    let config = parse_env(
        PACT,
        &[],
        &[("TOKEN", "t"), ("PROVIDER_URL", "https://staging.example/")],
    )
    .expect("valid");
    assert_eq!(pact(&config).provider_url, "https://staging.example/");
    // Set but empty: the default (as a shell's `:-`).
    let config = parse_env(PACT, &[], &[("TOKEN", "t"), ("PROVIDER_URL", "")]).expect("valid");
    assert_eq!(pact(&config).provider_url, "http://127.0.0.1:8080");
}

#[test]
fn expansion_rules() {
    let env = |name: &str| match name {
        "A" => Some("a".into()),
        "EMPTY" => Some(String::new().into()),
        _ => None,
    };
    let mut x = interpolate::Expander::new(&env);
    let mut ok = |s: &str| x.expand(s).expect(s).into_owned();
    assert_eq!(
        ok("${A}-${A:-d}-${EMPTY}-${EMPTY:-d}-${UNSET:-d}"),
        "a-a--d-d"
    );
    // Defaults may hold placeholders, expanded only when used; `$${` is a literal `${`; a `$`
    // not followed by `{` is left for a shell.
    assert_eq!(ok("${UNSET:-${A}/x}"), "a/x");
    assert_eq!(ok("${A:-${UNSET}}"), "a");
    assert_eq!(
        ok("$${A} $HOME $$ $1 ${UNSET:-$${A}}"),
        "${A} $HOME $$ $1 ${A}"
    );
    assert_eq!(ok("${UNSET:-}"), "");
    let mut bad = |s: &str| x.expand(s).expect_err(s).message;
    assert_eq!(
        bad("x ${UNSET} y"),
        "environment variable `UNSET` is not set (write `${UNSET:-default}` to give a default)"
    );
    let forms = "placeholders are `${NAME}`, `${NAME:-default}` (NAME an environment variable) \
                 and `${service.url}`; write `$${` for a literal `${`";
    assert_eq!(bad("${A"), format!("`${{` is not closed by `}}`: {forms}"));
    assert_eq!(
        bad("${A:-x"),
        format!("`${{` is not closed by `}}`: {forms}")
    );
    assert_eq!(
        bad("${#A}"),
        format!("`${{` is followed by `#`, which is not supported: {forms}")
    );
    assert_eq!(
        bad("${}"),
        format!("`${{` must be followed by a name: {forms}")
    );
    assert_eq!(
        bad("${1A}"),
        format!("`1A` is not an environment variable name: {forms}")
    );
    assert_eq!(
        bad("${a.b}"),
        format!("`a.b` is not an environment variable name: {forms}")
    );
    assert_eq!(
        bad("${A%%.*}"),
        format!("`${{A` is followed by `%`, which is not supported: {forms}")
    );
    assert_eq!(
        bad("${A-x}"),
        format!("`${{A` is followed by `-`, which is not supported: {forms}")
    );
    assert_eq!(
        bad("${service.url:-x}"),
        format!("`${{service.url}}` takes no default: {forms}")
    );
    // A default that is not used is still checked.
    assert!(bad("${A:-${1}}").contains("`1` is not an environment variable name"));
}

#[test]
fn the_quickstart_service_command_keeps_its_shell_meaning() {
    let text = "[service]\ncommand = \"exec ${MODELCI_SERVICE_BIN:-../../target/release/modelci-service} --port 47841\"\nurl = \"http://127.0.0.1:47841\"\nready_url = \"${service.url}/v2/health/ready\"\n";
    let command = |config: Config| config.service.expect("service").command;
    assert_eq!(
        command(parse_env(text, &[], &[]).expect("valid")),
        Some(service::CommandLine::Shell(
            "exec ../../target/release/modelci-service --port 47841".into()
        ))
    );
    let config = parse_env(text, &[], &[("MODELCI_SERVICE_BIN", "/opt/svc")]).expect("valid");
    assert_eq!(
        config.service.as_ref().map(|s| s.ready_url.as_str()),
        Some("http://127.0.0.1:47841/v2/health/ready")
    );
    assert_eq!(
        command(config),
        Some(service::CommandLine::Shell(
            "exec /opt/svc --port 47841".into()
        ))
    );
    // The quickstart itself.
    let quickstart = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart/modelci.toml"),
    )
    .expect("quickstart config");
    let config = parse_full(
        Path::new("examples/quickstart/modelci.toml"),
        &quickstart,
        &[],
        &|_| None,
    )
    .expect("the quickstart loads");
    let Some(service::CommandLine::Shell(c)) = config.service.and_then(|s| s.command) else {
        panic!("no shell command")
    };
    assert!(
        c.starts_with("exec ../../target/release/modelci-service --port 47841 "),
        "{c}"
    );
}

#[test]
fn values_from_the_environment_never_change_the_document() {
    // Quotes, newlines, TOML syntax and placeholders in a value stay inside the one string.
    let hostile = "x\"\nname = \"evil\"\n[[suite.pact]]\n]] ${OTHER} '''";
    let text = "[project]\nname = \"${NAME}\"\n";
    let config = parse_env(text, &[], &[("NAME", hostile)]).expect("valid");
    assert_eq!(config.project_name.as_deref(), Some(hostile));
    assert!(config.suites.is_empty());
    // In a literal string and a multi-line string alike.
    let text = "[project]\nname = '''\n${NAME}'''\n";
    let config = parse_env(text, &[], &[("NAME", hostile)]).expect("valid");
    assert_eq!(config.project_name.as_deref(), Some(hostile));
    // Keys are never expanded.
    let e = env_err("[project]\n\"${K}\" = \"v\"\n", &[], &[("K", "name")]);
    assert_eq!(
        e,
        "dir/modelci.toml:2:1: unknown key `${K}`; expected one of `name`"
    );
}

#[test]
fn placeholder_errors_name_file_line_column_and_variable() {
    assert_eq!(
        env_err(PACT, &[], &[]),
        "dir/modelci.toml:5:37: environment variable `TOKEN` is not set (write `${TOKEN:-default}` to give a default)"
    );
    // The first problem in the file is reported, wherever the table order puts it.
    let text = "[service]\nurl = \"http://h\"\ncommand = \"${B}\"\n\n[project]\nname = \"${A}\"\n";
    assert!(
        env_err(text, &[], &[]).starts_with("dir/modelci.toml:3:12: environment variable `B`"),
        "{}",
        env_err(text, &[], &[])
    );
    // `${service.url}` without a service URL, and inside the service URL itself.
    assert_eq!(
        env_err(
            "[[suite.openapi]]\nname = \"a\"\nopenapi = \"a.yaml\"\nbase_url = \"${service.url}\"\n",
            &[],
            &[]
        ),
        "dir/modelci.toml:4:13: `${service.url}` is used, but `[service]` has no `url`"
    );
    assert_eq!(
        env_err("[service]\nurl = \"${service.url}\"\n", &[], &[]),
        "dir/modelci.toml:2:8: `${service.url}` cannot be used in `[service] url` itself"
    );
}

#[test]
fn values_from_the_environment_are_hidden_in_messages() {
    let text = "[service]\nurl = \"${STAGING_URL}\"\n";
    let e = env_err(text, &[], &[("STAGING_URL", "ftp://user:hunter2@staging")]);
    assert_eq!(
        e,
        "dir/modelci.toml:1:1: `service.url` must be an http:// or https:// URL, not `$STAGING_URL (redacted)`"
    );
    assert!(!e.contains("hunter2"), "{e}");
    // What used to be refused: an http(s) URL from the environment.
    let config =
        parse_env(text, &[], &[("STAGING_URL", "https://staging.example/")]).expect("valid");
    assert_eq!(
        config.service.and_then(|s| s.url).as_deref(),
        Some("https://staging.example")
    );
    // A type error quotes the string it got: hidden too.
    let e = env_err(
        "[[suite.pact]]\nname = \"a\"\npacts = [\"p.json\"]\nprovider_url = \"http://h\"\ntimeout_secs = \"${T}\"\n",
        &[],
        &[("T", "secret-30")],
    );
    assert!(
        e.starts_with("dir/modelci.toml:5:16: invalid type: string"),
        "{e}"
    );
    assert!(
        e.contains("$T (redacted)") && !e.contains("secret-30"),
        "{e}"
    );
}

#[test]
fn hide_covers_runs_cases_and_properties() {
    let config = parse_env(
        PACT,
        &[],
        &[("TOKEN", "tok-123456"), ("PROVIDER_URL", "http://ab")],
    )
    .expect("valid");
    assert_eq!(
        config.hide("Bearer tok-123456 at http://ab"),
        "Bearer $TOKEN (redacted) at $PROVIDER_URL (redacted)"
    );
    let mut run = modelci_report::Run::new("0");
    run.properties.insert("service_log", "got tok-123456");
    let mut suite = modelci_report::Suite::new("s", "pact");
    suite.properties.insert("provider", "http://ab/x");
    suite.cases.push(
        modelci_report::Case::failed("GET tok-123456", "401 for Bearer tok-123456")
            .with_property("header", "tok-123456"),
    );
    run.suites.push(suite);
    config.hide_run(&mut run);
    let text = serde_json::to_string(&run).expect("json");
    assert!(
        !text.contains("tok-123456") && !text.contains("http://ab"),
        "{text}"
    );
    assert_eq!(run.suites[0].cases[0].name, "GET $TOKEN (redacted)");
    // Values shorter than SHORTEST_HIDDEN would blank out ordinary words and numbers.
    let config = parse_env(PACT, &[], &[("TOKEN", "abc")]).expect("valid");
    assert_eq!(config.hide("abc"), "abc");
}

const TWO_SUITES: &str = r#"[project]
name = "demo"

[[suite.pact]]
name = "web"
pacts = ["pacts/web.json"]
provider_url = "http://127.0.0.1:8080"
timeout_secs = 5

[[suite.json-schema]]
name = "api.v2"
schema = "s.json"
files = ["a.json"]
"#;

#[test]
fn set_overrides_suite_and_top_level_keys() {
    let config = parse_env(
        TWO_SUITES,
        &[
            "suite.web.timeout_secs=10",
            "suite.web.concurrency = 2",
            "suite.web.provider_url=https://staging.example:8443",
            "suite.web.headers={ \"X-Tenant\" = \"a\" }",
            "suite.web.filter_description=^infer",
            "suite.api.v2.files=[\"b.json\", \"c.json\"]",
            "project.name=my project",
            "report.json=out/r.json",
            "service.url=http://127.0.0.1:9000",
            "suite.web.state_change_url=${service.url}/_pact/state",
        ],
        &[],
    )
    .expect("valid");
    let p = pact(&config);
    assert_eq!(p.timeout, std::time::Duration::from_secs(10));
    assert_eq!(p.concurrency, 2);
    assert_eq!(p.provider_url, "https://staging.example:8443");
    assert_eq!(p.headers, [("X-Tenant".to_owned(), "a".to_owned())]);
    assert_eq!(p.filter_description.as_deref(), Some("^infer"));
    assert_eq!(
        p.state_change_url.as_deref(),
        Some("http://127.0.0.1:9000/_pact/state")
    );
    let SuiteSpec::JsonSchema(js) = &config.suites[1].spec else {
        panic!("not a json-schema suite")
    };
    let files: Vec<&str> = js.files.iter().map(|f| f.resolved.as_str()).collect();
    assert_eq!(files, ["dir/b.json", "dir/c.json"]);
    assert_eq!(config.project_name.as_deref(), Some("my project"));
    assert_eq!(config.json, Some(PathBuf::from("dir/out/r.json")));
    assert_eq!(
        config.service.and_then(|s| s.url).as_deref(),
        Some("http://127.0.0.1:9000")
    );
    // A quoted value is a string even when it looks like a number; the last --set wins.
    let config = parse_env(
        TWO_SUITES,
        &[
            "project.name=\"42\"",
            "suite.web.timeout_secs=1",
            "suite.web.timeout_secs=2.5",
        ],
        &[],
    )
    .expect("valid");
    assert_eq!(config.project_name.as_deref(), Some("42"));
    assert_eq!(
        pact(&config).timeout,
        std::time::Duration::from_millis(2500)
    );
}

#[test]
fn set_errors_name_the_override() {
    let e = |sets: &[&str]| env_err(TWO_SUITES, sets, &[]);
    assert_eq!(
        e(&["suite.wbe.timeout_secs=1"]),
        "`--set suite.wbe.timeout_secs`: no suite is named `wbe`; did you mean `web`?"
    );
    assert_eq!(
        e(&["suite.zzzzzz.timeout_secs=1"]),
        "`--set suite.zzzzzz.timeout_secs`: no suite is named `zzzzzz`; the suites are `web`, `api.v2`"
    );
    assert_eq!(
        e(&["suite.web=1"]),
        "`--set suite.web`: names the suite `web` but no key of it: write `--set suite.web.KEY=VALUE`"
    );
    assert_eq!(
        e(&["suite.web.timeout_secs=0"]),
        "`--set suite.web.timeout_secs`: `timeout_secs` must be a number of seconds above 0 and at most 86400, not 0.0"
    );
    assert_eq!(
        e(&["suite.web.timeot_secs=3"]),
        "`--set suite.web.timeot_secs`: unknown key `timeot_secs`; did you mean `timeout_secs`?"
    );
    assert_eq!(
        e(&["servic.url=http://h"]),
        "`--set servic.url`: unknown key `servic`; did you mean `service`?"
    );
    assert_eq!(
        e(&["service.url=localhost:1"]),
        "`--set service.url`: `service.url` must be an http:// or https:// URL, not `localhost:1`"
    );
    assert_eq!(
        e(&["suite.web.provider_url=localhost"]),
        "`--set suite.web.provider_url`: `provider_url` must be an http:// or https:// URL, not `localhost`"
    );
    assert_eq!(
        e(&["project.name"]),
        "`--set project.name`: expected KEY=VALUE, e.g. `--set suite.NAME.timeout_secs=10` or `--set service.url=http://127.0.0.1:8080`"
    );
    assert_eq!(
        e(&["project..name=x"]),
        "`--set project..name`: the key has an empty part; write keys as `a.b.c`"
    );
    assert_eq!(
        e(&["project.name.x=1"]),
        "`--set project.name.x`: `project.name` is a string, not a table"
    );
    assert_eq!(
        e(&["suite.web.timeout_secs=${T}"]),
        "`--set suite.web.timeout_secs`: environment variable `T` is not set (write `${T:-default}` to give a default)"
    );
    let quoted = e(&["project.name=12"]);
    assert!(
        quoted.starts_with("`--set project.name`: invalid type: integer `12`, expected a string")
            && quoted
                .ends_with("(quote the value to pass it as a string: `--set 'KEY=\"VALUE\"'`)"),
        "{quoted}"
    );
    assert_eq!(
        env_err("", &["suite.a.b=1"], &[]),
        "`--set suite.a.b`: no suite is named `a` (the configuration declares no suites)"
    );
    // A key set in a table of the file, whose value the file's checks report at the table.
    assert_eq!(
        env_err(
            "[service]\nurl = \"http://h\"\n",
            &["service.url=localhost:1"],
            &[]
        ),
        "`--set service.url`: `service.url` must be an http:// or https:// URL, not `localhost:1`"
    );
    // A problem of the file's own stays the file's, with its line.
    assert_eq!(
        env_err(
            &TWO_SUITES.replace("timeout_secs = 5", "timeout_secs = 5\nconcurrency = 0"),
            &["suite.web.timeout_secs=3"],
            &[]
        ),
        "dir/modelci.toml:7:16: `concurrency` must be from 1 to 1024, not 0"
    );
    // The origin is the flag, not a line of the file.
    assert!(
        parse_env(TWO_SUITES, &["suite.web.timeout_secs=0"], &[])
            .expect_err("bad")
            .diagnostic()
            .is_none()
    );
}

#[test]
fn set_accepts_quoted_key_parts() {
    let config = parse_env(
        "[service]\nurl = \"http://h\"\n",
        &["service.env.\"A.B\"=1", "service.env.PLAIN=x y"],
        &[],
    );
    // Environment values are strings: the integer is refused, and says so.
    let e = config.expect_err("integer env").to_string();
    assert!(
        e.starts_with("`--set service.env.\"A.B\"`: invalid type: integer"),
        "{e}"
    );
    let config = parse_env(
        "[service]\nurl = \"http://h\"\n",
        &["service.env.\"A.B\"=\"1\"", "service.env.PLAIN=x y"],
        &[],
    )
    .expect("valid");
    let env = config.service.expect("service").env;
    assert_eq!(env.get("A.B").map(String::as_str), Some("1"));
    assert_eq!(env.get("PLAIN").map(String::as_str), Some("x y"));
}

#[test]
fn discovery_walks_up_to_the_repository_root() {
    let root = tempfile::tempdir().expect("tempdir");
    let repo = root.path().join("repo");
    let deep = repo.join("a/b");
    std::fs::create_dir_all(&deep).expect("mkdir");
    std::fs::create_dir(repo.join(".git")).expect("mkdir .git");
    // Above the repository: never found from inside it.
    std::fs::write(root.path().join(DEFAULT_CONFIG), "").expect("write");
    let e = discover(&deep).expect_err("outside the repository");
    assert_eq!(
        e,
        format!(
            "no `modelci.toml` in this folder or its parents up to the git repository's root `{}`",
            repo.display()
        )
    );
    assert_eq!(
        discover(&repo).expect_err("at the root"),
        "no `modelci.toml` in this folder, the root of its git repository"
    );
    // At the repository's root (checked before stopping), and nearer ones first.
    std::fs::write(repo.join(DEFAULT_CONFIG), "").expect("write");
    assert_eq!(
        discover(&deep),
        Ok(Found {
            path: PathBuf::from("../../modelci.toml"),
            levels_up: 2
        })
    );
    std::fs::write(deep.join("../modelci.toml"), "").expect("write");
    assert_eq!(
        discover(&deep),
        Ok(Found {
            path: PathBuf::from("../modelci.toml"),
            levels_up: 1
        })
    );
    std::fs::write(deep.join(DEFAULT_CONFIG), "").expect("write");
    assert_eq!(
        discover(&deep),
        Ok(Found {
            path: PathBuf::from("modelci.toml"),
            levels_up: 0
        })
    );
    // Without a repository, up to the filesystem root: the temporary folder's own file.
    let outside = root.path().join("x/y");
    std::fs::create_dir_all(&outside).expect("mkdir");
    assert_eq!(
        discover(&outside).map(|f| f.path),
        Ok(PathBuf::from("../../modelci.toml"))
    );
}

proptest::proptest! {
    /// Whatever a variable holds, it becomes exactly the one string that names it, and the
    /// document keeps its structure; a template expands without panicking, to its own text when
    /// it has no `${`.
    #[test]
    fn any_environment_value_stays_one_string(value in "(\\PC|\n|\r|\t|\"|')*", template in "[a-z$ {}:\\-A_]{0,24}") {
        let text = "[project]\nname = \"${V}\"\n";
        let config = parse_env(text, &[], &[("V", &value)]).expect("valid");
        proptest::prop_assert_eq!(config.project_name.as_deref(), Some(value.as_str()));
        proptest::prop_assert!(config.suites.is_empty());
        let env = |name: &str| (name == "A").then(|| "a".into());
        let mut x = interpolate::Expander::new(&env);
        if let Ok(out) = x.expand(&template)
            && !template.contains("${")
        {
            proptest::prop_assert_eq!(out, template.as_str());
        }
    }

    /// `--set` with any string value either applies it or names itself; never a panic.
    #[test]
    fn any_set_value_is_applied_or_refused_by_name(key in "[a-z.\"]{0,12}", value in "\\PC{0,16}") {
        let set = format!("{key}={value}");
        if let Err(e) = parse_env(TWO_SUITES, &[set.as_str()], &[]) {
            let e = e.to_string();
            proptest::prop_assert!(e.starts_with("`--set ") || e.starts_with("dir/modelci.toml:"), "{}", e);
        }
    }
}
