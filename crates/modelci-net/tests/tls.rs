//! HTTPS through rustls against a real TLS server on loopback, whose certificate a private CA
//! signed (fixtures/tls/, made by make_certs.sh): refused by default, accepted when the CA is
//! added the standard way (`SSL_CERT_FILE`), and with `insecure_tls`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use modelci_net::{ClientPolicy, describe};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tls")
        .join(name)
}

/// An HTTPS server on 127.0.0.1 with fixtures/tls/server.pem; it answers every request
/// `hello over tls`.
fn https_server() -> SocketAddr {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("server.pem"))
        .expect("server.pem")
        .collect::<Result<_, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).expect("server.key");
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).expect("connection");
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut head = Vec::new();
                let mut b = [0_u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut b) {
                        Ok(1) => head.push(b[0]),
                        // The client refused the certificate, or went away.
                        _ => return,
                    }
                }
                let body = "hello over tls";
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    addr
}

/// GET `https://127.0.0.1:PORT/` with a blocking and an async client of this policy: the body,
/// or the error as modelci words it.
fn get(policy: &ClientPolicy, addr: SocketAddr) -> Result<String, String> {
    let url = format!("https://{addr}/");
    let blocking = policy
        .build_blocking()
        .map_err(|e| e.to_string())?
        .get(&url)
        .send()
        .and_then(|r| r.error_for_status()?.text())
        .map_err(|e| describe(e, policy.timeout()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = policy.build().map_err(|e| e.to_string())?;
    let not_blocking = runtime
        .block_on(async {
            client
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await
        })
        .map_err(|e| describe(e, policy.timeout()));
    assert_eq!(
        blocking, not_blocking,
        "the blocking and the async client disagree"
    );
    blocking
}

fn policy() -> ClientPolicy {
    ClientPolicy::new(Duration::from_secs(10))
}

#[test]
fn a_certificate_from_an_unknown_ca_is_refused() {
    let addr = https_server();
    // The fixture CA is nobody's root: neither built in nor (unless a test adds it) the system's.
    let err = get(&policy(), addr).expect_err("an unknown CA must be refused");
    assert!(
        err.to_lowercase().contains("certificate"),
        "the error names the certificate: {err}"
    );
}

#[test]
fn insecure_tls_accepts_a_certificate_from_an_unknown_ca() {
    let addr = https_server();
    let body = get(&policy().insecure_tls(true), addr).expect("accepted");
    assert_eq!(body, "hello over tls");
}

#[test]
fn a_private_ca_in_ssl_cert_file_is_trusted() {
    // The roots are read from the environment when a client is made: the check runs in a child
    // process of this test binary (the ignored test below) with SSL_CERT_FILE set.
    for (ca, trusted) in [(fixture("ca.pem"), true), (fixture("server.key"), false)] {
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "ssl_cert_file_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SSL_CERT_FILE", &ca)
            .env_remove("SSL_CERT_DIR")
            .env("MODELCI_TLS_EXPECT_TRUSTED", trusted.to_string())
            .output()
            .expect("the test binary runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.contains("1 passed"),
            "SSL_CERT_FILE={}: {text}",
            ca.display()
        );
    }
}

/// Run by [`a_private_ca_in_ssl_cert_file_is_trusted`] with `SSL_CERT_FILE` set: the server is
/// trusted exactly when `MODELCI_TLS_EXPECT_TRUSTED` says so.
#[test]
#[ignore = "run by a_private_ca_in_ssl_cert_file_is_trusted with SSL_CERT_FILE set"]
fn ssl_cert_file_child() {
    let expect = std::env::var("MODELCI_TLS_EXPECT_TRUSTED").expect("run by the parent test");
    let addr = https_server();
    let got = get(&policy(), addr);
    match expect.as_str() {
        "true" => assert_eq!(got.as_deref(), Ok("hello over tls")),
        _ => assert!(got.is_err(), "trusted without the CA: {got:?}"),
    }
}
