//! The Pact Broker commands (`contract publish`, `can-i-deploy`, `record-deployment`,
//! `record-release`) against the Pact Broker's own contract with its command-line client
//! (`../shared/conformance/pact-broker/pact-broker-client-v2--pact-broker.json`), served by
//! `modelci contract mock`.
//!
//! The mock answers a request with the first interaction it matches and 500 (naming the closest
//! interaction) when none does; it does not pick interactions by provider state. So each test
//! serves the interactions of one scenario (one provider state at a time, as the contract's
//! README says), copied unchanged from the contract, and every request the client makes must be
//! one of them. A few tests change a response in a way its matching rules allow (`$.body` matched
//! by type: `deployable` false instead of true), or take the documented error shape where the
//! contract has no error interaction; those say so.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::{modelci, root, run};

const CONTRACT: &str = "pact-broker-client-v2--pact-broker.json";
/// The consumer version of the publish, deployment and release interactions.
const SHA: &str = "5556b8149bf8bac76bc30f50a8a2dd4c22c85f30";
/// A token that must never show.
const TOKEN: &str = "s3cr3t-broker-token-e2e";

/// The contract, or `None` (the guard skips or fails) when the corpora are missing.
fn contract() -> Option<Value> {
    let dir = modelci_test_support::corpus("pact-broker")?;
    let text = std::fs::read_to_string(dir.join(CONTRACT)).expect("the broker contract");
    Some(serde_json::from_str(&text).expect("JSON"))
}

/// Interaction `n` of the contract, checked by its description (and provider state).
fn interaction(contract: &Value, n: usize, description: &str, state: Option<&str>) -> Value {
    let i = contract["interactions"][n].clone();
    assert_eq!(i["description"], description, "interaction {n}");
    assert_eq!(i["providerState"].as_str(), state, "interaction {n}");
    i
}

/// `modelci contract mock` serving some interactions of the contract; stopped when dropped.
struct Mock {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Mock {
    fn serve(contract: &Value, interactions: Vec<Value>) -> Mock {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut pact = contract.clone();
        pact["interactions"] = Value::Array(interactions);
        let path = dir.path().join("scenario.json");
        std::fs::write(&path, pact.to_string()).expect("write the scenario");
        let mut child = Command::new(env!("CARGO_BIN_EXE_modelci"))
            .args(["contract", "mock", "--port", "0", "--pact"])
            .arg(&path)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the mock");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .to_owned();
        Mock {
            child,
            url: addr,
            _dir: dir,
        }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `modelci contract ARGS --broker-url URL --broker-token TOKEN`; returns (code, stdout,
/// stderr) and checks that the token shows nowhere.
fn broker(url: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = modelci(&["contract"]);
    cmd.args(args)
        .args(["--broker-url", url, "--broker-token", TOKEN])
        .env_remove("PACT_BROKER_BASE_URL")
        .env_remove("PACT_BROKER_TOKEN")
        .env_remove("PACT_BROKER_USERNAME")
        .env_remove("PACT_BROKER_PASSWORD");
    let (code, out, err) = run(&mut cmd);
    assert!(!out.contains(TOKEN), "token in stdout: {out}");
    assert!(!err.contains(TOKEN), "token in stderr: {err}");
    (code, out, err)
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the JSON output");
    assert!(!text.contains(TOKEN), "token in the JSON output: {text}");
    serde_json::from_str(&text).expect("JSON")
}

/// The pact whose base64 the publish interaction expects, as a file.
fn published_pact(contract: &Value, dir: &Path) -> PathBuf {
    use base64::Engine as _;
    let i = &contract["interactions"][48];
    let content = i["request"]["body"]["contracts"][0]["content"]
        .as_str()
        .expect("content");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content)
        .expect("base64");
    let path = dir.join("Foo-Bar.json");
    std::fs::write(&path, bytes).expect("write the pact");
    path
}

fn publish_scenario(contract: &Value) -> Vec<Value> {
    vec![
        interaction(
            contract,
            21,
            "a request for the index resource",
            Some("the pb:publish-contracts relations exists in the index resource"),
        ),
        interaction(contract, 48, "a request to publish contracts", None),
    ]
}

#[test]
fn publish_sends_the_documented_body_and_shows_the_brokers_messages() {
    let Some(contract) = contract() else { return };
    let mock = Mock::serve(&contract, publish_scenario(&contract));
    let tmp = tempfile::tempdir().expect("tempdir");
    let pact = published_pact(&contract, tmp.path());
    let json_out = tmp.path().join("published.json");
    let (code, out, err) = broker(
        &mock.url,
        &[
            "publish",
            pact.to_str().unwrap(),
            "--consumer-app-version",
            SHA,
            "--branch",
            "main",
            "--tag",
            "dev",
            "--build-url",
            "http://build",
            "--merge",
            "--json",
            json_out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("published 1 pact(s) for Foo version {SHA}")),
        "{out}"
    );
    assert!(out.contains("Foo -> Bar"), "{out}");
    // The answer's `logs` (older brokers; newer send `notices`).
    assert!(out.contains("[info] some message"), "{out}");
    let doc = read_json(&json_out);
    assert_eq!(doc["published"], true);
    assert_eq!(doc["publications"][0]["pacticipant"], "Foo");
    assert_eq!(doc["publications"][0]["notices"][0]["text"], "some message");
    assert!(
        doc["publications"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/contracts/publish")
    );

    // A folder of pacts is published the same way, and `--json -` puts the JSON alone on stdout.
    let (code, out, err) = broker(
        &mock.url,
        &[
            "publish",
            tmp.path().to_str().unwrap(),
            "--consumer-app-version",
            SHA,
            "--branch",
            "main",
            "--tag",
            "dev",
            "--build-url",
            "http://build",
            "--merge",
            "--json",
            "-",
        ],
    );
    // The folder also holds published.json, which is not a pact: exit 2 naming it.
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("published.json"), "{err}");
    std::fs::remove_file(&json_out).unwrap();
    let (code, out, err) = broker(
        &mock.url,
        &[
            "publish",
            tmp.path().to_str().unwrap(),
            "--consumer-app-version",
            SHA,
            "--branch",
            "main",
            "--tag",
            "dev",
            "--build-url",
            "http://build",
            "--merge",
            "--json",
            "-",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let doc: Value = serde_json::from_str(&out).expect("stdout is the JSON");
    assert_eq!(doc["published"], true);
    assert!(err.contains("some message"), "{err}");
}

#[test]
fn publish_errors_are_shown_and_exit_2() {
    let Some(contract) = contract() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let pact = published_pact(&contract, tmp.path());
    let args = |version: &'static str| {
        vec![
            "publish".to_owned(),
            pact.to_str().unwrap().to_owned(),
            "--consumer-app-version".to_owned(),
            version.to_owned(),
            "--branch".to_owned(),
            "main".to_owned(),
            "--tag".to_owned(),
            "dev".to_owned(),
            "--build-url".to_owned(),
            "http://build".to_owned(),
            "--merge".to_owned(),
        ]
    };

    // A request the contract does not have (another version): the mock's 500 and its reasons.
    let mock = Mock::serve(&contract, publish_scenario(&contract));
    let a = args("9.9.9");
    let (code, out, err) = broker(&mock.url, &strs(&a));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("answered 500 to POST"), "{err}");
    assert!(err.contains("/contracts/publish"), "{err}");
    assert!(err.contains("a request to publish contracts"), "{err}");
    drop(mock);

    // The broker refuses the publication: 400 with `errors` (the broker's documented error
    // shape; the contract has no 400 for this request, so its 200 is turned into one).
    let mut refused = interaction(&contract, 48, "a request to publish contracts", None);
    refused["response"] = json!({
        "status": 400,
        "headers": {"Content-Type": "application/hal+json;charset=utf-8"},
        "body": {"errors": {"pacticipantVersionNumber": ["is not a valid version"]}},
    });
    let mut scenario = publish_scenario(&contract);
    scenario[1] = refused;
    let mock = Mock::serve(&contract, scenario);
    let tmp_json = tmp.path().join("out").with_extension("txt");
    let mut a = args(SHA);
    a.extend(["--json".to_owned(), tmp_json.to_str().unwrap().to_owned()]);
    let (code, out, err) = broker(&mock.url, &strs(&a));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("answered 400")
            && err.contains("pacticipantVersionNumber: is not a valid version"),
        "{err}"
    );
    let doc = read_json(&tmp_json);
    assert_eq!(doc["published"], false);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("is not a valid version")
    );
    drop(mock);

    // An index without `pb:publish-contracts` (a broker too old). (Interaction 10, the index
    // without provider state, cannot be served: its regex `{pacticipant}` is Ruby's, which the
    // Rust regex crate refuses, so the mock refuses the pact.)
    let mock = Mock::serve(
        &contract,
        vec![interaction(
            &contract,
            12,
            "a request for the index resource",
            Some("the pb:environments relation exists in the index resource"),
        )],
    );
    let (code, out, err) = broker(&mock.url, &strs(&args(SHA)));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("`pb:publish-contracts`"), "{err}");
}

#[test]
fn unreadable_pacts_are_exit_2_before_any_request() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let not_pact = tmp.path().join("notes.json");
    std::fs::write(&not_pact, "[1, 2]").unwrap();
    let bad_json = tmp.path().join("broken.json");
    std::fs::write(&bad_json, "{\"consumer\": ").unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    // An unroutable broker URL: the command must stop before asking it.
    let url = "http://127.0.0.1:9";
    for (path, says) in [
        (tmp.path().join("missing.json"), "missing.json"),
        (not_pact.clone(), "notes.json"),
        (bad_json.clone(), "broken.json"),
        (empty.clone(), "holds no pact files"),
    ] {
        let (code, out, err) = broker(
            url,
            &[
                "publish",
                path.to_str().unwrap(),
                "--consumer-app-version",
                "1",
            ],
        );
        assert_eq!(code, 2, "{path:?}: {out}{err}");
        assert!(err.contains(says), "{path:?}: {err}");
        assert!(!err.contains("cannot reach"), "{path:?}: {err}");
    }
}

/// A matrix interaction (number, description, provider state), the command line that asks it,
/// the exit code and a text the output holds.
type MatrixCase<'a> = (usize, &'a str, Option<&'a str>, Vec<&'a str>, i32, &'a str);

/// The matrix interactions and the command lines that ask them.
#[test]
fn can_i_deploy_asks_the_contracts_matrix_questions() {
    let Some(contract) = contract() else { return };
    let verified = "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6";
    let cases: Vec<MatrixCase> = vec![
        (
            2,
            "a request for the compatibility matrix for Foo version 1.2.3 and Bar version 4.5.6",
            Some(verified),
            vec![
                "--pacticipant",
                "Foo",
                "--version",
                "1.2.3",
                "--pacticipant",
                "Bar",
                "--version",
                "4.5.6",
            ],
            0,
            "some text",
        ),
        (
            1,
            "a request for the compatibility matrix for Foo version 1.2.3 and Bar version 4.5.6",
            Some("the pact for Foo Thing version 1.2.3 has been verified by Bar version 4.5.6"),
            vec![
                "--pacticipant",
                "Foo Thing",
                "--version",
                "1.2.3",
                "--pacticipant",
                "Bar",
                "--version",
                "4.5.6",
            ],
            0,
            "some text",
        ),
        (
            3,
            "a request for the compatibility matrix for Foo version 1.2.3 and the latest prod version of Bar",
            Some(
                "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6 with tag prod, and 1.2.4 unsuccessfully by 9.9.9",
            ),
            vec![
                "--pacticipant",
                "Foo",
                "--version",
                "1.2.3",
                "--pacticipant",
                "Bar",
                "--latest",
                "prod",
            ],
            0,
            "some text",
        ),
        (
            5,
            "a request for the compatibility matrix for Foo version 1.2.3 and the latest version of Bar",
            Some(
                "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6, and 1.2.4 unsuccessfully by 9.9.9",
            ),
            vec![
                "--pacticipant",
                "Foo",
                "--version",
                "1.2.4",
                "--pacticipant",
                "Bar",
                "--latest",
            ],
            0,
            "some text",
        ),
        (
            9,
            "a request for the compatibility matrix where only the version of Foo is specified",
            Some(
                "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6 and version 5.6.7",
            ),
            vec!["--pacticipant", "Foo", "--version", "1.2.3"],
            0,
            "some text",
        ),
        (
            40,
            "a request to determine if Bar can be deployed with all Foo tagged prod, ignoring the verification for Foo version 3.4.5",
            Some(
                "provider Bar version 4.5.6 has a successful verification for Foo version 1.2.3 tagged prod and a failed verification for version 3.4.5 tagged prod",
            ),
            vec![
                "--pacticipant",
                "Bar",
                "--version",
                "4.5.6",
                "--pacticipant",
                "Foo",
                "--all",
                "prod",
                "--ignore",
                "Foo",
                "--version",
                "3.4.5",
            ],
            0,
            "deployable: yes",
        ),
        // A pacticipant the broker does not know: 400 with `errors`.
        (
            6,
            "a request for the compatibility matrix for a pacticipant that does not exist",
            None,
            vec![
                "--pacticipant",
                "Wiffle",
                "--version",
                "1.2.3",
                "--pacticipant",
                "Meep",
                "--version",
                "9.9.9",
            ],
            2,
            "an error message",
        ),
        // A version the broker does not know: a summary without `deployable`.
        (
            8,
            "a request for the compatibility matrix where one or more versions does not exist",
            Some(verified),
            vec![
                "--pacticipant",
                "Foo",
                "--version",
                "1.2.3",
                "--pacticipant",
                "Bar",
                "--version",
                "9.9.9",
            ],
            2,
            "an error message",
        ),
        // Answers without a summary (older brokers' matrix listings): the question cannot be
        // decided.
        (
            4,
            "a request for the compatibility matrix for Foo version 1.2.3 and the latest prod versions of all other pacticipants",
            Some(
                "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6 (tagged prod) and version 5.6.7",
            ),
            vec!["--pacticipant", "Foo", "--version", "1.2.3", "--to", "prod"],
            2,
            "no `summary`",
        ),
        (
            7,
            "a request for the compatibility matrix for all versions of Foo and Bar",
            Some("the pact for Foo version 1.2.3 and 1.2.4 has been verified by Bar version 4.5.6"),
            vec!["--pacticipant", "Foo", "--pacticipant", "Bar"],
            2,
            "no `summary`",
        ),
    ];
    for (n, description, state, args, expected, says) in cases {
        let mock = Mock::serve(
            &contract,
            vec![interaction(&contract, n, description, state)],
        );
        let mut full = vec!["can-i-deploy"];
        full.extend(args.iter().copied());
        let (code, out, err) = broker(&mock.url, &full);
        assert_eq!(code, expected, "interaction {n}: {out}{err}");
        assert!(
            out.contains(says) || err.contains(says),
            "interaction {n}: wanted {says:?} in {out}{err}"
        );
        assert!(!err.contains("answered 500"), "interaction {n}: {err}");
        if expected == 0 {
            assert!(
                out.contains("CONSUMER | C.VERSION | PROVIDER | P.VERSION | SUCCESS?"),
                "{out}"
            );
        }
    }
}

#[test]
fn can_i_deploy_verdicts_retries_json_and_dry_run() {
    let Some(contract) = contract() else { return };
    let verified = "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6";
    let description =
        "a request for the compatibility matrix for Foo version 1.2.3 and Bar version 4.5.6";
    let args = [
        "can-i-deploy",
        "--pacticipant",
        "Foo",
        "--version",
        "1.2.3",
        "--pacticipant",
        "Bar",
        "--version",
        "4.5.6",
    ];

    // Deployable, with the rows and the reason, and as JSON.
    let tmp = tempfile::tempdir().expect("tempdir");
    let out_json = tmp.path().join("matrix.json");
    let mock = Mock::serve(
        &contract,
        vec![interaction(&contract, 2, description, Some(verified))],
    );
    let mut a = args.to_vec();
    a.extend(["--json", out_json.to_str().unwrap()]);
    let (code, out, err) = broker(&mock.url, &a);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Foo      | 4         | Bar      | 5         | true"),
        "{out}"
    );
    assert!(out.contains("deployable: yes"), "{out}");
    let doc = read_json(&out_json);
    assert_eq!(doc["deployable"], true);
    assert_eq!(doc["rows"][0]["provider"], "Bar");
    assert_eq!(doc["reason"], "some text");
    drop(mock);

    // Not deployable: the same interaction with `deployable: false`, which its matching rules
    // (`$.body` by type) allow.
    let mut refused = interaction(&contract, 2, description, Some(verified));
    refused["response"]["body"]["summary"]["deployable"] = json!(false);
    refused["response"]["body"]["matrix"][0]["verificationResult"]["success"] = json!(false);
    let mock = Mock::serve(&contract, vec![refused]);
    let (code, out, err) = broker(&mock.url, &args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("deployable: no") && out.contains("| false"),
        "{out}"
    );
    // --quiet keeps the verdict.
    let mut q = vec!["--quiet"];
    q.extend(args.iter().copied());
    let (code, out, _) = broker(&mock.url, &q);
    assert_eq!(code, 1);
    assert_eq!(out.trim(), "deployable: no");
    drop(mock);

    // `unknown: 1` in the summary: asked again while unknown, then the broker's verdict.
    let mock = Mock::serve(
        &contract,
        vec![interaction(
            &contract,
            9,
            "a request for the compatibility matrix where only the version of Foo is specified",
            Some(
                "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6 and version 5.6.7",
            ),
        )],
    );
    let (code, out, err) = broker(
        &mock.url,
        &[
            "can-i-deploy",
            "--pacticipant",
            "Foo",
            "--version",
            "1.2.3",
            "--retry-while-unknown",
            "2",
            "--retry-interval",
            "0.05",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("asked 3 times"), "{out}");
    drop(mock);

    // Unknown after the retries: a summary with `deployable: null`, allowed by type matching
    // (null is no type of `true`, so this one is a made-up answer of a broker that cannot tell).
    let mut unknown = interaction(&contract, 2, description, Some(verified));
    unknown["response"]["body"]["summary"]["deployable"] = Value::Null;
    unknown["response"]["matchingRules"] = json!({});
    let mock = Mock::serve(&contract, vec![unknown]);
    let mut a = args.to_vec();
    a.extend(["--retry-while-unknown", "1", "--retry-interval", "0.05"]);
    let (code, out, err) = broker(&mock.url, &a);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("cannot tell (asked 2 times) (1 row(s)"),
        "{out}"
    );
    drop(mock);

    // A version the broker does not know: `deployable` missing but nothing unknown, so it is
    // not asked again.
    let mock = Mock::serve(
        &contract,
        vec![interaction(
            &contract,
            8,
            "a request for the compatibility matrix where one or more versions does not exist",
            Some(verified),
        )],
    );
    let (code, out, err) = broker(
        &mock.url,
        &[
            "can-i-deploy",
            "--pacticipant",
            "Foo",
            "--version",
            "1.2.3",
            "--pacticipant",
            "Bar",
            "--version",
            "9.9.9",
            "--retry-while-unknown",
            "3",
            "--retry-interval",
            "5",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("an error message"), "{out}");
    assert!(
        out.contains("deployable: the Pact Broker cannot tell\n"),
        "{out}"
    );
    drop(mock);

    // --dry-run asks nothing (the URL is unroutable) and says what it would ask.
    let mut a = vec![
        "can-i-deploy",
        "--dry-run",
        "--to-environment",
        "production",
    ];
    a.extend(args[1..].iter().copied());
    let (code, out, err) = broker("http://127.0.0.1:9/prefix", &a);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("GET http://127.0.0.1:9/prefix/matrix?"),
        "{out}"
    );
    assert!(out.contains("environment=production"), "{out}");
}

fn deployment_scenario(contract: &Value, version: usize, post: Option<usize>) -> Vec<Value> {
    let mut s = vec![
        interaction(
            contract,
            16,
            "a request for the index resource",
            Some(
                "the pb:pacticipant-version and pb:environments relations exist in the index resource",
            ),
        ),
        interaction(
            contract,
            20,
            "a request for the environments",
            Some("an environment with name test exists"),
        ),
    ];
    let version_state = match version {
        17 => {
            "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with 2 environments that aren't test available for deployment"
        }
        18 => {
            "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment available for deployment"
        }
        _ => {
            "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment available for release"
        }
    };
    s.push(interaction(
        contract,
        version,
        "a request for a pacticipant version",
        Some(version_state),
    ));
    let posted = "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment available for deployment";
    match post {
        Some(49) => s.push(interaction(
            contract,
            49,
            "a request to record a deployment",
            Some(posted),
        )),
        Some(50) => s.push(interaction(
            contract,
            50,
            "a request to record a release",
            Some(posted),
        )),
        _ => {}
    }
    s
}

#[test]
fn record_deployment_and_release_navigate_the_brokers_links() {
    let Some(contract) = contract() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let out_json = tmp.path().join("recorded.json");

    let mock = Mock::serve(&contract, deployment_scenario(&contract, 18, Some(49)));
    let (code, out, err) = broker(
        &mock.url,
        &[
            "record-deployment",
            "--pacticipant",
            "Foo",
            "--version",
            SHA,
            "--environment",
            "test",
            "--application-instance",
            "blue",
            "--json",
            out_json.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "recorded deployment of Foo version {SHA} to test (application instance blue)"
        )),
        "{out}"
    );
    let doc = read_json(&out_json);
    assert_eq!(doc["recorded"], "deployment");
    assert_eq!(doc["answer"]["target"], "blue");
    drop(mock);

    let mock = Mock::serve(&contract, deployment_scenario(&contract, 19, Some(50)));
    let (code, out, err) = broker(
        &mock.url,
        &[
            "record-release",
            "--pacticipant",
            "Foo",
            "--version",
            SHA,
            "--environment",
            "test",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("recorded release of Foo version {SHA} to test")),
        "{out}"
    );
    // The same with the broker's URL and token from the environment, and `--json -`.
    let mut cmd = modelci(&[
        "contract",
        "record-release",
        "--pacticipant",
        "Foo",
        "--version",
        SHA,
        "--environment",
        "test",
        "--json",
        "-",
    ]);
    cmd.env("PACT_BROKER_BASE_URL", &mock.url)
        .env("PACT_BROKER_TOKEN", TOKEN)
        .env_remove("PACT_BROKER_USERNAME")
        .env_remove("PACT_BROKER_PASSWORD");
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN), "{out}{err}");
    let doc: Value = serde_json::from_str(&out).expect("stdout is the JSON");
    assert_eq!(doc["recorded"], "release");
    assert!(doc["answer"].is_null(), "{doc}");
    assert!(err.contains("recorded release of Foo"), "{err}");
    drop(mock);

    // The environment list as `_embedded.environments` (the other environments interaction).
    let mut scenario = deployment_scenario(&contract, 18, Some(49));
    scenario[1] = interaction(
        &contract,
        44,
        "a request to list the environments",
        Some("an environment exists"),
    );
    let mock = Mock::serve(&contract, scenario);
    let (code, out, err) = broker(
        &mock.url,
        &[
            "record-deployment",
            "--pacticipant",
            "Foo",
            "--version",
            SHA,
            "--environment",
            "test",
            "--application-instance",
            "blue",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn unknown_or_unavailable_environments_are_exit_2_naming_the_options() {
    let Some(contract) = contract() else { return };
    // No such environment: the broker's environments are named.
    let mock = Mock::serve(&contract, deployment_scenario(&contract, 18, None));
    let (code, out, err) = broker(
        &mock.url,
        &[
            "record-deployment",
            "--pacticipant",
            "Foo",
            "--version",
            SHA,
            "--environment",
            "staging",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("no environment named `staging` (available: `test`)"),
        "{err}"
    );
    drop(mock);

    // The environment exists but the version offers others.
    let mock = Mock::serve(&contract, deployment_scenario(&contract, 17, None));
    let (code, out, err) = broker(
        &mock.url,
        &[
            "record-deployment",
            "--pacticipant",
            "Foo",
            "--version",
            SHA,
            "--environment",
            "test",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("(available: `prod`, `dev`)"), "{err}");
    drop(mock);

    // Releases use `pb:record-release`: a version that offers only deployments has none.
    let mock = Mock::serve(&contract, deployment_scenario(&contract, 18, None));
    let (code, out, err) = broker(
        &mock.url,
        &[
            "record-release",
            "--pacticipant",
            "Foo",
            "--version",
            SHA,
            "--environment",
            "test",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("recording a release") && err.contains("available: none"),
        "{err}"
    );
}

#[test]
fn unreachable_and_hanging_brokers_are_exit_2() {
    // Nothing listens: the URL is named.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let (code, out, err) = broker(
        &url,
        &["can-i-deploy", "--pacticipant", "Foo", "--version", "1"],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!("cannot reach the Pact Broker at {url}/matrix")),
        "{err}"
    );
    // After the retries (two by default).
    assert!(err.contains("gave up after 3 attempts"), "{err}");

    // A broker that accepts and never answers: the timeout ends it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for s in listener.incoming().take(2) {
            open.push(s);
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    });
    let started = std::time::Instant::now();
    let (code, out, err) = broker(
        &url,
        &[
            "record-release",
            "--pacticipant",
            "Foo",
            "--version",
            "1",
            "--environment",
            "test",
            "--broker-timeout",
            "1",
            "--broker-retries",
            "0",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains(&url) && err.contains("timed out"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    drop(held);

    // No URL at all.
    let mut cmd = modelci(&[
        "contract",
        "can-i-deploy",
        "--pacticipant",
        "Foo",
        "--version",
        "1",
    ]);
    cmd.env_remove("PACT_BROKER_BASE_URL");
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 2);
    assert!(err.contains("PACT_BROKER_BASE_URL"), "{err}");
}

#[test]
fn credentials_from_the_environment_are_never_printed() {
    // Basic credentials from the environment, a broker that answers 401 echoing them.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Some(Ok(mut s)) = listener.incoming().next() {
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let auth = request
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .unwrap_or("")
                .to_owned();
            let body =
                json!({"error": format!("bad credentials: {auth} pa55-w0rd-e2e")}).to_string();
            let _ = write!(
                s,
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let tmp = tempfile::tempdir().expect("tempdir");
    let out_json = tmp.path().join("o.json");
    let mut cmd = modelci(&[
        "contract",
        "record-deployment",
        "--pacticipant",
        "Foo",
        "--version",
        "1",
        "--environment",
        "test",
        "--json",
        out_json.to_str().unwrap(),
    ]);
    cmd.env("PACT_BROKER_BASE_URL", &url)
        .env("PACT_BROKER_USERNAME", "ann")
        .env("PACT_BROKER_PASSWORD", "pa55-w0rd-e2e")
        .env_remove("PACT_BROKER_TOKEN");
    let (code, out, err) = run(&mut cmd);
    server.join().unwrap();
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("answered 401"), "{err}");
    let text = std::fs::read_to_string(&out_json).unwrap();
    for shown in [&out, &err, &text] {
        assert!(!shown.contains("pa55-w0rd-e2e"), "{shown}");
        // The Basic header's base64 (ann:pa55-w0rd-e2e).
        assert!(!shown.contains("YW5uOnBhNTUtdzByZC1lMmU"), "{shown}");
    }
}
