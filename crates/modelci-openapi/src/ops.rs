//! The operations of an OpenAPI document, with parameters, request bodies and responses resolved.

use std::borrow::Cow;

use serde_json::Value;

use crate::load::Document;
use crate::schema::{RefError, deref};

/// HTTP methods an OpenAPI path item may hold, in document order.
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    Path,
    Query,
    Header,
    Cookie,
}

/// A parameter of an operation.
#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub location: In,
    pub required: bool,
    pub schema: Option<Value>,
    pub example: Option<Value>,
}

/// A media type of a request body or response.
#[derive(Debug, Clone)]
pub struct Media {
    pub media_type: String,
    pub schema: Option<Value>,
    /// JSON pointer of the schema in the document.
    pub pointer: String,
    pub examples: Vec<Value>,
}

/// A documented response.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    /// `200`, `2XX` or `default`.
    pub status: String,
    pub content: Vec<Media>,
    /// Header name, required, schema.
    pub headers: Vec<(String, bool, Option<Value>)>,
    /// Its OpenAPI `links`: operations the answer's data can feed.
    pub links: Vec<Link>,
}

/// An OpenAPI link: the operation (by `operationId`) a response's data can feed, and how its
/// parameters are filled (runtime expressions such as `$response.body#/id`, or constants).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The link's name.
    pub name: String,
    /// The target's `operationId`.
    pub operation_id: String,
    /// Parameter name (optionally `path.id`-style qualified) and expression or value.
    pub parameters: Vec<(String, Value)>,
}

/// One operation (path + method).
#[derive(Debug, Clone)]
pub struct Operation {
    /// `operationId`, or `METHOD /path`.
    pub id: String,
    pub method: String,
    pub path: String,
    /// JSON pointer of the operation in the document.
    pub pointer: String,
    pub parameters: Vec<Parameter>,
    pub body_required: bool,
    pub body: Vec<Media>,
    pub responses: Vec<ResponseSpec>,
    pub secured: bool,
}

impl Operation {
    /// `GET /pets/{id}`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method.to_ascii_uppercase(), self.path)
    }

    /// The documented response for a status: exact code, then `2XX`-style range, then
    /// `default`.
    pub fn response_for(&self, status: u16) -> Option<&ResponseSpec> {
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        self.responses
            .iter()
            .find(|r| r.status == code)
            .or_else(|| {
                self.responses
                    .iter()
                    .find(|r| r.status.eq_ignore_ascii_case(&range))
            })
            .or_else(|| self.responses.iter().find(|r| r.status == "default"))
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn examples_of(media: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(e) = media.get("example") {
        out.push(e.clone());
    }
    if let Some(map) = media.get("examples").and_then(Value::as_object) {
        for ex in map.values() {
            if let Some(v) = ex.get("value") {
                out.push(v.clone());
            }
        }
    }
    out
}

fn media_list(doc: &Document, content: Option<&Value>, base: &str) -> Vec<Media> {
    let mut out = Vec::new();
    for (media_type, media) in content.and_then(Value::as_object).into_iter().flatten() {
        let mut examples = examples_of(media);
        if examples.is_empty()
            && let Some(e) = media.get("schema").and_then(|s| s.get("example"))
        {
            examples.push(e.clone());
        }
        let _ = doc;
        out.push(Media {
            media_type: media_type.clone(),
            schema: media.get("schema").cloned(),
            pointer: format!("{base}/content/{}/schema", escape(media_type)),
            examples,
        });
    }
    out
}

fn parameter(doc: &Document, raw: &Value) -> Result<Parameter, String> {
    let (p, _) = deref(doc, raw).map_err(|e: RefError| e.to_string())?;
    let name = p
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a parameter without `name`")?
        .to_owned();
    let location = match p.get("in").and_then(Value::as_str) {
        Some("path") => In::Path,
        Some("query") => In::Query,
        Some("header") => In::Header,
        Some("cookie") => In::Cookie,
        other => return Err(format!("parameter `{name}` has an unknown `in`: {other:?}")),
    };
    let mut example = p.get("example").cloned();
    if example.is_none() {
        example = p.get("schema").and_then(|s| s.get("example")).cloned();
    }
    Ok(Parameter {
        required: location == In::Path
            || p.get("required").and_then(Value::as_bool).unwrap_or(false),
        schema: p.get("schema").cloned(),
        example,
        name,
        location,
    })
}

/// Lists the operations of an OpenAPI document, in document order.
///
/// # Errors
/// A message naming the operation whose parameters, body or responses cannot be resolved.
pub fn operations(doc: &Document) -> Result<Vec<Operation>, String> {
    let mut out = Vec::new();
    let secured_globally = secured_globally(doc);
    for (path, item) in path_items(doc) {
        out.extend(path_operations(doc, path, &*item?, secured_globally)?);
    }
    Ok(out)
}

/// The path items of a document (`paths`), in document order, unresolved, each parsed when
/// the iterator reaches it ([`crate::paths`]).
pub fn path_items(doc: &Document) -> impl Iterator<Item = (&str, Result<Cow<'_, Value>, String>)> {
    doc.paths.iter()
}

/// Whether the document requires authentication for operations that do not say.
pub fn secured_globally(doc: &Document) -> bool {
    doc.root
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty())
}

/// The methods of a path item (`item` as in `paths`, possibly a `$ref`), in the order of
/// [`operations`].
///
/// # Errors
/// When the path item cannot be resolved.
pub fn path_methods<'a>(
    doc: &'a Document,
    path: &str,
    item: &'a Value,
) -> Result<impl Iterator<Item = &'static str> + 'a, String> {
    let (item, _) = deref(doc, item).map_err(|e| format!("path `{path}`: {e}"))?;
    Ok(METHODS
        .iter()
        .copied()
        .filter(move |m| item.get(*m).is_some()))
}

/// The operations of one path item (`item` as in `paths`, possibly a `$ref`), in the order of
/// [`operations`].
///
/// # Errors
/// A message naming the operation whose parameters, body or responses cannot be resolved.
pub fn path_operations(
    doc: &Document,
    path: &str,
    item: &Value,
    secured_globally: bool,
) -> Result<Vec<Operation>, String> {
    let mut out = Vec::new();
    {
        let (item, _) = deref(doc, item).map_err(|e| format!("path `{path}`: {e}"))?;
        let shared: Vec<&Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let pointer = format!("/paths/{}/{method}", escape(path));
            let label = format!("{} {path}", method.to_ascii_uppercase());
            let ctx = |e: String| format!("{label}: {e}");
            let mut parameters: Vec<Parameter> = Vec::new();
            for raw in shared.iter().copied().chain(
                op.get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            ) {
                let p = parameter(doc, raw).map_err(ctx)?;
                parameters.retain(|q| !(q.name == p.name && q.location == p.location));
                parameters.push(p);
            }
            let (body_required, body) = match op.get("requestBody") {
                Some(rb) => {
                    let (rb, ptr) = deref(doc, rb).map_err(|e| ctx(e.to_string()))?;
                    let base = ptr.unwrap_or_else(|| format!("{pointer}/requestBody"));
                    (
                        rb.get("required").and_then(Value::as_bool).unwrap_or(false),
                        media_list(doc, rb.get("content"), &base),
                    )
                }
                None => (false, Vec::new()),
            };
            let mut responses = Vec::new();
            for (status, resp) in op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let (resp, ptr) = deref(doc, resp).map_err(|e| ctx(e.to_string()))?;
                let base = ptr.unwrap_or_else(|| format!("{pointer}/responses/{}", escape(status)));
                let mut headers = Vec::new();
                for (name, h) in resp
                    .get("headers")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let (h, _) = deref(doc, h).map_err(|e| ctx(e.to_string()))?;
                    headers.push((
                        name.clone(),
                        h.get("required").and_then(Value::as_bool).unwrap_or(false),
                        h.get("schema").cloned(),
                    ));
                }
                let mut links = Vec::new();
                for (name, l) in resp
                    .get("links")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let (l, _) = deref(doc, l).map_err(|e| ctx(e.to_string()))?;
                    // `operationRef` links are not followed: only `operationId` ones.
                    if let Some(id) = l.get("operationId").and_then(Value::as_str) {
                        links.push(Link {
                            name: name.clone(),
                            operation_id: id.to_owned(),
                            parameters: l
                                .get("parameters")
                                .and_then(Value::as_object)
                                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                                .unwrap_or_default(),
                        });
                    }
                }
                responses.push(ResponseSpec {
                    status: status.clone(),
                    content: media_list(doc, resp.get("content"), &base),
                    headers,
                    links,
                });
            }
            let secured = match op.get("security").and_then(Value::as_array) {
                Some(s) => {
                    !s.is_empty()
                        && s.iter()
                            .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
                }
                None => secured_globally,
            };
            out.push(Operation {
                id: op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map_or_else(|| label.clone(), str::to_owned),
                method: (*method).to_owned(),
                path: path.to_owned(),
                pointer,
                parameters,
                body_required,
                body,
                responses,
                secured,
            });
        }
    }
    Ok(out)
}

/// Matches a concrete path against a template (`/pets/{id}`), returning the path parameters.
pub fn match_template(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut params = Vec::new();
    for (ts, ps) in t.iter().zip(&p) {
        if ts.starts_with('{') && ts.ends_with('}') {
            if ps.is_empty() {
                return None;
            }
            params.push((ts[1..ts.len() - 1].to_owned(), (*ps).to_owned()));
        } else if ts != ps {
            return None;
        }
    }
    Some(params)
}

/// The operation a recorded request belongs to: the same method, and the template that matches
/// with the fewest parameters (literal segments win over templated ones).
pub fn find<'a>(ops: &'a [Operation], method: &str, path: &str) -> Option<&'a Operation> {
    ops.iter()
        .filter(|o| o.method.eq_ignore_ascii_case(method))
        .filter_map(|o| match_template(&o.path, path).map(|p| (p.len(), o)))
        .min_by_key(|(n, _)| *n)
        .map(|(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse;

    #[test]
    fn operations_with_shared_parameters_and_refs() {
        let d = parse(
            r##"
openapi: 3.0.3
paths:
  /pets/{id}:
    parameters:
      - {name: id, in: path, schema: {type: integer}}
    get:
      operationId: getPet
      parameters:
        - $ref: '#/components/parameters/Verbose'
      responses:
        '200':
          $ref: '#/components/responses/Pet'
        default:
          description: error
  /pets/mine:
    get:
      responses: {'200': {description: ok}}
components:
  parameters:
    Verbose: {name: verbose, in: query, required: true, schema: {type: boolean}}
  responses:
    Pet:
      description: a pet
      headers: {X-Rate: {required: true, schema: {type: integer}}}
      content:
        application/json:
          schema: {type: object}
          example: {id: 1}
"##,
            "p.yaml",
        )
        .expect("doc");
        let ops = operations(&d).expect("ops");
        assert_eq!(ops.len(), 2);
        let get = &ops[0];
        assert_eq!(
            (get.id.as_str(), get.label().as_str()),
            ("getPet", "GET /pets/{id}")
        );
        assert_eq!(get.parameters.len(), 2);
        assert!(get.parameters.iter().all(|p| p.required));
        let ok = get.response_for(200).expect("200");
        assert_eq!(
            ok.content[0].pointer,
            "/components/responses/Pet/content/application~1json/schema"
        );
        assert_eq!(ok.content[0].examples, vec![serde_json::json!({"id": 1})]);
        assert_eq!(ok.headers[0].0, "X-Rate");
        assert_eq!(get.response_for(503).expect("default").status, "default");
        assert_eq!(
            find(&ops, "GET", "/pets/mine").expect("op").path,
            "/pets/mine"
        );
        assert_eq!(find(&ops, "get", "/pets/7").expect("op").id, "getPet");
        assert!(find(&ops, "POST", "/pets/7").is_none());
    }
}
