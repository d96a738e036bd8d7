//! `modelci canary judge` on sample files: a regressed canary fails with the metric that moved,
//! an identical one passes, A/A passes with its noise floor, and bad input is exit 2.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::{modelci, run};

/// `n` lognormal-looking latencies around `median` (a fixed sequence: no randomness in tests).
fn latencies(median: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            // Sum of uniforms: a bell shape; exponentiated: a long right tail.
            let mut z = 0.0;
            for _ in 0..4 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                z += (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            }
            median * (0.4 * z).exp()
        })
        .collect()
}

fn write_csv(path: &Path, latency: &[f64], errors: &[f64]) {
    let mut text = String::from("latency_ms,error_rate\n");
    for (l, e) in latency.iter().zip(errors) {
        let _ = writeln!(text, "{l:.4},{e}");
    }
    std::fs::write(path, text).expect("write csv");
}

const CONFIG: &str = r#"
[[suite.canary]]
name = "canary"
min_samples = 20

[suite.canary.files]
baseline = "baseline.csv"
canary = "canary.csv"

[suite.canary.groups]
latency = 1
errors = 1

[[suite.canary.metric]]
name = "latency_ms"
group = "latency"
tolerance = 0.1

[[suite.canary.metric]]
name = "error_rate"
group = "errors"
tolerance_abs = 0.01
critical = true
"#;

fn judge(dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let config = dir.join("modelci.toml");
    let json = dir.join("report.json");
    let junit = dir.join("report.xml");
    let mut args = vec![
        "canary",
        "judge",
        "--config",
        config.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&mut modelci(&args));
    let shown = format!("exit {code}\n{out}\n{err}");
    let report = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    assert!(junit.is_file(), "no JUnit report: {shown}");
    (code, report, shown)
}

fn case<'a>(report: &'a Value, name: &str, shown: &str) -> &'a Value {
    report["suites"][0]["cases"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no case `{name}`: {shown}\n{report:#}"))
}

fn project(canary_median: f64, canary_errors: f64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("modelci.toml"), CONFIG).expect("config");
    let zeros = vec![0.0; 400];
    let errors = vec![canary_errors; 400];
    write_csv(
        &dir.path().join("baseline.csv"),
        &latencies(100.0, 400, 1),
        &zeros,
    );
    write_csv(
        &dir.path().join("canary.csv"),
        &latencies(canary_median, 400, 2),
        &errors,
    );
    dir
}

#[test]
fn a_regressed_canary_fails_naming_the_metric_and_an_equal_one_passes() {
    // 30% slower: the latency metric is High and the verdict fails.
    let dir = project(130.0, 0.0);
    let (code, report, shown) = judge(dir.path(), &[]);
    assert_eq!(code, 1, "{shown}");
    let latency = case(&report, "metric latency_ms", &shown);
    assert_eq!(latency["outcome"], "failed", "{latency:#}");
    let message = latency["message"].as_str().expect("message");
    assert!(message.starts_with("High: canary median"), "{message}");
    assert!(
        message.contains("the canary is worse (an increase is bad)"),
        "{message}"
    );
    let shift: f64 = latency["properties"]["relative_shift"]
        .as_str()
        .expect("relative")
        .parse()
        .expect("number");
    assert!((0.2..0.4).contains(&shift), "{latency:#}");
    let verdict = case(&report, "verdict", &shown);
    assert_eq!(verdict["outcome"], "failed");
    assert_eq!(verdict["properties"]["verdict"], "Fail");
    assert_eq!(verdict["properties"]["score"], "50");
    assert!(shown.contains("verdict"), "{shown}");

    // The same distribution from another seed: Pass, exit 0.
    let dir = project(100.0, 0.0);
    let (code, report, shown) = judge(dir.path(), &[]);
    assert_eq!(code, 0, "{shown}");
    assert_eq!(
        case(&report, "verdict", &shown)["properties"]["score"],
        "100"
    );
    assert_eq!(
        case(&report, "metric latency_ms", &shown)["properties"]["class"],
        "Pass"
    );
}

#[test]
fn a_critical_metric_fails_the_canary_whatever_the_score() {
    // Latency equal, errors up by 5 points on a critical metric: the score is 50 but the
    // reason given is the critical metric.
    let dir = project(100.0, 0.05);
    let (code, report, shown) = judge(dir.path(), &[]);
    assert_eq!(code, 1, "{shown}");
    let errors = case(&report, "metric error_rate", &shown);
    assert_eq!(errors["outcome"], "failed");
    assert!(
        errors["message"]
            .as_str()
            .expect("message")
            .ends_with("the metric is critical"),
        "{errors:#}"
    );
    let verdict = case(&report, "verdict", &shown);
    assert!(
        verdict["message"]
            .as_str()
            .expect("message")
            .contains("critical metric `error_rate` failed"),
        "{verdict:#}"
    );
}

#[test]
fn aa_mode_passes_and_gives_the_noise_floor_and_the_samples_needed() {
    let dir = project(130.0, 0.0);
    let (code, report, shown) = judge(dir.path(), &["--aa"]);
    assert_eq!(code, 0, "{shown}");
    let latency = case(&report, "metric latency_ms", &shown);
    let props = &latency["properties"];
    let needed: f64 = props["samples_needed"]
        .as_str()
        .expect("samples_needed")
        .parse()
        .expect("number");
    assert!((5.0..400.0).contains(&needed), "{latency:#}");
    assert_eq!(props["samples_available"], "400");
    assert!(props["noise_floor"].is_string(), "{latency:#}");
    assert!(
        latency["message"]
            .as_str()
            .expect("message")
            .starts_with("A/A: Pass:"),
        "{latency:#}"
    );
    assert_eq!(report["suites"][0]["properties"]["mode"], "aa");
}

#[test]
fn unreadable_samples_are_exit_2_naming_the_file_and_line() {
    let dir = project(100.0, 0.0);
    std::fs::write(
        dir.path().join("canary.csv"),
        "latency_ms,error_rate\n1.0,0\nslow,0\n",
    )
    .expect("write");
    let (code, report, shown) = judge(dir.path(), &[]);
    assert_eq!(code, 2, "{shown}");
    let verdict = case(&report, "verdict", &shown);
    assert_eq!(verdict["outcome"], "errored");
    let message = verdict["message"].as_str().expect("message");
    assert!(
        message.contains("canary.csv` line 3: column `latency_ms` holds `slow`, not a number"),
        "{message}"
    );

    // A metric whose column is missing: that metric errored, the verdict Inconclusive.
    let dir = project(100.0, 0.0);
    std::fs::write(dir.path().join("canary.csv"), "latency,error_rate\n1.0,0\n").expect("write");
    let (code, report, shown) = judge(dir.path(), &[]);
    assert_eq!(code, 2, "{shown}");
    let latency = case(&report, "metric latency_ms", &shown);
    assert_eq!(latency["outcome"], "errored");
    assert!(
        latency["message"]
            .as_str()
            .expect("message")
            .contains("has no column `latency_ms` (did you mean `latency`?)"),
        "{latency:#}"
    );
    assert_eq!(
        case(&report, "verdict", &shown)["properties"]["verdict"],
        "Inconclusive"
    );
}

#[test]
fn flags_are_checked() {
    let dir = project(100.0, 0.0);
    let config = dir.path().join("modelci.toml");
    let config = config.to_str().expect("utf8");
    let (code, _, err) = run(&mut modelci(&[
        "canary", "judge", "--config", config, "--window", "10m",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("--window, --end and --step apply to Prometheus"),
        "{err}"
    );
    let (code, _, err) = run(&mut modelci(&[
        "canary", "judge", "--config", config, "--suite", "nope",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("no `[[suite.canary]]` named `nope` (its canary suites: canary)"),
        "{err}"
    );
}

/// `modelci canary serve`: `GET /judge` answers the judgement as JSON (Argo's web provider),
/// `POST /flagger` answers 200 or 412 (Flagger's webhook), and bad parameters are 400/404.
#[test]
fn the_served_judge_answers_argo_and_flagger() {
    use std::io::{BufRead, BufReader};
    let dir = project(130.0, 0.0);
    // A second suite whose canary equals the baseline.
    write_csv(
        &dir.path().join("same.csv"),
        &latencies(100.0, 400, 3),
        &[0.0; 400],
    );
    let extra = CONFIG
        .replace("name = \"canary\"", "name = \"same\"")
        .replace("canary = \"canary.csv\"", "canary = \"same.csv\"");
    let config = dir.path().join("modelci.toml");
    std::fs::write(&config, format!("{CONFIG}\n{extra}")).expect("config");
    let mut child = modelci(&[
        "canary",
        "serve",
        "--config",
        config.to_str().expect("utf8"),
        "--port",
        "0",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("spawn");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let _guard = Kill(child);
    let first = lines.next().expect("a line").expect("utf8");
    let base = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client");

    let r = client
        .get(format!("{base}/judge?suite=canary"))
        .send()
        .expect("judge");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    assert_eq!(body["verdict"], "Fail", "{body:#}");
    assert_eq!(body["passed"], false);
    assert_eq!(body["score"], 50.0);
    assert_eq!(body["metrics"][0]["name"], "latency_ms");
    assert_eq!(body["metrics"][0]["class"], "High");

    let r = client
        .get(format!("{base}/judge?suite=same"))
        .send()
        .expect("judge");
    let body: Value = r.json().expect("json");
    assert_eq!(body["verdict"], "Pass", "{body:#}");
    assert_eq!(body["passed"], true);

    let hook = |suite: &str| {
        client
            .post(format!("{base}/flagger"))
            .body(
                serde_json::json!({
                    "name": "model-service", "namespace": "default", "phase": "Progressing",
                    "metadata": {"suite": suite}
                })
                .to_string(),
            )
            .send()
            .expect("flagger")
    };
    assert_eq!(hook("canary").status(), 412);
    assert_eq!(hook("same").status(), 200);

    // Several suites and none chosen; an unknown suite; an unknown parameter; a window for files.
    let status = |q: &str| {
        client
            .get(format!("{base}/judge{q}"))
            .send()
            .expect("judge")
            .status()
            .as_u16()
    };
    assert_eq!(status(""), 400);
    assert_eq!(status("?suite=nope"), 404);
    assert_eq!(status("?suite=same&colour=red"), 400);
    let r = client
        .get(format!("{base}/judge?suite=same&window=5m"))
        .send()
        .expect("judge");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().expect("json");
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("`window`, `end` and `step` apply to Prometheus"),
        "{body:#}"
    );
}
