//! Providers that behave badly: one that never answers, one that trickles its body a byte at
//! a time, one that answers garbage instead of HTTP, one that sends an endless body. Each is an
//! errored case with a message saying what happened, within the request's deadline and the
//! body cap, and the report is written (exit 2); modelci neither hangs nor runs out of memory.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{modelci, run};

#[derive(Clone, Copy)]
enum Behaviour {
    Hang,
    Trickle,
    Garbage,
    Endless,
}

fn provider(behaviour: Behaviour) -> String {
    crate::raw::serve(move |stream, _| match behaviour {
        Behaviour::Hang => std::thread::sleep(Duration::from_secs(600)),
        Behaviour::Trickle => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n",
            );
            for _ in 0..100_000 {
                if stream.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Behaviour::Garbage => {
            let _ = stream.write_all(b"\x00\x01\x02 this is not HTTP\r\n\r\n\xff\xfe");
        }
        Behaviour::Endless => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
            );
            let chunk = vec![b' '; 1 << 20];
            let head = format!("{:x}\r\n", chunk.len());
            // Up to 16 GiB: far past any cap.
            for _ in 0..16_384 {
                if stream.write_all(head.as_bytes()).is_err()
                    || stream.write_all(&chunk).is_err()
                    || stream.write_all(b"\r\n").is_err()
                {
                    return;
                }
            }
        }
    })
}

#[test]
fn bad_providers_are_errored_cases_within_the_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pact = crate::raw::pact_file(dir.path(), "bad", crate::raw::get_x_ok());
    for (behaviour, name, expected) in [
        (Behaviour::Hang, "hang", "timed out after 2 s"),
        (
            Behaviour::Trickle,
            "trickle",
            "timed out after 2 s while reading the body",
        ),
        (Behaviour::Garbage, "garbage", "invalid HTTP"),
        (Behaviour::Endless, "endless", "the body is larger than"),
    ] {
        let json = dir.path().join(format!("{name}.json"));
        let started = Instant::now();
        let (code, out, err) = run(&mut modelci(&[
            "contract",
            "verify",
            "--pact",
            pact.to_str().expect("utf8"),
            "--provider-url",
            &provider(behaviour),
            "--timeout",
            "2",
            "--json",
            json.to_str().expect("utf8"),
        ]));
        let took = started.elapsed().as_secs_f64();
        assert_eq!(code, 2, "{name}: {out}\n{err}");
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
        let case = &report["suites"][0]["cases"][0];
        assert_eq!(case["outcome"], "errored", "{name}: {case:#}");
        let message = case["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty() && message.contains(expected),
            "{name}: {case:#}"
        );
        // A bound only a hang breaks (the deadline is 2 s).
        assert!(took < 30.0, "{name}: took {took:.1} s");
    }
}
