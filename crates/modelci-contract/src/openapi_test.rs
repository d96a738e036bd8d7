//! `modelci contract test`: live conformance of a running service with its OpenAPI document.
//!
//! For each operation modelci sends, concurrently:
//!
//! 1. **valid requests**: the document's examples, `max_cases` requests generated from the
//!    parameter and body schemas (deterministic for a `--seed`), and **coverage** requests that
//!    pin each `enum` value and each `oneOf`/`anyOf` branch of the body and each enum value of
//!    a parameter, so every choice is sent at least once;
//! 2. **invalid requests** (negative testing), each of which must be rejected with a 4xx: every
//!    constraint of the body broken at its boundary (see [`modelci_openapi::negative`]), every
//!    parameter given a value its schema rejects (another type, `null`, out of range, too
//!    short or long, not in its enum) or left out when required, and the body missing, empty,
//!    not JSON, or sent as another content type;
//! 3. for each path, the methods it does not declare, which must be answered 405 with `Allow`;
//! 4. then **stateful** requests: for each OpenAPI `link` of a response that came back, the
//!    linked operation with its parameters taken from that response (`$response.body#/id`), the
//!    reads and updates before the deletes.
//!
//! Every answer is checked (no 5xx, status and content type documented, body and headers valid
//! against their schemas, required headers there, within `--max-response-time`), invalid ones
//! included. One case per operation and check; each case reports **every distinct failure**
//! (one per check, status and place: the schema keyword that failed, the parameter that was
//! accepted), up to `max_failures`, each with the request, a `curl` command that reproduces it
//! and the seed. A failing generated request is **shrunk** first: properties and items are
//! dropped and values simplified while the same failure still comes back.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use modelci_openapi::check::{CheckKind, Failure};
use modelci_openapi::generate::{Generator, case_seed};
use modelci_openapi::ops::{In, Operation};
use modelci_openapi::schema::standalone;
use modelci_openapi::{Document, Observed, Validators, check_response};
use modelci_report::{Case, Outcome};
use serde_json::Value;

/// How to test.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Base URL of the service (`http://127.0.0.1:8080`).
    pub base_url: String,
    /// Extra headers on every request (values never reported).
    pub headers: Vec<(String, String)>,
    /// Only these operations (`operationId` or `METHOD /path`); all when empty.
    pub operations: Vec<String>,
    /// Generated valid requests per operation (examples, coverage and invalid requests come on
    /// top).
    pub max_cases: usize,
    pub seed: u64,
    pub timeout: Duration,
    pub concurrency: usize,
    /// Distinct failures reported per operation and check.
    pub max_failures: usize,
    /// Answers slower than this fail the `response time` check (no such check when `None`).
    pub max_response_time: Option<Duration>,
    /// Send invalid requests (negative testing).
    pub negative: bool,
    /// Follow the document's links (stateful requests).
    pub stateful: bool,
    /// Shrink failing generated requests.
    pub shrink: bool,
    /// Set (by Ctrl-C) to stop sending requests: the cases of an operation with a request not
    /// sent are reported as skipped, "not run: the run was interrupted".
    pub cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            base_url: String::new(),
            headers: Vec::new(),
            operations: Vec::new(),
            max_cases: 10,
            seed: 0,
            timeout: Duration::from_secs(30),
            concurrency: 8,
            max_failures: 10,
            max_response_time: None,
            negative: true,
            stateful: true,
            shrink: true,
            cancel: None,
        }
    }
}

/// Invalid requests per operation at most.
const MAX_NEGATIVE: usize = 60;
/// Coverage requests per operation at most.
const MAX_COVERAGE: usize = 40;
/// Linked requests per link at most (one per source answer).
const MAX_LINKED: usize = 3;
/// Requests one shrink may send.
const SHRINK_BUDGET: usize = 40;
/// Methods tried on a path that does not declare them (HEAD and OPTIONS are left out: servers
/// answer them for every path by design).
const PROBED_METHODS: [&str; 6] = ["get", "put", "post", "delete", "patch", "trace"];

/// Whether `op` is selected by `--operation` values.
pub fn selected(op: &Operation, filters: &[String]) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| {
            f == &op.id || f.eq_ignore_ascii_case(&op.label()) || {
                let mut parts = f.splitn(2, ' ');
                matches!((parts.next(), parts.next()), (Some(m), Some(p)) if m.eq_ignore_ascii_case(&op.method) && p == op.path)
            }
        })
}

/// What an answer must be.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// A valid request: every response check.
    Valid,
    /// An invalid request: a 4xx (and every response check).
    Invalid,
    /// A method the path does not declare: 405 with `Allow` (these declared ones).
    NotAllowed(Vec<String>),
}

/// A request to send.
#[derive(Debug, Clone)]
struct Planned {
    /// `generated request 3`, `invalid: query `limit` 101, over `maximum` 100`.
    what: String,
    /// What an invalid request broke (`query limit`, `body /tags`): invalid requests that are
    /// accepted are distinct failures per place.
    target: String,
    /// The operation (index into the selected operations), or the path for method probes.
    owner: Owner,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    /// A body sent as is (not JSON, or empty).
    raw: Option<String>,
    content_type: Option<String>,
    expect: Expect,
    /// Generated from the body schema: may be shrunk.
    shrinkable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Operation(usize),
    Path(usize),
}

impl Planned {
    fn url(&self, base: &str) -> String {
        let mut url = format!("{}{}", base.trim_end_matches('/'), self.path);
        if !self.query.is_empty() {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &self.query {
                ser.append_pair(k, v);
            }
            url.push('?');
            url.push_str(&ser.finish());
        }
        url
    }

    /// A `curl` command that sends the same request (extra `--header` values left out).
    fn curl(&self, base: &str) -> String {
        let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut out = format!(
            "curl -sS -X {} {}",
            self.method.to_ascii_uppercase(),
            q(&self.url(base))
        );
        for (k, v) in &self.headers {
            let _ = write!(out, " -H {}", q(&format!("{k}: {v}")));
        }
        if let Some(ct) = &self.content_type {
            let _ = write!(out, " -H {}", q(&format!("Content-Type: {ct}")));
        }
        match (&self.body, &self.raw) {
            (Some(body), _) => {
                let _ = write!(out, " --data {}", q(&body.to_string()));
            }
            (None, Some(raw)) => {
                let _ = write!(out, " --data {}", q(raw));
            }
            (None, None) => {}
        }
        out
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn percent_path(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Everything an operation's requests are built from.
struct Shapes<'a> {
    op: &'a Operation,
    body_media: Option<&'a modelci_openapi::ops::Media>,
    body_schema: Option<Value>,
    param_schemas: Vec<Option<Value>>,
}

impl<'a> Shapes<'a> {
    fn new(doc: &Document, op: &'a Operation) -> Shapes<'a> {
        let body_media = op
            .body
            .iter()
            .find(|m| m.media_type.contains("json"))
            .or_else(|| op.body.first());
        let body_schema = body_media
            .and_then(|m| m.schema.as_ref())
            .and_then(|s| standalone(doc, s).ok());
        let param_schemas = op
            .parameters
            .iter()
            .map(|p| p.schema.as_ref().and_then(|s| standalone(doc, s).ok()))
            .collect();
        Shapes {
            op,
            body_media,
            body_schema,
            param_schemas,
        }
    }

    /// The parameters' values: examples, generated, or forced; `None` when one cannot be made.
    fn parameters(
        &self,
        g: &mut Generator,
        use_examples: bool,
        all_optional: bool,
        forced: &[(usize, Value)],
    ) -> Option<Vec<Option<Value>>> {
        let mut out = Vec::new();
        for (i, (p, schema)) in self
            .op
            .parameters
            .iter()
            .zip(&self.param_schemas)
            .enumerate()
        {
            if let Some((_, v)) = forced.iter().find(|(k, _)| *k == i) {
                out.push(Some(v.clone()));
                continue;
            }
            if !p.required && !all_optional {
                out.push(None);
                continue;
            }
            let value = match (&p.example, use_examples) {
                (Some(e), true) => e.clone(),
                _ => match schema {
                    Some(s) => g.valid(s)?,
                    None => Value::String("x".into()),
                },
            };
            out.push(Some(value));
        }
        Some(out)
    }

    /// A request from parameter values (`None`: left out) and a body.
    fn request(&self, owner: usize, values: &[Option<Value>], body: Option<Value>) -> Planned {
        let mut path = self.op.path.clone();
        let mut query = Vec::new();
        let mut headers = Vec::new();
        for (p, value) in self.op.parameters.iter().zip(values) {
            let Some(value) = value else { continue };
            match p.location {
                In::Path => {
                    path = path.replace(&format!("{{{}}}", p.name), &percent_path(&scalar(value)));
                }
                In::Query => match value {
                    Value::Array(items) => {
                        for i in items {
                            query.push((p.name.clone(), scalar(i)));
                        }
                    }
                    v => query.push((p.name.clone(), scalar(v))),
                },
                In::Header => headers.push((p.name.clone(), scalar(value))),
                In::Cookie => {
                    headers.push(("Cookie".into(), format!("{}={}", p.name, scalar(value))));
                }
            }
        }
        Planned {
            what: String::new(),
            target: String::new(),
            owner: Owner::Operation(owner),
            method: self.op.method.clone(),
            path,
            query,
            headers,
            content_type: body
                .as_ref()
                .and(self.body_media.map(|m| m.media_type.clone())),
            body,
            raw: None,
            expect: Expect::Valid,
            shrinkable: false,
        }
    }

    /// A valid request (examples, or generated); `None` when one cannot be made.
    fn valid(
        &self,
        owner: usize,
        g: &mut Generator,
        use_examples: bool,
        all_optional: bool,
    ) -> Option<Planned> {
        let values = self.parameters(g, use_examples, all_optional, &[])?;
        let body = match self.body_media {
            Some(m) if use_examples && !m.examples.is_empty() => Some(m.examples[0].clone()),
            Some(_) if self.op.body_required || all_optional => match &self.body_schema {
                Some(s) => Some(g.valid(s)?),
                None => None,
            },
            _ => None,
        };
        let mut p = self.request(owner, &values, body);
        p.shrinkable = !use_examples && p.body.is_some();
        Some(p)
    }
}

/// Plans the requests of one operation: valid, coverage, then invalid ones.
fn plan(doc: &Document, op: &Operation, owner: usize, opts: &LiveOptions) -> Vec<Planned> {
    let shapes = Shapes::new(doc, op);
    let mut out = Vec::new();
    // Examples first: when the document gives any for this operation.
    let has_examples = shapes.body_media.is_some_and(|m| !m.examples.is_empty())
        || op.parameters.iter().any(|p| p.example.is_some());
    if has_examples {
        let mut g = Generator::new(case_seed(opts.seed, &op.id, usize::MAX));
        if let Some(mut p) = shapes.valid(owner, &mut g, true, false) {
            p.what = "the document's example".into();
            out.push(p);
        }
    }
    for i in 0..opts.max_cases {
        let mut g = Generator::new(case_seed(opts.seed, &op.id, i));
        if let Some(mut p) = shapes.valid(owner, &mut g, false, i % 2 == 1) {
            p.what = format!("generated request {}", i + 1);
            out.push(p);
        }
    }
    out.extend(coverage(&shapes, owner, opts));
    if opts.negative {
        out.extend(negative(&shapes, owner, opts));
    }
    out
}

/// One valid request per enum value of each parameter, per enum value and per `oneOf`/`anyOf`
/// branch of the body.
fn coverage(shapes: &Shapes<'_>, owner: usize, opts: &LiveOptions) -> Vec<Planned> {
    let op = shapes.op;
    let mut out = Vec::new();
    let mut g = Generator::new(case_seed(opts.seed, &op.id, 20_000));
    for (i, (p, schema)) in op.parameters.iter().zip(&shapes.param_schemas).enumerate() {
        let Some(schema) = schema else { continue };
        let resolved = modelci_openapi::coverage::variants(schema, MAX_COVERAGE);
        for (what, pinned) in resolved {
            if out.len() >= MAX_COVERAGE {
                return out;
            }
            let Some(value) = g.valid(&pinned) else {
                continue;
            };
            let Some(values) = shapes.parameters(&mut g, false, false, &[(i, value)]) else {
                continue;
            };
            let body = match (&shapes.body_schema, op.body_required) {
                (Some(s), true) => g.valid(s),
                _ => None,
            };
            let mut r = shapes.request(owner, &values, body);
            r.what = format!(
                "coverage: {} `{}` {}",
                location_name(p.location),
                p.name,
                what.trim_start_matches("the value ")
            );
            out.push(r);
        }
    }
    if let Some(schema) = &shapes.body_schema
        && let Ok(validator) = jsonschema::validator_for(schema)
    {
        for (what, pinned) in modelci_openapi::coverage::variants(schema, MAX_COVERAGE) {
            if out.len() >= MAX_COVERAGE {
                break;
            }
            let Some(body) = g.valid(&pinned).filter(|b| validator.is_valid(b)) else {
                continue;
            };
            let Some(values) = shapes.parameters(&mut g, false, false, &[]) else {
                continue;
            };
            let mut r = shapes.request(owner, &values, Some(body));
            r.what = format!("coverage: body {}", what.replace("the value", "the body"));
            r.shrinkable = true;
            out.push(r);
        }
    }
    out
}

fn location_name(location: In) -> &'static str {
    match location {
        In::Path => "path parameter",
        In::Query => "query parameter",
        In::Header => "header",
        In::Cookie => "cookie",
    }
}

/// Invalid requests: each parameter and each body constraint broken, the body missing, empty,
/// not JSON, or of another content type.
fn negative(shapes: &Shapes<'_>, owner: usize, opts: &LiveOptions) -> Vec<Planned> {
    let op = shapes.op;
    let mut g = Generator::new(case_seed(opts.seed, &op.id, 10_000));
    // The template: every parameter, a valid body.
    let Some(values) = shapes.parameters(&mut g, false, true, &[]) else {
        return Vec::new();
    };
    // A body with every property, so that each one's constraints are broken in turn.
    let body = match (&shapes.body_schema, shapes.body_media) {
        (Some(s), Some(_)) => {
            let validator = jsonschema::validator_for(s).ok();
            g.valid(&modelci_openapi::negative::every_property(s))
                .filter(|b| validator.as_ref().is_some_and(|v| v.is_valid(b)))
                .or_else(|| g.valid(s))
        }
        _ => None,
    };
    let mut out = Vec::new();
    let mut push = |mut r: Planned, what: String, target: String| {
        if out.len() < MAX_NEGATIVE {
            r.what = format!("invalid request: {what}");
            r.target = target;
            r.expect = Expect::Invalid;
            r.shrinkable = false;
            out.push(r);
        }
    };
    for (i, (p, schema)) in op.parameters.iter().zip(&shapes.param_schemas).enumerate() {
        let place = format!("{} `{}`", location_name(p.location), p.name);
        if p.required && p.location != In::Path {
            let mut without = values.clone();
            without[i] = None;
            push(
                shapes.request(owner, &without, body.clone()),
                format!("{place} missing (it is required)"),
                format!("{place} missing"),
            );
        }
        let (Some(schema), Some(valid)) = (schema, &values[i]) else {
            continue;
        };
        for (why, text) in modelci_openapi::negative::parameter_mutations(schema, valid)
            .into_iter()
            .take(10)
        {
            // An empty path segment reaches another route, not this operation.
            if p.location == In::Path && text.is_empty() {
                continue;
            }
            if p.location == In::Header && reqwest::header::HeaderValue::from_str(&text).is_err() {
                continue;
            }
            let mut bad = values.clone();
            bad[i] = Some(Value::String(text));
            push(
                shapes.request(owner, &bad, body.clone()),
                format!("{place} {why}"),
                place.clone(),
            );
        }
    }
    let Some(media) = shapes.body_media else {
        return out;
    };
    if let (Some(schema), Some(valid)) = (&shapes.body_schema, &body) {
        for (why, bad) in modelci_openapi::negative::body_mutations(schema, valid, 30) {
            let place = why.split(':').next().unwrap_or_default().to_owned();
            push(
                shapes.request(owner, &values, Some(bad)),
                why,
                format!("body {place}"),
            );
        }
    }
    let json = media.media_type.contains("json");
    if op.body_required {
        let mut none = shapes.request(owner, &values, None);
        none.content_type = None;
        push(
            none,
            "no body (it is required)".into(),
            "body missing".into(),
        );
    }
    if json {
        let mut r = shapes.request(owner, &values, None);
        r.raw = Some("{not json".into());
        r.content_type = Some(media.media_type.clone());
        push(r, "a body that is not JSON".into(), "body not JSON".into());
        if op.body_required {
            let mut r = shapes.request(owner, &values, None);
            r.raw = Some(String::new());
            r.content_type = Some(media.media_type.clone());
            push(r, "an empty body".into(), "body empty".into());
        }
        let takes_text = op
            .body
            .iter()
            .any(|m| modelci_openapi::check::media_matches(&m.media_type, "text/plain"));
        if let (false, Some(valid)) = (takes_text, &body) {
            let mut r = shapes.request(owner, &values, None);
            r.raw = Some(valid.to_string());
            r.content_type = Some("text/plain".into());
            push(
                r,
                "a valid body sent as `text/plain`, a content type the operation does not take"
                    .into(),
                "body content type".into(),
            );
        }
    }
    out
}

/// The methods of the document's path `path` (upper case).
fn declared_methods(doc: &Document, ops: &[Operation], path: &str) -> Vec<String> {
    let from_doc: Option<Vec<String>> = doc.paths.get(path).and_then(|item| {
        let item = item.ok()?;
        let methods = modelci_openapi::ops::path_methods(doc, path, &item).ok()?;
        Some(methods.map(str::to_ascii_uppercase).collect())
    });
    from_doc.unwrap_or_else(|| {
        ops.iter()
            .filter(|o| o.path == path)
            .map(|o| o.method.to_ascii_uppercase())
            .collect()
    })
}

/// For each path of the selected operations, the methods it does not declare.
fn plan_methods(
    doc: &Document,
    ops: &[&Operation],
    opts: &LiveOptions,
) -> (Vec<String>, Vec<Planned>) {
    let mut paths: Vec<String> = Vec::new();
    for op in ops {
        if !paths.contains(&op.path) {
            paths.push(op.path.clone());
        }
    }
    let all: Vec<Operation> = ops.iter().map(|o| (*o).clone()).collect();
    let mut out = Vec::new();
    for (k, path) in paths.iter().enumerate() {
        let declared = declared_methods(doc, &all, path);
        let Some(first) = ops.iter().find(|o| o.path == *path) else {
            continue;
        };
        let shapes = Shapes::new(doc, first);
        let mut g = Generator::new(case_seed(opts.seed, path, 30_000));
        let Some(values) = shapes.parameters(&mut g, true, false, &[]) else {
            continue;
        };
        for m in PROBED_METHODS {
            if declared.iter().any(|d| d.eq_ignore_ascii_case(m)) {
                continue;
            }
            let mut r = shapes.request(0, &values, None);
            r.owner = Owner::Path(k);
            r.method = m.to_owned();
            r.query.clear();
            r.headers.retain(|(n, _)| n.eq_ignore_ascii_case("cookie"));
            r.content_type = None;
            r.what = format!(
                "{} {path}, a method the path does not declare",
                m.to_ascii_uppercase()
            );
            r.target = m.to_ascii_uppercase();
            r.expect = Expect::NotAllowed(declared.clone());
            out.push(r);
        }
    }
    (paths, out)
}

/// An answer and how long it took.
#[derive(Debug, Clone)]
struct Exchange {
    observed: Observed,
    elapsed: Duration,
}

type Answer = Result<Exchange, String>;

/// What a request that was never sent (the run was cancelled first) holds instead of an answer.
const NOT_SENT: &str = "not sent";

/// The names of the cases [`test`] reports, in order, without sending anything: per selected
/// operation its checks (`rejects invalid requests` only where invalid requests can be built,
/// `response time` only with a limit), then per path `undeclared methods answer 405` where the
/// path leaves a method undeclared.
pub fn case_names(doc: &Document, ops: &[Operation], opts: &LiveOptions) -> Vec<String> {
    let selected_ops: Vec<&Operation> = ops
        .iter()
        .filter(|o| selected(o, &opts.operations))
        .collect();
    let mut out = Vec::new();
    for (n, op) in selected_ops.iter().enumerate() {
        let invalid = opts.negative && !negative(&Shapes::new(doc, op), n, opts).is_empty();
        for kind in op_checks(invalid, opts) {
            out.push(format!("{} › {kind}", op.label()));
        }
    }
    let (paths, probes) = plan_methods(doc, &selected_ops, opts);
    for (k, path) in paths.iter().enumerate() {
        if probes.iter().any(|p| p.owner == Owner::Path(k)) {
            out.push(format!("{path} › {}", CheckKind::MethodNotAllowed));
        }
    }
    out
}

/// The checks of one operation, in report order.
fn op_checks(invalid: bool, opts: &LiveOptions) -> Vec<CheckKind> {
    let mut out = CheckKind::RESPONSE.to_vec();
    if invalid {
        out.push(CheckKind::RejectsInvalid);
    }
    if opts.max_response_time.is_some() {
        out.push(CheckKind::ResponseTime);
    }
    out
}

fn cancelled(opts: &LiveOptions) -> bool {
    opts.cancel
        .as_ref()
        .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
}

/// Sends `plans`, `concurrency` at a time.
async fn send_all(client: &reqwest::Client, plans: &[Planned], opts: &LiveOptions) -> Vec<Answer> {
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, p) in plans.iter().enumerate() {
        let (client, sem, p, opts) = (client.clone(), Arc::clone(&sem), p.clone(), opts.clone());
        set.spawn(async move {
            let _permit = sem.acquire().await;
            if cancelled(&opts) {
                return (i, Err(NOT_SENT.to_owned()));
            }
            (i, send(&client, &opts, &p).await)
        });
    }
    let mut out: Vec<Answer> = vec![Err(NOT_SENT.into()); plans.len()];
    while let Some(Ok((i, r))) = set.join_next().await {
        out[i] = r;
    }
    out
}

/// Sends chains of requests: each chain in order, the chains `concurrency` at a time.
async fn send_chains(
    client: &reqwest::Client,
    chains: Vec<Vec<Planned>>,
    opts: &LiveOptions,
) -> Vec<(Planned, Answer)> {
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, chain) in chains.into_iter().enumerate() {
        let (client, sem, opts) = (client.clone(), Arc::clone(&sem), opts.clone());
        set.spawn(async move {
            let _permit = sem.acquire().await;
            let mut out = Vec::new();
            for p in chain {
                let r = if cancelled(&opts) {
                    Err(NOT_SENT.to_owned())
                } else {
                    send(&client, &opts, &p).await
                };
                out.push((p, r));
            }
            (i, out)
        });
    }
    let mut done = Vec::new();
    while let Some(Ok(r)) = set.join_next().await {
        done.push(r);
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().flat_map(|(_, r)| r).collect()
}

async fn send(client: &reqwest::Client, opts: &LiveOptions, p: &Planned) -> Answer {
    let timeout = opts.timeout;
    let method = reqwest::Method::from_bytes(p.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid method {}", p.method))?;
    let url = p.url(&opts.base_url);
    let mut req = client.request(method.clone(), &url);
    for (k, v) in p.headers.iter().chain(&opts.headers) {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(ct) = &p.content_type {
        req = req.header("Content-Type", ct.as_str());
    }
    match (&p.body, &p.raw) {
        (Some(body), _) => {
            if p.content_type.is_none() {
                req = req.header("Content-Type", "application/json");
            }
            req = req.body(body.to_string());
        }
        (None, Some(raw)) => req = req.body(raw.clone()),
        (None, None) => {}
    }
    let started = Instant::now();
    let resp = req.send().await.map_err(|e| {
        let hint = if e.is_connect() && !e.is_timeout() {
            " (is the service running?)"
        } else {
            ""
        };
        format!(
            "{method} {url}: {}{hint}",
            modelci_net::describe_routed(e, timeout)
        )
    })?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = crate::pact_verify::read_limited(resp, timeout)
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    Ok(Exchange {
        observed: Observed {
            status,
            headers,
            body: (!body.is_empty()).then_some(body),
        },
        elapsed: started.elapsed(),
    })
}

/// The value of a link's runtime expression for an answer to `source` (None when it has none).
fn evaluate(expr: &Value, source: &Planned, op: &Operation, answer: &Exchange) -> Option<Value> {
    let Value::String(text) = expr else {
        return Some(expr.clone());
    };
    let text = text.trim();
    let text = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    if !text.starts_with('$') {
        return Some(Value::String(text.to_owned()));
    }
    if let Some(pointer) = text.strip_prefix("$response.body") {
        let body: Value = serde_json::from_slice(answer.observed.body.as_deref()?).ok()?;
        let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
        return body.pointer(pointer).cloned();
    }
    if let Some(name) = text.strip_prefix("$response.header.") {
        return answer
            .observed
            .header(name)
            .map(|v| Value::String(v.to_owned()));
    }
    if let Some(name) = text.strip_prefix("$request.path.") {
        let path = source.path.split('?').next().unwrap_or_default();
        return modelci_openapi::ops::match_template(&op.path, path)?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Value::String(v));
    }
    if let Some(name) = text.strip_prefix("$request.query.") {
        return source
            .query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Value::String(v.clone()));
    }
    if let Some(name) = text.strip_prefix("$request.header.") {
        return source
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| Value::String(v.clone()));
    }
    if let Some(pointer) = text.strip_prefix("$request.body") {
        let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
        return source.body.as_ref()?.pointer(pointer).cloned();
    }
    if text == "$statusCode" {
        return Some(Value::from(answer.observed.status));
    }
    None
}

fn method_rank(method: &str) -> u8 {
    match method.to_ascii_lowercase().as_str() {
        "get" | "head" => 0,
        "put" | "patch" => 1,
        "post" => 2,
        "delete" => 4,
        _ => 3,
    }
}

/// For each link of an answer that came back, the linked operation with the answer's data:
/// chains per answer, the reads and updates before the deletes.
fn plan_links(
    doc: &Document,
    ops: &[&Operation],
    plans: &[Planned],
    answers: &[Answer],
    opts: &LiveOptions,
) -> Vec<Vec<Planned>> {
    let mut used: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut chains = Vec::new();
    for (i, (p, a)) in plans.iter().zip(answers).enumerate() {
        let (Owner::Operation(n), Ok(answer), Expect::Valid) = (p.owner, a, &p.expect) else {
            continue;
        };
        if !(200..300).contains(&answer.observed.status) {
            continue;
        }
        let op = ops[n];
        let Some(spec) = op.response_for(answer.observed.status) else {
            continue;
        };
        let mut chain = Vec::new();
        for link in &spec.links {
            let count = used.entry((n, link.name.clone())).or_insert(0);
            if *count >= MAX_LINKED {
                continue;
            }
            let Some((t, target)) = ops
                .iter()
                .enumerate()
                .find(|(_, o)| o.id == link.operation_id)
            else {
                continue;
            };
            let shapes = Shapes::new(doc, target);
            let mut g = Generator::new(case_seed(opts.seed, &target.id, 40_000 + i));
            let mut forced = Vec::new();
            let mut complete = true;
            for (name, expr) in &link.parameters {
                let bare = name.split_once('.').map_or(name.as_str(), |(_, n)| n);
                let Some(k) = target.parameters.iter().position(|q| q.name == bare) else {
                    continue;
                };
                match evaluate(expr, p, op, answer) {
                    Some(v) => forced.push((k, v)),
                    None => complete = false,
                }
            }
            if !complete {
                continue;
            }
            let Some(values) = shapes.parameters(&mut g, false, false, &forced) else {
                continue;
            };
            let body = match (&shapes.body_schema, target.body_required) {
                (Some(s), true) => g.valid(s),
                _ => None,
            };
            let mut r = shapes.request(t, &values, body);
            r.what = format!(
                "linked request: `{}` with the data of an answer of {} ({})",
                link.name,
                op.label(),
                p.what
            );
            *count += 1;
            chain.push(r);
        }
        if !chain.is_empty() {
            chain.sort_by_key(|r| method_rank(&r.method));
            chains.push(chain);
        }
    }
    chains
}

/// One distinct failure.
#[derive(Debug, Clone)]
struct Found {
    check: CheckKind,
    status: u16,
    failure: Failure,
    /// The request's number among its owner's, and how many there were.
    number: usize,
    planned: Planned,
    /// How many steps shrinking took (0: not shrunk).
    shrunk: usize,
}

/// The failures of the response checks (and the operation's own expectations) on one answer.
fn failures_of(
    doc: &Document,
    op: Option<&Operation>,
    p: &Planned,
    e: &Exchange,
    validators: &Validators,
    opts: &LiveOptions,
) -> Vec<(CheckKind, Failure)> {
    let status = e.observed.status;
    let mut out = Vec::new();
    match &p.expect {
        Expect::NotAllowed(declared) => {
            let allow = e.observed.header("allow");
            let failure = if status != 405 {
                Some(Failure {
                    message: format!(
                        "{} {} was answered HTTP {status} instead of 405 Method Not Allowed (the path declares {})",
                        p.method.to_ascii_uppercase(),
                        p.path,
                        declared.join(", ")
                    ),
                    expected: Some("405 with an Allow header".into()),
                    actual: Some(status.to_string()),
                    // One failure per status, naming every method answered so (see `test`).
                    key: String::new(),
                })
            } else if allow.is_none() {
                Some(Failure {
                    message: format!(
                        "{} {} was answered 405 without an `Allow` header (it must list {})",
                        p.method.to_ascii_uppercase(),
                        p.path,
                        declared.join(", ")
                    ),
                    expected: Some(format!("Allow: {}", declared.join(", "))),
                    actual: Some("(absent)".into()),
                    key: "allow".into(),
                })
            } else {
                None
            };
            out.extend(failure.map(|f| (CheckKind::MethodNotAllowed, f)));
            return out;
        }
        Expect::Invalid if !(400..500).contains(&status) => out.push((
            CheckKind::RejectsInvalid,
            Failure {
                message: format!(
                    "an {} was answered with HTTP {status} instead of a 4xx",
                    p.what
                ),
                expected: Some("a 4xx status".into()),
                actual: Some(status.to_string()),
                key: p.target.clone(),
            },
        )),
        _ => {}
    }
    if let Some(op) = op {
        for v in check_response(doc, op, &e.observed, validators) {
            if let Some(f) = v.failure {
                out.push((v.check, f));
            }
        }
    }
    if let Some(limit) = opts.max_response_time
        && e.elapsed > limit
    {
        out.push((
            CheckKind::ResponseTime,
            Failure {
                message: format!(
                    "the answer took {:.3} s, over the limit of {} s",
                    e.elapsed.as_secs_f64(),
                    limit.as_secs_f64()
                ),
                expected: Some(format!("at most {} s", limit.as_secs_f64())),
                actual: Some(format!("{:.3} s", e.elapsed.as_secs_f64())),
                key: String::new(),
            },
        ));
    }
    out
}

/// Every distinct failure of one owner's exchanges, per check, at most `max_failures` each.
fn collect_failures(
    doc: &Document,
    op: Option<&Operation>,
    exchanges: &[(&Planned, &Answer)],
    validators: &Validators,
    opts: &LiveOptions,
) -> BTreeMap<CheckKind, Vec<Found>> {
    let mut found: BTreeMap<CheckKind, Vec<Found>> = BTreeMap::new();
    let answered = exchanges.iter().filter(|(_, a)| a.is_ok()).count();
    for (i, (p, a)) in exchanges.iter().enumerate() {
        let list: Vec<(CheckKind, Failure, u16)> = match a {
            Ok(e) => failures_of(doc, op, p, e, validators, opts)
                .into_iter()
                .map(|(c, f)| (c, f, e.observed.status))
                .collect(),
            // Without any answer the cases are errored instead (see `cases_for`).
            Err(e) if answered > 0 && e != NOT_SENT => vec![(
                CheckKind::NoServerError,
                Failure {
                    message: format!("no answer: {e}"),
                    expected: Some("an answer".into()),
                    actual: Some(e.clone()),
                    key: "transport".into(),
                },
                0,
            )],
            Err(_) => Vec::new(),
        };
        for (check, failure, status) in list {
            let slot = found.entry(check).or_default();
            if slot.len() >= opts.max_failures
                || slot
                    .iter()
                    .any(|f| f.status == status && f.failure.key == failure.key)
            {
                continue;
            }
            slot.push(Found {
                check,
                status,
                failure,
                number: i + 1,
                planned: (*p).clone(),
                shrunk: 0,
            });
        }
    }
    found
}

/// Smaller variants of a valid JSON value (each valid): a property left out, an array cut,
/// a string shortened, a number made 0.
fn simpler(value: &Value, validator: &jsonschema::Validator) -> Vec<Value> {
    let mut out = Vec::new();
    let mut places = Vec::new();
    places_of(value, String::new(), &mut places);
    for pointer in places {
        let Some(at) = value.pointer(&pointer) else {
            continue;
        };
        let mut options: Vec<Option<Value>> = Vec::new();
        match at {
            Value::Array(items) if !items.is_empty() => {
                options.push(Some(Value::Array(items[..items.len() / 2].to_vec())));
                options.push(Some(Value::Array(items[..items.len() - 1].to_vec())));
            }
            Value::String(s) if s.chars().count() > 1 => {
                options.push(Some(Value::String(s.chars().take(1).collect())));
            }
            Value::Number(n) if n.as_f64() != Some(0.0) => options.push(Some(Value::from(0))),
            _ => {}
        }
        if !pointer.is_empty() {
            // Left out (an object's property).
            options.push(None);
        }
        for option in options {
            let mut v = value.clone();
            match option {
                Some(replacement) => match v.pointer_mut(&pointer) {
                    Some(slot) => *slot = replacement,
                    None => continue,
                },
                None => {
                    let Some((parent, name)) = pointer.rsplit_once('/') else {
                        continue;
                    };
                    let name = name.replace("~1", "/").replace("~0", "~");
                    let target = if parent.is_empty() {
                        Some(&mut v)
                    } else {
                        v.pointer_mut(parent)
                    };
                    let removed = target
                        .and_then(Value::as_object_mut)
                        .and_then(|o| o.remove(&name));
                    if removed.is_none() {
                        continue;
                    }
                }
            }
            if v != *value && validator.is_valid(&v) {
                out.push(v);
            }
        }
    }
    out
}

fn places_of(value: &Value, pointer: String, out: &mut Vec<String>) {
    out.push(pointer.clone());
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                places_of(v, format!("{pointer}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate().take(4) {
                places_of(v, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Whether a failure is shrunk: one of a generated valid request that got an answer (not a
/// request that got none, nor a slow one: shrinking those would wait on the server again).
fn worth_shrinking(f: &Found) -> bool {
    f.planned.shrinkable
        && f.planned.expect == Expect::Valid
        && f.status != 0
        && f.check != CheckKind::ResponseTime
}

/// Shrinks a failing request's body while the same failure (check, status, key) comes back.
async fn shrink(
    client: reqwest::Client,
    doc: Arc<Document>,
    op: Operation,
    mut found: Found,
    opts: LiveOptions,
) -> Found {
    let validators = Validators::default();
    let Some(schema) = Shapes::new(&doc, &op).body_schema else {
        return found;
    };
    let Ok(validator) = jsonschema::validator_for(&schema) else {
        return found;
    };
    let mut budget = SHRINK_BUDGET;
    'outer: while budget > 0 {
        let Some(body) = found.planned.body.clone() else {
            break;
        };
        for candidate in simpler(&body, &validator) {
            if budget == 0 || cancelled(&opts) {
                break 'outer;
            }
            budget -= 1;
            let mut p = found.planned.clone();
            p.body = Some(candidate);
            // A server that stops answering ends the shrinking: each try would wait the whole
            // timeout.
            let Ok(e) = send(&client, &opts, &p).await else {
                break 'outer;
            };
            let same = failures_of(&doc, Some(&op), &p, &e, &validators, &opts)
                .into_iter()
                .find(|(c, f)| {
                    *c == found.check
                        && f.key == found.failure.key
                        && e.observed.status == found.status
                });
            if let Some((_, f)) = same {
                found.planned = p;
                found.failure = f;
                found.shrunk += 1;
                continue 'outer;
            }
        }
        break;
    }
    found
}

fn detail(f: &Found, total: usize, opts: &LiveOptions) -> String {
    let answered = if f.status == 0 {
        "no answer".to_owned()
    } else {
        format!("answered HTTP {}", f.status)
    };
    let mut out = format!(
        "request {} of {} ({}), {answered}\nreproduce: {}\nseed: {}",
        f.number,
        total,
        f.planned.what,
        f.planned.curl(&opts.base_url),
        opts.seed
    );
    if f.shrunk > 0 {
        let _ = write!(
            out,
            "\nshrunk: the smallest request found that fails the same way ({} step{})",
            f.shrunk,
            if f.shrunk == 1 { "" } else { "s" }
        );
    }
    out
}

/// The case of one check from its distinct failures.
fn check_case(name: &str, failures: Option<&Vec<Found>>, total: usize, opts: &LiveOptions) -> Case {
    let Some(list) = failures.filter(|l| !l.is_empty()) else {
        return Case::passed(name);
    };
    let first = &list[0];
    let mut message = if list.len() == 1 {
        first.failure.message.clone()
    } else {
        let mut m = format!("{} distinct failures:", list.len());
        for (k, f) in list.iter().enumerate() {
            let _ = write!(m, " ({}) {}", k + 1, f.failure.message);
            if k + 1 < list.len() {
                m.push(';');
            }
        }
        m
    };
    if list.len() >= opts.max_failures {
        let _ = write!(
            message,
            " (at most {} distinct failure{} reported per check: --max-failures)",
            opts.max_failures,
            if opts.max_failures == 1 {
                " is"
            } else {
                "s are"
            }
        );
    }
    let mut c = Case::new(name, Outcome::Failed).with_message(message);
    c.expected = first.failure.expected.clone();
    c.actual = first.failure.actual.clone();
    c.detail = Some(
        list.iter()
            .enumerate()
            .map(|(k, f)| {
                let d = detail(f, total, opts);
                if list.len() == 1 {
                    d
                } else {
                    format!("failure {}: {d}", k + 1)
                }
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
    );
    c.properties.insert("failures", list.len().to_string());
    c
}

fn errored_all(names: Vec<String>, message: &str) -> Vec<Case> {
    names
        .into_iter()
        .map(|n| Case::errored(n, message.to_owned()))
        .collect()
}

/// The documented status codes (explicit ones) an operation's answers did not reach.
fn statuses_not_reached(op: &Operation, reached: &[u16]) -> Vec<String> {
    op.responses
        .iter()
        .map(|r| r.status.clone())
        .filter(|s| s.len() == 3 && s.chars().all(|c| c.is_ascii_digit()))
        .filter(|s| !reached.iter().any(|r| r.to_string() == *s))
        .collect()
}

/// Tests every selected operation; one case per operation and check, then one per path for
/// undeclared methods.
pub fn test(doc: &Document, ops: &[Operation], opts: &LiveOptions) -> Vec<Case> {
    let selected_ops: Vec<&Operation> = ops
        .iter()
        .filter(|o| selected(o, &opts.operations))
        .collect();
    let mut plans: Vec<Planned> = Vec::new();
    for (n, op) in selected_ops.iter().enumerate() {
        plans.extend(plan(doc, op, n, opts));
    }
    let (paths, probes) = plan_methods(doc, &selected_ops, opts);
    plans.extend(probes);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let client = modelci_net::ClientPolicy::new(opts.timeout).build();
    let (runtime, client) = match (runtime, client) {
        (Ok(r), Ok(c)) => (r, c),
        (Err(e), _) => {
            return errored_all(
                case_names(doc, ops, opts),
                &format!("failed to start the HTTP client: {e}"),
            );
        }
        (_, Err(e)) => return errored_all(case_names(doc, ops, opts), &e.to_string()),
    };
    let started = Instant::now();
    let (plans, answers) = runtime.block_on(async {
        let mut answers = send_all(&client, &plans, opts).await;
        if opts.stateful && !cancelled(opts) {
            let chains = plan_links(doc, &selected_ops, &plans, &answers, opts);
            for (p, a) in send_chains(&client, chains, opts).await {
                plans.push(p);
                answers.push(a);
            }
        }
        (plans, answers)
    });
    let validators = Validators::default();
    let interrupted = |owner: Owner| {
        plans
            .iter()
            .zip(&answers)
            .any(|(p, a)| p.owner == owner && matches!(a, Err(e) if e == NOT_SENT))
    };
    // Every owner's distinct failures, then the generated ones shrunk.
    let mut per_op: Vec<BTreeMap<CheckKind, Vec<Found>>> = Vec::new();
    for (n, op) in selected_ops.iter().enumerate() {
        let mine: Vec<(&Planned, &Answer)> = plans
            .iter()
            .zip(&answers)
            .filter(|(p, _)| p.owner == Owner::Operation(n))
            .collect();
        per_op.push(collect_failures(doc, Some(op), &mine, &validators, opts));
    }
    let shrinkable = per_op
        .iter()
        .flat_map(|m| m.values().flatten())
        .any(worth_shrinking);
    if opts.shrink && shrinkable && !cancelled(opts) {
        let doc_arc = Arc::new(doc.clone());
        per_op = runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (n, found) in per_op.iter().enumerate() {
                for (check, list) in found {
                    for (k, f) in list.iter().enumerate() {
                        if worth_shrinking(f) {
                            let task = shrink(
                                client.clone(),
                                Arc::clone(&doc_arc),
                                selected_ops[n].clone(),
                                f.clone(),
                                opts.clone(),
                            );
                            let check = *check;
                            set.spawn(async move { (n, check, k, task.await) });
                        }
                    }
                }
            }
            let mut out = per_op.clone();
            while let Some(Ok((n, check, k, f))) = set.join_next().await {
                if let Some(slot) = out[n].get_mut(&check).and_then(|l| l.get_mut(k)) {
                    *slot = f;
                }
            }
            out
        });
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let owners = selected_ops.len() + paths.len();
    let mut cases = Vec::new();
    for (n, op) in selected_ops.iter().enumerate() {
        let owner = Owner::Operation(n);
        let mine: Vec<(&Planned, &Answer)> = plans
            .iter()
            .zip(&answers)
            .filter(|(p, _)| p.owner == owner)
            .collect();
        let invalid = mine.iter().any(|(p, _)| p.expect == Expect::Invalid);
        let answered: Vec<u16> = mine
            .iter()
            .filter_map(|(_, a)| a.as_ref().ok().map(|e| e.observed.status))
            .collect();
        let transport = mine.iter().find_map(|(_, a)| a.as_ref().err().cloned());
        let linked = mine
            .iter()
            .filter(|(p, _)| p.what.starts_with("linked request"))
            .count();
        for kind in op_checks(invalid, opts) {
            let name = format!("{} › {kind}", op.label());
            let mut case = if answered.is_empty() {
                Case::errored(
                    &name,
                    transport
                        .clone()
                        .unwrap_or_else(|| "no request could be built for this operation".into()),
                )
            } else {
                check_case(&name, per_op[n].get(&kind), mine.len(), opts)
            };
            if kind == CheckKind::StatusDocumented && !answered.is_empty() {
                let mut reached: Vec<u16> = answered.clone();
                reached.sort_unstable();
                reached.dedup();
                let missing = statuses_not_reached(op, &reached);
                case.properties.insert(
                    "statuses_reached",
                    reached
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                );
                case.properties
                    .insert("statuses_not_reached", missing.join(","));
                if case.outcome == Outcome::Passed && !missing.is_empty() {
                    case.message = Some(format!(
                        "documented but never answered: {} (coverage)",
                        missing.join(", ")
                    ));
                }
            }
            if kind == CheckKind::RejectsInvalid {
                case.properties.insert(
                    "invalid_requests",
                    mine.iter()
                        .filter(|(p, _)| p.expect == Expect::Invalid)
                        .count()
                        .to_string(),
                );
            }
            case.properties.insert("operation", op.id.clone());
            case.properties.insert("requests", mine.len().to_string());
            if linked > 0 {
                case.properties
                    .insert("linked_requests", linked.to_string());
            }
            case.properties.insert("seed", opts.seed.to_string());
            case.duration_ms = elapsed_ms / owners.max(1) as f64 / CheckKind::ALL.len() as f64;
            case.location = Some(modelci_report::Location::file(doc.source.clone()));
            if interrupted(owner) {
                case = Case::skipped(case.name, "not run: the run was interrupted");
            }
            cases.push(case);
        }
    }
    for (k, path) in paths.iter().enumerate() {
        let owner = Owner::Path(k);
        let mine: Vec<(&Planned, &Answer)> = plans
            .iter()
            .zip(&answers)
            .filter(|(p, _)| p.owner == owner)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let name = format!("{path} › {}", CheckKind::MethodNotAllowed);
        let mut found = collect_failures(doc, None, &mine, &validators, opts);
        for f in found.values_mut().flatten() {
            if f.failure.key != "allow" {
                let methods: Vec<String> = mine
                    .iter()
                    .filter(|(_, a)| a.as_ref().is_ok_and(|e| e.observed.status == f.status))
                    .map(|(p, _)| p.method.to_ascii_uppercase())
                    .collect();
                let declared = match &f.planned.expect {
                    Expect::NotAllowed(d) => d.join(", "),
                    _ => String::new(),
                };
                f.failure.message = format!(
                    "{} {} {} answered HTTP {} instead of 405 Method Not Allowed (the path declares {declared})",
                    methods.join(", "),
                    f.planned.path,
                    if methods.len() == 1 { "was" } else { "were" },
                    f.status
                );
            }
        }
        let mut case = if mine.iter().all(|(_, a)| a.is_err()) {
            Case::errored(
                &name,
                mine.iter()
                    .find_map(|(_, a)| a.as_ref().err().cloned())
                    .unwrap_or_default(),
            )
        } else {
            check_case(
                &name,
                found.get(&CheckKind::MethodNotAllowed),
                mine.len(),
                opts,
            )
        };
        case.properties.insert(
            "methods",
            mine.iter()
                .map(|(p, _)| p.method.to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join(","),
        );
        case.properties.insert("seed", opts.seed.to_string());
        case.duration_ms = elapsed_ms / owners.max(1) as f64;
        case.location = Some(modelci_report::Location::file(doc.source.clone()));
        if interrupted(owner) {
            case = Case::skipped(case.name, "not run: the run was interrupted");
        }
        cases.push(case);
    }
    cases
}
