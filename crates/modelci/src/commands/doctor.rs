//! `modelci doctor`: what modelci finds in this environment. It grows with each feature that
//! depends on something outside modelci (ONNX Runtime, MLflow, ...).

use std::path::Path;

use crate::cli::DoctorArgs;
use crate::output::{EXIT_ERROR, github_actions};

pub fn run(args: &DoctorArgs) -> u8 {
    let mut problems = 0;
    let line = |label: &str, status: &str, detail: String| {
        crate::output::stdout(&format!("{label:<16} {status:<8} {detail}\n"));
    };
    line(
        "modelci",
        "ok",
        format!(
            "{} ({} {})",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        ),
    );
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    line(
        "workers",
        "ok",
        format!("{cpus} (cases run in parallel by default)"),
    );

    // The configuration: --config, else modelci.toml here or in the nearest parent folder.
    let found = match &args.config {
        Some(p) => Ok(p.clone()),
        None => std::env::current_dir()
            .map_err(|e| e.to_string())
            .and_then(|cwd| modelci_config::discover(&cwd))
            .map(|found| found.path),
    };
    let path = found
        .clone()
        .unwrap_or_else(|_| modelci_config::DEFAULT_CONFIG.into());
    let shown = modelci_config::display_path(&path);
    if found.is_ok() && path.exists() {
        match modelci_config::load_with(&path, &args.set) {
            Ok(config) => {
                let names: Vec<_> = config
                    .suites
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.kind()))
                    .collect();
                line(
                    "config",
                    "ok",
                    format!(
                        "{shown}: {} suite(s){}{}",
                        names.len(),
                        if names.is_empty() { "" } else { ": " },
                        names.join(", ")
                    ),
                );
            }
            Err(e) => {
                problems += 1;
                line("config", "ERROR", e.to_string());
            }
        }
    } else {
        line(
            "config",
            "missing",
            format!(
                "{} (pass --config PATH)",
                found.err().unwrap_or_else(|| format!("{shown} not found"))
            ),
        );
    }

    // One lookup (it may start python3), then the library it found is loaded as it is.
    let found = modelci_tensor::runtime::find_library(None);
    match &found {
        Ok(lib) => line(
            "onnxruntime",
            "ok",
            format!(
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
        ),
        Err(e) => line("onnxruntime", "missing", e.to_string()),
    }
    if let Ok(lib) = &found {
        match modelci_tensor::runtime::runtime(Some(&lib.path)) {
            Ok(rt) => line(
                "devices",
                "ok",
                format!(
                    "execution providers: {}{}",
                    rt.providers().join(", "),
                    if rt.has_cuda() {
                        ""
                    } else {
                        " (no CUDA: asking for device `cuda` is an error; onnxruntime-gpu on a GPU machine has it)"
                    }
                ),
            ),
            Err(e) => {
                problems += 1;
                line("onnxruntime", "ERROR", e.to_string());
            }
        }
    }

    let colour = crate::terminal::colour_stdout();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    line(
        "terminal",
        "ok",
        format!(
            "colour {}{}",
            if colour { "on" } else { "off" },
            if no_color { " (NO_COLOR is set)" } else { "" }
        ),
    );

    if github_actions() {
        for var in ["GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"] {
            match std::env::var_os(var).filter(|v| !v.is_empty()) {
                Some(path) if writable(Path::new(&path)) => {
                    line("github", "ok", format!("{var} is writable"));
                }
                Some(path) => {
                    problems += 1;
                    line(
                        "github",
                        "ERROR",
                        format!("{var} ({}) is not writable", Path::new(&path).display()),
                    );
                }
                None => line("github", "warning", format!("{var} is not set")),
            }
        }
    } else {
        line(
            "github",
            "-",
            "not running in GitHub Actions (GITHUB_ACTIONS is not `true`)".into(),
        );
    }

    if problems > 0 { EXIT_ERROR } else { 0 }
}

fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .is_ok()
}
