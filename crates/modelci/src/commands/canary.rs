//! `modelci canary judge`: one `[[suite.canary]]` of the configuration, its source and scopes
//! optionally replaced by flags, run through the runner like any suite; `modelci canary serve`:
//! the judge over HTTP; `modelci canary shadow`: a `[[suite.shadow]]` from the flags or the
//! configuration.

use modelci_canary::overrides::{self, Overrides};
use modelci_config::shadow::ShadowSuiteFile;
use modelci_config::{Config, SuiteSpec};
use modelci_report::Location;
use toml::Spanned;

use crate::cli::{CanaryJudgeArgs, CanaryServeArgs, CanaryShadowArgs};
use crate::commands::contract::parse_header;
use crate::output::{self, EXIT_ERROR};

/// The suite of `kind` to run: the one named, or the only one.
fn pick(config: &Config, kind: &str, named: Option<&str>) -> Result<String, String> {
    let found: Vec<String> = config
        .suites
        .iter()
        .filter(|s| s.kind() == kind)
        .map(|s| s.name.clone())
        .collect();
    let shown = modelci_config::display_path(&config.path);
    match (named, found.as_slice()) {
        (Some(n), _) if found.iter().any(|f| f == n) => Ok(n.to_owned()),
        (Some(n), _) => Err(format!(
            "`{shown}` has no `[[suite.{kind}]]` named `{n}`{}",
            if found.is_empty() {
                String::new()
            } else {
                format!(" (its {kind} suites: {})", found.join(", "))
            }
        )),
        (None, [one]) => Ok(one.clone()),
        (None, []) => Err(format!(
            "`{shown}` has no `[[suite.{kind}]]` table{} (see `modelci schema config`)",
            if kind == "canary" {
                ": declare the metrics to judge there"
            } else {
                ""
            }
        )),
        (None, many) => Err(format!(
            "`{shown}` has several {kind} suites ({}): choose one with --suite",
            many.join(", ")
        )),
    }
}

pub fn judge(args: &CanaryJudgeArgs) -> u8 {
    match judge_inner(args) {
        Ok(code) => code,
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

fn judge_inner(args: &CanaryJudgeArgs) -> Result<u8, String> {
    let outputs = output::requested(&args.reports)?;
    let path = crate::commands::check::config_path(args.config.as_deref())?;
    let mut config = match modelci_config::load_with(&path, &args.set) {
        Ok(c) => c,
        Err(e) => {
            crate::commands::check::report_config_error(&e);
            return Ok(EXIT_ERROR);
        }
    };
    let name = pick(&config, "canary", args.suite.as_deref())?;
    for decl in &mut config.suites {
        if decl.name == name
            && let SuiteSpec::Canary(spec) = &mut decl.spec
        {
            let o = Overrides {
                files: args.baseline_file.clone().zip(args.canary_file.clone()),
                prometheus: args.prometheus.clone(),
                window: args.window.clone(),
                end: args.end.clone(),
                step: args.step.clone(),
                baseline: args.baseline.clone(),
                canary: args.canary.clone(),
                aa: args.aa,
            };
            overrides::apply(&o, spec, &|n| format!("--{n}"))?;
        }
    }
    let options = modelci_runner::RunOptions {
        only: vec![name],
        ..crate::commands::run_options(None)
    };
    let mut progress = crate::terminal::Progress::new().one_suite();
    let run = modelci_runner::run(&config, &options, &mut progress);
    progress.finish();
    let run = run.map_err(|e| e.to_string())?;
    Ok(output::finish(&run, &outputs))
}

pub fn serve(args: &CanaryServeArgs) -> u8 {
    match serve_inner(args) {
        Ok(code) => code,
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

fn serve_inner(args: &CanaryServeArgs) -> Result<u8, String> {
    let ip: std::net::IpAddr = match args.host.as_str() {
        "localhost" => std::net::IpAddr::from([127, 0, 0, 1]),
        h => h
            .parse()
            .map_err(|_| format!("--host `{h}` is not an IP address"))?,
    };
    let path = crate::commands::check::config_path(args.config.as_deref())?;
    let config = match modelci_config::load_with(&path, &args.set) {
        Ok(c) => c,
        Err(e) => {
            crate::commands::check::report_config_error(&e);
            return Ok(EXIT_ERROR);
        }
    };
    let suites: Vec<(String, modelci_config::canary::CanarySuite)> = config
        .suites
        .iter()
        .filter_map(|s| match &s.spec {
            SuiteSpec::Canary(c) if args.suite.is_empty() || args.suite.contains(&s.name) => {
                Some((s.name.clone(), (**c).clone()))
            }
            _ => None,
        })
        .collect();
    if let Some(missing) = args
        .suite
        .iter()
        .find(|n| !suites.iter().any(|(s, _)| s == *n))
    {
        return Err(format!(
            "`{}` has no `[[suite.canary]]` named `{missing}`",
            modelci_config::display_path(&config.path)
        ));
    }
    if suites.is_empty() {
        return Err(format!(
            "`{}` has no `[[suite.canary]]` table to serve",
            modelci_config::display_path(&config.path)
        ));
    }
    let jobs = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
    runtime.block_on(async move {
        let stop = async {
            let term = async {
                #[cfg(unix)]
                if let Ok(mut s) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                {
                    s.recv().await;
                    return;
                }
                std::future::pending::<()>().await;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = term => {}
            }
        };
        let names: Vec<String> = suites.iter().map(|(n, _)| n.clone()).collect();
        let (server, task) = modelci_canary::serve::serve(
            std::net::SocketAddr::new(ip, args.port),
            suites,
            jobs,
            stop,
        )
        .await?;
        output::stdout(&format!("listening on http://{}\n", server.addr));
        output::stdout(&format!("judging: {}\n", names.join(", ")));
        let _ = task.await;
        Ok(0)
    })
}

/// Each key of `[[suite.shadow]]` a flag sets, and the flag.
const SHADOW_FLAGS: &[(&str, &str)] = &[
    ("baseline", "--baseline"),
    ("canary", "--canary"),
    ("method", "--method"),
    ("body", "--body"),
    ("body_file", "--body @FILE"),
    ("requests", "--requests"),
    ("model_name", "--model-name"),
    ("cases", "--cases"),
    ("dataset", "--dataset"),
    ("features", "--features"),
    ("input", "--input"),
    ("rows_per_request", "--rows-per-request"),
    ("samples", "--samples"),
    ("warmup", "--warmup"),
    ("concurrency", "--concurrency"),
    ("timeout_secs", "--timeout"),
    ("outputs", "--output"),
    ("rtol", "--rtol"),
    ("atol", "--atol"),
    ("min_agreement", "--min-agreement"),
    ("max_psi", "--max-psi"),
    ("psi_bins", "--psi-bins"),
    ("latency_tolerance", "--latency-tolerance"),
    ("latency_tolerance_ms", "--latency-tolerance-ms"),
    ("max_error_increase", "--max-error-increase"),
    ("critical", "--critical"),
    ("confidence", "--confidence"),
    ("pass_score", "--pass-score"),
    ("marginal_score", "--marginal-score"),
    ("min_samples", "--min-samples"),
];

pub fn shadow(args: &CanaryShadowArgs) -> u8 {
    match shadow_inner(args) {
        Ok(code) => code,
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

/// The tuning flags as `--set` overrides of suite `name` (for a configured suite).
fn tuning_sets(args: &CanaryShadowArgs, name: &str) -> Vec<String> {
    let mut sets = Vec::new();
    let mut set = |key: &str, value: String| sets.push(format!("suite.{name}.{key}={value}"));
    let numbers: [(&str, Option<f64>); 11] = [
        ("timeout_secs", args.timeout),
        ("rtol", args.rtol),
        ("atol", args.atol),
        ("min_agreement", args.min_agreement),
        ("max_psi", args.max_psi),
        ("latency_tolerance", args.latency_tolerance),
        ("latency_tolerance_ms", args.latency_tolerance_ms),
        ("max_error_increase", args.max_error_increase),
        ("confidence", args.confidence),
        ("pass_score", args.pass_score),
        ("marginal_score", args.marginal_score),
    ];
    for (key, v) in numbers {
        if let Some(v) = v {
            // As TOML: a float always has a point.
            set(key, format!("{v:?}"));
        }
    }
    let counts = [
        ("samples", args.samples),
        ("warmup", args.warmup),
        ("concurrency", args.concurrency),
        ("psi_bins", args.psi_bins),
        ("min_samples", args.min_samples),
    ];
    for (key, v) in counts {
        if let Some(v) = v {
            set(key, v.to_string());
        }
    }
    let list = |v: &[String]| {
        format!(
            "[{}]",
            v.iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    if !args.outputs.is_empty() {
        set("outputs", list(&args.outputs));
    }
    if let Some(c) = &args.critical {
        set("critical", list(c));
    }
    if args.marginal_passes {
        set("marginal_passes", "true".to_owned());
    }
    sets
}

fn shadow_inner(args: &CanaryShadowArgs) -> Result<u8, String> {
    let outputs = output::requested(&args.reports)?;
    let (Some(baseline), Some(canary)) = (&args.baseline, &args.canary) else {
        // A configured suite, the flags as overrides.
        let path = crate::commands::check::config_path(args.config.as_deref())?;
        let config = match modelci_config::load_with(&path, &args.set) {
            Ok(c) => c,
            Err(e) => {
                crate::commands::check::report_config_error(&e);
                return Ok(EXIT_ERROR);
            }
        };
        let name = pick(&config, "shadow", args.suite.as_deref())?;
        let mut sets = args.set.clone();
        sets.extend(tuning_sets(args, &name));
        let config = match modelci_config::load_with(&path, &sets) {
            Ok(c) => c,
            Err(e) => {
                crate::commands::check::report_config_error(&e);
                return Ok(EXIT_ERROR);
            }
        };
        let options = modelci_runner::RunOptions {
            only: vec![name],
            ..crate::commands::run_options(None)
        };
        let mut progress = crate::terminal::Progress::new().one_suite();
        let run = modelci_runner::run(&config, &options, &mut progress);
        progress.finish();
        let run = run.map_err(|e| e.to_string())?;
        return Ok(output::finish(&run, &outputs));
    };
    let headers = args
        .header
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let (body, body_file) = crate::commands::load::body_arg(args.body.as_deref());
    let raw = ShadowSuiteFile {
        name: Spanned::new(0..0, "shadow".to_owned()),
        baseline: Spanned::new(0..0, baseline.clone()),
        canary: Spanned::new(0..0, canary.clone()),
        method: args.method.clone(),
        body,
        body_file,
        requests: args.requests.clone(),
        model_name: args.model_name.clone(),
        cases: args.cases.clone(),
        dataset: args.dataset.clone(),
        features: args.features.clone(),
        input: args.input.clone(),
        rows_per_request: args.rows_per_request,
        headers: std::collections::BTreeMap::new(),
        secret_headers: std::collections::BTreeMap::new(),
        samples: args.samples,
        warmup: args.warmup,
        concurrency: args.concurrency,
        timeout_secs: args.timeout,
        outputs: args.outputs.clone(),
        rtol: args.rtol,
        atol: args.atol,
        min_agreement: args.min_agreement,
        max_psi: args.max_psi,
        psi_bins: args.psi_bins,
        latency_tolerance: args.latency_tolerance,
        latency_tolerance_ms: args.latency_tolerance_ms,
        max_error_increase: args.max_error_increase,
        critical: args.critical.clone(),
        groups: std::collections::BTreeMap::new(),
        confidence: args.confidence,
        pass_score: args.pass_score,
        marginal_score: args.marginal_score,
        marginal_passes: args.marginal_passes,
        min_samples: args.min_samples,
    };
    let mut spec =
        modelci_config::shadow::resolve(raw, &modelci_config::Origin::flags(SHADOW_FLAGS))
            .map_err(|e| e.to_string())?;
    // Headers as given, in order (a name may repeat).
    spec.traffic.headers = headers;
    let shown = format!(
        "{} vs {}",
        modelci_contract::shown_url(canary),
        modelci_contract::shown_url(baseline)
    );
    let suite = modelci_canary::shadow::plan(&spec, &shown, 0);
    let planned = modelci_runner::Planned {
        name: "shadow".to_owned(),
        kind: "shadow".into(),
        location: Some(Location::file(shown.clone())),
        suite,
    };
    let options = crate::commands::run_options(None);
    let mut progress = crate::terminal::Progress::new().one_suite();
    let run = modelci_runner::run_planned(vec![planned], &options, &mut progress);
    progress.finish();
    Ok(output::finish(&run, &outputs))
}
