//! `modelci load` and `[[suite.load]]` against the example provider (python3's standard
//! library server): thresholds as cases, the figures as suite properties, request mixes, and
//! what cannot run.

use serde_json::Value;

use crate::{QuickstartProvider, modelci, run, validate_junit};

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

#[test]
fn thresholds_are_cases_with_their_measured_values() {
    let provider = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("load.json");
    let junit = dir.path().join("load.xml");
    let csv = dir.path().join("latency.csv");
    let url = format!("{}/v2/health/ready", provider.url);
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--url",
        &url,
        "--rate",
        "50",
        "--duration",
        "2s",
        "-t",
        "p(95)<5s",
        "-t",
        "error_rate<1%",
        "-t",
        "dropped<1%",
        "-t",
        "p(99)<0.001ms",
        "--histogram-csv",
        csv.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
    ]));
    // The impossible p99 fails; the others hold.
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("✗ p(99)<0.001ms"), "{out}");
    let r = report(&json);
    let suite = &r["suites"][0];
    assert_eq!(suite["kind"], "load");
    let cases = suite["cases"].as_array().expect("cases");
    let names: Vec<&str> = cases
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["p(95)<5s", "error_rate<1%", "dropped<1%", "p(99)<0.001ms"]
    );
    let p95 = &cases[0];
    assert_eq!(p95["outcome"], "passed");
    let measured: f64 = p95["properties"]["measured"]
        .as_str()
        .expect("measured")
        .parse()
        .expect("a number");
    assert!(measured > 0.0 && measured < 5000.0, "{p95:#}");
    assert_eq!(p95["properties"]["limit"], "5000");
    assert_eq!(cases[3]["outcome"], "failed");
    let props = &suite["properties"];
    for key in [
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "achieved_rps",
    ] {
        let v: f64 = props[key].as_str().expect(key).parse().expect(key);
        assert!(v > 0.0, "{key}: {props:#}");
    }
    assert_eq!(props["scheduled"], "100");
    assert_eq!(props["sent"], "100");
    assert_eq!(props["dropped"], "0");
    assert_eq!(props["model"], "open");
    assert!(
        props["latency_histogram"]
            .as_str()
            .is_some_and(|h| h.len() > 20)
    );
    validate_junit(&junit);
    let csv = std::fs::read_to_string(&csv).expect("csv");
    assert!(csv.starts_with("percentile,latency_ms,count\n"), "{csv}");
}

#[test]
fn a_request_mix_follows_its_weights() {
    let provider = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let requests = dir.path().join("mix.jsonl");
    std::fs::write(
        &requests,
        concat!(
            "{\"name\": \"ready\", \"path\": \"/v2/health/ready\", \"weight\": 3}\n",
            "\n",
            "{\"name\": \"metadata\", \"path\": \"/v2/models/classifier\", \"weight\": 1}\n",
        ),
    )
    .expect("write");
    let json = dir.path().join("load.json");
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--url",
        &provider.url,
        "--requests",
        requests.to_str().expect("utf8"),
        "--rate",
        "100",
        "--duration",
        "2",
        "--arrivals",
        "poisson",
        "--seed",
        "7",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r = report(&json);
    let props = &r["suites"][0]["properties"];
    let sent = |k: &str| -> f64 {
        props[format!("request.{k}.sent")]
            .as_str()
            .expect(k)
            .parse()
            .expect(k)
    };
    let (ready, meta) = (sent("ready"), sent("metadata"));
    let share = ready / (ready + meta);
    assert!(
        (0.6..0.9).contains(&share),
        "ready {ready}, metadata {meta}"
    );
    assert_eq!(props["arrivals"], "poisson");
    assert_eq!(props["failed"], "0", "{props:#}");

    // A broken line is named by file and line.
    std::fs::write(
        &requests,
        "{\"path\": \"/a\"}\n{\"path\": 3, \"colour\": 1}\n",
    )
    .expect("write");
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--url",
        &provider.url,
        "--requests",
        requests.to_str().expect("utf8"),
        "--rate",
        "10",
        "--duration",
        "1",
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("mix.jsonl:2: unknown key `colour`"),
        "{out}\n{err}"
    );
}

#[test]
fn what_cannot_run_exits_2_with_a_reason() {
    // Nothing listens: every request fails to connect, which is not a measurement.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let url = format!("http://127.0.0.1:{port}/");
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--url",
        &url,
        "--rate",
        "20",
        "--duration",
        "0.5s",
        "-t",
        "p(95)<1s",
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains(&format!("no request to {url} got an answer: 10 connection")),
        "{out}"
    );

    for (args, why) in [
        (
            vec!["--rate", "10", "--duration", "1", "-t", "latency<3"],
            "unknown metric `latency`",
        ),
        (vec!["--rate", "10"], "`--rate` needs `--duration`"),
        (vec!["--duration", "1"], "no load: give `--rate`"),
        (
            vec!["--rate", "10", "--duration", "3 parsecs"],
            "must be a duration such as",
        ),
        (
            vec!["--stage", "10s:fast"],
            "--stage `10s:fast`: `fast` is not a rate",
        ),
    ] {
        let mut all = vec!["load", "--url", "http://127.0.0.1:9/"];
        all.extend(args);
        let (code, out, err) = run(&mut modelci(&all));
        assert_eq!(code, 2, "{all:?}\n{out}\n{err}");
        assert!(
            out.contains(why) || err.contains(why),
            "{all:?}\n{out}\n{err}"
        );
    }
}

#[test]
fn a_load_suite_in_the_configuration() {
    let provider = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[suite.load]]
name = "ready-under-load"
url = "{}/v2/health/ready"
stages = [{{ duration = "1s", target = 40 }}, {{ duration = "1s", target = 40 }}]
warmup = "200ms"
thresholds = ["p(95)<5s", "error_rate<1%"]
"#,
            provider.url
        ),
    )
    .expect("config");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r = report(&json);
    let suite = &r["suites"][0];
    assert_eq!(suite["name"], "ready-under-load");
    // A ramp 0 -> 40 rps over 1 s, then 40 rps for 1 s: 20 + 40 requests measured.
    assert_eq!(suite["properties"]["scheduled"], "60", "{suite:#}");
    assert_eq!(suite["cases"][0]["location"]["line"], 2, "{suite:#}");

    // A key of the wrong kind is a configuration error with its line.
    std::fs::write(
        &config,
        "[[suite.load]]\nname = \"x\"\nurl = \"http://127.0.0.1:9/\"\nrate = 10\nvus = 2\nduration = 1\n",
    )
    .expect("config");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("modelci.toml:2") && err.contains("give one of `rate`, `stages` or `vus`"),
        "{err}"
    );
}
