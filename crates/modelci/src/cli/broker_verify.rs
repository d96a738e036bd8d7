//! `contract verify`'s Pact Broker flags: which pacts to fetch, and publishing the results.

use clap::Args;

/// Verifying the pacts a Pact Broker holds for the provider (its pacts-for-verification API),
/// and publishing the results.
#[derive(Args, Default)]
#[command(next_help_heading = "Pact Broker")]
pub struct BrokerVerifyArgs {
    /// The Pact Broker (or PactFlow) to fetch the provider's pacts from; else
    /// PACT_BROKER_BASE_URL when --provider is given.
    #[arg(long, value_name = "URL")]
    pub broker_url: Option<String>,
    /// The broker's bearer token; else PACT_BROKER_TOKEN. Never printed.
    #[arg(long, value_name = "TOKEN")]
    pub broker_token: Option<String>,
    /// The broker's user name (basic authentication); else PACT_BROKER_USERNAME.
    #[arg(long, value_name = "NAME")]
    pub broker_username: Option<String>,
    /// The broker's password; else PACT_BROKER_PASSWORD. Never printed.
    #[arg(long, value_name = "PASSWORD")]
    pub broker_password: Option<String>,
    /// The provider's name in the broker (needed with a broker).
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// Which consumer versions' pacts to verify (repeatable): a JSON object as the broker
    /// documents it (`{"deployedOrReleased": true}`) or `key=value` pairs separated by commas
    /// (`mainBranch=true`, `consumer=web,branch=main`). Keys: mainBranch, branch,
    /// matchingBranch, fallbackBranch, deployed, released, deployedOrReleased, environment,
    /// latest, tag, fallbackTag, consumer. None leaves the choice to the broker.
    #[arg(long = "consumer-version-selector", value_name = "SELECTOR")]
    pub selectors: Vec<String>,
    /// Ask the broker which pacts are pending: their failures are shown but do not fail the
    /// run.
    #[arg(long)]
    pub enable_pending: bool,
    /// Also verify work-in-progress pacts created since this date (YYYY-MM-DD); they are
    /// pending, so this implies --enable-pending.
    #[arg(long, value_name = "DATE")]
    pub include_wip_pacts_since: Option<String>,
    /// The provider version being verified (needed with --publish).
    #[arg(long, value_name = "VERSION")]
    pub provider_version: Option<String>,
    /// The provider version's branch: sent to the broker and recorded with the results.
    #[arg(long, value_name = "BRANCH")]
    pub provider_branch: Option<String>,
    /// A tag of the provider version (repeatable; brokers before branches).
    #[arg(long = "provider-tag", value_name = "TAG")]
    pub provider_tags: Vec<String>,
    /// The CI build's URL, published with the results.
    #[arg(long, value_name = "URL")]
    pub build_url: Option<String>,
    /// Publish each broker pact's verification result to the broker (when the run is
    /// complete).
    #[arg(long)]
    pub publish: bool,
}

/// Credentials never show, not even in `Debug`.
impl std::fmt::Debug for BrokerVerifyArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("BrokerVerifyArgs")
            .field("broker_url", &self.broker_url)
            .field("broker_token", &hidden(&self.broker_token))
            .field("broker_username", &self.broker_username)
            .field("broker_password", &hidden(&self.broker_password))
            .field("provider", &self.provider)
            .field("selectors", &self.selectors)
            .field("enable_pending", &self.enable_pending)
            .field("include_wip_pacts_since", &self.include_wip_pacts_since)
            .field("provider_version", &self.provider_version)
            .field("provider_branch", &self.provider_branch)
            .field("provider_tags", &self.provider_tags)
            .field("build_url", &self.build_url)
            .field("publish", &self.publish)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_hidden_from_debug() {
        let args = BrokerVerifyArgs {
            broker_token: Some("tok-123456".into()),
            broker_password: Some("pw-123456".into()),
            ..BrokerVerifyArgs::default()
        };
        let shown = format!("{args:?}");
        assert!(
            !shown.contains("tok-123456") && !shown.contains("pw-123456"),
            "{shown}"
        );
    }
}
