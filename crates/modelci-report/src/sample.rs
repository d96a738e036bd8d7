//! A fixed run used by snapshot tests across the workspace (not part of the stable API).

use crate::{Case, Location, Outcome, Run, ShardSpec, Suite};

/// A small run that exercises every outcome, expected/actual text, properties, locations and the
/// characters that writers must escape.
pub fn run() -> Run {
    let mut run = Run::new("0.1.0");
    run.started_at = Some("2026-01-02T03:04:05+00:00".into());
    run.duration_ms = 1234.5;
    run.config = Some("examples/demo/modelci.toml".into());
    run.shards = vec![ShardSpec { index: 1, count: 2 }];
    run.properties.insert("host", "ci-runner-1");

    let mut responses = Suite::new("responses", "json-schema");
    responses.location = Some(Location::line("examples/demo/modelci.toml", 4));
    responses.duration_ms = 12.25;
    responses
        .properties
        .insert("schema", "contracts/prediction.schema.json");
    let mut ok = Case::passed("recorded/ok.json");
    ok.duration_ms = 1.5;
    ok.location = Some(Location::line("examples/demo/recorded/ok.json", 1));
    responses.cases.push(ok);

    let mut bad = Case::failed(
        "recorded/bad.json",
        "/confidence: 1.7 is greater than the maximum of 1",
    );
    bad.duration_ms = 2.0;
    bad.location = Some(Location {
        file: "examples/demo/recorded/bad.json".into(),
        line: Some(3),
        column: Some(17),
    });
    bad.expected = Some("{\n  \"label\": \"cat\",\n  \"confidence\": 0.9\n}".into());
    bad.actual = Some("{\n  \"label\": \"cat\",\n  \"confidence\": 1.7\n}".into());
    bad.detail = Some("1 violation:\n  /confidence: 1.7 is greater than the maximum of 1 (schema: /properties/confidence/maximum)".into());
    bad.properties
        .insert("schema", "contracts/prediction.schema.json");
    responses.cases.push(bad);

    let mut weird = Case::failed(
        "recorded/100%, weird: name.json",
        "line one\nline two, with 50% <tags> & \"quotes\"",
    );
    weird.location = Some(Location::line(
        "examples/demo/recorded/100%, weird: name.json",
        2,
    ));
    weird.expected = Some("\"a\"".into());
    weird.actual = Some("\"b\"".into());
    responses.cases.push(weird);
    responses.refresh_summary();

    let mut broken = Suite::new("service-health", "json-schema");
    broken.location = Some(Location::line("examples/demo/modelci.toml", 10));
    let mut errored = Case::errored(
        "recorded/missing.json",
        "failed to read `examples/demo/recorded/missing.json`: No such file or directory (os error 2)",
    );
    errored.location = Some(Location::file("examples/demo/recorded/missing.json"));
    broken.cases.push(errored);
    broken.cases.push(
        Case::new("recorded/later.json", Outcome::Skipped)
            .with_message("not run: the run was interrupted"),
    );
    broken.refresh_summary();

    run.suites = vec![responses, broken];
    run.refresh_summary();
    run
}
