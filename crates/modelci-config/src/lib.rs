//! `modelci.toml`: loading, validation and the resolved configuration.
//!
//! [`load`] reads the file, rejects unknown keys (suggesting the closest known one), checks
//! values, resolves relative paths against the file's folder and returns a [`Config`]. Every
//! error is a [`ConfigError`] whose message names the file and, when known, the line and column:
//! `modelci.toml:7:1: unknown key `fiels`; did you mean `files`?`.

mod error;
mod file;
pub mod gate;
pub mod model;
mod secret;
pub mod service;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, Diagnostic};
pub use file::{
    ConfigFile, FailOn, JsonSchemaSuiteFile, ModelSuiteFile, OpenApiSuiteFile, PactSuiteFile,
    RecordFormat,
};
pub use secret::{Secret, SecretError, check_var_name, redact};

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
        }
    }
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
    Model(ModelSuite),
    /// `[[suite.gate]]`
    Gate(Box<gate::GateSuite>),
}

/// A resolved `[[suite.model]]`.
#[derive(Debug, Clone)]
pub struct ModelSuite {
    /// The `.onnx` file (run locally, or the signature an endpoint must match).
    pub model: Option<PathBuf>,
    /// 1-based line of the `model` key (or of `endpoint` when there is no model).
    pub model_line: u32,
    /// A live Open Inference Protocol endpoint (base URL) to run the cases on.
    pub endpoint: Option<String>,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    /// Seconds per endpoint request.
    pub timeout_secs: f64,
    /// Send NaN/Inf to the endpoint as bare JSON tokens.
    pub nonfinite_tokens: bool,
    pub cases: Vec<PathBuf>,
    pub per_row: bool,
    /// Rows per batched inference (1: no batching).
    pub max_batch: usize,
    /// `cpu`, `cuda` or `auto`.
    pub device: String,
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
    pub label_output: Option<String>,
    pub edge_cases: Option<model::EdgeCases>,
    pub invariants: Option<model::Invariants>,
    pub robustness: Vec<model::Robustness>,
    pub regression: Option<model::Regression>,
}

/// Rows per batched inference when a suite does not say.
pub const DEFAULT_MAX_BATCH: usize = 1024;

/// A resolved `[[suite.openapi]]`.
#[derive(Debug, Clone)]
pub struct OpenApiSuite {
    pub openapi: PathBuf,
    /// 1-based line of the `openapi` key.
    pub openapi_line: u32,
    pub base_url: Option<String>,
    pub recorded: Vec<PathBuf>,
    /// Previous version to diff against, resolved.
    pub previous: Option<PathBuf>,
    /// Git revision to diff against.
    pub base_ref: Option<String>,
    pub fail_on: FailOn,
    pub operations: Vec<String>,
    pub allow_remote_refs: bool,
    pub max_cases: usize,
    pub seed: u64,
    pub timeout_secs: f64,
    pub concurrency: usize,
    pub headers: Vec<(String, String)>,
    /// (header name, environment variable, 1-based line).
    pub secret_headers: Vec<(String, String, u32)>,
}

/// A resolved `[[suite.pact]]`.
#[derive(Debug, Clone)]
pub struct PactSuite {
    /// Pact sources: paths resolved against the config folder, and URLs as written.
    pub pacts: Vec<String>,
    /// 1-based line of the `pacts` key.
    pub pacts_line: u32,
    pub provider_url: String,
    pub state_change_url: Option<String>,
    pub state_change_teardown: bool,
    pub filter_description: Option<String>,
    pub filter_state: Option<String>,
    /// Plain headers.
    pub headers: Vec<(String, String)>,
    /// Secret headers: (header name, environment variable, 1-based line).
    pub secret_headers: Vec<(String, String, u32)>,
    pub timeout_secs: f64,
    pub concurrency: usize,
}

/// A resolved `[[suite.json-schema]]`.
#[derive(Debug, Clone)]
pub struct JsonSchemaSuite {
    /// The schema file, resolved against the config folder.
    pub schema: PathBuf,
    /// 1-based line of the `schema` key.
    pub schema_line: u32,
    /// File patterns, each resolved against the config folder, with the text as written.
    pub files: Vec<FilePattern>,
    /// 1-based line of the `files` key.
    pub files_line: u32,
    /// How files are read.
    pub format: RecordFormat,
    /// JSON Pointer to the validated part of each document ("" for all of it).
    pub pointer: String,
    /// Whether `format` keywords are asserted.
    pub validate_formats: bool,
}

/// A path or glob pattern from the config, resolved against the config's folder.
#[derive(Debug, Clone)]
pub struct FilePattern {
    /// As written in the config.
    pub written: String,
    /// Resolved against the config's folder.
    pub resolved: String,
}

/// Reads and validates the configuration at `path`.
///
/// # Errors
/// Fails when the file cannot be read, is not valid TOML, has unknown keys or wrong types, or
/// holds values that cannot work (duplicate suite names, empty file lists, ...).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
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
    parse(path, text.strip_prefix('\u{feff}').unwrap_or(&text))
}

/// Parses configuration text as if it were the file at `path` (used by [`load`] and tests).
///
/// # Errors
/// As [`load`].
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    // `${service.url}` stands for `[service] url`: substituted in the text (same lines, so
    // positions in messages stay right) once the service's URL is known.
    if text.contains(SERVICE_URL) {
        let first: ConfigFile = parse_file(path, text)?;
        let url = first
            .service
            .as_ref()
            .and_then(|s| s.get_ref().url.clone())
            .map(|u| u.trim_end_matches('/').to_owned());
        let Some(url) = url else {
            let offset = text.find(SERVICE_URL).unwrap_or(0);
            return Err(ConfigError::At(Diagnostic::at_offset(
                &display_path(path),
                text,
                offset,
                "`${service.url}` is used, but `[service]` has no `url`".into(),
            )));
        };
        return parse_with(path, &text.replace(SERVICE_URL, &url));
    }
    parse_with(path, text)
}

/// The placeholder for `[service] url`.
pub const SERVICE_URL: &str = "${service.url}";

fn parse_file(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    let display = display_path(path);
    toml::from_str(text).map_err(|e| {
        let message = improve_message(e.message());
        match e.span() {
            Some(span) => {
                ConfigError::At(Diagnostic::at_offset(&display, text, span.start, message))
            }
            None => ConfigError::At(Diagnostic::whole_file(&display, message)),
        }
    })
}

fn parse_with(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let display = display_path(path);
    let file: ConfigFile = toml::from_str(text).map_err(|e| {
        let message = improve_message(e.message());
        match e.span() {
            Some(span) => {
                ConfigError::At(Diagnostic::at_offset(&display, text, span.start, message))
            }
            None => ConfigError::At(Diagnostic::whole_file(&display, message)),
        }
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let at = |offset: usize, message: String| {
        ConfigError::At(Diagnostic::at_offset(&display, text, offset, message))
    };
    let line_of = |offset: usize| modelci_report::line_col(text, offset).0;

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
    for spanned in file.suite.json_schema {
        let span = spanned.span();
        let raw = spanned.into_inner();
        let line = line_of(span.start);
        let name = register(&raw.name, line)?;
        if raw.schema.get_ref().as_os_str().is_empty() {
            return Err(at(
                raw.schema.span().start,
                "`schema` must not be empty".into(),
            ));
        }
        if raw.files.get_ref().is_empty() {
            return Err(at(
                raw.files.span().start,
                "`files` must list at least one path or glob pattern".into(),
            ));
        }
        if let Some(p) = raw.files.get_ref().iter().find(|p| p.trim().is_empty()) {
            return Err(at(
                raw.files.span().start,
                format!("`files` holds an empty pattern {p:?}"),
            ));
        }
        let pointer = match raw.pointer {
            Some(p) if !p.get_ref().is_empty() && !p.get_ref().starts_with('/') => {
                return Err(at(
                    p.span().start,
                    format!(
                        "`pointer` must be a JSON Pointer starting with `/` (or empty), not `{}`",
                        p.get_ref()
                    ),
                ));
            }
            Some(p) => p.into_inner(),
            None => String::new(),
        };
        let files = raw
            .files
            .get_ref()
            .iter()
            .map(|p| FilePattern {
                written: p.clone(),
                resolved: resolve(&dir, Path::new(p)).to_string_lossy().into_owned(),
            })
            .collect();
        suites.push((
            span.start,
            SuiteDecl {
                name,
                file: display.clone(),
                line,
                spec: SuiteSpec::JsonSchema(JsonSchemaSuite {
                    schema: resolve(&dir, raw.schema.get_ref()),
                    schema_line: line_of(raw.schema.span().start),
                    files,
                    files_line: line_of(raw.files.span().start),
                    format: raw.format,
                    pointer,
                    validate_formats: raw.validate_formats,
                }),
            },
        ));
    }
    for spanned in file.suite.pact {
        let span = spanned.span();
        let raw = spanned.into_inner();
        let line = line_of(span.start);
        let name = register(&raw.name, line)?;
        suites.push((
            span.start,
            pact_suite(raw, name, line, &dir, &display, text)?,
        ));
    }
    for spanned in file.suite.openapi {
        let span = spanned.span();
        let raw = spanned.into_inner();
        let line = line_of(span.start);
        let name = register(&raw.name, line)?;
        suites.push((
            span.start,
            openapi_suite(raw, name, line, &dir, &display, text)?,
        ));
    }
    for spanned in file.suite.model {
        let span = spanned.span();
        let raw = spanned.into_inner();
        let line = line_of(span.start);
        let name = register(&raw.name, line)?;
        if raw.cases.get_ref().is_empty() {
            return Err(at(
                raw.cases.span().start,
                "`cases` must list at least one golden folder or file".into(),
            ));
        }
        let device = match &raw.device {
            Some(d) if !matches!(d.get_ref().as_str(), "cpu" | "cuda" | "auto") => {
                return Err(at(
                    d.span().start,
                    format!(
                        "`device` must be `cpu`, `cuda` or `auto`, not `{}`",
                        d.get_ref()
                    ),
                ));
            }
            Some(d) => d.get_ref().clone(),
            None => "cpu".into(),
        };
        let name_at = raw.name.span().start;
        let nonneg = |key: &str, v: Option<f64>| -> Result<(), ConfigError> {
            if v.is_some_and(|x| !(x.is_finite() && x >= 0.0)) {
                return Err(at(
                    name_at,
                    format!("`{key}` must be a non-negative number"),
                ));
            }
            Ok(())
        };
        nonneg("rtol", raw.rtol)?;
        nonneg("atol", raw.atol)?;
        if raw
            .timeout_secs
            .is_some_and(|t| !(t.is_finite() && t > 0.0))
        {
            return Err(at(
                name_at,
                "`timeout_secs` must be a positive number".into(),
            ));
        }
        if raw.max_batch == Some(0) {
            return Err(at(name_at, "`max_batch` must be at least 1".into()));
        }
        let (model_line, endpoint) = match (&raw.model, &raw.endpoint) {
            (None, None) => {
                return Err(at(
                    name_at,
                    "a model suite needs `model` (an .onnx file) or `endpoint` (a live server's URL)"
                        .into(),
                ));
            }
            (_, Some(e)) => {
                let url = e.get_ref().trim_end_matches('/').to_owned();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(at(
                        e.span().start,
                        format!("`endpoint` must be an http:// or https:// URL, not `{url}`"),
                    ));
                }
                if raw.model_name.as_deref().is_none_or(str::is_empty) {
                    return Err(at(
                        e.span().start,
                        "`endpoint` needs `model_name`, the model's name on the server".into(),
                    ));
                }
                (line_of(e.span().start), Some(url))
            }
            (Some(m), None) => (line_of(m.span().start), None),
        };
        if let Some(inv) = &raw.invariants {
            nonneg(
                "invariants.probability_tolerance",
                Some(inv.probability_tolerance),
            )?;
        }
        for r in &raw.robustness {
            let what = format!("robustness `{}`", r.display_name());
            if !(r.scale.is_finite() && r.scale > 0.0) {
                return Err(at(
                    name_at,
                    format!("{what}: `scale` must be a positive number"),
                ));
            }
            if r.perturbation == model::Perturbation::Dropout && r.scale > 1.0 {
                return Err(at(
                    name_at,
                    format!("{what}: a dropout `scale` is a probability, at most 1"),
                ));
            }
            if r.samples == 0 {
                return Err(at(name_at, format!("{what}: `samples` must be at least 1")));
            }
            for (key, v) in [
                ("max_flip_rate", r.max_flip_rate),
                ("max_relative_change", r.max_relative_change),
                ("min_flip_eps", r.min_flip_eps),
            ] {
                nonneg(&format!("{what}: {key}"), v)?;
            }
            if let Some(eps) = r.min_flip_eps {
                if r.perturbation != model::Perturbation::Search {
                    return Err(at(
                        name_at,
                        format!("{what}: `min_flip_eps` needs `perturbation = \"search\"`"),
                    ));
                }
                if eps > r.scale {
                    return Err(at(
                        name_at,
                        format!(
                            "{what}: `min_flip_eps` {eps} is above `scale` {}, the largest eps searched, so it could never be checked",
                            r.scale
                        ),
                    ));
                }
            }
            if r.max_flip_rate.is_none()
                && r.max_relative_change.is_none()
                && r.min_flip_eps.is_none()
            {
                return Err(at(
                    name_at,
                    format!(
                        "{what} bounds nothing: give `max_flip_rate`, `max_relative_change` or (search) `min_flip_eps`"
                    ),
                ));
            }
        }
        let regression = match raw.regression {
            None => None,
            Some(mut r) => {
                if r.baseline.is_none() && r.baseline_endpoint.is_none() {
                    return Err(at(
                        name_at,
                        "`regression` needs `baseline` (an .onnx file) or `baseline_endpoint`"
                            .into(),
                    ));
                }
                if r.max_label_change_rate.is_none()
                    && r.max_output_drift.is_none()
                    && r.max_mean_drift.is_none()
                {
                    return Err(at(
                        name_at,
                        "`regression` bounds nothing: give `max_label_change_rate`, `max_output_drift` or `max_mean_drift`".into(),
                    ));
                }
                for (key, v) in [
                    ("regression.max_label_change_rate", r.max_label_change_rate),
                    ("regression.max_output_drift", r.max_output_drift),
                    ("regression.max_mean_drift", r.max_mean_drift),
                ] {
                    nonneg(key, v)?;
                }
                r.baseline = r.baseline.map(|p| resolve(&dir, &p));
                r.baseline_endpoint = r
                    .baseline_endpoint
                    .map(|u| u.trim_end_matches('/').to_owned());
                if r.baseline_model_name.is_none() {
                    r.baseline_model_name.clone_from(&raw.model_name);
                }
                Some(r)
            }
        };
        suites.push((
            span.start,
            SuiteDecl {
                name,
                file: display.clone(),
                line,
                spec: SuiteSpec::Model(ModelSuite {
                    model: raw.model.as_ref().map(|m| resolve(&dir, m.get_ref())),
                    model_line,
                    endpoint,
                    model_name: raw.model_name,
                    model_version: raw.model_version,
                    timeout_secs: raw.timeout_secs.unwrap_or(30.0),
                    nonfinite_tokens: raw.nonfinite_tokens,
                    cases: raw
                        .cases
                        .get_ref()
                        .iter()
                        .map(|p| resolve(&dir, p))
                        .collect(),
                    per_row: raw.per_row,
                    max_batch: raw.max_batch.unwrap_or(DEFAULT_MAX_BATCH),
                    device,
                    rtol: raw.rtol,
                    atol: raw.atol,
                    label_output: raw.label_output,
                    edge_cases: raw.edge_cases,
                    invariants: raw.invariants,
                    robustness: raw.robustness,
                    regression,
                }),
            },
        ));
    }
    for spanned in file.suite.gate {
        let span = spanned.span();
        let raw = spanned.into_inner();
        let line = line_of(span.start);
        let name = register(&raw.name, line)?;
        let spec = raw.resolve(&dir).map_err(|m| at(span.start, m))?;
        suites.push((
            span.start,
            SuiteDecl {
                name,
                file: display.clone(),
                line,
                spec: SuiteSpec::Gate(Box::new(spec)),
            },
        ));
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
    })
}

fn pact_suite(
    raw: PactSuiteFile,
    name: String,
    line: u32,
    dir: &Path,
    display: &str,
    text: &str,
) -> Result<SuiteDecl, ConfigError> {
    let at = |offset: usize, message: String| {
        ConfigError::At(Diagnostic::at_offset(display, text, offset, message))
    };
    if raw.pacts.get_ref().is_empty() {
        return Err(at(
            raw.pacts.span().start,
            "`pacts` must list at least one pact file, folder or URL".into(),
        ));
    }
    let is_url = |s: &str| s.starts_with("http://") || s.starts_with("https://");
    let pacts = raw
        .pacts
        .get_ref()
        .iter()
        .map(|p| {
            if is_url(p) {
                p.clone()
            } else {
                resolve(dir, Path::new(p)).to_string_lossy().into_owned()
            }
        })
        .collect();
    for url in std::iter::once(&raw.provider_url).chain(raw.state_change_url.iter()) {
        if !is_url(url.get_ref()) {
            return Err(at(
                url.span().start,
                format!("`{}` is not an http:// or https:// URL", url.get_ref()),
            ));
        }
    }
    for re in raw.filter_description.iter().chain(raw.filter_state.iter()) {
        if let Err(e) = regex_syntax_check(re.get_ref()) {
            return Err(at(
                re.span().start,
                format!("invalid regex `{}`: {e}", re.get_ref()),
            ));
        }
    }
    let secret_headers = secret_headers(&raw.secret_headers, text, &at)?;
    let (timeout_secs, concurrency) = limits(
        raw.timeout_secs,
        raw.concurrency,
        raw.provider_url.span().start,
        &at,
    )?;
    Ok(SuiteDecl {
        name,
        file: display.to_owned(),
        line,
        spec: SuiteSpec::Pact(PactSuite {
            pacts,
            pacts_line: modelci_report::line_col(text, raw.pacts.span().start).0,
            provider_url: raw.provider_url.into_inner(),
            state_change_url: raw.state_change_url.map(toml::Spanned::into_inner),
            state_change_teardown: raw.state_change_teardown,
            filter_description: raw.filter_description.map(toml::Spanned::into_inner),
            filter_state: raw.filter_state.map(toml::Spanned::into_inner),
            headers: raw.headers.into_iter().collect(),
            secret_headers,
            timeout_secs,
            concurrency,
        }),
    })
}

fn openapi_suite(
    raw: OpenApiSuiteFile,
    name: String,
    line: u32,
    dir: &Path,
    display: &str,
    text: &str,
) -> Result<SuiteDecl, ConfigError> {
    let at = |offset: usize, message: String| {
        ConfigError::At(Diagnostic::at_offset(display, text, offset, message))
    };
    let name_offset = raw.name.span().start;
    if raw.base_url.is_none()
        && raw.recorded.is_empty()
        && raw.previous.is_none()
        && raw.base_ref.is_none()
    {
        return Err(at(
            name_offset,
            format!(
                "suite `{name}` has nothing to check: give `base_url` (a running service), `recorded` (traffic), or `previous`/`base_ref` (a version to diff against)"
            ),
        ));
    }
    if raw.previous.is_some() && raw.base_ref.is_some() {
        return Err(at(
            name_offset,
            format!("suite `{name}`: give `previous` or `base_ref`, not both"),
        ));
    }
    if let Some(url) = &raw.base_url
        && !(url.get_ref().starts_with("http://") || url.get_ref().starts_with("https://"))
    {
        return Err(at(
            url.span().start,
            format!("`{}` is not an http:// or https:// URL", url.get_ref()),
        ));
    }
    let secret_headers = secret_headers(&raw.secret_headers, text, &at)?;
    let (timeout_secs, concurrency) = limits(raw.timeout_secs, raw.concurrency, name_offset, &at)?;
    Ok(SuiteDecl {
        name,
        file: display.to_owned(),
        line,
        spec: SuiteSpec::OpenApi(OpenApiSuite {
            openapi: resolve(dir, raw.openapi.get_ref()),
            openapi_line: modelci_report::line_col(text, raw.openapi.span().start).0,
            base_url: raw.base_url.map(toml::Spanned::into_inner),
            recorded: raw.recorded.iter().map(|p| resolve(dir, p)).collect(),
            previous: raw.previous.as_deref().map(|p| resolve(dir, p)),
            base_ref: raw.base_ref,
            fail_on: raw.fail_on.unwrap_or(FailOn::Breaking),
            operations: raw.operations,
            allow_remote_refs: raw.allow_remote_refs,
            max_cases: raw.max_cases.unwrap_or(10),
            seed: raw.seed.unwrap_or(0),
            timeout_secs,
            concurrency,
            headers: raw.headers.into_iter().collect(),
            secret_headers,
        }),
    })
}

/// Checks `secret_headers` (header name -> environment variable name), keeping each line.
fn secret_headers(
    raw: &std::collections::BTreeMap<String, toml::Spanned<String>>,
    text: &str,
    at: &dyn Fn(usize, String) -> ConfigError,
) -> Result<Vec<(String, String, u32)>, ConfigError> {
    let mut out = Vec::new();
    for (header, var) in raw {
        check_var_name(var.get_ref()).map_err(|e| at(var.span().start, e.to_string()))?;
        out.push((
            header.clone(),
            var.get_ref().clone(),
            modelci_report::line_col(text, var.span().start).0,
        ));
    }
    Ok(out)
}

/// `timeout_secs` (default 30, positive) and `concurrency` (default 8, at least 1).
fn limits(
    timeout_secs: Option<f64>,
    concurrency: Option<usize>,
    offset: usize,
    at: &dyn Fn(usize, String) -> ConfigError,
) -> Result<(f64, usize), ConfigError> {
    let timeout = timeout_secs.unwrap_or(30.0);
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(at(
            offset,
            format!("`timeout_secs` must be a positive number, not {timeout}"),
        ));
    }
    let concurrency = concurrency.unwrap_or(8);
    if concurrency == 0 {
        return Err(at(offset, "`concurrency` must be at least 1".into()));
    }
    Ok((timeout, concurrency))
}

fn regex_syntax_check(re: &str) -> Result<(), String> {
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
