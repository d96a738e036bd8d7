//! Benchmark: write every report for a run of 100,000 cases.
//!
//! Target (issue 2): under 1 s and under 200 MB peak memory on the 2-core CI machine, for
//! JUnit + JSON + Markdown summary + GitHub annotations together. Run with
//! `bench/report-writing.sh` (or `cargo bench -p modelci-report --bench write_reports`).
//! Prints the timings, the peak resident memory (VmHWM) and the ratios to the targets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::time::Instant;

use modelci_report::{Case, Location, Outcome, Run, Suite, github, json, junit, markdown};

const CASES: usize = 100_000;
const SUITES: usize = 20;

fn build() -> Run {
    let mut run = Run::new("bench");
    run.started_at = Some("2026-01-02T03:04:05+00:00".into());
    run.config = Some("modelci.toml".into());
    for s in 0..SUITES {
        let mut suite = Suite::new(format!("suite-{s:02}"), "json-schema");
        suite.location = Some(Location::line("modelci.toml", 4 + s as u32 * 5));
        suite
            .properties
            .insert("schema", "contracts/prediction.schema.json");
        for i in 0..CASES / SUITES {
            let n = s * (CASES / SUITES) + i;
            let name = format!("recorded/responses/{n:06}.json");
            let mut case = match n % 100 {
                0..=89 => Case::new(&name, Outcome::Passed),
                90..=97 => {
                    let mut c = Case::failed(
                        &name,
                        format!("/outputs/0/data/{i}: {n}.5 is greater than the maximum of 1"),
                    );
                    c.expected = Some("maximum: 1".into());
                    c.actual = Some(format!("{n}.5"));
                    c.detail = Some(format!(
                        "2 violations of `contracts/prediction.schema.json`:\n  /outputs/0/data/{i}: too big\n  /label: \"x\" is not one of \"cat\", \"dog\""
                    ));
                    c
                }
                98 => Case::errored(&name, format!("failed to read `{name}`: no such file")),
                _ => Case::skipped(&name, "not run: the run was interrupted"),
            };
            case.duration_ms = 0.25;
            case.location = Some(Location::line(&name, 1 + (n % 40) as u32));
            case.properties.insert("violations", "2");
            suite.cases.push(case);
        }
        run.suites.push(suite);
    }
    run.refresh_summary();
    run
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let dir = std::env::temp_dir().join(format!("modelci-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let t = Instant::now();
    let run = build();
    let build_s = t.elapsed().as_secs_f64();
    let after_build = peak_rss_mib();

    let t = Instant::now();
    junit::write_file(&run, &dir.join("junit.xml")).expect("junit");
    let junit_s = t.elapsed().as_secs_f64();
    let after_junit = peak_rss_mib();
    let t = Instant::now();
    json::write_file(&run, &dir.join("report.json")).expect("json");
    let json_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let md = markdown::summary(&run);
    let annotations = github::annotations(&run, None);
    let outputs = github::outputs(&run);
    let github_s = t.elapsed().as_secs_f64();
    let total = junit_s + json_s + github_s;
    let peak = peak_rss_mib();

    let size = |f: &str| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()) / 1024;
    println!("cases:                 {}", run.summary.total);
    println!(
        "peak RSS after building the run: {after_build:.0?} MiB, after JUnit: {after_junit:.0?} MiB"
    );
    println!("build run (not timed): {build_s:.3} s");
    println!(
        "JUnit XML:             {junit_s:.3} s ({} KiB)",
        size("junit.xml")
    );
    println!(
        "JSON:                  {json_s:.3} s ({} KiB)",
        size("report.json")
    );
    println!(
        "GitHub (summary, annotations, outputs): {github_s:.3} s ({} + {} + {} bytes)",
        md.len(),
        annotations.len(),
        outputs.len()
    );
    println!(
        "all writers:           {total:.3} s   target 1 s   ratio {:.2}",
        total / 1.0
    );
    match peak {
        Some(p) => println!(
            "peak RSS (whole process): {p:.0} MiB   target 200 MB ({:.0} MiB)   ratio {:.2}",
            200e6 / 1048576.0,
            p / (200e6 / 1048576.0)
        ),
        None => println!("peak RSS: unavailable (no /proc/self/status)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
