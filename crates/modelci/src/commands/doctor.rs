//! `modelci doctor`: what modelci finds in this environment, and whether everything the
//! configuration needs is there. Exit 2 when something it needs is missing (ONNX Runtime for a
//! model or gate suite that runs a model, CUDA for a suite on `device = "cuda"`, a reachable
//! MLflow tracking server for a gate that uses the registry, the `[service]` command's program);
//! missing things nothing needs are reported, and exit 0.

use std::path::{Path, PathBuf};
use std::time::Duration;

use modelci_config::{Config, Device, SuiteSpec};

use crate::cli::DoctorArgs;
use crate::output::{self, EXIT_ERROR, Stream, Verbosity, github_actions};

/// How long doctor waits for an MLflow tracking server.
const MLFLOW_TIMEOUT: Duration = Duration::from_secs(3);

/// What one line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    /// Not there, and nothing needs it.
    Missing,
    Warning,
    /// Something needed is missing or broken: exit 2.
    Error,
    /// Not applicable.
    None,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::Warning => "warning",
            Status::Error => "ERROR",
            Status::None => "-",
        }
    }
}

struct Doctor {
    problems: usize,
    quiet: bool,
    colour: bool,
}

impl Doctor {
    fn line(&mut self, label: &str, status: Status, detail: &str) {
        if status == Status::Error {
            self.problems += 1;
        } else if self.quiet {
            return;
        }
        let word = format!("{:<8}", status.word());
        let word = if self.colour {
            let style = match status {
                Status::Ok => console::Style::new().green(),
                Status::Error => console::Style::new().red().bold(),
                Status::Missing | Status::Warning => console::Style::new().yellow(),
                Status::None => console::Style::new().dim(),
            };
            style.force_styling(true).apply_to(word).to_string()
        } else {
            word
        };
        let detail = crate::terminal::escape_controls(detail);
        output::human(&format!("{label:<16} {word} {detail}\n"));
    }
}

/// What the configuration needs, suite by suite (names, for messages).
#[derive(Default)]
struct Needs {
    runtime: Vec<String>,
    cuda: Vec<String>,
    /// Tracking URI (as configured; `None`: `MLFLOW_TRACKING_URI`) and the suites using it.
    mlflow: Vec<(Option<String>, Vec<String>)>,
}

fn needs(config: &Config) -> Needs {
    let mut n = Needs::default();
    for decl in &config.suites {
        let name = format!("`{}`", decl.name);
        match &decl.spec {
            SuiteSpec::Model(m) => {
                let local = m.endpoint.is_none()
                    || m.regression.as_ref().is_some_and(|r| r.baseline.is_some());
                if local {
                    n.runtime.push(name.clone());
                    if m.device == Device::Cuda {
                        n.cuda.push(name);
                    }
                }
            }
            SuiteSpec::Gate(g) => {
                if modelci_gate::run::uses_runtime(g) {
                    n.runtime.push(name.clone());
                    if g.device == Device::Cuda {
                        n.cuda.push(name.clone());
                    }
                }
                if modelci_gate::run::uses_registry(g) {
                    match n.mlflow.iter_mut().find(|(uri, _)| *uri == g.tracking_uri) {
                        Some((_, suites)) => suites.push(name),
                        None => n.mlflow.push((g.tracking_uri.clone(), vec![name])),
                    }
                }
            }
            _ => {}
        }
    }
    n
}

pub fn run(args: &DoctorArgs) -> u8 {
    let mut d = Doctor {
        problems: 0,
        quiet: output::verbosity() == Verbosity::Quiet,
        colour: output::colour(output::human_stream()),
    };
    d.line(
        "modelci",
        Status::Ok,
        &format!(
            "{} ({} {})",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        ),
    );
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    d.line(
        "workers",
        Status::Ok,
        &format!("{cpus} (cases run in parallel by default)"),
    );

    // The configuration: --config, else modelci.toml here or in the nearest parent folder.
    let path = match &args.config {
        Some(p) => Ok(p.clone()),
        None => std::env::current_dir()
            .map_err(|e| e.to_string())
            .and_then(|cwd| modelci_config::discover(&cwd))
            .map(|found| found.path),
    };
    let mut config = None;
    match path {
        Ok(path) if path.exists() => match modelci_config::load_with(&path, &args.set) {
            Ok(c) => {
                let names: Vec<_> = c
                    .suites
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.kind()))
                    .collect();
                d.line(
                    "config",
                    Status::Ok,
                    &c.hide(&format!(
                        "{}: {} suite(s){}{}",
                        modelci_config::display_path(&path),
                        names.len(),
                        if names.is_empty() { "" } else { ": " },
                        names.join(", ")
                    )),
                );
                config = Some(c);
            }
            Err(e) => d.line("config", Status::Error, &e.to_string()),
        },
        Ok(path) => d.line(
            "config",
            Status::Missing,
            &format!(
                "{} not found (pass --config PATH)",
                modelci_config::display_path(&path)
            ),
        ),
        Err(message) => d.line(
            "config",
            Status::Missing,
            &format!("{message} (pass --config PATH)"),
        ),
    }
    let needs = config.as_ref().map(needs).unwrap_or_default();

    runtime(&mut d, &needs);
    if let Some(c) = &config {
        mlflow(&mut d, &needs);
        service(&mut d, c);
    }

    let colour = output::colour(Stream::Stdout);
    let why = match output::colour_reason() {
        Some(r) => format!(" ({r})"),
        None => String::new(),
    };
    d.line(
        "terminal",
        Status::Ok,
        &format!("colour {}{why}", if colour { "on" } else { "off" }),
    );

    if github_actions() {
        for var in ["GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"] {
            match std::env::var_os(var).filter(|v| !v.is_empty()) {
                Some(path) if writable(Path::new(&path)) => {
                    d.line("github", Status::Ok, &format!("{var} is writable"));
                }
                Some(path) => d.line(
                    "github",
                    Status::Error,
                    &format!("{var} ({}) is not writable", Path::new(&path).display()),
                ),
                None => d.line("github", Status::Warning, &format!("{var} is not set")),
            }
        }
    } else {
        d.line(
            "github",
            Status::None,
            "not running in GitHub Actions (GITHUB_ACTIONS is not `true`)",
        );
    }

    if d.problems > 0 {
        output::human(&format!(
            "verdict: ERROR (exit 2): {} thing(s) modelci needs here are missing or broken\n",
            d.problems
        ));
        EXIT_ERROR
    } else {
        output::human("verdict: OK (exit 0): everything modelci needs here is available\n");
        0
    }
}

/// ONNX Runtime, its execution providers, and CUDA where a suite asks for it.
fn runtime(d: &mut Doctor, needs: &Needs) {
    // One lookup (it may start python3), then the library it found is loaded as it is.
    let found = modelci_tensor::runtime::find_library(None);
    let lib = match found {
        Ok(lib) => lib,
        Err(e) if needs.runtime.is_empty() => {
            d.line("onnxruntime", Status::Missing, &e.to_string());
            return;
        }
        Err(e) => {
            d.line(
                "onnxruntime",
                Status::Error,
                &format!("{e} (needed by {})", needs.runtime.join(", ")),
            );
            return;
        }
    };
    d.line(
        "onnxruntime",
        Status::Ok,
        &format!(
            "{} {} (found through {}){}",
            lib.path.display(),
            lib.version.as_deref().unwrap_or(""),
            lib.source,
            if lib.source.starts_with("python package") {
                format!(
                    "; asking python3 costs every run tens of milliseconds: `export ORT_DYLIB_PATH={}` skips it",
                    lib.path.display()
                )
            } else {
                String::new()
            }
        ),
    );
    match modelci_tensor::runtime::runtime(Some(&lib.path)) {
        Ok(rt) if rt.has_cuda() => d.line(
            "devices",
            Status::Ok,
            &format!("execution providers: {}", rt.providers().join(", ")),
        ),
        Ok(rt) if needs.cuda.is_empty() => d.line(
            "devices",
            Status::Ok,
            &format!(
                "execution providers: {} (no CUDA: asking for device `cuda` is an error; onnxruntime-gpu on a GPU machine has it)",
                rt.providers().join(", ")
            ),
        ),
        Ok(rt) => d.line(
            "devices",
            Status::Error,
            &format!(
                "no CUDA in this ONNX Runtime (execution providers: {}), but {} run on device `cuda`; install onnxruntime-gpu on a GPU machine",
                rt.providers().join(", "),
                needs.cuda.join(", ")
            ),
        ),
        Err(e) if needs.runtime.is_empty() => d.line("onnxruntime", Status::Warning, &e.to_string()),
        Err(e) => d.line(
            "onnxruntime",
            Status::Error,
            &format!("{e} (needed by {})", needs.runtime.join(", ")),
        ),
    }
}

/// Each MLflow tracking server a gate uses answers (one request, a short timeout, no retries).
fn mlflow(d: &mut Doctor, needs: &Needs) {
    for (uri, suites) in &needs.mlflow {
        let client = modelci_mlflow::Config::from_env(uri.as_deref()).and_then(|mut c| {
            c.timeout = MLFLOW_TIMEOUT;
            c.budget = Some(MLFLOW_TIMEOUT);
            modelci_mlflow::Client::new(c.with_retries(0))
        });
        let for_whom = format!("for {}", suites.join(", "));
        match client {
            Err(e) => d.line("mlflow", Status::Error, &format!("{e} ({for_whom})")),
            Ok(client) => match client.experiment_by_name("Default") {
                Ok(_) => d.line(
                    "mlflow",
                    Status::Ok,
                    &format!("{} answers ({for_whom})", client.server()),
                ),
                Err(e) => d.line(
                    "mlflow",
                    Status::Error,
                    &format!("{}: {e} ({for_whom})", client.server()),
                ),
            },
        }
    }
}

/// The `[service]` command's program exists (a path, or a name on PATH).
fn service(d: &mut Doctor, config: &Config) {
    let Some(spec) = &config.service else { return };
    let Some(command) = &spec.command else {
        d.line(
            "service",
            Status::Ok,
            &config.hide(&format!(
                "not started by modelci; expected at {}",
                spec.ready_url
            )),
        );
        return;
    };
    let found = match command {
        modelci_config::service::CommandLine::Args(a) => match a.first() {
            Some(program) => {
                find_program(program, &spec.cwd, &spec.env).ok_or_else(|| program.clone())
            }
            None => Err(String::new()),
        },
        modelci_config::service::CommandLine::Shell(s) => match shell_program(s) {
            Some(word) => shell_lookup(&word, &spec.cwd, &spec.env).ok_or(word),
            // A pipeline, a subshell, a quoted word: the shell's business.
            None => Ok(PathBuf::from(
                "(a shell command modelci does not look into)",
            )),
        },
    };
    match found {
        Ok(path) => d.line(
            "service",
            Status::Ok,
            // A path read from the environment (`${BIN}`) may be a secret like any such value.
            &config.hide(&format!("command runs {}", path.display())),
        ),
        Err(program) => d.line(
            "service",
            Status::Error,
            &config.hide(&format!(
                "the `[service]` command's program `{program}` is not found (from {}, on PATH)",
                spec.cwd.display()
            )),
        ),
    }
}

/// The program a shell command line runs first, when that is plain: leading `NAME=value`
/// assignments and `exec` skipped; `None` for anything the shell must interpret first
/// (quotes, command substitution, subshells, pipelines as the first word).
fn shell_program(command: &str) -> Option<String> {
    let mut words = command.split_whitespace();
    let mut word = words.next()?;
    while is_assignment(word) || word == "exec" {
        word = words.next()?;
    }
    let plain = !word.is_empty()
        && !word.contains([
            '\'', '"', '`', '(', ')', ';', '|', '&', '<', '>', '\\', '*', '?',
        ])
        && !matches!(
            word,
            "if" | "for" | "while" | "case" | "!" | "[" | "[[" | "{"
        );
    plain.then(|| word.to_owned())
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit()
    })
}

/// Asks `sh` where `word` is (`command -v`), so that `${VAR:-default}` expands as it will when
/// the service starts. `word` holds no quotes or command substitutions ([`shell_program`]).
fn shell_lookup(
    word: &str,
    cwd: &Path,
    env: &std::collections::BTreeMap<String, String>,
) -> Option<PathBuf> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v -- {word}"))
        .current_dir(cwd)
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !found.is_empty()).then(|| PathBuf::from(found))
}

/// `program` as `Command::new` will find it: a path (relative to `cwd`) when it holds a `/`,
/// else the first executable file of that name on PATH (the service's own PATH when it sets one).
fn find_program(
    program: &str,
    cwd: &Path,
    env: &std::collections::BTreeMap<String, String>,
) -> Option<PathBuf> {
    if program.contains('/') {
        let path = cwd.join(program);
        return is_executable(&path).then_some(path);
    }
    let path = env
        .get("PATH")
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"))?;
    std::env::split_paths(&path)
        .map(|dir| cwd.join(dir).join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_of_a_shell_command_skips_assignments_and_exec() {
        assert_eq!(
            shell_program("exec ${BIN:-./svc} --port 1").as_deref(),
            Some("${BIN:-./svc}")
        );
        assert_eq!(
            shell_program("RUST_LOG=info A_1=x python3 -m http.server").as_deref(),
            Some("python3")
        );
        assert_eq!(shell_program("(cd x && ./run)"), None);
        assert_eq!(shell_program("\"my server\" --x"), None);
        assert_eq!(shell_program("$(which svc)"), None);
        assert_eq!(shell_program("   "), None);
    }

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = std::collections::BTreeMap::new();
        assert!(find_program("sh", dir.path(), &empty).is_some());
        assert!(find_program("no-such-program-modelci", dir.path(), &empty).is_none());
        assert!(find_program("./missing", dir.path(), &empty).is_none());
        assert!(shell_lookup("sh", dir.path(), &empty).is_some());
        let mut env = std::collections::BTreeMap::new();
        env.insert("BIN".to_owned(), "/no/such/bin".to_owned());
        assert!(shell_lookup("${BIN:-sh}", dir.path(), &env).is_none());
        assert!(shell_lookup("${OTHER:-sh}", dir.path(), &env).is_some());
    }
}
