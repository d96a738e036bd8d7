//! Body matching: JSON (recursive, with rule cascading), XML, form-urlencoded and plain text.

use serde_json::{Map, Value};

use crate::matchers::{check, check_rules, json_equal, kind};
use crate::mismatch::{Mismatch, Part};
use crate::model::{Body, parse_query_string};
use crate::path::display;
use crate::rules::{Matcher, RuleList, Rules};

/// Which kind of body the content type says this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Xml,
    Form,
    Text,
}

/// Classifies a content type (`application/json`, `application/hal+json`, `text/xml`, ...).
pub fn kind_of(content_type: &str) -> BodyKind {
    let base = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if base.ends_with("/json") || base.ends_with("+json") || base == "application/x-ndjson" {
        BodyKind::Json
    } else if base.ends_with("/xml") || base.ends_with("+xml") {
        BodyKind::Xml
    } else if base == "application/x-www-form-urlencoded" {
        BodyKind::Form
    } else {
        BodyKind::Text
    }
}

/// Guesses the kind of a body that has no content type.
pub fn sniff(body: &Body) -> BodyKind {
    match body {
        Body::Value(Value::String(s)) => {
            let t = s.trim_start();
            if t.starts_with("<?xml") || (t.starts_with('<') && t.ends_with('>')) {
                BodyKind::Xml
            } else if serde_json::from_str::<Value>(t).is_ok_and(|v| v.is_object() || v.is_array())
            {
                BodyKind::Json
            } else {
                BodyKind::Text
            }
        }
        Body::Value(_) => BodyKind::Json,
        _ => BodyKind::Text,
    }
}

/// Options that differ between requests and responses.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Responses (and messages) may carry keys and elements the pact does not mention.
    pub allow_unexpected: bool,
}

/// Compares a body.
pub fn compare(
    expected: &Body,
    actual: &Body,
    content_type: Option<&str>,
    rules: &Rules,
    opts: Options,
) -> Vec<Mismatch> {
    match expected {
        Body::Missing => return Vec::new(),
        Body::Null => {
            return if actual.is_empty() {
                Vec::new()
            } else {
                vec![Mismatch::new(
                    Part::Body,
                    "$",
                    "an empty body",
                    clip(&actual.text().unwrap_or_default()),
                    "expected an empty body but received one",
                )]
            };
        }
        _ => {}
    }
    if matches!(actual, Body::Missing | Body::Null) {
        if expected.is_empty() {
            return Vec::new();
        }
        return vec![Mismatch::new(
            Part::Body,
            "$",
            clip(&expected.text().unwrap_or_default()),
            "no body",
            "expected a body but received none",
        )];
    }
    // A `contentType` matcher on the whole body judges the kind of content, not its bytes.
    if let Some(rule) = rules.best(&["$".to_owned()])
        && let Some(want) = rule.matchers.iter().find_map(|m| match m {
            Matcher::ContentType(ct) => Some(ct),
            _ => None,
        })
    {
        let detected = detect_content_type(actual);
        let base = |c: &str| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        };
        return if base(want) == detected
            || (kind_of(want) == BodyKind::Json && detected == "application/json")
            || (kind_of(want) == BodyKind::Xml && detected == "application/xml")
        {
            Vec::new()
        } else {
            vec![
                Mismatch::new(
                    Part::Body,
                    "$",
                    want.clone(),
                    detected.clone(),
                    format!("expected content of type {want} but the body looks like {detected}"),
                )
                .with_rule(Some(format!("contentType {want}"))),
            ]
        };
    }
    let kind = content_type.map_or_else(|| sniff(expected), kind_of);
    match kind {
        BodyKind::Json => {
            let (Some(e), Some(a)) = (as_json(expected), as_json(actual)) else {
                return compare_text(expected, actual, rules);
            };
            let mut out = Vec::new();
            compare_json(&mut vec!["$".to_owned()], &e, &a, rules, opts, &mut out);
            out
        }
        BodyKind::Xml => {
            let (Some(e), Some(a)) = (expected.text(), actual.text()) else {
                return compare_text(expected, actual, rules);
            };
            crate::xml::compare(&e, &a, rules, opts)
        }
        BodyKind::Form => {
            let e = parse_query_string(&expected.text().unwrap_or_default());
            let a = parse_query_string(&actual.text().unwrap_or_default());
            crate::http::compare_params(Part::Body, &e, &a, rules, opts.allow_unexpected)
        }
        BodyKind::Text => compare_text(expected, actual, rules),
    }
}

/// The content type a body's bytes look like (magic numbers, then JSON, XML, text).
pub fn detect_content_type(body: &Body) -> String {
    let bytes: Vec<u8> = match body {
        Body::Missing | Body::Null => return "application/octet-stream".into(),
        Body::Value(Value::String(s)) => s.as_bytes().to_vec(),
        Body::Value(_) => return "application/json".into(),
        Body::Bytes(b) => b.clone(),
    };
    let magic: [(&[u8], &str); 6] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
    ];
    if let Some((_, t)) = magic.iter().find(|(m, _)| bytes.starts_with(m)) {
        return (*t).to_owned();
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return "application/octet-stream".into();
    };
    let t = text.trim_start();
    if serde_json::from_str::<Value>(t).is_ok() {
        "application/json".into()
    } else if t.starts_with('<') && roxmltree::Document::parse(t).is_ok() {
        "application/xml".into()
    } else {
        "text/plain".into()
    }
}

fn as_json(body: &Body) -> Option<Value> {
    match body {
        Body::Value(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => Some(v),
            Err(_) => Some(Value::String(s.clone())),
        },
        Body::Value(v) => Some(v.clone()),
        Body::Bytes(b) => serde_json::from_slice(b).ok(),
        _ => None,
    }
}

fn compare_text(expected: &Body, actual: &Body, rules: &Rules) -> Vec<Mismatch> {
    let e = expected.text().unwrap_or_default();
    let a = actual.text().unwrap_or_default();
    let root = vec!["$".to_owned()];
    if let Some(rule) = rules.best(&root) {
        return match check_rules(rule, &Value::String(e.clone()), &Value::String(a.clone())) {
            Ok(()) => Vec::new(),
            Err(why) => vec![
                Mismatch::new(Part::Body, "$", clip(&e), clip(&a), why)
                    .with_rule(Some(describe(rule))),
            ],
        };
    }
    if e == a {
        Vec::new()
    } else {
        vec![Mismatch::new(
            Part::Body,
            "$",
            clip(&e),
            clip(&a),
            "the bodies differ",
        )]
    }
}

/// Describes a rule for reports: `type min 1`, `regex /\d+/ or integer`.
pub fn describe(rule: &RuleList) -> String {
    let joiner = match rule.combine {
        crate::rules::Combine::And => " and ",
        crate::rules::Combine::Or => " or ",
    };
    rule.matchers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(joiner)
}

/// A value as short text for a mismatch: at most 200 characters, then a marker saying how many
/// were cut ([`modelci_text::truncate`]).
pub fn clip(s: &str) -> String {
    modelci_text::truncate(s, 200)
}

fn text(v: &Value) -> String {
    clip(&v.to_string())
}

/// Compares two JSON values at `path`, appending mismatches.
pub fn compare_json(
    path: &mut Vec<String>,
    expected: &Value,
    actual: &Value,
    rules: &Rules,
    opts: Options,
    out: &mut Vec<Mismatch>,
) {
    let rule = rules.best(path).filter(|r| {
        // Matchers about a collection's shape (values, eachKey, arrayContains, ...) hold at their
        // own path; only the others cascade to children.
        r.matchers.iter().any(cascades) || rules.exact(path).is_some_and(|e| std::ptr::eq(e, *r))
    });
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => compare_maps(path, e, a, rule, rules, opts, out),
        (Value::Array(e), Value::Array(a)) => compare_lists(path, e, a, rule, rules, opts, out),
        _ => match rule {
            Some(r) => {
                if let Err(why) = check_rules(r, expected, actual) {
                    out.push(
                        Mismatch::new(Part::Body, display(path), text(expected), text(actual), why)
                            .with_rule(Some(describe(r))),
                    );
                }
            }
            None => {
                if !json_equal(expected, actual) {
                    let why = if kind(expected) == kind(actual)
                        || (expected.is_number() && actual.is_number())
                    {
                        format!("expected {} but received {}", text(expected), text(actual))
                    } else {
                        format!(
                            "expected {} {} but received {} {}",
                            kind(expected),
                            text(expected),
                            kind(actual),
                            text(actual)
                        )
                    };
                    out.push(Mismatch::new(
                        Part::Body,
                        display(path),
                        text(expected),
                        text(actual),
                        why,
                    ));
                }
            }
        },
    }
}

fn cascades(m: &Matcher) -> bool {
    !matches!(
        m,
        Matcher::Values
            | Matcher::EachKey(_)
            | Matcher::EachValue(_)
            | Matcher::ArrayContains(_)
            | Matcher::ContentType(_)
            | Matcher::StatusCode(_)
    )
}

fn compare_maps(
    path: &mut Vec<String>,
    expected: &Map<String, Value>,
    actual: &Map<String, Value>,
    rule: Option<&RuleList>,
    rules: &Rules,
    opts: Options,
    out: &mut Vec<Mismatch>,
) {
    let ev = Value::Object(expected.clone());
    let av = Value::Object(actual.clone());
    if let Some(r) = rule
        && let Err(why) = check_rules(r, &ev, &av)
    {
        out.push(
            Mismatch::new(Part::Body, display(path), text(&ev), text(&av), why)
                .with_rule(Some(describe(r))),
        );
        return;
    }
    let exact = rules.exact(path);
    let free_keys = exact.is_some_and(|r| {
        r.matchers.iter().any(|m| {
            matches!(
                m,
                Matcher::Values | Matcher::EachKey(_) | Matcher::EachValue(_)
            )
        })
    });
    if let Some(r) = exact {
        for m in &r.matchers {
            match m {
                Matcher::EachKey(key_rules) => {
                    for key in actual.keys() {
                        for km in key_rules {
                            if let Err(why) = check(km, &Value::Null, &Value::String(key.clone())) {
                                out.push(
                                    Mismatch::new(
                                        Part::Body,
                                        display(path),
                                        km.to_string(),
                                        key.clone(),
                                        format!("key {key:?}: {why}"),
                                    )
                                    .with_rule(Some("eachKey".into())),
                                );
                            }
                        }
                    }
                }
                Matcher::EachValue(value_rules) => {
                    let template = expected.values().next().cloned().unwrap_or(Value::Null);
                    for (key, value) in actual {
                        for vm in value_rules {
                            if let Err(why) = check(vm, &template, value) {
                                path.push(key.clone());
                                out.push(
                                    Mismatch::new(
                                        Part::Body,
                                        display(path),
                                        text(&template),
                                        text(value),
                                        why,
                                    )
                                    .with_rule(Some(format!("eachValue {vm}"))),
                                );
                                path.pop();
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if free_keys {
        // Keys are free: every actual value is compared with the expected value of the same
        // key, or with the first expected value. Under `eachValue`, its matchers have already
        // judged the leaf values; only nested objects and arrays are walked.
        let each_value = exact.is_some_and(|r| {
            r.matchers
                .iter()
                .any(|m| matches!(m, Matcher::EachValue(v) if !v.is_empty()))
        });
        let template = expected.values().next();
        for (key, value) in actual {
            if each_value && !(value.is_object() || value.is_array()) {
                continue;
            }
            if let Some(e) = expected.get(key).or(template) {
                path.push(key.clone());
                compare_json(path, e, value, rules, opts, out);
                path.pop();
            }
        }
        return;
    }
    if expected.is_empty() && !actual.is_empty() && rule.is_none() && !opts.allow_unexpected {
        out.push(Mismatch::new(
            Part::Body,
            display(path),
            "{}",
            text(&av),
            format!(
                "expected an empty object but received {} key(s)",
                actual.len()
            ),
        ));
        return;
    }
    for (key, e) in expected {
        path.push(key.clone());
        match actual.get(key) {
            Some(a) => compare_json(path, e, a, rules, opts, out),
            None => out.push(Mismatch::new(
                Part::Body,
                display(path),
                text(e),
                "(missing)",
                format!("expected key {key:?} but it is missing"),
            )),
        }
        path.pop();
    }
    if !opts.allow_unexpected {
        for (key, a) in actual {
            if !expected.contains_key(key) {
                path.push(key.clone());
                out.push(Mismatch::new(
                    Part::Body,
                    display(path),
                    "(absent)",
                    text(a),
                    format!("unexpected key {key:?}"),
                ));
                path.pop();
            }
        }
    }
}

fn compare_lists(
    path: &mut Vec<String>,
    expected: &[Value],
    actual: &[Value],
    rule: Option<&RuleList>,
    rules: &Rules,
    opts: Options,
    out: &mut Vec<Mismatch>,
) {
    let ev = Value::Array(expected.to_vec());
    let av = Value::Array(actual.to_vec());
    if let Some(r) = rule {
        if let Err(why) = check_rules(r, &ev, &av) {
            out.push(
                Mismatch::new(Part::Body, display(path), text(&ev), text(&av), why)
                    .with_rule(Some(describe(r))),
            );
            return;
        }
        if !r.is_type_like() {
            // Equality, regex and friends judged the whole array.
            return;
        }
        if let Some(variants) = r.matchers.iter().find_map(|m| match m {
            Matcher::ArrayContains(v) => Some(v),
            _ => None,
        }) {
            for variant in variants {
                let Some(example) = expected.get(variant.index) else {
                    continue;
                };
                let found = actual.iter().any(|a| {
                    let mut sub = Vec::new();
                    compare_json(
                        &mut vec!["$".to_owned()],
                        example,
                        a,
                        &variant.rules,
                        opts,
                        &mut sub,
                    );
                    sub.is_empty()
                });
                if !found {
                    out.push(
                        Mismatch::new(
                            Part::Body,
                            display(path),
                            text(example),
                            text(&av),
                            format!(
                                "no element matches variant {} ({})",
                                variant.index,
                                text(example)
                            ),
                        )
                        .with_rule(Some("arrayContains".into())),
                    );
                }
            }
            return;
        }
        if let Some(value_rules) = r.matchers.iter().find_map(|m| match m {
            Matcher::EachValue(v) => Some(v),
            _ => None,
        }) {
            let template = expected.first().cloned().unwrap_or(Value::Null);
            for (i, a) in actual.iter().enumerate() {
                for vm in value_rules {
                    if let Err(why) = check(vm, &template, a) {
                        path.push(i.to_string());
                        out.push(
                            Mismatch::new(Part::Body, display(path), text(&template), text(a), why)
                                .with_rule(Some(format!("eachValue {vm}"))),
                        );
                        path.pop();
                    }
                }
            }
        }
        if expected.is_empty() {
            return;
        }
        let each_value = r
            .matchers
            .iter()
            .any(|m| matches!(m, Matcher::EachValue(v) if !v.is_empty()));
        for (i, a) in actual.iter().enumerate() {
            if each_value && !(a.is_object() || a.is_array()) {
                continue;
            }
            let e = expected.get(i).unwrap_or(&expected[0]);
            path.push(i.to_string());
            compare_json(path, e, a, rules, opts, out);
            path.pop();
        }
        return;
    }
    if expected.len() != actual.len() {
        out.push(Mismatch::new(
            Part::Body,
            display(path),
            text(&ev),
            text(&av),
            format!(
                "expected an array of {} element(s) but received {}",
                expected.len(),
                actual.len()
            ),
        ));
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        path.push(i.to_string());
        compare_json(path, e, a, rules, opts, out);
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::MatchingRules;

    fn rules(v: Value) -> Rules {
        MatchingRules::parse(&json!({ "body": v }), false)
            .expect("rules")
            .category("body")
            .clone()
    }

    #[test]
    fn long_values_in_mismatches_are_clipped_with_what_was_cut() {
        let long = format!("\"{}\"", "é".repeat(248));
        let m = json_mismatches(
            json!("short"),
            serde_json::from_str(&long).expect("json"),
            json!({}),
            false,
        );
        let actual = &m.first().expect("a mismatch").actual;
        assert_eq!(
            actual,
            &format!("\"{}… (50 more characters)", "é".repeat(199))
        );
        assert_eq!(clip("ok"), "ok");
    }

    fn json_mismatches(expected: Value, actual: Value, r: Value, allow: bool) -> Vec<Mismatch> {
        compare(
            &Body::Value(expected),
            &Body::Value(actual),
            Some("application/json"),
            &rules(r),
            Options {
                allow_unexpected: allow,
            },
        )
    }

    #[test]
    fn values_each_key_and_each_value() {
        let r = json!({
            "$.scores": {"matchers": [{"match": "values"}]},
            "$.scores.*": {"matchers": [{"match": "type"}]}
        });
        assert!(
            json_mismatches(
                json!({"scores": {"cat": 0.5}}),
                json!({"scores": {"dog": 0.1, "bird": 0.2}}),
                r.clone(),
                false
            )
            .is_empty()
        );
        assert!(
            !json_mismatches(
                json!({"scores": {"cat": 0.5}}),
                json!({"scores": {"dog": "x"}}),
                r,
                false
            )
            .is_empty()
        );
        let k = json!({"$.scores": {"matchers": [{"match": "eachKey", "rules": [{"match": "regex", "regex": "^[a-z]+$"}]}]}});
        assert!(
            json_mismatches(
                json!({"scores": {"cat": 1}}),
                json!({"scores": {"dog": 1}}),
                k.clone(),
                false
            )
            .is_empty()
        );
        let m = json_mismatches(
            json!({"scores": {"cat": 1}}),
            json!({"scores": {"Dog": 1}}),
            k,
            false,
        );
        assert!(m[0].message.starts_with("key \"Dog\""), "{m:?}");
        let v = json!({"$.scores": {"matchers": [{"match": "eachValue", "rules": [{"match": "number"}]}]}});
        assert!(
            json_mismatches(
                json!({"scores": {"cat": 1}}),
                json!({"scores": {"dog": 2, "x": 3}}),
                v.clone(),
                false
            )
            .is_empty()
        );
        assert!(
            !json_mismatches(
                json!({"scores": {"cat": 1}}),
                json!({"scores": {"dog": "two"}}),
                v,
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn array_contains_variants() {
        let r = json!({"$.events": {"matchers": [{"match": "arrayContains", "variants": [
            {"index": 0, "rules": {"$.id": {"matchers": [{"match": "integer"}]}}},
            {"index": 1, "rules": {}}
        ]}]}});
        let expected = json!({"events": [{"type": "start", "id": 1}, {"type": "stop"}]});
        let ok =
            json!({"events": [{"type": "noise"}, {"type": "stop"}, {"type": "start", "id": 99}]});
        assert!(json_mismatches(expected.clone(), ok, r.clone(), false).is_empty());
        let missing = json!({"events": [{"type": "start", "id": 5}]});
        let m = json_mismatches(expected, missing, r, false);
        assert_eq!(m.len(), 1);
        assert!(
            m[0].message.starts_with("no element matches variant 1"),
            "{m:?}"
        );
    }

    #[test]
    fn content_type_matcher_looks_at_the_bytes() {
        let r = rules(json!({"$": {"matchers": [{"match": "contentType", "value": "image/png"}]}}));
        let png = Body::Bytes(b"\x89PNG\r\n\x1a\nrest".to_vec());
        let opts = Options {
            allow_unexpected: true,
        };
        assert!(compare(&Body::Bytes(vec![1]), &png, Some("image/png"), &r, opts).is_empty());
        let text = Body::Value(Value::String("hello".into()));
        let m = compare(&Body::Bytes(vec![1]), &text, Some("image/png"), &r, opts);
        assert_eq!(
            m[0].message,
            "expected content of type image/png but the body looks like text/plain"
        );
        assert_eq!(
            detect_content_type(&Body::Value(json!({"a": 1}))),
            "application/json"
        );
        assert_eq!(
            detect_content_type(&Body::Value(Value::String("<a/>".into()))),
            "application/xml"
        );
    }

    #[test]
    fn form_bodies_compare_as_parameters() {
        let opts = Options {
            allow_unexpected: false,
        };
        let e = Body::Value(Value::String("a=1&b=two".into()));
        let same = Body::Value(Value::String("b=two&a=1".into()));
        let other = Body::Value(Value::String("a=1&b=three".into()));
        let ct = Some("application/x-www-form-urlencoded");
        assert!(compare(&e, &same, ct, &Rules::default(), opts).is_empty());
        assert_eq!(compare(&e, &other, ct, &Rules::default(), opts).len(), 1);
    }

    #[test]
    fn request_bodies_reject_unexpected_keys_responses_allow_them() {
        let e = json!({"a": 1});
        let a = json!({"a": 1, "b": 2});
        assert_eq!(
            json_mismatches(e.clone(), a.clone(), json!({}), false).len(),
            1
        );
        assert!(json_mismatches(e, a, json!({}), true).is_empty());
    }
}
