//! `modelci check`: load the configuration, run its suites, write every report, exit with the
//! verdict's code.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    let config = match modelci_config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            report_config_error(
                &e,
                args.config == std::path::Path::new(modelci_config::DEFAULT_CONFIG),
            );
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
    if let Err(message) = output::validate_outputs(&outputs) {
        output::error(&message, None);
        return EXIT_ERROR;
    }

    let cancel = Arc::new(AtomicBool::new(false));
    install_interrupt_handler(&cancel);
    let options = RunOptions {
        only: args.only.clone(),
        shard,
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
        cancel,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let mut progress = terminal::Progress::new();
    let result = modelci_runner::run(&config, &options, &mut progress);
    progress.finish();
    let run = match result {
        Ok(run) => run,
        Err(e) => {
            output::error(&e.to_string(), None);
            return EXIT_ERROR;
        }
    };

    output::finish(&run, &outputs)
}

fn report_config_error(e: &ConfigError, default_path: bool) {
    match e.diagnostic() {
        Some(d) => output::error(&e.to_string(), Some(&d.location)),
        None => {
            let mut message = e.to_string();
            if default_path
                && matches!(e, ConfigError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
            {
                message.push_str(
                    " (run modelci where modelci.toml is, or pass --config PATH; \
                     `modelci schema config` prints its schema)",
                );
            }
            output::error(&message, None);
        }
    }
}

/// First Ctrl-C: stop starting cases, report what finished. Second: exit at once.
fn install_interrupt_handler(cancel: &Arc<AtomicBool>) {
    let cancel = Arc::clone(cancel);
    let _ = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupted: finishing the cases in flight and writing reports \
             (press Ctrl-C again to quit at once)"
        );
    });
}
