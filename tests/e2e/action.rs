//! The GitHub Action (`action.yml`) and the workflows (`.github/workflows/*.yml`).
//!
//! Checked statically: they parse, have the keys GitHub requires, every expression refers to a
//! declared input or an existing step, every `uses:` is pinned, and every `modelci ...` command
//! line in a `run:` script uses subcommands and flags that the built binary's `--help` lists.
//! The action's own scripts are then run with bash, as the runner would, on the quickstart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use regex::Regex;
use serde_yaml_ng::Value;

use crate::{root, run};

// ---------------------------------------------------------------------------------------------
// Loading

/// Parses a YAML file given relative to the repository root, panicking with its path.
fn load(rel: &str) -> Value {
    let text = std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    parse(rel, &text)
}

/// Parses YAML text, panicking with `label` and the parser's message (line and column).
fn parse(label: &str, text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{label} is not valid YAML: {e}"))
}

/// The workflow files (`.github/workflows/*.yml` / `*.yaml`), relative to the repository root.
fn workflow_files() -> Vec<String> {
    let dir = root().join(".github/workflows");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect(".github/workflows exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .map(|n| format!(".github/workflows/{n}"))
        .collect();
    files.sort();
    files
}

/// The keys of a mapping at `v[key]` (empty when absent).
fn keys(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The sequence at `v[key]` (empty when absent).
fn seq<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// `v[key]` as a string.
fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The places that hold steps, each named for messages: the action's `runs`, or each job of a
/// workflow. Step ids and `steps.<id>` references are scoped to one of these.
fn step_scopes<'a>(file: &str, doc: &'a Value) -> Vec<(String, &'a Value)> {
    if let Some(runs) = doc.get("runs") {
        return vec![(file.to_owned(), runs)];
    }
    keys(doc, "jobs")
        .into_iter()
        .map(|job| {
            let v = &doc["jobs"][job.as_str()];
            (format!("{file}: job `{job}`"), v)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Expressions

/// Every `${{ ... }}` expression in the strings of `v`, plus whole `if:` conditions (which are
/// expressions without the braces).
fn expressions(v: &Value, out: &mut Vec<String>) {
    let braces = Regex::new(r"(?s)\$\{\{(.*?)\}\}").expect("regex");
    match v {
        Value::String(s) => out.extend(braces.captures_iter(s).map(|c| c[1].trim().to_owned())),
        Value::Sequence(items) => items.iter().for_each(|i| expressions(i, out)),
        Value::Mapping(m) => {
            for (k, val) in m {
                match (k.as_str(), val.as_str()) {
                    (Some("if"), Some(cond)) if !cond.contains("${{") => {
                        out.push(cond.to_owned());
                    }
                    _ => expressions(val, out),
                }
            }
        }
        _ => {}
    }
}

/// The names `prefix.<name>` refers to in expressions (e.g. `inputs` gives the input names).
fn referenced(exprs: &[String], prefix: &str) -> BTreeSet<String> {
    let re = Regex::new(&format!(r"(?:^|[^\w.-]){prefix}\.([A-Za-z_][\w-]*)")).expect("regex");
    exprs
        .iter()
        .flat_map(|e| {
            re.captures_iter(e)
                .map(|c| c[1].to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `(step id, output)` pairs that `steps.<id>.outputs.<output>` refers to in expressions.
fn step_outputs(exprs: &[String]) -> BTreeSet<(String, String)> {
    let re = Regex::new(r"steps\.([\w-]+)\.outputs\.([\w-]+)").expect("regex");
    exprs
        .iter()
        .flat_map(|e| {
            re.captures_iter(e)
                .map(|c| (c[1].to_owned(), c[2].to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shell scripts

/// A word or an operator of a shell script.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A word with its quotes removed (`"$MODELCI"` is `$MODELCI`; a `${{ }}` is `${{}}`).
    Word(String),
    /// A command separator (`;`, `&&`, `|`, `(`, `$(`, newline...) or a redirection (`>`, `<`).
    Op(String),
}

/// Splits a script into words and operators, roughly as bash does: line continuations are
/// joined, quotes removed, comments dropped. Good enough to find command lines, not a parser.
fn shell_tokens(script: &str) -> Vec<Token> {
    let script = script.replace("\\\r\n", "").replace("\\\n", "");
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let flush = |word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                flush(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::Op("$(".into()));
            }
            '$' if chars.peek() == Some(&'{') && script_expr_follows(&mut chars.clone()) => {
                // A GitHub expression, substituted before the shell runs: one opaque piece.
                in_word = true;
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '}' && c == '}' {
                        break;
                    }
                    prev = c;
                }
                word.push_str("${{}}");
            }
            '#' if !in_word => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        tokens.push(Token::Op("\n".into()));
                        break;
                    }
                }
            }
            ' ' | '\t' => flush(&mut word, &mut in_word, &mut tokens),
            '\n' | ';' | '&' | '|' | '(' | ')' | '>' | '<' => {
                flush(&mut word, &mut in_word, &mut tokens);
                let mut op = c.to_string();
                while let Some(&n) = chars.peek() {
                    let joins = matches!((c, n), ('&', '&') | ('|', '|') | (';', ';'))
                        || (matches!(c, '>' | '<') && matches!(n, '>' | '&' | '<'));
                    if !joins {
                        break;
                    }
                    op.push(n);
                    chars.next();
                }
                tokens.push(Token::Op(op));
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    flush(&mut word, &mut in_word, &mut tokens);
    tokens
}

/// Whether the characters after a `$` start a GitHub expression (`{{`).
fn script_expr_follows(rest: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    rest.next() == Some('{') && rest.next() == Some('{')
}

/// The simple commands of a script: the words between separators, without the targets of
/// redirections.
fn simple_commands(tokens: &[Token]) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut skip_next = false;
    for t in tokens {
        match t {
            Token::Op(op) if op.starts_with('>') || op.starts_with('<') => skip_next = true,
            Token::Op(_) => commands.push(Vec::new()),
            Token::Word(_) if skip_next => skip_next = false,
            Token::Word(w) => commands.last_mut().expect("one command").push(w.clone()),
        }
    }
    commands.retain(|c| !c.is_empty());
    commands
}

/// The words of every bash array literal in a script (`name=(...)`, `name+=(...)`), by name.
fn array_literals(tokens: &[Token]) -> HashMap<String, Vec<String>> {
    let mut arrays: HashMap<String, Vec<String>> = HashMap::new();
    let assign = Regex::new(r"^([A-Za-z_]\w*)\+?=$").expect("regex");
    for (i, t) in tokens.iter().enumerate() {
        let Token::Word(w) = t else { continue };
        let Some(name) = assign.captures(w).map(|c| c[1].to_owned()) else {
            continue;
        };
        if tokens.get(i + 1) != Some(&Token::Op("(".into())) {
            continue;
        }
        let words = tokens[i + 2..]
            .iter()
            .take_while(|t| **t != Token::Op(")".into()))
            .filter_map(|t| match t {
                Token::Word(w) => Some(w.clone()),
                Token::Op(_) => None,
            });
        arrays.entry(name).or_default().extend(words);
    }
    arrays
}

/// Whether a command word runs modelci: `modelci`, a path ending in `/modelci`
/// (`target/release/modelci`, `$bin/modelci`) or the `$MODELCI` variable.
fn is_modelci(word: &str) -> bool {
    word == "modelci" || word.ends_with("/modelci") || matches!(word, "$MODELCI" | "${MODELCI}")
}

/// A `modelci` command line found in a script.
#[derive(Debug)]
struct Invocation {
    /// Where it was found, for messages.
    at: String,
    /// Its words after `modelci`, with `"${array[@]}"` expanded from the script's array literals.
    args: Vec<String>,
}

/// The modelci command lines of one script. Leading `VAR=value` words and shell keywords
/// (`if`, `then`, `exec`, ...) before the command word are skipped.
fn invocations(at: &str, script: &str) -> Vec<Invocation> {
    let tokens = shell_tokens(script);
    let arrays = array_literals(&tokens);
    let assignment = Regex::new(r"^[A-Za-z_]\w*=").expect("regex");
    let keywords = [
        "if", "then", "else", "elif", "do", "while", "until", "!", "exec", "time",
    ];
    let mut found = Vec::new();
    for words in simple_commands(&tokens) {
        let mut rest = words
            .iter()
            .skip_while(|w| assignment.is_match(w) || keywords.contains(&w.as_str()));
        if !rest.next().is_some_and(|w| is_modelci(w)) {
            continue;
        }
        let args = rest.flat_map(|w| expand_arrays(w, &arrays)).collect();
        found.push(Invocation {
            at: at.to_owned(),
            args,
        });
    }
    found
}

/// A word, or the words of the array it expands (`${name[@]}`), when the script defines it.
fn expand_arrays(word: &str, arrays: &HashMap<String, Vec<String>>) -> Vec<String> {
    let re = Regex::new(r"^\$\{([A-Za-z_]\w*)\[@\]\}$").expect("regex");
    match re.captures(word).and_then(|c| arrays.get(&c[1])) {
        Some(words) => words.clone(),
        None => vec![word.to_owned()],
    }
}

/// Every `run:` script in a YAML document, with where it is.
fn run_scripts(label: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                match (k.as_str(), val.as_str()) {
                    (Some("run"), Some(script)) => {
                        let name = str_at(v, "name").or(str_at(v, "id")).unwrap_or("(unnamed)");
                        out.push((format!("{label}: step `{name}`"), script.to_owned()));
                    }
                    _ => run_scripts(label, val, out),
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| run_scripts(label, i, out)),
        _ => {}
    }
}

/// Every modelci command line in the `run:` scripts of a YAML document.
fn yaml_invocations(label: &str, doc: &Value) -> Vec<Invocation> {
    let mut scripts = Vec::new();
    run_scripts(label, doc, &mut scripts);
    scripts
        .iter()
        .flat_map(|(at, script)| invocations(at, script))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The CLI's help texts

/// The built binary's `--help` texts, asked once per subcommand path.
#[derive(Default)]
struct Cli {
    helps: HashMap<Vec<String>, String>,
}

impl Cli {
    /// `modelci <path...> --help`.
    fn help(&mut self, path: &[String]) -> &str {
        self.helps.entry(path.to_vec()).or_insert_with(|| {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push("--help");
            let (code, out, err) = run(&mut crate::modelci(&args));
            assert_eq!(code, 0, "modelci {} failed: {err}", args.join(" "));
            out
        })
    }

    /// What is wrong with a command line: unknown subcommands, and flags that the help text of
    /// its subcommand does not list. Empty when it is fine.
    fn problems(&mut self, inv: &Invocation) -> Vec<String> {
        let mut path: Vec<String> = Vec::new();
        let mut args = inv.args.iter().peekable();
        let mut problems = Vec::new();
        // Subcommands: while the current level has any, the next plain word must be one.
        loop {
            let subcommands = subcommands(self.help(&path));
            if subcommands.is_empty() {
                break;
            }
            match args.peek() {
                Some(w) if !w.starts_with('-') => {
                    if subcommands.contains(*w) {
                        path.push((*w).clone());
                        args.next();
                    } else {
                        problems.push(format!(
                            "{}: `modelci {}` has no subcommand `{w}` (it has {subcommands:?})",
                            inv.at,
                            path.join(" ")
                        ));
                        return problems;
                    }
                }
                _ => break,
            }
        }
        let help = self.help(&path).to_owned();
        for arg in args.take_while(|a| *a != "--") {
            if let Some(flag) = flag_of(arg)
                && !lists_flag(&help, flag)
            {
                problems.push(format!(
                    "{}: `modelci {}` has no flag `{flag}` (see `modelci {} --help`)",
                    inv.at,
                    path.join(" "),
                    path.join(" ")
                ));
            }
        }
        problems
    }
}

/// The subcommand names in the `Commands:` section of a clap help text.
fn subcommands(help: &str) -> BTreeSet<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// The flag an argument is, without an `=value`: `--json` of `--json=x`, `-c` of `-c`. `None`
/// for values, numbers and `-`.
fn flag_of(arg: &str) -> Option<&str> {
    if let Some(long) = arg.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or_default();
        return (!name.is_empty()).then(|| &arg[..name.len() + 2]);
    }
    let short = arg.strip_prefix('-')?;
    short
        .chars()
        .next()
        .filter(char::is_ascii_alphabetic)
        .map(|_| &arg[..2])
}

/// Whether a help text lists a flag as a whole word (`--promote` is not `--promote-alias`).
fn lists_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let before = help[..i].chars().next_back();
        let after = help[i + flag.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '-')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn action_metadata_is_complete() {
    let action = load("action.yml");
    for key in ["name", "description"] {
        assert!(
            str_at(&action, key).is_some(),
            "action.yml: `{key}` is required"
        );
    }
    assert_eq!(str_at(&action["runs"], "using"), Some("composite"));
    let steps = seq(&action["runs"], "steps");
    assert!(!steps.is_empty(), "action.yml: runs.steps is empty");
    for name in keys(&action, "inputs") {
        let input = &action["inputs"][name.as_str()];
        assert!(
            str_at(input, "description").is_some_and(|d| !d.trim().is_empty()),
            "action.yml: input `{name}` has no description"
        );
    }
    for step in steps {
        let label = str_at(step, "name").unwrap_or("(unnamed)");
        assert!(
            step.get("run").is_some() != step.get("uses").is_some(),
            "action.yml: step `{label}` needs exactly one of `run` and `uses`"
        );
        if step.get("run").is_some() {
            // Composite actions have no default shell.
            assert!(
                step.get("shell").is_some(),
                "action.yml: step `{label}` has no shell"
            );
        }
    }
    // The outputs the issue asks for, each mapped from an existing step.
    let ids: BTreeSet<&str> = steps.iter().filter_map(|s| str_at(s, "id")).collect();
    let outputs = keys(&action, "outputs");
    for name in ["verdict", "passed", "failed", "errored", "skipped", "total"] {
        assert!(
            outputs.contains(&name.to_owned()),
            "action.yml: no output `{name}`"
        );
    }
    for name in &outputs {
        let output = &action["outputs"][name.as_str()];
        assert!(
            str_at(output, "description").is_some_and(|d| !d.trim().is_empty()),
            "action.yml: output `{name}` has no description"
        );
        let mut exprs = Vec::new();
        expressions(output.get("value").unwrap_or(&Value::Null), &mut exprs);
        let refs = step_outputs(&exprs);
        assert!(
            !refs.is_empty(),
            "action.yml: output `{name}`'s value names no step output"
        );
        for (id, _) in refs {
            assert!(
                ids.contains(id.as_str()),
                "action.yml: output `{name}`: no step `{id}`"
            );
        }
    }
}

#[test]
fn action_inputs_are_declared_and_used_and_scripts_read_them_from_the_environment() {
    let action = load("action.yml");
    let declared: BTreeSet<String> = keys(&action, "inputs").into_iter().collect();
    let mut exprs = Vec::new();
    expressions(&action, &mut exprs);
    let used = referenced(&exprs, "inputs");
    let undeclared: Vec<_> = used.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "action.yml uses undeclared inputs {undeclared:?}"
    );
    let unused: Vec<_> = declared.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "action.yml declares inputs it never uses: {unused:?}"
    );
    // Inputs pasted into a script could inject shell code: they go through `env:`.
    let mut scripts = Vec::new();
    run_scripts("action.yml", &action, &mut scripts);
    for (at, script) in scripts {
        assert!(
            !script.contains("${{"),
            "{at}: use `env:` instead of `${{{{ }}}}` in `run:`"
        );
    }
}

#[test]
fn workflows_are_well_formed() {
    let action = load("action.yml");
    let action_inputs: BTreeSet<String> = keys(&action, "inputs").into_iter().collect();
    let action_outputs: BTreeSet<String> = keys(&action, "outputs").into_iter().collect();
    let files = workflow_files();
    for required in [
        ".github/workflows/ci.yml",
        ".github/workflows/model-release.yml",
    ] {
        assert!(files.iter().any(|f| f == required), "{required} is missing");
    }
    for file in &files {
        let doc = load(file);
        for key in ["name", "on", "jobs"] {
            assert!(doc.get(key).is_some(), "{file}: `{key}` is required");
        }
        // `inputs.X` names an input of workflow_dispatch or workflow_call.
        let mut declared: BTreeSet<String> = BTreeSet::new();
        for trigger in ["workflow_dispatch", "workflow_call"] {
            declared.extend(keys(&doc["on"][trigger], "inputs"));
        }
        let mut exprs = Vec::new();
        expressions(&doc, &mut exprs);
        let used = referenced(&exprs, "inputs");
        let undeclared: Vec<_> = used.difference(&declared).collect();
        assert!(
            undeclared.is_empty(),
            "{file} uses undeclared inputs {undeclared:?}"
        );
        assert!(!keys(&doc, "jobs").is_empty(), "{file}: no jobs");
        for (at, job) in step_scopes(file, &doc) {
            check_job(&at, job, &action_inputs, &action_outputs);
        }
    }
    // The project's CI runs the README's test command.
    let mut scripts = Vec::new();
    run_scripts("ci.yml", &load(".github/workflows/ci.yml"), &mut scripts);
    assert!(
        scripts.iter().any(|(_, s)| s.contains("./scripts/test")),
        "ci.yml must run ./scripts/test"
    );
}

/// One workflow job: `runs-on`, steps with one of `run`/`uses`, `steps.<id>` references to
/// steps of the job, and `with:` keys and outputs of this repository's action (`uses: ./`) that
/// action.yml declares.
fn check_job(at: &str, job: &Value, inputs: &BTreeSet<String>, outputs: &BTreeSet<String>) {
    assert!(job.get("runs-on").is_some(), "{at}: `runs-on` is required");
    let steps = seq(job, "steps");
    assert!(!steps.is_empty(), "{at}: no steps");
    let mut local_ids = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for step in steps {
        let label = str_at(step, "name")
            .or(str_at(step, "uses"))
            .unwrap_or("(unnamed)");
        assert!(
            step.get("run").is_some() != step.get("uses").is_some(),
            "{at}: step `{label}` needs exactly one of `run` and `uses`"
        );
        if let Some(id) = str_at(step, "id") {
            assert!(
                ids.insert(id.to_owned()),
                "{at}: step id `{id}` is not unique"
            );
        }
        if str_at(step, "uses") == Some("./") {
            let with: BTreeSet<String> = keys(step, "with").into_iter().collect();
            let unknown: Vec<_> = with.difference(inputs).collect();
            assert!(
                unknown.is_empty(),
                "{at}: action.yml has no inputs {unknown:?}"
            );
            local_ids.extend(str_at(step, "id").map(str::to_owned));
        }
    }
    let mut exprs = Vec::new();
    expressions(job, &mut exprs);
    for id in referenced(&exprs, "steps") {
        assert!(ids.contains(&id), "{at}: no step with id `{id}`");
    }
    for (id, output) in step_outputs(&exprs) {
        assert!(
            !local_ids.contains(&id) || outputs.contains(&output),
            "{at}: action.yml has no output `{output}` (step `{id}`)"
        );
    }
}

#[test]
fn every_uses_is_pinned_to_a_version() {
    let version = Regex::new(r"^(v\d+(\.\d+){0,2}|[0-9a-f]{40})$").expect("regex");
    // dtolnay/rust-toolchain is versioned by toolchain: its refs name a channel or release.
    let toolchain = Regex::new(r"^(stable|beta|nightly|1\.\d+(\.\d+)?)$").expect("regex");
    let mut files = workflow_files();
    files.push("action.yml".into());
    let mut count = 0;
    for file in files {
        let mut uses = Vec::new();
        collect_uses(&load(&file), &mut uses);
        for u in uses {
            count += 1;
            if u.starts_with("./") {
                continue;
            }
            let (action, reference) = u
                .split_once('@')
                .unwrap_or_else(|| panic!("{file}: `uses: {u}` has no version"));
            let pinned = version.is_match(reference)
                || (action == "dtolnay/rust-toolchain" && toolchain.is_match(reference));
            assert!(
                pinned,
                "{file}: `uses: {u}` is not pinned to a major version"
            );
        }
    }
    assert!(count > 5, "found only {count} `uses:`");
}

/// Every `uses:` value in a YAML document (steps and reusable-workflow jobs).
fn collect_uses(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                match (k.as_str(), val.as_str()) {
                    (Some("uses"), Some(u)) => out.push(u.to_owned()),
                    _ => collect_uses(val, out),
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| collect_uses(i, out)),
        _ => {}
    }
}

#[test]
fn every_modelci_command_line_uses_real_subcommands_and_flags() {
    let mut cli = Cli::default();
    let mut files = workflow_files();
    files.push("action.yml".into());
    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        for inv in yaml_invocations(file, &load(file)) {
            problems.extend(cli.problems(&inv));
            let words: Vec<&str> = inv.args.iter().map(String::as_str).collect();
            let command = words
                .iter()
                .take_while(|w| !w.starts_with('-') && !w.contains('/') && !w.contains('.'))
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            let flags = words.iter().filter_map(|w| flag_of(w).map(str::to_owned));
            seen.entry(format!("{}: {command}", file_of(&inv.at)))
                .or_default()
                .extend(flags);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The checker found what the files are known to hold (so it cannot pass by finding nothing).
    let expect = [
        (
            "action.yml: check",
            &["--config", "--only", "--shard", "--junit", "--json"][..],
        ),
        ("action.yml: ", &["--version"][..]),
        (
            "model-release.yml: contract diff",
            &["--base-ref", "--format", "--output"][..],
        ),
        (
            "model-release.yml: gate",
            &["--baseline", "--record", "--promote-alias"][..],
        ),
        ("ci.yml: report merge", &["--json", "--junit"][..]),
    ];
    for (command, flags) in expect {
        let found = seen
            .get(command)
            .unwrap_or_else(|| panic!("no `{command}` in {seen:?}"));
        for flag in flags {
            assert!(
                found.contains(*flag),
                "`{command}` without `{flag}`: {found:?}"
            );
        }
    }
}

/// The file name of an invocation's location (`.github/workflows/ci.yml: step ...` gives
/// `ci.yml`).
fn file_of(at: &str) -> &str {
    let file = at.split(':').next().unwrap_or(at);
    file.rsplit('/').next().unwrap_or(file)
}

#[test]
fn the_command_line_checker_catches_wrong_subcommands_and_flags() {
    let snippet = r#"
jobs:
  demo:
    runs-on: ubuntu-latest
    steps:
      - name: fine
        run: |
          modelci contract diff api.yaml --base-ref "origin/${{ github.base_ref }}" \
            --format markdown > diff.md
          MODELCI_X=1 target/release/modelci check --config=x.toml -c x.toml --only a -- --ignored
          cargo build -p modelci --manifest-path Cargo.toml
          echo "modelci check --not-checked"
      - name: wrong flag after a continuation
        run: |
          target/release/modelci check --config x.toml \
            --shards 1/2
      - name: wrong subcommand
        run: modelci contract difff a.yaml b.yaml
      - name: prefix of a real flag
        run: '"$MODELCI" gate --candidate a.onnx --promote canary'
      - name: wrong flag in an array
        run: |
          extra=(--junit x.xml)
          if true; then extra+=(--bogus); fi
          "$MODELCI" check "${extra[@]}"
"#;
    let doc = parse("snippet", snippet);
    let invocations = yaml_invocations("snippet", &doc);
    assert_eq!(invocations.len(), 6, "{invocations:#?}");
    let mut cli = Cli::default();
    let problems: Vec<String> = invocations.iter().flat_map(|i| cli.problems(i)).collect();
    let text = problems.join("\n");
    assert_eq!(problems.len(), 4, "{text}");
    for wrong in ["`--shards`", "`difff`", "`--promote`", "`--bogus`"] {
        assert!(text.contains(wrong), "{wrong} was not caught:\n{text}");
    }
    assert!(!text.contains("step `fine`"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// The action's scripts, run with bash

/// The action's step with this id.
fn action_step(action: &Value, id: &str) -> Value {
    seq(&action["runs"], "steps")
        .iter()
        .find(|s| str_at(s, "id") == Some(id) || str_at(s, "name") == Some(id))
        .unwrap_or_else(|| panic!("action.yml has no step `{id}`"))
        .clone()
}

/// A string of action.yml with `${{ inputs.X }}` and `${{ steps.S.outputs.O }}` substituted
/// from `values` (keys `inputs.X`, `steps.S.outputs.O`; missing ones are empty).
fn render(text: &str, values: &BTreeMap<String, String>) -> String {
    let re = Regex::new(r"\$\{\{\s*([\w.-]+)\s*\}\}").expect("regex");
    re.replace_all(text, |c: &regex::Captures<'_>| {
        values.get(&c[1]).cloned().unwrap_or_default()
    })
    .into_owned()
}

/// The action's input defaults, as `inputs.X` values for [`render`], with `overrides`.
fn input_values(action: &Value, overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = keys(action, "inputs")
        .into_iter()
        .map(|name| {
            let default = str_at(&action["inputs"][name.as_str()], "default").unwrap_or("");
            (format!("inputs.{name}"), default.to_owned())
        })
        .collect();
    for (k, v) in overrides {
        values.insert(format!("inputs.{k}"), (*v).to_owned());
    }
    values
}

/// What one action step did when run.
struct StepRun {
    code: i32,
    stdout: String,
    outputs: BTreeMap<String, String>,
    env_file: String,
}

/// Runs an action step's script as the runner does (`bash --noprofile --norc -eo pipefail`),
/// with its `env:` rendered from `values`, in `dir`, with GitHub's output files in `tmp`.
fn run_step(step: &Value, values: &BTreeMap<String, String>, dir: &Path, tmp: &Path) -> StepRun {
    run_step_with(step, values, dir, tmp, &[])
}

/// [`run_step`] with more environment variables (they win over the defaults).
fn run_step_with(
    step: &Value,
    values: &BTreeMap<String, String>,
    dir: &Path,
    tmp: &Path,
    env: &[(&str, &str)],
) -> StepRun {
    let script = str_at(step, "run").expect("a run step");
    let output = tmp.join("github_output");
    let env_file = tmp.join("github_env");
    for f in [&output, &env_file] {
        std::fs::write(f, "").expect("write");
    }
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("GITHUB_WORKSPACE")
        .env("GITHUB_ACTION_PATH", root())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_ENV", &env_file)
        .env("GITHUB_STEP_SUMMARY", tmp.join("summary.md"))
        .env("RUNNER_TEMP", tmp)
        // The quickstart's `[service]` runs this build of the reference service.
        .env("MODELCI_SERVICE_BIN", crate::service_bin());
    if let Some(env) = step.get("env").and_then(Value::as_mapping) {
        for (k, v) in env {
            let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                continue;
            };
            cmd.env(k, render(v, values));
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, stdout, stderr) = run(&mut cmd);
    eprintln!("{stderr}");
    let text = std::fs::read_to_string(&output).expect("read outputs");
    StepRun {
        code,
        stdout,
        outputs: text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        env_file: std::fs::read_to_string(&env_file).expect("read env"),
    }
}

/// The action's `check` step on the quickstart's JSON Schema suites, in the repository root
/// (the quickstart's service starts too, one test at a time: its port is fixed).
fn run_check(overrides: &[(&str, &str)], tmp: &Path) -> StepRun {
    let _port = crate::QuickstartLock::take();
    let action = load("action.yml");
    let mut values = input_values(&action, overrides);
    values.insert(
        "steps.modelci.outputs.modelci".into(),
        env!("CARGO_BIN_EXE_modelci").into(),
    );
    run_step(&action_step(&action, "check"), &values, &root(), tmp)
}

#[test]
fn the_action_runs_modelci_check_and_maps_its_outputs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let junit = tmp.path().join("reports/junit.xml");
    let json = tmp.path().join("reports/report.json");
    let step = run_check(
        &[
            ("config", "examples/quickstart/modelci.toml"),
            ("only", "infer-responses  prediction-log"),
            ("junit", junit.to_str().expect("utf-8")),
            ("json", json.to_str().expect("utf-8")),
            ("args", "--jobs 2"),
        ],
        tmp.path(),
    );
    let o = &step.outputs;
    assert_eq!(step.code, 0, "{}", step.stdout);
    assert_eq!(o.get("exit-code").map(String::as_str), Some("0"), "{o:?}");
    assert_eq!(o.get("verdict").map(String::as_str), Some("pass"), "{o:?}");
    assert_eq!(o.get("failed").map(String::as_str), Some("0"), "{o:?}");
    let total: u32 = o["total"].parse().expect("a count");
    let passed: u32 = o["passed"].parse().expect("a count");
    assert!(total > 0 && passed == total, "{o:?}");
    assert_eq!(
        o.get("artifact-name").map(String::as_str),
        Some("modelci-reports")
    );
    assert_eq!(Path::new(&o["junit"]), junit);
    assert!(junit.is_file() && json.is_file(), "reports not written");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("read")).expect("json");
    let suites = report["suites"].as_array().expect("suites");
    assert_eq!(
        suites.len(),
        2,
        "--only reached modelci once per suite: {report}"
    );
}

#[test]
fn the_action_names_shard_artifacts_and_reports_a_run_that_never_started_as_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let junit = tmp.path().join("shard.xml");
    let step = run_check(
        &[
            ("config", "examples/quickstart/modelci.toml"),
            ("only", "infer-responses"),
            ("shard", "2/3"),
            ("junit", junit.to_str().expect("utf-8")),
            ("json", ""),
        ],
        tmp.path(),
    );
    let o = &step.outputs;
    assert_eq!(o.get("exit-code").map(String::as_str), Some("0"), "{o:?}");
    assert_eq!(
        o.get("artifact-name").map(String::as_str),
        Some("modelci-reports-shard-2-of-3")
    );
    assert_eq!(
        o.get("json").map(String::as_str),
        Some(""),
        "no JSON report asked for"
    );

    // A configuration that does not exist: exit 2, and still a verdict for later steps.
    let step = run_check(
        &[
            ("config", "no/such/modelci.toml"),
            ("junit", ""),
            ("json", ""),
        ],
        tmp.path(),
    );
    let o = &step.outputs;
    assert_eq!(
        step.code, 0,
        "the check step itself records the code and goes on"
    );
    assert_eq!(o.get("exit-code").map(String::as_str), Some("2"), "{o:?}");
    assert_eq!(o.get("verdict").map(String::as_str), Some("error"), "{o:?}");

    // The last step fails the job with modelci's exit code.
    let action = load("action.yml");
    let verdict = action_step(&action, "modelci verdict");
    for code in ["0", "1", "2"] {
        let mut values = BTreeMap::new();
        values.insert("steps.check.outputs.exit-code".to_owned(), code.to_owned());
        let step = run_step(&verdict, &values, &root(), tmp.path());
        assert_eq!(step.code.to_string(), code);
    }
}

#[test]
fn the_action_points_ort_dylib_path_at_the_pinned_library_beside_the_build() {
    // The step runs scripts/onnxruntime, which scripts/test has already run (so nothing is
    // fetched here); without it the test would fetch the wheel.
    let present = Command::new(root().join("scripts/onnxruntime"))
        .arg("--check")
        .env("CARGO_TARGET_DIR", root().join("target"))
        .output()
        .is_ok_and(|o| o.status.success());
    if modelci_test_support::require(
        modelci_test_support::Dependency::OnnxRuntime,
        if present {
            Ok(())
        } else {
            Err("target/onnxruntime/ has no library (run scripts/onnxruntime)".to_owned())
        },
    )
    .is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let action = load("action.yml");
    let step = action_step(&action, "Install ONNX Runtime");
    // The action builds in RUNNER_TEMP/modelci-action/target; its onnxruntime folder here is
    // the repository's (a link), so that nothing is fetched.
    let target = tmp.path().join("modelci-action/target");
    std::fs::create_dir_all(&target).expect("target");
    std::os::unix::fs::symlink(
        root().join("target/onnxruntime"),
        target.join("onnxruntime"),
    )
    .expect("link");
    let mut values = input_values(&action, &[]);
    values.insert("runner.temp".into(), tmp.path().display().to_string());
    values.insert("steps.install.outputs.from".into(), "source".into());
    let ran = run_step(&step, &values, &root(), tmp.path());
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    let lib = ran
        .env_file
        .lines()
        .find_map(|l| l.strip_prefix("ORT_DYLIB_PATH="))
        .unwrap_or_else(|| panic!("ORT_DYLIB_PATH not exported: {:?}", ran.env_file));
    assert!(Path::new(lib).is_file(), "{lib} is not a file");
    let folder = Path::new(lib).parent().expect("a folder");
    assert_eq!(
        folder,
        target.join("onnxruntime/lib"),
        "{lib} is not beside the action's build"
    );
}

// ---------------------------------------------------------------------------------------------
// Installing modelci: the release, or a build with its own cache

/// The value of a `with:` or `env:` key of a step, rendered.
fn rendered(step: &Value, section: &str, key: &str, values: &BTreeMap<String, String>) -> String {
    let text = step
        .get(section)
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {section}.{key}"));
    render(text, values)
}

#[test]
fn the_action_builds_and_caches_outside_the_workspace() {
    // With `uses: ./` the action's checkout is the workspace. Restoring a cache of
    // `<action>/target` there replaced what the workflow had built in ./target (its
    // modelci-service) with the cache's older files.
    let action = load("action.yml");
    let workspace = "/home/runner/work/repo/repo";
    let mut values = BTreeMap::new();
    for key in ["github.action_path", "github.workspace"] {
        values.insert(key.to_owned(), workspace.to_owned());
    }
    values.insert("runner.temp".into(), "/home/runner/work/_temp".into());
    let cache = action_step(&action, "Cache cargo registry and the modelci build");
    let paths = rendered(&cache, "with", "path", &values);
    let paths: Vec<&str> = paths
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for path in &paths {
        assert!(
            !path.starts_with(workspace) && !path.starts_with("./") && !path.starts_with("target"),
            "the action caches {path}, inside the workspace"
        );
    }
    let build_dir = rendered(
        &action_step(&action, "build"),
        "env",
        "CARGO_TARGET_DIR",
        &values,
    );
    assert!(
        paths.contains(&build_dir.as_str()),
        "the build folder {build_dir} is not the cached one: {paths:?}"
    );
    let ort_dir = rendered(
        &action_step(&action, "Install ONNX Runtime"),
        "env",
        "CARGO_TARGET_DIR",
        &values,
    );
    assert_eq!(
        ort_dir, build_dir,
        "ONNX Runtime is not unpacked beside the build"
    );
}

#[test]
fn the_cache_key_changes_with_every_source_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("action");
    std::fs::create_dir_all(src.join("crates/a/src")).expect("tree");
    std::fs::write(src.join("Cargo.toml"), "[workspace]\n").expect("write");
    std::fs::write(src.join("Cargo.lock"), "version = 4\n").expect("write");
    std::fs::write(src.join("crates/a/src/lib.rs"), "pub fn a() {}\n").expect("write");
    let action = load("action.yml");
    let step = action_step(&action, "key");
    let key = || {
        let ran = run_step_with(
            &step,
            &BTreeMap::new(),
            tmp.path(),
            tmp.path(),
            &[
                ("GITHUB_ACTION_PATH", src.to_str().expect("utf-8")),
                ("RUNNER_OS", "Linux"),
                ("RUNNER_ARCH", "X64"),
            ],
        );
        assert_eq!(ran.code, 0, "{}", ran.stdout);
        let key = ran.outputs.get("key").cloned().expect("a key");
        let restore = ran.outputs.get("restore").cloned().expect("restore keys");
        assert!(
            key.starts_with(&restore) && key.len() > restore.len(),
            "{key} / {restore}"
        );
        (key, restore)
    };
    let (first, restore) = key();
    assert_eq!(key().0, first, "the same sources give the same key");
    // A source change (Cargo.lock unchanged) makes a new cache, seeded by the old one.
    std::fs::write(src.join("crates/a/src/lib.rs"), "pub fn a() -> u8 { 1 }\n").expect("write");
    let (changed, changed_restore) = key();
    assert_ne!(changed, first, "the key ignores the sources");
    assert_eq!(changed_restore, restore);
    std::fs::write(src.join("crates/a/Cargo.toml"), "[package]\n").expect("write");
    assert_ne!(key().0, changed, "the key ignores a new manifest");
}

/// The action's install step with the action used at `action_ref`, against a release server.
fn run_install(action_ref: &str, base: &str, tmp: &Path) -> StepRun {
    let action = load("action.yml");
    let mut values = BTreeMap::new();
    values.insert("github.action_ref".to_owned(), action_ref.to_owned());
    values.insert(
        "github.action_repository".to_owned(),
        "modelci/modelci".to_owned(),
    );
    run_step_with(
        &action_step(&action, "install"),
        &values,
        &root(),
        tmp,
        &[
            ("MODELCI_INSTALL_BASE_URL", base),
            ("NO_PROXY", "127.0.0.1"),
            ("no_proxy", "127.0.0.1"),
        ],
    )
}

#[test]
fn the_action_installs_the_release_of_its_own_version_and_builds_only_without_one() {
    let version = env!("CARGO_PKG_VERSION");
    let tmp = tempfile::tempdir().expect("tempdir");
    crate::install::fake_release(tmp.path(), None);
    let base = crate::install::serve_folder(tmp.path().join("release"));

    // At the release tag, and at a moving major tag pointing at it: the release.
    let major = format!("v{}", version.split('.').next().expect("a major version"));
    for action_ref in [format!("v{version}"), major] {
        let ran = run_install(&action_ref, &base, tmp.path());
        assert_eq!(ran.code, 0, "{action_ref}: {}", ran.stdout);
        let o = &ran.outputs;
        assert_eq!(
            o.get("from").map(String::as_str),
            Some("release"),
            "{action_ref}: {o:?}"
        );
        let modelci = Path::new(&o["modelci"]);
        let (code, out, _) = run(Command::new(modelci).arg("--version"));
        assert_eq!(
            (code, out.trim()),
            (0, format!("modelci {version}").as_str())
        );

        // ONNX Runtime: the archive's, installed beside modelci.
        let action = load("action.yml");
        let mut values = input_values(&action, &[]);
        values.insert("steps.install.outputs.from".into(), "release".into());
        values.insert("steps.install.outputs.prefix".into(), o["prefix"].clone());
        let ort = run_step(
            &action_step(&action, "Install ONNX Runtime"),
            &values,
            &root(),
            tmp.path(),
        );
        assert_eq!(ort.code, 0, "{}", ort.stdout);
        let lib = ort
            .env_file
            .lines()
            .find_map(|l| l.strip_prefix("ORT_DYLIB_PATH="))
            .expect("ORT_DYLIB_PATH exported");
        assert!(
            lib.starts_with(&format!("{}/onnxruntime/lib/libonnxruntime", o["prefix"])),
            "{lib}"
        );
    }

    // A branch, a commit, `uses: ./`: built from source, nothing downloaded.
    for action_ref in ["main", "0123456789abcdef0123456789abcdef01234567", ""] {
        let ran = run_install(action_ref, &base, tmp.path());
        assert_eq!(ran.code, 0, "{}", ran.stdout);
        assert_eq!(
            ran.outputs.get("from").map(String::as_str),
            Some("source"),
            "`{action_ref}`"
        );
        assert!(!ran.outputs.contains_key("modelci"));
    }

    // A release tag without a release (not published yet, or none for this runner): built.
    let empty = tempfile::tempdir().expect("tempdir");
    let nothing = crate::install::serve_folder(empty.path().to_path_buf());
    let ran = run_install(&format!("v{version}"), &nothing, tmp.path());
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    assert_eq!(ran.outputs.get("from").map(String::as_str), Some("source"));
    assert!(
        ran.stdout.contains("::notice title=modelci::"),
        "{}",
        ran.stdout
    );
}

#[test]
fn the_action_never_builds_around_a_download_that_fails_its_checksum() {
    let version = env!("CARGO_PKG_VERSION");
    let tmp = tempfile::tempdir().expect("tempdir");
    crate::install::fake_release(tmp.path(), Some(&"0f".repeat(32)));
    let base = crate::install::serve_folder(tmp.path().join("release"));
    let ran = run_install(&format!("v{version}"), &base, tmp.path());
    assert_eq!(ran.code, 2, "{}", ran.stdout);
    assert!(
        ran.stdout.contains("::error title=modelci::"),
        "{}",
        ran.stdout
    );
    assert!(!ran.outputs.contains_key("from"), "{:?}", ran.outputs);
}
