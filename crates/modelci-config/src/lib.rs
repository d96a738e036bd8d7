//! `modelci.toml`: loading, validation and the resolved configuration.
//!
//! [`load`] reads the file, rejects unknown keys (suggesting the closest known one), checks
//! values, resolves relative paths against the file's folder and returns a [`Config`]. Every
//! error is a [`ConfigError`] whose message names the file and, when known, the line and column:
//! `modelci.toml:7:1: unknown key `fiels`; did you mean `files`?`.
//!
//! [`load_with`] also applies `--set KEY=VALUE` overrides to the parsed document (errors in
//! them name the override, [`ConfigError::Override`]), then expands placeholders in every string
//! value (`${NAME}`, `${NAME:-default}`, `${service.url}`; `$${` is a literal `${`), before the
//! same checks. Values read from the environment are kept in [`Config::secrets`] and never shown
//! ([`Config::hide`]). [`discover`] finds `modelci.toml` in a folder or its parents.

pub mod canary;
mod discover;
mod error;
mod file;
pub mod gate;
mod interpolate;
pub mod json_schema;
pub mod load;
pub mod model;
pub mod openapi;
mod overrides;
pub mod pact;
pub mod resilience;
mod resolve;
mod secret;
pub mod service;
pub mod shadow;
pub mod values;

use std::collections::HashMap;

use serde::Deserialize as _;
use std::path::{Path, PathBuf};

pub use discover::{Found, discover};
pub use error::{ConfigError, Diagnostic};
pub use file::ConfigFile;
pub use json_schema::{FilePattern, JsonSchemaSuite, JsonSchemaSuiteFile, RecordFormat};
pub use load::{FindMax, LoadShape, LoadSuite, LoadSuiteFile};
pub use model::{DEFAULT_MAX_BATCH, ModelSuite, ModelSuiteFile};
pub use openapi::{FailOn, OpenApiSuite, OpenApiSuiteFile};
pub use pact::{PactBroker, PactSuite, PactSuiteFile};
pub use resolve::Origin;
pub use secret::{Secret, SecretError, check_var_name};
pub use values::{BadDevice, ConvAlgoSearch, CudaOptions, Device};

/// The configuration file name `modelci check` looks for by default.
pub const DEFAULT_CONFIG: &str = "modelci.toml";

/// A loaded, validated configuration with every path resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// The configuration file, as given.
    pub path: PathBuf,
    /// The folder relative paths resolve against.
    pub dir: PathBuf,
    /// `[project] name`.
    pub project_name: Option<String>,
    /// `[report] junit`, resolved.
    pub junit: Option<PathBuf>,
    /// `[report] json`, resolved.
    pub json: Option<PathBuf>,
    /// The suites, in the order they are declared in the file.
    pub suites: Vec<SuiteDecl>,
    /// `[service]`: the system under test to start and stop.
    pub service: Option<service::Service>,
    /// The values placeholders read from the environment: they may be secrets (a token in a
    /// header), so [`Config::hide`] keeps them out of messages and reports.
    pub secrets: Vec<Secret>,
}

/// One declared suite.
#[derive(Debug, Clone)]
pub struct SuiteDecl {
    /// Unique name.
    pub name: String,
    /// Where it is declared (the config file and the line of its table header).
    pub file: String,
    /// 1-based line of the suite's table in the config file.
    pub line: u32,
    /// What to run.
    pub spec: SuiteSpec,
}

impl SuiteDecl {
    /// The kind as written in the file (`json-schema`, ...).
    pub fn kind(&self) -> &'static str {
        match self.spec {
            SuiteSpec::JsonSchema(_) => "json-schema",
            SuiteSpec::Pact(_) => "pact",
            SuiteSpec::OpenApi(_) => "openapi",
            SuiteSpec::Model(_) => "model",
            SuiteSpec::Gate(_) => "gate",
            SuiteSpec::Load(_) => "load",
            SuiteSpec::Resilience(_) => "resilience",
            SuiteSpec::Canary(_) => "canary",
            SuiteSpec::Shadow(_) => "shadow",
        }
    }

    /// The URLs this suite sends requests to (providers, endpoints, state-change hooks, pact
    /// URLs).
    pub fn urls(&self) -> Vec<&str> {
        match &self.spec {
            SuiteSpec::JsonSchema(_) => Vec::new(),
            SuiteSpec::Pact(p) => std::iter::once(p.provider_url.as_str())
                .chain(p.state_change_url.as_deref())
                .chain(p.pacts.iter().map(String::as_str).filter(|s| is_url(s)))
                .chain(p.broker.as_ref().map(|b| b.url.as_str()))
                .collect(),
            SuiteSpec::OpenApi(o) => o.base_url.as_deref().into_iter().collect(),
            SuiteSpec::Model(m) => m
                .endpoint
                .as_deref()
                .into_iter()
                .chain(
                    m.regression
                        .as_ref()
                        .and_then(|r| r.baseline_endpoint.as_deref()),
                )
                .collect(),
            SuiteSpec::Gate(g) => g.endpoint.as_deref().into_iter().collect(),
            SuiteSpec::Load(l) => vec![l.url.as_str()],
            SuiteSpec::Resilience(r) => vec![r.traffic.url.as_str()],
            SuiteSpec::Canary(c) => match &c.source {
                canary::Source::Prometheus(p) => vec![p.url.as_str()],
                canary::Source::Files { .. } => Vec::new(),
            },
            SuiteSpec::Shadow(s) => vec![s.traffic.url.as_str(), s.canary.as_str()],
        }
    }
}

impl Config {
    /// `text` with every value read from the environment by a placeholder (of
    /// [`SHORTEST_HIDDEN`] characters or more) shown as `$NAME (redacted)`: for anything shown
    /// that may quote the configuration (the service's command, URLs, case messages).
    pub fn hide(&self, text: &str) -> String {
        hide(&self.secrets, text)
    }

    /// Hides the environment's values ([`Config::hide`]) in every text of `case`: its name,
    /// message, detail, expected and actual text and properties.
    pub fn hide_case(&self, case: &mut modelci_report::Case) {
        if self.secrets.is_empty() {
            return;
        }
        case.name = self.hide(&case.name);
        case.map_texts(|t| self.hide(t));
        self.hide_properties(&mut case.properties);
    }

    /// Hides the environment's values ([`Config::hide`]) everywhere in `run`: its properties,
    /// and each suite's name, properties and cases.
    pub fn hide_run(&self, run: &mut modelci_report::Run) {
        if self.secrets.is_empty() {
            return;
        }
        self.hide_properties(&mut run.properties);
        for suite in &mut run.suites {
            suite.name = self.hide(&suite.name);
            self.hide_properties(&mut suite.properties);
            for case in &mut suite.cases {
                self.hide_case(case);
            }
        }
    }

    fn hide_properties(&self, properties: &mut modelci_report::Properties) {
        *properties = std::mem::take(properties)
            .into_iter()
            .map(|(k, v)| {
                let v = self.hide(&v);
                (k, v)
            })
            .collect();
    }

    /// Whether `suite` talks to `[service]`: one of its URLs has the service's origin (scheme,
    /// host and port; `localhost` and `127.0.0.1` count as one host). That is what
    /// `${service.url}` becomes, and it catches the service's address written out too.
    pub fn uses_service(&self, suite: &SuiteDecl) -> bool {
        let Some(service) = &self.service else {
            return false;
        };
        let targets: Vec<String> = service
            .url
            .iter()
            .chain(std::iter::once(&service.ready_url))
            .filter_map(|u| origin(u))
            .collect();
        suite
            .urls()
            .iter()
            .filter_map(|u| origin(u))
            .any(|o| targets.contains(&o))
    }
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// `scheme://host:port` of an http(s) URL, with the default port made explicit and loopback
/// names folded together.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p))
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') =>
        {
            (h.to_owned(), p.to_owned())
        }
        _ => (
            host_port.to_owned(),
            if scheme == "https" { "443" } else { "80" }.to_owned(),
        ),
    };
    let host = match host.to_ascii_lowercase().as_str() {
        "localhost" | "[::1]" => "127.0.0.1".to_owned(),
        h => h.to_owned(),
    };
    Some(format!("{scheme}://{host}:{port}"))
}

/// The kind-specific part of a suite.
#[derive(Debug, Clone)]
pub enum SuiteSpec {
    /// `[[suite.json-schema]]`
    JsonSchema(JsonSchemaSuite),
    /// `[[suite.pact]]`
    Pact(PactSuite),
    /// `[[suite.openapi]]`
    OpenApi(OpenApiSuite),
    /// `[[suite.model]]`
    Model(Box<ModelSuite>),
    /// `[[suite.gate]]`
    Gate(Box<gate::GateSuite>),
    /// `[[suite.load]]`
    Load(Box<load::LoadSuite>),
    /// `[[suite.resilience]]`
    Resilience(Box<resilience::ResilienceSuite>),
    /// `[[suite.canary]]`
    Canary(Box<canary::CanarySuite>),
    /// `[[suite.shadow]]`.
    Shadow(Box<shadow::ShadowSuite>),
}

/// Reads and validates the configuration at `path`.
///
/// # Errors
/// Fails when the file cannot be read, is not valid TOML, has unknown keys or wrong types, or
/// holds values that cannot work (duplicate suite names, empty file lists, ...).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with(path, &[])
}

/// Reads the configuration at `path`, applies `overrides` (`--set KEY=VALUE`: a dotted
/// key, `suite.NAME.KEY` for a suite's) and validates the result. Placeholders (`${NAME}`, `${NAME:-default}`,
/// `${service.url}`) are expanded from the process's environment.
///
/// # Errors
/// As [`load`], and for overrides that are malformed or set values that are not valid
/// ([`ConfigError::Override`]).
pub fn load_with(path: &Path, overrides: &[String]) -> Result<Config, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let display = display_path(path);
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        ConfigError::At(Diagnostic::at_offset(
            &display,
            &String::from_utf8_lossy(&e.into_bytes()),
            offset,
            "the file is not valid UTF-8".into(),
        ))
    })?;
    // A byte-order mark is not TOML; editors on Windows often write one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    parse_full(path, text, overrides, &|name| std::env::var_os(name))
}

/// Parses configuration text as if it were the file at `path` (used by [`load`] and tests).
///
/// # Errors
/// As [`load`].
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    parse_full(path, text, &[], &|name| std::env::var_os(name))
}

/// The placeholder for `[service] url`.
pub const SERVICE_URL: &str = "${service.url}";

/// Parses `text` (the file at `path`), applies `overrides`, expands placeholders with `env`, and
/// checks the result. An error never shows a value read from the environment.
pub(crate) fn parse_full(
    path: &Path,
    text: &str,
    overrides: &[String],
    env: interpolate::Lookup<'_>,
) -> Result<Config, ConfigError> {
    let mut used = Vec::new();
    let result = parse_document(path, text, overrides, env, &mut used);
    let secrets: Vec<Secret> = used
        .into_iter()
        .map(|(var, value)| Secret::interpolated(var, value))
        .collect();
    match result {
        Ok(mut config) => {
            config.secrets = secrets;
            Ok(config)
        }
        Err(e) => Err(hide_error(e, &secrets)),
    }
}

fn parse_document(
    path: &Path,
    text: &str,
    overrides: &[String],
    env: interpolate::Lookup<'_>,
    used: &mut Vec<(String, String)>,
) -> Result<Config, ConfigError> {
    let display = display_path(path);
    let syntax = |e: toml::de::Error| {
        let message = improve_message(e.message());
        match e.span() {
            Some(span) => {
                ConfigError::At(Diagnostic::at_offset(&display, text, span.start, message))
            }
            None => ConfigError::At(Diagnostic::whole_file(&display, message)),
        }
    };
    let document = toml::de::DeTable::parse(text).map_err(syntax)?;
    let span = document.span();
    let mut root = document.into_inner();
    let applied = overrides::apply(&mut root, text, overrides)?;
    let mut expander = interpolate::Expander::new(env);
    let expanded = interpolate::expand_document(&mut root, text, &mut expander);
    *used = std::mem::take(&mut expander.used);
    expanded.map_err(|f| resolve::locate(&display, text, &applied, f.offset, f.message))?;
    let file =
        ConfigFile::deserialize(toml::de::Deserializer::from(toml::Spanned::new(span, root)))
            .map_err(|e| {
                let message = improve_message(e.message());
                match e.span() {
                    Some(span) => {
                        let mut error =
                            resolve::locate(&display, text, &applied, span.start, message);
                        if let ConfigError::Override { message, .. } = &mut error {
                            hint_quotes(message);
                        }
                        error
                    }
                    None => ConfigError::At(Diagnostic::whole_file(&display, message)),
                }
            })?;
    check(path, text, &applied, file)
}

/// For an override whose value was read as a TOML number, boolean, date or array where a
/// string is expected: how to pass it as a string.
fn hint_quotes(message: &mut String) {
    if message.starts_with("invalid type:") && message.contains("expected a string") {
        message.push_str(" (quote the value to pass it as a string: `--set 'KEY=\"VALUE\"'`)");
    }
}

/// `e` with the values read from the environment hidden.
fn hide_error(e: ConfigError, secrets: &[Secret]) -> ConfigError {
    if secrets.is_empty() {
        return e;
    }
    match e {
        ConfigError::At(mut d) => {
            d.message = hide(secrets, &d.message);
            ConfigError::At(d)
        }
        ConfigError::Usage(m) => ConfigError::Usage(hide(secrets, &m)),
        ConfigError::Override { key, message } => ConfigError::Override {
            message: hide(secrets, &message),
            key,
        },
        e @ ConfigError::Read { .. } => e,
    }
}

/// The shortest value read from the environment that is hidden: shorter ones would blank out
/// ordinary words and numbers (as `modelci_net::Redactor` does).
pub const SHORTEST_HIDDEN: usize = 4;

/// `text` with each of `secrets`' values (of [`SHORTEST_HIDDEN`] characters or more, the
/// longest first) replaced by `$VAR (redacted)`.
fn hide(secrets: &[Secret], text: &str) -> String {
    let mut values: Vec<&Secret> = secrets
        .iter()
        .filter(|s| s.expose().chars().count() >= SHORTEST_HIDDEN)
        .collect();
    values.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
    let mut out = text.to_owned();
    for s in values {
        if out.contains(s.expose()) {
            out = out.replace(s.expose(), &s.to_string());
        }
    }
    out
}

fn check(
    path: &Path,
    text: &str,
    applied: &[overrides::Applied],
    file: ConfigFile,
) -> Result<Config, ConfigError> {
    let display = display_path(path);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let at =
        |offset: usize, message: String| resolve::locate(&display, text, applied, offset, message);
    let line_of = |offset: usize| resolve::line(text, applied, offset);

    let mut suites = Vec::new();
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut register = |name: &toml::Spanned<String>, line: u32| {
        let n = name.get_ref();
        check_name(n).map_err(|m| at(name.span().start, m))?;
        if let Some(first) = names.insert(n.clone(), line) {
            return Err(at(
                name.span().start,
                format!("suite name `{n}` is already used by the suite on line {first}"),
            ));
        }
        Ok(n.clone())
    };
    // Each kind checks its own table (`<kind>::resolve`); here only what all suites share:
    // names, lines and declaration order.
    let origin = Origin::file_with(&dir, &display, text, applied);
    let mut declare = |offset: usize, name: &toml::Spanned<String>, spec: SuiteSpec| {
        let line = line_of(offset);
        let name = register(name, line)?;
        suites.push((
            offset,
            SuiteDecl {
                name,
                file: display.clone(),
                line,
                spec,
            },
        ));
        Ok::<(), ConfigError>(())
    };
    for spanned in file.suite.json_schema {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let name = raw.name.clone();
        let spec = SuiteSpec::JsonSchema(json_schema::resolve(raw, &origin)?);
        declare(offset, &name, spec)?;
    }
    for spanned in file.suite.pact {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let name = raw.name.clone();
        let spec = SuiteSpec::Pact(pact::resolve(raw, &origin)?);
        declare(offset, &name, spec)?;
    }
    for spanned in file.suite.openapi {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let name = raw.name.clone();
        let spec = SuiteSpec::OpenApi(openapi::resolve(raw, &origin)?);
        declare(offset, &name, spec)?;
    }
    for spanned in file.suite.model {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let name = raw.name.clone();
        let spec = SuiteSpec::Model(Box::new(model::resolve(raw, &origin)?));
        declare(offset, &name, spec)?;
    }
    for spanned in file.suite.gate {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let name = raw.name.clone();
        let spec = gate::resolve(raw, &origin)?;
        declare(offset, &name, SuiteSpec::Gate(Box::new(spec)))?;
    }
    for spanned in file.suite.load {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let name = raw.name.clone();
        let spec = load::resolve(raw, &origin)?;
        declare(offset, &name, SuiteSpec::Load(Box::new(spec)))?;
    }
    for spanned in file.suite.resilience {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let name = raw.name.clone();
        let spec = resilience::resolve(raw, &origin)?;
        declare(offset, &name, SuiteSpec::Resilience(Box::new(spec)))?;
    }
    for spanned in file.suite.canary {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let name = raw.name.clone();
        let spec = canary::resolve(raw, &origin)?;
        declare(offset, &name, SuiteSpec::Canary(Box::new(spec)))?;
    }
    for spanned in file.suite.shadow {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let name = raw.name.clone();
        let spec = shadow::resolve(raw, &origin)?;
        declare(offset, &name, SuiteSpec::Shadow(Box::new(spec)))?;
    }
    suites.sort_by_key(|(offset, _)| *offset);

    let junit = file
        .report
        .junit
        .map(|p| (p.span().start, resolve(&dir, p.get_ref())));
    let json = file
        .report
        .json
        .map(|p| (p.span().start, resolve(&dir, p.get_ref())));
    if let (Some((_, j)), Some((offset, k))) = (&junit, &json)
        && j == k
    {
        {
            return Err(at(
                *offset,
                format!(
                    "`report.junit` and `report.json` both write `{}`",
                    k.display()
                ),
            ));
        }
    }
    let service = match file.service {
        None => None,
        Some(spanned) => {
            let start = spanned.span().start;
            Some(
                spanned
                    .into_inner()
                    .resolve(&dir, line_of(start))
                    .map_err(|m| at(start, m))?,
            )
        }
    };
    Ok(Config {
        path: path.to_path_buf(),
        dir: dir.clone(),
        project_name: file.project.name,
        junit: junit.map(|(_, p)| p),
        json: json.map(|(_, p)| p),
        suites: suites.into_iter().map(|(_, s)| s).collect(),
        service,
        secrets: Vec::new(),
    })
}

pub(crate) fn regex_syntax_check(re: &str) -> Result<(), String> {
    regex::Regex::new(re)
        .map(|_| ())
        .map_err(|e| e.to_string().replace('\n', " "))
}

/// The JSON Schema of `modelci.toml`, pretty-printed.
pub fn schema() -> String {
    let schema = schemars::schema_for!(ConfigFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Joins a config-relative path onto the config's folder, keeping paths short for display.
pub fn resolve(dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || dir == Path::new(".") {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

/// A path for messages: without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_owned()
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("suite `name` must not be empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "suite name `{name}` has the character {c:?}; use letters, digits, `.`, `_` and `-`"
        ));
    }
    Ok(())
}

/// Rewrites serde's messages into modelci's words, adding a suggestion for unknown keys.
fn improve_message(message: &str) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once('`')
    {
        {
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            let mut out = format!("unknown key `{key}`");
            if let Some(best) = suggest(key, &candidates) {
                out.push_str(&format!("; did you mean `{best}`?"));
            } else if !candidates.is_empty() {
                let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
                out.push_str(&format!("; expected one of {}", list.join(", ")));
            } else {
                out.push_str("; this table takes no keys");
            }
            return out;
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((key, _)) = rest.split_once('`')
    {
        {
            return format!("missing required key `{key}`");
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((value, expected)) = rest.split_once('`')
    {
        {
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
            let mut out = format!(
                "unknown value `{value}`; expected one of {}",
                list.join(", ")
            );
            if let Some(best) = suggest(value, &candidates) {
                out = format!("unknown value `{value}`; did you mean `{best}`?");
            }
            return out;
        }
    }
    message.replace('\n', " ")
}

/// The candidate closest to `word`, when it is close enough to be a likely typo
/// ([`modelci_text::suggest`]).
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    modelci_text::suggest(word, candidates.iter().copied())
}

#[cfg(test)]
mod tests;
