//! modelci's canary analysis (`[[suite.canary]]`, `modelci canary judge`): a canary judged
//! against its baseline over the same window, as Kayenta judges one.
//!
//! - [`files`] and [`prometheus`] give each metric's samples for both sides (the Prometheus
//!   queries with the scopes' placeholders filled);
//! - [`judge`] classifies each metric (Mann-Whitney U, Hodges-Lehmann shift and interval,
//!   tolerance, direction), scores the groups and gives the verdict;
//! - [`aa`] is A/A mode: the baseline against itself, its noise floor and the sample sizes.
//!
//! The suite is judged as a whole: one case per metric (`metric NAME`, with its figures as
//! properties) and one `verdict` case. A metric case fails when the metric is worse beyond its
//! tolerance and that counts: it is critical, or the verdict fails; a worse metric the score
//! tolerates passes, saying so. The verdict case passes on Pass (and on Marginal with
//! `marginal_passes`), fails on Fail and Marginal, and is errored on Inconclusive (exit 2: there
//! was not enough to judge).

pub mod aa;
pub mod files;
pub mod judge;
pub mod overrides;
mod parallel;
pub mod prometheus;
pub mod serve;
pub mod shadow;

use std::fmt::Write as _;
use std::time::Instant;

use modelci_config::canary::{CanarySuite, NoData, Source};
use modelci_report::{Case, Location, Outcome, Properties};
use modelci_suite::{Context, Plan, SetupFailed, Suite};

use crate::judge::{Class, Judgement, MetricResult, Samples, Settings, Verdict};

/// Plans a `[[suite.canary]]`.
pub fn plan(spec: &CanarySuite, file: &str, line: u32) -> Box<dyn Suite> {
    if let Source::Prometheus(p) = &spec.source
        && let Err(m) = prometheus::Client::new(p)
    {
        return Box::new(SetupFailed::new(m, Location::line(file, line)));
    }
    Box::new(CanaryCheck {
        spec: spec.clone(),
        location: Location::line(file, line),
    })
}

/// A canary judgement as a suite.
pub struct CanaryCheck {
    spec: CanarySuite,
    location: Location,
}

/// Everything the samples came with.
struct Fetched {
    samples: Vec<Result<Samples, String>>,
    properties: Vec<(&'static str, String)>,
}

impl CanaryCheck {
    /// Each metric's samples (in A/A mode: the baseline's, twice over as halves).
    fn fetch(&self, jobs: usize) -> Result<Fetched, String> {
        let spec = &self.spec;
        let mut properties = Vec::new();
        let mut samples: Vec<Result<Samples, String>> = match &spec.source {
            Source::Files { baseline, canary } => {
                properties.push(("baseline_file", baseline.display().to_string()));
                // The two files are read at once.
                let (b, c) = std::thread::scope(|s| {
                    let c = (!spec.aa).then(|| s.spawn(|| files::read(canary)));
                    let b = files::read(baseline);
                    let c = match c {
                        Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                        None => Ok(files::Columns::default()),
                    };
                    (b, c)
                });
                let (b, c) = (b?, c?);
                if !spec.aa {
                    properties.push(("canary_file", canary.display().to_string()));
                }
                let (bs, cs) = (baseline.display().to_string(), canary.display().to_string());
                spec.metrics
                    .iter()
                    .map(|m| {
                        Ok(Samples {
                            baseline: b.column(&m.column, &bs)?,
                            canary: if spec.aa {
                                Vec::new()
                            } else {
                                c.column(&m.column, &cs)?
                            },
                        })
                    })
                    .collect()
            }
            Source::Prometheus(p) => {
                let client = prometheus::Client::new(p)?;
                let (start, end) = client.window();
                properties.push(("prometheus", client.shown_url()));
                properties.push(("window_start", format!("{start:.3}")));
                properties.push(("window_end", format!("{end:.3}")));
                properties.push(("step_s", format!("{}", p.step.as_secs_f64())));
                // Network-bound: more threads than cores is fine.
                parallel::map(&spec.metrics, jobs.max(4), |_, m| {
                    let q = m.query.as_deref().unwrap_or_default();
                    let b = client.range(q, &spec.baseline)?;
                    let c = if spec.aa {
                        prometheus::Series {
                            values: Vec::new(),
                            series: 0,
                        }
                    } else {
                        client.range(q, &spec.canary)?
                    };
                    Ok(Samples {
                        baseline: b.values,
                        canary: c.values,
                    })
                })
            }
        };
        if spec.aa {
            for s in samples.iter_mut().flatten() {
                *s = aa::split(&s.baseline);
            }
        }
        Ok(Fetched {
            samples,
            properties,
        })
    }
}

/// A number with 4 significant digits, without noise.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let magnitude = x.abs().log10().floor();
    if !(-4.0..6.0).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "0 to 7 decimals"
    )]
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", num(x))
    } else {
        num(x)
    }
}

fn pvalue(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// What the figures say about one metric, in a sentence.
fn describe(r: &MetricResult, confidence: f64) -> String {
    let mut out = format!(
        "canary median {} vs baseline {}",
        num(r.canary.median),
        num(r.baseline.median)
    );
    if let Some(s) = &r.shift {
        let _ = write!(out, ": shift {}", signed(s.estimate));
        if let Some(rel) = r.relative {
            let _ = write!(out, " ({}%)", signed(rel * 100.0));
        }
        let _ = write!(
            out,
            ", {}% interval [{}, {}]",
            num(confidence * 100.0),
            num(s.low),
            num(s.high)
        );
    }
    if let Some(p) = r.p_value {
        let _ = write!(out, ", p = {}", pvalue(p));
    }
    let _ = write!(out, "; tolerated ±{}", num(r.allowed));
    let _ = write!(
        out,
        " ({} + {}% of the baseline's median)",
        num(r.metric.tolerance_abs),
        num(r.metric.tolerance * 100.0)
    );
    out
}

/// What a judgement's cases are written with (from a `[[suite.canary]]` or a
/// `[[suite.shadow]]`).
pub(crate) struct Rules {
    confidence: f64,
    pass_score: f64,
    marginal_score: f64,
    marginal_passes: bool,
    aa: bool,
}

impl Rules {
    fn of(spec: &CanarySuite) -> Rules {
        Rules {
            confidence: spec.confidence,
            pass_score: spec.pass_score,
            marginal_score: spec.marginal_score,
            marginal_passes: spec.marginal_passes,
            aa: spec.aa,
        }
    }
}

/// The case of a metric the score judged: passed when fine; when worse, failed if it is
/// critical or the verdict fails, else passed saying it was tolerated.
fn judged_case(
    name: &str,
    figures: String,
    worse: Option<String>,
    critical: bool,
    verdict_passes: bool,
) -> Case {
    match worse {
        None => Case::passed(name).with_message(figures),
        Some(w) if critical => Case::failed(name, format!("{w}; the metric is critical")),
        Some(w) if verdict_passes => {
            Case::passed(name).with_message(format!("{w}; tolerated: the score passes"))
        }
        Some(w) => Case::failed(name, w),
    }
}

fn metric_case(
    r: &MetricResult,
    verdict_passes: bool,
    rules: &Rules,
    aa: Option<&AaFigures>,
) -> Case {
    let name = format!("metric {}", r.metric.name);
    let figures = describe(r, rules.confidence);
    let direction = r.metric.direction.as_str();
    let mut case = match r.class {
        Class::Error => Case::errored(
            &name,
            r.reason.clone().unwrap_or_else(|| "no samples".to_owned()),
        ),
        Class::NoData => {
            let why = r.reason.clone().unwrap_or_default();
            match r.metric.nodata {
                NoData::Ignore => {
                    Case::skipped(&name, format!("no data: {why}; left out of the score"))
                }
                NoData::Fail => Case::failed(&name, format!("no data: {why}; `nodata = \"fail\"`")),
                NoData::Inconclusive => Case::errored(
                    &name,
                    format!(
                        "no data: {why}; `nodata = \"inconclusive\"`: the verdict is Inconclusive"
                    ),
                ),
            }
        }
        Class::Pass => Case::passed(&name).with_message(format!("Pass: {figures}")),
        Class::High | Class::Low if !r.bad => Case::passed(&name).with_message(format!(
            "{}: {figures}; fine, a{} {} is what is bad",
            r.class.as_str(),
            if direction == "increase" { "n" } else { "" },
            direction
        )),
        Class::High | Class::Low => {
            let worse = format!(
                "{}: {figures}: the canary is worse (a{} {direction} is bad)",
                r.class.as_str(),
                if direction == "increase" { "n" } else { "" },
            );
            judged_case(
                &name,
                String::new(),
                Some(worse),
                r.metric.critical,
                verdict_passes,
            )
        }
    };
    if let Some(a) = aa {
        let mut note = String::new();
        if let Some(noise) = a.noise {
            let _ = write!(note, "noise floor {}%", num(noise * 100.0));
        }
        match a.needed {
            Some(n) => {
                let _ = write!(
                    note,
                    "{}detecting a shift of {} needs {} samples per side (the window has {}{})",
                    if note.is_empty() { "" } else { "; " },
                    num(r.allowed),
                    num(n),
                    a.available,
                    if n <= a.available as f64 {
                        ": enough"
                    } else {
                        ": too few, make the window longer or the step shorter"
                    }
                );
            }
            None if r.allowed == 0.0 => {
                note.push_str("; the tolerance is 0, so there is no sample size to give")
            }
            None => {}
        }
        if !note.is_empty() {
            let message = match case.message.take() {
                Some(m) => format!("A/A: {m}; {note}"),
                None => format!("A/A: {note}"),
            };
            case = case.with_message(message);
        }
        if let Some(noise) = a.noise {
            case = case.with_property("noise_floor", num(noise));
        }
        if let Some(n) = a.needed {
            case = case.with_property("samples_needed", num(n));
        }
        case = case.with_property("samples_available", a.available.to_string());
    }
    case = case
        .with_property("class", r.class.as_str())
        .with_property("direction", direction)
        .with_property("group", r.metric.group.clone())
        .with_property("critical", r.metric.critical.to_string())
        .with_property("baseline_count", r.baseline.count.to_string())
        .with_property("canary_count", r.canary.count.to_string())
        .with_property("allowed", num(r.allowed));
    if r.baseline.count > 0 {
        case = case
            .with_property("baseline_median", num(r.baseline.median))
            .with_property("baseline_mean", num(r.baseline.mean));
    }
    if r.canary.count > 0 {
        case = case
            .with_property("canary_median", num(r.canary.median))
            .with_property("canary_mean", num(r.canary.mean));
    }
    if r.baseline.dropped + r.canary.dropped > 0 {
        case = case.with_property(
            "dropped",
            (r.baseline.dropped + r.canary.dropped).to_string(),
        );
    }
    if let Some(u) = r.u {
        case = case.with_property("u", num(u));
    }
    if let Some(p) = r.p_value {
        case = case.with_property("p_value", format!("{p:e}"));
    }
    if let Some(s) = &r.shift {
        case = case
            .with_property("shift", num(s.estimate))
            .with_property("shift_low", num(s.low))
            .with_property("shift_high", num(s.high));
    }
    if let Some(rel) = r.relative {
        case = case.with_property("relative_shift", num(rel));
    }
    case
}

/// A/A figures of one metric.
struct AaFigures {
    noise: Option<f64>,
    needed: Option<f64>,
    available: usize,
}

fn verdict_case(j: &Judgement, spec: &Rules) -> Case {
    let score = j
        .score
        .map_or_else(|| "no score".to_owned(), |s| format!("score {}", num(s)));
    let groups = j
        .groups
        .iter()
        .map(|g| match g.score {
            Some(s) => format!("{} {} ({}/{})", g.name, num(s), g.passed, g.judged),
            None => format!("{} -", g.name),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let thresholds = format!(
        "Pass from {}, Marginal from {}",
        num(spec.pass_score),
        num(spec.marginal_score)
    );
    let mut message = format!(
        "{}: {score} ({thresholds}); groups: {groups}",
        j.verdict.as_str()
    );
    for r in &j.reasons {
        let _ = write!(message, "; {r}");
    }
    if spec.aa && j.verdict != Verdict::Pass && j.verdict != Verdict::Inconclusive {
        message.push_str(
            "; in A/A mode this means the baseline differs from itself: a metric is too noisy, or not steady over the window, to judge a canary by",
        );
    }
    let mut case = match j.verdict {
        Verdict::Pass => Case::passed("verdict").with_message(message),
        Verdict::Marginal if spec.marginal_passes => {
            Case::passed("verdict").with_message(format!("{message}; `marginal_passes` is set"))
        }
        Verdict::Marginal => Case::failed(
            "verdict",
            format!(
                "{message}; a Marginal canary needs review (set `marginal_passes` to let it pass)"
            ),
        ),
        Verdict::Fail => Case::failed("verdict", message),
        Verdict::Inconclusive => Case::errored("verdict", message),
    };
    case = case.with_property("verdict", j.verdict.as_str());
    if let Some(s) = j.score {
        case = case.with_property("score", num(s));
    }
    for g in &j.groups {
        if let Some(s) = g.score {
            case = case.with_property(format!("group.{}", g.name), num(s));
        }
    }
    case
}

/// Whether the verdict lets the run pass.
pub fn passes(verdict: Verdict, marginal_passes: bool) -> bool {
    verdict == Verdict::Pass || (verdict == Verdict::Marginal && marginal_passes)
}

/// The judgement's cases: one per metric, then the verdict.
pub fn cases(
    j: &Judgement,
    spec: &CanarySuite,
    halves: Option<&[Result<Samples, String>]>,
) -> Vec<Case> {
    let verdict_passes = passes(j.verdict, spec.marginal_passes);
    let mut out = Vec::with_capacity(j.metrics.len() + 1);
    for (i, r) in j.metrics.iter().enumerate() {
        let aa = halves.map(|h| AaFigures {
            noise: r.relative.map(f64::abs),
            needed: h[i].as_ref().ok().and_then(|s| {
                let delta = match r.metric.direction {
                    modelci_config::canary::Direction::Decrease => -r.allowed,
                    _ => r.allowed,
                };
                aa::samples_needed(s, delta, 1.0 - spec.confidence, spec.power)
            }),
            available: r.baseline.count + r.canary.count,
        });
        out.push(metric_case(
            r,
            verdict_passes,
            &Rules::of(spec),
            aa.as_ref(),
        ));
    }
    out.push(verdict_case(j, &Rules::of(spec)));
    out
}

/// A judgement and its cases.
pub struct Evaluation {
    /// The figures and the verdict.
    pub judgement: Judgement,
    /// One per metric, then the verdict.
    pub cases: Vec<Case>,
}

/// Fetches the samples and judges them: what the suite and `modelci canary serve` both do.
///
/// # Errors
/// The samples cannot be had at all (an unreadable file, a client that cannot be built); a
/// metric whose query alone fails is an errored metric instead.
pub fn evaluate(spec: &CanarySuite, jobs: usize) -> Result<Evaluation, String> {
    let check = CanaryCheck {
        spec: spec.clone(),
        location: Location::file(String::new()),
    };
    let fetched = check.fetch(jobs.max(1))?;
    let settings = Settings::of(spec);
    let judgement = judge::judge(spec, &fetched.samples, &settings, jobs.max(1));
    let halves = spec.aa.then_some(fetched.samples.as_slice());
    let mut out = cases(&judgement, spec, halves);
    for c in &mut out {
        for (k, v) in &fetched.properties {
            c.properties.insert(*k, v.clone());
        }
    }
    Ok(Evaluation {
        judgement,
        cases: out,
    })
}

impl Suite for CanaryCheck {
    fn plan(&self) -> Plan {
        Plan::Whole
    }

    fn run(&self, _indices: &[usize], ctx: &Context) -> Vec<Case> {
        let started = Instant::now();
        let mut out = match evaluate(&self.spec, ctx.jobs) {
            Ok(e) => e.cases,
            Err(m) => vec![Case::errored("verdict", m)],
        };
        for c in &mut out {
            c.location = Some(self.location.clone());
        }
        if let Some(last) = out.last_mut() {
            last.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        }
        out
    }

    fn properties(&self) -> Properties {
        let mut p = Properties::new();
        let spec = &self.spec;
        p.insert("mode", if spec.aa { "aa" } else { "canary" });
        let scope = |m: &std::collections::BTreeMap<String, String>| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        p.insert("baseline_scope", scope(&spec.baseline));
        if !spec.aa {
            p.insert("canary_scope", scope(&spec.canary));
        }
        p.insert("confidence", num(spec.confidence));
        p
    }
}

/// The outcome a verdict gives (for callers that judge without the runner).
pub fn outcome(verdict: Verdict, marginal_passes: bool) -> Outcome {
    match verdict {
        Verdict::Inconclusive => Outcome::Errored,
        v if passes(v, marginal_passes) => Outcome::Passed,
        _ => Outcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(132.123_456), "132.1");
        assert_eq!(num(0.012_345_6), "0.01235");
        assert_eq!(num(5.0), "5");
        assert_eq!(num(1.5e-7), "1.500e-7");
        assert_eq!(num(-30.4), "-30.4");
    }
}
