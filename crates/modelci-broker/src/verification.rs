//! Provider verification: the pacts a provider must verify, and publishing what it found.
//!
//! - [`Broker::pacts_for_verification`]: the index's `pb:provider-pacts-for-verification`
//!   relation (templated with `{provider}`), `POST`ed a [`PactsRequest`] (consumer version
//!   selectors, pending and WIP pacts, the provider version's branch and tags); the answer's
//!   `_embedded.pacts` become [`PactRef`]s. A broker without that relation (before 2.x) falls
//!   back on `pb:latest-provider-pacts` and `pb:latest-provider-pacts-with-tag`, which know
//!   neither pending pacts nor any selector but `tag`/`latest`.
//! - [`Broker::fetch_pact`]: each pact, with its `_links`.
//! - [`Broker::record_provider_version`]: the provider version's branch
//!   (`pb:provider` -> `pb:branch-version`, `PUT`) and tags (`pb:version-tag`, `PUT`), as the
//!   Pact verifiers do before publishing.
//! - [`Broker::publish_verification`]: `POST` a [`VerificationResult`] to the pact's
//!   `pb:publish-verification-results` relation.

use reqwest::Url;
use serde_json::{Map, Value, json};

use crate::client::Broker;
use crate::error::BrokerError;
use crate::hal;

/// The consumer version selector keys the broker documents, and whether each takes a boolean
/// (`true` only) or a text.
const SELECTOR_KEYS: &[(&str, bool)] = &[
    ("mainBranch", true),
    ("branch", false),
    ("matchingBranch", true),
    ("fallbackBranch", false),
    ("deployed", true),
    ("released", true),
    ("deployedOrReleased", true),
    ("environment", false),
    ("latest", true),
    ("tag", false),
    ("fallbackTag", false),
    ("consumer", false),
];

/// Checks a consumer version selector: an object of the documented keys, the boolean ones
/// `true` (or `latest`, which may be `false`), the others non-empty texts.
///
/// # Errors
/// What is wrong with it, naming the key.
pub fn check_selector(selector: &Value) -> Result<(), String> {
    let Some(map) = selector.as_object() else {
        return Err(format!(
            "a consumer version selector is a JSON object such as {{\"mainBranch\": true}}, not `{selector}`"
        ));
    };
    if map.is_empty() {
        return Err("a consumer version selector is empty".to_owned());
    }
    for (key, value) in map {
        let Some((_, boolean)) = SELECTOR_KEYS.iter().find(|(k, _)| k == key) else {
            let known: Vec<&str> = SELECTOR_KEYS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "unknown consumer version selector key `{key}` (known: {})",
                known.join(", ")
            ));
        };
        let ok = if *boolean {
            value == &Value::Bool(true) || (key == "latest" && value.is_boolean())
        } else {
            value.as_str().is_some_and(|s| !s.trim().is_empty())
        };
        if !ok {
            return Err(format!(
                "consumer version selector key `{key}` takes {}, not `{value}`",
                if *boolean { "true" } else { "a non-empty text" }
            ));
        }
    }
    Ok(())
}

/// Reads a selector as a flag gives it: a JSON object (`{"branch": "main"}`) or
/// comma-separated `key=value` pairs (`mainBranch=true`, `consumer=web,branch=main`), where
/// `true` and `false` are booleans.
///
/// # Errors
/// When it is neither, or [`check_selector`] refuses it.
pub fn parse_selector(text: &str) -> Result<Value, String> {
    let text = text.trim();
    let value = if text.starts_with('{') {
        serde_json::from_str::<Value>(text)
            .map_err(|e| format!("consumer version selector `{text}` is not JSON: {e}"))?
    } else {
        let mut map = Map::new();
        for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(format!(
                    "consumer version selector `{text}`: expected key=value pairs \
                     (mainBranch=true, branch=main, deployedOrReleased=true) or a JSON object"
                ));
            };
            let v = v.trim();
            let value = match v {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(v.to_owned()),
            };
            map.insert(k.trim().to_owned(), value);
        }
        Value::Object(map)
    };
    check_selector(&value)?;
    Ok(value)
}

/// What the provider asks the broker for (the body of `pb:provider-pacts-for-verification`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PactsRequest {
    /// The provider's name.
    pub provider: String,
    /// Consumer version selectors (JSON objects, see [`check_selector`]); none leaves the
    /// choice to the broker.
    pub selectors: Vec<Value>,
    /// Ask which pacts are pending (`includePendingStatus`).
    pub include_pending: bool,
    /// Include work-in-progress pacts created since this date (`includeWipPactsSince`); the
    /// broker marks them pending, so this asks for the pending status too.
    pub include_wip_pacts_since: Option<String>,
    /// The branch of the provider version that will be verified (`providerVersionBranch`).
    pub provider_branch: Option<String>,
    /// Its tags (`providerVersionTags`).
    pub provider_tags: Vec<String>,
}

impl PactsRequest {
    /// The JSON body, as the broker documents it.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        if !self.selectors.is_empty() {
            body.insert(
                "consumerVersionSelectors".into(),
                Value::Array(self.selectors.clone()),
            );
        }
        body.insert(
            "includePendingStatus".into(),
            Value::Bool(self.include_pending || self.include_wip_pacts_since.is_some()),
        );
        if let Some(since) = &self.include_wip_pacts_since {
            body.insert("includeWipPactsSince".into(), Value::String(since.clone()));
        }
        if let Some(branch) = &self.provider_branch {
            body.insert(
                "providerVersionBranch".into(),
                Value::String(branch.clone()),
            );
        }
        if !self.provider_tags.is_empty() {
            body.insert("providerVersionTags".into(), json!(self.provider_tags));
        }
        Value::Object(body)
    }
}

/// A message from the broker about a pact (why it was selected, whether it is pending, what a
/// failure will mean).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// When it applies: `before_verification`, or
    /// `after_verification:success_true_published_false` and the like.
    pub when: Option<String>,
    /// The message.
    pub text: String,
}

impl Notice {
    /// Whether it is to be shown before verifying (also when the broker does not say).
    pub fn is_before(&self) -> bool {
        self.when
            .as_deref()
            .is_none_or(|w| w == "before_verification")
    }

    /// Whether it is to be shown after a verification with this outcome.
    pub fn is_after(&self, success: bool, published: bool) -> bool {
        self.when.as_deref().is_some_and(|w| {
            w == format!("after_verification:success_{success}_published_{published}")
        })
    }
}

/// One pact the broker asks the provider to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PactRef {
    /// The pact's URL (`_links.self.href`).
    pub href: String,
    /// The link's name (`Pact between web (1.2.3) and api`), when given.
    pub name: Option<String>,
    /// Why it was selected (`latest from main branch`).
    pub description: String,
    /// A pending pact: its failures do not fail the build.
    pub pending: bool,
    /// A work-in-progress pact (always pending too).
    pub wip: bool,
    /// The broker's notices.
    pub notices: Vec<Notice>,
}

/// The pacts of a pacts-for-verification answer (`_embedded.pacts`), fetched from `url`.
///
/// # Errors
/// [`BrokerError::Invalid`] when the answer has no `_embedded.pacts` list, or a pact has no
/// `_links.self.href`.
pub fn parse_pacts(body: &Value, url: &str) -> Result<Vec<PactRef>, BrokerError> {
    let invalid = |reason: String| BrokerError::Invalid {
        url: url.to_owned(),
        reason,
    };
    let pacts = body
        .get("_embedded")
        .and_then(|e| e.get("pacts"))
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("no `_embedded.pacts` list".to_owned()))?;
    let mut out = Vec::with_capacity(pacts.len());
    for (n, p) in pacts.iter().enumerate() {
        let link = hal::links(p, "self")
            .into_iter()
            .next()
            .ok_or_else(|| invalid(format!("pact #{} has no `_links.self.href`", n + 1)))?;
        let props = p.get("verificationProperties");
        let flag = |key: &str| {
            props
                .and_then(|v| v.get(key))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let notices = props
            .and_then(|v| v.get("notices"))
            .and_then(Value::as_array)
            .map(|ns| {
                ns.iter()
                    .filter_map(|n| {
                        Some(Notice {
                            when: n.get("when").and_then(Value::as_str).map(str::to_owned),
                            text: n.get("text").and_then(Value::as_str)?.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(PactRef {
            href: link.href,
            name: link.name,
            description: p
                .get("shortDescription")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            pending: flag("pending") || flag("wip"),
            wip: flag("wip"),
            notices,
        });
    }
    Ok(out)
}

/// A pact fetched from the broker.
#[derive(Debug, Clone)]
pub struct FetchedPact {
    /// What the broker said about it.
    pub reference: PactRef,
    /// Where it was fetched.
    pub url: Url,
    /// The URL as messages show it (credentials hidden).
    pub shown: String,
    /// The pact, with the broker's `_links`.
    pub body: Value,
}

/// The result of verifying one pact, as the broker documents it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationResult {
    /// Every interaction passed (pending failures count as failures here).
    pub success: bool,
    /// The provider version that was verified (`providerApplicationVersion`).
    pub provider_version: String,
    /// The CI build (`buildUrl`).
    pub build_url: Option<String>,
    /// Per-interaction results (`testResults`), free-form for the broker.
    pub test_results: Option<Value>,
}

impl VerificationResult {
    /// The JSON body of `pb:publish-verification-results`.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("success".into(), Value::Bool(self.success));
        body.insert(
            "providerApplicationVersion".into(),
            Value::String(self.provider_version.clone()),
        );
        if let Some(url) = &self.build_url {
            body.insert("buildUrl".into(), Value::String(url.clone()));
        }
        if let Some(results) = &self.test_results {
            body.insert("testResults".into(), results.clone());
        }
        Value::Object(body)
    }
}

/// The selector keys that brokers without pacts-for-verification understand.
fn old_broker_selector(selector: &Value) -> bool {
    selector.as_object().is_some_and(|m| {
        m.keys()
            .all(|k| matches!(k.as_str(), "tag" | "latest" | "consumer" | "fallbackTag"))
    })
}

impl Broker {
    /// The pacts the provider must verify.
    ///
    /// # Errors
    /// When the broker cannot be reached or refuses the request (its messages quoted), or
    /// knows neither pacts-for-verification nor the latest-pacts relations.
    pub fn pacts_for_verification(
        &self,
        request: &PactsRequest,
    ) -> Result<Vec<PactRef>, BrokerError> {
        let base = self.base().clone();
        let index = self.index()?;
        let provider = [("provider", request.provider.as_str())];
        if hal::links(&index, "pb:provider-pacts-for-verification").is_empty()
            && hal::links(&index, "pb:latest-provider-pacts").len() == 1
            && request.selectors.iter().all(old_broker_selector)
        {
            return self.latest_provider_pacts(&index, request);
        }
        let url = self.link(
            &index,
            &base,
            "pb:provider-pacts-for-verification",
            &provider,
        )?;
        let answer = self.post(&url, &request.body())?;
        parse_pacts(&answer, &self.shown(&url))
    }

    /// A broker before pacts-for-verification: the latest pacts, or the latest with each
    /// selector's tag.
    fn latest_provider_pacts(
        &self,
        index: &Value,
        request: &PactsRequest,
    ) -> Result<Vec<PactRef>, BrokerError> {
        let base = self.base().clone();
        let provider = request.provider.as_str();
        let mut urls = Vec::new();
        let tags: Vec<&str> = request
            .selectors
            .iter()
            .filter_map(|s| s.get("tag").and_then(Value::as_str))
            .collect();
        if tags.is_empty() {
            urls.push((
                self.link(
                    index,
                    &base,
                    "pb:latest-provider-pacts",
                    &[("provider", provider)],
                )?,
                "latest".to_owned(),
            ));
        }
        for tag in tags {
            urls.push((
                self.link(
                    index,
                    &base,
                    "pb:latest-provider-pacts-with-tag",
                    &[("provider", provider), ("tag", tag)],
                )?,
                format!("latest with tag {tag}"),
            ));
        }
        let mut out: Vec<PactRef> = Vec::new();
        for (url, description) in urls {
            let answer = self.get(&url)?;
            for link in hal::links(&answer, "pb:pacts") {
                if out.iter().any(|p| p.href == link.href) {
                    continue;
                }
                out.push(PactRef {
                    href: link.href,
                    name: link.name,
                    description: description.clone(),
                    pending: false,
                    wip: false,
                    notices: Vec::new(),
                });
            }
        }
        Ok(out)
    }

    /// Fetches one pact.
    ///
    /// # Errors
    /// As [`Broker::get`]; when the link is not a URL.
    pub fn fetch_pact(&self, reference: &PactRef) -> Result<FetchedPact, BrokerError> {
        let url = self.resolve(&reference.href)?;
        let body = self.get(&url)?;
        Ok(FetchedPact {
            reference: reference.clone(),
            shown: self.shown(&url),
            url,
            body,
        })
    }

    /// Records the provider version with its branch and tags before results are published, as
    /// the Pact verifiers do: the pact's `pb:provider`, then `PUT {}` to its
    /// `pb:branch-version` (`{branch}`, `{version}`) and to `pb:version-tag` (`{version}`,
    /// `{tag}`) for each tag. Nothing is sent without a branch or tags.
    ///
    /// # Errors
    /// When a relation is missing (a broker too old for branches) or a request fails.
    pub fn record_provider_version(
        &self,
        pact: &FetchedPact,
        version: &str,
        branch: Option<&str>,
        tags: &[String],
    ) -> Result<(), BrokerError> {
        if branch.is_none() && tags.is_empty() {
            return Ok(());
        }
        let provider_url = self.link(&pact.body, &pact.url, "pb:provider", &[])?;
        let provider = self.get(&provider_url)?;
        if let Some(branch) = branch {
            let url = self.link(
                &provider,
                &provider_url,
                "pb:branch-version",
                &[("branch", branch), ("version", version)],
            )?;
            self.put(&url, &json!({}))?;
        }
        for tag in tags {
            let url = self.link(
                &provider,
                &provider_url,
                "pb:version-tag",
                &[("version", version), ("tag", tag)],
            )?;
            self.put(&url, &json!({}))?;
        }
        Ok(())
    }

    /// Publishes the result of verifying `pact` to its `pb:publish-verification-results`
    /// relation. Returns the URL the result was published to (credentials hidden).
    ///
    /// # Errors
    /// When the pact has no such relation, or the request fails.
    pub fn publish_verification(
        &self,
        pact: &FetchedPact,
        result: &VerificationResult,
    ) -> Result<String, BrokerError> {
        let url = self.link(
            &pact.body,
            &pact.url,
            "pb:publish-verification-results",
            &[],
        )?;
        self.post(&url, &result.body())?;
        Ok(self.shown(&url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_body_is_the_documented_one() {
        // The example of the broker's pacts-for-verification documentation.
        let request = PactsRequest {
            provider: "Bar".into(),
            selectors: vec![json!({"branch": "main"}), json!({"deployed": true})],
            include_pending: true,
            include_wip_pacts_since: Some("2020-01-01".into()),
            provider_branch: Some("main".into()),
            provider_tags: Vec::new(),
        };
        assert_eq!(
            request.body(),
            json!({
                "consumerVersionSelectors": [{"branch": "main"}, {"deployed": true}],
                "providerVersionBranch": "main",
                "includePendingStatus": true,
                "includeWipPactsSince": "2020-01-01"
            })
        );
        let minimal = PactsRequest {
            provider: "Bar".into(),
            provider_tags: vec!["prod".into()],
            ..PactsRequest::default()
        };
        assert_eq!(
            minimal.body(),
            json!({"includePendingStatus": false, "providerVersionTags": ["prod"]})
        );
        // WIP pacts are pending ones: asking for them asks for the pending status.
        let wip = PactsRequest {
            include_wip_pacts_since: Some("2024-01-01".into()),
            ..PactsRequest::default()
        };
        assert_eq!(wip.body()["includePendingStatus"], json!(true));
    }

    #[test]
    fn the_answer_gives_each_pact_with_its_pending_status_and_notices() {
        // Shaped as the broker documents its answer.
        let answer = json!({
            "_embedded": {"pacts": [
                {
                    "shortDescription": "latest from main branch",
                    "verificationProperties": {
                        "pending": false,
                        "notices": [
                            {"when": "before_verification", "text": "The pact at ... is being verified because it matches the selector {mainBranch: true}"},
                            {"when": "after_verification:success_false_published_true", "text": "This pact is not pending: the failure fails the build"}
                        ]
                    },
                    "_links": {"self": {"href": "https://broker/pacts/provider/Bar/consumer/Foo/pact-version/abc/metadata/xyz", "name": "Pact between Foo (1.2.3) and Bar"}}
                },
                {
                    "shortDescription": "latest from feat/x (work in progress)",
                    "verificationProperties": {"pending": true, "wip": true},
                    "_links": {"self": {"href": "/pacts/provider/Bar/consumer/Baz/pact-version/def"}}
                }
            ]},
            "_links": {"self": {"href": "https://broker/pacts/provider/Bar/for-verification"}}
        });
        let pacts = parse_pacts(&answer, "https://broker/x").unwrap();
        assert_eq!(pacts.len(), 2);
        assert_eq!(pacts[0].description, "latest from main branch");
        assert_eq!(
            pacts[0].name.as_deref(),
            Some("Pact between Foo (1.2.3) and Bar")
        );
        assert!(!pacts[0].pending && !pacts[0].wip);
        assert_eq!(pacts[0].notices.len(), 2);
        assert!(pacts[0].notices[0].is_before());
        assert!(!pacts[0].notices[1].is_before());
        assert!(pacts[0].notices[1].is_after(false, true));
        assert!(!pacts[0].notices[1].is_after(true, true));
        assert!(pacts[1].pending && pacts[1].wip);
        assert_eq!(
            pacts[1].href,
            "/pacts/provider/Bar/consumer/Baz/pact-version/def"
        );
        assert!(
            parse_pacts(&json!({"_embedded": {"pacts": []}}), "u")
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            parse_pacts(&json!({"_links": {}}), "u"),
            Err(BrokerError::Invalid { .. })
        ));
        assert!(parse_pacts(&json!({"_embedded": {"pacts": [{"_links": {}}]}}), "u").is_err());
    }

    #[test]
    fn selectors_are_json_or_key_value_pairs_of_documented_keys() {
        assert_eq!(
            parse_selector("mainBranch=true").unwrap(),
            json!({"mainBranch": true})
        );
        assert_eq!(
            parse_selector("consumer=web, branch=feat/x").unwrap(),
            json!({"consumer": "web", "branch": "feat/x"})
        );
        assert_eq!(
            parse_selector(r#"{"deployedOrReleased": true}"#).unwrap(),
            json!({"deployedOrReleased": true})
        );
        assert_eq!(
            parse_selector(r#"{"environment": "production", "deployed": true}"#).unwrap(),
            json!({"environment": "production", "deployed": true})
        );
        let e = parse_selector("mainbranch=true").unwrap_err();
        assert!(
            e.contains("unknown consumer version selector key `mainbranch`"),
            "{e}"
        );
        assert!(parse_selector("mainBranch=false").is_err());
        assert!(parse_selector("branch=").is_err());
        assert!(parse_selector("{not json").is_err());
        assert!(parse_selector("main").is_err());
        assert!(parse_selector("[1]").is_err());
        assert!(check_selector(&json!({})).is_err());
        assert!(check_selector(&json!({"latest": false, "tag": "prod"})).is_ok());
    }

    #[test]
    fn the_results_body_is_the_documented_one() {
        let result = VerificationResult {
            success: true,
            provider_version: "4.5.6".into(),
            build_url: Some("http://my-ci.org/build/3456".into()),
            test_results: None,
        };
        assert_eq!(
            result.body(),
            json!({
                "success": true,
                "providerApplicationVersion": "4.5.6",
                "buildUrl": "http://my-ci.org/build/3456"
            })
        );
        let failed = VerificationResult {
            success: false,
            provider_version: "1".into(),
            build_url: None,
            test_results: Some(json!([{"interactionDescription": "a", "success": false}])),
        };
        assert_eq!(
            failed.body(),
            json!({"success": false, "providerApplicationVersion": "1",
                   "testResults": [{"interactionDescription": "a", "success": false}]})
        );
    }
}
