//! Throwaway HTTP peers for tests of how modelci copes with servers: a loopback listener whose
//! every connection gets its request head read and then whatever answer (or silence) a test
//! needs, and the pact files those tests verify.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Serves on 127.0.0.1 until the test ends: for each connection, on a thread of its own, reads
/// the request head and calls `answer` with the stream and that head. Returns `http://ADDR`.
pub fn serve(answer: impl Fn(&mut TcpStream, &str) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let answer = std::sync::Arc::clone(&answer);
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                let n = stream.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                answer(&mut stream, &head);
            });
        }
    });
    format!("http://{addr}")
}

/// Writes a v2 pact between `web` and `provider` with these interactions; its path.
pub fn pact_file(dir: &Path, provider: &str, interactions: Vec<Value>) -> PathBuf {
    let pact = serde_json::json!({
        "consumer": {"name": "web"},
        "provider": {"name": provider},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    });
    let path = dir.join("pact.json");
    std::fs::write(&path, pact.to_string()).expect("pact");
    path
}

/// One `GET /x` interaction expecting `200 {"ok": true}`.
pub fn get_x_ok() -> Vec<Value> {
    vec![serde_json::json!({
        "description": "an answer",
        "request": {"method": "GET", "path": "/x"},
        "response": {"status": 200, "body": {"ok": true}}
    })]
}
