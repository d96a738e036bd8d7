//! The Pact Broker commands' flags: `contract publish`, `can-i-deploy`, `record-deployment`,
//! `record-release`.

use std::path::PathBuf;

use clap::Args;

/// Where the Pact Broker is and how to log in; each flag falls back on its environment variable.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// The Pact Broker's base URL (default: PACT_BROKER_BASE_URL).
    #[arg(long, value_name = "URL")]
    pub broker_url: Option<String>,
    /// A bearer token for the broker (default: PACT_BROKER_TOKEN). Never printed.
    #[arg(long, value_name = "TOKEN")]
    pub broker_token: Option<String>,
    /// A user name for basic authentication (default: PACT_BROKER_USERNAME).
    #[arg(long, value_name = "NAME")]
    pub broker_username: Option<String>,
    /// The password for basic authentication (default: PACT_BROKER_PASSWORD). Never printed.
    #[arg(long, value_name = "PASSWORD")]
    pub broker_password: Option<String>,
    /// Seconds each request to the broker may take, connect to last byte.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub broker_timeout: f64,
    /// Tries after the first when the broker cannot be reached, times out or answers 408, 429
    /// or 5xx (exponential backoff with jitter; a POST only when it cannot have reached the
    /// broker).
    #[arg(long, value_name = "N", default_value_t = modelci_broker::DEFAULT_RETRIES)]
    pub broker_retries: u32,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Pact files, or folders of pact files (every *.json in them).
    #[arg(value_name = "PACTS", required = true)]
    pub pacts: Vec<PathBuf>,
    /// The consumer version the pacts belong to (e.g. the git commit).
    #[arg(long, value_name = "VERSION")]
    pub consumer_app_version: String,
    /// The consumer version's git branch.
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// A tag for the consumer version (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// The URL of the CI build that made the pacts.
    #[arg(long, value_name = "URL")]
    pub build_url: Option<String>,
    /// Add the interactions to a pact already published for this version instead of replacing
    /// it (`onConflict: merge`).
    #[arg(long)]
    pub merge: bool,
    /// Write the result (and the broker's answers) as JSON to this file (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub broker: BrokerArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Selectors: each --version, --latest, --all or --branch applies to the --pacticipant \
                  (or --ignore) before it: `--pacticipant Foo --version 1.2.3 --pacticipant Bar \
                  --latest prod`. A --pacticipant alone selects all its versions.\n\
                  Exit codes: 0 deployable (or --dry-run), 1 not deployable, 2 could not tell \
                  (the broker unreachable or refusing the question, or the answer still unknown \
                  after the retries)."
)]
pub struct CanIDeployArgs {
    /// An application in the question (repeatable).
    #[arg(long, value_name = "NAME", required = true)]
    pub pacticipant: Vec<String>,
    /// The version of the --pacticipant before it.
    #[arg(long, value_name = "VERSION")]
    pub version: Vec<String>,
    /// The latest version of the --pacticipant before it; with TAG, its latest version with
    /// that tag.
    #[arg(long, value_name = "TAG", num_args = 0..=1, default_missing_value = "")]
    pub latest: Vec<String>,
    /// All versions with this tag of the --pacticipant before it.
    #[arg(long, value_name = "TAG")]
    pub all: Vec<String>,
    /// The versions of this branch of the --pacticipant before it (with --latest: its latest).
    #[arg(long, value_name = "BRANCH")]
    pub branch: Vec<String>,
    /// Leave this application's verification results out of the decision (repeatable; a
    /// --version after it names one version).
    #[arg(long, value_name = "NAME")]
    pub ignore: Vec<String>,
    /// Can the versions be deployed to this environment (with what is deployed there)?
    #[arg(long, value_name = "ENV", conflicts_with = "to")]
    pub to_environment: Option<String>,
    /// Can the versions be deployed with the latest versions tagged TAG?
    #[arg(long, value_name = "TAG")]
    pub to: Option<String>,
    /// Ask again up to N times while some rows have no verification result yet.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retry_while_unknown: u32,
    /// Seconds between those retries.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub retry_interval: f64,
    /// Print the question that would be asked and exit 0, without asking.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the answer as JSON to this file (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub broker: BrokerArgs,
}

#[derive(Debug, Args)]
pub struct RecordDeploymentArgs {
    /// The application that was deployed.
    #[arg(long, value_name = "NAME")]
    pub pacticipant: String,
    /// Its version.
    #[arg(long, value_name = "VERSION")]
    pub version: String,
    /// The environment it was deployed to (as named in the broker).
    #[arg(long, value_name = "ENV")]
    pub environment: String,
    /// The application instance, when several versions run side by side in the environment.
    #[arg(long, value_name = "INSTANCE")]
    pub application_instance: Option<String>,
    /// Write the result as JSON to this file (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub broker: BrokerArgs,
}

#[derive(Debug, Args)]
pub struct RecordReleaseArgs {
    /// The application that was released.
    #[arg(long, value_name = "NAME")]
    pub pacticipant: String,
    /// Its version.
    #[arg(long, value_name = "VERSION")]
    pub version: String,
    /// The environment it was released to (as named in the broker).
    #[arg(long, value_name = "ENV")]
    pub environment: String,
    /// Write the result as JSON to this file (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub broker: BrokerArgs,
}
