//! Recording deployments and releases, by HAL navigation as the Pact CLI does it: the index ->
//! `pb:environments` (the environment must exist) -> `pb:pacticipant-version` (templated) -> the
//! version's `pb:record-deployment` / `pb:record-release` link named after the environment.

use serde_json::{Value, json};

use crate::client::Broker;
use crate::error::BrokerError;
use crate::hal;
use crate::notice::{Notice, notices};

/// What to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A deployment (replaces the version deployed to the environment, or to the application
    /// instance when given).
    Deployment {
        /// The application instance (several deployed versions side by side).
        application_instance: Option<String>,
    },
    /// A release (several released versions side by side: mobile apps, libraries).
    Release,
}

impl Record {
    /// The version's relation (`pb:record-deployment`, `pb:record-release`).
    pub fn relation(&self) -> &'static str {
        match self {
            Record::Deployment { .. } => "pb:record-deployment",
            Record::Release => "pb:record-release",
        }
    }

    /// `deployment` or `release`.
    pub fn noun(&self) -> &'static str {
        match self {
            Record::Deployment { .. } => "deployment",
            Record::Release => "release",
        }
    }

    /// The request body: `applicationInstance` (and `target`, its former name, which older
    /// brokers read) for a deployment with an instance; `{}` otherwise.
    pub fn body(&self) -> Value {
        match self {
            Record::Deployment {
                application_instance: Some(instance),
            } => json!({"applicationInstance": instance, "target": instance}),
            _ => json!({}),
        }
    }
}

/// The broker's answer to a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// Where the record was posted (credentials hidden).
    pub url: String,
    /// What the broker says.
    pub notices: Vec<Notice>,
    /// The answer as the broker sent it (`null` when empty).
    pub raw: Value,
}

/// The environment names of a `pb:environments` resource: `_embedded.environments[].name`, and
/// the names of its `pb:environments` links.
pub fn environment_names(resource: &Value) -> Vec<String> {
    let mut names: Vec<String> = resource
        .pointer("/_embedded/environments")
        .and_then(Value::as_array)
        .map(|envs| {
            envs.iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for link in hal::links(resource, "pb:environments") {
        if let Some(name) = link.name
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

fn available(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Broker {
    /// Records a deployment or release of `pacticipant` `version` to `environment`.
    ///
    /// # Errors
    /// When the broker cannot be reached, lacks a relation, has no environment of that name
    /// ([`BrokerError::NotAvailable`], naming those it has), or does not offer the environment
    /// for this version.
    pub fn record(
        &self,
        pacticipant: &str,
        version: &str,
        environment: &str,
        what: &Record,
    ) -> Result<Recorded, BrokerError> {
        let base = self.base().clone();
        let index = self.index()?;
        let hint = |e: BrokerError| match e {
            BrokerError::MissingRelation { url, relation, .. } => BrokerError::MissingRelation {
                url,
                relation,
                hint: Some(
                    "recording deployments and releases needs Pact Broker 2.80 or later, or \
                     PactFlow"
                        .to_owned(),
                ),
            },
            other => other,
        };
        // The environment must exist.
        let environments_url = self
            .link(&index, &base, "pb:environments", &[])
            .map_err(hint)?;
        let environments = self.get(&environments_url)?;
        let names = environment_names(&environments);
        if !names.iter().any(|n| n == environment) {
            return Err(BrokerError::NotAvailable(format!(
                "the Pact Broker has no environment named `{environment}` (available: {})",
                available(&names)
            )));
        }
        // The version's link for the environment.
        let version_url = self
            .link(
                &index,
                &base,
                "pb:pacticipant-version",
                &[("pacticipant", pacticipant), ("version", version)],
            )
            .map_err(hint)?;
        let version_resource = self.get(&version_url)?;
        let links = hal::links(&version_resource, what.relation());
        let Some(link) = links
            .iter()
            .find(|l| l.name.as_deref() == Some(environment))
        else {
            let offered: Vec<String> = links.iter().filter_map(|l| l.name.clone()).collect();
            return Err(BrokerError::NotAvailable(format!(
                "environment `{environment}` is not an available option for recording a {} of \
                 {pacticipant} version {version} (available: {})",
                what.noun(),
                available(&offered)
            )));
        };
        let url = self.resolve(&link.href)?;
        let raw = self.post(&url, &what.body())?;
        Ok(Recorded {
            url: self.shown(&url),
            notices: notices(&raw),
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_pact_clis() {
        assert_eq!(
            Record::Deployment {
                application_instance: Some("blue".into())
            }
            .body(),
            json!({"applicationInstance": "blue", "target": "blue"})
        );
        assert_eq!(
            Record::Deployment {
                application_instance: None
            }
            .body(),
            json!({})
        );
        assert_eq!(Record::Release.body(), json!({}));
        assert_eq!(Record::Release.relation(), "pb:record-release");
    }

    #[test]
    fn environments_are_embedded_or_linked() {
        let listed = json!({"_embedded": {"environments": [{"name": "test"}, {"name": "prod"}]}});
        assert_eq!(environment_names(&listed), ["test", "prod"]);
        let linked = json!({"_links": {"pb:environments": [{"href": "h", "name": "test"}]}});
        assert_eq!(environment_names(&linked), ["test"]);
        assert!(environment_names(&json!({})).is_empty());
        assert_eq!(available(&[]), "none");
        assert_eq!(available(&["a".into(), "b".into()]), "`a`, `b`");
    }
}
