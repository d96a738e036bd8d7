//! `[[suite.openapi]]` in `modelci check`: live conformance of a running service and/or
//! recorded traffic against an OpenAPI document, through the same code as `modelci contract
//! test` and `modelci contract validate`.

use modelci_openapi::{Document, Kind, Operation};
use modelci_report::{Case, Location, Properties};

use crate::json_schema::SetupError;
use crate::openapi_test::{self, LiveOptions};

/// A planned OpenAPI suite.
pub struct OpenApiCheck {
    doc: Document,
    ops: Vec<Operation>,
    live: Option<LiveOptions>,
    /// Recorded files: (display path, text or read error).
    recorded: Vec<(String, Result<String, String>)>,
    /// Breaking-change cases against the previous version, computed when planned.
    diff_cases: Vec<Case>,
    names: Vec<String>,
    secrets: modelci_net::Redactor,
    properties: Properties,
    /// Nothing to check passes (`allow_empty`).
    allow_empty: bool,
}

impl OpenApiCheck {
    /// Loads the document, reads the recorded files and lists the cases.
    ///
    /// # Errors
    /// A [`SetupError`] when the document cannot be used or a secret header is not set.
    pub fn plan(
        spec: &modelci_config::OpenApiSuite,
        config_file: &str,
    ) -> Result<OpenApiCheck, SetupError> {
        let shown = modelci_config::display_path(&spec.openapi);
        let fetch = |url: &str| crate::get_text(url, spec.timeout);
        let remote: Option<modelci_openapi::load::Fetcher<'_>> =
            spec.allow_remote_refs.then_some(&fetch);
        let doc = modelci_openapi::load::load_with(&spec.openapi, &shown, remote).map_err(|e| {
            SetupError {
                message: format!("cannot use the OpenAPI document: {e}"),
                location: match e.line {
                    Some(l) => Location::line(shown.clone(), l),
                    None => Location::line(config_file, spec.openapi_line),
                },
            }
        })?;
        if doc.kind == Kind::JsonSchema {
            return Err(SetupError {
                message: format!("`{shown}` is a JSON Schema, not an OpenAPI document"),
                location: Location::line(config_file, spec.openapi_line),
            });
        }
        let ops = modelci_openapi::operations(&doc).map_err(|e| SetupError {
            message: format!("`{shown}`: {e}"),
            location: Location::file(shown.clone()),
        })?;
        let (headers, secrets) =
            crate::resolve_headers(&spec.headers, &spec.secret_headers, config_file)?;
        let secrets = crate::redactor(
            secrets,
            &spec.base_url.as_deref().into_iter().collect::<Vec<_>>(),
            &headers,
        );
        let live = spec.base_url.as_ref().map(|url| LiveOptions {
            base_url: url.clone(),
            headers,
            operations: spec.operations.clone(),
            max_cases: spec.max_cases,
            seed: spec.seed,
            timeout: spec.timeout,
            concurrency: spec.concurrency,
            max_failures: spec.max_failures,
            max_response_time: spec.max_response_time,
            negative: spec.negative,
            stateful: spec.stateful,
            shrink: spec.shrink,
            cancel: None,
        });
        let mut names = Vec::new();
        if let Some(l) = &live {
            names.extend(openapi_test::case_names(&doc, &ops, l));
        }
        let mut recorded = Vec::new();
        for path in &spec.recorded {
            let shown = modelci_config::display_path(path);
            let text = std::fs::read(path)
                .map_err(|e| format!("failed to read `{shown}`: {e}"))
                .and_then(|b| {
                    String::from_utf8(b).map_err(|_| format!("`{shown}` is not valid UTF-8"))
                });
            match &text {
                Ok(t) => names.extend(
                    crate::openapi_recorded::validate(&doc, &ops, t, &shown)
                        .into_iter()
                        .map(|c| format!("{shown} {}", c.name)),
                ),
                Err(_) => names.push(shown.clone()),
            }
            recorded.push((shown, text));
        }
        let diff_cases = diff_cases(spec, &doc, config_file);
        names.extend(diff_cases.iter().map(|c| c.name.clone()));
        let mut properties = Properties::new();
        properties.insert("openapi", shown);
        if let Some(l) = &live {
            properties.insert("base_url", crate::shown_url(&l.base_url));
            properties.insert("seed", l.seed.to_string());
        }
        Ok(OpenApiCheck {
            doc,
            ops,
            live,
            recorded,
            diff_cases,
            names,
            secrets,
            properties,
            allow_empty: spec.allow_empty,
        })
    }

    /// Whether nothing to check may pass (`allow_empty`, `--allow-empty`).
    pub fn allows_empty(&self) -> bool {
        self.allow_empty
    }

    /// Stable case names, in order.
    pub fn case_names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The first of `filters` (operationId or `METHOD /path`) that selects no operation of the
    /// document, with the document's name.
    pub fn unknown_operation<'f>(&self, filters: &'f [String]) -> Option<(&'f str, &str)> {
        filters
            .iter()
            .find(|f| {
                !self
                    .ops
                    .iter()
                    .any(|o| openapi_test::selected(o, std::slice::from_ref(f)))
            })
            .map(|f| (f.as_str(), self.doc.source.as_str()))
    }

    /// Suite properties.
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// Runs the cases at `indices` (positions in [`case_names`](Self::case_names)).
    pub fn run_batch(&self, indices: &[usize]) -> Vec<Case> {
        self.run_with(indices, self.live.as_ref())
    }

    /// [`OpenApiCheck::run_batch`], stopping when `cancel` is set: the cases of operations
    /// whose requests were not all sent are reported as skipped.
    pub fn run_until(
        &self,
        indices: &[usize],
        cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Vec<Case> {
        let live = self.live.as_ref().map(|l| LiveOptions {
            cancel: Some(cancel),
            ..l.clone()
        });
        self.run_with(indices, live.as_ref())
    }

    fn run_with(&self, indices: &[usize], live: Option<&LiveOptions>) -> Vec<Case> {
        let wanted: Vec<&str> = indices
            .iter()
            .filter_map(|&i| self.names.get(i).map(String::as_str))
            .collect();
        let mut all: Vec<Case> = Vec::new();
        if let Some(live) = live {
            let live_names: Vec<&str> = wanted
                .iter()
                .copied()
                .filter(|n| n.contains(" › "))
                .collect();
            if !live_names.is_empty() {
                // Only the operations that have a wanted case.
                let ops: Vec<Operation> = self
                    .ops
                    .iter()
                    .filter(|o| {
                        live_names.iter().any(|n| {
                            n.starts_with(&format!("{} › ", o.label()))
                                || n.starts_with(&format!("{} › ", o.path))
                        })
                    })
                    .cloned()
                    .collect();
                all.extend(openapi_test::test(&self.doc, &ops, live));
            }
        }
        for (shown, text) in &self.recorded {
            match text {
                Ok(t) => all.extend(
                    crate::openapi_recorded::validate(&self.doc, &self.ops, t, shown)
                        .into_iter()
                        .map(|mut c| {
                            c.name = format!("{shown} {}", c.name);
                            c
                        }),
                ),
                Err(e) => all.push(
                    Case::errored(shown.clone(), e.clone())
                        .with_location(Location::file(shown.clone())),
                ),
            }
        }
        all.extend(self.diff_cases.iter().cloned());
        wanted
            .iter()
            .map(|name| {
                let mut case = all
                    .iter()
                    .find(|c| c.name == *name)
                    .cloned()
                    .unwrap_or_else(|| {
                        Case::errored(*name, "this case was not produced by the run")
                    });
                if !self.secrets.is_empty() {
                    case.map_texts(|t| self.secrets.hide(t));
                }
                case
            })
            .collect()
    }
}

/// The breaking-change cases of a suite with `previous` or `base_ref`: one per finding (failed at
/// or above `fail_on`), one passed case when nothing matters, or one errored case when the
/// previous version cannot be read.
fn diff_cases(spec: &modelci_config::OpenApiSuite, doc: &Document, config_file: &str) -> Vec<Case> {
    let (text, name) = match (&spec.previous, &spec.base_ref) {
        (Some(path), _) => {
            let shown = modelci_config::display_path(path);
            (
                std::fs::read(path)
                    .map_err(|e| format!("failed to read the previous version `{shown}`: {e}"))
                    .and_then(|b| {
                        String::from_utf8(b).map_err(|_| format!("`{shown}` is not valid UTF-8"))
                    }),
                shown,
            )
        }
        (None, Some(reference)) => {
            let name = format!("{}@{reference}", doc.source);
            match crate::contract_diff::read_at_ref(&spec.openapi, reference) {
                // A document added since the revision breaks no one: nothing to compare.
                Err(e @ crate::contract_diff::GitReadError::NotAtRef { .. }) => {
                    return vec![
                        Case::skipped(
                            format!("breaking changes since {name}"),
                            format!("{e}: the document is new, so there is nothing to compare"),
                        )
                        .with_location(Location::line(config_file, spec.openapi_line)),
                    ];
                }
                read => (read.map_err(|e| e.to_string()), name),
            }
        }
        (None, None) => return Vec::new(),
    };
    let fail_on = match spec.fail_on {
        modelci_config::FailOn::Breaking => modelci_openapi::diff::Severity::Breaking,
        modelci_config::FailOn::Warning => modelci_openapi::diff::Severity::Warning,
    };
    let mut ignores = crate::diff_ignore::IgnoreList::default();
    let ignores_read = spec.diff_ignore.iter().try_for_each(|path| {
        crate::diff_ignore::IgnoreList::load(path).map(|l| ignores.entries.extend(l.entries))
    });
    let result = ignores_read
        .and(text)
        .and_then(|t| modelci_openapi::parse(&t, &name).map_err(|e| e.to_string()))
        .and_then(|old| {
            crate::contract_diff::diff(
                &old,
                doc,
                crate::contract_diff::Roles::Both,
                &modelci_openapi::compat::Compat,
            )
        });
    match result {
        Ok(mut report) => {
            report.apply_ignores(&ignores, crate::contract_diff::today());
            // An ignore entry past its date, or one that matches nothing, shows as a skipped
            // case saying so.
            let warnings = report.warnings.iter().map(|w| {
                Case::skipped(
                    format!("breaking changes since {name}: ignore file"),
                    w.clone(),
                )
            });
            report
                .to_run("diff", fail_on, "")
                .suites
                .into_iter()
                .flat_map(|s| s.cases)
                .map(|mut c| {
                    c.name = format!("breaking changes since {name}: {}", c.name);
                    c
                })
                .chain(warnings)
                .collect()
        }
        Err(e) => vec![
            Case::errored(format!("breaking changes since {name}"), e)
                .with_location(Location::line(config_file, spec.openapi_line)),
        ],
    }
}
