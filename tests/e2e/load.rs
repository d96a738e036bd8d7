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
    let plot = dir.path().join("latency.svg");
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
        "--plot",
        plot.to_str().expect("utf8"),
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
    let svg = std::fs::read_to_string(&plot).expect("plot");
    assert!(
        svg.starts_with("<svg ") && svg.contains("<polyline"),
        "{svg}"
    );
    // The terminal shows the figures and each threshold's measured value.
    assert!(out.contains(" req/s (target 50.00) · p50 "), "{out}");
    assert!(out.contains("✓ error_rate<1%: measured 0"), "{out}");
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

/// The reference service under more load than it can take: each inference is slowed to 50 ms
/// (fault switch), one runs at a time and two may wait. Past that the bulkhead answers 429 with
/// `Retry-After`, and the deadline (300 ms from arrival) bounds every answer's latency.
#[test]
fn the_reference_service_sheds_load_and_its_deadline_bounds_latency() {
    use std::io::{BufRead, BufReader, Read, Write};
    let bin = crate::service_bin();
    let found = if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} is not built", bin.display()))
    };
    let Some(bin) =
        modelci_test_support::require(modelci_test_support::Dependency::ServiceBinary, found)
    else {
        return;
    };
    if !crate::runtime_available() {
        return;
    }
    let mut child = std::process::Command::new(&bin)
        .args([
            "--port",
            "0",
            "--max-concurrency",
            "1",
            "--max-queue",
            "2",
            "--deadline-ms",
            "300",
            "--breaker-failures",
            "1000000",
            "--enable-faults",
            "--model",
        ])
        .arg(format!(
            "classifier={}",
            crate::root()
                .join("examples/quickstart/model/classifier.onnx")
                .display()
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the service starts");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().expect("stdout");
    let guard = Kill(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("listening line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("url")
        .to_owned();
    let addr = url.strip_prefix("http://").expect("http").to_owned();
    // Slow every inference down to 50 ms.
    let body = r#"{"model": "classifier", "fail": false, "delay_ms": 50}"#;
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        s,
        "POST /faults HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("load.json");
    let infer = r#"{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}"#;
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--url",
        &format!("{url}/v2/models/classifier/infer"),
        "--body",
        infer,
        "--rate",
        "100",
        "--duration",
        "2s",
        "-t",
        "max<=500ms",
        "-t",
        "error_rate<1%",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    // Load is shed: the error rate threshold fails, the latency one holds.
    assert_eq!(code, 1, "{out}\n{err}");
    let r = report(&json);
    let suite = &r["suites"][0];
    let props = &suite["properties"];
    let n = |k: &str| -> u64 { props[k].as_str().map_or(0, |v| v.parse().expect(k)) };
    assert!(n("errors.status_429") > 50, "{props:#}");
    assert!(n("ok") >= 20, "{props:#}");
    assert_eq!(suite["cases"][0]["outcome"], "passed", "{suite:#}");
    assert_eq!(suite["cases"][1]["outcome"], "failed", "{suite:#}");

    // And a 429 says when to come back.
    let mut conns: Vec<std::net::TcpStream> = Vec::new();
    let mut refused = None;
    for _ in 0..8 {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        write!(
            s,
            "POST /v2/models/classifier/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{infer}",
            infer.len()
        )
        .expect("write");
        conns.push(s);
    }
    for mut s in conns {
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 429") {
            refused = Some(answer);
        }
    }
    let refused = refused.expect("a 429 among 8 requests at once");
    assert!(
        refused.to_ascii_lowercase().contains("\r\nretry-after: "),
        "{refused}"
    );
    drop(guard);
}

/// `--shard K/N` splits the rate across the shards; `report merge` adds their histograms and
/// counts and judges the thresholds over the whole.
#[test]
fn a_sharded_load_is_judged_over_all_shards_by_report_merge() {
    let provider = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            "[[suite.load]]\nname = \"ready\"\nurl = \"{}/v2/health/ready\"\nrate = 60\nduration = \"1s\"\nthresholds = [\"rps>=50\", \"p(95)<5s\", \"error_rate<1%\"]\n",
            provider.url
        ),
    )
    .expect("config");
    let part = |k: &str| {
        let json = dir.path().join(format!("shard-{k}.json"));
        let (code, out, err) = run(&mut modelci(&[
            "check",
            "--config",
            config.to_str().expect("utf8"),
            "--shard",
            &format!("{k}/2"),
            "--json",
            json.to_str().expect("utf8"),
        ]));
        assert_eq!(code, 0, "{out}\n{err}");
        json
    };
    let (a, b) = (part("1"), part("2"));
    let r = report(&a);
    let suite = &r["suites"][0];
    assert_eq!(suite["properties"]["shard"], "1/2");
    assert_eq!(suite["properties"]["sent"], "30", "{suite:#}");
    assert_eq!(suite["cases"][0]["outcome"], "skipped", "{suite:#}");
    assert!(
        suite["cases"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("judged over all shards by `modelci report merge`")),
        "{suite:#}"
    );

    let merged = dir.path().join("merged.json");
    let (code, out, err) = run(&mut modelci(&[
        "report",
        "merge",
        a.to_str().expect("utf8"),
        b.to_str().expect("utf8"),
        "--json",
        merged.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let m = report(&merged);
    let suite = &m["suites"][0];
    assert_eq!(suite["properties"]["sent"], "60", "{suite:#}");
    assert_eq!(suite["properties"]["shards"], "2", "{suite:#}");
    assert!(suite["properties"].get("shard").is_none(), "{suite:#}");
    let cases = suite["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3, "{suite:#}");
    assert!(cases.iter().all(|c| c["outcome"] == "passed"), "{suite:#}");
    let rps: f64 = cases[0]["properties"]["measured"]
        .as_str()
        .expect("measured")
        .parse()
        .expect("number");
    assert!((50.0..=70.0).contains(&rps), "{rps}");
    assert_eq!(m["summary"]["total"], 3);

    // One shard alone cannot be judged.
    let (code, out, err) = run(&mut modelci(&[
        "report",
        "merge",
        a.to_str().expect("utf8"),
        "--json",
        merged.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    let m = report(&merged);
    assert!(
        m["suites"][0]["cases"][0]["message"]
            .as_str()
            .is_some_and(|msg| msg.contains("shard(s) 2 of 2 are missing")),
        "{m:#}"
    );
}

#[test]
fn find_max_reports_the_highest_rate_that_held() {
    let provider = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("max.json");
    let url = format!("{}/v2/health/ready", provider.url);
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--url",
        &url,
        "--rate",
        "10",
        "--duration",
        "1s",
        "--find-max",
        "--slo",
        "error_rate<1%",
        "--max-rate",
        "40",
        "-t",
        "rps>=5",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r = report(&json);
    let suite = &r["suites"][0];
    let props = &suite["properties"];
    assert_eq!(props["max_rps"], "40.00", "{props:#}");
    assert!(
        props["step.01"]
            .as_str()
            .is_some_and(|s| s.starts_with("10.0 req/s: held")),
        "{props:#}"
    );
    assert!(
        props["step.03"]
            .as_str()
            .is_some_and(|s| s.starts_with("40.0 req/s: held")),
        "{props:#}"
    );
    assert_eq!(
        suite["cases"][0]["name"],
        "highest rate holding error_rate<1%"
    );
    assert_eq!(suite["cases"][1]["name"], "rps>=5");

    // The search needs an SLO, and the open model.
    let (code, _, err) = run(&mut modelci(&[
        "load",
        "--url",
        &url,
        "--rate",
        "10",
        "--duration",
        "1",
        "--find-max",
    ]));
    assert_eq!(code, 2, "{err}");
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--url",
        &url,
        "--vus",
        "2",
        "--duration",
        "1",
        "--find-max",
        "--slo",
        "p99<1s",
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("needs the open model"), "{err}");
}

/// `--endpoint URL --model-name NAME --cases FILE`: each golden case's inputs become an Open
/// Inference Protocol v2 inference request.
#[test]
fn golden_cases_make_inference_requests() {
    let provider = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("load.json");
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--endpoint",
        &provider.url,
        "--model-name",
        "classifier",
        "--cases",
        "examples/quickstart/model/golden.json",
        "--rate",
        "40",
        "--duration",
        "1s",
        "-t",
        "error_rate<1%",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r = report(&json);
    let props = &r["suites"][0]["properties"];
    assert_eq!(props["sent"], "40", "{props:#}");
    assert_eq!(props["failed"], "0", "{props:#}");
    // One request kind per golden case.
    let kinds = props
        .as_object()
        .expect("object")
        .keys()
        .filter(|k| k.starts_with("request.") && k.ends_with(".sent"))
        .count();
    assert!(kinds >= 2, "{props:#}");

    let (code, _, err) = run(&mut modelci(&[
        "load",
        "--endpoint",
        &provider.url,
        "--model-name",
        "classifier",
        "--cases",
        "nope.json",
        "--rate",
        "1",
        "--duration",
        "1",
    ]));
    assert_eq!(code, 2, "{err}");
}

/// `--dataset FILE --features ...`: batches of a dataset's rows become inference requests.
#[test]
fn dataset_rows_make_inference_requests() {
    let provider = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("load.json");
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--endpoint",
        &provider.url,
        "--model-name",
        "classifier",
        "--dataset",
        "examples/quickstart/model/eval.csv",
        "--features",
        "sepal_length,sepal_width,petal_length,petal_width",
        "--rows-per-request",
        "8",
        "--rate",
        "40",
        "--duration",
        "1s",
        "-t",
        "error_rate<1%",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r = report(&json);
    let props = &r["suites"][0]["properties"];
    assert_eq!(props["failed"], "0", "{props:#}");
    assert!(props.get("request.rows-1.sent").is_some(), "{props:#}");

    // A column that is not there is named.
    let (code, out, err) = run(&mut modelci(&[
        "load",
        "--endpoint",
        &provider.url,
        "--model-name",
        "classifier",
        "--dataset",
        "examples/quickstart/model/eval.csv",
        "--features",
        "petal_colour",
        "--rate",
        "1",
        "--duration",
        "1",
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("petal_colour") || err.contains("petal_colour"),
        "{out}\n{err}"
    );
}

/// Recorded traffic replays as the mix: a HAR file's requests, or recorded exchanges (the JSON
/// Lines `contract validate` reads).
#[test]
fn recorded_traffic_replays_as_the_mix() {
    let provider = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let har = dir.path().join("traffic.har");
    std::fs::write(
        &har,
        format!(
            r#"{{"log": {{"version": "1.2", "entries": [
  {{"request": {{"method": "GET", "url": "{0}/v2/health/ready", "headers": [{{"name": "Host", "value": "elsewhere"}}, {{"name": "Accept", "value": "*/*"}}]}}, "response": {{"status": 200}}}},
  {{"request": {{"method": "POST", "url": "{0}/v2/models/classifier/infer", "headers": [{{"name": "Content-Type", "value": "application/json"}}],
    "postData": {{"mimeType": "application/json", "text": "{{\"inputs\": [{{\"name\": \"input\", \"shape\": [1, 4], \"datatype\": \"FP32\", \"data\": [5.1, 3.5, 1.4, 0.2]}}]}}"}}}}, "response": {{"status": 200}}}}
]}}}}"#,
            provider.url
        ),
    )
    .expect("har");
    let exchanges = dir.path().join("exchanges.jsonl");
    std::fs::write(
        &exchanges,
        "{\"request\": {\"method\": \"GET\", \"path\": \"/v2/models/classifier\"}, \"response\": {\"status\": 200}}\n",
    )
    .expect("jsonl");
    for file in [&har, &exchanges] {
        let json = dir.path().join("load.json");
        let (code, out, err) = run(&mut modelci(&[
            "load",
            "--url",
            &provider.url,
            "--requests",
            file.to_str().expect("utf8"),
            "--rate",
            "20",
            "--duration",
            "1s",
            "-t",
            "error_rate<1%",
            "--json",
            json.to_str().expect("utf8"),
        ]));
        assert_eq!(code, 0, "{}: {out}\n{err}", file.display());
        let r = report(&json);
        assert_eq!(r["suites"][0]["properties"]["failed"], "0", "{r:#}");
    }
}
