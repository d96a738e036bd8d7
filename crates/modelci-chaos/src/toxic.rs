//! Toxics: what a proxy does to the bytes of a connection (or, on an HTTP proxy, to each
//! request), with Toxiproxy's names, attributes and JSON (`{"name", "type", "stream",
//! "toxicity", "attributes"}`), so that Toxiproxy's clients and scripts drive modelci's proxy
//! unchanged.
//!
//! modelci's extensions: the HTTP-only types `http_error`, `abort_body` and `reset`, and a
//! route filter (the attributes `path_prefix` and `method`, on any type) that limits a toxic
//! on an HTTP proxy to the requests it matches.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which direction a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// From the upstream (the dependency) to the client: answers.
    #[default]
    Downstream,
    /// From the client to the upstream: requests.
    Upstream,
}

impl Stream {
    /// `downstream` or `upstream`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Downstream => "downstream",
            Stream::Upstream => "upstream",
        }
    }
}

/// What a toxic does.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Delays every chunk by `latency` ± `jitter` (uniform), keeping order.
    Latency {
        /// The delay.
        latency: Duration,
        /// The spread either side.
        jitter: Duration,
    },
    /// Limits the rate to `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy).
    Bandwidth {
        /// KB per second.
        rate: u64,
    },
    /// Delays the close of the connection by `delay`.
    SlowClose {
        /// The delay.
        delay: Duration,
    },
    /// Stops every byte; closes the connection after `timeout` (never when zero: a blackhole).
    Timeout {
        /// When to close; zero for never.
        timeout: Duration,
    },
    /// Resets the connection (TCP RST) after `timeout`.
    ResetPeer {
        /// When.
        timeout: Duration,
    },
    /// Slices the data into pieces of `average_size` ± `size_variation` bytes, `delay` apart.
    Slicer {
        /// Bytes per piece on average.
        average_size: usize,
        /// Spread either side.
        size_variation: usize,
        /// Time between pieces.
        delay: Duration,
    },
    /// Closes the connection once `bytes` have passed (an answer cut off mid-body).
    LimitData {
        /// Bytes that pass.
        bytes: u64,
    },
    /// HTTP only: answers `status` with a small JSON body, without contacting the upstream.
    HttpError {
        /// The status sent (200 to 599; default 503).
        status: u16,
    },
    /// HTTP only: forwards the request, sends the answer's head and its first `bytes` bytes of
    /// body, then closes the connection (the client sees a truncated body).
    AbortBody {
        /// Bytes of body that pass.
        bytes: u64,
    },
    /// HTTP only: closes the client's connection with a TCP RST, without any answer.
    Reset,
}

/// Which requests a toxic applies to on an HTTP proxy (every request when both are `None`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// Only requests whose path starts with this (`/v2/models/a`).
    pub path_prefix: Option<String>,
    /// Only requests of this method (upper case: `POST`).
    pub method: Option<String>,
}

impl Route {
    /// Whether the filter lets every request through.
    pub fn is_any(&self) -> bool {
        self.path_prefix.is_none() && self.method.is_none()
    }

    /// Whether a request of `method` to `path` matches.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// A toxic on a proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// Unique on its proxy (default `TYPE_STREAM`).
    pub name: String,
    /// The direction.
    pub stream: Stream,
    /// The probability (0 to 1) that a connection (TCP) or a request (HTTP) gets it, decided
    /// once per connection or request.
    pub toxicity: f64,
    /// What it does.
    pub kind: Kind,
    /// The requests it applies to (HTTP proxies only; TCP proxies refuse a filter).
    pub route: Route,
}

/// A toxic as Toxiproxy's API writes it.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct ToxicJson {
    /// The name.
    #[serde(default)]
    pub name: Option<String>,
    /// `latency`, `bandwidth`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `downstream` (default) or `upstream`.
    #[serde(default)]
    pub stream: Option<Stream>,
    /// The probability, default 1.
    #[serde(default)]
    pub toxicity: Option<f64>,
    /// The type's attributes.
    #[serde(default)]
    pub attributes: Option<Map<String, Value>>,
}

/// The toxic types, with their attributes (in milliseconds unless said).
pub const TYPES: &[(&str, &[&str])] = &[
    ("latency", &["latency", "jitter"]),
    ("bandwidth", &["rate"]),
    ("slow_close", &["delay"]),
    ("timeout", &["timeout"]),
    ("reset_peer", &["timeout"]),
    ("slicer", &["average_size", "size_variation", "delay"]),
    ("limit_data", &["bytes"]),
    ("http_error", &["status"]),
    ("abort_body", &["bytes"]),
    ("reset", &[]),
];

/// The types that only HTTP proxies take.
pub const HTTP_ONLY: &[&str] = &["http_error", "abort_body", "reset"];

/// The route filter's attributes, which every type takes (HTTP proxies only).
pub const ROUTE_ATTRIBUTES: &[&str] = &["path_prefix", "method"];

/// The status `http_error` answers when its `status` is not given.
pub const DEFAULT_ERROR_STATUS: u16 = 503;

/// A string attribute; `None` when absent, null or empty.
fn text(attrs: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match attrs.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!("attribute `{key}` must be a string, not {v}")),
    }
}

/// The route filter of `attrs`.
fn route(attrs: &Map<String, Value>) -> Result<Route, String> {
    let path_prefix = text(attrs, "path_prefix")?;
    if let Some(p) = &path_prefix
        && !p.starts_with('/')
    {
        return Err(format!(
            "attribute `path_prefix` must start with `/`, not `{p}`"
        ));
    }
    let method = text(attrs, "method")?;
    if let Some(m) = &method
        && !m
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "attribute `method` must be an HTTP method such as `POST`, not `{m}`"
        ));
    }
    Ok(Route {
        path_prefix,
        method: method.map(|m| m.to_ascii_uppercase()),
    })
}

fn number(attrs: &Map<String, Value>, key: &str) -> Result<u64, String> {
    match attrs.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .ok_or_else(|| format!("attribute `{key}` must be a non-negative number, not {v}")),
    }
}

impl Toxic {
    /// Reads a toxic from the API's JSON.
    ///
    /// # Errors
    /// An unknown type or attribute, a value of the wrong kind, a toxicity outside 0..1.
    pub fn from_json(j: &ToxicJson) -> Result<Toxic, String> {
        let kind_name = j.kind.as_deref().ok_or("a toxic needs a `type`")?;
        let stream = j.stream.unwrap_or_default();
        let toxicity = j.toxicity.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&toxicity) {
            return Err(format!("toxicity must be from 0 to 1, not {toxicity}"));
        }
        let empty = Map::new();
        let attrs = j.attributes.as_ref().unwrap_or(&empty);
        let (_, known) = TYPES.iter().find(|(t, _)| *t == kind_name).ok_or_else(|| {
            format!(
                "unknown toxic type `{kind_name}` (known: {})",
                TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
            )
        })?;
        if let Some(k) = attrs
            .keys()
            .find(|k| !known.contains(&k.as_str()) && !ROUTE_ATTRIBUTES.contains(&k.as_str()))
        {
            return Err(format!(
                "toxic type `{kind_name}` has no attribute `{k}` (it has: {})",
                known
                    .iter()
                    .chain(ROUTE_ATTRIBUTES)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let ms = |k: &str| number(attrs, k).map(Duration::from_millis);
        let kind = match kind_name {
            "latency" => Kind::Latency {
                latency: ms("latency")?,
                jitter: ms("jitter")?,
            },
            "bandwidth" => Kind::Bandwidth {
                rate: number(attrs, "rate")?,
            },
            "slow_close" => Kind::SlowClose {
                delay: ms("delay")?,
            },
            "timeout" => Kind::Timeout {
                timeout: ms("timeout")?,
            },
            "reset_peer" => Kind::ResetPeer {
                timeout: ms("timeout")?,
            },
            "slicer" => Kind::Slicer {
                average_size: usize::try_from(number(attrs, "average_size")?).unwrap_or(usize::MAX),
                size_variation: usize::try_from(number(attrs, "size_variation")?)
                    .unwrap_or(usize::MAX),
                // Toxiproxy's slicer delay is in microseconds.
                delay: Duration::from_micros(number(attrs, "delay")?),
            },
            "http_error" => {
                let status = match attrs.get("status") {
                    None | Some(Value::Null) => DEFAULT_ERROR_STATUS,
                    Some(_) => u16::try_from(number(attrs, "status")?).unwrap_or(u16::MAX),
                };
                if !(200..=599).contains(&status) {
                    return Err(format!(
                        "attribute `status` must be an HTTP status from 200 to 599, not {status}"
                    ));
                }
                Kind::HttpError { status }
            }
            "abort_body" => Kind::AbortBody {
                bytes: number(attrs, "bytes")?,
            },
            "reset" => Kind::Reset,
            _ => Kind::LimitData {
                bytes: number(attrs, "bytes")?,
            },
        };
        let route = route(attrs)?;
        let name = j
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("{kind_name}_{}", stream.as_str()));
        Ok(Toxic {
            name,
            stream,
            toxicity,
            kind,
            route,
        })
    }

    /// Whether only HTTP proxies take it (`http_error`, `abort_body`, `reset`).
    pub fn http_only(&self) -> bool {
        HTTP_ONLY.contains(&self.type_name())
    }

    /// The type's name.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Latency { .. } => "latency",
            Kind::Bandwidth { .. } => "bandwidth",
            Kind::SlowClose { .. } => "slow_close",
            Kind::Timeout { .. } => "timeout",
            Kind::ResetPeer { .. } => "reset_peer",
            Kind::Slicer { .. } => "slicer",
            Kind::LimitData { .. } => "limit_data",
            Kind::HttpError { .. } => "http_error",
            Kind::AbortBody { .. } => "abort_body",
            Kind::Reset => "reset",
        }
    }

    /// The toxic as the API writes it.
    pub fn to_json(&self) -> Value {
        let ms = |d: Duration| Value::from(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut a = Map::new();
        match &self.kind {
            Kind::Latency { latency, jitter } => {
                a.insert("latency".into(), ms(*latency));
                a.insert("jitter".into(), ms(*jitter));
            }
            Kind::Bandwidth { rate } => {
                a.insert("rate".into(), Value::from(*rate));
            }
            Kind::SlowClose { delay } => {
                a.insert("delay".into(), ms(*delay));
            }
            Kind::Timeout { timeout } | Kind::ResetPeer { timeout } => {
                a.insert("timeout".into(), ms(*timeout));
            }
            Kind::Slicer {
                average_size,
                size_variation,
                delay,
            } => {
                a.insert("average_size".into(), Value::from(*average_size));
                a.insert("size_variation".into(), Value::from(*size_variation));
                a.insert(
                    "delay".into(),
                    Value::from(u64::try_from(delay.as_micros()).unwrap_or(u64::MAX)),
                );
            }
            Kind::LimitData { bytes } | Kind::AbortBody { bytes } => {
                a.insert("bytes".into(), Value::from(*bytes));
            }
            Kind::HttpError { status } => {
                a.insert("status".into(), Value::from(*status));
            }
            Kind::Reset => {}
        }
        if let Some(p) = &self.route.path_prefix {
            a.insert("path_prefix".into(), Value::from(p.as_str()));
        }
        if let Some(m) = &self.route.method {
            a.insert("method".into(), Value::from(m.as_str()));
        }
        serde_json::json!({
            "name": self.name,
            "type": self.type_name(),
            "stream": self.stream.as_str(),
            "toxicity": self.toxicity,
            "attributes": a,
        })
    }

    /// Applies an update (`attributes` and `toxicity`, as Toxiproxy's `POST .../toxics/NAME`):
    /// the given attributes replace those of the same name (a `null` `path_prefix` or `method`
    /// removes that filter).
    ///
    /// # Errors
    /// As [`Toxic::from_json`].
    pub fn update(&self, j: &ToxicJson) -> Result<Toxic, String> {
        let mut current = ToxicJson {
            name: Some(self.name.clone()),
            kind: Some(self.type_name().to_owned()),
            stream: Some(self.stream),
            toxicity: Some(j.toxicity.unwrap_or(self.toxicity)),
            attributes: self
                .to_json()
                .get("attributes")
                .and_then(Value::as_object)
                .cloned(),
        };
        if let Some(new) = &j.attributes {
            let attrs = current.attributes.get_or_insert_with(Map::new);
            for (k, v) in new {
                attrs.insert(k.clone(), v.clone());
            }
        }
        if let Some(Kind::Slicer { delay, .. }) = Some(&self.kind)
            && j.attributes
                .as_ref()
                .is_none_or(|a| !a.contains_key("delay"))
            && let Some(attrs) = current.attributes.as_mut()
        {
            attrs.insert(
                "delay".into(),
                Value::from(u64::try_from(delay.as_micros()).unwrap_or(u64::MAX)),
            );
        }
        Toxic::from_json(&current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Toxic, String> {
        Toxic::from_json(&serde_json::from_value(v).expect("json"))
    }

    #[test]
    fn toxiproxy_json_round_trips() {
        let t = parse(json!({"type": "latency", "attributes": {"latency": 100, "jitter": 10}}))
            .expect("latency");
        assert_eq!(t.name, "latency_downstream");
        assert_eq!(t.toxicity, 1.0);
        assert_eq!(
            t.to_json(),
            json!({"name": "latency_downstream", "type": "latency", "stream": "downstream",
                   "toxicity": 1.0, "attributes": {"latency": 100, "jitter": 10}})
        );
        let t = parse(
            json!({"name": "cut", "type": "limit_data", "stream": "upstream",
                             "toxicity": 0.5, "attributes": {"bytes": 10}}),
        )
        .expect("limit");
        assert_eq!(t.kind, Kind::LimitData { bytes: 10 });
        let updated = t
            .update(&serde_json::from_value(json!({"toxicity": 0.2})).expect("json"))
            .expect("update");
        assert_eq!(updated.toxicity, 0.2);
        assert_eq!(updated.kind, Kind::LimitData { bytes: 10 });
        let s = parse(json!({"type": "slicer", "attributes": {"average_size": 10, "size_variation": 2, "delay": 500}}))
            .expect("slicer");
        assert_eq!(
            s.update(
                &serde_json::from_value(json!({"attributes": {"average_size": 20}})).expect("j")
            )
            .expect("update")
            .kind,
            Kind::Slicer {
                average_size: 20,
                size_variation: 2,
                delay: Duration::from_micros(500)
            }
        );
    }

    #[test]
    fn http_toxics_and_route_filters_round_trip() {
        let t = parse(json!({"type": "http_error", "attributes": {"path_prefix": "/v2/models/a", "method": "post"}}))
            .expect("http_error");
        assert_eq!(t.kind, Kind::HttpError { status: 503 });
        assert!(t.http_only());
        assert_eq!(
            t.route,
            Route {
                path_prefix: Some("/v2/models/a".into()),
                method: Some("POST".into())
            }
        );
        assert!(t.route.matches("POST", "/v2/models/a/infer"));
        assert!(!t.route.matches("GET", "/v2/models/a/infer"));
        assert!(!t.route.matches("POST", "/v2/models/b/infer"));
        assert_eq!(
            t.to_json(),
            json!({"name": "http_error_downstream", "type": "http_error", "stream": "downstream",
                   "toxicity": 1.0,
                   "attributes": {"status": 503, "path_prefix": "/v2/models/a", "method": "POST"}})
        );
        // An update keeps the filter unless it is nulled.
        let u = t
            .update(
                &serde_json::from_value(json!({"attributes": {"status": 500, "method": null}}))
                    .expect("j"),
            )
            .expect("update");
        assert_eq!(u.kind, Kind::HttpError { status: 500 });
        assert_eq!(u.route.path_prefix.as_deref(), Some("/v2/models/a"));
        assert_eq!(u.route.method, None);
        let a = parse(json!({"type": "abort_body", "attributes": {"bytes": 10}})).expect("abort");
        assert_eq!(a.kind, Kind::AbortBody { bytes: 10 });
        let r = parse(json!({"type": "reset"})).expect("reset");
        assert_eq!(r.kind, Kind::Reset);
        assert_eq!(r.to_json()["attributes"], json!({}));
        assert!(r.route.is_any());
        // Every type takes a filter; TCP types are not HTTP-only.
        let l =
            parse(json!({"type": "latency", "attributes": {"latency": 1, "path_prefix": "/a"}}))
                .expect("latency");
        assert!(!l.http_only() && !l.route.is_any());
    }

    #[test]
    fn bad_toxics_say_why() {
        for (v, why) in [
            (json!({}), "needs a `type`"),
            (json!({"type": "gremlin"}), "unknown toxic type `gremlin`"),
            (
                json!({"type": "latency", "attributes": {"delay": 3}}),
                "no attribute `delay`",
            ),
            (
                json!({"type": "latency", "attributes": {"latency": -3}}),
                "non-negative",
            ),
            (json!({"type": "timeout", "toxicity": 2}), "from 0 to 1"),
            (
                json!({"type": "http_error", "attributes": {"status": 700}}),
                "from 200 to 599, not 700",
            ),
            (
                json!({"type": "reset", "attributes": {"path_prefix": "v2"}}),
                "must start with `/`",
            ),
            (
                json!({"type": "reset", "attributes": {"method": 3}}),
                "`method` must be a string",
            ),
            (
                json!({"type": "reset", "attributes": {"method": "GET /"}}),
                "an HTTP method",
            ),
            (
                json!({"type": "reset", "attributes": {"bytes": 3}}),
                "has no attribute `bytes` (it has: path_prefix, method)",
            ),
        ] {
            let e = parse(v.clone()).expect_err(&v.to_string());
            assert!(e.contains(why), "{v}: {e}");
        }
    }
}
