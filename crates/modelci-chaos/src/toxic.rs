//! Toxics: what a proxy does to the bytes of a connection, with Toxiproxy's names, attributes
//! and JSON (`{"name", "type", "stream", "toxicity", "attributes"}`), so that Toxiproxy's
//! clients and scripts drive modelci's proxy unchanged.

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
}

/// A toxic on a proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// Unique on its proxy (default `TYPE_STREAM`).
    pub name: String,
    /// The direction.
    pub stream: Stream,
    /// The probability (0 to 1) that a connection gets it, decided per connection.
    pub toxicity: f64,
    /// What it does.
    pub kind: Kind,
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
];

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
        if let Some(k) = attrs.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!(
                "toxic type `{kind_name}` has no attribute `{k}` (it has: {})",
                known.join(", ")
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
            _ => Kind::LimitData {
                bytes: number(attrs, "bytes")?,
            },
        };
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
        })
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
            Kind::LimitData { bytes } => {
                a.insert("bytes".into(), Value::from(*bytes));
            }
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
    /// the given attributes replace those of the same name.
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
        ] {
            let e = parse(v.clone()).expect_err(&v.to_string());
            assert!(e.contains(why), "{v}: {e}");
        }
    }
}
