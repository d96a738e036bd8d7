//! Changes to a canary suite from outside the configuration: `modelci canary judge`'s flags and
//! `modelci canary serve`'s query parameters (another source, window or scopes; A/A mode).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use modelci_config::canary::{CanarySuite, Prometheus, Source};
use modelci_config::load::DurationValue;

/// What to change; each `None` or empty field leaves the suite's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// Samples from these two files.
    pub files: Option<(PathBuf, PathBuf)>,
    /// Query this Prometheus.
    pub prometheus: Option<String>,
    /// The window's length (`10m`).
    pub window: Option<String>,
    /// Its end (RFC 3339 or Unix seconds).
    pub end: Option<String>,
    /// The step (`15s`).
    pub step: Option<String>,
    /// Baseline placeholder values, `KEY=VALUE`.
    pub baseline: Vec<String>,
    /// Canary placeholder values, `KEY=VALUE`.
    pub canary: Vec<String>,
    /// A/A mode.
    pub aa: bool,
}

/// `KEY=VALUE` pairs into a scope.
pub fn scope(pairs: &[String], flag: &str) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| format!("{flag} takes KEY=VALUE (e.g. version=2), not `{p}`"))
        })
        .collect()
}

fn duration(text: &str, flag: &str) -> Result<Duration, String> {
    let d = DurationValue::Text(text.to_owned()).get(flag)?;
    if d.is_zero() {
        return Err(format!("{flag} must be more than zero"));
    }
    Ok(d)
}

/// Applies `o` to `spec`; `names` gives the flag (or parameter) name of each field as the user
/// wrote it: `window`, `end`, `step`, `prometheus`, `baseline`, `canary`.
///
/// # Errors
/// A malformed value, or one that does not fit the source (a window for files).
pub fn apply(
    o: &Overrides,
    spec: &mut CanarySuite,
    names: &dyn Fn(&str) -> String,
) -> Result<(), String> {
    if let Some((b, c)) = &o.files {
        spec.source = Source::Files {
            baseline: b.clone(),
            canary: c.clone(),
        };
    }
    if let Some(url) = &o.prometheus {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "{} must be an http:// or https:// URL, not `{url}`",
                names("prometheus")
            ));
        }
        let url = url.trim_end_matches('/').to_owned();
        match &mut spec.source {
            Source::Prometheus(p) => p.url = url,
            Source::Files { .. } => {
                spec.source = Source::Prometheus(Prometheus {
                    url,
                    window: Duration::from_secs(600),
                    end: None,
                    step: Duration::from_secs(15),
                    timeout: Duration::from_secs(30),
                    headers: Vec::new(),
                    secret_headers: Vec::new(),
                });
            }
        }
    }
    let window_flags = o.window.is_some() || o.end.is_some() || o.step.is_some();
    match &mut spec.source {
        Source::Prometheus(p) => {
            if let Some(w) = &o.window {
                p.window = duration(w, &names("window"))?;
            }
            if let Some(s) = &o.step {
                p.step = duration(s, &names("step"))?;
            }
            if let Some(e) = &o.end {
                p.end = Some(modelci_config::canary::parse_end(e).ok_or_else(|| {
                    format!("{} must be an RFC 3339 time (`2026-12-05T10:00:00Z`) or Unix seconds, not `{e}`", names("end"))
                })?);
            }
            if p.step > p.window {
                return Err(format!(
                    "the step ({} s) is longer than the window ({} s)",
                    p.step.as_secs_f64(),
                    p.window.as_secs_f64()
                ));
            }
            if spec.metrics.iter().any(|m| m.query.is_none()) {
                let names: Vec<&str> = spec
                    .metrics
                    .iter()
                    .filter(|m| m.query.is_none())
                    .map(|m| m.name.as_str())
                    .collect();
                return Err(format!(
                    "with Prometheus, each metric needs a `query`; these have none: {}",
                    names.join(", ")
                ));
            }
        }
        Source::Files { .. } if window_flags => {
            return Err(format!(
                "{}, {} and {} apply to Prometheus; the samples come from files",
                names("window"),
                names("end"),
                names("step")
            ));
        }
        Source::Files { .. } => {}
    }
    spec.baseline
        .extend(scope(&o.baseline, &names("baseline"))?);
    spec.canary.extend(scope(&o.canary, &names("canary"))?);
    if matches!(spec.source, Source::Prometheus(_)) {
        for m in &spec.metrics {
            let q = m.query.as_deref().unwrap_or_default();
            for (side, values) in [("baseline", &spec.baseline), ("canary", &spec.canary)] {
                if side == "canary" && (spec.aa || o.aa) {
                    continue;
                }
                if let Some(p) = modelci_config::canary::placeholders(q)
                    .into_iter()
                    .find(|p| !values.contains_key(p))
                {
                    return Err(format!(
                        "metric `{}`: the query's placeholder `{{{{ {p} }}}}` has no value for the {side} (give {} {p}=VALUE)",
                        m.name,
                        names(side)
                    ));
                }
            }
        }
    }
    if o.aa {
        spec.aa = true;
    }
    Ok(())
}
