//! The Pact Broker commands: `contract publish`, `contract can-i-deploy`,
//! `contract record-deployment` and `contract record-release`.
//!
//! Every text that reaches the terminal or a JSON file passes through the client's redactor, so
//! tokens and passwords never show.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use modelci_broker::{
    Broker, BrokerError, Config, Contract, Matrix, MatrixQuery, Notice, Publication,
    PublishOptions, Record, Selector, Target, Verdict,
};
use serde_json::{Value, json};

use crate::cli::{
    BrokerArgs, CanIDeployArgs, PublishArgs, RecordDeploymentArgs, RecordReleaseArgs,
};
use crate::output::{self, EXIT_ERROR};

/// Exit code of a version that cannot be deployed.
const EXIT_FAILED: u8 = 1;

/// The client the flags (then the environment) describe.
fn connect(args: &BrokerArgs) -> Result<Broker, String> {
    let timeout = modelci_config::values::seconds(args.broker_timeout, "`--broker-timeout`")?;
    let config = Config::resolve(
        args.broker_url.as_deref(),
        args.broker_token.as_deref(),
        args.broker_username.as_deref(),
        args.broker_password.as_deref(),
        |k| std::env::var(k).ok(),
        timeout,
    )
    .map_err(|e| e.to_string())?;
    Broker::new(&config)
        .map(|b| b.with_retries(args.broker_retries))
        .map_err(|e| e.to_string())
}

/// Claims stdout for `--json -` before anything is printed.
fn prepare_json(json: Option<&PathBuf>) -> Result<(), String> {
    if let Some(path) = json {
        let out = output::Output::choose(output::ReportKind::Json, Some(path), None);
        output::prepare(out.as_slice())?;
    }
    Ok(())
}

/// Writes `value` (credentials hidden) to the `--json` file.
fn write_json(
    path: Option<&PathBuf>,
    value: &Value,
    broker: Option<&Broker>,
) -> Result<(), String> {
    let Some(path) = path else {
        return Ok(());
    };
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    if let Some(b) = broker {
        text = b.hide(&text);
    }
    text.push('\n');
    modelci_report::write_atomic(path, |w| w.write_all(text.as_bytes())).map_err(|e| e.to_string())
}

/// Prints `message` as an error and returns 2.
fn fail(message: &str) -> u8 {
    output::error(message, None);
    EXIT_ERROR
}

/// Human text, unless `--quiet`.
fn say(text: &str) {
    if output::verbosity() > output::Verbosity::Quiet {
        output::human(text);
    }
}

fn notices_json(notices: &[Notice]) -> Value {
    Value::Array(
        notices
            .iter()
            .map(|n| json!({"type": n.kind, "text": n.text}))
            .collect(),
    )
}

fn notices_text(notices: &[Notice], broker: &Broker) -> String {
    notices
        .iter()
        .map(|n| {
            let text = crate::terminal::escape_controls(&broker.hide(&n.text));
            if n.kind.is_empty() {
                format!("  {text}\n")
            } else {
                format!("  [{}] {text}\n", n.kind)
            }
        })
        .collect()
}

/// The error's JSON document and message; the message is printed.
fn broker_failure(
    json_path: Option<&PathBuf>,
    broker: &Broker,
    e: &BrokerError,
    mut doc: Value,
) -> u8 {
    let message = broker.hide(&e.to_string());
    doc["error"] = json!(message);
    if let Err(m) = write_json(json_path, &doc, Some(broker)) {
        output::error(&m, None);
    }
    fail(&message)
}

// ---------------------------------------------------------------------------------------------
// publish

/// The pact files of the arguments: files as given, folders' `*.json` sorted.
fn pact_files(sources: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for source in sources {
        let shown = modelci_config::display_path(source);
        if source.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(source)
                .map_err(|e| format!("failed to read folder `{shown}`: {e}"))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
                .collect();
            if found.is_empty() {
                return Err(format!("folder `{shown}` holds no pact files (*.json)"));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(source.clone());
        }
    }
    Ok(files)
}

/// Reads a pact file: it must be a pact modelci can read, with consumer and provider names.
fn read_contract(path: &Path) -> Result<Contract, String> {
    let shown = modelci_config::display_path(path);
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "failed to read pact file `{shown}`: {}",
            if e.kind() == std::io::ErrorKind::NotFound {
                "no such file".to_owned()
            } else {
                e.to_string()
            }
        )
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("pact file `{shown}` is not valid UTF-8"))?;
    modelci_pact::pact::parse(text, &shown).map_err(|e| format!("invalid pact file: {e}"))?;
    Contract::from_pact(&shown, bytes)
}

pub fn publish(args: &PublishArgs) -> u8 {
    if let Err(m) = prepare_json(args.json.as_ref()) {
        return fail(&m);
    }
    if args.consumer_app_version.trim().is_empty() {
        return fail("--consumer-app-version is empty");
    }
    let contracts = match pact_files(&args.pacts)
        .and_then(|files| files.iter().map(|f| read_contract(f)).collect())
    {
        Ok(c) => c,
        Err(m) => return fail(&m),
    };
    let broker = match connect(&args.broker) {
        Ok(b) => b,
        Err(m) => return fail(&m),
    };
    let options = PublishOptions {
        version: args.consumer_app_version.clone(),
        branch: args.branch.clone(),
        tags: args.tags.clone(),
        build_url: args.build_url.clone(),
        merge: args.merge,
    };
    let mut done = Vec::new();
    for publication in Publication::per_consumer(contracts, &options) {
        let contracts: Vec<Value> = publication
            .contracts
            .iter()
            .map(|c| json!({"consumer": c.consumer, "provider": c.provider, "file": c.source}))
            .collect();
        let mut entry = json!({
            "pacticipant": publication.pacticipant,
            "version": publication.version,
            "branch": publication.branch,
            "tags": publication.tags,
            "contracts": contracts,
        });
        match broker.publish(&publication) {
            Ok(published) => {
                let pacts: Vec<String> = publication
                    .contracts
                    .iter()
                    .map(|c| format!("{} -> {} ({})", c.consumer, c.provider, c.source))
                    .collect();
                let mut text = format!(
                    "published {} pact(s) for {} version {}{}{} to {}:\n",
                    pacts.len(),
                    publication.pacticipant,
                    publication.version,
                    publication
                        .branch
                        .as_ref()
                        .map(|b| format!(" (branch {b})"))
                        .unwrap_or_default(),
                    if publication.tags.is_empty() {
                        String::new()
                    } else {
                        format!(" tagged {}", publication.tags.join(", "))
                    },
                    broker.shown(broker.base())
                );
                for p in &pacts {
                    text.push_str(&format!("  {p}\n"));
                }
                if !published.notices.is_empty() {
                    text.push_str("the broker says:\n");
                    text.push_str(&notices_text(&published.notices, &broker));
                }
                say(&broker.hide(&crate::terminal::escape_controls(&text)));
                entry["url"] = json!(published.url);
                entry["notices"] = notices_json(&published.notices);
                entry["answer"] = published.raw;
                done.push(entry);
            }
            Err(e) => {
                done.push(entry);
                return broker_failure(
                    args.json.as_ref(),
                    &broker,
                    &e,
                    json!({"published": false, "publications": done}),
                );
            }
        }
    }
    if let Err(m) = write_json(
        args.json.as_ref(),
        &json!({"published": true, "publications": done}),
        Some(&broker),
    ) {
        return fail(&m);
    }
    0
}

// ---------------------------------------------------------------------------------------------
// can-i-deploy

/// One selector flag as given on the command line, at its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SelectorFlag {
    Pacticipant(String),
    Ignore(String),
    Version(String),
    Latest(Option<String>),
    All(String),
    Branch(String),
}

/// Groups the selector flags in command-line order: `--version`, `--latest` and `--branch`
/// apply to the `--pacticipant` or `--ignore` before them.
pub(crate) fn group_selectors(
    mut flags: Vec<(usize, SelectorFlag)>,
) -> Result<(Vec<Selector>, Vec<Selector>), String> {
    flags.sort_by_key(|(i, _)| *i);
    // (is ignore, selector)
    let mut all: Vec<(bool, Selector)> = Vec::new();
    for (_, flag) in flags {
        let name = |f: &SelectorFlag| match f {
            SelectorFlag::Version(_) => "--version",
            SelectorFlag::Latest(_) => "--latest",
            SelectorFlag::All(_) => "--all",
            _ => "--branch",
        };
        match flag {
            SelectorFlag::Pacticipant(p) => all.push((
                false,
                Selector {
                    pacticipant: p,
                    ..Selector::default()
                },
            )),
            SelectorFlag::Ignore(p) => all.push((
                true,
                Selector {
                    pacticipant: p,
                    ..Selector::default()
                },
            )),
            other => {
                let Some((ignore, current)) = all.last_mut() else {
                    return Err(format!(
                        "{} comes before any --pacticipant: it selects versions of the \
                         --pacticipant before it",
                        name(&other)
                    ));
                };
                let twice = || {
                    format!(
                        "{} is given twice for {} `{}`",
                        name(&other),
                        if *ignore { "--ignore" } else { "--pacticipant" },
                        current.pacticipant
                    )
                };
                match &other {
                    SelectorFlag::Version(v) => {
                        if current.version.is_some() {
                            return Err(twice());
                        }
                        current.version = Some(v.clone());
                    }
                    SelectorFlag::Latest(tag) => {
                        if current.latest {
                            return Err(twice());
                        }
                        if current.tag.is_some() {
                            return Err(format!(
                                "--pacticipant `{}` has both --all and --latest",
                                current.pacticipant
                            ));
                        }
                        current.latest = true;
                        current.tag = tag.clone().filter(|t| !t.is_empty());
                    }
                    SelectorFlag::All(tag) => {
                        if current.tag.is_some() || current.latest {
                            return Err(format!(
                                "--pacticipant `{}` has --all with --latest or another --all",
                                current.pacticipant
                            ));
                        }
                        current.tag = Some(tag.clone());
                    }
                    SelectorFlag::Branch(b) => {
                        if current.branch.is_some() {
                            return Err(twice());
                        }
                        current.branch = Some(b.clone());
                    }
                    _ => {}
                }
                if *ignore && (current.latest || current.tag.is_some() || current.branch.is_some())
                {
                    return Err(format!(
                        "--ignore `{}` takes only a --version",
                        current.pacticipant
                    ));
                }
                if current.version.is_some() && (current.latest || current.tag.is_some()) {
                    return Err(format!(
                        "--pacticipant `{}` has both --version and --latest or --all",
                        current.pacticipant
                    ));
                }
            }
        }
    }
    let (ignore, selectors): (Vec<_>, Vec<_>) = all.into_iter().partition(|(i, _)| *i);
    Ok((
        selectors.into_iter().map(|(_, s)| s).collect(),
        ignore.into_iter().map(|(_, s)| s).collect(),
    ))
}

/// The selector flags with their positions, from the command line as clap parsed it.
fn selector_flags(argv: Vec<OsString>, args: &CanIDeployArgs) -> Vec<(usize, SelectorFlag)> {
    let command = <crate::cli::Cli as clap::CommandFactory>::command();
    let matches = command.try_get_matches_from(argv).ok().and_then(|mut m| {
        let (_, mut contract) = m.remove_subcommand()?;
        let (_, cid) = contract.remove_subcommand()?;
        Some(cid)
    });
    let mut flags = Vec::new();
    let Some(m) = matches else {
        // Not reachable from the binary; pair the flags in order.
        for (i, p) in args.pacticipant.iter().enumerate() {
            flags.push((i * 2, SelectorFlag::Pacticipant(p.clone())));
        }
        for (i, v) in args.version.iter().enumerate() {
            flags.push((i * 2 + 1, SelectorFlag::Version(v.clone())));
        }
        return flags;
    };
    let mut add = |id: &str, make: &dyn Fn(String) -> SelectorFlag| {
        if let (Some(indices), Some(values)) = (m.indices_of(id), m.get_many::<String>(id)) {
            for (i, v) in indices.zip(values) {
                flags.push((i, make(v.clone())));
            }
        }
    };
    add("pacticipant", &SelectorFlag::Pacticipant);
    add("ignore", &SelectorFlag::Ignore);
    add("version", &SelectorFlag::Version);
    add("latest", &|t| SelectorFlag::Latest(Some(t)));
    add("all", &SelectorFlag::All);
    add("branch", &SelectorFlag::Branch);
    flags
}

fn verdict_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Deployable => "deployable",
        Verdict::NotDeployable => "not_deployable",
        Verdict::Unknown => "unknown",
    }
}

/// The matrix as a table: consumer, version, provider, version, success.
fn table(matrix: &Matrix) -> String {
    let header = ["CONSUMER", "C.VERSION", "PROVIDER", "P.VERSION", "SUCCESS?"];
    let rows: Vec<[String; 5]> = matrix
        .rows
        .iter()
        .map(|r| {
            [
                r.consumer.clone(),
                r.consumer_version.clone(),
                r.provider.clone(),
                if r.provider_version.is_empty() {
                    "???".to_owned()
                } else {
                    r.provider_version.clone()
                },
                match r.success {
                    Some(true) => "true".to_owned(),
                    Some(false) => "false".to_owned(),
                    None => "???".to_owned(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ");
        l.truncate(l.trim_end().len());
        l.push('\n');
        l
    };
    let mut out = line(&header.map(str::to_owned));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))).replace(' ', "-"));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

fn matrix_json(matrix: &Matrix, url: &str) -> Value {
    json!({
        "deployable": match matrix.verdict {
            Verdict::Deployable => json!(true),
            Verdict::NotDeployable => json!(false),
            Verdict::Unknown => Value::Null,
        },
        "verdict": verdict_name(&matrix.verdict),
        "reason": matrix.reason,
        "unknown": matrix.unknown,
        "attempts": matrix.attempts,
        "query": url,
        "rows": matrix.rows.iter().map(|r| json!({
            "consumer": r.consumer,
            "consumer_version": r.consumer_version,
            "provider": r.provider,
            "provider_version": r.provider_version,
            "success": r.success,
        })).collect::<Vec<_>>(),
        "notices": notices_json(&matrix.notices),
        "answer": matrix.raw,
    })
}

pub fn can_i_deploy(args: &CanIDeployArgs) -> u8 {
    if let Err(m) = prepare_json(args.json.as_ref()) {
        return fail(&m);
    }
    let flags = selector_flags(std::env::args_os().collect(), args);
    let (selectors, ignore) = match group_selectors(flags) {
        Ok(s) => s,
        Err(m) => return fail(&m),
    };
    let target = match (&args.to_environment, &args.to) {
        (Some(env), _) => Target::Environment(env.clone()),
        (None, Some(tag)) => Target::Tag(tag.clone()),
        (None, None) => Target::Latest,
    };
    let interval = if args.retry_while_unknown == 0 {
        Duration::ZERO
    } else {
        match modelci_config::values::seconds(args.retry_interval, "`--retry-interval`") {
            Ok(d) => d,
            Err(m) => return fail(&m),
        }
    };
    let query = MatrixQuery {
        selectors,
        ignore,
        target,
    };
    let broker = match connect(&args.broker) {
        Ok(b) => b,
        Err(m) => return fail(&m),
    };
    let url = broker.shown(&query.url(broker.base()));
    let question = {
        let versions: Vec<String> = query.selectors.iter().map(Selector::describe).collect();
        let to = match &query.target {
            Target::Environment(e) => format!(" to environment {e}"),
            Target::Tag(t) => format!(" with the latest versions tagged {t}"),
            Target::Latest => String::new(),
        };
        let ignored: Vec<String> = query.ignore.iter().map(Selector::describe).collect();
        format!(
            "can {} be deployed{to}{}?",
            versions.join(" and "),
            if ignored.is_empty() {
                String::new()
            } else {
                format!(" (ignoring {})", ignored.join(", "))
            }
        )
    };
    if args.dry_run {
        say(&broker.hide(&format!("dry run: {question}\n  GET {url}\n")));
        let doc = json!({"dry_run": true, "query": url});
        if let Err(m) = write_json(args.json.as_ref(), &doc, Some(&broker)) {
            return fail(&m);
        }
        return 0;
    }
    let matrix = match broker.can_i_deploy(&query, args.retry_while_unknown, interval) {
        Ok(m) => m,
        Err(e) => {
            return broker_failure(
                args.json.as_ref(),
                &broker,
                &e,
                json!({"deployable": null, "verdict": "error", "query": url}),
            );
        }
    };
    let mut text = String::new();
    if !matrix.rows.is_empty() {
        text.push_str(&table(&matrix));
        text.push('\n');
    }
    if !matrix.reason.is_empty() {
        text.push_str(&format!("{}\n", matrix.reason));
    }
    if !matrix.notices.is_empty() {
        text.push_str(&notices_text(&matrix.notices, &broker));
    }
    let attempts = if matrix.attempts > 1 {
        format!(" (asked {} times)", matrix.attempts)
    } else {
        String::new()
    };
    let (verdict, code) = match matrix.verdict {
        Verdict::Deployable => (format!("deployable: yes{attempts}\n"), 0),
        Verdict::NotDeployable => (format!("deployable: no{attempts}\n"), EXIT_FAILED),
        Verdict::Unknown => (
            format!(
                "deployable: the Pact Broker cannot tell{attempts}{}\n",
                if matrix.unknown > 0 {
                    format!(" ({} row(s) without a verification result)", matrix.unknown)
                } else {
                    String::new()
                }
            ),
            EXIT_ERROR,
        ),
    };
    say(&broker.hide(&crate::terminal::escape_controls(&text)));
    // The verdict shows even with --quiet.
    output::human(&verdict);
    if let Err(m) = write_json(
        args.json.as_ref(),
        &matrix_json(&matrix, &url),
        Some(&broker),
    ) {
        return fail(&m);
    }
    code
}

// ---------------------------------------------------------------------------------------------
// record-deployment, record-release

fn record(
    broker: &BrokerArgs,
    json_path: Option<&PathBuf>,
    pacticipant: &str,
    version: &str,
    environment: &str,
    what: &Record,
) -> u8 {
    if let Err(m) = prepare_json(json_path) {
        return fail(&m);
    }
    for (flag, value) in [
        ("--pacticipant", pacticipant),
        ("--version", version),
        ("--environment", environment),
    ] {
        if value.trim().is_empty() {
            return fail(&format!("{flag} is empty"));
        }
    }
    let broker = match connect(broker) {
        Ok(b) => b,
        Err(m) => return fail(&m),
    };
    let instance = match what {
        Record::Deployment {
            application_instance,
        } => application_instance.clone(),
        Record::Release => None,
    };
    let mut doc = json!({
        "recorded": what.noun(),
        "pacticipant": pacticipant,
        "version": version,
        "environment": environment,
    });
    if let Some(i) = &instance {
        doc["application_instance"] = json!(i);
    }
    match broker.record(pacticipant, version, environment, what) {
        Ok(recorded) => {
            let mut text = format!(
                "recorded {} of {pacticipant} version {version} to {environment}{}\n",
                what.noun(),
                instance
                    .as_ref()
                    .map(|i| format!(" (application instance {i})"))
                    .unwrap_or_default()
            );
            text.push_str(&notices_text(&recorded.notices, &broker));
            say(&broker.hide(&crate::terminal::escape_controls(&text)));
            doc["url"] = json!(recorded.url);
            doc["notices"] = notices_json(&recorded.notices);
            doc["answer"] = recorded.raw;
            match write_json(json_path, &doc, Some(&broker)) {
                Ok(()) => 0,
                Err(m) => fail(&m),
            }
        }
        Err(e) => {
            doc["recorded"] = Value::Null;
            broker_failure(json_path, &broker, &e, doc)
        }
    }
}

pub fn record_deployment(args: &RecordDeploymentArgs) -> u8 {
    record(
        &args.broker,
        args.json.as_ref(),
        &args.pacticipant,
        &args.version,
        &args.environment,
        &Record::Deployment {
            application_instance: args.application_instance.clone(),
        },
    )
}

pub fn record_release(args: &RecordReleaseArgs) -> u8 {
    record(
        &args.broker,
        args.json.as_ref(),
        &args.pacticipant,
        &args.version,
        &args.environment,
        &Record::Release,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(argv: &[&str]) -> Result<(Vec<Selector>, Vec<Selector>), String> {
        let mut full = vec!["modelci", "contract", "can-i-deploy"];
        full.extend_from_slice(argv);
        let argv: Vec<OsString> = full.iter().map(OsString::from).collect();
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(argv.clone()).unwrap();
        let crate::cli::Command::Contract(crate::cli::ContractCommand::CanIDeploy(args)) =
            cli.command
        else {
            panic!("not can-i-deploy");
        };
        group_selectors(selector_flags(argv, &args))
    }

    #[test]
    fn selectors_follow_the_command_line_order() {
        let (s, i) = flags(&[
            "--pacticipant",
            "Foo",
            "--version",
            "1.2.3",
            "--pacticipant",
            "Bar",
            "--latest",
            "prod",
            "--ignore",
            "Baz",
            "--version",
            "3",
            "--pacticipant",
            "Qux",
            "--latest",
            "--to-environment",
            "production",
        ])
        .unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], Selector::version("Foo", "1.2.3"));
        assert_eq!(s[1].describe(), "Bar (latest, tag prod)");
        assert!(s[2].latest && s[2].tag.is_none());
        assert_eq!(i, vec![Selector::version("Baz", "3")]);
        let (s, _) = flags(&[
            "--pacticipant",
            "Foo",
            "--pacticipant",
            "Bar",
            "--branch",
            "main",
        ])
        .unwrap();
        assert_eq!(s[0].describe(), "Foo (all versions)");
        assert_eq!(s[1].branch.as_deref(), Some("main"));
        let (s, _) = flags(&["--pacticipant", "Foo", "--all", "prod"]).unwrap();
        assert_eq!(s[0].describe(), "Foo (tag prod)");
        assert!(!s[0].latest);
    }

    #[test]
    fn misplaced_selector_flags_are_errors() {
        let e = flags(&["--version", "1", "--pacticipant", "Foo"]).unwrap_err();
        assert!(e.contains("before any --pacticipant"), "{e}");
        let e = flags(&["--pacticipant", "Foo", "--version", "1", "--version", "2"]).unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let e = flags(&["--pacticipant", "Foo", "--version", "1", "--latest"]).unwrap_err();
        assert!(e.contains("both"), "{e}");
        let e = flags(&["--pacticipant", "Foo", "--ignore", "Bar", "--latest"]).unwrap_err();
        assert!(e.contains("only a --version"), "{e}");
    }

    #[test]
    fn the_table_lines_up() {
        let m = Matrix::parse(json!({
            "summary": {"deployable": true, "reason": "ok"},
            "matrix": [{"consumer": {"name": "Foo", "version": {"number": "1.2.3"}},
                        "provider": {"name": "Bar"}}],
        }))
        .unwrap();
        assert_eq!(
            table(&m),
            "CONSUMER | C.VERSION | PROVIDER | P.VERSION | SUCCESS?\n\
             ---------|-----------|----------|-----------|---------\n\
             Foo      | 1.2.3     | Bar      | ???       | ???\n"
        );
    }
}
