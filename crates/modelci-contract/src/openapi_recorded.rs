//! `modelci contract validate`: check recorded request/response pairs against an OpenAPI
//! document, without a live service.
//!
//! Formats:
//! - **HAR** (`.har`, or JSON with `log.entries`): each entry's `request.method`, `request.url`
//!   and `response.status`, `response.headers`, `response.content.text` (base64 when
//!   `content.encoding` is `base64`);
//! - **JSON Lines**: one exchange per line, either `{"method", "path" | "url", "status",
//!   "headers", "body"}` (response headers and body) or `{"request": {"method", "path" | "url"},
//!   "response": {"status", "headers", "body"}}`. A `body` that is not a string is JSON.
//!
//! One case per exchange: passed when every check holds, failed with every failing check listed,
//! errored when the line or entry cannot be read or matches no operation.

use std::fmt::Write as _;
use std::time::Instant;

use modelci_openapi::{Document, Observed, Operation, Validators, check_response};
use modelci_report::{Case, Location, Outcome};
use serde_json::Value;

use crate::locate::{element_offsets, line_cols};

/// One recorded exchange, or why it could not be read.
struct Exchange {
    name: String,
    line: Option<u32>,
    parsed: Result<(String, String, Observed), String>,
}

/// Validates every exchange of a recorded file. `shown` is the file's display path.
pub fn validate(doc: &Document, ops: &[Operation], text: &str, shown: &str) -> Vec<Case> {
    let validators = Validators::default();
    let exchanges = read_exchanges(text);
    exchanges
        .into_iter()
        .map(|x| {
            let started = Instant::now();
            let location = Location {
                file: shown.to_owned(),
                line: x.line,
                column: None,
            };
            let mut case = match x.parsed {
                Err(e) => Case::errored(&x.name, e),
                Ok((method, path, observed)) => {
                    match modelci_openapi::ops::find(ops, &method, &path) {
                        None => Case::errored(
                            &x.name,
                            format!(
                                "{} {path} matches no operation of `{}`",
                                method.to_ascii_uppercase(),
                                doc.source
                            ),
                        ),
                        Some(op) => judge(doc, op, &observed, &validators, &x.name),
                    }
                }
            };
            case.location = Some(location);
            case.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            case
        })
        .collect()
}

fn judge(
    doc: &Document,
    op: &Operation,
    observed: &Observed,
    validators: &Validators,
    name: &str,
) -> Case {
    let failures: Vec<_> = check_response(doc, op, observed, validators)
        .into_iter()
        .filter_map(|v| v.failure.map(|f| (v.check, f)))
        .collect();
    if failures.is_empty() {
        return Case::passed(name).with_property("operation", op.id.clone());
    }
    let (first_check, first) = &failures[0];
    let mut message = format!("{first_check}: {}", first.message);
    if failures.len() > 1 {
        let _ = write!(message, " (and {} more)", failures.len() - 1);
    }
    let mut detail = String::new();
    for (check, f) in &failures {
        let _ = writeln!(detail, "{check}: {}", f.message);
    }
    let mut case = Case::new(name, Outcome::Failed)
        .with_message(message)
        .with_property("operation", op.id.clone());
    case.expected = first.expected.clone();
    case.actual = first.actual.clone();
    case.detail = Some(detail.trim_end().to_owned());
    case
}

fn read_exchanges(text: &str) -> Vec<Exchange> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('{')
        && let Ok(v) = serde_json::from_str::<Value>(text)
        && let Some(entries) = v.pointer("/log/entries").and_then(Value::as_array)
    {
        let offsets = element_offsets(text, &["log", "entries"]);
        let lines = line_cols(text, &offsets);
        return entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let parsed = har_entry(e);
                Exchange {
                    name: name_of(i + 1, &parsed),
                    line: lines.get(i).map(|(l, _)| *l),
                    parsed,
                }
            })
            .collect();
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Value>(line)
            .map_err(|e| format!("not valid JSON: {e}"))
            .and_then(|v| jsonl_exchange(&v));
        out.push(Exchange {
            name: name_of(i + 1, &parsed),
            line: u32::try_from(i + 1).ok(),
            parsed,
        });
    }
    out
}

fn name_of(n: usize, parsed: &Result<(String, String, Observed), String>) -> String {
    match parsed {
        Ok((m, p, o)) => format!("#{n} {} {p} -> {}", m.to_ascii_uppercase(), o.status),
        Err(_) => format!("#{n}"),
    }
}

fn path_of(url_or_path: &str) -> String {
    let rest = match url_or_path.find("://") {
        Some(i) => {
            let after = &url_or_path[i + 3..];
            after.find('/').map_or("/", |j| &after[j..])
        }
        None => url_or_path,
    };
    rest.split(['?', '#']).next().unwrap_or("/").to_owned()
}

fn headers_of(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|h| {
                Some((
                    h.get("name")?.as_str()?.to_owned(),
                    h.get("value")?.as_str()?.to_owned(),
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn body_bytes(v: Option<&Value>) -> Option<Vec<u8>> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone().into_bytes()),
        Some(other) => Some(other.to_string().into_bytes()),
    }
}

fn status_of(v: Option<&Value>) -> Result<u16, String> {
    v.and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| "no numeric `status`".to_owned())
}

fn har_entry(e: &Value) -> Result<(String, String, Observed), String> {
    let method = e
        .pointer("/request/method")
        .and_then(Value::as_str)
        .ok_or("the entry has no request.method")?;
    let url = e
        .pointer("/request/url")
        .and_then(Value::as_str)
        .ok_or("the entry has no request.url")?;
    let status = status_of(e.pointer("/response/status"))?;
    let text = e.pointer("/response/content/text").and_then(Value::as_str);
    let body = match (
        text,
        e.pointer("/response/content/encoding")
            .and_then(Value::as_str),
    ) {
        (Some(t), Some("base64")) => {
            Some(modelci_pact::model::base64_decode(t).map_err(|e| format!("response body: {e}"))?)
        }
        (Some(t), _) => Some(t.as_bytes().to_vec()),
        (None, _) => None,
    };
    let mut headers = headers_of(e.pointer("/response/headers"));
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        && let Some(mime) = e
            .pointer("/response/content/mimeType")
            .and_then(Value::as_str)
        && !mime.is_empty()
    {
        headers.push(("Content-Type".into(), mime.to_owned()));
    }
    Ok((
        method.to_owned(),
        path_of(url),
        Observed {
            status,
            headers,
            body,
        },
    ))
}

fn jsonl_exchange(v: &Value) -> Result<(String, String, Observed), String> {
    let (req, resp) = match (v.get("request"), v.get("response")) {
        (Some(req), Some(resp)) => (req, resp),
        _ => (v, v),
    };
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .ok_or("no `method`")?;
    let path = req
        .get("path")
        .or_else(|| req.get("url"))
        .and_then(Value::as_str)
        .ok_or("no `path` or `url`")?;
    let body = body_bytes(resp.get("body"));
    let mut headers = headers_of(resp.get("headers").or_else(|| resp.get("response_headers")));
    if body.is_some()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        && resp.get("body").is_some_and(|b| !b.is_string())
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    Ok((
        method.to_owned(),
        path_of(path),
        Observed {
            status: status_of(resp.get("status"))?,
            headers,
            body,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
openapi: 3.0.3
paths:
  /v2/models/{name}:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [name, versions]
                properties:
                  name: {type: string}
                  versions: {type: array, items: {type: string}}
        '404': {description: no such model}
"#;

    fn run(text: &str) -> Vec<Case> {
        let doc = modelci_openapi::parse(SPEC, "spec.yaml").expect("doc");
        let ops = modelci_openapi::operations(&doc).expect("ops");
        validate(&doc, &ops, text, "traffic.jsonl")
    }

    #[test]
    fn json_lines_exchanges() {
        let cases = run(concat!(
            r#"{"method": "GET", "path": "/v2/models/a", "status": 200, "body": {"name": "a", "versions": ["1"]}}"#,
            "\n",
            r#"{"request": {"method": "GET", "url": "http://h/v2/models/b?x=1"}, "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": "{\"name\": 3}"}}"#,
            "\n",
            "\n",
            r#"{"method": "GET", "path": "/v2/models/c", "status": 503}"#,
            "\n",
            r#"{"method": "DELETE", "path": "/v2/models/c", "status": 200}"#,
            "\n",
            "not json\n",
        ));
        let outcomes: Vec<_> = cases.iter().map(|c| (c.name.as_str(), c.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                ("#1 GET /v2/models/a -> 200", Outcome::Passed),
                ("#2 GET /v2/models/b -> 200", Outcome::Failed),
                ("#4 GET /v2/models/c -> 503", Outcome::Failed),
                ("#5 DELETE /v2/models/c -> 200", Outcome::Errored),
                ("#6", Outcome::Errored),
            ]
        );
        assert!(
            cases[1]
                .message
                .as_deref()
                .expect("m")
                .starts_with("body matches schema: the body does not match"),
            "{:?}",
            cases[1]
        );
        assert_eq!(
            cases[2].message.as_deref(),
            Some("no server error: the service answered HTTP 503 (and 1 more)")
        );
        assert_eq!(cases[4].location.as_ref().and_then(|l| l.line), Some(6));
    }

    #[test]
    fn har_entries() {
        let har = r#"{"log": {"entries": [
          {"request": {"method": "GET", "url": "https://api/v2/models/a"},
           "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}],
                        "content": {"mimeType": "application/json", "text": "{\"name\": \"a\", \"versions\": []}"}}},
          {"request": {"method": "GET", "url": "https://api/v2/models/b"},
           "response": {"status": 200, "headers": [],
                        "content": {"mimeType": "application/json", "encoding": "base64", "text": "eyJuYW1lIjogMX0="}}}
        ]}}"#;
        let cases = run(har);
        assert_eq!(cases[0].outcome, Outcome::Passed, "{:?}", cases[0]);
        assert_eq!(cases[1].outcome, Outcome::Failed, "{:?}", cases[1]);
        assert_eq!(cases[1].location.as_ref().and_then(|l| l.line), Some(5));
    }
}
