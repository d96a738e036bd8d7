//! Secrets given on the command line never reach the terminal or a report, even when the
//! provider echoes them back: a `--header 'Authorization: ...'` value, a password in
//! `--provider-url` / `--base-url`, and its Basic-auth (base64) form.

use std::io::Write;

use crate::{modelci, run};

const TOKEN: &str = "tok-abcdef123456";
const PASSWORD: &str = "s3cretpw99";

/// A provider that answers every request `200` with a JSON body echoing the request's head
/// (its request line and every header); its base URL without the scheme.
fn echoing_provider() -> String {
    let url = crate::raw::serve(|stream, head| {
        let body = serde_json::json!({ "echo": head }).to_string();
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    });
    url.trim_start_matches("http://").to_owned()
}

fn basic() -> String {
    use std::fmt::Write as _;
    // base64("ann:s3cretpw99"), written out so the test does not depend on the code under test.
    let raw = format!("ann:{PASSWORD}");
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in raw.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = write!(
                    out,
                    "{}",
                    table[((n >> (18 - 6 * i)) & 63) as usize] as char
                );
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn assert_nothing_leaks(what: &str, texts: &[&str]) {
    for text in texts {
        for secret in [TOKEN, PASSWORD, &basic()] {
            assert!(
                !text.contains(secret),
                "{what}: `{secret}` was shown:\n{text}"
            );
        }
    }
}

#[test]
fn contract_verify_hides_headers_and_url_passwords_that_the_provider_echoes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pact = crate::raw::pact_file(
        dir.path(),
        "echo",
        vec![serde_json::json!({
            "description": "an answer that is not the echo",
            "request": {"method": "GET", "path": "/x"},
            "response": {"status": 200, "body": {"ok": true}}
        })],
    );
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let provider = format!("http://ann:{PASSWORD}@{}", echoing_provider());
    let header = format!("Authorization: Bearer {TOKEN}");
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        pact.to_str().expect("utf8"),
        "--provider-url",
        &provider,
        "--header",
        &header,
        "--json",
        json.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "the body mismatches: {out}\n{err}");
    let json = std::fs::read_to_string(&json).expect("json");
    let junit = std::fs::read_to_string(&junit).expect("junit");
    // The echo did reach the report (with the secrets hidden), so the check is not vacuous.
    assert!(json.contains("echo"), "{json}");
    assert_nothing_leaks("contract verify", &[&out, &err, &json, &junit]);
}

#[test]
fn contract_test_hides_headers_and_url_passwords_that_the_service_echoes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = dir.path().join("openapi.json");
    std::fs::write(
        &doc,
        serde_json::json!({
            "openapi": "3.0.3",
            "info": {"title": "echo", "version": "1"},
            "paths": {"/x": {"get": {
                "operationId": "x",
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["ok"], "additionalProperties": false,
                               "properties": {"ok": {"type": "boolean"}}}
                }}}}
            }}}
        })
        .to_string(),
    )
    .expect("openapi");
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let base = format!("http://ann:{PASSWORD}@{}", echoing_provider());
    let header = format!("Authorization: Bearer {TOKEN}");
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "test",
        "--openapi",
        doc.to_str().expect("utf8"),
        "--base-url",
        &base,
        "--header",
        &header,
        "--max-cases",
        "1",
        "--json",
        json.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "the body breaks the schema: {out}\n{err}");
    let json = std::fs::read_to_string(&json).expect("json");
    let junit = std::fs::read_to_string(&junit).expect("junit");
    assert_nothing_leaks("contract test", &[&out, &err, &json, &junit]);
}

#[test]
fn canary_shadow_hides_headers_and_url_passwords_that_both_sides_echo() {
    // Both sides refuse with 401 and echo the request's head: the errors case quotes the
    // first error of each side.
    let echo = || {
        let url = crate::raw::serve(|stream, head| {
            let body = serde_json::json!({ "error": head }).to_string();
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        });
        format!(
            "http://ann:{PASSWORD}@{}",
            url.trim_start_matches("http://")
        )
    };
    let (baseline, canary) = (echo(), echo());
    let dir = tempfile::tempdir().expect("tempdir");
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let header = format!("Authorization: Bearer {TOKEN}");
    let (_, out, err) = run(&mut modelci(&[
        "canary",
        "shadow",
        "--baseline",
        &baseline,
        "--canary",
        &canary,
        "-X",
        "GET",
        "-H",
        &header,
        "--samples",
        "12",
        "--json",
        json.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
    ]));
    let json = std::fs::read_to_string(&json).expect("json");
    let junit = std::fs::read_to_string(&junit).expect("junit");
    assert_nothing_leaks("canary shadow", &[&out, &err, &json, &junit]);
    // The echo did reach the report (with the secrets hidden), so the check is not vacuous.
    assert!(json.contains("HTTP 401"), "{json}");
}
