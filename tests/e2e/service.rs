//! `[service]` in `modelci check`: the system under test (here the quickstart's example
//! provider, python3 standard library) started, waited for, used as `${service.url}` and
//! stopped; and every way it can go wrong.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{modelci, root, run};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn provider() -> String {
    root()
        .join("fixtures/provider/model_service.py")
        .display()
        .to_string()
}

fn config(dir: &std::path::Path, service: &str, pact: bool) -> std::path::PathBuf {
    let path = dir.join("modelci.toml");
    let suites = if pact {
        format!(
            r#"
[[suite.pact]]
name = "contracts"
pacts = ["{root}/fixtures/pacts/web-app-model-service.json"]
provider_url = "${{service.url}}"
state_change_url = "${{service.url}}/_pact/state"
"#,
            root = root().display()
        )
    } else {
        crate::schemas_suite()
    };
    std::fs::write(&path, format!("{service}\n{suites}")).expect("config");
    path
}

fn check(config: &std::path::Path, json: &std::path::Path) -> (i32, String, String) {
    run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]))
}

/// Nothing listens on the port any more (the service was stopped).
fn stopped(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn the_service_is_started_used_and_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = config(
        dir.path(),
        &format!(
            r#"[service]
command = ["python3", "{}", "{port}"]
url = "http://127.0.0.1:{port}"
ready_url = "${{service.url}}/v2/health/ready"
ready_timeout_secs = 30
"#,
            provider()
        ),
        true,
    );
    let json = dir.path().join("r.json");
    let (code, out, err) = check(&cfg, &json);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("starting the service: python3"), "{err}");
    assert!(
        err.contains(&format!(
            "service ready at http://127.0.0.1:{port}/v2/health/ready"
        )),
        "{err}"
    );
    assert!(stopped(port), "the service is stopped after the run");
}

#[test]
fn a_service_that_never_gets_ready_or_exits_early_is_an_error_with_its_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let json = dir.path().join("r.json");

    // Never ready: the whole process group is gone afterwards.
    let marker = format!("modelci-never-ready-{port}");
    let cfg = config(
        dir.path(),
        &format!(
            r#"[service]
command = "echo starting {marker}; sleep 60.{port} & sleep 60.{port}"
url = "http://127.0.0.1:{port}"
ready_timeout_secs = 1
stop_timeout_secs = 2
"#
        ),
        false,
    );
    let (code, out, err) = check(&cfg, &json);
    assert_eq!(code, 2, "{out}\n{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("json");
    let case = &r["suites"][0]["cases"][0];
    assert_eq!(r["suites"][0]["name"], "service");
    assert!(
        case["message"]
            .as_str()
            .expect("m")
            .contains("was not ready within 1 s"),
        "{case:#}"
    );
    // The last probe's failure, in the words every client uses.
    assert!(
        case["message"]
            .as_str()
            .expect("m")
            .contains("(connection failed: "),
        "{case:#}"
    );
    assert!(
        case["detail"]
            .as_str()
            .expect("d")
            .contains(&format!("starting {marker}")),
        "{case:#}"
    );
    assert_eq!(case["location"]["line"], 1);
    // The sleeps carry this run's port (`sleep 60.PORT`), so another process's `sleep 60` on the
    // same machine is not taken for one of ours.
    let left = std::process::Command::new("pgrep")
        .args(["-f", &format!("sleep 60\\.{port}")])
        .output();
    if let Ok(left) = left {
        let pids = String::from_utf8_lossy(&left.stdout).to_string();
        // None of this service's processes may be left.
        assert!(pids.trim().is_empty(), "orphans left: {pids}");
    }

    // Exits early, e.g. because its port is taken.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let cfg = config(
        dir.path(),
        &format!(
            r#"[service]
command = ["python3", "{}", "{port}"]
url = "http://127.0.0.1:{port}"
ready_timeout_secs = 20
"#,
            provider()
        ),
        false,
    );
    let (code, _, err) = check(&cfg, &json);
    assert_eq!(code, 2);
    assert!(err.contains("exited") && err.contains("before"), "{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("json");
    let detail = r["suites"][0]["cases"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("Address already in use") || detail.contains("address"),
        "{detail}"
    );
    drop(taken);

    // A command that does not exist.
    let cfg = config(
        dir.path(),
        "[service]\ncommand = [\"no-such-command-modelci\"]\nurl = \"http://127.0.0.1:9\"\n",
        false,
    );
    let (code, _, err) = check(&cfg, &json);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot start the service `no-such-command-modelci`"),
        "{err}"
    );
}

#[test]
fn without_a_command_the_running_service_is_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = std::process::Command::new("python3")
        .arg(provider())
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("provider");
    let cfg = config(
        dir.path(),
        &format!(
            "[service]\nurl = \"http://127.0.0.1:{port}\"\nready_url = \"${{service.url}}/v2/health/ready\"\nready_timeout_secs = 20\n"
        ),
        true,
    );
    let json = dir.path().join("r.json");
    let (code, out, err) = check(&cfg, &json);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!err.contains("starting the service"), "{err}");
}

#[test]
fn service_url_needs_a_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), "", true);
    let (code, _, err) = check(&cfg, &dir.path().join("r.json"));
    assert_eq!(code, 2);
    assert!(
        err.contains("`${service.url}` is used, but `[service]` has no `url`"),
        "{err}"
    );
}

/// `--only` a suite that does not talk to `[service]`: the service is not started (here its
/// command would fail), and the suite runs; selecting a suite that uses it starts it.
#[test]
fn only_starts_the_service_when_a_selected_suite_uses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let marker = dir.path().join("started");
    let path = dir.path().join("modelci.toml");
    std::fs::write(
        &path,
        format!(
            r#"[service]
command = "touch '{marker}'; exit 3"
url = "http://127.0.0.1:{port}"
ready_timeout_secs = 5
{schemas}
[[suite.openapi]]
name = "live"
openapi = "{root}/examples/quickstart/contracts/classifier-service/openapi.yaml"
base_url = "${{service.url}}"
"#,
            marker = marker.display(),
            schemas = crate::schemas_suite(),
            root = root().display()
        ),
    )
    .expect("config");
    let json = dir.path().join("r.json");
    let cfg = path.to_str().expect("utf8");
    let out = json.to_str().expect("utf8");
    let (code, stdout, err) = run(&mut modelci(&[
        "check", "--config", cfg, "--only", "schemas", "--json", out,
    ]));
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert!(!marker.exists(), "the service was started: {err}");
    assert!(err.contains("not starting the service"), "{err}");

    let (code, stdout, err) = run(&mut modelci(&[
        "check", "--config", cfg, "--only", "live", "--json", out,
    ]));
    assert_eq!(code, 2, "{stdout}\n{err}");
    assert!(
        marker.exists(),
        "a suite that uses the service needs it started: {err}"
    );
}
