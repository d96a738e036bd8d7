//! Pact files: consumer, provider, spec version and interactions, for every spec version.
//!
//! - v1, v1.1, v2: `interactions` with `providerState` (a string), `request`, `response`;
//! - v3: `interactions` with `providerStates` (`[{name, params}]`), and message pacts with
//!   `messages` (`contents`, `metaData`);
//! - v4: `interactions` typed `Synchronous/HTTP`, `Asynchronous/Messages` or
//!   `Synchronous/Messages`, with `key`, `pending` and `comments`.

use serde_json::{Map, Value};

use crate::model::{MessageContents, Request, Response, SpecVersion};

/// A pact file.
#[derive(Debug, Clone, PartialEq)]
pub struct Pact {
    /// Where it was read from (file path or URL).
    pub source: String,
    pub consumer: String,
    pub provider: String,
    pub version: SpecVersion,
    pub interactions: Vec<Interaction>,
}

/// A provider state an interaction needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderState {
    pub name: String,
    pub params: Map<String, Value>,
}

/// One interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// Position in the file (0-based).
    pub index: usize,
    /// v4 `key`, when given.
    pub key: Option<String>,
    pub description: String,
    pub provider_states: Vec<ProviderState>,
    /// v4 `pending`: a failure is reported but does not fail the verification.
    pub pending: bool,
    /// v4 `comments`, as written.
    pub comments: Option<Value>,
    pub kind: InteractionKind,
}

/// What an interaction exchanges.
#[derive(Debug, Clone, PartialEq)]
pub enum InteractionKind {
    /// An HTTP request and its response.
    Http {
        request: Box<Request>,
        response: Box<Response>,
    },
    /// An asynchronous message (v3 message pacts, v4 `Asynchronous/Messages`).
    Message { contents: Box<MessageContents> },
    /// A v4 `Synchronous/Messages`: a request message and its response messages.
    SyncMessage {
        request: Box<MessageContents>,
        responses: Vec<MessageContents>,
    },
}

impl Interaction {
    /// `description` with the provider states, for reports.
    pub fn title(&self) -> String {
        if self.provider_states.is_empty() {
            self.description.clone()
        } else {
            let states: Vec<&str> = self
                .provider_states
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            format!("{} (given {})", self.description, states.join(", "))
        }
    }
}

/// A pact file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PactError {
    /// File path or URL.
    pub source_name: String,
    /// 1-based line, for JSON syntax errors.
    pub line: Option<u32>,
    pub message: String,
}

fn err(source: &str, message: impl Into<String>) -> PactError {
    PactError {
        source_name: source.to_owned(),
        line: None,
        message: message.into(),
    }
}

/// Reads a pact from its JSON text.
///
/// # Errors
/// Invalid JSON (with the line), an unknown spec version, or a malformed interaction (naming it).
pub fn parse(text: &str, source: &str) -> Result<Pact, PactError> {
    let text = text.trim_start_matches('\u{feff}');
    let value: Value = serde_json::from_str(text).map_err(|e| PactError {
        source_name: source.to_owned(),
        line: u32::try_from(e.line()).ok(),
        message: format!("not valid JSON: {e}"),
    })?;
    let root = value
        .as_object()
        .ok_or_else(|| err(source, "a pact file must be a JSON object"))?;
    let name = |key: &str| {
        root.get(key)
            .and_then(|v| v.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    // Any JSON object is not a pact: a file without interactions or messages (a Pact Broker
    // index, an OpenAPI document, a report) would otherwise verify nothing and pass.
    if !root.contains_key("interactions") && !root.contains_key("messages") {
        let keys: Vec<String> = root.keys().take(5).map(|k| format!("`{k}`")).collect();
        return Err(err(
            source,
            format!(
                "not a pact file: it has no `interactions` or `messages` (its keys: {})",
                if keys.is_empty() {
                    "none".to_owned()
                } else {
                    keys.join(", ")
                }
            ),
        ));
    }
    let version = spec_version(root, source)?;
    let mut interactions = Vec::new();
    if let Some(list) = root.get("interactions") {
        let list = list
            .as_array()
            .ok_or_else(|| err(source, "`interactions` must be an array"))?;
        for (i, item) in list.iter().enumerate() {
            interactions.push(
                interaction(item, i, version)
                    .map_err(|m| err(source, format!("interaction {i} ({}): {m}", desc(item))))?,
            );
        }
    }
    if let Some(list) = root.get("messages") {
        let list = list
            .as_array()
            .ok_or_else(|| err(source, "`messages` must be an array"))?;
        let offset = interactions.len();
        for (i, item) in list.iter().enumerate() {
            let contents = MessageContents::from_json(item, version)
                .map_err(|m| err(source, format!("message {i} ({}): {m}", desc(item))))?;
            interactions.push(Interaction {
                index: offset + i,
                key: None,
                description: desc(item),
                provider_states: states(item)
                    .map_err(|m| err(source, format!("message {i}: {m}")))?,
                pending: false,
                comments: None,
                kind: InteractionKind::Message {
                    contents: Box::new(contents),
                },
            });
        }
    }
    Ok(Pact {
        source: source.to_owned(),
        consumer: name("consumer"),
        provider: name("provider"),
        version,
        interactions,
    })
}

fn desc(item: &Value) -> String {
    item.get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn spec_version(root: &Map<String, Value>, source: &str) -> Result<SpecVersion, PactError> {
    let meta = root.get("metadata").and_then(Value::as_object);
    let declared = meta.and_then(|m| {
        m.get("pactSpecification")
            .or_else(|| m.get("pact-specification"))
            .and_then(|p| p.get("version"))
            .or_else(|| m.get("pactSpecificationVersion"))
            .and_then(Value::as_str)
    });
    match declared {
        Some(v) => SpecVersion::parse(v).ok_or_else(|| {
            err(
                source,
                format!("unknown Pact specification version `{v}` (1.0.0 to 4.0 are supported)"),
            )
        }),
        None => {
            let typed = root
                .get("interactions")
                .and_then(Value::as_array)
                .is_some_and(|l| l.iter().any(|i| i.get("type").is_some()));
            Ok(if typed {
                SpecVersion::V4
            } else if root.contains_key("messages") {
                SpecVersion::V3
            } else {
                SpecVersion::V2
            })
        }
    }
}

fn states(item: &Value) -> Result<Vec<ProviderState>, String> {
    if let Some(list) = item.get("providerStates") {
        let list = list.as_array().ok_or("`providerStates` must be an array")?;
        return list
            .iter()
            .map(|s| {
                let name = s
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("a provider state without `name`")?;
                Ok(ProviderState {
                    name: name.to_owned(),
                    params: s
                        .get("params")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                })
            })
            .collect();
    }
    match item
        .get("providerState")
        .or_else(|| item.get("provider_state"))
    {
        Some(Value::String(s)) if !s.is_empty() => Ok(vec![ProviderState {
            name: s.clone(),
            params: Map::new(),
        }]),
        _ => Ok(Vec::new()),
    }
}

fn interaction(item: &Value, index: usize, version: SpecVersion) -> Result<Interaction, String> {
    let obj = item.as_object().ok_or("an interaction must be an object")?;
    let kind = match obj.get("type").and_then(Value::as_str) {
        None | Some("Synchronous/HTTP") => InteractionKind::Http {
            request: Box::new(Request::from_json(
                obj.get("request").ok_or("no `request`")?,
                version,
            )?),
            response: Box::new(Response::from_json(
                obj.get("response").ok_or("no `response`")?,
                version,
            )?),
        },
        Some("Asynchronous/Messages") => InteractionKind::Message {
            contents: Box::new(MessageContents::from_json(item, version)?),
        },
        Some("Synchronous/Messages") => {
            let request =
                MessageContents::from_json(obj.get("request").ok_or("no `request`")?, version)?;
            let responses = match obj.get("response") {
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|r| MessageContents::from_json(r, version))
                    .collect::<Result<Vec<_>, _>>()?,
                Some(other) => vec![MessageContents::from_json(other, version)?],
                None => Vec::new(),
            };
            InteractionKind::SyncMessage {
                request: Box::new(request),
                responses,
            }
        }
        Some(other) => return Err(format!("unknown interaction type `{other}`")),
    };
    Ok(Interaction {
        index,
        key: obj.get("key").and_then(Value::as_str).map(str::to_owned),
        description: desc(item),
        provider_states: states(item)?,
        pending: obj.get("pending").and_then(Value::as_bool).unwrap_or(false),
        comments: obj.get("comments").cloned(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_v2_pact() {
        let pact = parse(
            r#"{"consumer": {"name": "web"}, "provider": {"name": "api"},
                "interactions": [{"description": "get item", "providerState": "item 1 exists",
                  "request": {"method": "GET", "path": "/items/1", "query": "a=1"},
                  "response": {"status": 200, "body": {"id": 1},
                    "matchingRules": {"$.body.id": {"match": "type"}}}}],
                "metadata": {"pactSpecification": {"version": "2.0.0"}}}"#,
            "p.json",
        )
        .expect("pact");
        assert_eq!(
            (pact.consumer.as_str(), pact.provider.as_str()),
            ("web", "api")
        );
        assert_eq!(pact.version, SpecVersion::V2);
        let i = &pact.interactions[0];
        assert_eq!(i.title(), "get item (given item 1 exists)");
        assert!(matches!(i.kind, InteractionKind::Http { .. }));
    }

    #[test]
    fn reads_v3_states_and_messages_and_v4_types() {
        let pact = parse(
            r#"{"consumer": {"name": "c"}, "provider": {"name": "p"},
                "messages": [{"description": "an event", "providerStates": [{"name": "s", "params": {"id": 2}}],
                  "contents": {"a": 1}, "metaData": {"contentType": "application/json"}}],
                "metadata": {"pactSpecification": {"version": "3.0.0"}}}"#,
            "m.json",
        )
        .expect("pact");
        assert_eq!(pact.interactions[0].provider_states[0].params["id"], 2);
        let v4 = parse(
            r#"{"consumer": {"name": "c"}, "provider": {"name": "p"},
                "interactions": [
                  {"type": "Synchronous/HTTP", "key": "k1", "description": "d", "pending": true,
                   "comments": {"text": ["hi"]},
                   "request": {"method": "POST", "path": "/", "body": {"contentType": "application/json", "encoded": false, "content": {"x": 1}}},
                   "response": {"status": 201}},
                  {"type": "Asynchronous/Messages", "description": "e", "contents": {"contentType": "text/plain", "encoded": false, "content": "hello"}},
                  {"type": "Synchronous/Messages", "description": "s", "request": {"contents": {"content": "ping"}}, "response": [{"contents": {"content": "pong"}}]}
                ],
                "metadata": {"pactSpecification": {"version": "4.0"}}}"#,
            "v4.json",
        )
        .expect("v4");
        assert!(v4.interactions[0].pending);
        assert_eq!(v4.interactions[0].key.as_deref(), Some("k1"));
        assert!(matches!(
            v4.interactions[2].kind,
            InteractionKind::SyncMessage { .. }
        ));
    }

    #[test]
    fn errors_name_the_file_line_and_interaction() {
        let e = parse("{\n  \"interactions\": [\n", "bad.json").expect_err("bad");
        assert!(
            e.to_string().starts_with("bad.json:3: not valid JSON"),
            "{e}"
        );
        let e = parse(r#"{"_links": {"self": {"href": "/"}}}"#, "index.json").expect_err("hal");
        assert_eq!(
            e.to_string(),
            "index.json: not a pact file: it has no `interactions` or `messages` (its keys: `_links`)"
        );
        let e = parse(
            r#"{"interactions": [], "metadata": {"pactSpecification": {"version": "9.0.0"}}}"#,
            "v9.json",
        )
        .expect_err("version");
        assert_eq!(
            e.to_string(),
            "v9.json: unknown Pact specification version `9.0.0` (1.0.0 to 4.0 are supported)"
        );
        let e = parse(
            r#"{"interactions": [{"description": "x", "request": {"method": "GET"}, "response": {"status": 200,
                "matchingRules": {"body": {"$.a": {"matchers": [{"match": "sparkles"}]}}}}}],
                "metadata": {"pactSpecification": {"version": "3.0.0"}}}"#,
            "m.json",
        )
        .expect_err("matcher");
        assert!(
            e.to_string().contains("interaction 0 (x)")
                && e.to_string().contains("unknown matcher `sparkles`"),
            "{e}"
        );
    }
}
