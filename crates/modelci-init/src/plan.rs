//! From classified files to suites: which schema checks which recordings, which document is the
//! previous version of which, which golden cases belong to which model, which dataset gates
//! which model. Paths here are relative to the scanned folder, with `/` separators.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::detect::{Container, Dataset, Kind, label_column, sensitive_columns};

/// The most suites of one kind written; more are named in a note.
pub const MAX_SUITES_PER_KIND: usize = 20;

/// Pointers tried when a recorded document wraps its payload in an envelope.
const ENVELOPES: &[&str] = &["/body", "/payload", "/data", "/response", "/request"];

/// Everything `modelci init` will write.
#[derive(Debug, Default)]
pub struct Plan {
    pub json_schema: Vec<SchemaSuite>,
    pub openapi: Vec<OpenApiSuite>,
    pub pact: Vec<PactSuite>,
    pub model: Vec<ModelSuite>,
    pub gate: Vec<GateSuite>,
    /// Dockerfiles and Compose files found.
    pub containers: Vec<(String, Container)>,
    /// Things found but not turned into a suite, for the summary.
    pub notes: Vec<String>,
}

#[derive(Debug)]
pub struct SchemaSuite {
    pub name: String,
    pub schema: String,
    /// Files or `dir/*.ext` patterns (with the literal part glob-escaped).
    pub files: Vec<String>,
    pub pointer: Option<String>,
    pub documents: usize,
}

#[derive(Debug)]
pub struct OpenApiSuite {
    pub name: String,
    pub openapi: String,
    pub previous: Option<String>,
    /// A git revision where the document exists (active `base_ref`).
    pub base_ref: Option<String>,
    pub recorded: Vec<String>,
}

impl OpenApiSuite {
    /// Whether the suite can run without a service: something to diff against or recordings.
    pub fn active(&self) -> bool {
        self.previous.is_some() || self.base_ref.is_some() || !self.recorded.is_empty()
    }
}

#[derive(Debug)]
pub struct PactSuite {
    pub name: String,
    pub provider: String,
    /// Pact files, or folders (ending in `/`) that hold only this provider's pacts.
    pub pacts: Vec<String>,
}

#[derive(Debug)]
pub struct ModelSuite {
    pub name: String,
    pub model: String,
    pub cases: Vec<String>,
    /// An earlier version next to it (`model.v1.onnx`, `model-previous.onnx`).
    pub baseline: Option<String>,
    /// The file is a Git LFS pointer.
    pub lfs_pointer: bool,
}

#[derive(Debug)]
pub struct GateSuite {
    pub name: String,
    pub dataset: String,
    pub label: String,
    /// The label column was guessed (not named like a label).
    pub guessed: Option<String>,
    pub candidate: Option<String>,
    pub thresholds: Option<String>,
    /// The thresholds file names latency metrics.
    pub latency: bool,
    pub features: Vec<String>,
    pub sensitive: Vec<String>,
}

impl GateSuite {
    pub fn active(&self) -> bool {
        self.candidate.is_some() && self.thresholds.is_some()
    }
}

/// A classified file.
#[derive(Debug)]
pub struct Found {
    pub rel: String,
    pub path: std::path::PathBuf,
    pub kind: Kind,
}

/// The git facts `base_ref` needs: the default remote branch, and whether a file exists there.
pub trait Git {
    /// `origin/main` or similar, when the folder is in a git repository with one.
    fn default_ref(&self) -> Option<String>;
    /// Whether `rel` (relative to the scanned folder) exists at `revision`.
    fn exists_at(&self, revision: &str, rel: &str) -> bool;
}

/// Builds the plan from the classified files and the ONNX test-data folders.
pub fn plan(found: &[Found], onnx_layouts: &[String], git: &dyn Git) -> Plan {
    let mut plan = Plan::default();
    let mut names = Names::default();
    schemas(found, &mut plan, &mut names);
    openapi(found, &mut plan, &mut names, git);
    pacts(found, &mut plan, &mut names);
    let current_models = models(found, onnx_layouts, &mut plan, &mut names);
    gates(found, &current_models, &mut plan, &mut names);
    for f in found {
        if let Kind::Container(c) = f.kind {
            plan.containers.push((f.rel.clone(), c));
        }
    }
    cap(&mut plan);
    plan
}

fn cap(plan: &mut Plan) {
    fn cut<T>(v: &mut Vec<T>, kind: &str, notes: &mut Vec<String>) {
        if v.len() > MAX_SUITES_PER_KIND {
            notes.push(format!(
                "{} more {kind} suites left out (at most {MAX_SUITES_PER_KIND} of a kind are written)",
                v.len() - MAX_SUITES_PER_KIND
            ));
            v.truncate(MAX_SUITES_PER_KIND);
        }
    }
    cut(&mut plan.json_schema, "json-schema", &mut plan.notes);
    cut(&mut plan.openapi, "openapi", &mut plan.notes);
    cut(&mut plan.pact, "pact", &mut plan.notes);
    cut(&mut plan.model, "model", &mut plan.notes);
    cut(&mut plan.gate, "gate", &mut plan.notes);
}

/// Unique suite names made of letters, digits, `.`, `_` and `-`.
#[derive(Default)]
struct Names(BTreeSet<String>);

impl Names {
    fn take(&mut self, wanted: &str) -> String {
        let mut base: String = wanted
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        base = base.trim_matches('-').chars().take(60).collect();
        if base.is_empty() {
            base = "suite".into();
        }
        let mut name = base.clone();
        let mut n = 2;
        while !self.0.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    }
}

/// The folder of a relative path (`""` for the root).
pub fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The file name of a relative path.
pub fn file_name(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(_, f)| f)
}

/// The file name without its last extension.
fn stem(rel: &str) -> &str {
    let name = file_name(rel);
    name.rsplit_once('.').map_or(name, |(s, _)| s)
}

fn extension(rel: &str) -> &str {
    file_name(rel).rsplit_once('.').map_or("", |(_, e)| e)
}

/// Whether `rel` lies in `dir` or below it.
fn under(rel: &str, dir: &str) -> bool {
    dir.is_empty() || rel.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// `name.v2` -> (`name`, [2]); `name-previous` -> (`name`, []); `name` -> (`name`, None).
/// `None` as the version means "no version suffix": the current one.
fn versioned(stem: &str) -> (&str, Option<Vec<u64>>) {
    for sep in ['.', '-', '_'] {
        if let Some((base, suffix)) = stem.rsplit_once(sep) {
            if base.is_empty() {
                continue;
            }
            let lower = suffix.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "old" | "prev" | "previous" | "orig" | "original" | "baseline"
            ) {
                return (base, Some(Vec::new()));
            }
            if let Some(v) = lower.strip_prefix('v') {
                let parts: Option<Vec<u64>> = v.split('.').map(|p| p.parse().ok()).collect();
                if let Some(parts) = parts.filter(|p| !p.is_empty()) {
                    return (base, Some(parts));
                }
            }
        }
    }
    (stem, None)
}

/// A file with its version suffix (`None`: no suffix).
type Versioned = (Option<Vec<u64>>, String);

/// Splits files of one folder into (current, its previous version) pairs by version suffix.
/// Returns every current file with the newest of the older ones.
fn versions(files: &[&str]) -> Vec<(String, Option<String>)> {
    // Stems like `openapi.v1` have their version after the last dot, so strip the extension
    // first and look at what is left.
    let mut groups: BTreeMap<(String, String), Vec<Versioned>> = BTreeMap::new();
    for rel in files {
        // `api.v1.openapi.yaml` is a version of `api.openapi.yaml`.
        let s = stem(rel);
        let s = s
            .strip_suffix(".openapi")
            .or_else(|| s.strip_suffix(".swagger"))
            .unwrap_or(s);
        let (base, version) = versioned(s);
        groups
            .entry((parent(rel).to_owned(), base.to_owned()))
            .or_default()
            .push((version, (*rel).to_owned()));
    }
    let mut out = Vec::new();
    for (_, mut members) in groups {
        // Newest first: no suffix, then the highest version; suffixes like `old` last.
        members.sort_by(|(a, ra), (b, rb)| match (a, b) {
            (None, None) => ra.cmp(rb),
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => y.cmp(x).then(ra.cmp(rb)),
        });
        let unsuffixed = members.iter().filter(|(v, _)| v.is_none()).count();
        if unsuffixed > 1 || members.len() == 1 {
            // Not a version series (several unrelated files): each stands alone.
            out.extend(members.into_iter().map(|(_, r)| (r, None)));
            continue;
        }
        let mut it = members.into_iter();
        if let Some((_, current)) = it.next() {
            let previous = it.next().map(|(_, r)| r);
            out.push((current, previous));
        }
    }
    out.sort();
    out
}

fn schemas(found: &[Found], plan: &mut Plan, names: &mut Names) {
    let documents: Vec<(&Found, &Vec<Value>, bool)> = found
        .iter()
        .filter_map(|f| match &f.kind {
            Kind::Documents { values, lines } => Some((f, values, *lines)),
            _ => None,
        })
        .collect();
    for f in found {
        let Kind::JsonSchema(schema) = &f.kind else {
            continue;
        };
        let schema_name = file_name(&f.rel)
            .trim_end_matches(".json")
            .trim_end_matches(".schema");
        if !constraining(schema) {
            plan.notes.push(format!(
                "JSON Schema {}: it constrains too little to pick recordings for it",
                f.rel
            ));
            continue;
        }
        let Some(validator) = compile(schema, &f.path) else {
            plan.notes.push(format!(
                "JSON Schema {}: modelci cannot compile it (see `modelci check` once a suite uses it)",
                f.rel
            ));
            continue;
        };
        // Recordings near the schema: under the folder above the schema's folder.
        let area = parent(parent(&f.rel));
        let mut by_pointer: BTreeMap<String, Vec<&Found>> = BTreeMap::new();
        for (doc, values, _) in &documents {
            if !under(&doc.rel, area) {
                continue;
            }
            let pointer = std::iter::once("")
                .chain(ENVELOPES.iter().copied())
                .find(|p| {
                    // Most of the sampled lines of a JSON Lines file: a log with a few bad
                    // lines is still this schema's, and `check` then names the bad lines.
                    let valid = values
                        .iter()
                        .filter(|v| {
                            let part = if p.is_empty() { Some(*v) } else { v.pointer(p) };
                            part.is_some_and(|part| validator.is_valid(part))
                        })
                        .count();
                    valid > 0 && valid * 2 >= values.len()
                });
            if let Some(p) = pointer {
                by_pointer.entry(p.to_owned()).or_default().push(doc);
            }
        }
        if by_pointer.is_empty() {
            plan.notes.push(format!(
                "JSON Schema {}: no recorded JSON or JSON Lines documents nearby that it accepts",
                f.rel
            ));
            continue;
        }
        for (pointer, docs) in by_pointer {
            let files = patterns(&docs, &documents);
            plan.json_schema.push(SchemaSuite {
                name: names.take(schema_name),
                schema: f.rel.clone(),
                files,
                pointer: (!pointer.is_empty()).then_some(pointer),
                documents: docs.len(),
            });
        }
    }
}

/// A schema that says something: a boolean schema or one without any constraining keyword
/// would claim every document.
fn constraining(schema: &Value) -> bool {
    const KEYWORDS: &[&str] = &[
        "properties",
        "required",
        "items",
        "prefixItems",
        "$ref",
        "allOf",
        "anyOf",
        "oneOf",
        "enum",
        "const",
        "patternProperties",
        "additionalProperties",
    ];
    schema
        .as_object()
        .is_some_and(|o| KEYWORDS.iter().any(|k| o.contains_key(*k)))
}

/// The matched documents as file patterns: `dir/*.ext` when they are every recorded document
/// of that extension in the folder (two or more), else the files themselves.
fn patterns(docs: &[&Found], all: &[(&Found, &Vec<Value>, bool)]) -> Vec<String> {
    let mut groups: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for d in docs {
        groups
            .entry((parent(&d.rel), extension(&d.rel)))
            .or_default()
            .push(&d.rel);
    }
    let mut out = Vec::new();
    for ((dir, ext), members) in groups {
        let in_folder = all
            .iter()
            .filter(|(f, _, _)| parent(&f.rel) == dir && extension(&f.rel) == ext)
            .count();
        if members.len() >= 2 && members.len() == in_folder && !ext.is_empty() {
            let dir = glob::Pattern::escape(dir);
            out.push(if dir.is_empty() {
                format!("*.{ext}")
            } else {
                format!("{dir}/*.{ext}")
            });
        } else {
            out.extend(members.iter().map(|m| glob::Pattern::escape(m)));
        }
    }
    out
}

/// Compiles a schema as the json-schema suite would: local `$ref`s resolved against its
/// folder, remote ones refused.
fn compile(schema: &Value, path: &Path) -> Option<jsonschema::Validator> {
    let mut options = jsonschema::options().with_retriever(LocalFiles);
    if let Ok(abs) = std::fs::canonicalize(path) {
        options = options.with_base_uri(file_uri(&abs));
    }
    options.build(schema).ok()
}

struct LocalFiles;

impl jsonschema::Retrieve for LocalFiles {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.scheme().as_str() != "file" {
            return Err("remote `$ref`s are not fetched".into());
        }
        let path = percent_decode(uri.path().as_str());
        let meta = std::fs::metadata(&path)?;
        if !meta.is_file() || meta.len() > crate::Limits::default().max_read_bytes {
            return Err("not a readable schema file".into());
        }
        Ok(serde_json::from_slice(&std::fs::read(&path)?)?)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn file_uri(abs: &Path) -> String {
    let mut uri = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

fn openapi(found: &[Found], plan: &mut Plan, names: &mut Names, git: &dyn Git) {
    let docs: Vec<&str> = found
        .iter()
        .filter(|f| matches!(f.kind, Kind::OpenApi))
        .map(|f| f.rel.as_str())
        .collect();
    let hars: Vec<String> = found
        .iter()
        .filter(|f| matches!(f.kind, Kind::Har))
        .map(|f| f.rel.clone())
        .collect();
    let series = versions(&docs);
    let default_ref = if series.iter().any(|(_, p)| p.is_none()) {
        git.default_ref()
    } else {
        None
    };
    // Recorded traffic goes to the document when there is only one.
    let recorded = if series.len() == 1 {
        hars.clone()
    } else {
        if !hars.is_empty() && !series.is_empty() {
            plan.notes.push(format!(
                "{} HAR recording(s) found, but several OpenAPI documents: add them to the \
                 right suite's `recorded`",
                hars.len()
            ));
        }
        Vec::new()
    };
    for (current, previous) in series {
        let base_ref = match (&previous, &default_ref) {
            (None, Some(r)) if git.exists_at(r, &current) => Some(r.clone()),
            _ => None,
        };
        let wanted = match stem(&current) {
            "openapi" | "swagger" | "api" => {
                let dir = file_name(parent(&current));
                if dir.is_empty() {
                    "api".to_owned()
                } else {
                    format!("{dir}-api")
                }
            }
            s => s.trim_end_matches(".openapi").to_owned(),
        };
        plan.openapi.push(OpenApiSuite {
            name: names.take(&wanted),
            openapi: current,
            previous,
            base_ref,
            recorded: recorded.clone(),
        });
    }
}

fn pacts(found: &[Found], plan: &mut Plan, names: &mut Names) {
    let mut by_provider: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in found {
        if let Kind::Pact { provider } = &f.kind {
            by_provider.entry(provider).or_default().push(&f.rel);
        }
    }
    for (provider, files) in by_provider {
        // A folder whose JSON files are all this provider's pacts is named as the folder.
        let mut folders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in &files {
            folders.entry(parent(f)).or_default().push(f);
        }
        let mut pacts = Vec::new();
        for (dir, members) in folders {
            let json_in_folder = found
                .iter()
                .filter(|f| parent(&f.rel) == dir && extension(&f.rel).eq_ignore_ascii_case("json"))
                .count();
            if members.len() == json_in_folder {
                pacts.push(if dir.is_empty() {
                    "./".to_owned()
                } else {
                    format!("{dir}/")
                });
            } else {
                pacts.extend(members.iter().map(|m| (*m).to_owned()));
            }
        }
        plan.pact.push(PactSuite {
            name: names.take(provider),
            provider: provider.to_owned(),
            pacts,
        });
    }
}

/// Golden cases of the models, and the models' suites. Returns the current models.
fn models(
    found: &[Found],
    onnx_layouts: &[String],
    plan: &mut Plan,
    names: &mut Names,
) -> Vec<String> {
    let models: Vec<&str> = found
        .iter()
        .filter(|f| matches!(f.kind, Kind::Onnx { .. }))
        .map(|f| f.rel.as_str())
        .collect();
    let lfs: BTreeSet<&str> = found
        .iter()
        .filter(|f| matches!(f.kind, Kind::Onnx { lfs_pointer: true }))
        .map(|f| f.rel.as_str())
        .collect();
    let series = versions(&models);
    let model_dirs: BTreeSet<&str> = series.iter().map(|(m, _)| parent(m)).collect();
    // Golden data: (the folder to start looking for a model from, the entry for `cases`, the
    // name that may say which model it belongs to).
    let mut golden: Vec<(String, String, String)> = Vec::new();
    for f in found {
        if matches!(f.kind, Kind::GoldenJson | Kind::Npz) {
            golden.push((
                parent(&f.rel).to_owned(),
                f.rel.clone(),
                stem(&f.rel).to_owned(),
            ));
        }
    }
    for layout in onnx_layouts {
        let entry = if layout.is_empty() {
            "./".to_owned()
        } else {
            format!("{layout}/")
        };
        golden.push((layout.clone(), entry, file_name(layout).to_owned()));
    }
    let mut cases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (start, entry, hint) in golden {
        // The nearest folder with models: the file's own, or up to two folders above it.
        let mut dir = start.as_str();
        let mut home = None;
        for _ in 0..3 {
            if model_dirs.contains(dir) {
                home = Some(dir);
                break;
            }
            if dir.is_empty() {
                break;
            }
            dir = parent(dir);
        }
        let Some(home) = home else {
            // Elsewhere (`golden/linear_cases.json` for `models/linear.onnx`): the one model
            // whose name starts the golden file's name.
            match named_owner(&hint, series.iter().map(|(m, _)| m.as_str())) {
                Some(m) => cases.entry(m.to_owned()).or_default().push(entry),
                None => plan.notes.push(format!(
                    "golden cases {entry}: no .onnx model in its folder or the two above it, \
                     nor one its name starts with"
                )),
            }
            continue;
        };
        let here: Vec<&str> = series
            .iter()
            .map(|(m, _)| m.as_str())
            .filter(|m| parent(m) == home)
            .collect();
        let owner = if here.len() == 1 {
            here.first().copied()
        } else {
            here.iter()
                .filter(|m| hint.starts_with(stem(m)))
                .max_by_key(|m| stem(m).len())
                .copied()
        };
        match owner {
            Some(m) => cases.entry(m.to_owned()).or_default().push(entry),
            None => plan.notes.push(format!(
                "golden cases {entry}: several models in {}; add it to the right suite's `cases`",
                crate::walk::shown(home)
            )),
        }
    }
    let mut current = Vec::new();
    for (model, baseline) in series {
        let mut model_cases = cases.remove(&model).unwrap_or_default();
        model_cases.sort();
        plan.model.push(ModelSuite {
            name: names.take(stem(&model)),
            lfs_pointer: lfs.contains(model.as_str()),
            model: model.clone(),
            cases: model_cases,
            baseline,
        });
        current.push(model);
    }
    current
}

/// The model whose name the golden name starts with, followed by a separator or nothing
/// (`mlp_zipmap_cases` -> `mlp_zipmap.onnx`, not `mlp.onnx`); `None` when no model, or
/// several equally long names, match.
fn named_owner<'a>(hint: &str, models: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Vec<&str> = Vec::new();
    for m in models {
        let s = stem(m);
        let fits = s.len() >= 3
            && hint
                .strip_prefix(s)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['_', '-', '.']));
        if !fits {
            continue;
        }
        match best.first().map(|b| stem(b).len()) {
            Some(len) if len > s.len() => {}
            Some(len) if len == s.len() => best.push(m),
            _ => best = vec![m],
        }
    }
    match best.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

fn gates(found: &[Found], models: &[String], plan: &mut Plan, names: &mut Names) {
    let thresholds: Vec<(&str, bool)> = found
        .iter()
        .filter_map(|f| match f.kind {
            Kind::Thresholds => Some((f.rel.as_str(), latency_metrics(&f.path))),
            _ => None,
        })
        .collect();
    for f in found {
        let Kind::Dataset(d) = &f.kind else {
            continue;
        };
        let Some((label, guessed)) = label_column(d) else {
            continue;
        };
        let candidate = nearest(&f.rel, models.iter().map(String::as_str), usize::MAX)
            .or_else(|| (models.len() == 1).then(|| models[0].as_str()))
            .map(str::to_owned);
        let found_thresholds = nearest(&f.rel, thresholds.iter().map(|(t, _)| *t), 1);
        let latency =
            found_thresholds.is_some_and(|t| thresholds.iter().any(|(p, l)| *p == t && *l));
        let sensitive = sensitive_columns(d);
        plan.gate.push(GateSuite {
            name: names.take(&format!("{}-gate", stem(&f.rel))),
            dataset: f.rel.clone(),
            guessed: guessed.then(|| guess_reason(d, &label)),
            features: features(d, &label, &sensitive),
            label,
            candidate,
            thresholds: found_thresholds.map(str::to_owned),
            latency,
            sensitive,
        });
    }
}

fn guess_reason(d: &Dataset, label: &str) -> String {
    let n = d
        .columns
        .iter()
        .find(|c| c.name == label)
        .and_then(|c| c.distinct_ints)
        .unwrap_or(0);
    format!("guessed: an integer column with {n} values; check it")
}

fn features(d: &Dataset, label: &str, sensitive: &[String]) -> Vec<String> {
    d.columns
        .iter()
        .filter(|c| c.numeric && c.name != label && !sensitive.contains(&c.name))
        .map(|c| c.name.clone())
        .collect()
}

/// Whether a thresholds file names latency metrics (then the gate times the model).
fn latency_metrics(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() <= 1024 * 1024)
        && std::fs::read(path).is_ok_and(|b| String::from_utf8_lossy(&b).contains("latency_"))
}

/// The candidate in the nearest folder at or above `rel`'s, at most `up` folders up.
fn nearest<'a>(rel: &str, candidates: impl Iterator<Item = &'a str>, up: usize) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.collect();
    let mut dir = parent(rel);
    let mut steps = 0;
    loop {
        if let Some(c) = candidates.iter().find(|c| parent(c) == dir) {
            return Some(c);
        }
        if dir.is_empty() || steps >= up {
            return None;
        }
        dir = parent(dir);
        steps += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_suffixes() {
        assert_eq!(versioned("openapi.v1"), ("openapi", Some(vec![1])));
        assert_eq!(versioned("api-v2.1"), ("api", Some(vec![2, 1])));
        assert_eq!(versioned("model-previous"), ("model", Some(vec![])));
        assert_eq!(versioned("model_v10"), ("model", Some(vec![10])));
        assert_eq!(versioned("openapi"), ("openapi", None));
        assert_eq!(versioned("vv"), ("vv", None));
    }

    #[test]
    fn newest_version_is_current_and_the_next_one_previous() {
        let v = versions(&["a/openapi.v1.yaml", "a/openapi.yaml", "b/api.yaml"]);
        assert_eq!(
            v,
            vec![
                ("a/openapi.yaml".into(), Some("a/openapi.v1.yaml".into())),
                ("b/api.yaml".into(), None)
            ]
        );
        let v = versions(&["m-v1.onnx", "m-v10.onnx", "m-v2.onnx", "m-old.onnx"]);
        assert_eq!(v, vec![("m-v10.onnx".into(), Some("m-v2.onnx".into()))]);
        // Two unsuffixed files with one base are unrelated (api.yaml and api.json).
        let v = versions(&["api.json", "api.yaml"]);
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn golden_files_named_after_a_model() {
        let models = ["m/mlp.onnx", "m/mlp_zipmap.onnx", "n/mlp.onnx", "m/ab.onnx"];
        let owner = |hint: &str| named_owner(hint, models.iter().copied());
        assert_eq!(owner("mlp_zipmap_cases"), Some("m/mlp_zipmap.onnx"));
        // Two models called `mlp`: ambiguous.
        assert_eq!(owner("mlp_rows"), None);
        assert_eq!(owner("mlpx"), None);
        // Names shorter than three characters are not trusted.
        assert_eq!(owner("ab_cases"), None);
        let v = versions(&["f/svc.v1.openapi.yaml", "f/svc.openapi.yaml"]);
        assert_eq!(
            v,
            vec![(
                "f/svc.openapi.yaml".into(),
                Some("f/svc.v1.openapi.yaml".into())
            )]
        );
    }

    #[test]
    fn names_are_valid_and_unique() {
        let mut n = Names::default();
        assert_eq!(n.take("my service!"), "my-service");
        assert_eq!(n.take("my service?"), "my-service-2");
        assert_eq!(n.take("???"), "suite");
        assert_eq!(n.take("ünïcode"), "n-code");
    }

    #[test]
    fn nearest_looks_up_the_folders() {
        let models = ["a/m.onnx", "a/b/n.onnx", "z.onnx"];
        assert_eq!(
            nearest("a/b/c/d.csv", models.iter().copied(), 9),
            Some("a/b/n.onnx")
        );
        assert_eq!(
            nearest("a/x/d.csv", models.iter().copied(), 9),
            Some("a/m.onnx")
        );
        assert_eq!(
            nearest("q/d.csv", models.iter().copied(), 9),
            Some("z.onnx")
        );
        assert_eq!(nearest("q/r/d.csv", models.iter().copied(), 1), None);
    }

    #[test]
    fn glob_patterns_for_whole_folders_only() {
        let doc = |rel: &str| Found {
            rel: rel.into(),
            path: rel.into(),
            kind: Kind::Documents {
                values: vec![],
                lines: false,
            },
        };
        let all_docs = [
            doc("r/a.json"),
            doc("r/b.json"),
            doc("s/c.json"),
            doc("s/d.json"),
            doc("[x]/e.json"),
        ];
        let empty = Vec::new();
        let all: Vec<(&Found, &Vec<Value>, bool)> =
            all_docs.iter().map(|f| (f, &empty, false)).collect();
        let matched = [&all_docs[0], &all_docs[1], &all_docs[2], &all_docs[4]];
        assert_eq!(
            patterns(&matched, &all),
            vec!["[[]x[]]/e.json", "r/*.json", "s/c.json"]
        );
    }
}
