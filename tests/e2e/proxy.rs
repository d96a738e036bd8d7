//! `modelci` behind a corporate proxy: `HTTP_PROXY` in its environment is honoured, `NO_PROXY`
//! too, and loopback services are reached directly.

use std::process::Command;

use modelci_net::testing::ForwardProxy;
use serde_json::Value;

use crate::{modelci, provider, run};

/// A host name only the proxy knows: it maps it to the loopback provider.
const PROVIDER_HOST: &str = "provider.modelci.invalid";

/// `modelci` with exactly these proxy variables (none inherited from the machine running the
/// tests).
fn behind(cmd: &mut Command, vars: &[(&str, &str)]) {
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "REQUEST_METHOD",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
}

fn verify(provider_url: &str, json: &std::path::Path, vars: &[(&str, &str)]) -> (i32, String) {
    let state_url = format!("{provider_url}/_pact/state");
    let mut cmd = modelci(&[
        "contract",
        "verify",
        "--pact",
        "fixtures/pacts/web-app-model-service.json",
        "--provider-url",
        provider_url,
        "--state-change-url",
        &state_url,
        "--timeout",
        "5",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    behind(&mut cmd, vars);
    let (code, out, err) = run(&mut cmd);
    (code, format!("{out}\n{err}"))
}

fn summary(json: &std::path::Path) -> Value {
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(json).expect("report")).expect("json");
    r["summary"].clone()
}

#[test]
fn contract_verify_reaches_a_provider_only_the_http_proxy_can_reach() {
    let p = provider::start();
    let addr = p
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("provider address");
    let proxy = ForwardProxy::start(&[(PROVIDER_HOST, addr)]).expect("proxy");
    let port = addr.port();
    let provider_url = format!("http://{PROVIDER_HOST}:{port}");
    let dir = tempfile::tempdir().expect("tempdir");

    let json = dir.path().join("through.json");
    let (code, out) = verify(&provider_url, &json, &[("HTTP_PROXY", &proxy.url())]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(summary(&json)["passed"], 4, "{out}");
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .any(|f| f.target.starts_with(&format!("{provider_url}/v2/models"))),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|f| f.target == format!("{provider_url}/_pact/state")),
        "{seen:?}"
    );

    // NO_PROXY names the host: modelci goes direct, where the name means nothing.
    let before = proxy.seen().len();
    let json = dir.path().join("direct.json");
    let (code, out) = verify(
        &provider_url,
        &json,
        &[("http_proxy", &proxy.url()), ("no_proxy", PROVIDER_HOST)],
    );
    assert_eq!(code, 2, "{out}");
    assert_eq!(summary(&json)["passed"], 0, "{out}");
    assert_eq!(proxy.seen().len(), before, "{:?}", proxy.seen());

    // The provider on loopback is reached directly even with the proxy set.
    let json = dir.path().join("loopback.json");
    let (code, out) = verify(&p.url, &json, &[("HTTP_PROXY", &proxy.url())]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(proxy.seen().len(), before, "{:?}", proxy.seen());
}

#[test]
fn a_proxy_variable_that_is_not_a_url_is_a_clear_error_without_its_credentials() {
    let p = provider::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out) = verify(
        &p.url,
        &json,
        &[("HTTP_PROXY", "socks5://ann:pw-SECRET@proxy.corp:1080")],
    );
    assert_eq!(code, 2, "{out}");
    let text = std::fs::read_to_string(&json).expect("report");
    assert!(
        text.contains("HTTP_PROXY is not a usable proxy URL"),
        "{text}"
    );
    assert!(
        !text.contains("SECRET") && !out.contains("SECRET"),
        "{out}\n{text}"
    );
}

/// A proxy that refuses connections: each case says it failed through that proxy (credentials
/// hidden), since the proxy, not the provider, is what to fix.
#[test]
fn a_dead_proxy_is_named_in_the_failure_without_its_credentials() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let proxy = format!("http://ann:pw-SECRET@127.0.0.1:{}", dead.port());
    let (code, out) = verify(
        "http://upstream.modelci.invalid",
        &json,
        &[("HTTP_PROXY", &proxy)],
    );
    assert_eq!(code, 2, "{out}");
    let text = std::fs::read_to_string(&json).expect("report");
    assert!(
        text.contains(&format!(
            "through proxy http://***@127.0.0.1:{}",
            dead.port()
        )),
        "{text}"
    );
    assert!(
        !text.contains("SECRET") && !out.contains("SECRET"),
        "{out}\n{text}"
    );
}
