//! Matching whole requests, responses and messages: method, path, query, headers, status,
//! metadata and body.

use serde_json::Value;

use crate::body::{self, Options, describe};
use crate::matchers::check_rules;
use crate::mismatch::{Mismatch, Part};
use crate::model::{Headers, MessageContents, Query, Request, Response};
use crate::rules::Rules;

/// Compares an actual request with the expected one. Unexpected body keys are mismatches
/// (a provider must not be sent what the consumer does not send).
pub fn compare_request(expected: &Request, actual: &Request) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if !expected.method.eq_ignore_ascii_case(&actual.method) {
        out.push(Mismatch::new(
            Part::Method,
            "",
            &expected.method,
            &actual.method,
            format!(
                "expected method {} but received {}",
                expected.method, actual.method
            ),
        ));
    }
    compare_path(expected, actual, &mut out);
    compare_query(expected, actual, &mut out);
    headers_and_body(
        Parts {
            headers: expected.headers.as_ref(),
            body: &expected.body,
            content_type: expected.content_type.as_deref(),
            rules: &expected.rules,
        },
        actual.headers.as_ref(),
        &actual.body,
        false,
        &mut out,
    );
    out
}

/// Compares an actual response with the expected one. Unexpected body keys are allowed
/// (a consumer ignores what it does not read).
pub fn compare_response(expected: &Response, actual: &Response) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(es) = expected.status {
        let actual_status = actual.status.unwrap_or(0);
        let rules = expected.rules.category("status");
        match rules.whole() {
            Some(r) => {
                if let Err(why) = check_rules(r, &Value::from(es), &Value::from(actual_status)) {
                    out.push(
                        Mismatch::new(
                            Part::Status,
                            "",
                            es.to_string(),
                            actual_status.to_string(),
                            why,
                        )
                        .with_rule(Some(describe(r))),
                    );
                }
            }
            None if es != actual_status => out.push(Mismatch::new(
                Part::Status,
                "",
                es.to_string(),
                actual_status.to_string(),
                format!("expected status {es} but received {actual_status}"),
            )),
            None => {}
        }
    }
    headers_and_body(
        Parts {
            headers: expected.headers.as_ref(),
            body: &expected.body,
            content_type: expected.content_type.as_deref(),
            rules: &expected.rules,
        },
        actual.headers.as_ref(),
        &actual.body,
        true,
        &mut out,
    );
    out
}

/// The expected side of a request or response, as headers and body matching need it.
struct Parts<'a> {
    headers: Option<&'a Headers>,
    body: &'a crate::model::Body,
    content_type: Option<&'a str>,
    rules: &'a crate::rules::MatchingRules,
}

/// Headers, then the body (whose kind the content type decides). `allow_unexpected`: responses
/// may carry body keys and elements the pact does not mention; requests may not.
fn headers_and_body(
    expected: Parts<'_>,
    actual_headers: Option<&Headers>,
    actual_body: &crate::model::Body,
    allow_unexpected: bool,
    out: &mut Vec<Mismatch>,
) {
    if let Some(eh) = expected.headers {
        let empty = Vec::new();
        let ah = actual_headers.unwrap_or(&empty);
        compare_headers(eh, ah, expected.rules.category("header"), out);
    }
    let ct = content_type(expected.content_type, expected.headers, actual_headers);
    out.extend(body::compare(
        expected.body,
        actual_body,
        ct.as_deref(),
        expected.rules.category("body"),
        Options { allow_unexpected },
    ));
}

/// Compares message contents and metadata.
pub fn compare_message(expected: &MessageContents, actual: &MessageContents) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let rules = expected.rules.category("metadata");
    for (key, ev) in &expected.metadata {
        if key.eq_ignore_ascii_case("contentType") || key.eq_ignore_ascii_case("content-type") {
            continue;
        }
        match actual.metadata.get(key) {
            None => out.push(Mismatch::new(
                Part::Metadata,
                key,
                ev.to_string(),
                "(missing)",
                format!("expected metadata {key:?} but it is missing"),
            )),
            Some(av) => {
                let result = match rules.for_name(key, false) {
                    Some(r) => check_rules(r, ev, av).map_err(|e| (e, Some(describe(r)))),
                    None if crate::matchers::json_equal(ev, av) => Ok(()),
                    None => Err((format!("expected {ev} but received {av}"), None)),
                };
                if let Err((why, rule)) = result {
                    out.push(
                        Mismatch::new(Part::Metadata, key, ev.to_string(), av.to_string(), why)
                            .with_rule(rule),
                    );
                }
            }
        }
    }
    let ct = expected
        .content_type
        .clone()
        .or_else(|| actual.content_type.clone());
    out.extend(body::compare(
        &expected.body,
        &actual.body,
        ct.as_deref(),
        expected.rules.category("body"),
        Options {
            allow_unexpected: true,
        },
    ));
    out
}

fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a Vec<String>> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn content_type(
    declared: Option<&str>,
    expected: Option<&Headers>,
    actual: Option<&Headers>,
) -> Option<String> {
    declared
        .map(str::to_owned)
        .or_else(|| {
            expected
                .and_then(|h| header(h, "content-type"))
                .and_then(|v| v.first().cloned())
        })
        .or_else(|| {
            actual
                .and_then(|h| header(h, "content-type"))
                .and_then(|v| v.first().cloned())
        })
}

fn compare_path(expected: &Request, actual: &Request, out: &mut Vec<Mismatch>) {
    let rules = expected.rules.category("path");
    match rules.whole() {
        Some(r) => {
            if let Err(why) = check_rules(
                r,
                &Value::String(expected.path.clone()),
                &Value::String(actual.path.clone()),
            ) {
                out.push(
                    Mismatch::new(Part::Path, "", &expected.path, &actual.path, why)
                        .with_rule(Some(describe(r))),
                );
            }
        }
        None if expected.path != actual.path => out.push(Mismatch::new(
            Part::Path,
            "",
            &expected.path,
            &actual.path,
            format!(
                "expected path {:?} but received {:?}",
                expected.path, actual.path
            ),
        )),
        None => {}
    }
}

fn compare_query(expected: &Request, actual: &Request, out: &mut Vec<Mismatch>) {
    match (&expected.query, &actual.query) {
        (Some(Query::Raw(e)), Some(Query::Raw(a))) => {
            // v1 compares query strings as strings, once percent-decoded.
            let decode = |q: &str| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
                    + if q.ends_with('&') { "&" } else { "" }
            };
            if decode(e) != decode(a) {
                out.push(Mismatch::new(
                    Part::Query,
                    "",
                    e,
                    a,
                    format!("expected query string {e:?} but received {a:?}"),
                ));
            }
        }
        (Some(Query::Raw(e)), None) if !e.is_empty() => out.push(Mismatch::new(
            Part::Query,
            "",
            e,
            "",
            "expected a query string but received none",
        )),
        (e, a) => {
            let params = |q: &Option<Query>| match q {
                Some(Query::Params(p)) => p.clone(),
                Some(Query::Raw(s)) => crate::model::parse_query_string(s),
                None => Vec::new(),
            };
            if e.is_none()
                && a.as_ref()
                    .is_none_or(|q| params(&Some(q.clone())).is_empty())
            {
                return;
            }
            out.extend(compare_params(
                Part::Query,
                &params(e),
                &params(a),
                expected.rules.category("query"),
                false,
            ));
        }
    }
}

/// Compares parameter lists (query parameters, form fields): every expected parameter with its
/// values in order; unexpected parameters are mismatches unless `allow_unexpected`.
pub fn compare_params(
    part: Part,
    expected: &[(String, Vec<String>)],
    actual: &[(String, Vec<String>)],
    rules: &Rules,
    allow_unexpected: bool,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for (name, ev) in expected {
        let Some((_, av)) = actual.iter().find(|(n, _)| n == name) else {
            out.push(Mismatch::new(
                part,
                name,
                ev.join(", "),
                "(missing)",
                format!("expected parameter {name:?} but it is missing"),
            ));
            continue;
        };
        match rules.for_name(name, false) {
            Some(r) => {
                let ej = Value::Array(ev.iter().cloned().map(Value::String).collect());
                let aj = Value::Array(av.iter().cloned().map(Value::String).collect());
                let type_like = r.is_type_like();
                let first = ev.first().cloned().unwrap_or_default();
                let mut errors = Vec::new();
                if type_like {
                    if let Err(why) = check_rules(r, &ej, &aj) {
                        errors.push(why);
                    }
                } else {
                    for (i, a) in av.iter().enumerate() {
                        let e = ev.get(i).unwrap_or(&first);
                        if let Err(why) =
                            check_rules(r, &Value::String(e.clone()), &Value::String(a.clone()))
                        {
                            errors.push(why);
                        }
                    }
                }
                if !errors.is_empty() {
                    out.push(
                        Mismatch::new(part, name, ev.join(", "), av.join(", "), errors.join("; "))
                            .with_rule(Some(describe(r))),
                    );
                }
            }
            None => {
                if ev != av {
                    out.push(Mismatch::new(
                        part,
                        name,
                        ev.join(", "),
                        av.join(", "),
                        format!("expected {name}={ev:?} but received {av:?}"),
                    ));
                }
            }
        }
    }
    if !allow_unexpected {
        for (name, av) in actual {
            if !expected.iter().any(|(n, _)| n == name) {
                out.push(Mismatch::new(
                    part,
                    name,
                    "(absent)",
                    av.join(", "),
                    format!("unexpected parameter {name:?}"),
                ));
            }
        }
    }
    out
}

/// Compares headers: every expected header must be present (names case-insensitive); values
/// compare by rule, as media types for `Content-Type`, or as comma-separated lists otherwise.
pub fn compare_headers(
    expected: &Headers,
    actual: &Headers,
    rules: &Rules,
    out: &mut Vec<Mismatch>,
) {
    for (name, ev) in expected {
        let e_joined = ev.join(", ");
        let Some(av) = header(actual, name) else {
            out.push(Mismatch::new(
                Part::Header,
                name,
                &e_joined,
                "(missing)",
                format!("expected header {name} but it is missing"),
            ));
            continue;
        };
        let a_joined = av.join(", ");
        if let Some(r) = rules.for_name(name, true) {
            if let Err(why) = check_rules(
                r,
                &Value::String(e_joined.clone()),
                &Value::String(a_joined.clone()),
            ) {
                out.push(
                    Mismatch::new(Part::Header, name, &e_joined, &a_joined, why)
                        .with_rule(Some(describe(r))),
                );
            }
            continue;
        }
        let same =
            if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("accept") {
                let (es, as_) = (split_values(&e_joined), split_values(&a_joined));
                es.len() == as_.len() && es.iter().zip(&as_).all(|(e, a)| same_media_type(e, a))
            } else {
                split_values(&e_joined) == split_values(&a_joined)
            };
        if !same {
            out.push(Mismatch::new(
                Part::Header,
                name,
                &e_joined,
                &a_joined,
                format!("expected {name}: {e_joined} but received {a_joined}"),
            ));
        }
    }
}

fn split_values(v: &str) -> Vec<String> {
    v.split(',').map(|s| s.trim().to_owned()).collect()
}

/// A media type matches when the types are equal (case-sensitively, as header values are) and every parameter the
/// expected one names has the same value (in any order; `charset` case-insensitively).
fn same_media_type(e: &str, a: &str) -> bool {
    let parse = |s: &str| {
        let mut parts = s.split(';');
        let base = parts.next().unwrap_or("").trim().to_owned();
        let mut params: Vec<(String, String)> = parts
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let k = k.trim().to_ascii_lowercase();
                let mut v = v.trim().trim_matches('"').to_owned();
                if k == "charset" {
                    v = v.to_ascii_lowercase();
                }
                (k, v)
            })
            .collect();
        params.sort();
        (base, params)
    };
    let (eb, ep) = parse(e);
    let (ab, ap) = parse(a);
    eb == ab && ep.iter().all(|p| ap.contains(p))
}
