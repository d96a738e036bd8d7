//! The plan written as `modelci.toml`: every suite with a comment that says what it does, the
//! keys a user is likely to change, and the defaults shown commented.

use crate::detect::Container;
use crate::plan::{GateSuite, ModelSuite, OpenApiSuite, PactSuite, Plan, SchemaSuite};

/// Where paths go: written relative to the configuration file's folder.
pub struct Paths {
    /// The path from the configuration's folder to the scanned folder (`/` separators; empty
    /// when they are the same folder).
    pub prefix: String,
}

impl Paths {
    /// A scanned-folder-relative path as the configuration writes it.
    pub fn path(&self, rel: &str) -> String {
        join(&self.prefix, rel)
    }

    /// The same for a glob pattern whose literal part is already escaped.
    fn pattern(&self, rel: &str) -> String {
        join(&glob::Pattern::escape(&self.prefix), rel)
    }
}

fn join(prefix: &str, rel: &str) -> String {
    match (prefix.is_empty(), rel) {
        (true, "./") => "./".into(),
        (true, _) => rel.to_owned(),
        (false, "./") => format!("{prefix}/"),
        (false, _) => format!("{prefix}/{rel}"),
    }
}

/// The placeholder address of a service nobody has described yet.
const SERVICE_URL: &str = "http://127.0.0.1:8080";

/// Column where trailing comments start.
const NOTE_COLUMN: usize = 40;

/// Renders the configuration.
pub fn render(plan: &Plan, project: &str, paths: &Paths) -> String {
    let mut w = Writer::default();
    w.comments(&[
        "modelci.toml, written by `modelci init` from what it found in this repository.",
        "`modelci check` runs every suite below that is not commented out; the commented ones need",
        "something first (a running service, golden cases, thresholds). Paths are relative to this",
        "file. Every key: docs/configuration.md, or `modelci schema config` for the JSON Schema.",
    ]);
    w.blank();
    w.line("[project]");
    w.key(false, "name", &q(project), Some("shown in reports"));
    w.blank();
    w.comments(&[
        "Report files for CI (--junit and --json override them; their folder must exist).",
    ]);
    w.line("# [report]");
    w.key(true, "junit", &q("reports/junit.xml"), None);
    w.key(true, "json", &q("reports/report.json"), None);
    service(&mut w, plan, paths);
    for s in &plan.json_schema {
        json_schema(&mut w, s, paths);
    }
    for s in &plan.openapi {
        openapi(&mut w, s, paths);
    }
    for s in &plan.pact {
        pact(&mut w, s, paths);
    }
    for s in &plan.model {
        model(&mut w, s, paths);
    }
    for s in &plan.gate {
        gate(&mut w, s, paths);
    }
    if plan.json_schema.is_empty()
        && plan.openapi.is_empty()
        && plan.pact.is_empty()
        && plan.model.is_empty()
        && plan.gate.is_empty()
    {
        templates(&mut w);
    }
    w.text
}

fn service(w: &mut Writer, plan: &Plan, paths: &Paths) {
    w.blank();
    let mut found: Vec<String> = plan
        .containers
        .iter()
        .map(|(rel, _)| paths.path(rel))
        .collect();
    found.truncate(3);
    w.comments(&[
        "The system under test. With `command`, `modelci check` starts it before the suites, waits",
        "until `ready_url` answers 2xx and stops it afterwards; without it, modelci waits for a",
        "service that is already running. Suites that talk to it use its `url`.",
    ]);
    if !found.is_empty() {
        w.comment(&format!("Found: {}.", one_line(&found.join(", "), 200)));
    }
    w.line("# [service]");
    let command = plan
        .containers
        .iter()
        .find(|(_, c)| *c == Container::Compose)
        .map(|(rel, _)| format!("docker compose -f {} up --build", shell(&paths.path(rel))))
        .or_else(|| {
            plan.containers.first().map(|(rel, _)| {
                let file = paths.path(rel);
                let dir = match crate::plan::parent(&file) {
                    "" => ".".to_owned(),
                    d => d.to_owned(),
                };
                format!(
                    "docker build -t my-service -f {} {} && exec docker run --rm -p 8080:8080 my-service",
                    shell(&file),
                    shell(&dir)
                )
            })
        })
        .unwrap_or_else(|| "./run-my-service --port 8080".into());
    w.key(
        true,
        "command",
        &q(&command),
        Some("a shell line, or a list of arguments"),
    );
    w.key(true, "url", &q(SERVICE_URL), None);
    w.key(
        true,
        "ready_url",
        &q(&format!("{SERVICE_URL}/health")),
        Some("default: `url`"),
    );
    w.key(true, "ready_timeout_secs", "60", Some("the default"));
    w.key(
        true,
        "stop_timeout_secs",
        "10",
        Some("the default: SIGTERM, then SIGKILL"),
    );
    w.key(true, "env", "{ LOG_LEVEL = \"info\" }", None);
}

fn json_schema(w: &mut Writer, s: &SchemaSuite, paths: &Paths) {
    w.blank();
    w.comments(&[
        "Recorded documents checked against a JSON Schema: one case per file, one per line of a",
        "JSON Lines file.",
    ]);
    w.comment(&format!(
        "Found {} recorded file(s) that the schema accepts{}.",
        s.documents,
        if s.pointer.is_some() {
            " (the part under `pointer`)"
        } else {
            ""
        }
    ));
    w.line("[[suite.json-schema]]");
    w.key(false, "name", &q(&s.name), None);
    w.key(false, "schema", &q(&paths.path(&s.schema)), None);
    let files: Vec<String> = s.files.iter().map(|f| paths.pattern(f)).collect();
    w.key(
        false,
        "files",
        &array(&files),
        Some("paths or globs; a pattern matching nothing fails"),
    );
    match &s.pointer {
        Some(p) => w.key(
            false,
            "pointer",
            &q(p),
            Some("validate only this part of each document"),
        ),
        None => w.key(
            true,
            "pointer",
            &q("/body"),
            Some("validate only this part of each document"),
        ),
    }
    w.key(true, "format", &q("auto"), Some("auto | json | jsonl"));
    w.key(
        true,
        "validate_formats",
        "true",
        Some("assert `format` (date-time, email, uri, ...)"),
    );
}

fn openapi(w: &mut Writer, s: &OpenApiSuite, paths: &Paths) {
    w.blank();
    let active = s.active();
    w.comments(&[
        "The service's OpenAPI document. With `base_url`, the running service is tested live: the",
        "document's examples plus generated valid and invalid requests, each response checked for",
        "status, content type, headers and body schema. `previous` or `base_ref`: breaking changes",
        "since that version fail. `recorded`: HAR or JSON Lines traffic checked against it.",
    ]);
    if !active {
        w.comments(&[
            "Commented out: nothing to check it with yet. Set `base_url` (a running service) or",
            "`base_ref` (a git revision that has this document), then uncomment.",
        ]);
    }
    let c = !active;
    w.line(if c {
        "# [[suite.openapi]]"
    } else {
        "[[suite.openapi]]"
    });
    w.key(c, "name", &q(&s.name), None);
    w.key(c, "openapi", &q(&paths.path(&s.openapi)), None);
    if let Some(p) = &s.previous {
        w.key(
            c,
            "previous",
            &q(&paths.path(p)),
            Some("breaking changes since this version fail"),
        );
    }
    if let Some(r) = &s.base_ref {
        w.key(
            c,
            "base_ref",
            &q(r),
            Some("breaking changes since this git revision fail"),
        );
    }
    if !s.recorded.is_empty() {
        let recorded: Vec<String> = s.recorded.iter().map(|r| paths.path(r)).collect();
        w.key(c, "recorded", &array(&recorded), None);
    }
    if active {
        w.key(
            true,
            "base_url",
            &q(SERVICE_URL),
            Some("test the running service live"),
        );
        if s.previous.is_none() && s.base_ref.is_none() {
            w.key(
                true,
                "base_ref",
                &q("origin/main"),
                Some("or `previous = \"openapi.v1.yaml\"`"),
            );
        }
        w.key(true, "fail_on", &q("breaking"), Some("breaking | warning"));
        w.key(
            true,
            "max_cases",
            "10",
            Some("generated valid requests per operation"),
        );
        w.key(
            true,
            "seed",
            "0",
            Some("the same seed sends the same requests"),
        );
        w.key(true, "timeout_secs", "30", None);
        w.key(true, "concurrency", "8", None);
        w.key(
            true,
            "operations",
            "[\"getThing\", \"POST /things\"]",
            Some("only these (default: all)"),
        );
        w.key(
            true,
            "secret_headers",
            "{ Authorization = \"API_TOKEN\" }",
            Some("value from $API_TOKEN"),
        );
    } else {
        w.key(
            true,
            "base_url",
            &q(SERVICE_URL),
            Some("test the running service live"),
        );
        w.key(
            true,
            "base_ref",
            &q("origin/main"),
            Some("and/or diff against this git revision"),
        );
    }
}

fn pact(w: &mut Writer, s: &PactSuite, paths: &Paths) {
    w.blank();
    w.comment(&format!(
        "Consumer-driven contracts (Pact) with the provider `{}`:",
        one_line(&s.provider, 60)
    ));
    w.comments(&[
        "each interaction replayed against the running provider. Commented out: it needs the",
        "provider running. Set `provider_url` (or fill in `[service]` and use its `url`), then",
        "uncomment.",
    ]);
    w.line("# [[suite.pact]]");
    w.key(true, "name", &q(&s.name), None);
    let pacts: Vec<String> = s.pacts.iter().map(|p| paths.path(p)).collect();
    w.key(
        true,
        "pacts",
        &array(&pacts),
        Some("files, folders or a broker's https:// URLs"),
    );
    w.key(true, "provider_url", &q(SERVICE_URL), None);
    w.key(
        true,
        "state_change_url",
        &q(&format!("{SERVICE_URL}/_pact/state")),
        Some("where provider states are set up"),
    );
}

fn model(w: &mut Writer, s: &ModelSuite, paths: &Paths) {
    w.blank();
    w.comments(&[
        "The ONNX model on ONNX Runtime: every golden case's outputs compared with the recorded",
        "ones, then edge cases and invariants (on by default), and the robustness and regression",
        "checks below when you uncomment them.",
    ]);
    let active = !s.cases.is_empty() && !s.lfs_pointer;
    if s.lfs_pointer {
        w.comments(&[
            "Commented out: the .onnx file is a Git LFS pointer here (run `git lfs pull`).",
        ]);
    } else if s.cases.is_empty() {
        w.comments(&[
            "Commented out: no golden cases found next to it. Record some from inputs you trust:",
        ]);
        w.comment(&format!(
            "  modelci model record --model {} --inputs INPUTS.npz --out {}",
            shell(&paths.path(&s.model)),
            shell(&paths.path(&golden_name(&s.model)))
        ));
    }
    let c = !active;
    w.line(if c {
        "# [[suite.model]]"
    } else {
        "[[suite.model]]"
    });
    w.key(c, "name", &q(&s.name), None);
    w.key(c, "model", &q(&paths.path(&s.model)), None);
    let cases: Vec<String> = if s.cases.is_empty() {
        vec![paths.path(&golden_name(&s.model))]
    } else {
        s.cases.iter().map(|p| paths.path(p)).collect()
    };
    w.key(
        c,
        "cases",
        &array(&cases),
        Some("test_data_set_N folders, .json, .npz"),
    );
    w.key(true, "device", &q("cpu"), Some("cpu | cuda | auto"));
    w.key(
        true,
        "per_row",
        "false",
        Some("one case per row of each golden case"),
    );
    w.key(
        true,
        "max_batch",
        "1024",
        Some("rows per inference (1: no batching)"),
    );
    w.key(true, "rtol", "1e-5", Some("default: per dtype"));
    w.key(true, "atol", "1e-6", Some("default: per dtype"));
    w.blank();
    w.comments(&[
        "Inputs the model must refuse cleanly, or survive (all on by default). A model without",
        "an input guard answers NaN to NaN: then set `non_finite` to \"reject\" or \"off\".",
    ]);
    w.line("# [suite.model.edge_cases]");
    w.key(true, "wrong_shape", "true", None);
    w.key(true, "wrong_dtype", "true", None);
    w.key(true, "empty_batch", "true", None);
    w.key(
        true,
        "non_finite",
        &q("finite"),
        Some("finite | reject | off"),
    );
    w.key(true, "extreme_values", "true", None);
    w.blank();
    w.comments(&[
        "The same answer alone or in a batch, and twice in a row (on by default); outputs that",
        "must be probability distributions.",
    ]);
    w.line("# [suite.model.invariants]");
    w.key(true, "batch_invariance", "true", None);
    w.key(true, "determinism", "true", None);
    w.key(
        true,
        "probabilities",
        "[\"probabilities\"]",
        Some("output names (default: none)"),
    );
    w.blank();
    w.comments(&["Small input noise must not flip labels (seeded: the same noise everywhere)."]);
    w.line("# [[suite.model.robustness]]");
    w.key(
        true,
        "perturbation",
        &q("gaussian"),
        Some("gaussian | uniform | dropout | search"),
    );
    w.key(true, "scale", "0.02", None);
    w.key(true, "samples", "10", None);
    w.key(true, "seed", "0", None);
    w.key(true, "max_flip_rate", "0.05", None);
    w.blank();
    w.comments(&["This model against an earlier one on the same rows."]);
    w.line("# [suite.model.regression]");
    let baseline = s
        .baseline
        .as_deref()
        .map_or_else(|| "model-previous.onnx".to_owned(), |b| paths.path(b));
    w.key(true, "baseline", &q(&baseline), None);
    w.key(true, "max_label_change_rate", "0.01", None);
    w.key(true, "max_output_drift", "0.2", None);
}

fn golden_name(model: &str) -> String {
    let stem = model.strip_suffix(".onnx").unwrap_or(model);
    format!("{stem}.golden.json")
}

fn gate(w: &mut Writer, s: &GateSuite, paths: &Paths) {
    w.blank();
    w.comments(&[
        "The release gate: the candidate model run on a labelled dataset and judged against",
        "accuracy, fairness and latency thresholds from a local file (with MLflow, the registry's",
        "tags override it), one case per threshold.",
    ]);
    let active = s.active();
    match (&s.candidate, &s.thresholds) {
        (None, _) => w.comments(&[
            "Commented out: no .onnx model found for it. Set `candidate` (a file, or version:N /",
            "alias:NAME with `model_name`), then uncomment.",
        ]),
        (Some(_), None) => w.comments(&[
            "Commented out: no thresholds file found (`thresholds.toml`: a table per metric,",
            "e.g. [accuracy_score] threshold = 0.9, greater_is_better = true). Write one, then",
            "uncomment.",
        ]),
        _ => {}
    }
    let c = !active;
    w.line(if c {
        "# [[suite.gate]]"
    } else {
        "[[suite.gate]]"
    });
    w.key(c, "name", &q(&s.name), None);
    let candidate = s
        .candidate
        .as_deref()
        .map_or_else(|| "model.onnx".to_owned(), |m| paths.path(m));
    w.key(
        c,
        "candidate",
        &q(&candidate),
        Some("a file, or version:N / alias:NAME"),
    );
    w.key(c, "dataset", &q(&paths.path(&s.dataset)), None);
    w.key(c, "label", &q(&s.label), s.guessed.as_deref());
    let thresholds = s
        .thresholds
        .as_deref()
        .map_or_else(|| "thresholds.toml".to_owned(), |t| paths.path(t));
    w.key(c, "thresholds", &q(&thresholds), None);
    if !s.sensitive.is_empty() {
        w.key(
            c,
            "sensitive",
            &array(&s.sensitive),
            Some("fairness across these groups"),
        );
    }
    if !s.features.is_empty() {
        let shown: Vec<String> = s.features.iter().take(8).cloned().collect();
        w.key(
            true,
            "features",
            &array(&shown),
            Some("default: the numeric columns"),
        );
    }
    if s.sensitive.is_empty() {
        w.key(
            true,
            "sensitive",
            "[\"group\"]",
            Some("fairness across these groups"),
        );
    }
    w.key(
        true,
        "baseline",
        &q("alias:champion"),
        Some("compare with the current model"),
    );
    w.key(
        true,
        "model_name",
        &q("my-model"),
        Some("the registered model in MLflow"),
    );
    w.key(
        true,
        "task",
        &q("classifier"),
        Some("classifier | regressor"),
    );
    w.key(
        true,
        "min_group_size",
        "30",
        Some("smaller groups are not judged"),
    );
    w.key(true, "device", &q("cpu"), Some("cpu | cuda | auto"));
    w.key(true, "resamples", "1000", Some("bootstrap resamples"));
    if s.latency {
        w.blank();
        w.comments(&["The thresholds name latency metrics: time the candidate."]);
        w.line(if c {
            "# [suite.gate.latency]"
        } else {
            "[suite.gate.latency]"
        });
        w.key(c, "batch_sizes", "[1]", None);
        w.key(true, "iterations", "100", Some("the default"));
        w.key(true, "warmup", "10", Some("the default"));
    } else {
        w.line("# [suite.gate.latency]");
        w.key(
            true,
            "batch_sizes",
            "[1]",
            Some("time the candidate at these batch sizes"),
        );
    }
}

/// Commented examples of every kind, for a repository where nothing was found.
fn templates(w: &mut Writer) {
    w.blank();
    w.comments(&[
        "Nothing modelci checks was found, so there are no suites yet, and `modelci check` stops",
        "with \"declares no suites\" (exit 2) until you uncomment one: a gate that checks nothing",
        "must not pass. Examples of each kind:",
    ]);
    w.blank();
    w.comments(&["Recorded JSON documents against a JSON Schema."]);
    w.line("# [[suite.json-schema]]");
    w.key(true, "name", &q("responses"), None);
    w.key(true, "schema", &q("schemas/response.schema.json"), None);
    w.key(
        true,
        "files",
        "[\"recorded/*.json\", \"logs/**/*.jsonl\"]",
        None,
    );
    w.blank();
    w.comments(&["A service against its OpenAPI document, live and for breaking changes."]);
    w.line("# [[suite.openapi]]");
    w.key(true, "name", &q("api"), None);
    w.key(true, "openapi", &q("openapi.yaml"), None);
    w.key(true, "base_url", &q(SERVICE_URL), None);
    w.key(true, "base_ref", &q("origin/main"), None);
    w.blank();
    w.comments(&["Pact files replayed against the provider."]);
    w.line("# [[suite.pact]]");
    w.key(true, "name", &q("consumer-contracts"), None);
    w.key(true, "pacts", "[\"pacts/\"]", None);
    w.key(true, "provider_url", &q(SERVICE_URL), None);
    w.blank();
    w.comments(&["Golden cases on an ONNX model (`modelci model record` writes them)."]);
    w.line("# [[suite.model]]");
    w.key(true, "name", &q("classifier"), None);
    w.key(true, "model", &q("model/classifier.onnx"), None);
    w.key(true, "cases", "[\"model/golden.json\"]", None);
    w.blank();
    w.comments(&["A candidate model judged on a labelled dataset against thresholds."]);
    w.line("# [[suite.gate]]");
    w.key(true, "name", &q("release-gate"), None);
    w.key(true, "candidate", &q("model/classifier.onnx"), None);
    w.key(true, "dataset", &q("data/eval.csv"), None);
    w.key(true, "label", &q("label"), None);
    w.key(true, "thresholds", &q("thresholds.toml"), None);
}

#[derive(Default)]
struct Writer {
    text: String,
}

impl Writer {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }

    fn comment(&mut self, text: &str) {
        self.line(format!("# {}", one_line(text, 300)).trim_end());
    }

    fn comments(&mut self, lines: &[&str]) {
        for l in lines {
            self.comment(l);
        }
    }

    /// `key = value`, commented out when `commented`, with a trailing note.
    fn key(&mut self, commented: bool, key: &str, value: &str, note: Option<&str>) {
        let mut line = format!("{}{key} = {value}", if commented { "# " } else { "" });
        if let Some(note) = note {
            let width = line.chars().count();
            let pad = if width + 2 <= NOTE_COLUMN {
                NOTE_COLUMN - width
            } else {
                2
            };
            line.push_str(&" ".repeat(pad));
            line.push_str("# ");
            line.push_str(&one_line(note, 200));
        }
        self.line(&line);
    }
}

/// Text for a comment: one line (control characters become spaces), at most `max` characters,
/// and never `${` (the configuration loader reads `${service.url}` even in comments).
pub fn one_line(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        out.push_str("...");
    }
    out.replace("${", "$ {")
}

/// A TOML basic string. `${` is written `$${`, the configuration's escape for a literal `${`,
/// so that no value (a path with `${` in its name) is read as a placeholder.
pub fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' if chars.peek() == Some(&'{') => out.push_str("$$"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn array(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|i| q(i)).collect();
    format!("[{}]", parts.join(", "))
}

/// A word for a shell command line (in a comment, or a message): quoted when it needs to be.
pub fn shell(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%".contains(&b))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_toml_and_never_spell_a_placeholder() {
        assert_eq!(q("a\"b\\c\n${x}$y"), r#""a\"b\\c\n$${x}$y""#);
        assert_eq!(q("\u{7}"), r#""\u0007""#);
        assert_eq!(one_line("a\nb${c}", 100), "a b$ {c}");
        assert_eq!(one_line("abcdef", 3), "abc...");
    }

    #[test]
    fn paths_are_joined_to_the_prefix() {
        let same = Paths {
            prefix: String::new(),
        };
        assert_eq!(same.path("a/b.json"), "a/b.json");
        assert_eq!(same.path("./"), "./");
        let up = Paths {
            prefix: "../repo".into(),
        };
        assert_eq!(up.path("pacts/"), "../repo/pacts/");
        assert_eq!(up.path("./"), "../repo/");
        let odd = Paths {
            prefix: "../[x]".into(),
        };
        assert_eq!(odd.pattern("r/*.json"), "../[[]x[]]/r/*.json");
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell("model/m.onnx"), "model/m.onnx");
        assert_eq!(shell("my model's.onnx"), r"'my model'\''s.onnx'");
    }
}

#[cfg(test)]
mod loads {
    use super::q;

    #[test]
    fn a_value_with_a_placeholder_in_it_loads_as_written() {
        // A file whose name holds `${HOME}` must stay that name, not the home folder.
        let text = format!(
            "[[suite.json-schema]]\nname = \"s\"\nschema = {}\nfiles = [{}]\n",
            q("schemas/${HOME}.json"),
            q("recorded/*.json")
        );
        let config =
            modelci_config::parse(std::path::Path::new("modelci.toml"), &text).expect("loads");
        let modelci_config::SuiteSpec::JsonSchema(s) = &config.suites[0].spec else {
            panic!("not a json-schema suite");
        };
        assert_eq!(s.schema, std::path::Path::new("schemas/${HOME}.json"));
    }
}
