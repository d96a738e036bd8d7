//! The client's errors.

/// What went wrong talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The settings are unusable (no URL, a malformed URL, a token a header cannot hold).
    #[error("{0}")]
    Config(String),
    /// The broker could not be reached, or its answer could not be read.
    #[error("cannot reach the Pact Broker at {url}: {reason}")]
    Unreachable {
        /// The URL (credentials hidden).
        url: String,
        /// Why.
        reason: String,
    },
    /// The broker answered with an error status.
    #[error("the Pact Broker answered {status} to {method} {url}{}", render_messages(.messages))]
    Http {
        /// The request's method.
        method: String,
        /// The URL (credentials hidden).
        url: String,
        /// The status code.
        status: u16,
        /// The broker's own error messages, from the body.
        messages: Vec<String>,
    },
    /// The broker's answer is not what the API describes.
    #[error("unexpected answer from the Pact Broker to {url}: {reason}")]
    Invalid {
        /// The URL (credentials hidden).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A relation the operation needs is missing from a resource.
    #[error("the Pact Broker's resource {url} has no `{relation}` relation{}", render_hint(.hint))]
    MissingRelation {
        /// The resource (credentials hidden).
        url: String,
        /// The relation (`pb:publish-contracts`).
        relation: String,
        /// What that likely means.
        hint: Option<String>,
    },
    /// The named thing is not among the broker's options (an environment).
    #[error("{0}")]
    NotAvailable(String),
}

fn render_messages(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join("; "))
    }
}

fn render_hint(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}
