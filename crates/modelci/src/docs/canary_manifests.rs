//! The Argo Rollouts and Flagger manifests in `examples/canary/`: they parse, their `modelci`
//! command lines parse with the real CLI, the web provider's and Flagger's parameters are ones
//! `modelci canary serve` takes, and the configuration they mount is valid.

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_yaml_ng::Value;

use crate::cli::Cli;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/canary")
}

/// Every document of a YAML file.
fn documents(rel: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(examples().join(rel)).expect("read manifest");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML"))
        .collect()
}

/// Argo's `{{args.NAME}}` placeholders replaced as Argo would.
fn argo_args(text: &str) -> String {
    text.replace("{{args.stable-version}}", "41")
        .replace("{{args.canary-version}}", "42")
}

/// Every container of a pod spec's `containers` below `v`, found anywhere.
fn containers(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                if k.as_str() == Some("containers")
                    && let Value::Sequence(cs) = child
                {
                    out.extend(cs.iter().cloned());
                }
                containers(child, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|c| containers(c, out)),
        _ => {}
    }
}

fn words(container: &Value) -> Vec<String> {
    let mut w: Vec<String> = container["command"]
        .as_sequence()
        .into_iter()
        .flatten()
        .chain(container["args"].as_sequence().into_iter().flatten())
        .map(|a| argo_args(a.as_str().expect("string argument")))
        .collect();
    assert_eq!(w.first().map(String::as_str), Some("modelci"), "{w:?}");
    w[0] = "modelci".to_owned();
    w
}

use modelci_canary::serve::is_parameter as known_parameter;

#[test]
fn the_argo_job_template_runs_a_valid_modelci_command() {
    let docs = documents("argo/analysis-template-job.yaml");
    assert_eq!(docs[0]["kind"], "AnalysisTemplate");
    let mut cs = Vec::new();
    containers(&docs[0], &mut cs);
    assert_eq!(cs.len(), 1);
    let w = words(&cs[0]);
    let cli = Cli::try_parse_from(&w).unwrap_or_else(|e| panic!("{w:?}: {e}"));
    let crate::cli::Command::Canary(crate::cli::CanaryCommand::Judge(args)) = cli.command else {
        panic!("not `canary judge`: {w:?}");
    };
    assert_eq!(args.baseline, ["version=41"]);
    assert_eq!(args.canary, ["version=42"]);
    // Argo's arguments are declared.
    let declared: Vec<&str> = docs[0]["spec"]["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(declared, ["stable-version", "canary-version"]);
}

#[test]
fn the_argo_web_template_asks_the_served_judge_with_known_parameters() {
    let docs = documents("argo/analysis-template-web.yaml");
    let metric = &docs[0]["spec"]["metrics"][0];
    let url = argo_args(metric["provider"]["web"]["url"].as_str().expect("url"));
    let url = reqwest::Url::parse(&url).expect("a URL");
    assert_eq!(url.path(), "/judge");
    for (k, _) in url.query_pairs() {
        assert!(known_parameter(&k), "`{k}` is not a parameter of /judge");
    }
    assert_eq!(
        metric["successCondition"].as_str(),
        Some("result.passed == true")
    );
    // The Deployment runs `modelci canary serve` on the port the URL names.
    let mut cs = Vec::new();
    containers(&docs[1], &mut cs);
    let w = words(&cs[0]);
    let cli = Cli::try_parse_from(&w).unwrap_or_else(|e| panic!("{w:?}: {e}"));
    let crate::cli::Command::Canary(crate::cli::CanaryCommand::Serve(args)) = cli.command else {
        panic!("not `canary serve`: {w:?}");
    };
    assert_eq!(Some(args.port), url.port());
    assert_eq!(docs[2]["kind"], "Service");
}

#[test]
fn the_flagger_webhook_sends_known_metadata_to_the_served_judge() {
    let docs = documents("flagger/canary.yaml");
    assert_eq!(docs[0]["kind"], "Canary");
    let hooks = docs[0]["spec"]["analysis"]["webhooks"]
        .as_sequence()
        .expect("webhooks");
    let hook = &hooks[0];
    assert_eq!(hook["type"], "rollout");
    let url = reqwest::Url::parse(hook["url"].as_str().expect("url")).expect("a URL");
    assert_eq!(url.path(), "/flagger");
    for (k, v) in hook["metadata"].as_mapping().expect("metadata") {
        let k = k.as_str().expect("key");
        assert!(known_parameter(k), "`{k}` is not a parameter of /flagger");
        assert!(
            v.is_string(),
            "Flagger's metadata values are strings: `{k}`"
        );
    }
}

#[test]
fn the_mounted_configuration_is_valid() {
    let config = modelci_config::load(&examples().join("modelci.toml")).expect("valid");
    let kinds: Vec<&str> = config.suites.iter().map(|s| s.kind()).collect();
    assert_eq!(kinds, ["canary", "shadow"]);
    // The shadow suite's recorded requests are read and built for both sides.
    let modelci_config::SuiteSpec::Shadow(shadow) = &config.suites[1].spec else {
        panic!("not a shadow suite");
    };
    let check = modelci_canary::shadow::ShadowCheck::new(
        shadow,
        modelci_report::Location::file("modelci.toml"),
    );
    assert!(check.is_ok(), "{:?}", check.err());
}
