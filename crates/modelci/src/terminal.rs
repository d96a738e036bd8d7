//! The terminal summary of a run and the progress bar.
//!
//! Colour is used when stdout is a terminal and `NO_COLOR` is not set (console's rules, which
//! also honour `CLICOLOR` and `CLICOLOR_FORCE`); the progress bar draws on stderr only when it
//! is a terminal.

use std::fmt::Write as _;
use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use modelci_report::{Case, Outcome, Run, Suite, Verdict, diff};

/// Failed or errored cases shown in detail; the rest are counted (the reports hold them all).
const MAX_SHOWN: usize = 30;
/// Longest text block shown for one case.
const MAX_BLOCK_LINES: usize = 40;

/// Whether stdout should get colour.
pub fn colour_stdout() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && console::colors_enabled()
}

/// Whether the summary is coloured when it goes to stderr (a report holds stdout).
pub fn colour_stderr() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && console::colors_enabled_stderr()
}

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
/// (message, location, expected vs actual as a diff), totals and the verdict.
pub fn render(run: &Run, colour: bool) -> String {
    let p = Paint { on: colour };
    let mut out = String::new();
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
        for case in &suite.cases {
            if !matches!(case.outcome, Outcome::Failed | Outcome::Errored) {
                continue;
            }
            if shown == MAX_SHOWN {
                hidden += 1;
                continue;
            }
            shown += 1;
            case_block(&mut out, &p, case);
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
    out
}

fn suite_line(out: &mut String, p: &Paint, suite: &Suite) {
    let c = &suite.summary;
    let tag = match c.verdict {
        Verdict::Pass => p.green("PASS "),
        Verdict::Fail => p.red("FAIL "),
        Verdict::Error => p.yellow("ERROR"),
    };
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
    let _ = writeln!(
        out,
        "{tag} {} {} · {} {}",
        p.bold(&escape_controls(&suite.name)),
        p.dim(&format!("({})", suite.kind)),
        parts.join(", "),
        p.dim(&format!("· {}", seconds(suite.duration_ms)))
    );
}

fn case_block(out: &mut String, p: &Paint, case: &Case) {
    let case = &escaped(case);
    let mark = if case.outcome == Outcome::Failed {
        p.red("✗")
    } else {
        p.yellow("!")
    };
    let _ = writeln!(out, "  {mark} {}", case.name);
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

/// The progress bar on stderr, drawn only when stderr is a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
    reported: usize,
}

/// Failed or errored cases printed above the progress bar as they happen.
const MAX_LIVE_FAILURES: usize = 20;

impl Progress {
    pub fn new() -> Progress {
        let target = ProgressDrawTarget::stderr();
        if target.is_hidden() {
            return Progress {
                bar: None,
                reported: 0,
            };
        }
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} cases {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bar: Some(bar),
            reported: 0,
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl modelci_runner::Observer for Progress {
    fn planned(&mut self, total: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
        }
    }

    fn finished(&mut self, suite: &str, case: &Case) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!("{suite} › {}", case.name));
            if matches!(case.outcome, Outcome::Failed | Outcome::Errored)
                && self.reported < MAX_LIVE_FAILURES
            {
                self.reported += 1;
                bar.println(format!("{} {suite} › {}", case.outcome, case.name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelci_report::sample;

    #[test]
    fn snapshot_of_sample_run_without_colour() {
        insta::assert_snapshot!(render(&sample::run(), false));
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
        let text = render(&run, false);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\r'),
            "{text:?}"
        );
        assert!(text.contains("\\u{1b}[2J"), "{text}");
        assert!(text.contains("next line"), "{text}");
    }

    #[test]
    fn colour_marks_the_verdict() {
        let text = render(&sample::run(), true);
        assert!(text.contains("\u{1b}["), "{text}");
        assert!(console::strip_ansi_codes(&text).contains("verdict: ERROR (exit 2)"));
    }

    #[test]
    fn passing_runs_say_so() {
        let mut run = sample::run();
        run.suites.truncate(1);
        run.suites[0].cases.truncate(1);
        run.refresh_summary();
        let text = render(&run, false);
        assert!(
            text.ends_with("verdict: PASS (exit 0): every case passed\n"),
            "{text}"
        );
    }
}
