//! `modelci canary judge`: one `[[suite.canary]]` of the configuration, its source and scopes
//! optionally replaced by flags, run through the runner like any suite.

use modelci_canary::overrides::{self, Overrides};
use modelci_config::SuiteSpec;

use crate::cli::{CanaryJudgeArgs, CanaryServeArgs};
use crate::output::{self, EXIT_ERROR};

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
    let canaries: Vec<String> = config
        .suites
        .iter()
        .filter(|s| matches!(s.spec, SuiteSpec::Canary(_)))
        .map(|s| s.name.clone())
        .collect();
    let name = match (&args.suite, canaries.as_slice()) {
        (Some(n), _) if canaries.contains(n) => n.clone(),
        (Some(n), _) => {
            return Err(format!(
                "`{}` has no `[[suite.canary]]` named `{n}`{}",
                modelci_config::display_path(&config.path),
                if canaries.is_empty() {
                    String::new()
                } else {
                    format!(" (its canary suites: {})", canaries.join(", "))
                }
            ));
        }
        (None, [one]) => one.clone(),
        (None, []) => {
            return Err(format!(
                "`{}` has no `[[suite.canary]]` table: declare the metrics to judge there (see `modelci schema config`)",
                modelci_config::display_path(&config.path)
            ));
        }
        (None, many) => {
            return Err(format!(
                "`{}` has several canary suites ({}): choose one with --suite",
                modelci_config::display_path(&config.path),
                many.join(", ")
            ));
        }
    };
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
