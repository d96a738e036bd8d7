//! `modelci contract test`: live conformance of a running service with its OpenAPI document.
//!
//! For each operation, modelci sends the document's examples, then valid requests generated from
//! the request schemas (deterministic for a `--seed`), then a few invalid ones (a missing required
//! property, a wrong type) that the service must reject with a 4xx. Every response is checked:
//! no 5xx, status documented, content type documented, body valid against the documented schema,
//! required headers present. One case per operation and check; a failure carries the request
//! number, the seed and a `curl` command that reproduces it. Requests are sent concurrently.

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
    /// Generated valid requests per operation (examples come on top).
    pub max_cases: usize,
    pub seed: u64,
    pub timeout: Duration,
    pub concurrency: usize,
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
            cancel: None,
        }
    }
}

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

/// A request to send.
#[derive(Debug, Clone)]
struct Planned {
    /// `example`, `generated #3`, `invalid: required property `x` missing`.
    what: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    content_type: Option<String>,
    /// Invalid requests must be rejected with a 4xx.
    invalid: bool,
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
        if let Some(body) = &self.body {
            if let Some(ct) = &self.content_type {
                let _ = write!(out, " -H {}", q(&format!("Content-Type: {ct}")));
            }
            let _ = write!(out, " --data {}", q(&body.to_string()));
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

/// Plans the requests of one operation.
fn plan(doc: &Document, op: &Operation, opts: &LiveOptions) -> Vec<Planned> {
    let mut out = Vec::new();
    let body_media = op
        .body
        .iter()
        .find(|m| m.media_type.contains("json"))
        .or_else(|| op.body.first());
    let body_schema = body_media
        .and_then(|m| m.schema.as_ref())
        .and_then(|s| standalone(doc, s).ok());
    let param_schemas: Vec<Option<Value>> = op
        .parameters
        .iter()
        .map(|p| p.schema.as_ref().and_then(|s| standalone(doc, s).ok()))
        .collect();

    let build = |g: &mut Generator, use_examples: bool, all_optional: bool| -> Option<Planned> {
        let mut path = op.path.clone();
        let mut query = Vec::new();
        let mut headers = Vec::new();
        for (p, schema) in op.parameters.iter().zip(&param_schemas) {
            if !p.required && !all_optional {
                continue;
            }
            let value = match (&p.example, use_examples) {
                (Some(e), true) => e.clone(),
                _ => match schema {
                    Some(s) => g.valid(s)?,
                    None => Value::String("x".into()),
                },
            };
            match p.location {
                In::Path => {
                    path = path.replace(&format!("{{{}}}", p.name), &percent_path(&scalar(&value)))
                }
                In::Query => match &value {
                    Value::Array(items) => {
                        for i in items {
                            query.push((p.name.clone(), scalar(i)));
                        }
                    }
                    v => query.push((p.name.clone(), scalar(v))),
                },
                In::Header => headers.push((p.name.clone(), scalar(&value))),
                In::Cookie => {
                    headers.push(("Cookie".into(), format!("{}={}", p.name, scalar(&value))))
                }
            }
        }
        let body = match body_media {
            Some(m) if use_examples && !m.examples.is_empty() => Some(m.examples[0].clone()),
            Some(_) if op.body_required || all_optional => match &body_schema {
                Some(s) => Some(g.valid(s)?),
                None => None,
            },
            _ => None,
        };
        Some(Planned {
            what: String::new(),
            method: op.method.clone(),
            path,
            query,
            headers,
            content_type: body.as_ref().and(body_media.map(|m| m.media_type.clone())),
            body,
            invalid: false,
        })
    };

    // Examples first: when the document gives any for this operation.
    let has_examples = body_media.is_some_and(|m| !m.examples.is_empty())
        || op.parameters.iter().any(|p| p.example.is_some());
    if has_examples {
        let mut g = Generator::new(case_seed(opts.seed, &op.id, usize::MAX));
        if let Some(mut p) = build(&mut g, true, false) {
            p.what = "the document's example".into();
            out.push(p);
        }
    }
    for i in 0..opts.max_cases {
        let mut g = Generator::new(case_seed(opts.seed, &op.id, i));
        if let Some(mut p) = build(&mut g, false, i % 2 == 1) {
            p.what = format!("generated request {}", i + 1);
            out.push(p);
        }
    }
    // Invalid variants of the first valid body.
    if let (Some(schema), Some(valid)) = (&body_schema, out.iter().find_map(|p| p.body.clone())) {
        let mut g = Generator::new(case_seed(opts.seed, &op.id, 10_000));
        let template = out.iter().find(|p| p.body.is_some()).cloned();
        for (why, bad) in g.invalid_variants(schema, &valid).into_iter().take(3) {
            if let Some(mut p) = template.clone() {
                p.what = format!("invalid request: {why}");
                p.body = Some(bad);
                p.invalid = true;
                out.push(p);
            }
        }
    }
    out
}

/// The names of the cases [`test`] reports, in order, without sending anything: one per selected
/// operation and check (`rejects invalid requests` only where invalid requests can be built).
pub fn case_names(doc: &Document, ops: &[Operation], opts: &LiveOptions) -> Vec<String> {
    let mut out = Vec::new();
    for op in ops.iter().filter(|o| selected(o, &opts.operations)) {
        let invalid = plan(doc, op, opts).iter().any(|p| p.invalid);
        for kind in CheckKind::ALL {
            if kind == CheckKind::RejectsInvalid && !invalid {
                continue;
            }
            out.push(format!("{} › {kind}", op.label()));
        }
    }
    out
}

/// Tests every selected operation; one case per operation and check.
pub fn test(doc: &Document, ops: &[Operation], opts: &LiveOptions) -> Vec<Case> {
    let selected_ops: Vec<&Operation> = ops
        .iter()
        .filter(|o| selected(o, &opts.operations))
        .collect();
    let plans: Vec<(usize, Planned)> = selected_ops
        .iter()
        .enumerate()
        .flat_map(|(n, op)| plan(doc, op, opts).into_iter().map(move |p| (n, p)))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let client = modelci_net::ClientPolicy::new(opts.timeout).build();
    let (runtime, client) = match (runtime, client) {
        (Ok(r), Ok(c)) => (r, c),
        (Err(e), _) => {
            return errored_all(
                &selected_ops,
                &format!("failed to start the HTTP client: {e}"),
            );
        }
        (_, Err(e)) => return errored_all(&selected_ops, &e.to_string()),
    };
    let started = Instant::now();
    let responses: Vec<Result<Observed, String>> = runtime.block_on(async {
        let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        for (i, (_, p)) in plans.iter().enumerate() {
            let timeout = opts.timeout;
            let (client, sem, p, base, extra, cancel) = (
                client.clone(),
                Arc::clone(&sem),
                p.clone(),
                opts.base_url.clone(),
                opts.headers.clone(),
                opts.cancel.clone(),
            );
            set.spawn(async move {
                let _permit = sem.acquire().await;
                if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst)) {
                    return (i, Err(NOT_SENT.to_owned()));
                }
                (i, send(&client, &base, &extra, &p, timeout).await)
            });
        }
        let mut out: Vec<Result<Observed, String>> = vec![Err(NOT_SENT.into()); plans.len()];
        while let Some(Ok((i, r))) = set.join_next().await {
            out[i] = r;
        }
        out
    });
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;

    let validators = Validators::default();
    let mut cases = Vec::new();
    for (n, op) in selected_ops.iter().enumerate() {
        let mine: Vec<(&Planned, &Result<Observed, String>)> = plans
            .iter()
            .zip(&responses)
            .filter(|((k, _), _)| *k == n)
            .map(|((_, p), r)| (p, r))
            .collect();
        let judged = judge(
            doc,
            op,
            &mine,
            &validators,
            opts,
            elapsed_ms / selected_ops.len().max(1) as f64,
        );
        // An operation whose requests were not all sent (Ctrl-C) cannot be judged: its cases
        // are skipped, not failed.
        if mine
            .iter()
            .any(|(_, r)| matches!(r, Err(e) if e == NOT_SENT))
        {
            cases.extend(
                judged
                    .into_iter()
                    .map(|c| Case::skipped(c.name, "not run: the run was interrupted")),
            );
        } else {
            cases.extend(judged);
        }
    }
    cases
}

/// What a request that was never sent (the run was cancelled first) holds instead of an answer.
const NOT_SENT: &str = "not sent";

fn errored_all(ops: &[&Operation], message: &str) -> Vec<Case> {
    ops.iter()
        .map(|op| Case::errored(op.label(), message.to_owned()))
        .collect()
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    extra: &[(String, String)],
    p: &Planned,
    timeout: Duration,
) -> Result<Observed, String> {
    let method = reqwest::Method::from_bytes(p.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid method {}", p.method))?;
    let url = p.url(base);
    let mut req = client.request(method.clone(), &url);
    for (k, v) in p.headers.iter().chain(extra) {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(body) = &p.body {
        req = req
            .header(
                "Content-Type",
                p.content_type.as_deref().unwrap_or("application/json"),
            )
            .body(body.to_string());
    }
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
    Ok(Observed {
        status,
        headers,
        body: (!body.is_empty()).then_some(body),
    })
}

fn judge(
    doc: &Document,
    op: &Operation,
    exchanges: &[(&Planned, &Result<Observed, String>)],
    validators: &Validators,
    opts: &LiveOptions,
    duration_ms: f64,
) -> Vec<Case> {
    let label = op.label();
    let mut first: BTreeMap<CheckKind, (usize, &Planned, Failure, u16)> = BTreeMap::new();
    let mut counted = 0usize;
    let mut transport: Option<String> = None;
    let mut invalid_sent = 0usize;
    for (i, (p, r)) in exchanges.iter().enumerate() {
        let observed = match r {
            Ok(o) => o,
            Err(e) => {
                transport.get_or_insert_with(|| e.clone());
                continue;
            }
        };
        counted += 1;
        if p.invalid {
            invalid_sent += 1;
            if !(400..500).contains(&observed.status) {
                first.entry(CheckKind::RejectsInvalid).or_insert((
                    i,
                    p,
                    Failure {
                        message: format!(
                            "an {} was answered with HTTP {} instead of a 4xx",
                            p.what, observed.status
                        ),
                        expected: Some("a 4xx status".into()),
                        actual: Some(observed.status.to_string()),
                    },
                    observed.status,
                ));
            }
            continue;
        }
        for v in check_response(doc, op, observed, validators) {
            if let Some(f) = v.failure {
                first.entry(v.check).or_insert((i, p, f, observed.status));
            }
        }
    }
    let mut cases = Vec::new();
    for kind in CheckKind::ALL {
        if kind == CheckKind::RejectsInvalid && invalid_sent == 0 {
            continue;
        }
        let name = format!("{label} › {kind}");
        let mut case = if counted == 0 {
            Case::errored(
                &name,
                transport
                    .clone()
                    .unwrap_or_else(|| "no request could be built for this operation".into()),
            )
        } else if let Some((i, p, f, status)) = first.get(&kind) {
            let mut c = Case::new(&name, Outcome::Failed).with_message(f.message.clone());
            c.expected = f.expected.clone();
            c.actual = f.actual.clone();
            c.detail = Some(format!(
                "request {} of {} ({}), answered HTTP {status}\nreproduce: {}\nseed: {}",
                i + 1,
                exchanges.len(),
                p.what,
                p.curl(&opts.base_url),
                opts.seed
            ));
            c
        } else {
            Case::passed(&name)
        };
        case.properties.insert("operation", op.id.clone());
        case.properties
            .insert("requests", exchanges.len().to_string());
        case.properties.insert("seed", opts.seed.to_string());
        case.duration_ms = duration_ms / CheckKind::ALL.len() as f64;
        case.location = Some(modelci_report::Location::file(doc.source.clone()));
        cases.push(case);
    }
    cases
}
