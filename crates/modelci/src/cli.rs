//! Command-line definitions (clap derive). Exit codes for every command: 0 all passed, 1 at
//! least one case failed, 2 modelci could not evaluate (bad usage, bad config, unreadable input,
//! unreachable dependency).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod broker_verify;
pub use broker_verify::BrokerVerifyArgs;
mod broker;
pub use broker::{
    BrokerArgs, CanIDeployArgs, PublishArgs, RecordDeploymentArgs, RecordReleaseArgs,
};

/// The CI/CD gate for AI services: contract tests, model suites and metric thresholds, with
/// reports CI understands.
#[derive(Debug, Parser)]
#[command(
    name = "modelci",
    version,
    about,
    after_help = "Exit codes: 0 all cases passed, 1 at least one case failed, \
                  2 modelci could not evaluate (bad usage, bad config, unreadable input, \
                  unreachable dependency)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour: auto (only on a terminal; NO_COLOR turns it off, CLICOLOR_FORCE on), always or
    /// never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only the verdict line and errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: every case (passed ones too) with its time, and a line per finished case.
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

/// When terminal output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Only when the output is a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it).
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every suite that the configuration declares and report the results.
    Check(CheckArgs),
    /// Write a starting modelci.toml from the contracts, models and datasets found in a folder.
    Init(InitArgs),
    /// Contract checks: Pact verification and stub server, OpenAPI conformance, breaking changes.
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Models: inspect an ONNX model's signature, run golden and expectation suites, record
    /// golden cases.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Judge a candidate model against accuracy, fairness and latency thresholds (a local file
    /// and the MLflow registry), with a baseline on the same rows; optionally record the result
    /// and promote the candidate.
    Gate(Box<GateArgs>),
    /// Load-test an HTTP endpoint at a target rate (open model: latency from each request's
    /// intended start) or with virtual users, judged by k6-style thresholds.
    Load(Box<LoadArgs>),
    /// Work with report files.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Print the JSON Schema of the configuration file or of the JSON report.
    Schema(SchemaArgs),
    /// Report what modelci finds in this environment.
    Doctor(DoctorArgs),
    /// Write a man page for every command into a folder (for packagers: `modelci man
    /// /usr/local/share/man/man1`).
    Man(ManArgs),
    /// Print a shell completion script to stdout.
    Completions(CompletionsArgs),
    /// Fault injection: a TCP fault proxy driven by Toxiproxy's HTTP API.
    #[command(subcommand)]
    Chaos(ChaosCommand),
    /// Canary analysis: judge a canary against its baseline and answer promote or roll back.
    #[command(subcommand)]
    Canary(CanaryCommand),
}

#[derive(Debug, Subcommand)]
pub enum CanaryCommand {
    /// Judge a canary against its baseline over the same window, as Kayenta does: the metrics of
    /// a `[[suite.canary]]` table from Prometheus or from files; per metric a Mann-Whitney U test
    /// and a Hodges-Lehmann shift with its interval against a tolerance and a direction; groups
    /// with weights into a 0-100 score; the verdict Pass, Marginal, Fail or Inconclusive. Exit 0
    /// on Pass, 1 on Fail or Marginal, 2 on Inconclusive.
    Judge(Box<CanaryJudgeArgs>),
    /// Serve the judge over HTTP for Argo Rollouts' `web` metric provider (`GET /judge`) and
    /// Flagger's webhooks (`POST /flagger`): each request judges a canary suite of the
    /// configuration with its window ending then. Runs until SIGINT or SIGTERM.
    Serve(CanaryServeArgs),
    /// Shadow comparison: send the same requests (golden cases, dataset rows, recorded traffic
    /// or one request) to the baseline and the canary at once and judge the canary by
    /// prediction agreement, output drift (population stability index), latency and errors,
    /// with the same score and verdict as `judge`. With --baseline and --canary the flags
    /// describe it; without, a `[[suite.shadow]]` of the configuration does.
    Shadow(Box<CanaryShadowArgs>),
}

#[derive(Debug, Args)]
pub struct CanaryShadowArgs {
    /// The baseline's base URL (the model in production).
    #[arg(long, value_name = "URL", requires = "canary")]
    pub baseline: Option<String>,
    /// The canary's base URL (the candidate).
    #[arg(long, value_name = "URL", requires = "baseline")]
    pub canary: Option<String>,
    /// The configuration file whose `[[suite.shadow]]` to run (without --baseline/--canary).
    #[arg(long, short, value_name = "PATH", conflicts_with = "baseline")]
    pub config: Option<PathBuf>,
    /// The `[[suite.shadow]]` to run by its name (needed when there are several).
    #[arg(long, value_name = "NAME", conflicts_with = "baseline")]
    pub suite: Option<String>,
    /// Set or replace a configuration key (repeatable), as `modelci check --set`.
    #[arg(long = "set", value_name = "KEY=VALUE", conflicts_with = "baseline")]
    pub set: Vec<String>,
    /// An Open Inference Protocol v2 model both sides serve: the inputs of --cases, or the rows
    /// of --dataset, make the requests to /v2/models/NAME/infer.
    #[arg(long, value_name = "NAME", requires = "baseline")]
    pub model_name: Option<String>,
    /// Golden cases (JSON files) whose inputs make the requests (with --model-name).
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "model_name")]
    pub cases: Vec<PathBuf>,
    /// A dataset (CSV or Parquet) whose rows make the requests (with --model-name).
    #[arg(
        long,
        value_name = "FILE",
        requires = "model_name",
        conflicts_with = "cases"
    )]
    pub dataset: Option<PathBuf>,
    /// The dataset's feature columns, in the model's order (comma-separated or repeated).
    #[arg(
        long,
        value_name = "COLUMN",
        value_delimiter = ',',
        requires = "dataset"
    )]
    pub features: Vec<String>,
    /// The input the features go to.
    #[arg(long, value_name = "NAME", requires = "dataset")]
    pub input: Option<String>,
    /// Dataset rows per request.
    #[arg(long, value_name = "N", requires = "dataset")]
    pub rows_per_request: Option<usize>,
    /// Recorded traffic: a JSON Lines file of requests (`path`, `method`, `headers`, `body`).
    #[arg(long, value_name = "FILE", requires = "baseline")]
    pub requests: Option<PathBuf>,
    /// The method of a single request (default GET, or POST with a body).
    #[arg(long, short = 'X', value_name = "METHOD", requires = "baseline")]
    pub method: Option<String>,
    /// A single request's body; `@FILE` reads it from a file.
    #[arg(long, short = 'd', value_name = "TEXT|@FILE", requires = "baseline")]
    pub body: Option<String>,
    /// An extra header for every request, `Name: value` (repeatable). Values are never printed.
    #[arg(long, short = 'H', value_name = "NAME: VALUE", requires = "baseline")]
    pub header: Vec<String>,
    /// Pairs of requests measured (default: 100, or one per request when there are more).
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// Pairs sent first and not measured (default 5).
    #[arg(long, value_name = "N")]
    pub warmup: Option<usize>,
    /// Pairs in flight at once (default 4).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Seconds each request may take (default 30).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// An output to compare (repeatable; default: every output).
    #[arg(long = "output", value_name = "NAME")]
    pub outputs: Vec<String>,
    /// Relative tolerance of single float values (default 0.01).
    #[arg(long, value_name = "X")]
    pub rtol: Option<f64>,
    /// Absolute tolerance of single float values (default 1e-6).
    #[arg(long, value_name = "X")]
    pub atol: Option<f64>,
    /// The share of rows whose predictions must agree (default 0.99).
    #[arg(long, value_name = "SHARE")]
    pub min_agreement: Option<f64>,
    /// The largest population stability index of the scores (default 0.1).
    #[arg(long, value_name = "X")]
    pub max_psi: Option<f64>,
    /// Bins of the stability index (default 10).
    #[arg(long, value_name = "N")]
    pub psi_bins: Option<usize>,
    /// Latency shift tolerated, relative to the baseline's median (default 0.1).
    #[arg(long, value_name = "X")]
    pub latency_tolerance: Option<f64>,
    /// Latency shift tolerated in milliseconds, added to --latency-tolerance (default 1).
    #[arg(long, value_name = "MS")]
    pub latency_tolerance_ms: Option<f64>,
    /// Error-rate rise tolerated (default 0).
    #[arg(long, value_name = "SHARE")]
    pub max_error_increase: Option<f64>,
    /// The metrics that fail the judgement alone (comma-separated or repeated, of latency,
    /// errors, agreement, drift; default errors,agreement).
    #[arg(long, value_name = "METRIC", value_delimiter = ',')]
    pub critical: Option<Vec<String>>,
    /// The confidence of the tests (default 0.95).
    #[arg(long, value_name = "X")]
    pub confidence: Option<f64>,
    /// The score from which the verdict is Pass (default 95).
    #[arg(long, value_name = "SCORE")]
    pub pass_score: Option<f64>,
    /// The score from which the verdict is Marginal (default 75).
    #[arg(long, value_name = "SCORE")]
    pub marginal_score: Option<f64>,
    /// A Marginal verdict passes the run.
    #[arg(long)]
    pub marginal_passes: bool,
    /// Samples needed on each side to judge a metric (default 10).
    #[arg(long, value_name = "N")]
    pub min_samples: Option<usize>,
    #[command(flatten)]
    pub reports: ReportArgs,
}

#[derive(Debug, Args)]
pub struct CanaryServeArgs {
    /// The configuration file (default: modelci.toml in this folder or the nearest parent).
    #[arg(long, short, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Set or replace a configuration key (repeatable), as `modelci check --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Serve only this canary suite (repeatable; default: every one).
    #[arg(long, value_name = "NAME")]
    pub suite: Vec<String>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The port; 0 picks a free one (read it from the first line printed).
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct CanaryJudgeArgs {
    /// The configuration file (default: modelci.toml in this folder or the nearest parent).
    #[arg(long, short, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The `[[suite.canary]]` to judge by its name (needed when there are several).
    #[arg(long, value_name = "NAME")]
    pub suite: Option<String>,
    /// Set or replace a configuration key (repeatable), as `modelci check --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The baseline's samples from this file (CSV or JSON) instead of the configured source.
    #[arg(long, value_name = "FILE", requires = "canary_file")]
    pub baseline_file: Option<PathBuf>,
    /// The canary's samples from this file (with --baseline-file).
    #[arg(long, value_name = "FILE", requires = "baseline_file")]
    pub canary_file: Option<PathBuf>,
    /// The Prometheus server to query instead of the configured one.
    #[arg(long, value_name = "URL", conflicts_with = "baseline_file")]
    pub prometheus: Option<String>,
    /// The analysis window's length (`10m`, `1h`), ending at --end.
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// When the window ends: RFC 3339 or Unix seconds (default: now).
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// The range queries' step (`15s`).
    #[arg(long, value_name = "DURATION")]
    pub step: Option<String>,
    /// A placeholder value of the baseline's scope, `KEY=VALUE` (repeatable; replaces the
    /// configured one).
    #[arg(long = "baseline", value_name = "KEY=VALUE")]
    pub baseline: Vec<String>,
    /// A placeholder value of the canary's scope, `KEY=VALUE` (repeatable).
    #[arg(long = "canary", value_name = "KEY=VALUE")]
    pub canary: Vec<String>,
    /// A/A mode: judge the baseline against itself (two interleaved halves of its samples) and
    /// report each metric's noise floor and the samples a change of its tolerance needs.
    #[arg(long)]
    pub aa: bool,
    #[command(flatten)]
    pub reports: ReportArgs,
}

#[derive(Debug, Subcommand)]
pub enum ChaosCommand {
    /// Run a fault proxy between a service and a dependency: Toxiproxy's toxics (latency and
    /// jitter, bandwidth, slicer, timeout/blackhole, reset_peer, limit_data, slow_close) and its
    /// HTTP API, so Toxiproxy's clients and scripts drive it. Runs until SIGINT or SIGTERM.
    Proxy(ChaosProxyArgs),
}

#[derive(Debug, Args)]
pub struct ChaosProxyArgs {
    /// The address the API listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The API's port (Toxiproxy's is 8474); 0 picks a free one (read it from the first line).
    #[arg(long, default_value_t = 8474)]
    pub port: u16,
    /// Proxies to create at start: Toxiproxy's config file, a JSON list of
    /// `{"name", "listen", "upstream", "enabled"}`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The configuration file (default: modelci.toml in this folder or the nearest parent,
    /// up to the git repository's root).
    #[arg(long, short, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Set or replace a configuration key (repeatable): `suite.NAME.KEY=VALUE` for a suite's,
    /// `service.url=...`, `report.json=...`; VALUE is read as TOML when it is (10, true,
    /// ["a"]), else as a string.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Run only the suite with this name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Write a JUnit XML report here (overrides `[report] junit`).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report here (overrides `[report] json`).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Run only the K-th of N stable, disjoint slices of the cases (e.g. 2/4).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Cases run in parallel (default: the number of CPUs).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to scan (the repository).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Where to write the configuration (default: DIR/modelci.toml); `-` prints it.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Replace the file when it exists.
    #[arg(long)]
    pub force: bool,
    /// Print the configuration instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The registered model's name in MLflow (for `version:`/`alias:` references, registry
    /// thresholds, --record and --promote-alias).
    #[arg(long, value_name = "NAME")]
    pub model_name: Option<String>,
    /// The candidate: version:N, alias:NAME or a path to an .onnx file.
    #[arg(long, value_name = "REF")]
    pub candidate: String,
    /// The baseline to compare with (e.g. alias:champion), in the same forms.
    #[arg(long, value_name = "REF")]
    pub baseline: Option<String>,
    /// The evaluation data: .csv, .jsonl or .parquet.
    #[arg(long, value_name = "PATH")]
    pub dataset: PathBuf,
    /// The column with the true label (or target).
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// A sensitive-attribute column for fairness (repeatable; intersections are judged too).
    #[arg(long, value_name = "COL")]
    pub sensitive: Vec<String>,
    /// Feature columns in the model's input order (repeatable; default: every numeric column
    /// that is not the label, a prediction, probability or sensitive column).
    #[arg(long = "feature", value_name = "COL")]
    pub features: Vec<String>,
    /// For a model with several named inputs: an input and its feature columns, in order
    /// (repeatable, one per input: `--input age=age --input money=income,debt`); instead of
    /// --feature.
    #[arg(long = "input", value_name = "NAME=COL[,COL...]")]
    pub inputs: Vec<String>,
    /// A column with the candidate's predictions computed elsewhere (the model is not run).
    #[arg(long, value_name = "COL")]
    pub prediction: Option<String>,
    /// A column with the baseline's predictions computed elsewhere.
    #[arg(long, value_name = "COL")]
    pub baseline_prediction: Option<String>,
    /// The candidate's class probabilities computed elsewhere: one list column, or one column
    /// per class (repeatable).
    #[arg(long = "probabilities", value_name = "COL")]
    pub probabilities: Vec<String>,
    /// classifier or regressor.
    #[arg(long, value_name = "TASK", default_value = "classifier")]
    pub task: String,
    /// Multiclass averaging: micro, macro or weighted.
    #[arg(long, value_name = "AVG", default_value = "weighted")]
    pub average: String,
    /// The positive class (default: the larger of the classes).
    #[arg(long, value_name = "CLASS")]
    pub pos_label: Option<String>,
    /// Groups smaller than this are reported but not judged.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub min_group_size: usize,
    /// The model output holding labels.
    #[arg(long, value_name = "NAME")]
    pub label_output: Option<String>,
    /// The model output holding class probabilities.
    #[arg(long, value_name = "NAME")]
    pub probabilities_output: Option<String>,
    /// Send the candidate's features to a live Open Inference Protocol endpoint (base URL).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The model's name on --endpoint (default: --model-name).
    #[arg(long, value_name = "NAME")]
    pub endpoint_model: Option<String>,
    /// The local thresholds file (JSON or TOML); registry tags override it.
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// The MLflow tracking server (default: MLFLOW_TRACKING_URI).
    #[arg(long, value_name = "URI")]
    pub tracking_uri: Option<String>,
    /// Seconds each request to MLflow or the endpoint may take, connect to last byte (default:
    /// MLFLOW_HTTP_REQUEST_TIMEOUT for MLflow, else 30).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Seconds all MLflow requests may take together, retries included.
    #[arg(long, value_name = "SECS")]
    pub budget: Option<f64>,
    /// Where local models run: cpu, cuda or auto.
    #[arg(long, value_name = "DEVICE", default_value = "cpu")]
    pub device: String,
    /// Bootstrap resamples for intervals and paired comparisons.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub resamples: usize,
    /// Seed of the bootstraps.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Time the model at these batch sizes (comma-separated, e.g. 1,32): latency_p50_ms,
    /// latency_p95_ms, latency_p99_ms, throughput_per_s.
    #[arg(long, value_name = "SIZES", value_delimiter = ',')]
    pub latency_batch_sizes: Vec<usize>,
    /// Timed inferences per batch size.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub latency_iterations: usize,
    /// Untimed inferences first.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub latency_warmup: usize,
    /// Print each resolved threshold and where it came from.
    #[arg(long)]
    pub explain: bool,
    /// Log the candidate's metrics to an MLflow run and tag the version with the verdict.
    #[arg(long)]
    pub record: bool,
    /// Move this alias (e.g. canary) to the candidate when the gate passes.
    #[arg(long, value_name = "NAME")]
    pub promote_alias: Option<String>,
    /// The ONNX Runtime library to load.
    #[arg(long, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,
    #[command(flatten)]
    pub reports: ReportArgs,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The URL to load (with --requests: the base their paths join; with --model-name: the
    /// inference server's base URL).
    #[arg(long, visible_alias = "endpoint", value_name = "URL")]
    pub url: String,
    /// An Open Inference Protocol v2 model: each golden case of --cases becomes an inference
    /// request to /v2/models/NAME/infer.
    #[arg(long, value_name = "NAME")]
    pub model_name: Option<String>,
    /// Golden cases (JSON files) whose inputs make the inference requests (with --model-name).
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "model_name")]
    pub cases: Vec<PathBuf>,
    /// Instead of --cases: a dataset (.csv, .jsonl, .parquet) whose rows make the inference
    /// requests (with --model-name and --features).
    #[arg(
        long,
        value_name = "FILE",
        requires = "model_name",
        conflicts_with = "cases"
    )]
    pub dataset: Option<PathBuf>,
    /// The dataset's feature columns, in the model input's order (comma-separated or repeated).
    #[arg(
        long,
        value_name = "COLUMN",
        value_delimiter = ',',
        requires = "dataset"
    )]
    pub features: Vec<String>,
    /// The model input the features go to.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "input",
        requires = "dataset"
    )]
    pub input: String,
    /// Dataset rows per inference request.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "dataset")]
    pub rows_per_request: usize,
    /// The method (default GET, or POST with a body).
    #[arg(long, short = 'X', value_name = "METHOD")]
    pub method: Option<String>,
    /// The request body; `@FILE` reads it from a file.
    #[arg(long, short = 'd', value_name = "TEXT|@FILE")]
    pub body: Option<String>,
    /// An extra header for every request, `Name: value` (repeatable). Values are never printed.
    #[arg(long, short = 'H', value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// A JSON Lines file of requests sent in proportion to their `weight` (see the docs).
    #[arg(long, value_name = "FILE")]
    pub requests: Option<PathBuf>,
    /// Requests per second (open model), with --duration.
    #[arg(long, value_name = "RPS", conflicts_with_all = ["stage", "vus"])]
    pub rate: Option<f64>,
    /// How long the measured part lasts: `30s`, `2m`, `1m30s`, or seconds.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// A ramping stage `DURATION:RPS` (repeatable): the rate goes linearly to RPS over DURATION,
    /// from the previous stage's (the first from --start-rate).
    #[arg(long, value_name = "DURATION:RPS", conflicts_with = "vus")]
    pub stage: Vec<String>,
    /// The rate the first stage ramps from.
    #[arg(long, value_name = "RPS", default_value_t = 0.0)]
    pub start_rate: f64,
    /// Arrivals: evenly spaced, or a Poisson process of the rate.
    #[arg(long, value_enum, default_value_t = ArrivalsArg::Uniform)]
    pub arrivals: ArrivalsArg,
    /// Closed model instead: this many virtual users, each sending when its last answer came.
    #[arg(long, value_name = "N")]
    pub vus: Option<usize>,
    /// Unmeasured time first, at the first rate.
    #[arg(long, value_name = "DURATION")]
    pub warmup: Option<String>,
    /// Seconds each request may take.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Requests in flight at most; a request due when all are busy is dropped (counted).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_in_flight: usize,
    /// A threshold (repeatable): `p(95)<200ms`, `avg<50ms`, `error_rate<1%`, `dropped<1%`,
    /// `rps>=500`. Each is a case in the reports.
    #[arg(long, short = 't', value_name = "EXPR")]
    pub threshold: Vec<String>,
    /// Stop as soon as a threshold is already lost (error counts and rates, dropped, max).
    #[arg(long)]
    pub abort_on_fail: bool,
    /// The seed of the request mix and of Poisson arrivals.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Write the latency distribution as CSV (percentile, latency_ms, count).
    #[arg(long, value_name = "PATH")]
    pub histogram_csv: Option<PathBuf>,
    /// Write a latency-percentile plot (SVG): latency from the intended start and from the send.
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    /// Find the highest rate that holds the --slo: start at --rate, double while it holds, then
    /// bisect; each try lasts --duration. Thresholds are judged at the rate found.
    #[arg(long, requires = "slo")]
    pub find_max: bool,
    /// The SLO each rate must hold with --find-max (repeatable): `p(99)<300ms`, `error_rate<1%`.
    #[arg(long, value_name = "EXPR", requires = "find_max")]
    pub slo: Vec<String>,
    /// The highest rate --find-max tries.
    #[arg(long, value_name = "RPS", requires = "find_max")]
    pub max_rate: Option<f64>,
    /// --find-max stops when the rates that held and did not are this close (a fraction).
    #[arg(long, value_name = "FRACTION", requires = "find_max")]
    pub precision: Option<f64>,
    /// --find-max runs at most this many tries.
    #[arg(long, value_name = "N", requires = "find_max")]
    pub max_steps: Option<usize>,
    #[command(flatten)]
    pub reports: ReportArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArrivalsArg {
    Uniform,
    Poisson,
}

/// `--junit PATH` and `--json PATH`, shared by the commands that produce a run.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Replay the interactions of pact files against a running provider.
    Verify(VerifyArgs),
    /// Serve the interactions of pact files as a stub provider.
    Mock(MockArgs),
    /// Test a running service against its OpenAPI document.
    Test(TestArgs),
    /// Check recorded request/response pairs (HAR or JSON Lines) against an OpenAPI document.
    Validate(ValidateArgs),
    /// Find breaking changes between two versions of an OpenAPI document or JSON Schema.
    Diff(DiffArgs),
    /// Publish pact files to a Pact Broker.
    Publish(PublishArgs),
    /// Ask a Pact Broker whether application versions can be deployed together (the matrix).
    CanIDeploy(CanIDeployArgs),
    /// Tell a Pact Broker that an application version was deployed to an environment.
    RecordDeployment(RecordDeploymentArgs),
    /// Tell a Pact Broker that an application version was released to an environment.
    RecordRelease(RecordReleaseArgs),
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// OLD and NEW versions; with --base-ref, only NEW (OLD is read from git).
    #[arg(value_name = "OLD NEW", required = true, num_args = 1..=2)]
    pub files: Vec<PathBuf>,
    /// Read OLD from git at this revision (e.g. origin/main), for the same path as NEW.
    #[arg(long, value_name = "GIT_REF")]
    pub base_ref: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, default_value_t = FailOn::Breaking)]
    pub fail_on: FailOn,
    /// For bare JSON Schemas: which direction matters (a request may only widen, a response may
    /// only narrow). Default: both.
    #[arg(long, value_enum, default_value_t = DiffRole::Both)]
    pub role: DiffRole,
    /// Write the output to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Fetch `$ref`s to http(s):// documents (never fetched otherwise).
    #[arg(long)]
    pub allow_remote_refs: bool,
    /// Seconds each remote `$ref` fetch may take (with --allow-remote-refs).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// An ignore file of intentional changes (TOML `[[ignore]]` entries with an id and/or an
    /// operation, a reason, an optional `until` date); repeatable. Ignored findings are still
    /// listed but never fail.
    #[arg(long, value_name = "FILE")]
    pub ignore: Vec<PathBuf>,
    /// Also list the schema changes that break no one (implied by --format changelog).
    #[arg(long)]
    pub all_changes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    Markdown,
    Junit,
    /// Every change, grouped by operation, in Markdown: release notes.
    Changelog,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOn {
    Breaking,
    Warning,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DiffRole {
    Request,
    Response,
    Both,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The OpenAPI document (3.0 or 3.1, YAML or JSON).
    #[arg(long, value_name = "PATH")]
    pub openapi: PathBuf,
    /// Fetch `$ref`s to http(s):// documents (never fetched otherwise).
    #[arg(long)]
    pub allow_remote_refs: bool,
    /// Base URL of the running service.
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// An extra header for every request, `Name: value` (repeatable). Values are never printed.
    #[arg(long, value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// Only this operation: an operationId or `METHOD /path` (repeatable).
    #[arg(long, value_name = "ID_OR_METHOD_PATH")]
    pub operation: Vec<String>,
    /// Generated valid requests per operation (the document's examples come on top).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_cases: usize,
    /// Seed of the generated requests (the same seed sends the same requests).
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Seconds to wait for each request.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Distinct failures reported per operation and check.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_failures: usize,
    /// Seconds an answer may take: slower ones fail the `response time` check.
    #[arg(long, value_name = "SECS")]
    pub max_response_time: Option<f64>,
    /// Do not send invalid requests (negative testing).
    #[arg(long)]
    pub no_negative: bool,
    /// Do not follow the document's links (stateful requests).
    #[arg(long)]
    pub no_stateful: bool,
    /// Do not shrink failing generated requests.
    #[arg(long)]
    pub no_shrink: bool,
    /// Pass when there is nothing to check (an OpenAPI document with no operation selected) instead of exiting 2.
    #[arg(long)]
    pub allow_empty: bool,
    #[command(flatten)]
    pub reports: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The OpenAPI document (3.0 or 3.1, YAML or JSON).
    #[arg(long, value_name = "PATH")]
    pub openapi: PathBuf,
    /// Fetch `$ref`s to http(s):// documents (never fetched otherwise).
    #[arg(long)]
    pub allow_remote_refs: bool,
    /// Seconds each remote `$ref` fetch may take (with --allow-remote-refs).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Recorded traffic: a HAR file or JSON Lines of exchanges (repeatable).
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    pub recorded: Vec<PathBuf>,
    #[command(flatten)]
    pub reports: ReportArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A pact file, a folder of pact files, or an http(s) URL (repeatable; optional with
    /// --broker-url or --provider).
    #[arg(long, value_name = "PATH_OR_URL", required_unless_present_any = ["broker_url", "provider"], num_args = 1..)]
    pub pact: Vec<String>,
    /// Base URL of the provider under test.
    #[arg(long, value_name = "URL")]
    pub provider_url: String,
    /// Where to POST provider states ({"state", "params", "action": "setup"}).
    #[arg(long, value_name = "URL")]
    pub state_change_url: Option<String>,
    /// Also POST `"action": "teardown"` after each interaction with provider states.
    #[arg(long)]
    pub state_change_teardown: bool,
    /// Only interactions whose description matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub filter_description: Option<String>,
    /// Only interactions with a provider state matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub filter_state: Option<String>,
    /// An extra header for every request, `Name: value` (repeatable). Values are never printed.
    #[arg(long, value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// Seconds to wait for each request.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Interactions without provider states verified at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Pass when there is nothing to check (no interactions, or filters that select none) instead of exiting 2.
    #[arg(long)]
    pub allow_empty: bool,
    #[command(flatten)]
    pub broker: Box<BrokerVerifyArgs>,
    #[command(flatten)]
    pub reports: ReportArgs,
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// A pact file or a folder of pact files (repeatable).
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub pact: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Show an ONNX model's inputs, outputs, opsets, producer, size and sha256.
    Inspect(InspectArgs),
    /// Run golden cases on an ONNX model and compare its outputs.
    Test(ModelTestArgs),
    /// Run a trusted model on golden inputs and save its outputs as golden cases (JSON).
    Record(ModelRecordArgs),
}

#[derive(Debug, Args)]
pub struct ModelRecordArgs {
    /// The trusted `.onnx` model whose outputs become the expected ones.
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Inputs: a folder of test_data_set_N folders, a .json file or a .npz archive (repeatable;
    /// any outputs they hold are replaced).
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// The JSON golden file to write (replaced atomically; nothing is written on an error).
    /// When it exists and the answers changed, the differences are shown and the file is only
    /// replaced with --accept.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing golden file whose cases changed.
    #[arg(long)]
    pub accept: bool,
    /// Where the model runs: cpu, cuda, or auto (cuda when available).
    #[arg(long, value_name = "DEVICE", default_value = "cpu")]
    pub device: String,
    /// On CUDA, let float32 matrix products and convolutions use TF32 (faster, about 1e-3 off
    /// float32; off by default).
    #[arg(long)]
    pub tf32: bool,
    /// On CUDA, cuDNN's convolution algorithm search: exhaustive (ONNX Runtime's default),
    /// heuristic or default.
    #[arg(long, value_name = "SEARCH", default_value = "exhaustive")]
    pub cudnn_conv_algo_search: String,
    /// The ONNX Runtime library to load (else ORT_DYLIB_PATH, the onnxruntime Python package,
    /// the system folders).
    #[arg(long, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(true).args(["model", "endpoint"]))]
pub struct ModelTestArgs {
    /// The `.onnx` model. With --endpoint, the signature the endpoint's metadata must match.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Run the cases on a live model server speaking the Open Inference Protocol (KServe v2
    /// REST) at this base URL, e.g. http://127.0.0.1:8000.
    #[arg(long, value_name = "URL", requires = "model_name")]
    pub endpoint: Option<String>,
    /// The model's name on the endpoint.
    #[arg(long, value_name = "NAME")]
    pub model_name: Option<String>,
    /// The model's version on the endpoint.
    #[arg(long, value_name = "VERSION")]
    pub model_version: Option<String>,
    /// Seconds each endpoint request may take.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Golden cases: a folder of test_data_set_N folders, a .json file or a .npz archive
    /// (repeatable).
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub cases: Vec<PathBuf>,
    /// Split every golden case along its first axis into one case per row (for .npz archives
    /// that stack many cases).
    #[arg(long)]
    pub per_row: bool,
    /// The most rows stacked into one inference (1 turns batching off).
    #[arg(long, value_name = "N", default_value_t = modelci_config::DEFAULT_MAX_BATCH)]
    pub max_batch: usize,
    /// Where the model runs: cpu, cuda, or auto (cuda when available).
    #[arg(long, value_name = "DEVICE", default_value = "cpu")]
    pub device: String,
    /// On CUDA, let float32 matrix products and convolutions use TF32 (faster, about 1e-3 off
    /// float32; off by default).
    #[arg(long)]
    pub tf32: bool,
    /// On CUDA, cuDNN's convolution algorithm search: exhaustive (ONNX Runtime's default),
    /// heuristic or default.
    #[arg(long, value_name = "SEARCH", default_value = "exhaustive")]
    pub cudnn_conv_algo_search: String,
    /// Relative tolerance for floating-point outputs (default: per dtype).
    #[arg(long, value_name = "X")]
    pub rtol: Option<f64>,
    /// Absolute tolerance for floating-point outputs (default: per dtype).
    #[arg(long, value_name = "Y")]
    pub atol: Option<f64>,
    /// The ONNX Runtime library to load (else ORT_DYLIB_PATH, the onnxruntime Python package,
    /// the system folders).
    #[arg(long, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,
    #[command(flatten)]
    pub reports: ReportArgs,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The `.onnx` file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Write the signature as JSON to this file (`-`: stdout) instead of printing text.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Merge the reports of sharded runs into one (JUnit or JSON).
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("output").required(true).args(["junit", "json"]))]
pub struct MergeArgs {
    /// Merge JUnit XML reports into this file.
    #[arg(long, value_name = "OUT")]
    pub junit: Option<PathBuf>,
    /// Merge modelci JSON reports into this file.
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// The reports to merge.
    #[arg(value_name = "IN", required = true)]
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder to write `modelci.1`, `modelci-check.1`, ... into (created when missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema to print.
    #[arg(value_enum)]
    pub which: SchemaKind,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// `modelci.toml`.
    Config,
    /// The JSON report (`--json`).
    Report,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The configuration file to check (default: modelci.toml in this folder or the nearest
    /// parent, up to the git repository's root).
    #[arg(long, short, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Set or replace a configuration key, as for `modelci check` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Install:\n  \
    bash:       modelci completions bash > ~/.local/share/bash-completion/completions/modelci\n  \
    zsh:        modelci completions zsh > ~/.zfunc/_modelci   (with fpath+=~/.zfunc before compinit)\n  \
    fish:       modelci completions fish > ~/.config/fish/completions/modelci.fish\n  \
    powershell: modelci completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells `modelci completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}
