//! Provider verification: replay every interaction of a set of pacts against a running provider
//! and report one case per interaction (`modelci contract verify`, `[[suite.pact]]`).
//!
//! - Pact sources are files, folders of `*.json` pact files, or `http(s)://` URLs.
//! - Provider states are set up by POSTing `{"state", "params", "action": "setup"}` to the
//!   state-change URL (and `"action": "teardown"` afterwards when asked), as Pact verifiers do;
//!   values the setup call returns feed `ProviderState` generators.
//! - Interactions without provider states run concurrently; the others run one at a time, since
//!   a state is global to the provider.
//! - A mismatch fails the case, with every mismatch listed (path, rule, expected, actual) and the
//!   expected and actual bodies for a diff. A pending interaction (v4) that fails is reported as
//!   skipped, so it does not fail the run. A provider that cannot be reached, times out, or whose
//!   state setup fails gives an errored case; the other interactions still run.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use modelci_pact::generators::{self, Context, Mode};
use modelci_pact::{
    Body, Interaction, InteractionKind, MessageContents, Mismatch, Pact, Request, Response,
    compare_message, compare_response,
};
use modelci_report::{Case, Location, Outcome};
use serde_json::{Map, Value};

/// Bodies larger than this are not read: the case errors.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Base URL of the provider (`http://127.0.0.1:8080`).
    pub provider_url: String,
    /// Where provider states are set up.
    pub state_change_url: Option<String>,
    /// Also call the state-change URL with `"action": "teardown"` after each interaction.
    pub state_change_teardown: bool,
    /// Only interactions whose description matches.
    pub filter_description: Option<regex::Regex>,
    /// Only interactions with a provider state matching.
    pub filter_state: Option<regex::Regex>,
    /// Extra headers sent with every request (e.g. authorization). Values are never reported.
    pub headers: Vec<(String, String)>,
    /// Timeout of each request.
    pub timeout: Duration,
    /// Interactions without provider states verified at once.
    pub concurrency: usize,
    /// Set (by Ctrl-C) to stop starting interactions: those not started are reported as
    /// skipped, "not run: the run was interrupted".
    pub cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Nothing to verify (no interactions, filters that select none) passes instead of
    /// erroring (`allow_empty`, `--allow-empty`).
    pub allow_empty: bool,
}

impl VerifyOptions {
    /// The options of a resolved `[[suite.pact]]` (or `contract verify`'s flags), with the
    /// headers to send (plain and secret ones).
    pub fn from_suite(spec: &modelci_config::PactSuite, headers: Vec<(String, String)>) -> Self {
        VerifyOptions {
            provider_url: spec.provider_url.clone(),
            state_change_url: spec.state_change_url.clone(),
            state_change_teardown: spec.state_change_teardown,
            // Checked when the configuration was resolved.
            filter_description: spec
                .filter_description
                .as_deref()
                .and_then(|r| regex::Regex::new(r).ok()),
            filter_state: spec
                .filter_state
                .as_deref()
                .and_then(|r| regex::Regex::new(r).ok()),
            headers,
            timeout: spec.timeout,
            concurrency: spec.concurrency,
            cancel: None,
            allow_empty: spec.allow_empty,
        }
    }

    /// Whether the run was cancelled.
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            provider_url: String::new(),
            state_change_url: None,
            state_change_teardown: false,
            filter_description: None,
            filter_state: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
            concurrency: 8,
            cancel: None,
            allow_empty: false,
        }
    }
}

/// A pact read from a source, with where each interaction sits in the file.
#[derive(Debug, Clone)]
pub struct LoadedPact {
    pub pact: Pact,
    locations: Vec<Location>,
}

impl LoadedPact {
    /// A pact without line positions (one fetched from a Pact Broker): its interactions are
    /// located at its URL.
    pub fn remote(pact: Pact) -> LoadedPact {
        LoadedPact {
            pact,
            locations: Vec::new(),
        }
    }

    fn new(pact: Pact, text: &str) -> LoadedPact {
        // Offsets of every interaction (then every v3 message), in `pact.interactions` order,
        // found with one parse of the file.
        let mut offsets = crate::locate::element_offsets(text, &["interactions"]);
        offsets.extend(crate::locate::element_offsets(text, &["messages"]));
        let mut order: Vec<usize> = (0..offsets.len()).collect();
        order.sort_by_key(|&i| offsets[i]);
        let sorted: Vec<usize> = order.iter().map(|&i| offsets[i]).collect();
        let mut positions = vec![(0, 0); offsets.len()];
        for (k, lc) in crate::locate::line_cols(text, &sorted)
            .into_iter()
            .enumerate()
        {
            positions[order[k]] = lc;
        }
        let locations = positions
            .into_iter()
            .map(|(line, column)| Location {
                file: pact.source.clone(),
                line: Some(line),
                column: Some(column),
            })
            .collect();
        LoadedPact { pact, locations }
    }

    /// The location of an interaction (by its index in `pact.interactions`) in the pact file.
    pub fn location(&self, index: usize) -> Location {
        self.locations
            .get(index)
            .cloned()
            .unwrap_or_else(|| Location::file(self.pact.source.clone()))
    }
}

/// A source that could not be read: an errored case for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub source: String,
    pub line: Option<u32>,
    pub message: String,
}

impl SourceError {
    /// The errored case that reports it.
    pub fn to_case(&self) -> Case {
        Case::errored(self.source.clone(), self.message.clone()).with_location(Location {
            file: self.source.clone(),
            line: self.line,
            column: None,
        })
    }
}

/// Reads pact sources: files, folders (every `*.json` in them, sorted) and URLs.
pub fn load(sources: &[String], timeout: Duration) -> Vec<Result<LoadedPact, SourceError>> {
    let mut out = Vec::new();
    for source in sources {
        if source.starts_with("http://") || source.starts_with("https://") {
            out.push(fetch(source, timeout).and_then(|text| parse(&text, source)));
            continue;
        }
        let path = Path::new(source);
        if path.is_dir() {
            let mut files: Vec<_> = match std::fs::read_dir(path) {
                Ok(entries) => entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect(),
                Err(e) => {
                    out.push(Err(SourceError {
                        source: source.clone(),
                        line: None,
                        message: format!("failed to read folder `{source}`: {e}"),
                    }));
                    continue;
                }
            };
            files.sort();
            if files.is_empty() {
                out.push(Err(SourceError {
                    source: source.clone(),
                    line: None,
                    message: format!("folder `{source}` holds no pact files (*.json)"),
                }));
            }
            for f in files {
                let shown = modelci_config::display_path(&f);
                out.push(read(&f, &shown));
            }
        } else {
            out.push(read(path, &modelci_config::display_path(path)));
        }
    }
    out
}

fn read(path: &Path, shown: &str) -> Result<LoadedPact, SourceError> {
    let bytes = std::fs::read(path).map_err(|e| SourceError {
        source: shown.to_owned(),
        line: None,
        message: format!(
            "failed to read pact file `{shown}`: {}",
            if e.kind() == std::io::ErrorKind::NotFound {
                "no such file".to_owned()
            } else {
                e.to_string()
            }
        ),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| SourceError {
        source: shown.to_owned(),
        line: None,
        message: format!("pact file `{shown}` is not valid UTF-8"),
    })?;
    parse(&text, shown)
}

fn parse(text: &str, source: &str) -> Result<LoadedPact, SourceError> {
    modelci_pact::pact::parse(text, source)
        .map(|pact| LoadedPact::new(pact, text))
        .map_err(|e| SourceError {
            source: source.to_owned(),
            line: e.line,
            message: format!("invalid pact file: {e}"),
        })
}

/// Fetches a pact over HTTP, with a timeout and a size limit.
pub(crate) fn fetch(url: &str, timeout: Duration) -> Result<String, SourceError> {
    fetch_text(url, timeout, "pact")
}

/// Fetches a text document over HTTP, with a timeout and a size limit; `what` names it in
/// messages ("pact", "document").
pub(crate) fn fetch_text(url: &str, timeout: Duration, what: &str) -> Result<String, SourceError> {
    let fail = |message: String| SourceError {
        source: url.to_owned(),
        line: None,
        message,
    };
    let rt = runtime().map_err(|e| fail(format!("failed to start the HTTP client: {e}")))?;
    rt.block_on(async {
        let client = client(timeout).map_err(|e| fail(e.to_string()))?;
        let resp = client
            .get(url)
            .header("Accept", "application/hal+json, application/json")
            .send()
            .await
            .map_err(|e| {
                fail(format!(
                    "failed to fetch {what} `{url}`: {}",
                    modelci_net::describe_routed(e, timeout)
                ))
            })?;
        let status = resp.status();
        let bytes = read_limited(resp, timeout)
            .await
            .map_err(|e| fail(format!("failed to fetch {what} `{url}`: {e}")))?;
        if !status.is_success() {
            return Err(fail(format!(
                "failed to fetch {what} `{url}`: HTTP {status}"
            )));
        }
        String::from_utf8(bytes).map_err(|_| fail(format!("{what} `{url}` is not valid UTF-8")))
    })
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// The verifier's client: modelci's network policy (timeouts, connect cap, no redirects,
/// proxies from the environment; loopback direct).
fn client(timeout: Duration) -> Result<reqwest::Client, modelci_net::ClientError> {
    modelci_net::ClientPolicy::new(timeout).build()
}

/// Reads a body up to [`MAX_BODY_BYTES`] within `timeout`.
pub(crate) async fn read_limited(
    resp: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let cap = MAX_BODY_BYTES as u64;
    let body = modelci_net::read_capped(resp, cap, modelci_net::Deadline::after(timeout))
        .await
        .map_err(|e| e.to_string())?;
    if body.truncated {
        return Err(format!(
            "the body is larger than {}",
            modelci_net::bytes(cap)
        ));
    }
    Ok(body.bytes)
}

/// Whether the interaction passes the filters.
fn selected(i: &Interaction, opts: &VerifyOptions) -> bool {
    if let Some(re) = &opts.filter_description
        && !re.is_match(&i.description)
    {
        return false;
    }
    if let Some(re) = &opts.filter_state
        && !i.provider_states.iter().any(|s| re.is_match(&s.name))
    {
        return false;
    }
    true
}

/// Verifies every selected interaction of `pact`, returning one case per interaction, in the
/// pact's order. Never fails: every problem is a case.
pub fn verify(pact: &LoadedPact, opts: &VerifyOptions) -> Vec<Case> {
    let indices: Vec<usize> = pact
        .pact
        .interactions
        .iter()
        .enumerate()
        .filter(|(_, i)| selected(i, opts))
        .map(|(n, _)| n)
        .collect();
    verify_interactions(pact, &indices, opts)
}

/// Verifies the interactions at `indices` (positions in `pact.interactions`), one case each, in
/// the order given.
pub fn verify_interactions(
    pact: &LoadedPact,
    indices: &[usize],
    opts: &VerifyOptions,
) -> Vec<Case> {
    let work: Vec<&Interaction> = indices
        .iter()
        .filter_map(|&n| pact.pact.interactions.get(n))
        .collect();
    if work.is_empty() {
        return Vec::new();
    }
    let started = runtime()
        .map_err(|e| format!("failed to start the HTTP client: {e}"))
        .and_then(|rt| {
            client(opts.timeout)
                .map(|c| (rt, c))
                .map_err(|e| e.to_string())
        });
    let (rt, client) = match started {
        Ok(pair) => pair,
        Err(e) => {
            return work
                .iter()
                .map(|i| Case::errored(case_name(pact, i), e.clone()))
                .collect();
        }
    };
    let opts = Arc::new(opts.clone());
    rt.block_on(async {
        let mut results: Vec<Option<Case>> = vec![None; work.len()];
        // Stateless interactions: concurrently.
        let semaphore = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        for (n, i) in work.iter().enumerate() {
            if !i.provider_states.is_empty() {
                continue;
            }
            let (i, client, opts, sem) = (
                (*i).clone(),
                client.clone(),
                Arc::clone(&opts),
                Arc::clone(&semaphore),
            );
            let loc = pact.location(i.index);
            let name = case_name(pact, &i);
            set.spawn(async move {
                let _permit = sem.acquire().await;
                if opts.cancelled() {
                    return (n, not_started(name));
                }
                (n, verify_one(&client, &opts, &i, name, loc).await)
            });
        }
        while let Some(joined) = set.join_next().await {
            if let Ok((n, case)) = joined {
                results[n] = Some(case);
            }
        }
        // Interactions with provider states: one at a time, in order.
        for (n, i) in work.iter().enumerate() {
            if i.provider_states.is_empty() {
                continue;
            }
            if opts.cancelled() {
                results[n] = Some(not_started(case_name(pact, i)));
                continue;
            }
            let loc = pact.location(i.index);
            results[n] = Some(verify_one(&client, &opts, i, case_name(pact, i), loc).await);
        }
        results
            .into_iter()
            .zip(&work)
            .map(|(r, i)| {
                r.unwrap_or_else(|| {
                    Case::errored(
                        case_name(pact, i),
                        "internal error: the verification task failed",
                    )
                })
            })
            .collect()
    })
}

/// An interaction not started because the run was cancelled.
fn not_started(name: String) -> Case {
    Case::skipped(name, "not run: the run was interrupted")
}

/// A planned `[[suite.pact]]`: the interactions of its pacts, ready to verify.
pub struct PactCheck {
    pacts: Vec<LoadedPact>,
    /// For each of `pacts`, what the Pact Broker said about it (pacts from a broker).
    brokered: Vec<Option<crate::pact_broker::BrokerPact>>,
    /// Set when verification results are to be published.
    publisher: Option<Arc<crate::pact_broker::Publisher>>,
    items: Vec<Item>,
    opts: VerifyOptions,
    secrets: modelci_net::Redactor,
    properties: modelci_report::Properties,
}

enum Item {
    Interaction {
        pact: usize,
        index: usize,
        name: String,
    },
    Problem(Case),
    /// Publishing the broker pacts' results.
    Publish,
}

impl PactCheck {
    /// Reads the pacts (a source that cannot be read becomes one errored case) and resolves the
    /// secret headers.
    ///
    /// # Errors
    /// A [`crate::json_schema::SetupError`] when a secret header's variable is not set.
    pub fn plan(
        spec: &modelci_config::PactSuite,
        config_file: &str,
    ) -> Result<PactCheck, crate::json_schema::SetupError> {
        let (headers, secrets) =
            crate::resolve_headers(&spec.headers, &spec.secret_headers, config_file)?;
        let urls: Vec<&str> = std::iter::once(spec.provider_url.as_str())
            .chain(spec.state_change_url.as_deref())
            .chain(spec.pacts.iter().map(String::as_str))
            .collect();
        let secrets = crate::redactor(secrets, &urls, &headers);
        let opts = VerifyOptions::from_suite(spec, headers);
        let mut properties = modelci_report::Properties::new();
        properties.insert("provider_url", crate::shown_url(&spec.provider_url));
        let files = load(&spec.pacts, opts.timeout);
        let Some(settings) = &spec.broker else {
            return Ok(PactCheck::new(files, opts, secrets, properties));
        };
        let lookup = |var: &str| std::env::var(var).ok();
        let fetched = match crate::pact_broker::client(settings, opts.timeout, &lookup) {
            Ok(broker) => crate::pact_broker::fetch(broker, settings, spec.allow_empty),
            Err(message) => crate::pact_broker::Fetched {
                pacts: vec![Err(SourceError {
                    source: crate::shown_url(&settings.url),
                    line: Some(settings.line).filter(|l| *l > 0),
                    message,
                })],
                publisher: None,
                shown: crate::shown_url(&settings.url),
            },
        };
        properties.insert("broker_url", fetched.shown.clone());
        properties.insert("provider", settings.provider.clone());
        Ok(PactCheck::with_broker(
            files, fetched, opts, secrets, properties,
        ))
    }

    /// A check of pact files (as [`PactCheck::new`]) and of a Pact Broker's pacts, publishing
    /// their results when `fetched` has a publisher. The broker's notices to show before
    /// verifying become the suite's `broker_notices` property.
    pub fn with_broker(
        loaded: Vec<Result<LoadedPact, SourceError>>,
        fetched: crate::pact_broker::Fetched,
        opts: VerifyOptions,
        secrets: modelci_net::Redactor,
        mut properties: modelci_report::Properties,
    ) -> PactCheck {
        let mut notices = Vec::new();
        let mut check = PactCheck::new(loaded, opts, secrets, modelci_report::Properties::new());
        let mut any = false;
        for pact in fetched.pacts {
            match pact {
                Ok(bp) => {
                    for n in bp.notices_before() {
                        notices.push(format!("{}: {}", bp.loaded.pact.consumer, n.text));
                    }
                    check.add(bp.loaded.clone(), Some(bp));
                    any = true;
                }
                Err(e) => check.items.push(Item::Problem(e.to_case())),
            }
        }
        if !notices.is_empty() {
            properties.insert("broker_notices", notices.join("\n"));
        }
        if any && fetched.publisher.is_some() {
            check.publisher = fetched.publisher;
            check.items.push(Item::Publish);
        }
        for (k, v) in check.properties.iter() {
            properties.insert(k.clone(), v.clone());
        }
        check.properties = properties;
        check
    }

    /// Adds a pact's selected interactions.
    fn add(&mut self, p: LoadedPact, brokered: Option<crate::pact_broker::BrokerPact>) {
        let n = self.pacts.len();
        let label = brokered
            .as_ref()
            .map(|b| b.fetched.reference.description.as_str())
            .filter(|d| !d.is_empty());
        for (index, i) in p.pact.interactions.iter().enumerate() {
            if selected(i, &self.opts) {
                let name = match label {
                    Some(label) => labelled_case_name(&p, i, label),
                    None => case_name(&p, i),
                };
                self.items.push(Item::Interaction {
                    pact: n,
                    index,
                    name,
                });
            }
        }
        self.pacts.push(p);
        self.brokered.push(brokered);
    }

    /// The Pact Broker's notices to show before verifying (`consumer: text`), one a line.
    pub fn broker_notices(&self) -> Option<&str> {
        self.properties.get("broker_notices").map(String::as_str)
    }

    /// A check of pacts already loaded (a source that could not be loaded becomes one errored
    /// case), verified with `opts`; `secrets` are scrubbed from the results.
    pub fn new(
        loaded: Vec<Result<LoadedPact, SourceError>>,
        opts: VerifyOptions,
        secrets: modelci_net::Redactor,
        properties: modelci_report::Properties,
    ) -> PactCheck {
        let mut check = PactCheck {
            pacts: Vec::new(),
            brokered: Vec::new(),
            publisher: None,
            items: Vec::new(),
            opts,
            secrets,
            properties,
        };
        for loaded in loaded {
            match loaded {
                Ok(p) => check.add(p, None),
                Err(e) => check.items.push(Item::Problem(e.to_case())),
            }
        }
        check
    }

    /// Whether nothing to verify may pass (see [`VerifyOptions::allow_empty`]).
    pub fn allows_empty(&self) -> bool {
        self.opts.allow_empty
    }

    /// Stable case names, in order.
    pub fn case_names(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|i| match i {
                Item::Interaction { name, .. } => name.clone(),
                Item::Problem(c) => c.name.clone(),
                Item::Publish => crate::pact_broker::PUBLISH_CASE.to_owned(),
            })
            .collect()
    }

    /// Suite properties.
    pub fn properties(&self) -> &modelci_report::Properties {
        &self.properties
    }

    /// Verifies the cases at `indices` (positions in [`case_names`](Self::case_names)),
    /// returning them in the same order. Secret header values are scrubbed from the results.
    pub fn run_batch(&self, indices: &[usize]) -> Vec<Case> {
        self.run_with(indices, &self.opts)
    }

    /// [`PactCheck::run_batch`], stopping when `cancel` is set: interactions not started are
    /// reported as skipped.
    pub fn run_until(
        &self,
        indices: &[usize],
        cancel: Arc<std::sync::atomic::AtomicBool>,
    ) -> Vec<Case> {
        let opts = VerifyOptions {
            cancel: Some(cancel),
            ..self.opts.clone()
        };
        self.run_with(indices, &opts)
    }

    fn run_with(&self, indices: &[usize], opts: &VerifyOptions) -> Vec<Case> {
        let mut out: Vec<Option<Case>> = vec![None; indices.len()];
        // Per pact: whether every case passed, and the per-interaction results to publish.
        let mut success = vec![true; self.pacts.len()];
        let mut results: Vec<Vec<Value>> = vec![Vec::new(); self.pacts.len()];
        for (p, pact) in self.pacts.iter().enumerate() {
            let mine: Vec<(usize, usize)> = indices
                .iter()
                .enumerate()
                .filter_map(|(slot, &i)| match self.items.get(i) {
                    Some(Item::Interaction { pact, index, .. }) if *pact == p => {
                        Some((slot, *index))
                    }
                    _ => None,
                })
                .collect();
            if mine.is_empty() {
                continue;
            }
            let interaction_indices: Vec<usize> = mine.iter().map(|(_, i)| *i).collect();
            // verify_interactions reports what it did not start as skipped.
            let cases = verify_interactions(pact, &interaction_indices, opts);
            let brokered = self.brokered.get(p).and_then(Option::as_ref);
            for ((slot, index), mut case) in mine.iter().zip(cases) {
                // The planned name (a broker pact's carries why it was selected).
                if let Some(Item::Interaction { name, .. }) = self.items.get(indices[*slot]) {
                    case.name.clone_from(name);
                }
                let ok = case.outcome == Outcome::Passed;
                success[p] &= ok;
                let case = match brokered {
                    Some(bp) => {
                        if let Some(i) = pact.pact.interactions.get(*index) {
                            results[p].push(crate::pact_broker::test_result(
                                &i.description,
                                i.key.as_deref(),
                                ok,
                            ));
                        }
                        if bp.pending() {
                            crate::pact_broker::pending_case(case, bp)
                        } else {
                            case
                        }
                    }
                    None => case,
                };
                out[*slot] = Some(self.scrub(case));
            }
        }
        for (slot, &i) in indices.iter().enumerate() {
            if matches!(self.items.get(i), Some(Item::Publish)) {
                out[slot] = Some(self.publish(indices, opts, &success, results.clone()));
            }
        }
        indices
            .iter()
            .zip(out)
            .map(|(&i, case)| match (case, self.items.get(i)) {
                (Some(c), _) => c,
                (None, Some(Item::Problem(c))) => c.clone(),
                (None, _) => Case::errored(format!("#{i}"), "no such case"),
            })
            .collect()
    }

    /// The publishing case: publishes only when this call verified every case of the suite,
    /// unfiltered and uninterrupted.
    fn publish(
        &self,
        indices: &[usize],
        opts: &VerifyOptions,
        success: &[bool],
        mut results: Vec<Vec<Value>>,
    ) -> Case {
        let skipped = |why: &str| {
            Case::skipped(
                crate::pact_broker::PUBLISH_CASE,
                format!("verification results not published: {why}"),
            )
        };
        let Some(publisher) = &self.publisher else {
            return skipped("no publisher");
        };
        if opts.cancelled() {
            return skipped("the run was interrupted");
        }
        if opts.filter_description.is_some() || opts.filter_state.is_some() {
            return skipped(
                "filters selected only some interactions; results are published from an \
                 unfiltered run",
            );
        }
        let complete = self
            .items
            .iter()
            .enumerate()
            .all(|(n, item)| !matches!(item, Item::Interaction { .. }) || indices.contains(&n));
        if !complete {
            return skipped(
                "this run verified only part of the suite's cases (a sharded run, --shard); \
                 results are published only from a complete run",
            );
        }
        let verified: Vec<crate::pact_broker::Verified<'_>> = self
            .brokered
            .iter()
            .enumerate()
            .filter_map(|(p, b)| {
                b.as_ref().map(|pact| crate::pact_broker::Verified {
                    pact,
                    success: success.get(p).copied().unwrap_or(false),
                    results: std::mem::take(&mut results[p]),
                })
            })
            .collect();
        self.scrub(publisher.publish(&verified))
    }

    fn scrub(&self, mut case: Case) -> Case {
        if self.secrets.is_empty() {
            return case;
        }
        case.map_texts(|t| self.secrets.hide(t));
        case
    }
}

/// A broker pact's case name: the consumer, why the broker selected the pact (two pacts of one
/// consumer, from two branches, stay apart), the interaction.
fn labelled_case_name(pact: &LoadedPact, i: &Interaction, label: &str) -> String {
    format!("{} [{label}]: {}", pact.pact.consumer, i.title())
}

fn case_name(pact: &LoadedPact, i: &Interaction) -> String {
    if pact.pact.consumer.is_empty() {
        i.title()
    } else {
        format!("{}: {}", pact.pact.consumer, i.title())
    }
}

async fn verify_one(
    client: &reqwest::Client,
    opts: &VerifyOptions,
    i: &Interaction,
    name: String,
    location: Location,
) -> Case {
    let started = Instant::now();
    let mut case = match verify_inner(client, opts, i, &name).await {
        Ok(mismatches) if mismatches.is_empty() => Case::passed(&name),
        Ok(failure) => failure.into_case(&name, i.pending),
        Err(message) => Case::errored(&name, message),
    };
    case.location = Some(location);
    if i.pending {
        case.properties.insert("pending", "true");
    }
    if let Some(key) = &i.key {
        case.properties.insert("interaction_key", key.clone());
    }
    case.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    case
}

/// The mismatches of one interaction, with the bodies for a diff.
struct Failure {
    mismatches: Vec<Mismatch>,
    expected_body: Option<String>,
    actual_body: Option<String>,
    exchange: String,
}

impl Failure {
    fn is_empty(&self) -> bool {
        self.mismatches.is_empty()
    }

    fn into_case(self, name: &str, pending: bool) -> Case {
        let first = self.mismatches[0].to_string();
        let more = self.mismatches.len() - 1;
        let mut message = first;
        if more > 0 {
            let _ = write!(message, " (and {more} more)");
        }
        let mut detail = format!(
            "{}\n{} mismatch(es):\n",
            self.exchange,
            self.mismatches.len()
        );
        for m in &self.mismatches {
            let _ = writeln!(detail, "  - {m}");
            let _ = writeln!(detail, "      expected: {}", m.expected);
            let _ = writeln!(detail, "      actual:   {}", m.actual);
        }
        let mut case = if pending {
            Case::new(name, Outcome::Skipped).with_message(format!(
                "pending interaction failed (not counted against the run): {message}"
            ))
        } else {
            Case::new(name, Outcome::Failed).with_message(message)
        };
        case.detail = Some(detail.trim_end().to_owned());
        case.expected = self.expected_body;
        case.actual = self.actual_body;
        case.properties
            .insert("mismatches", self.mismatches.len().to_string());
        case
    }
}

async fn verify_inner(
    client: &reqwest::Client,
    opts: &VerifyOptions,
    i: &Interaction,
    name: &str,
) -> Result<Failure, String> {
    let mut state_values = Map::new();
    for state in &i.provider_states {
        let values = change_state(client, opts, &state.name, &state.params, "setup").await?;
        for (k, v) in state.params.iter().chain(values.iter()) {
            state_values.insert(k.clone(), v.clone());
        }
    }
    let result = match &i.kind {
        InteractionKind::Http { request, response } => {
            verify_http(client, opts, request, response, &state_values).await
        }
        InteractionKind::Message { contents } => {
            verify_message(client, opts, i, contents, &state_values).await
        }
        InteractionKind::SyncMessage { .. } => Err(format!(
            "`{name}` is a synchronous message interaction; verifying those needs a message \
             transport plugin, which modelci does not have"
        )),
    };
    if opts.state_change_teardown {
        for state in &i.provider_states {
            // A failed teardown is reported only when the interaction itself passed.
            if let Err(e) = change_state(client, opts, &state.name, &state.params, "teardown").await
                && matches!(&result, Ok(f) if f.is_empty())
            {
                return Err(e);
            }
        }
    }
    result
}

async fn change_state(
    client: &reqwest::Client,
    opts: &VerifyOptions,
    state: &str,
    params: &Map<String, Value>,
    action: &str,
) -> Result<Map<String, Value>, String> {
    let Some(url) = &opts.state_change_url else {
        return Ok(Map::new());
    };
    let body = serde_json::json!({"state": state, "params": params, "action": action});
    let mut req = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (k, v) in &opts.headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.map_err(|e| {
        format!(
            "provider state `{state}` {action} failed: state-change URL {url}: {}",
            modelci_net::describe_routed(e, opts.timeout)
        )
    })?;
    let status = resp.status();
    let bytes = read_limited(resp, opts.timeout).await.map_err(|e| {
        format!("provider state `{state}` {action} failed: state-change URL {url}: {e}")
    })?;
    if !status.is_success() {
        return Err(format!(
            "provider state `{state}` {action} failed: state-change URL {url} answered HTTP {status}: {}",
            modelci_text::truncate(&String::from_utf8_lossy(&bytes), 300)
        ));
    }
    Ok(serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default())
}

fn provider_url(base: &str, path: &str, query: Option<&modelci_pact::model::Query>) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    if !path.starts_with('/') {
        url.push('/');
    }
    url.push_str(path);
    match query {
        Some(modelci_pact::model::Query::Raw(q)) if !q.is_empty() => {
            url.push('?');
            url.push_str(q);
        }
        Some(modelci_pact::model::Query::Params(params)) if !params.is_empty() => {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, values) in params {
                for v in values {
                    ser.append_pair(k, v);
                }
            }
            url.push('?');
            url.push_str(&ser.finish());
        }
        _ => {}
    }
    url
}

fn body_bytes(body: &Body) -> Option<Vec<u8>> {
    match body {
        Body::Missing | Body::Null => None,
        Body::Value(Value::String(s)) => Some(s.clone().into_bytes()),
        Body::Value(v) => Some(v.to_string().into_bytes()),
        Body::Bytes(b) => Some(b.clone()),
    }
}

/// The actual body, as the matcher wants it: JSON parsed when it is JSON, text when UTF-8,
/// bytes otherwise.
fn actual_body(bytes: Vec<u8>, content_type: Option<&str>) -> Body {
    if bytes.is_empty() {
        return Body::Missing;
    }
    let json = content_type
        .is_some_and(|c| modelci_pact::body::kind_of(c) == modelci_pact::body::BodyKind::Json);
    if json && let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
        return Body::Value(v);
    }
    match String::from_utf8(bytes) {
        Ok(s) => Body::Value(Value::String(s)),
        Err(e) => Body::Bytes(e.into_bytes()),
    }
}

fn pretty(body: &Body) -> Option<String> {
    match body {
        Body::Missing | Body::Null => None,
        Body::Value(Value::String(s)) => Some(modelci_text::truncate(s, 20_000)),
        Body::Value(v) => Some(modelci_text::truncate(
            &serde_json::to_string_pretty(v).unwrap_or_default(),
            20_000,
        )),
        Body::Bytes(b) => Some(format!("({} bytes, not UTF-8)", b.len())),
    }
}

async fn verify_http(
    client: &reqwest::Client,
    opts: &VerifyOptions,
    request: &Request,
    response: &Response,
    state: &Map<String, Value>,
) -> Result<Failure, String> {
    let mut request = request.clone();
    let ctx = Context {
        mode: Mode::Provider,
        provider_state: state,
        mock_server_url: None,
    };
    generators::apply_to_request(&mut request, &ctx)
        .map_err(|e| format!("failed to apply the request's generators: {e}"))?;
    let url = provider_url(&opts.provider_url, &request.path, request.query.as_ref());
    let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid HTTP method `{}` in the pact", request.method))?;
    let mut req = client.request(method.clone(), &url);
    let mut has_content_type = false;
    for (name, values) in request.headers.iter().flatten() {
        has_content_type |= name.eq_ignore_ascii_case("content-type");
        req = req.header(name.as_str(), values.join(", "));
    }
    if let Some(bytes) = body_bytes(&request.body) {
        if !has_content_type {
            let ct = request.content_type.clone().unwrap_or_else(|| {
                if matches!(
                    request.body,
                    Body::Value(Value::Object(_) | Value::Array(_))
                ) {
                    "application/json".into()
                } else {
                    "text/plain".into()
                }
            });
            req = req.header("Content-Type", ct);
        }
        req = req.body(bytes);
    }
    for (k, v) in &opts.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.map_err(|e| {
        format!(
            "{method} {url}: {}",
            modelci_net::describe_routed(e, opts.timeout)
        )
    })?;
    let status = resp.status().as_u16();
    let mut headers: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in resp.headers() {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_str()))
        {
            Some((_, vs)) => vs.push(v),
            None => headers.push((name.as_str().to_owned(), vec![v])),
        }
    }
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, v)| v.first().cloned());
    let bytes = read_limited(resp, opts.timeout)
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let actual = Response {
        status: Some(status),
        headers: Some(headers),
        body: actual_body(bytes, content_type.as_deref()),
        content_type: None,
        rules: Default::default(),
        generators: None,
    };
    let mismatches = compare_response(response, &actual);
    Ok(Failure {
        exchange: format!("{method} {url} -> HTTP {status}"),
        expected_body: pretty(&response.body),
        actual_body: pretty(&actual.body),
        mismatches,
    })
}

/// Message interactions: as Pact verifiers do, POST `{"description", "providerStates"}` to the
/// provider URL and compare the body it answers with the message (metadata from the
/// `Pact-Message-Metadata` header, base64 JSON).
async fn verify_message(
    client: &reqwest::Client,
    opts: &VerifyOptions,
    i: &Interaction,
    contents: &MessageContents,
    _state: &Map<String, Value>,
) -> Result<Failure, String> {
    let states: Vec<Value> = i
        .provider_states
        .iter()
        .map(|s| serde_json::json!({"name": s.name, "params": s.params}))
        .collect();
    let body = serde_json::json!({"description": i.description, "providerStates": states});
    let url = opts.provider_url.clone();
    let mut req = client
        .post(&url)
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (k, v) in &opts.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.map_err(|e| {
        format!(
            "POST {url} (message): {}",
            modelci_net::describe_routed(e, opts.timeout)
        )
    })?;
    let status = resp.status();
    let metadata = resp
        .headers()
        .get("Pact-Message-Metadata")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| modelci_pact::model::base64_decode(v).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = read_limited(resp, opts.timeout)
        .await
        .map_err(|e| format!("POST {url} (message): {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "POST {url} (message `{}`) answered HTTP {status}",
            i.description
        ));
    }
    let actual = MessageContents {
        body: actual_body(
            bytes,
            content_type.as_deref().or(contents.content_type.as_deref()),
        ),
        content_type: content_type.clone(),
        metadata,
        rules: Default::default(),
        generators: None,
    };
    Ok(Failure {
        exchange: format!("POST {url} (message) -> HTTP {status}"),
        expected_body: pretty(&contents.body),
        actual_body: pretty(&actual.body),
        mismatches: compare_message(contents, &actual),
    })
}
