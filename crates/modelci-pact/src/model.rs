//! The parts of a pact that matching works on: requests, responses and message contents, read
//! from their JSON form in any spec version.

use serde_json::{Map, Value};

use crate::rules::MatchingRules;

/// Pact specification versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpecVersion {
    V1,
    V1_1,
    V2,
    V3,
    V4,
}

impl SpecVersion {
    /// Reads `1.0.0`, `1.1.0`, `2.0.0`, `3.0.0`, `4.0`, ... (only the major and minor count).
    pub fn parse(text: &str) -> Option<SpecVersion> {
        let mut parts = text.trim().trim_start_matches('v').split('.');
        let major = parts.next()?.parse::<u32>().ok()?;
        let minor = parts.next().map_or(Some(0), |m| m.parse::<u32>().ok())?;
        match (major, minor) {
            (1, 0) => Some(SpecVersion::V1),
            (1, _) => Some(SpecVersion::V1_1),
            (2, _) => Some(SpecVersion::V2),
            (3, _) => Some(SpecVersion::V3),
            (4, _) => Some(SpecVersion::V4),
            _ => None,
        }
    }

    /// `1.0.0`, `1.1.0`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V1 => "1.0.0",
            SpecVersion::V1_1 => "1.1.0",
            SpecVersion::V2 => "2.0.0",
            SpecVersion::V3 => "3.0.0",
            SpecVersion::V4 => "4.0",
        }
    }
}

/// A body as a pact declares it, or as a peer sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// No `body` key: nothing is expected (or nothing was sent).
    Missing,
    /// `"body": null`: an empty body is expected.
    Null,
    /// A JSON value (objects and arrays for JSON bodies; strings for text and XML).
    Value(Value),
    /// Raw bytes (v4 `encoded` bodies, or a body that is not UTF-8).
    Bytes(Vec<u8>),
}

impl Body {
    /// Whether the body is absent or empty.
    pub fn is_empty(&self) -> bool {
        match self {
            Body::Missing | Body::Null => true,
            Body::Value(Value::String(s)) => s.is_empty(),
            Body::Value(Value::Null) => true,
            Body::Bytes(b) => b.is_empty(),
            Body::Value(_) => false,
        }
    }

    /// The body as text (JSON values serialized).
    pub fn text(&self) -> Option<String> {
        match self {
            Body::Missing | Body::Null => None,
            Body::Value(Value::String(s)) => Some(s.clone()),
            Body::Value(v) => Some(v.to_string()),
            Body::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }
}

/// Header or metadata values, in order, names as written.
pub type Headers = Vec<(String, Vec<String>)>;

/// The query of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// v1: a query string, compared as a (percent-decoded) string.
    Raw(String),
    /// v1.1 and later: parameters with their values, in order.
    Params(Vec<(String, Vec<String>)>),
}

/// An HTTP request of an interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Option<Query>,
    pub headers: Option<Headers>,
    pub body: Body,
    pub content_type: Option<String>,
    pub rules: MatchingRules,
    pub generators: Option<Value>,
}

/// An HTTP response of an interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: Option<u16>,
    pub headers: Option<Headers>,
    pub body: Body,
    pub content_type: Option<String>,
    pub rules: MatchingRules,
    pub generators: Option<Value>,
}

/// The contents of a message (v3 messages, v4 asynchronous and synchronous messages).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageContents {
    pub body: Body,
    pub content_type: Option<String>,
    pub metadata: Map<String, Value>,
    pub rules: MatchingRules,
    pub generators: Option<Value>,
}

fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what} must be a JSON object"))
}

/// Reads headers: `{"Name": "a, b"}` or `{"Name": ["a", "b"]}` (v4).
pub fn parse_headers(v: &Value) -> Result<Headers, String> {
    let map = obj(v, "`headers`")?;
    let mut out = Vec::new();
    for (name, value) in map {
        let values = match value {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Ok(other.to_string()),
                })
                .collect::<Result<Vec<_>, String>>()?,
            Value::Null => vec![],
            other => vec![other.to_string()],
        };
        out.push((name.clone(), values));
    }
    Ok(out)
}

/// Parses a query string into parameters (`a=1&b=2&a=3`), percent-decoding names and values.
pub fn parse_query_string(q: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in form_urlencoded::parse(q.trim_start_matches('?').as_bytes()) {
        let k = k.into_owned();
        let v = v.into_owned();
        match out.iter_mut().find(|(name, _)| *name == k) {
            Some((_, values)) => values.push(v),
            None => out.push((k, vec![v])),
        }
    }
    out
}

fn parse_query(v: &Value, version: SpecVersion) -> Result<Query, String> {
    match v {
        Value::String(s) if version == SpecVersion::V1 => Ok(Query::Raw(s.clone())),
        Value::String(s) => Ok(Query::Params(parse_query_string(s))),
        Value::Object(map) => {
            let mut out = Vec::new();
            for (k, v) in map {
                let values = match v {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect(),
                    Value::String(s) => vec![s.clone()],
                    other => vec![other.to_string()],
                };
                out.push((k.clone(), values));
            }
            Ok(Query::Params(out))
        }
        Value::Null => Ok(Query::Params(Vec::new())),
        other => Err(format!(
            "`query` must be a string or an object, not {other}"
        )),
    }
}

/// Reads a body: the value of `body`, or a v4 `{"content", "contentType", "encoded"}` object.
/// Returns the body and the content type it declares (v4).
pub fn parse_body(
    parent: &Map<String, Value>,
    key: &str,
    version: SpecVersion,
) -> Result<(Body, Option<String>), String> {
    let Some(v) = parent.get(key) else {
        return Ok((Body::Missing, None));
    };
    if version >= SpecVersion::V4
        && let Value::Object(o) = v
        && (o.contains_key("content") || o.contains_key("contentType"))
        && o.keys().all(|k| {
            matches!(
                k.as_str(),
                "content" | "contentType" | "encoded" | "contentTypeHint"
            )
        })
    {
        let content_type = o
            .get("contentType")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let content = o.get("content").cloned().unwrap_or(Value::Null);
        let encoded = match o.get("encoded") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
            _ => false,
        };
        if encoded {
            let text = content.as_str().unwrap_or_default();
            let bytes = base64_decode(text)
                .map_err(|e| format!("`{key}.content` is not valid base64: {e}"))?;
            return Ok((Body::Bytes(bytes), content_type));
        }
        if content.is_null() && !o.contains_key("content") {
            return Ok((Body::Missing, content_type));
        }
        return Ok((
            if content.is_null() {
                Body::Null
            } else {
                Body::Value(content)
            },
            content_type,
        ));
    }
    Ok((
        if v.is_null() {
            Body::Null
        } else {
            Body::Value(v.clone())
        },
        None,
    ))
}

/// Base64 as pacts and recorded traffic carry it (the `base64` crate): the standard alphabet or
/// the URL-safe one, with or without padding, line breaks and spaces ignored.
///
/// # Errors
/// What is wrong with the text, when it is not base64.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::{DecodeError, Engine as _};
    const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, '\n' | '\r' | ' '))
        .collect();
    STANDARD
        .decode(&compact)
        .or_else(|e| URL_SAFE.decode(&compact).map_err(|_| e))
        .map_err(|e| match e {
            DecodeError::InvalidByte(at, byte)
            | DecodeError::InvalidLastSymbol {
                offset: at,
                symbol: byte,
                ..
            } => format!("unexpected byte {byte:#04x} at offset {at}"),
            DecodeError::InvalidLength(n) => format!("{n} base64 symbols cannot encode bytes"),
            DecodeError::InvalidPadding => "misplaced padding".to_owned(),
        })
}

fn rules_of(map: &Map<String, Value>, version: SpecVersion) -> Result<MatchingRules, String> {
    match map.get("matchingRules") {
        Some(r) => MatchingRules::parse(r, version <= SpecVersion::V2),
        None => Ok(MatchingRules::default()),
    }
}

impl Request {
    /// Reads a request object.
    ///
    /// # Errors
    /// A message naming the malformed field.
    pub fn from_json(v: &Value, version: SpecVersion) -> Result<Request, String> {
        let map = obj(v, "a request")?;
        let (body, content_type) = parse_body(map, "body", version)?;
        Ok(Request {
            method: map
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("GET")
                .to_owned(),
            path: map
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or("/")
                .to_owned(),
            query: map
                .get("query")
                .map(|q| parse_query(q, version))
                .transpose()?,
            headers: map.get("headers").map(parse_headers).transpose()?,
            body,
            content_type,
            rules: rules_of(map, version)?,
            generators: map.get("generators").cloned(),
        })
    }
}

impl Response {
    /// Reads a response object.
    ///
    /// # Errors
    /// A message naming the malformed field.
    pub fn from_json(v: &Value, version: SpecVersion) -> Result<Response, String> {
        let map = obj(v, "a response")?;
        let (body, content_type) = parse_body(map, "body", version)?;
        let status = match map.get("status") {
            None | Some(Value::Null) => None,
            Some(s) => Some(
                s.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| format!("`status` must be an HTTP status code, not {s}"))?,
            ),
        };
        Ok(Response {
            status,
            headers: map.get("headers").map(parse_headers).transpose()?,
            body,
            content_type,
            rules: rules_of(map, version)?,
            generators: map.get("generators").cloned(),
        })
    }
}

impl MessageContents {
    /// Reads a message (v3 `contents` + `metaData`, v4 `contents` object + `metadata`).
    ///
    /// # Errors
    /// A message naming the malformed field.
    pub fn from_json(v: &Value, version: SpecVersion) -> Result<MessageContents, String> {
        let map = obj(v, "a message")?;
        let (body, mut content_type) = parse_body(map, "contents", version)?;
        let metadata = map
            .get("metadata")
            .or_else(|| map.get("metaData"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if content_type.is_none() {
            content_type = metadata
                .iter()
                .find(|(k, _)| {
                    k.eq_ignore_ascii_case("contentType") || k.eq_ignore_ascii_case("content-type")
                })
                .and_then(|(_, v)| v.as_str())
                .map(str::to_owned);
        }
        Ok(MessageContents {
            body,
            content_type,
            metadata,
            rules: rules_of(map, version)?,
            generators: map.get("generators").cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(SpecVersion::parse("1.0.0"), Some(SpecVersion::V1));
        assert_eq!(SpecVersion::parse("1.1.0"), Some(SpecVersion::V1_1));
        assert_eq!(SpecVersion::parse("3.0.0"), Some(SpecVersion::V3));
        assert_eq!(SpecVersion::parse("4.0"), Some(SpecVersion::V4));
        assert_eq!(SpecVersion::parse("5.0.0"), None);
    }

    #[test]
    fn query_strings() {
        assert_eq!(
            parse_query_string("a=1&b=x%20y&a=2"),
            vec![
                ("a".to_owned(), vec!["1".to_owned(), "2".to_owned()]),
                ("b".to_owned(), vec!["x y".to_owned()])
            ]
        );
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").expect("b64"), b"hello");
        // Without padding, broken over lines, and in the URL-safe alphabet.
        assert_eq!(base64_decode("aGVsbG8").expect("b64"), b"hello");
        assert_eq!(
            base64_decode("aGVs\r\nbG8g d29y\nbGQ=").expect("b64"),
            b"hello world"
        );
        assert_eq!(base64_decode("+/8=").expect("b64"), [0xfb, 0xff]);
        assert_eq!(base64_decode("-_8=").expect("b64"), [0xfb, 0xff]);
        assert_eq!(base64_decode("").expect("b64"), b"");
        assert_eq!(
            base64_decode("a$").unwrap_err(),
            "unexpected byte 0x24 at offset 1"
        );
        assert!(base64_decode("aGVsbG8=x").is_err());
        assert_eq!(
            base64_decode("aGVsb").unwrap_err(),
            "5 base64 symbols cannot encode bytes"
        );
    }
}
