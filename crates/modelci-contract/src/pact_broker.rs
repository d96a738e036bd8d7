//! Pacts from a Pact Broker: the pacts a provider must verify (consumer version selectors,
//! pending and work-in-progress pacts), fetched at planning, and the verification results
//! published back once the whole result is known.
//!
//! - Each broker pact becomes cases like a file pact. The cases of a *pending* pact (and a WIP
//!   pact, which is pending) that fail or error are reported as skipped with "pending: does not
//!   fail the build", as the Pact CLIs do: visible, but they do not fail the run.
//! - Publishing is one case, `(publish verification results)`, planned after the pacts' cases.
//!   It posts each pact's own result (success when every interaction of it passed, pending
//!   failures included) only when this process verified every case of the suite: never from a
//!   sharded run, a filtered one or an interrupted one, where it says so and skips. A failed
//!   publish errors that case (exit 2), naming the URL; the verification results stay.

use std::sync::Arc;
use std::time::Duration;

use modelci_broker::{
    Broker, FetchedPact, PactsRequest, VerificationNotice as Notice, VerificationResult,
};
use modelci_report::Case;
use serde_json::{Value, json};

use crate::pact_verify::{LoadedPact, SourceError};

/// The name of the publishing case.
pub const PUBLISH_CASE: &str = "(publish verification results)";

/// A pact the broker asked to verify, read.
#[derive(Debug, Clone)]
pub struct BrokerPact {
    /// The pact, ready to verify.
    pub loaded: LoadedPact,
    /// What the broker said about it, with its links.
    pub fetched: FetchedPact,
}

impl BrokerPact {
    /// Its cases' failures do not fail the run.
    pub fn pending(&self) -> bool {
        self.fetched.reference.pending
    }

    /// The notices to show before verifying.
    pub fn notices_before(&self) -> Vec<&Notice> {
        self.fetched
            .reference
            .notices
            .iter()
            .filter(|n| n.is_before())
            .collect()
    }
}

/// What publishing needs: the broker, and the provider version.
#[derive(Debug)]
pub struct Publisher {
    broker: Broker,
    provider_version: String,
    provider_branch: Option<String>,
    provider_tags: Vec<String>,
    build_url: Option<String>,
}

/// The broker's pacts for one suite (or one `contract verify`), and the publisher when results
/// are to be published.
#[derive(Debug)]
pub struct Fetched {
    /// The pacts; one that could not be fetched or read is an error.
    pub pacts: Vec<Result<BrokerPact, SourceError>>,
    /// Set when results are to be published.
    pub publisher: Option<Arc<Publisher>>,
    /// The broker's URL, as messages show it.
    pub shown: String,
}

/// The broker client for `settings`, with credentials from the environment variables it names.
///
/// # Errors
/// An unusable URL or credentials.
pub fn client(
    settings: &modelci_config::PactBroker,
    timeout: Duration,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Broker, String> {
    let env = |name: &str| match name {
        "PACT_BROKER_TOKEN" => lookup(&settings.token_env),
        "PACT_BROKER_USERNAME" => lookup(&settings.username_env),
        "PACT_BROKER_PASSWORD" => lookup(&settings.password_env),
        _ => None,
    };
    let config =
        modelci_broker::Config::resolve(Some(&settings.url), None, None, None, env, timeout)
            .map_err(|e| e.to_string())?;
    Broker::new(&config).map_err(|e| e.to_string())
}

/// The request `settings` make.
pub fn request(settings: &modelci_config::PactBroker) -> PactsRequest {
    PactsRequest {
        provider: settings.provider.clone(),
        selectors: settings.selectors.clone(),
        include_pending: settings.enable_pending,
        include_wip_pacts_since: settings.include_wip_pacts_since.clone(),
        provider_branch: settings.provider_branch.clone(),
        provider_tags: settings.provider_tags.clone(),
    }
}

/// Asks `broker` for the pacts to verify and fetches each one. A broker that cannot be asked
/// gives one error; a pact that cannot be fetched or read gives one error among the pacts.
/// No pacts at all is an error unless `allow_empty`.
pub fn fetch(broker: Broker, settings: &modelci_config::PactBroker, allow_empty: bool) -> Fetched {
    let shown = broker.shown(broker.base());
    let problem = |message: String| SourceError {
        source: shown.clone(),
        line: None,
        message,
    };
    for selector in &settings.selectors {
        if let Err(e) = modelci_broker::check_selector(selector) {
            return Fetched {
                pacts: vec![Err(SourceError {
                    line: Some(settings.selectors_line).filter(|l| *l > 0),
                    ..problem(e)
                })],
                publisher: None,
                shown,
            };
        }
    }
    let request = request(settings);
    let refs = match broker.pacts_for_verification(&request) {
        Ok(refs) => refs,
        Err(e) => {
            return Fetched {
                pacts: vec![Err(problem(format!(
                    "failed to get the pacts for provider `{}` from the Pact Broker: {e}",
                    settings.provider
                )))],
                publisher: None,
                shown,
            };
        }
    };
    let mut pacts = Vec::new();
    if refs.is_empty() && !allow_empty {
        pacts.push(Err(problem(format!(
            "the Pact Broker at {shown} has no pacts for provider `{}` to verify{}; a \
             verification that checks nothing never passes (pass --allow-empty / set \
             `allow_empty = true` where that is expected)",
            settings.provider,
            if settings.selectors.is_empty() {
                String::new()
            } else {
                format!(
                    " with the consumer version selectors {}",
                    Value::Array(settings.selectors.clone())
                )
            }
        ))));
    }
    for r in &refs {
        pacts.push(read(&broker, r));
    }
    let publisher = match (&settings.provider_version, settings.publish_results) {
        (Some(version), true) => Some(Arc::new(Publisher {
            broker,
            provider_version: version.clone(),
            provider_branch: settings.provider_branch.clone(),
            provider_tags: settings.provider_tags.clone(),
            build_url: settings.build_url.clone(),
        })),
        _ => None,
    };
    Fetched {
        pacts,
        publisher,
        shown,
    }
}

fn read(broker: &Broker, reference: &modelci_broker::PactRef) -> Result<BrokerPact, SourceError> {
    let fetched = broker.fetch_pact(reference).map_err(|e| SourceError {
        source: broker.hide(&reference.href),
        line: None,
        message: format!("failed to fetch a pact from the Pact Broker: {e}"),
    })?;
    let text = serde_json::to_string_pretty(&fetched.body).unwrap_or_default();
    let pact = modelci_pact::pact::parse(&text, &fetched.shown).map_err(|e| SourceError {
        source: fetched.shown.clone(),
        line: None,
        message: format!("invalid pact from the Pact Broker: {e}"),
    })?;
    Ok(BrokerPact {
        loaded: LoadedPact::remote(pact),
        fetched,
    })
}

/// One pact's verification, as the publishing case sees it.
pub(crate) struct Verified<'a> {
    pub pact: &'a BrokerPact,
    /// Every case passed (before pending failures were turned into skips).
    pub success: bool,
    /// `testResults`: each interaction's description, key and success.
    pub results: Vec<Value>,
}

/// A result of one interaction for `testResults`.
pub(crate) fn test_result(description: &str, key: Option<&str>, success: bool) -> Value {
    let mut v = json!({"interactionDescription": description, "success": success});
    if let Some(key) = key {
        v["interactionId"] = Value::String(key.to_owned());
    }
    v
}

/// A case of a pending pact: a failure or an error is reported, skipped, and does not fail
/// the run.
pub(crate) fn pending_case(mut case: Case, pact: &BrokerPact) -> Case {
    case.properties.insert("pending", "true");
    if pact.fetched.reference.wip {
        case.properties.insert("wip", "true");
    }
    if matches!(
        case.outcome,
        modelci_report::Outcome::Failed | modelci_report::Outcome::Errored
    ) {
        let was = if case.outcome == modelci_report::Outcome::Failed {
            "failed"
        } else {
            "errored"
        };
        case.properties.insert("pending_outcome", was);
        let why = case.message.take().unwrap_or_default();
        case.message = Some(format!(
            "pending: does not fail the build ({}{was}): {why}",
            if pact.fetched.reference.wip {
                "work-in-progress pact, "
            } else {
                "pending pact, "
            }
        ));
        case.outcome = modelci_report::Outcome::Skipped;
    }
    case
}

impl Publisher {
    /// Publishes each pact's result: the provider version's branch and tags first (once), then
    /// one result per pact. The case passes when every result was published, and errors,
    /// naming the URL, otherwise.
    pub(crate) fn publish(&self, verified: &[Verified<'_>]) -> Case {
        let started = std::time::Instant::now();
        let mut done = Vec::new();
        let mut errors = Vec::new();
        let mut notices = Vec::new();
        if let Some(first) = verified.first()
            && let Err(e) = self.broker.record_provider_version(
                &first.pact.fetched,
                &self.provider_version,
                self.provider_branch.as_deref(),
                &self.provider_tags,
            )
        {
            errors.push(format!(
                "failed to record provider version `{}`{}: {e}",
                self.provider_version,
                self.provider_branch
                    .as_deref()
                    .map(|b| format!(" on branch `{b}`"))
                    .unwrap_or_default()
            ));
        }
        if errors.is_empty() {
            for v in verified {
                let result = VerificationResult {
                    success: v.success,
                    provider_version: self.provider_version.clone(),
                    build_url: self.build_url.clone(),
                    test_results: Some(Value::Array(v.results.clone())),
                };
                let name = &v.pact.loaded.pact.consumer;
                match self.broker.publish_verification(&v.pact.fetched, &result) {
                    Ok(url) => {
                        done.push(format!(
                            "{name}: {} published to {url}",
                            if v.success { "success" } else { "failure" }
                        ));
                        notices.extend(
                            v.pact
                                .fetched
                                .reference
                                .notices
                                .iter()
                                .filter(|n| n.is_after(v.success, true))
                                .map(|n| format!("{name}: {}", n.text)),
                        );
                    }
                    Err(e) => errors.push(format!(
                        "failed to publish the verification result of {name} ({}): {e}",
                        v.pact.fetched.shown
                    )),
                }
            }
        }
        let mut case = if errors.is_empty() {
            Case::passed(PUBLISH_CASE).with_message(format!(
                "published {} verification result(s) for provider version {}",
                done.len(),
                self.provider_version
            ))
        } else {
            Case::errored(PUBLISH_CASE, errors.join("; "))
        };
        let mut detail = done;
        detail.extend(notices);
        if !detail.is_empty() {
            case.detail = Some(detail.join("\n"));
        }
        case.properties
            .insert("provider_version", self.provider_version.clone());
        if let Some(b) = &self.provider_branch {
            case.properties.insert("provider_branch", b.clone());
        }
        case.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        case
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelci_report::Outcome;

    fn brokered(pending: bool, wip: bool) -> BrokerPact {
        let text = r#"{"consumer": {"name": "web"}, "provider": {"name": "api"},
            "interactions": [{"description": "a", "request": {"method": "GET", "path": "/"},
            "response": {"status": 200}}]}"#;
        let pact = modelci_pact::pact::parse(text, "http://b/pacts/1").expect("pact");
        BrokerPact {
            loaded: LoadedPact::remote(pact),
            fetched: FetchedPact {
                reference: modelci_broker::PactRef {
                    href: "http://b/pacts/1".into(),
                    name: None,
                    description: "latest from feat/x".into(),
                    pending,
                    wip,
                    notices: vec![Notice {
                        when: Some("before_verification".into()),
                        text: "selected".into(),
                    }],
                },
                url: "http://b/pacts/1".parse().expect("url"),
                shown: "http://b/pacts/1".into(),
                body: Value::Null,
            },
        }
    }

    #[test]
    fn a_pending_pacts_failures_and_errors_become_skips_that_say_so() {
        let failed = Case::new("web: a", Outcome::Failed).with_message("status: expected 200");
        let case = pending_case(failed, &brokered(true, false));
        assert_eq!(case.outcome, Outcome::Skipped);
        assert_eq!(
            case.message.as_deref(),
            Some("pending: does not fail the build (pending pact, failed): status: expected 200")
        );
        assert_eq!(
            case.properties.get("pending_outcome").map(String::as_str),
            Some("failed")
        );
        let errored = Case::errored("web: a", "connection refused");
        let case = pending_case(errored, &brokered(true, true));
        assert_eq!(case.outcome, Outcome::Skipped);
        assert!(
            case.message.as_deref().is_some_and(|m| m
                .starts_with("pending: does not fail the build (work-in-progress pact, errored)")),
            "{:?}",
            case.message
        );
        assert_eq!(case.properties.get("wip").map(String::as_str), Some("true"));
        let passed = pending_case(Case::passed("web: a"), &brokered(true, false));
        assert_eq!(passed.outcome, Outcome::Passed);
        assert_eq!(brokered(true, false).notices_before().len(), 1);
    }

    #[test]
    fn test_results_name_each_interaction() {
        assert_eq!(
            test_result("a request", Some("k1"), false),
            json!({"interactionDescription": "a request", "interactionId": "k1", "success": false})
        );
        assert_eq!(
            test_result("b", None, true),
            json!({"interactionDescription": "b", "success": true})
        );
    }
}
