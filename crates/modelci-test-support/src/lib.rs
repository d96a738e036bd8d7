//! Test scaffolding shared by modelci's tests; a dev-dependency only, never published.
//!
//! - [`corpus`] finds a third-party conformance corpus (`../shared/conformance/` beside the
//!   repository, or `$MODELCI_CONFORMANCE_DIR`).
//! - [`require`] is the one guard for everything a test needs from outside the repository (a
//!   [`Dependency`]): when the dependency is missing, the test skips with a loud message naming
//!   it and saying how to provide it, except under `CI=true`, where the test fails unless the
//!   dependency is opted out in `MODELCI_TEST_SKIP` (a comma-separated list of
//!   [`Dependency::name`]s, e.g. `MODELCI_TEST_SKIP=corpora`). An opted-out dependency that is
//!   present still runs its tests.
//! - [`mlflow_uri`], [`python_servers`] and [`prometheus`] find those dependencies under the
//!   guard (the Prometheus server binary: `MODELCI_TEST_PROMETHEUS`, from `scripts/prometheus`,
//!   else `prometheus` on PATH).
//!
//! Failing is the point of the guard, so it panics: this crate only runs inside tests.
#![expect(
    clippy::panic,
    reason = "the guard fails tests by panicking, like an assertion"
)]

pub mod fuzz;

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable listing the dependencies whose absence may skip tests under `CI=true`.
pub const SKIP_VAR: &str = "MODELCI_TEST_SKIP";

/// The variable that points at the conformance corpora when they are not beside the repository.
pub const CONFORMANCE_VAR: &str = "MODELCI_CONFORMANCE_DIR";

/// The variable naming the MLflow tracking server the tests use.
pub const MLFLOW_VAR: &str = "MODELCI_TEST_MLFLOW_URI";

/// The variable naming the Prometheus server binary the tests start (`scripts/prometheus`
/// prints one; `scripts/test` exports it).
pub const PROMETHEUS_VAR: &str = "MODELCI_TEST_PROMETHEUS";

/// Something a test needs from outside the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    /// The third-party conformance corpora (`../shared/conformance/`).
    Corpora,
    /// The ONNX Runtime library that modelci loads at run time.
    OnnxRuntime,
    /// A running MLflow tracking server (`MODELCI_TEST_MLFLOW_URI`).
    Mlflow,
    /// python3 with the modules the Python test servers import (numpy, onnxruntime).
    Python,
    /// `xmllint`, which validates JUnit reports against the JUnit XSD.
    Xmllint,
    /// The reference model service's binary, built with the workspace.
    ServiceBinary,
    /// A Prometheus server binary (`MODELCI_TEST_PROMETHEUS`, else `prometheus` on PATH), which
    /// the tests start on a free port to scrape the reference service.
    Prometheus,
}

impl Dependency {
    /// Every dependency.
    pub const ALL: [Dependency; 7] = [
        Dependency::Corpora,
        Dependency::OnnxRuntime,
        Dependency::Mlflow,
        Dependency::Python,
        Dependency::Xmllint,
        Dependency::ServiceBinary,
        Dependency::Prometheus,
    ];

    /// Its name in `MODELCI_TEST_SKIP`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Dependency::Corpora => "corpora",
            Dependency::OnnxRuntime => "onnxruntime",
            Dependency::Mlflow => "mlflow",
            Dependency::Python => "python",
            Dependency::Xmllint => "xmllint",
            Dependency::ServiceBinary => "service",
            Dependency::Prometheus => "prometheus",
        }
    }

    /// How to provide it.
    #[must_use]
    pub fn how_to_provide(self) -> &'static str {
        match self {
            Dependency::Corpora => {
                "put the corpora in `shared/conformance/` beside the repository (see its \
                 README.md), or point MODELCI_CONFORMANCE_DIR at them"
            }
            Dependency::OnnxRuntime => {
                "`scripts/onnxruntime` unpacks the pinned library into target/onnxruntime/ \
                 (scripts/test does, and exports ORT_DYLIB_PATH), or set ORT_DYLIB_PATH to a \
                 libonnxruntime"
            }
            Dependency::Mlflow => {
                "start a server with `scripts/mlflow-server start` and export its URL as \
                 MODELCI_TEST_MLFLOW_URI (scripts/test does both)"
            }
            Dependency::Python => {
                "`scripts/python-env` makes a virtual environment with them under target/ \
                 (scripts/test does, and puts it first on PATH)"
            }
            Dependency::Xmllint => "install libxml2-utils (scripts/test does when it can)",
            Dependency::ServiceBinary => "build the workspace: `cargo build --workspace`",
            Dependency::Prometheus => {
                "`scripts/prometheus` prints the path of a Prometheus server binary (installing \
                 the Debian package `prometheus` when run as root with apt-get); export it as \
                 MODELCI_TEST_PROMETHEUS (scripts/test does), or put `prometheus` on PATH"
            }
        }
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dependency::Corpora => "the third-party conformance corpora",
            Dependency::OnnxRuntime => "ONNX Runtime",
            Dependency::Mlflow => "an MLflow tracking server",
            Dependency::Python => "python3 with numpy and onnxruntime",
            Dependency::Xmllint => "xmllint",
            Dependency::ServiceBinary => "the reference service binary (modelci-service)",
            Dependency::Prometheus => "a Prometheus server binary",
        })
    }
}

/// What the guard does about a missing dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Skip the test, printing this.
    Skip(String),
    /// Fail the test with this.
    Fail(String),
}

/// The guard's decision, from the values of `CI` and `MODELCI_TEST_SKIP`.
fn verdict(dependency: Dependency, problem: &str, ci: Option<&str>, skip: Option<&str>) -> Verdict {
    let opted_out = match opt_outs(skip.unwrap_or_default()) {
        Ok(list) => list.contains(&dependency),
        Err(message) => return Verdict::Fail(message),
    };
    let missing = format!("missing {dependency} ({problem})");
    let how = dependency.how_to_provide();
    let name = dependency.name();
    if ci != Some("true") {
        Verdict::Skip(format!("{missing}; to run this test: {how}"))
    } else if opted_out {
        Verdict::Skip(format!(
            "{missing}; CI=true, but {SKIP_VAR} opts out of `{name}`"
        ))
    } else {
        Verdict::Fail(format!(
            "{missing}, and CI=true: {how}; or, to let its tests skip, set {SKIP_VAR}={name}"
        ))
    }
}

/// The dependencies named in `MODELCI_TEST_SKIP`; an unknown name is an error, so that a typo
/// does not silently fail to opt out (or opt out of something else).
fn opt_outs(value: &str) -> Result<Vec<Dependency>, String> {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            Dependency::ALL
                .into_iter()
                .find(|d| d.name() == n)
                .ok_or_else(|| {
                    let known: Vec<&str> = Dependency::ALL.iter().map(|d| d.name()).collect();
                    format!(
                        "{SKIP_VAR} names `{n}`, which is not a test dependency; known: {}",
                        known.join(", ")
                    )
                })
        })
        .collect()
}

/// The guard: `found` when the dependency is there (`Ok`), else `None` after a loud notice, or
/// a panic under `CI=true` unless `MODELCI_TEST_SKIP` opts the dependency out. `Err` says what
/// is missing, for the message.
///
/// # Panics
/// When the dependency is missing under `CI=true` and not opted out, or when
/// `MODELCI_TEST_SKIP` names an unknown dependency.
#[track_caller]
pub fn require<T>(dependency: Dependency, found: Result<T, String>) -> Option<T> {
    let problem = match found {
        Ok(value) => return Some(value),
        Err(problem) => problem,
    };
    let ci = std::env::var("CI").ok();
    let skip = std::env::var(SKIP_VAR).ok();
    match verdict(dependency, &problem, ci.as_deref(), skip.as_deref()) {
        Verdict::Fail(message) => panic!("{message}"),
        Verdict::Skip(message) => {
            // Past the test harness's output capture, so that it is seen.
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            let _ = std::io::stderr()
                .write_all(format!("\n!!!!! SKIPPED {test}: {message} !!!!!\n\n").as_bytes());
            None
        }
    }
}

/// Where the conformance corpora are expected: `$MODELCI_CONFORMANCE_DIR`, else
/// `shared/conformance/` beside the repository.
#[must_use]
pub fn conformance_dir() -> PathBuf {
    conformance_dir_from(std::env::var_os(CONFORMANCE_VAR))
}

fn conformance_dir_from(var: Option<std::ffi::OsString>) -> PathBuf {
    match var {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
    }
}

/// The corpus folder `relative` (e.g. `jsoncompat/backcompat`) in [`conformance_dir`], or why
/// it is not there.
///
/// # Errors
/// When the folder does not exist.
pub fn locate_corpus(relative: &str) -> Result<PathBuf, String> {
    locate_in(&conformance_dir(), relative)
}

fn locate_in(base: &Path, relative: &str) -> Result<PathBuf, String> {
    let dir = base.join(relative);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!("no folder {}", dir.display()))
    }
}

/// The corpus folder `relative`, or `None` under the guard ([`require`]).
#[must_use]
#[track_caller]
pub fn corpus(relative: &str) -> Option<PathBuf> {
    require(Dependency::Corpora, locate_corpus(relative))
}

/// The test MLflow server's URI (`MODELCI_TEST_MLFLOW_URI`, trimmed), or `None` under the guard.
#[must_use]
#[track_caller]
pub fn mlflow_uri() -> Option<String> {
    let uri = std::env::var(MLFLOW_VAR).unwrap_or_default();
    let uri = uri.trim();
    require(
        Dependency::Mlflow,
        if uri.is_empty() {
            Err(format!("{MLFLOW_VAR} is not set"))
        } else {
            Ok(uri.to_owned())
        },
    )
}

/// The Prometheus server binary the tests start: `MODELCI_TEST_PROMETHEUS` when set (it must be
/// a file), else `prometheus` on PATH, or why there is none.
///
/// # Errors
/// When `MODELCI_TEST_PROMETHEUS` names no file, or it is unset and PATH has no `prometheus`.
pub fn locate_prometheus() -> Result<PathBuf, String> {
    locate_prometheus_from(std::env::var_os(PROMETHEUS_VAR), std::env::var_os("PATH"))
}

fn locate_prometheus_from(
    var: Option<std::ffi::OsString>,
    path: Option<std::ffi::OsString>,
) -> Result<PathBuf, String> {
    match var {
        Some(bin) if !bin.is_empty() => {
            let bin = PathBuf::from(bin);
            if bin.is_file() {
                Ok(bin)
            } else {
                Err(format!("{PROMETHEUS_VAR} is {}, not a file", bin.display()))
            }
        }
        _ => path
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("prometheus"))
            .find(|bin| bin.is_file())
            .ok_or_else(|| format!("{PROMETHEUS_VAR} is not set and PATH has no `prometheus`")),
    }
}

/// The Prometheus server binary ([`locate_prometheus`]), or `None` under the guard.
#[must_use]
#[track_caller]
pub fn prometheus() -> Option<PathBuf> {
    require(Dependency::Prometheus, locate_prometheus())
}

/// Whether python3 runs and imports every module in `modules`, or why not.
///
/// # Errors
/// When python3 does not run or cannot import one of them.
pub fn python_with(modules: &[&str]) -> Result<(), String> {
    let import = format!("import {}", modules.join(", "));
    match Command::new("python3").args(["-c", &import]).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "python3 cannot `{import}`: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("python3 does not run: {e}")),
    }
}

/// python3 with numpy and onnxruntime (what `tests/servers/v2_server.py` imports), or `false`
/// under the guard.
#[must_use]
#[track_caller]
pub fn python_servers() -> bool {
    require(Dependency::Python, python_with(&["numpy", "onnxruntime"])).is_some()
}

/// Runs git in `repo` with a committer identity (tests build throwaway repositories).
///
/// # Panics
/// When git cannot run or fails: the test cannot go on.
#[track_caller]
pub fn git(repo: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(repo)
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("git {args:?}: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("cannot run git: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(v: &Verdict) -> bool {
        matches!(v, Verdict::Fail(_))
    }

    #[test]
    fn outside_ci_a_missing_dependency_skips_with_how_to_provide_it() {
        for ci in [None, Some("false"), Some("1")] {
            let v = verdict(Dependency::Mlflow, "not set", ci, None);
            let Verdict::Skip(message) = v else {
                panic!("{ci:?}: {v:?}")
            };
            assert!(message.contains("missing an MLflow tracking server (not set)"));
            assert!(message.contains("scripts/mlflow-server start"), "{message}");
        }
    }

    #[test]
    fn in_ci_a_missing_dependency_fails_unless_opted_out() {
        let v = verdict(Dependency::Corpora, "no folder x", Some("true"), None);
        let Verdict::Fail(message) = &v else {
            panic!("{v:?}")
        };
        assert!(
            message.contains("set MODELCI_TEST_SKIP=corpora"),
            "{message}"
        );
        assert!(message.contains("MODELCI_CONFORMANCE_DIR"), "{message}");
        // Opting out of one dependency does not excuse another.
        for skip in ["corpora", " xmllint , corpora", "corpora mlflow"] {
            assert!(!fails(&verdict(
                Dependency::Corpora,
                "x",
                Some("true"),
                Some(skip)
            )));
        }
        for skip in ["", "mlflow", "corpora-extra,python"] {
            assert!(
                fails(&verdict(Dependency::Corpora, "x", Some("true"), Some(skip))),
                "{skip}"
            );
        }
    }

    #[test]
    fn an_unknown_opt_out_fails_even_outside_ci() {
        let v = verdict(Dependency::Xmllint, "x", None, Some("xmlint"));
        let Verdict::Fail(message) = &v else {
            panic!("{v:?}")
        };
        assert!(
            message.contains("`xmlint`, which is not a test dependency"),
            "{message}"
        );
        assert!(
            message.contains("corpora, onnxruntime, mlflow, python, xmllint, service, prometheus")
        );
    }

    #[test]
    fn every_dependency_has_a_distinct_name() {
        let names: Vec<&str> = Dependency::ALL.iter().map(|d| d.name()).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(n), "{n}");
            assert_eq!(opt_outs(n), Ok(vec![Dependency::ALL[i]]));
        }
    }

    #[test]
    fn prometheus_is_the_variable_s_file_else_the_one_on_path() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = here.join("Cargo.toml");
        assert_eq!(
            locate_prometheus_from(Some(file.clone().into()), None),
            Ok(file)
        );
        let missing = locate_prometheus_from(Some(here.join("nope").into()), None).unwrap_err();
        assert!(missing.contains("MODELCI_TEST_PROMETHEUS is "), "{missing}");
        assert!(missing.ends_with("nope, not a file"), "{missing}");
        // Unset (or empty): the first `prometheus` file on PATH; a folder does not count.
        let dir = std::env::temp_dir().join(format!("modelci-prometheus-{}", std::process::id()));
        let bin = dir.join("b");
        std::fs::create_dir_all(bin.join("prometheus")).expect("folder");
        std::fs::write(dir.join("prometheus"), "").expect("file");
        let path = std::env::join_paths([bin.clone(), dir.clone()]).expect("PATH");
        assert_eq!(
            locate_prometheus_from(Some("".into()), Some(path)),
            Ok(dir.join("prometheus"))
        );
        let none = locate_prometheus_from(None, Some(bin.into_os_string())).unwrap_err();
        assert_eq!(
            none,
            "MODELCI_TEST_PROMETHEUS is not set and PATH has no `prometheus`"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_present_dependency_is_returned() {
        assert_eq!(require(Dependency::Corpora, Ok(7)), Some(7));
    }

    #[test]
    fn corpora_are_found_in_the_conformance_folder() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let beside = conformance_dir_from(None);
        assert_eq!(beside, here.join("../../../shared/conformance"));
        assert_eq!(conformance_dir_from(Some("".into())), beside);
        assert_eq!(
            conformance_dir_from(Some("/elsewhere".into())),
            Path::new("/elsewhere")
        );
        assert_eq!(locate_in(here, "src"), Ok(here.join("src")));
        // A file is not a corpus folder.
        let missing = locate_in(here, "Cargo.toml").unwrap_err();
        assert!(missing.contains("Cargo.toml"), "{missing}");
        let missing = locate_in(here, "surely-not-a-corpus").unwrap_err();
        assert_eq!(
            missing,
            format!("no folder {}", here.join("surely-not-a-corpus").display())
        );
    }
}
