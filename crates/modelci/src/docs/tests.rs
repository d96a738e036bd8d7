use std::path::{Path, PathBuf};

use clap::{CommandFactory as _, Parser as _};

use serde_json::Value;

use super::markdown::{cli_reference, config_reference};
use super::*;
use crate::cli::Cli;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compares a generated page with the committed one, or rewrites it with MODELCI_UPDATE_DOCS=1.
fn check_page(rel: &str, generated: &str) {
    let path = repo().join(rel);
    if std::env::var_os("MODELCI_UPDATE_DOCS").is_some() {
        std::fs::write(&path, generated).expect("write the page");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{rel} is stale: the code changed; regenerate it with \
         `MODELCI_UPDATE_DOCS=1 cargo test -p modelci reference_pages`"
    );
}

#[test]
fn reference_pages_match_the_code() {
    check_page("docs/reference/cli.md", &cli_reference(&Cli::command()));
    let schema: Value = serde_json::from_str(&modelci_config::schema()).expect("schema");
    check_page("docs/reference/config.md", &config_reference(&schema));
}

#[test]
fn the_cli_reference_has_every_command_and_flag() {
    let page = cli_reference(&Cli::command());
    for needle in [
        "## `modelci check`",
        "## `modelci contract verify`",
        "## `modelci model test`",
        "## `modelci report merge`",
        "`--provider-url <URL>`",
        "`-c`, `--config <PATH>`",
        "[`modelci contract diff`](#modelci-contract-diff)",
    ] {
        assert!(page.contains(needle), "{needle} missing from\n{page}");
    }
    // Possible values and defaults come from clap.
    assert!(page.contains("One of `cpu`, `cuda`, `auto`") || page.contains("Default: `cpu`"));
}

#[test]
fn the_config_reference_names_tables_keys_types_and_defaults() {
    let schema: Value = serde_json::from_str(&modelci_config::schema()).expect("schema");
    let page = config_reference(&schema);
    for needle in [
        "## `[project]`",
        "## `[service]`",
        "## `[[suite.model]]`",
        "## `[suite.model.edge_cases]`",
        "## `[[suite.model.robustness]]`",
        "## `[suite.model.tolerance.cuda]`",
        "## `[[suite.gate]]`",
        "| `cases` (required) | array of string |",
        "| `format` | `\"auto\"` \\| `\"json\"` \\| `\"jsonl\"` |",
    ] {
        assert!(page.contains(needle), "{needle} missing from\n{page}");
    }
}

#[test]
fn man_pages_are_written_for_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = write_man_pages(&Cli::command(), dir.path()).expect("man pages");
    for name in [
        "modelci.1",
        "modelci-check.1",
        "modelci-contract-verify.1",
        "modelci-model-test.1",
    ] {
        let page = std::fs::read_to_string(dir.path().join(name)).expect(name);
        assert!(page.contains(".TH"), "{name}: {page}");
    }
    assert!(written.len() >= 10, "{written:?}");
}

/// The command lines of a fenced `sh`/`bash`/`console`/`shell` block: `$ ` prompts and
/// comments dropped, `\` continuations joined, with the line each starts on.
fn command_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_shell = false;
    let mut console = false;
    let mut in_fence = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_fence {
                in_fence = false;
                in_shell = false;
            } else {
                in_fence = true;
                let lang = info.trim().split([',', ' ']).next().unwrap_or_default();
                in_shell = matches!(lang, "sh" | "bash" | "console" | "shell");
                console = lang == "console";
            }
            continue;
        }
        if !in_shell {
            continue;
        }
        // In a console block only `$ ` lines (and their continuations) are commands; the rest
        // is what they print.
        let body = match (trimmed.strip_prefix("$ "), &pending) {
            (Some(command), _) => command,
            (None, Some(_)) => trimmed,
            (None, None) if console => continue,
            (None, None) => trimmed,
        };
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        if let Some(head) = body.strip_suffix('\\') {
            joined.push_str(head);
            joined.push(' ');
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(body);
        out.push((start, joined));
    }
    out
}

/// The `modelci` invocations of a shell line: each command of a pipeline or list whose program
/// is `modelci` (or a path ending in `/modelci`), without leading `VAR=value` assignments,
/// comments and redirections.
fn invocations(line: &str) -> Vec<Vec<String>> {
    let Some(words) = shlex::split(line) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut flush = |current: &mut Vec<String>| {
        let words: Vec<String> = current
            .drain(..)
            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
            .collect();
        if words
            .first()
            .is_some_and(|p| p == "modelci" || p.ends_with("/modelci"))
        {
            out.push(words);
        }
    };
    let mut skip_next = false;
    for w in words {
        if skip_next {
            skip_next = false;
            continue;
        }
        if w.starts_with('#') {
            break;
        }
        match w.as_str() {
            "|" | "||" | "&&" | ";" | "&" => flush(&mut current),
            ">" | ">>" | "<" | "2>" | "2>>" => skip_next = true,
            w if w.starts_with("2>") || w.starts_with('>') => {}
            _ => current.push(w),
        }
    }
    flush(&mut current);
    out
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
}

#[test]
fn every_command_line_in_the_docs_parses() {
    let mut files = vec![repo().join("README.md")];
    markdown_files(&repo().join("docs"), &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut parsed = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        for (line, command) in command_lines(&text) {
            for words in invocations(&command) {
                parsed += 1;
                if let Err(e) = Cli::try_parse_from(&words) {
                    if matches!(
                        e.kind(),
                        clap::error::ErrorKind::DisplayHelp
                            | clap::error::ErrorKind::DisplayVersion
                    ) {
                        continue;
                    }
                    let rel = file.strip_prefix(repo()).unwrap_or(file);
                    problems.push(format!("{}:{line}: `{command}`: {e}", rel.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        parsed >= 10,
        "only {parsed} command lines found in the docs"
    );
}

#[test]
fn shell_blocks_are_split_into_modelci_invocations() {
    let text = "```sh\n$ modelci check \\\n    --only a  # run one\nls -l\n```\n```\nmodelci check [--only NAME]\n```\n```console\n$ modelci doctor\nmodelci 0.1.0\n```\n";
    let lines = command_lines(text);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[2], (10, "modelci doctor".to_owned()));
    assert_eq!(
        invocations(&lines[0].1),
        vec![vec![
            "modelci".to_owned(),
            "check".into(),
            "--only".into(),
            "a".into()
        ]]
    );
    assert!(invocations(&lines[1].1).is_empty());
    assert_eq!(
        invocations(
            "ORT_DYLIB_PATH=/x target/release/modelci doctor > out.txt && modelci --version | head"
        ),
        vec![
            vec!["target/release/modelci".to_owned(), "doctor".into()],
            vec!["modelci".to_owned(), "--version".into()]
        ]
    );
}

/// The relative links of a Markdown text (`[text](target)`), without anchors; web links and
/// pure anchors left out.
fn relative_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or_default().trim();
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            out.push(target.to_owned());
        }
        rest = &rest[end..];
    }
    out
}

#[test]
fn every_docs_page_is_in_the_book_and_every_relative_link_resolves() {
    let docs = repo().join("docs");
    let summary = std::fs::read_to_string(docs.join("SUMMARY.md")).expect("SUMMARY.md");
    let in_book = relative_links(&summary);
    let mut files = Vec::new();
    markdown_files(&docs, &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&docs).expect("under docs");
        let rel_text = rel.display().to_string();
        if rel_text != "SUMMARY.md" && !in_book.contains(&rel_text) {
            problems.push(format!("docs/{rel_text} is not in docs/SUMMARY.md"));
        }
    }
    files.push(repo().join("README.md"));
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let dir = file.parent().expect("folder");
        for link in relative_links(&text) {
            if !dir.join(&link).exists() {
                let rel = file.strip_prefix(repo()).unwrap_or(file);
                problems.push(format!(
                    "{}: link to `{link}`, which does not exist",
                    rel.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `toml` blocks of a Markdown text: configuration examples, whole or in part, except blocks
/// that start by naming another file (`# thresholds.toml`).
fn config_examples(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut in_fence = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            if in_fence {
                if let Some(block) = current.take() {
                    out.push(block);
                }
                in_fence = false;
            } else {
                in_fence = true;
                if line.trim_start().trim_start_matches('`').trim() == "toml" {
                    current = Some((i + 2, String::new()));
                }
            }
            continue;
        }
        if let Some((_, body)) = current.as_mut() {
            // A block that starts by naming another file (`# thresholds.toml`) is not a
            // configuration.
            let first = line.trim();
            if body.is_empty()
                && first.starts_with('#')
                && first.ends_with(".toml")
                && first != "# modelci.toml"
            {
                current = None;
                continue;
            }
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

#[test]
fn complete_configuration_examples_in_the_docs_follow_the_schema() {
    let schema: Value = serde_json::from_str(&modelci_config::schema()).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("validator");
    let mut files = vec![repo().join("README.md")];
    markdown_files(&repo().join("docs"), &mut files);
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        for (line, body) in config_examples(&text) {
            checked += 1;
            let rel = file
                .strip_prefix(repo())
                .unwrap_or(file)
                .display()
                .to_string();
            let value: toml::Value = match toml::from_str(&body) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{rel}:{line}: not TOML: {e}"));
                    continue;
                }
            };
            let json = serde_json::to_value(value).expect("json");
            for e in validator.iter_errors(&json) {
                problems.push(format!("{rel}:{line}: {} at {}", e, e.instance_path()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 5, "only {checked} configuration examples found");
}
