//! The Markdown summary of a run: the GitHub job summary, also readable anywhere Markdown is.

use std::fmt::Write as _;

use modelci_text::truncate;

use crate::{Outcome, Run, Suite, Verdict, diff};

/// Failed and errored cases detailed in the summary; the rest are counted. GitHub accepts at most
/// 1 MiB of job summary per step.
pub const MAX_DETAILED_CASES: usize = 50;
const MAX_TEXT: usize = 4000;

/// Renders the summary.
pub fn summary(run: &Run) -> String {
    let s = &run.summary;
    let mut out = String::new();
    let (icon, word) = match s.verdict {
        Verdict::Pass => ("✅", "passed"),
        Verdict::Fail => ("❌", "failed"),
        Verdict::Error => ("⚠️", "could not evaluate"),
    };
    let _ = writeln!(out, "## {icon} modelci: {word}\n");
    let mut facts = vec![format!(
        "**{}** cases: {} passed, {} failed, {} errored, {} skipped",
        s.total, s.passed, s.failed, s.errored, s.skipped
    )];
    facts.push(format!("{:.2} s", run.duration_ms / 1000.0));
    if !run.shards.is_empty() {
        let shards: Vec<String> = run.shards.iter().map(ToString::to_string).collect();
        facts.push(format!("shard {}", shards.join(", ")));
    }
    if let Some(config) = &run.config {
        facts.push(format!("config {}", code(config)));
    }
    if run.interrupted {
        facts.push("**interrupted**".into());
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));

    if !run.suites.is_empty() {
        out.push_str("| | Suite | Kind | Passed | Failed | Errored | Skipped | Time |\n");
        out.push_str("|---|---|---|---:|---:|---:|---:|---:|\n");
        for suite in &run.suites {
            let c = &suite.summary;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {:.2} s |",
                suite_icon(suite),
                cell(&suite.name),
                cell(&suite.kind),
                c.passed,
                c.failed,
                c.errored,
                c.skipped,
                suite.duration_ms / 1000.0
            );
        }
        out.push('\n');
    }
    load_table(&mut out, run);

    let bad: Vec<_> = run
        .cases()
        .filter(|(_, c)| matches!(c.outcome, Outcome::Failed | Outcome::Errored))
        .collect();
    if bad.is_empty() {
        return out;
    }
    out.push_str("### Failures and errors\n\n");
    for (suite, case) in bad.iter().take(MAX_DETAILED_CASES) {
        let icon = if case.outcome == Outcome::Errored {
            "⚠️"
        } else {
            "❌"
        };
        let message = case.message.as_deref().unwrap_or(case.outcome.as_str());
        let _ = writeln!(
            out,
            "<details><summary>{icon} <code>{}</code> › <code>{}</code>: {}</summary>\n",
            html(&suite.name),
            html(&case.name),
            html(first_line(message))
        );
        if let Some(loc) = &case.location {
            let _ = writeln!(out, "at {}\n", code(&loc.to_string()));
        }
        if message.contains('\n') {
            out.push_str(&fenced("text", message));
        }
        match (&case.expected, &case.actual) {
            (Some(e), Some(a)) => match diff::unified(e, a) {
                Some(d) => out.push_str(&fenced("diff", &d)),
                None => {
                    let _ = writeln!(out, "expected {} · actual {}\n", code(e), code(a));
                }
            },
            (Some(e), None) => out.push_str(&fenced("text", &format!("expected:\n{e}"))),
            (None, Some(a)) => out.push_str(&fenced("text", &format!("actual:\n{a}"))),
            (None, None) => {}
        }
        if let Some(d) = &case.detail {
            out.push_str(&fenced("text", d));
        }
        out.push_str("</details>\n\n");
    }
    if bad.len() > MAX_DETAILED_CASES {
        let _ = writeln!(
            out,
            "… and {} more failed or errored case(s); see the JUnit or JSON report.\n",
            bad.len() - MAX_DETAILED_CASES
        );
    }
    out
}

/// The figures of load suites (`kind = "load"`): rates, latency percentiles, failures.
fn load_table(out: &mut String, run: &Run) {
    let loads: Vec<&Suite> = run
        .suites
        .iter()
        .filter(|s| s.kind == "load" && s.properties.get("p50_ms").is_some())
        .collect();
    if loads.is_empty() {
        return;
    }
    out.push_str("### Load\n\n");
    out.push_str(
        "| Suite | req/s | target | p50 ms | p95 ms | p99 ms | max ms | failed | dropped |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for suite in loads {
        let p = |k: &str| {
            suite
                .properties
                .get(k)
                .map_or_else(|| "–".to_owned(), |v| cell(v))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&suite.name),
            p("achieved_rps"),
            p("target_rps"),
            p("p50_ms"),
            p("p95_ms"),
            p("p99_ms"),
            p("max_ms"),
            p("failed"),
            p("dropped"),
        );
    }
    out.push('\n');
}

fn suite_icon(suite: &Suite) -> &'static str {
    match suite.summary.verdict {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
        Verdict::Error => "⚠️",
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Escapes text for a table cell.
fn cell(s: &str) -> String {
    html(s).replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline code that survives backticks and pipes in the text.
fn code(s: &str) -> String {
    format!("<code>{}</code>", cell(s))
}

/// A fenced block whose fence is longer than any run of backticks inside `text`.
fn fenced(lang: &str, text: &str) -> String {
    let text = truncate(text, MAX_TEXT);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let nl = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{lang}\n{text}{nl}{fence}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn load_suites_get_a_table_of_their_figures() {
        let mut run = Run::new("1.0.0");
        let mut suite = Suite::new("serving-slo", "load");
        for (k, v) in [
            ("achieved_rps", "49.80"),
            ("target_rps", "50.00"),
            ("p50_ms", "1.700"),
            ("p95_ms", "2.800"),
            ("p99_ms", "2.900"),
            ("max_ms", "3.100"),
            ("failed", "0"),
            ("dropped", "1"),
        ] {
            suite.properties.insert(k, v);
        }
        suite.cases.push(crate::Case::passed("p(99)<250ms"));
        suite.refresh_summary();
        run.suites.push(suite);
        run.refresh_summary();
        let md = summary(&run);
        assert!(md.contains("### Load\n"), "{md}");
        assert!(
            md.contains("| serving-slo | 49.80 | 50.00 | 1.700 | 2.800 | 2.900 | 3.100 | 0 | 1 |"),
            "{md}"
        );
        assert!(!summary(&sample::run()).contains("### Load"));
    }

    #[test]
    fn snapshot_of_sample_summary() {
        insta::assert_snapshot!(summary(&sample::run()));
    }

    #[test]
    fn fences_outgrow_backticks_in_the_text() {
        assert_eq!(fenced("text", "a ```` b"), "`````text\na ```` b\n`````\n\n");
    }

    #[test]
    fn a_passing_run_has_no_failure_section() {
        let mut run = sample::run();
        run.suites.truncate(1);
        run.suites[0].cases.truncate(1);
        run.refresh_summary();
        let md = summary(&run);
        assert!(md.starts_with("## ✅ modelci: passed"), "{md}");
        assert!(!md.contains("Failures"), "{md}");
    }
}
