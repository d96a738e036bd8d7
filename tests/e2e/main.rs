//! End-to-end tests: run the built `modelci` binary on the example projects and on broken input,
//! and check exit codes, terminal output and the report files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

mod action;
mod broker;
mod broker_verify;
mod canary;
mod canary_prometheus;
mod canary_shadow;
mod chaos;
mod check;
mod config;
mod contract_planted;
mod diff;
mod endpoint;
mod errors;
mod gate;
mod github;
mod hostile;
mod init;

mod install;
mod load;
mod model;
mod openapi;
mod output;
mod pact;
mod provider;
mod proxy;
mod raw;
mod reference;
mod reports;
mod resilience;
mod secrets;
mod service;
mod shards;
mod signals;
mod zipmap;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use modelci_test_support::{Dependency, require};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `modelci` run from the repository root with a clean environment for CI and colour variables.
pub fn modelci(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_modelci"));
    cmd.args(args).current_dir(root());
    // The quickstart's `[service]` runs this build of the reference service.
    cmd.env("MODELCI_SERVICE_BIN", service_bin());
    for var in [
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "GITHUB_WORKSPACE",
        "CLICOLOR_FORCE",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Whether ONNX Runtime can be found (`modelci doctor` says so). Without it the model tests
/// skip loudly, under the test dependency guard (in CI, `CI=true`, it must be there).
pub fn runtime_available() -> bool {
    let (_, out, _) = run(&mut modelci(&["doctor"]));
    let ok = out
        .lines()
        .any(|l| l.starts_with("onnxruntime") && l.contains(" ok "));
    let found = if ok {
        Ok(())
    } else {
        Err(format!("`modelci doctor` says:\n{out}"))
    };
    require(Dependency::OnnxRuntime, found).is_some()
}

/// The reference model service built with this workspace (next to `modelci`).
pub fn service_bin() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_modelci")).with_file_name("modelci-service")
}

/// Holds the quickstart's fixed service port (47841) for one test at a time, across the test
/// processes: a lock on a file in the target folder, released when dropped.
pub struct QuickstartLock(#[allow(dead_code)] std::fs::File);

impl QuickstartLock {
    pub fn take() -> QuickstartLock {
        let path = Path::new(env!("CARGO_BIN_EXE_modelci")).with_file_name("quickstart.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .expect("lock file");
        // SAFETY: flock(2) on a descriptor this function owns; no memory is involved.
        let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) };
        assert_eq!(rc, 0, "cannot lock {}", path.display());
        QuickstartLock(file)
    }
}

/// The example provider fixture (fixtures/provider/model_service.py, python3 standard library)
/// on 127.0.0.1, stopped when
/// dropped.
pub struct QuickstartProvider {
    child: Option<std::process::Child>,
    pub url: String,
}

impl QuickstartProvider {
    /// On the port the quickstart's `modelci.toml` names (47831). If something already answers
    /// there (another test's provider), it is reused.
    pub fn start() -> QuickstartProvider {
        QuickstartProvider::on(47831, true)
    }

    /// On a free port of its own.
    pub fn start_private() -> QuickstartProvider {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        QuickstartProvider::on(port, false)
    }

    fn on(port: u16, reuse: bool) -> QuickstartProvider {
        let addr = format!("127.0.0.1:{port}");
        let url = format!("http://{addr}");
        let ready = || std::net::TcpStream::connect(&addr).is_ok();
        if reuse && ready() {
            return QuickstartProvider { child: None, url };
        }
        let child = Command::new("python3")
            .arg(root().join("fixtures/provider/model_service.py"))
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs the example provider");
        for _ in 0..100 {
            if ready() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        QuickstartProvider {
            child: Some(child),
            url,
        }
    }
}

impl Drop for QuickstartProvider {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a command and returns (exit code, stdout, stderr).
/// A `[[suite.json-schema]]` named `schemas` over the quickstart's recorded predictions: a
/// suite that needs no service, no model and no network, for configurations that need one.
pub fn schemas_suite() -> String {
    format!(
        r#"
[[suite.json-schema]]
name = "schemas"
schema = "{root}/examples/quickstart/schemas/prediction.schema.json"
files = ["{root}/examples/quickstart/recorded/predictions.jsonl"]
pointer = "/body"
"#,
        root = root().display()
    )
}

pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("modelci runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Replaces timings so that snapshots are stable.
pub fn stable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut words: Vec<String> = Vec::new();
        let parts: Vec<&str> = line.split(' ').collect();
        let mut i = 0;
        while i < parts.len() {
            let w = parts[i];
            let next = parts.get(i + 1).copied();
            if matches!(next, Some("ms" | "s")) && w.parse::<f64>().is_ok() {
                words.push("[TIME]".into());
                i += 2;
                continue;
            }
            words.push(w.to_owned());
            i += 1;
        }
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

/// Validates a JUnit file against the common JUnit XSD with xmllint. Without xmllint, the test
/// dependency guard decides: a loud skip of the validation, or a failure in CI (`CI=true`).
pub fn validate_junit(path: &Path) {
    let xsd = root().join("tests/e2e/junit.xsd");
    let ran = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(path)
        .output()
        .map_err(|e| format!("xmllint does not run: {e}"));
    if let Some(out) = require(Dependency::Xmllint, ran) {
        assert!(
            out.status.success(),
            "{} does not validate against the JUnit XSD:\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
