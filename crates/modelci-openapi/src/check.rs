//! Checking an observed response against an operation: no server error, status documented,
//! content type documented, body valid against the documented schema, required headers present,
//! documented headers valid against their schemas. Live testing adds its own checks on top
//! (invalid requests rejected, undeclared methods refused, the response time).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use jsonschema::Validator;
use serde_json::Value;

use crate::load::Document;
use crate::ops::Operation;
use crate::schema::standalone;

/// The checks made on each response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckKind {
    NoServerError,
    StatusDocumented,
    ContentTypeDocumented,
    BodySchema,
    RequiredHeaders,
    /// Each documented response header that is there matches its schema.
    HeaderSchema,
    /// An invalid request (missing required field, wrong type) must be rejected with a 4xx.
    RejectsInvalid,
    /// A method the path does not declare must be answered 405 with an `Allow` header.
    MethodNotAllowed,
    /// Every answer comes within the response time limit.
    ResponseTime,
}

impl CheckKind {
    /// Every kind, in report order.
    pub const ALL: [CheckKind; 9] = [
        CheckKind::NoServerError,
        CheckKind::StatusDocumented,
        CheckKind::ContentTypeDocumented,
        CheckKind::BodySchema,
        CheckKind::RequiredHeaders,
        CheckKind::HeaderSchema,
        CheckKind::RejectsInvalid,
        CheckKind::MethodNotAllowed,
        CheckKind::ResponseTime,
    ];

    /// The kinds [`check_response`] gives a verdict for, in report order.
    pub const RESPONSE: [CheckKind; 6] = [
        CheckKind::NoServerError,
        CheckKind::StatusDocumented,
        CheckKind::ContentTypeDocumented,
        CheckKind::BodySchema,
        CheckKind::RequiredHeaders,
        CheckKind::HeaderSchema,
    ];

    /// Stable name used in case names.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::NoServerError => "no server error",
            CheckKind::StatusDocumented => "status code documented",
            CheckKind::ContentTypeDocumented => "content type documented",
            CheckKind::BodySchema => "body matches schema",
            CheckKind::RequiredHeaders => "required headers present",
            CheckKind::HeaderSchema => "headers match schema",
            CheckKind::RejectsInvalid => "rejects invalid requests",
            CheckKind::MethodNotAllowed => "undeclared methods answer 405",
            CheckKind::ResponseTime => "response time",
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A response as observed (live or recorded).
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Observed {
    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One check's verdict on one response.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub check: CheckKind,
    /// `None` when the check holds.
    pub failure: Option<Failure>,
}

/// Why a check did not hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Failure {
    pub message: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// What tells this failure from another of the same check and status (the schema keyword
    /// that failed, the header): failures with the same check, status and key are one.
    pub key: String,
}

/// A compiled validator, or why the schema could not be compiled.
type Compiled = Result<Arc<Validator>, String>;

/// Compiled validators by schema location, shared across requests and threads.
#[derive(Clone, Default)]
pub struct Validators {
    cache: Arc<Mutex<HashMap<String, Compiled>>>,
}

impl Validators {
    /// The validator for the schema at `pointer` (compiled once).
    ///
    /// # Errors
    /// Why the schema cannot be used (unresolvable `$ref`, invalid schema).
    pub fn get(
        &self,
        doc: &Document,
        pointer: &str,
        schema: &Value,
    ) -> Result<Arc<Validator>, String> {
        if let Ok(cache) = self.cache.lock()
            && let Some(v) = cache.get(pointer)
        {
            return v.clone();
        }
        let built = standalone(doc, schema)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                jsonschema::options()
                    .should_validate_formats(true)
                    .build(&s)
                    .map(Arc::new)
                    .map_err(|e| {
                        format!("the schema at `{pointer}` is not a valid JSON Schema: {e}")
                    })
            });
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(pointer.to_owned(), built.clone());
        }
        built
    }
}

fn media_base(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a documented media type (`application/json`, `application/*`, `*/*`) covers `actual`.
pub fn media_matches(documented: &str, actual: &str) -> bool {
    let d = media_base(documented);
    let a = media_base(actual);
    if d == a || d == "*/*" {
        return true;
    }
    match d.split_once('/') {
        Some((t, "*")) => a.split_once('/').is_some_and(|(at, _)| at == t),
        _ => false,
    }
}

fn is_json(ct: &str) -> bool {
    let b = media_base(ct);
    b.ends_with("/json") || b.ends_with("+json")
}

fn fail(message: String) -> Option<Failure> {
    Some(Failure {
        message,
        ..Failure::default()
    })
}

/// Checks a response against `op`. Every [`CheckKind`] except `RejectsInvalid` gets a verdict.
pub fn check_response(
    doc: &Document,
    op: &Operation,
    observed: &Observed,
    validators: &Validators,
) -> Vec<Verdict> {
    let mut out = Vec::new();
    let status = observed.status;
    out.push(Verdict {
        check: CheckKind::NoServerError,
        failure: (status >= 500).then(|| Failure {
            message: format!("the service answered HTTP {status}"),
            expected: Some("a status below 500".into()),
            actual: Some(status.to_string()),
            key: String::new(),
        }),
    });
    let spec = op.response_for(status);
    let documented: Vec<&str> = op.responses.iter().map(|r| r.status.as_str()).collect();
    out.push(Verdict {
        check: CheckKind::StatusDocumented,
        failure: spec.is_none().then(|| Failure {
            message: format!(
                "HTTP {status} is not documented for {} (documented: {})",
                op.label(),
                documented.join(", ")
            ),
            expected: Some(documented.join(", ")),
            actual: Some(status.to_string()),
            key: String::new(),
        }),
    });
    let Some(spec) = spec else {
        for check in [
            CheckKind::ContentTypeDocumented,
            CheckKind::BodySchema,
            CheckKind::RequiredHeaders,
            CheckKind::HeaderSchema,
        ] {
            out.push(Verdict {
                check,
                failure: None,
            });
        }
        return out;
    };

    let body = observed.body.as_deref().unwrap_or_default();
    let content_type = observed.header("content-type");
    let media = if spec.content.is_empty() {
        None
    } else {
        match content_type {
            Some(ct) => spec
                .content
                .iter()
                .find(|m| media_matches(&m.media_type, ct)),
            None => None,
        }
    };
    let ct_failure = if spec.content.is_empty() || body.is_empty() {
        None
    } else if media.is_none() {
        let doc_types: Vec<&str> = spec.content.iter().map(|m| m.media_type.as_str()).collect();
        Some(Failure {
            message: format!(
                "content type {} is not documented for HTTP {status} (documented: {})",
                content_type.map_or("(none)".to_owned(), |c| format!("`{c}`")),
                doc_types.join(", ")
            ),
            expected: Some(doc_types.join(", ")),
            actual: Some(content_type.unwrap_or("(none)").to_owned()),
            key: content_type.map(media_base).unwrap_or_default(),
        })
    } else {
        None
    };
    out.push(Verdict {
        check: CheckKind::ContentTypeDocumented,
        failure: ct_failure,
    });

    let body_failure = match media {
        Some(m) if is_json(&m.media_type) && m.schema.is_some() => {
            match serde_json::from_slice::<Value>(body) {
                Err(e) => fail(format!("the body is not valid JSON: {e}")),
                Ok(value) => {
                    match validators.get(doc, &m.pointer, m.schema.as_ref().unwrap_or(&Value::Null))
                    {
                        Err(e) => fail(format!("cannot check the body: {e}")),
                        Ok(v) => {
                            let key = v
                                .iter_errors(&value)
                                .next()
                                .map(|e| e.schema_path().as_str().to_owned())
                                .unwrap_or_default();
                            let errors: Vec<String> = v
                                .iter_errors(&value)
                                .take(20)
                                .map(|e| {
                                    let path = e.instance_path().as_str().to_owned();
                                    format!(
                                        "{}: {e}",
                                        if path.is_empty() {
                                            "(root)".to_owned()
                                        } else {
                                            path
                                        }
                                    )
                                })
                                .collect();
                            if errors.is_empty() {
                                None
                            } else {
                                Some(Failure {
                                    message: format!(
                                        "the body does not match the schema at `{}`: {}{}",
                                        m.pointer,
                                        errors[0],
                                        if errors.len() > 1 {
                                            format!(" (and {} more)", errors.len() - 1)
                                        } else {
                                            String::new()
                                        }
                                    ),
                                    expected: Some(format!("valid against {}", m.pointer)),
                                    actual: Some(errors.join("\n")),
                                    key,
                                })
                            }
                        }
                    }
                }
            }
        }
        _ => None,
    };
    out.push(Verdict {
        check: CheckKind::BodySchema,
        failure: body_failure,
    });

    let missing: Vec<&str> = spec
        .headers
        .iter()
        .filter(|(name, required, _)| *required && observed.header(name).is_none())
        .map(|(n, _, _)| n.as_str())
        .collect();
    out.push(Verdict {
        check: CheckKind::RequiredHeaders,
        failure: (!missing.is_empty()).then(|| Failure {
            message: format!(
                "required response header(s) missing: {}",
                missing.join(", ")
            ),
            expected: Some(missing.join(", ")),
            actual: Some("(absent)".into()),
            key: missing.join(","),
        }),
    });
    out.push(Verdict {
        check: CheckKind::HeaderSchema,
        failure: header_failure(doc, op, status, spec, observed, validators),
    });
    out
}

/// The first documented response header that is there and does not match its schema.
fn header_failure(
    doc: &Document,
    op: &Operation,
    status: u16,
    spec: &crate::ops::ResponseSpec,
    observed: &Observed,
    validators: &Validators,
) -> Option<Failure> {
    for (name, _, schema) in &spec.headers {
        let (Some(schema), Some(text)) = (schema, observed.header(name)) else {
            continue;
        };
        let pointer = format!(
            "{}/responses/{}/headers/{name}/schema",
            op.pointer, spec.status
        );
        let Ok(v) = validators.get(doc, &pointer, schema) else {
            continue;
        };
        let standalone_schema = standalone(doc, schema).unwrap_or(Value::Bool(true));
        let read = crate::negative::coerce(
            text,
            &crate::generate::resolve(&standalone_schema, &standalone_schema),
        );
        if let Some(e) = v.iter_errors(&read).next() {
            return Some(Failure {
                message: format!(
                    "response header `{name}: {text}` of HTTP {status} does not match its schema: {e}"
                ),
                expected: Some(format!("valid against {pointer}")),
                actual: Some(text.to_owned()),
                key: name.to_ascii_lowercase(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse;
    use crate::ops::operations;

    fn doc() -> Document {
        parse(
            r##"
openapi: 3.1.0
paths:
  /pets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200':
          description: ok
          headers: {X-Request-Id: {required: true, schema: {type: string}}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
        '404': {description: missing}
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties: {id: {type: integer}, name: {type: string}}
"##,
            "pets.yaml",
        )
        .expect("doc")
    }

    fn failures(observed: Observed) -> Vec<(CheckKind, String)> {
        let d = doc();
        let ops = operations(&d).expect("ops");
        check_response(&d, &ops[0], &observed, &Validators::default())
            .into_iter()
            .filter_map(|v| v.failure.map(|f| (v.check, f.message)))
            .collect()
    }

    fn json_response(status: u16, body: &str) -> Observed {
        Observed {
            status,
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/json; charset=utf-8".into(),
                ),
                ("X-Request-Id".into(), "abc".into()),
            ],
            body: Some(body.as_bytes().to_vec()),
        }
    }

    #[test]
    fn a_conforming_response_passes_every_check() {
        assert!(failures(json_response(200, r#"{"id": 1, "name": "Rex"}"#)).is_empty());
        assert!(
            failures(Observed {
                status: 404,
                ..Observed::default()
            })
            .is_empty()
        );
    }

    #[test]
    fn each_kind_of_violation() {
        let f = failures(json_response(200, r#"{"id": "one"}"#));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].0, CheckKind::BodySchema);
        assert!(f[0].1.starts_with("the body does not match the schema at `/paths/~1pets~1{id}/get/responses/200/content/application~1json/schema`"), "{f:?}");
        assert!(f[0].1.contains("(and 1 more)"), "{f:?}");
        let f = failures(json_response(500, "{}"));
        assert_eq!(
            f.iter().map(|x| x.0).collect::<Vec<_>>(),
            [CheckKind::NoServerError, CheckKind::StatusDocumented]
        );
        let mut o = json_response(200, r#"{"id": 1, "name": "x"}"#);
        o.headers = vec![("Content-Type".into(), "text/html".into())];
        let f = failures(o);
        assert_eq!(
            f.iter().map(|x| x.0).collect::<Vec<_>>(),
            [CheckKind::ContentTypeDocumented, CheckKind::RequiredHeaders]
        );
        let f = failures(json_response(200, "{not json"));
        assert!(f[0].1.starts_with("the body is not valid JSON"), "{f:?}");
    }

    #[test]
    fn media_ranges() {
        assert!(media_matches(
            "application/json",
            "application/json; charset=utf-8"
        ));
        assert!(media_matches("application/*", "application/problem+json"));
        assert!(media_matches("*/*", "text/plain"));
        assert!(!media_matches("application/json", "text/plain"));
    }
}
