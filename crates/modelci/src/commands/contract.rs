//! `modelci contract verify` and `modelci contract mock`.

use std::time::{Duration, Instant};

use modelci_contract::pact_verify::{self, VerifyOptions};
use modelci_report::{Run, Suite};

use crate::cli::{MockArgs, VerifyArgs};
use crate::output::{self, EXIT_ERROR};

/// Parses `Name: value`.
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        // The value may be a secret: only the name part is shown.
        _ => Err("--header takes `Name: value` (the header given has no `:`)".to_owned()),
    }
}

fn regex(flag: &str, text: Option<&String>) -> Result<Option<regex::Regex>, String> {
    text.map(|t| regex::Regex::new(t).map_err(|e| format!("{flag}: invalid regex `{t}`: {e}")))
        .transpose()
}

fn options(args: &VerifyArgs) -> Result<VerifyOptions, String> {
    if !(args.provider_url.starts_with("http://") || args.provider_url.starts_with("https://")) {
        return Err(format!(
            "--provider-url must be an http:// or https:// URL, not `{}`",
            args.provider_url
        ));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(format!(
            "--timeout must be a positive number of seconds, not {}",
            args.timeout
        ));
    }
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let headers = args
        .header
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VerifyOptions {
        provider_url: args.provider_url.clone(),
        state_change_url: args.state_change_url.clone(),
        state_change_teardown: args.state_change_teardown,
        filter_description: regex("--filter-description", args.filter_description.as_ref())?,
        filter_state: regex("--filter-state", args.filter_state.as_ref())?,
        headers,
        timeout: Duration::from_secs_f64(args.timeout),
        concurrency: args.concurrency,
    })
}

pub fn verify(args: &VerifyArgs) -> u8 {
    let opts = match options(args) {
        Ok(o) => o,
        Err(message) => {
            output::error(&message, None);
            return EXIT_ERROR;
        }
    };
    let outputs = match output::requested(&args.reports) {
        Ok(o) => o,
        Err(message) => {
            output::error(&message, None);
            return EXIT_ERROR;
        }
    };
    let started = Instant::now();
    let mut run = Run::new(env!("CARGO_PKG_VERSION"));
    run.started_at = Some(chrono_now());
    run.properties
        .insert("provider_url", opts.provider_url.clone());
    for loaded in pact_verify::load(&args.pact, opts.timeout) {
        let suite = match loaded {
            Ok(pact) => {
                let mut suite = Suite::new(suite_name(&pact.pact), "pact");
                suite.location = Some(modelci_report::Location::file(pact.pact.source.clone()));
                suite.properties.insert("pact", pact.pact.source.clone());
                suite
                    .properties
                    .insert("consumer", pact.pact.consumer.clone());
                suite
                    .properties
                    .insert("provider", pact.pact.provider.clone());
                suite
                    .properties
                    .insert("pact_specification", pact.pact.version.as_str());
                suite.cases = pact_verify::verify(&pact, &opts);
                suite
            }
            Err(e) => {
                let mut suite = Suite::new(e.source.clone(), "pact");
                suite.cases.push(e.to_case());
                suite
            }
        };
        let mut suite = suite;
        suite.duration_ms = suite.cases.iter().map(|c| c.duration_ms).sum();
        run.suites.push(suite);
    }
    run.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    run.refresh_summary();
    output::finish(&run, &outputs)
}

fn suite_name(pact: &modelci_pact::Pact) -> String {
    match (pact.consumer.as_str(), pact.provider.as_str()) {
        ("", "") => pact.source.clone(),
        (c, p) => format!("{c} -> {p}"),
    }
}

pub fn chrono_now() -> String {
    modelci_runner::now_rfc3339()
}

pub fn mock(args: &MockArgs) -> u8 {
    let mut pacts = Vec::new();
    for loaded in pact_verify::load(&args.pact, Duration::from_secs(30)) {
        match loaded {
            Ok(p) => pacts.push(p.pact),
            Err(e) => {
                output::error(&e.message, None);
                return EXIT_ERROR;
            }
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::error(&format!("failed to start the server runtime: {e}"), None);
            return EXIT_ERROR;
        }
    };
    rt.block_on(async {
        let (addr, listener, skipped) =
            match modelci_contract::pact_mock::bind(&pacts, &args.host, args.port).await {
                Ok(b) => b,
                Err(e) => {
                    output::error(
                        &format!("cannot listen on {}:{}: {e}", args.host, args.port),
                        None,
                    );
                    return EXIT_ERROR;
                }
            };
        output::stdout(&format!("listening on http://{addr}\n"));
        for s in skipped {
            output::warning(&s);
        }
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(t) => t,
                        Err(_) => {
                            let _ = ctrl_c.await;
                            return;
                        }
                    };
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
        };
        match modelci_contract::pact_mock::serve(&pacts, listener, shutdown).await {
            Ok(()) => 0,
            Err(e) => {
                output::error(&format!("the stub server failed: {e}"), None);
                EXIT_ERROR
            }
        }
    })
}
