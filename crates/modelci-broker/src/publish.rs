//! Publishing pacts (`POST` to the index's `pb:publish-contracts`, `/contracts/publish`).

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::client::Broker;
use crate::error::BrokerError;
use crate::notice::{Notice, notices};

/// One pact to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// Where it was read from (for messages).
    pub source: String,
    /// `consumer.name`.
    pub consumer: String,
    /// `provider.name`.
    pub provider: String,
    /// The file's bytes, sent as they are (base64).
    pub content: Vec<u8>,
}

impl Contract {
    /// A pact from its file's bytes: the consumer's and provider's names are read from it.
    ///
    /// # Errors
    /// When the bytes are not a JSON object with `consumer.name` and `provider.name`.
    pub fn from_pact(source: &str, content: Vec<u8>) -> Result<Contract, String> {
        let text = String::from_utf8_lossy(&content);
        let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| format!("pact file `{source}` is not valid JSON: {e}"))?;
        let name = |who: &str| {
            value
                .get(who)
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("pact file `{source}` has no `{who}.name`"))
        };
        Ok(Contract {
            source: source.to_owned(),
            consumer: name("consumer")?,
            provider: name("provider")?,
            content,
        })
    }
}

/// One publication: the pacts of one consumer version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The consumer (`pacticipantName`).
    pub pacticipant: String,
    /// The consumer's version (`pacticipantVersionNumber`).
    pub version: String,
    /// The consumer version's branch.
    pub branch: Option<String>,
    /// Tags for the consumer version.
    pub tags: Vec<String>,
    /// The CI build that made the pacts.
    pub build_url: Option<String>,
    /// `onConflict: merge`: add the interactions to a pact already published for this version
    /// instead of replacing it.
    pub merge: bool,
    /// The pacts (all with `pacticipant` as consumer).
    pub contracts: Vec<Contract>,
}

/// What the version, branch, tags, build URL and merge option of publications are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishOptions {
    /// The consumer version.
    pub version: String,
    /// Its branch.
    pub branch: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// The build URL.
    pub build_url: Option<String>,
    /// Merge with a pact already published for the version.
    pub merge: bool,
}

impl Publication {
    /// The publications of pacts: one per consumer (in the order they first appear), as the
    /// Pact CLI sends them.
    pub fn per_consumer(contracts: Vec<Contract>, options: &PublishOptions) -> Vec<Publication> {
        let mut out: Vec<Publication> = Vec::new();
        for c in contracts {
            match out.iter_mut().find(|p| p.pacticipant == c.consumer) {
                Some(p) => p.contracts.push(c),
                None => out.push(Publication {
                    pacticipant: c.consumer.clone(),
                    version: options.version.clone(),
                    branch: options.branch.clone(),
                    tags: options.tags.clone(),
                    build_url: options.build_url.clone(),
                    merge: options.merge,
                    contracts: vec![c],
                }),
            }
        }
        out
    }

    /// The request body the Pact Broker documents for `POST /contracts/publish`.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("pacticipantName".into(), json!(self.pacticipant));
        body.insert("pacticipantVersionNumber".into(), json!(self.version));
        if let Some(branch) = &self.branch {
            body.insert("branch".into(), json!(branch));
        }
        if !self.tags.is_empty() {
            body.insert("tags".into(), json!(self.tags));
        }
        if let Some(url) = &self.build_url {
            body.insert("buildUrl".into(), json!(url));
        }
        let contracts: Vec<Value> = self
            .contracts
            .iter()
            .map(|c| {
                let mut contract = json!({
                    "consumerName": c.consumer,
                    "providerName": c.provider,
                    "specification": "pact",
                    "contentType": "application/json",
                    "content": base64::engine::general_purpose::STANDARD.encode(&c.content),
                });
                if self.merge {
                    contract["onConflict"] = json!("merge");
                }
                contract
            })
            .collect();
        body.insert("contracts".into(), Value::Array(contracts));
        Value::Object(body)
    }
}

/// The broker's answer to a publication.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// Where the publication was sent (credentials hidden).
    pub url: String,
    /// What the broker says about it.
    pub notices: Vec<Notice>,
    /// The answer as the broker sent it.
    pub raw: Value,
}

impl Broker {
    /// Publishes pacts: the index, then `POST` to its `pb:publish-contracts`.
    ///
    /// # Errors
    /// When the broker cannot be reached, has no `pb:publish-contracts` (older than 2.86) or
    /// refuses the publication (its messages are in [`BrokerError::Http`]).
    pub fn publish(&self, publication: &Publication) -> Result<Published, BrokerError> {
        let base = self.base().clone();
        let index = self.index()?;
        let url = self
            .link(&index, &base, "pb:publish-contracts", &[])
            .map_err(|e| match e {
                BrokerError::MissingRelation { url, relation, .. } => {
                    BrokerError::MissingRelation {
                        url,
                        relation,
                        hint: Some(
                            "publishing contracts needs Pact Broker 2.86 or later, or PactFlow"
                                .to_owned(),
                        ),
                    }
                }
                other => other,
            })?;
        let raw = self.post(&url, &publication.body())?;
        Ok(Published {
            url: self.shown(&url),
            notices: notices(&raw),
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(consumer: &str, provider: &str) -> Contract {
        Contract::from_pact(
            "p.json",
            format!(r#"{{"consumer":{{"name":"{consumer}"}},"provider":{{"name":"{provider}"}},"interactions":[]}}"#)
                .into_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn pacts_name_their_pacticipants() {
        let c = contract("Foo", "Bar");
        assert_eq!((c.consumer.as_str(), c.provider.as_str()), ("Foo", "Bar"));
        let err = Contract::from_pact("x.json", b"{\"consumer\":{}}".to_vec()).unwrap_err();
        assert!(
            err.contains("`x.json`") && err.contains("consumer.name"),
            "{err}"
        );
        let err = Contract::from_pact("y.json", b"not json".to_vec()).unwrap_err();
        assert!(err.contains("`y.json` is not valid JSON"), "{err}");
    }

    #[test]
    fn the_body_is_the_documented_one() {
        let options = PublishOptions {
            version: "1.0".into(),
            branch: Some("main".into()),
            tags: vec!["dev".into()],
            build_url: Some("http://build".into()),
            merge: true,
        };
        let ps = Publication::per_consumer(
            vec![
                contract("Foo", "Bar"),
                contract("Baz", "Bar"),
                contract("Foo", "Qux"),
            ],
            &options,
        );
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].contracts.len(), 2);
        let body = ps[0].body();
        let content = base64::engine::general_purpose::STANDARD
            .encode(br#"{"consumer":{"name":"Foo"},"provider":{"name":"Bar"},"interactions":[]}"#);
        assert_eq!(
            body,
            json!({
                "pacticipantName": "Foo",
                "pacticipantVersionNumber": "1.0",
                "branch": "main",
                "tags": ["dev"],
                "buildUrl": "http://build",
                "contracts": [
                    {"consumerName": "Foo", "providerName": "Bar", "specification": "pact",
                     "contentType": "application/json", "content": content, "onConflict": "merge"},
                    {"consumerName": "Foo", "providerName": "Qux", "specification": "pact",
                     "contentType": "application/json",
                     "content": base64::engine::general_purpose::STANDARD.encode(
                        br#"{"consumer":{"name":"Foo"},"provider":{"name":"Qux"},"interactions":[]}"#),
                     "onConflict": "merge"},
                ],
            })
        );
        let bare = Publication::per_consumer(
            vec![contract("Foo", "Bar")],
            &PublishOptions {
                version: "2".into(),
                ..PublishOptions::default()
            },
        );
        let body = bare[0].body();
        assert_eq!(body.get("branch"), None);
        assert_eq!(body.get("tags"), None);
        assert_eq!(body.get("buildUrl"), None);
        assert_eq!(body["contracts"][0].get("onConflict"), None);
    }
}
