//! The terminal summary of a run and the progress shown while it runs.
//!
//! Colour follows `--color` (see [`crate::output::colour`]). While a run executes, stderr shows a
//! progress bar when it is a terminal; otherwise (a CI log) a line per finished suite and, every
//! `MODELCI_PROGRESS_SECS` seconds (default 10), a heartbeat line per suite still running, so a
//! long run is never silent. `--quiet` shows neither; `--verbose` adds a line per finished case.

use std::fmt::Write as _;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use modelci_report::{Case, Counts, Outcome, Run, Suite, Verdict, diff};

use crate::output::Verbosity;

/// Failed or errored cases shown in detail; the rest are counted (the reports hold them all).
const MAX_SHOWN: usize = 30;
/// Longest text block shown for one case.
const MAX_BLOCK_LINES: usize = 40;

/// `text` with control characters other than newline and tab written as `\u{..}` escapes.
pub(crate) fn escape_controls(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A copy of a case about to be shown, its texts' control characters escaped: text that came
/// from a service or a file may hold an ANSI escape or a carriage return, and nothing a provider
/// sends may drive the terminal. Only shown cases are copied.
fn escaped(case: &Case) -> Case {
    let mut case = case.clone();
    case.name = escape_controls(&case.name);
    case.map_texts(escape_controls);
    case
}

struct Paint {
    on: bool,
}

impl Paint {
    fn apply(&self, style: &Style, text: &str) -> String {
        if self.on {
            style.clone().force_styling(true).apply_to(text).to_string()
        } else {
            text.to_owned()
        }
    }
    fn red(&self, t: &str) -> String {
        self.apply(&Style::new().red().bold(), t)
    }
    fn green(&self, t: &str) -> String {
        self.apply(&Style::new().green().bold(), t)
    }
    fn yellow(&self, t: &str) -> String {
        self.apply(&Style::new().yellow().bold(), t)
    }
    fn dim(&self, t: &str) -> String {
        self.apply(&Style::new().dim(), t)
    }
    fn bold(&self, t: &str) -> String {
        self.apply(&Style::new().bold(), t)
    }
    fn minus(&self, t: &str) -> String {
        self.apply(&Style::new().red(), t)
    }
    fn plus(&self, t: &str) -> String {
        self.apply(&Style::new().green(), t)
    }
}

/// Renders the summary of a run: one line per suite, the failed and errored cases in detail
/// (message, location, expected vs actual as a diff), each threshold's case with its measured
/// value, totals and the verdict. `Quiet`: the verdict line alone. `Verbose`: every case, with
/// its time.
pub fn render(run: &Run, colour: bool, verbosity: Verbosity) -> String {
    let p = Paint { on: colour };
    let mut out = String::new();
    if verbosity == Verbosity::Quiet {
        verdict_line(&mut out, &p, run);
        return out;
    }
    let verbose = verbosity == Verbosity::Verbose;
    let mut head = format!("modelci {}", run.tool.version);
    if let Some(config) = &run.config {
        let _ = write!(head, " · {config}");
    }
    for shard in &run.shards {
        let _ = write!(head, " · shard {shard}");
    }
    let _ = writeln!(out, "{}\n", p.bold(&head));

    if run.suites.is_empty() {
        let _ = writeln!(out, "no suites to run\n");
    }
    let mut shown = 0;
    let mut hidden = 0;
    for suite in &run.suites {
        suite_line(&mut out, &p, suite);
        // A Pact Broker's notices (why each pact was selected, whether it is pending).
        if let Some(notices) = suite.properties.get("broker_notices") {
            for n in notices.lines() {
                let _ = writeln!(
                    out,
                    "  {}",
                    p.dim(&format!("broker: {}", escape_controls(n)))
                );
            }
        }
        load_line(&mut out, &p, suite);
        for case in &suite.cases {
            if !matches!(case.outcome, Outcome::Failed | Outcome::Errored) {
                if verbose || is_threshold(case) || is_broker_note(case) || suite.kind == "load" {
                    case_line(&mut out, &p, case, verbose);
                }
                continue;
            }
            if shown == MAX_SHOWN {
                hidden += 1;
                continue;
            }
            shown += 1;
            case_block(&mut out, &p, case, verbose);
        }
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  … {hidden} more failed or errored case(s): see the JUnit or JSON report"
        );
    }

    let s = &run.summary;
    let _ = writeln!(
        out,
        "\n{} case{}: {}, {}, {}, {} in {}",
        s.total,
        if s.total == 1 { "" } else { "s" },
        paint_count(&p, s.passed, "passed", Outcome::Passed),
        paint_count(&p, s.failed, "failed", Outcome::Failed),
        paint_count(&p, s.errored, "errored", Outcome::Errored),
        paint_count(&p, s.skipped, "skipped", Outcome::Skipped),
        seconds(run.duration_ms)
    );
    if run.interrupted {
        let _ = writeln!(
            out,
            "{}",
            p.yellow("the run was interrupted before every case ran")
        );
    }
    verdict_line(&mut out, &p, run);
    out
}

/// `verdict: PASS (exit 0): every case passed`.
fn verdict_line(out: &mut String, p: &Paint, run: &Run) {
    let s = &run.summary;
    let verdict = match s.verdict {
        Verdict::Pass => p.green("PASS"),
        Verdict::Fail => p.red("FAIL"),
        Verdict::Error => p.yellow("ERROR"),
    };
    let why = match s.verdict {
        Verdict::Pass => "every case passed".to_owned(),
        Verdict::Fail => format!("{} case(s) failed", s.failed),
        Verdict::Error if run.interrupted => "interrupted".to_owned(),
        Verdict::Error => format!("{} case(s) could not be evaluated", s.errored),
    };
    let _ = writeln!(
        out,
        "verdict: {verdict} (exit {}): {why}",
        s.verdict.exit_code()
    );
}

/// A case that judges a measured value against a threshold (the gate's): it is always shown
/// with its value, passing or not.
/// A load suite's figures under its line: the rate, the latency percentiles, what failed or
/// could not start.
fn load_line(out: &mut String, p: &Paint, suite: &Suite) {
    if suite.kind != "load" {
        return;
    }
    let get = |k: &str| suite.properties.get(k).map(String::as_str);
    let Some(p50) = get("p50_ms") else {
        return;
    };
    let mut parts = Vec::new();
    if let Some(rps) = get("achieved_rps") {
        parts.push(match get("target_rps") {
            Some(t) => format!("{rps} req/s (target {t})"),
            None => format!("{rps} req/s"),
        });
    }
    if let Some(max) = get("max_rps") {
        parts.push(format!("highest rate that held {max} req/s"));
    }
    parts.push(format!(
        "p50 {p50} · p95 {} · p99 {} · max {} ms",
        get("p95_ms").unwrap_or("–"),
        get("p99_ms").unwrap_or("–"),
        get("max_ms").unwrap_or("–")
    ));
    parts.push(format!(
        "{} failed · {} dropped",
        get("failed").unwrap_or("0"),
        get("dropped").unwrap_or("0")
    ));
    if let Some(shard) = get("shard") {
        parts.push(format!("shard {shard}"));
    }
    let _ = writeln!(out, "  {}", p.dim(&escape_controls(&parts.join(" · "))));
}

fn is_threshold(case: &Case) -> bool {
    case.properties.get("threshold").is_some()
}

/// A case that the Pact Broker part of a pact suite always shows: a pending pact's failure
/// (skipped: it does not fail the build) and the publishing of verification results.
fn is_broker_note(case: &Case) -> bool {
    case.properties.get("pending_outcome").is_some()
        || case.name == modelci_contract::pact_broker::PUBLISH_CASE
}

/// A measured value for the terminal: at most 4 decimals (the reports keep every digit).
fn short_number(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() != 0.0 => {
            let t = format!("{v:.4}");
            let t = t.trim_end_matches('0').trim_end_matches('.');
            if t == "0" || t == "-0" {
                format!("{v:.3e}")
            } else {
                t.to_owned()
            }
        }
        _ => text.to_owned(),
    }
}

/// `measured 0.93 · threshold >= 0.9 (higher is better) · baseline 0.91`, for threshold cases.
fn measured(case: &Case) -> Option<String> {
    // A load threshold: its measured value and unit.
    if let (Some(v), Some(unit)) = (case.properties.get("measured"), case.properties.get("unit")) {
        return Some(
            format!("measured {} {unit}", short_number(v))
                .trim_end()
                .to_owned(),
        );
    }
    if !is_threshold(case) {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(v) = case.properties.get("candidate") {
        parts.push(format!("measured {}", short_number(v)));
    }
    if let Some(t) = case.properties.get("threshold") {
        parts.push(format!("threshold {t}"));
    }
    if let Some(b) = case.properties.get("baseline") {
        parts.push(format!("baseline {}", short_number(b)));
    }
    Some(parts.join(" · "))
}

/// One line for a passed or skipped case: its mark, name, measured value (thresholds), why it
/// was skipped, and its time (verbose).
fn case_line(out: &mut String, p: &Paint, case: &Case, verbose: bool) {
    let case = &escaped(case);
    let mark = match case.outcome {
        Outcome::Passed => p.green("✓"),
        _ => p.dim("-"),
    };
    let mut line = format!("  {mark} {}", case.name);
    if let Some(m) = measured(case) {
        let _ = write!(line, ": {m}");
    }
    if case.outcome == Outcome::Skipped
        && let Some(why) = case.message.as_deref().and_then(|m| m.lines().next())
    {
        let _ = write!(line, " {}", p.dim(&format!("(skipped: {why})")));
    }
    if verbose {
        let _ = write!(
            line,
            " {}",
            p.dim(&format!("· {}", seconds(case.duration_ms)))
        );
    }
    let _ = writeln!(out, "{line}");
}

fn suite_line(out: &mut String, p: &Paint, suite: &Suite) {
    let c = &suite.summary;
    let tag = match c.verdict {
        Verdict::Pass => p.green("PASS "),
        Verdict::Fail => p.red("FAIL "),
        Verdict::Error => p.yellow("ERROR"),
    };
    let _ = writeln!(
        out,
        "{tag} {} {} · {} {}",
        p.bold(&escape_controls(&suite.name)),
        p.dim(&format!("({})", suite.kind)),
        counts_text(p, c),
        p.dim(&format!("· {}", seconds(suite.duration_ms)))
    );
}

fn case_block(out: &mut String, p: &Paint, case: &Case, verbose: bool) {
    let case = &escaped(case);
    let mark = if case.outcome == Outcome::Failed {
        p.red("✗")
    } else {
        p.yellow("!")
    };
    let mut head = format!("  {mark} {}", case.name);
    // A measured value that was judged shows as `actual` below; one that was not, here.
    if case.actual.is_none()
        && let Some(m) = measured(case)
    {
        let _ = write!(head, ": {m}");
    }
    if verbose {
        let _ = write!(
            head,
            " {}",
            p.dim(&format!("· {}", seconds(case.duration_ms)))
        );
    }
    let _ = writeln!(out, "{head}");
    let pad = "      ";
    if let Some(loc) = &case.location {
        let _ = writeln!(out, "{pad}{}", p.dim(&format!("at {loc}")));
    }
    if let Some(m) = &case.message {
        block(out, pad, m);
    }
    match (&case.expected, &case.actual) {
        (Some(e), Some(a)) => match diff::unified(e, a) {
            Some(d) => {
                for line in d.lines().take(MAX_BLOCK_LINES) {
                    let line = if line.starts_with('-') && !line.starts_with("---") {
                        p.minus(line)
                    } else if line.starts_with('+') && !line.starts_with("+++") {
                        p.plus(line)
                    } else {
                        p.dim(line)
                    };
                    let _ = writeln!(out, "{pad}{line}");
                }
            }
            None => {
                let _ = writeln!(out, "{pad}expected: {}", p.minus(e));
                let _ = writeln!(out, "{pad}actual:   {}", p.plus(a));
            }
        },
        (Some(e), None) => {
            let _ = writeln!(out, "{pad}expected:");
            block(out, &format!("{pad}  "), e);
        }
        (None, Some(a)) => {
            let _ = writeln!(out, "{pad}actual:");
            block(out, &format!("{pad}  "), a);
        }
        (None, None) => {}
    }
    if let Some(d) = &case.detail {
        let shown: String = d
            .lines()
            .take(MAX_BLOCK_LINES)
            .collect::<Vec<_>>()
            .join("\n");
        block(out, pad, &p.dim(&shown));
    }
}

fn block(out: &mut String, pad: &str, text: &str) {
    let total = text.lines().count();
    for line in text.lines().take(MAX_BLOCK_LINES) {
        let _ = writeln!(out, "{pad}{line}");
    }
    if total > MAX_BLOCK_LINES {
        let _ = writeln!(out, "{pad}… {} more lines", total - MAX_BLOCK_LINES);
    }
}

fn paint_count(p: &Paint, n: usize, word: &str, outcome: Outcome) -> String {
    let text = format!("{n} {word}");
    if n == 0 {
        return text;
    }
    match outcome {
        Outcome::Passed => p.green(&text),
        Outcome::Failed => p.red(&text),
        Outcome::Errored => p.yellow(&text),
        Outcome::Skipped => p.dim(&text),
    }
}

fn seconds(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// `3 passed, 1 failed` (zero counts left out; `no cases` when all are zero).
fn counts_text(p: &Paint, c: &Counts) -> String {
    let mut parts = Vec::new();
    for (n, word, outcome) in [
        (c.passed, "passed", Outcome::Passed),
        (c.failed, "failed", Outcome::Failed),
        (c.errored, "errored", Outcome::Errored),
        (c.skipped, "skipped", Outcome::Skipped),
    ] {
        if n > 0 {
            parts.push(paint_count(p, n, word, outcome));
        }
    }
    if parts.is_empty() {
        parts.push("no cases".into());
    }
    parts.join(", ")
}

/// Failed or errored cases printed above the progress bar as they happen.
const MAX_LIVE_FAILURES: usize = 20;
/// Seconds between heartbeat lines when `MODELCI_PROGRESS_SECS` does not say.
const HEARTBEAT_SECS: f64 = 10.0;

/// A suite that is running, for the heartbeat.
struct Running {
    name: String,
    started: Instant,
    done: usize,
    cases: Option<usize>,
}

/// Progress on stderr while a run executes: a bar on a terminal, lines in a log, nothing with
/// `--quiet`.
pub struct Progress {
    mode: Mode,
    paint: Paint,
    verbose: bool,
    /// Whether a finished suite gets its line (not when the run has one suite: its summary
    /// follows at once).
    suite_lines: bool,
    reported: usize,
    running: Arc<Mutex<Vec<Running>>>,
    /// Dropping it stops the heartbeat thread.
    heartbeat: Option<mpsc::Sender<()>>,
}

enum Mode {
    Off,
    Bar(ProgressBar),
    Lines,
}

impl Progress {
    pub fn new() -> Progress {
        let verbosity = crate::output::verbosity();
        let paint = Paint {
            on: crate::output::colour(crate::output::Stream::Stderr),
        };
        let mut progress = Progress {
            mode: Mode::Off,
            paint,
            verbose: verbosity == Verbosity::Verbose,
            suite_lines: true,
            reported: 0,
            running: Arc::new(Mutex::new(Vec::new())),
            heartbeat: None,
        };
        if verbosity == Verbosity::Quiet {
            return progress;
        }
        let target = ProgressDrawTarget::stderr();
        if target.is_hidden() {
            progress.mode = Mode::Lines;
            progress.heartbeat = Some(heartbeat(Arc::clone(&progress.running), heartbeat_every()));
            return progress;
        }
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} cases {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        progress.mode = Mode::Bar(bar);
        progress
    }

    /// For a run of one suite: no line when it finishes (the summary says it at once); the
    /// heartbeat stays.
    #[must_use]
    pub fn one_suite(mut self) -> Progress {
        self.suite_lines = false;
        self
    }

    pub fn finish(&mut self) {
        self.heartbeat = None;
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }

    /// A line above the bar, or on stderr.
    fn say(&self, line: &str) {
        match &self.mode {
            Mode::Off => {}
            Mode::Bar(bar) => bar.println(line),
            Mode::Lines => {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Vec<Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Seconds between heartbeat lines: `MODELCI_PROGRESS_SECS` (a positive number), else 10.
fn heartbeat_every() -> Duration {
    let secs = std::env::var("MODELCI_PROGRESS_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(HEARTBEAT_SECS);
    Duration::from_secs_f64(secs.max(0.05))
}

/// Starts the thread that, every `every`, prints a line per suite that has run that long:
/// `still running NAME: 3/10 cases done, 40 s`. It stops when the returned sender is dropped.
fn heartbeat(running: Arc<Mutex<Vec<Running>>>, every: Duration) -> mpsc::Sender<()> {
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            let lines: Vec<String> = running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .filter(|r| r.started.elapsed() >= every)
                .map(heartbeat_line)
                .collect();
            if lines.is_empty() {
                continue;
            }
            use std::io::Write;
            let mut err = std::io::stderr().lock();
            for line in lines {
                let _ = writeln!(err, "{line}");
            }
        }
    });
    stop
}

fn heartbeat_line(r: &Running) -> String {
    let name = escape_controls(&r.name);
    let secs = r.started.elapsed().as_secs();
    match r.cases {
        Some(total) => format!(
            "still running {name}: {}/{total} cases done, {secs} s",
            r.done
        ),
        None => format!("still running {name}: {secs} s"),
    }
}

impl modelci_runner::Observer for Progress {
    fn planned(&mut self, total: usize) {
        if let Mode::Bar(bar) = &self.mode {
            bar.set_length(total as u64);
        }
    }

    fn suite_started(&mut self, suite: &str, cases: Option<usize>) {
        if matches!(self.mode, Mode::Off) {
            return;
        }
        self.running().push(Running {
            name: suite.to_owned(),
            started: Instant::now(),
            done: 0,
            cases,
        });
        if self.verbose && matches!(self.mode, Mode::Lines) {
            let n = cases.map_or_else(String::new, |n| {
                format!(" ({n} case{})", if n == 1 { "" } else { "s" })
            });
            self.say(&format!("started {}{n}", escape_controls(suite)));
        }
    }

    fn finished(&mut self, suite: &str, case: &Case) {
        if let Some(r) = self.running().iter_mut().find(|r| r.name == suite) {
            r.done += 1;
        }
        let failed = matches!(case.outcome, Outcome::Failed | Outcome::Errored);
        match &self.mode {
            Mode::Off => {}
            Mode::Bar(bar) => {
                bar.inc(1);
                bar.set_message(format!("{suite} › {}", escape_controls(&case.name)));
                if failed && self.reported < MAX_LIVE_FAILURES {
                    self.reported += 1;
                    bar.println(format!(
                        "{} {} › {}",
                        case.outcome,
                        escape_controls(suite),
                        escape_controls(&case.name)
                    ));
                }
            }
            Mode::Lines if self.verbose => self.say(&format!(
                "  {} {} › {} · {}",
                case.outcome,
                escape_controls(suite),
                escape_controls(&case.name),
                seconds(case.duration_ms)
            )),
            Mode::Lines => {}
        }
    }

    fn suite_finished(&mut self, done: &modelci_runner::SuiteDone<'_>) {
        self.running().retain(|r| r.name != done.name);
        if !self.suite_lines {
            return;
        }
        if matches!(self.mode, Mode::Lines) || (self.verbose && matches!(self.mode, Mode::Bar(_))) {
            let p = &self.paint;
            self.say(&format!(
                "finished {} {}: {} in {}",
                escape_controls(done.name),
                p.dim(&format!("({})", done.kind)),
                counts_text(p, &done.counts),
                seconds(done.elapsed.as_secs_f64() * 1000.0)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelci_report::sample;

    #[test]
    fn snapshot_of_sample_run_without_colour() {
        insta::assert_snapshot!(render(&sample::run(), false, Verbosity::Normal));
    }

    #[test]
    fn control_bytes_from_a_provider_are_shown_escaped() {
        let mut run = sample::run();
        let case = run
            .suites
            .iter_mut()
            .flat_map(|s| s.cases.iter_mut())
            .find(|c| c.outcome == Outcome::Failed)
            .expect("a failed case");
        case.message = Some("body: \u{1b}[2J\u{1b}]0;pwned\u{7}gone\rover\nnext line".into());
        let text = render(&run, false, Verbosity::Normal);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\r'),
            "{text:?}"
        );
        assert!(text.contains("\\u{1b}[2J"), "{text}");
        assert!(text.contains("next line"), "{text}");
    }

    #[test]
    fn colour_marks_the_verdict() {
        let text = render(&sample::run(), true, Verbosity::Normal);
        assert!(text.contains("\u{1b}["), "{text}");
        assert!(console::strip_ansi_codes(&text).contains("verdict: ERROR (exit 2)"));
    }

    #[test]
    fn quiet_is_the_verdict_line_and_verbose_lists_every_case_with_its_time() {
        let run = sample::run();
        let quiet = render(&run, false, Verbosity::Quiet);
        assert_eq!(quiet.lines().count(), 1, "{quiet}");
        assert!(quiet.starts_with("verdict: "), "{quiet}");
        let normal = render(&run, false, Verbosity::Normal);
        let verbose = render(&run, false, Verbosity::Verbose);
        let passed = run
            .cases()
            .filter(|(_, c)| c.outcome == Outcome::Passed)
            .count();
        assert!(passed > 0);
        assert_eq!(normal.matches("  ✓ ").count(), 0, "{normal}");
        assert_eq!(verbose.matches("  ✓ ").count(), passed, "{verbose}");
    }

    #[test]
    fn a_threshold_case_shows_its_measured_value_passing_or_not() {
        let mut run = sample::run();
        run.suites.truncate(1);
        run.suites[0].cases = vec![
            Case::passed("f1_score")
                .with_property("candidate", "0.94412345")
                .with_property("baseline", "0.93")
                .with_property("threshold", ">= 0.9 (higher is better)"),
        ];
        run.refresh_summary();
        let text = render(&run, false, Verbosity::Normal);
        assert!(
            text.contains(
                "  ✓ f1_score: measured 0.9441 · threshold >= 0.9 (higher is better) · baseline 0.93\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn measured_values_are_shortened_for_the_terminal_only() {
        assert_eq!(short_number("0.944123456"), "0.9441");
        assert_eq!(short_number("12"), "12");
        assert_eq!(short_number("0.00001234"), "1.234e-5");
        assert_eq!(short_number("NaN"), "NaN");
        assert_eq!(short_number("n/a"), "n/a");
    }

    #[test]
    fn heartbeat_lines_say_how_far_a_suite_is() {
        let r = Running {
            name: "golden".into(),
            started: Instant::now(),
            done: 3,
            cases: Some(10),
        };
        assert_eq!(
            heartbeat_line(&r),
            "still running golden: 3/10 cases done, 0 s"
        );
        let whole = Running { cases: None, ..r };
        assert_eq!(heartbeat_line(&whole), "still running golden: 0 s");
    }

    #[test]
    fn passing_runs_say_so() {
        let mut run = sample::run();
        run.suites.truncate(1);
        run.suites[0].cases.truncate(1);
        run.refresh_summary();
        let text = render(&run, false, Verbosity::Normal);
        assert!(
            text.ends_with("verdict: PASS (exit 0): every case passed\n"),
            "{text}"
        );
    }
}
