//! `modelci load`: the flags make a `[[suite.load]]` table, checked as the configuration's
//! would be, and run through the runner like any suite.

use modelci_config::load::{ArrivalsFile, DurationValue, LoadSuiteFile, StageFile};
use modelci_report::Location;
use toml::Spanned;

use crate::cli::{ArrivalsArg, LoadArgs};
use crate::commands::contract::parse_header;
use crate::output::{self, EXIT_ERROR};

/// `modelci load`'s flags, by the `[[suite.load]]` key each one sets.
const LOAD_FLAGS: &[(&str, &str)] = &[
    ("url", "--url"),
    ("method", "--method"),
    ("body", "--body"),
    ("body_file", "--body @FILE"),
    ("requests", "--requests"),
    ("model_name", "--model-name"),
    ("cases", "--cases"),
    ("dataset", "--dataset"),
    ("features", "--features"),
    ("rows_per_request", "--rows-per-request"),
    ("rate", "--rate"),
    ("duration", "--duration"),
    ("stages", "--stage"),
    ("start_rate", "--start-rate"),
    ("vus", "--vus"),
    ("warmup", "--warmup"),
    ("timeout_secs", "--timeout"),
    ("max_in_flight", "--max-in-flight"),
    ("thresholds", "--threshold"),
    ("find_max", "--find-max"),
    ("slo", "--slo"),
    ("max_rate", "--max-rate"),
    ("precision", "--precision"),
    ("max_steps", "--max-steps"),
];

pub fn run(args: &LoadArgs) -> u8 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

fn stage(text: &str) -> Result<StageFile, String> {
    let (d, r) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("--stage takes DURATION:RPS (e.g. 30s:200), not `{text}`"))?;
    let target: f64 = r
        .trim()
        .parse()
        .map_err(|_| format!("--stage `{text}`: `{r}` is not a rate"))?;
    Ok(StageFile {
        duration: DurationValue::Text(d.trim().to_owned()),
        target,
    })
}

/// A `--body` flag: the text itself, or with `@FILE` the file to read it from.
pub(crate) fn body_arg(arg: Option<&str>) -> (Option<String>, Option<std::path::PathBuf>) {
    match arg {
        Some(b) => match b.strip_prefix('@') {
            Some(path) => (None, Some(std::path::PathBuf::from(path))),
            None => (Some(b.to_owned()), None),
        },
        None => (None, None),
    }
}

fn run_inner(args: &LoadArgs) -> Result<u8, String> {
    let outputs = output::requested(&args.reports)?;
    let headers = args
        .header
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let (body, body_file) = body_arg(args.body.as_deref());
    let raw = LoadSuiteFile {
        name: Spanned::new(0..0, "load".to_owned()),
        url: Spanned::new(0..0, args.url.clone()),
        method: args.method.clone(),
        body,
        body_file,
        requests: args.requests.clone(),
        model_name: args.model_name.clone(),
        cases: args.cases.clone(),
        dataset: args.dataset.clone(),
        features: args.features.clone(),
        input: Some(args.input.clone()),
        rows_per_request: Some(args.rows_per_request),
        headers: std::collections::BTreeMap::new(),
        secret_headers: std::collections::BTreeMap::new(),
        rate: args.rate,
        duration: args.duration.clone().map(DurationValue::Text),
        stages: args
            .stage
            .iter()
            .map(|s| stage(s))
            .collect::<Result<Vec<_>, _>>()?,
        start_rate: Some(args.start_rate),
        arrivals: match args.arrivals {
            ArrivalsArg::Uniform => ArrivalsFile::Uniform,
            ArrivalsArg::Poisson => ArrivalsFile::Poisson,
        },
        vus: args.vus,
        warmup: args.warmup.clone().map(DurationValue::Text),
        timeout_secs: Some(args.timeout),
        max_in_flight: Some(args.max_in_flight),
        thresholds: args.threshold.clone(),
        abort_on_fail: args.abort_on_fail,
        seed: Some(args.seed),
        histogram_csv: args.histogram_csv.clone(),
        plot: args.plot.clone(),
        find_max: args.find_max.then(|| modelci_config::load::FindMaxFile {
            slo: args.slo.clone(),
            max_rate: args.max_rate,
            precision: args.precision,
            max_steps: args.max_steps,
        }),
    };
    let mut spec = modelci_config::load::resolve(raw, &modelci_config::Origin::flags(LOAD_FLAGS))
        .map_err(|e| e.to_string())?;
    // Headers as given, in order (a name may repeat).
    spec.headers = headers;
    let shown = modelci_contract::shown_url(&args.url);
    let suite = modelci_load::suite::plan(&spec, &shown, 0);
    let options = crate::commands::run_options(None);
    let planned = modelci_runner::Planned {
        name: "load".to_owned(),
        kind: "load".into(),
        location: Some(Location::file(shown.clone())),
        suite,
    };
    let mut progress = crate::terminal::Progress::new().one_suite();
    let mut run = modelci_runner::run_planned(vec![planned], &options, &mut progress);
    progress.finish();
    run.properties.insert("url", shown);
    Ok(output::finish(&run, &outputs))
}
