//! `modelci check`: load the configuration, run its suites, write every report, exit with the
//! verdict's code.

use std::path::{Path, PathBuf};

use modelci_config::ConfigError;
use modelci_runner::{RunOptions, parse_shard};

use crate::cli::CheckArgs;
use crate::output::{self, EXIT_ERROR, Output, ReportKind};
use crate::terminal;

pub fn run(args: &CheckArgs) -> u8 {
    let shard = match args.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s,
        Err(message) => {
            output::error(&format!("--shard: {message}"), None);
            return EXIT_ERROR;
        }
    };
    if args.jobs == Some(0) {
        output::error("--jobs must be at least 1", None);
        return EXIT_ERROR;
    }
    let path = match config_path(args.config.as_deref()) {
        Ok(p) => p,
        Err(message) => {
            output::error(&message, None);
            return EXIT_ERROR;
        }
    };
    let config = match modelci_config::load_with(&path, &args.set) {
        Ok(c) => c,
        Err(e) => {
            report_config_error(&e);
            return EXIT_ERROR;
        }
    };

    if config.suites.is_empty() {
        output::error(
            &format!(
                "`{}` declares no suites, so there is nothing to check; add a `[[suite.json-schema]]` table (see `modelci schema config`)",
                modelci_config::display_path(&config.path)
            ),
            Some(&modelci_report::Location::file(
                modelci_config::display_path(&config.path),
            )),
        );
        return EXIT_ERROR;
    }

    let outputs: Vec<Output> = [
        (
            ReportKind::Junit,
            args.junit.as_ref(),
            config.junit.as_ref(),
        ),
        (ReportKind::Json, args.json.as_ref(), config.json.as_ref()),
    ]
    .into_iter()
    .filter_map(|(kind, flag, key)| Output::choose(kind, flag, key))
    .collect();
    if let Err(message) = output::prepare(&outputs) {
        output::error(&message, None);
        return EXIT_ERROR;
    }

    let options = RunOptions {
        only: args.only.clone(),
        shard,
        ..crate::commands::run_options(args.jobs)
    };
    if let Err(e) = modelci_runner::check_only(&config, &options.only) {
        output::error(&e.to_string(), None);
        return EXIT_ERROR;
    }
    // The system under test, when the configuration says how to start it, and a selected
    // suite talks to it (`--only` may select only suites that do not).
    let mut service = None;
    let needed = options.only.is_empty()
        || config
            .suites
            .iter()
            .filter(|s| options.only.contains(&s.name))
            .any(|s| config.uses_service(s));
    if config.service.is_some() && !needed {
        output::status("not starting the service: no suite selected by --only uses it");
    }
    if let Some(spec) = config.service.as_ref().filter(|_| needed) {
        if let Some(c) = &spec.command {
            let shown = match c {
                modelci_config::service::CommandLine::Shell(s) => s.clone(),
                modelci_config::service::CommandLine::Args(a) => a.join(" "),
            };
            output::status(&format!("starting the service: {}", config.hide(&shown)));
        }
        match modelci_runner::service::Service::start(spec, &options.cancel) {
            Ok(s) => {
                output::status(&format!(
                    "service ready at {} after {:.1} s",
                    config.hide(&spec.ready_url),
                    s.ready_after.as_secs_f64()
                ));
                service = Some(s);
            }
            Err(e) => return service_failed(&config, spec, &e, &outputs),
        }
    }
    let mut progress = terminal::Progress::new();
    let result = modelci_runner::run(&config, &options, &mut progress);
    progress.finish();
    let log = service
        .as_ref()
        .map(|s| (s.log_tail(100), s.log().cloned()));
    if let Some(mut s) = service.take() {
        s.stop();
    }
    let mut run = match result {
        Ok(run) => run,
        Err(e) => {
            output::error(&e.to_string(), None);
            return EXIT_ERROR;
        }
    };
    // When a case failed, the service's log says what the service saw.
    if let Some((tail, file)) = log
        && run.summary.failed + run.summary.errored > 0
    {
        if !tail.is_empty() {
            run.properties.insert("service_log", config.hide(&tail));
        }
        if let Some(f) = file {
            run.properties
                .insert("service_log_file", f.display().to_string());
        }
    }

    output::finish(&run, &outputs)
}

/// The service could not be started or was never ready: one errored case at `[service]` (with
/// the end of its log), reports written, exit 2.
fn service_failed(
    config: &modelci_config::Config,
    spec: &modelci_config::service::Service,
    e: &modelci_runner::service::ServiceError,
    outputs: &[Output],
) -> u8 {
    use modelci_report::{Case, Location, Run, Suite};
    let file = modelci_config::display_path(&config.path);
    let message = config.hide(&e.message);
    output::error(&message, Some(&Location::line(file.clone(), spec.line)));
    let mut case =
        Case::errored("(start)", message).with_location(Location::line(file.clone(), spec.line));
    if !e.log_tail.is_empty() {
        case.detail = Some(format!(
            "the service's last output:\n{}",
            config.hide(&e.log_tail)
        ));
    }
    if let Some(log) = &e.log {
        case = case.with_property("service_log_file", log.display().to_string());
    }
    let mut suite = Suite::new("service", "service");
    suite.location = Some(Location::line(file.clone(), spec.line));
    suite.cases.push(case);
    let mut run = Run::new(env!("CARGO_PKG_VERSION"));
    run.started_at = Some(crate::commands::contract::chrono_now());
    run.config = Some(file);
    run.suites.push(suite);
    run.refresh_summary();
    output::finish(&run, outputs)
}

pub(crate) fn report_config_error(e: &ConfigError) {
    output::error(&e.to_string(), e.diagnostic().map(|d| &d.location));
}

/// The configuration file: `--config`, else `modelci.toml` in the current folder or the nearest
/// parent ([`modelci_config::discover`]); a file found above the current folder is named on the
/// terminal.
///
/// # Errors
/// When there is none (or the current folder cannot be read), the message to print.
pub(crate) fn config_path(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let here = std::env::current_dir()
        .map_err(|e| format!("cannot read the current folder to look for modelci.toml: {e}"))?;
    match modelci_config::discover(&here) {
        Ok(found) => {
            if found.levels_up > 0 {
                output::status(&format!(
                    "using {} (the nearest modelci.toml above this folder)",
                    found.path.display()
                ));
            }
            Ok(found.path)
        }
        Err(message) => Err(format!(
            "{message} (run modelci where modelci.toml is, or pass --config PATH; \
             `modelci schema config` prints its schema)"
        )),
    }
}
