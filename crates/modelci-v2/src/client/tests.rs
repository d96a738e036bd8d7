use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use modelci_net::testing::ForwardProxy;
use modelci_tensor::tensor::{DType, Data};
use serde_json::Value;

use super::*;
use crate::codec::element_count;

/// How the fake server states the body's length.
#[derive(Clone, Copy)]
enum Length {
    Exact,
    /// A `Content-Length` that is not the body's.
    Claimed(u64),
    /// No `Content-Length`: the body ends when the connection closes.
    UntilClose,
}

/// A canned answer.
struct Reply {
    status: u16,
    body: Vec<u8>,
    delay: Duration,
    length: Length,
    /// When not zero: the body is written a byte at a time, this long apart.
    pace: Duration,
}

impl Reply {
    fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            body: body.into(),
            delay: Duration::ZERO,
            length: Length::Exact,
            pace: Duration::ZERO,
        }
    }
}

/// A request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

type Route = dyn Fn(&str, &str, &str) -> Reply + Send + Sync;

/// A tiny HTTP/1.1 server on 127.0.0.1 answering every request with `route(method, path,
/// body)`, one connection per request.
struct Fake {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn start(route: impl Fn(&str, &str, &str) -> Reply + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let route: Arc<Route> = Arc::new(route);
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (route, log) = (Arc::clone(&route), Arc::clone(&log));
                std::thread::spawn(move || {
                    let _ = serve(stream, &*route, &log);
                });
            }
        });
        Fake { base, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

fn serve(stream: TcpStream, route: &Route, log: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let (mut headers, mut len) = (Vec::new(), 0usize);
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            if n.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((n.to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let reply = route(&method, path.split('?').next().unwrap_or_default(), &body);
    if let Ok(mut l) = log.lock() {
        l.push(Seen {
            method,
            path,
            headers,
            body,
        });
    }
    std::thread::sleep(reply.delay);
    let mut head = format!(
        "HTTP/1.1 {} Whatever\r\nContent-Type: application/json\r\nConnection: close\r\n",
        reply.status
    );
    match reply.length {
        Length::Exact => head += &format!("Content-Length: {}\r\n", reply.body.len()),
        Length::Claimed(n) => head += &format!("Content-Length: {n}\r\n"),
        Length::UntilClose => {}
    }
    head += "\r\n";
    let mut out = stream;
    out.write_all(head.as_bytes())?;
    if reply.pace.is_zero() {
        out.write_all(&reply.body)?;
    } else {
        out.flush()?;
        for b in &reply.body {
            std::thread::sleep(reply.pace);
            out.write_all(&[*b])?;
            out.flush()?;
        }
    }
    out.flush()
}

const META: &str = r#"{"name":"m","versions":["1","2"],"platform":"onnxruntime_onnx",
    "inputs":[{"name":"x","datatype":"FP32","shape":[-1,2]},
              {"name":"flag","datatype":"BOOL","shape":[-1]},
              {"name":"text","datatype":"BYTES","shape":[-1]}],
    "outputs":[{"name":"y","datatype":"FP32","shape":[-1,2]},
               {"name":"names","datatype":"BYTES","shape":[-1]},
               {"name":"ok","datatype":"BOOL","shape":[-1]}]}"#;

/// A server with model `m` (versions 1 and 2) declaring `meta`, answering `infer` with
/// `infer(request body)`.
fn model_server(meta: &'static str, infer: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Fake {
    Fake::start(move |method, path, body| {
        let path = path.replace("/versions/1", "").replace("/versions/2", "");
        match (method, path.as_str()) {
            ("GET", "/v2/health/ready" | "/v2/models/m/ready") => Reply::new(200, ""),
            ("GET", "/v2/models/m") => Reply::new(200, meta),
            ("POST", "/v2/models/m/infer") => infer(body),
            _ => Reply::new(404, r#"{"error":"no such thing"}"#),
        }
    })
}

const SHORT: Duration = Duration::from_secs(5);

fn connect(fake: &Fake) -> Endpoint {
    Endpoint::connect(&fake.base, "m", None, SHORT).expect("connects")
}

fn err_text(r: Result<impl fmt::Debug, RuntimeError>) -> String {
    r.expect_err("an error").to_string()
}

fn sample_inputs() -> Vec<Tensor> {
    vec![
        Tensor::new(
            "x",
            DType::F32,
            vec![2, 2],
            Data::Float(vec![0.1, 2.0, -3.5, f64::from(1e-7f32)]),
        )
        .expect("x"),
        Tensor::new("flag", DType::Bool, vec![2], Data::Bool(vec![true, false])).expect("f"),
        Tensor::new(
            "text",
            DType::String,
            vec![2],
            Data::Str(vec!["a \"quoted\"".into(), "ü".into()]),
        )
        .expect("t"),
    ]
}

const ANSWER: &str = r#"{"model_name":"m","model_version":"1","id":"7","outputs":[
    {"name":"ok","datatype":"BOOL","shape":[2],"data":[true,false]},
    {"name":"extra","datatype":"INT64","shape":[1],"data":[5]},
    {"name":"names","datatype":"BYTES","shape":[2],"data":["a","ü"]},
    {"name":"y","datatype":"FP32","shape":[2,2],"data":[[0.1,2.5],[NaN,-Infinity]]}]}"#;

#[test]
fn endpoints_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Endpoint>();
}

#[test]
fn metadata_and_readiness() {
    let fake = model_server(META, |_| Reply::new(500, ""));
    let e = connect(&fake);
    assert_eq!(e.platform.as_deref(), Some("onnxruntime_onnx"));
    assert_eq!(e.versions, vec!["1", "2"]);
    assert_eq!(e.inputs.len(), 3);
    assert_eq!(
        e.inputs[0],
        Port {
            name: "x".into(),
            dtype: Some(DType::F32),
            shape: vec![-1, 2]
        }
    );
    assert_eq!(e.inputs[2].dtype, Some(DType::String));
    assert_eq!(e.outputs[2].dtype, Some(DType::Bool));
    assert_eq!(e.target(), format!("{}/v2/models/m", fake.base));
    let paths: Vec<String> = fake.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        vec!["/v2/health/ready", "/v2/models/m/ready", "/v2/models/m"]
    );

    let v =
        Endpoint::connect(&format!("{}/", fake.base), "m", Some("2"), SHORT).expect("version 2");
    assert_eq!(v.version(), Some("2"));
    assert_eq!(v.model_name(), "m");
    assert_eq!(v.target(), format!("{}/v2/models/m/versions/2", fake.base));
    assert!(format!("{v:?}").contains("versions/2"));
}

#[test]
fn infer_round_trip_with_nested_data_bytes_and_bools() {
    let fake = model_server(META, |_| Reply::new(200, ANSWER));
    let e = connect(&fake);
    let out = e.run(&sample_inputs()).expect("runs");
    let names: Vec<&str> = out.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["y", "names", "ok"], "metadata order");
    assert_eq!(out[0].shape, vec![2, 2]);
    assert_eq!(out[0].dtype, DType::F32);
    let Data::Float(y) = &out[0].data else {
        panic!("floats")
    };
    assert_eq!(y[0], f64::from(0.1f32), "rounded to float32");
    assert_eq!(y[1], 2.5);
    assert!(y[2].is_nan());
    assert_eq!(y[3], f64::NEG_INFINITY);
    assert_eq!(out[1].data, Data::Str(vec!["a".into(), "ü".into()]));
    assert_eq!(out[2].data, Data::Bool(vec![true, false]));

    let infer = fake
        .seen()
        .into_iter()
        .find(|s| s.method == "POST")
        .expect("posted");
    assert_eq!(infer.path, "/v2/models/m/infer");
    assert!(
        infer
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/json")
    );
    assert!(
        infer.body.contains(r#""data":[0.1,2.0,-3.5,1e-7]"#),
        "shortest float32 forms: {}",
        infer.body
    );
    let sent: Value = serde_json::from_str(&infer.body).expect("the request is JSON");
    assert_eq!(
        sent["inputs"][0],
        serde_json::json!({"name":"x","shape":[2,2],"datatype":"FP32","data":[0.1,2.0,-3.5,1e-7]})
    );
    assert_eq!(sent["inputs"][1]["datatype"], "BOOL");
    assert_eq!(sent["inputs"][1]["data"], serde_json::json!([true, false]));
    assert_eq!(sent["inputs"][2]["datatype"], "BYTES");
    assert_eq!(
        sent["inputs"][2]["data"],
        serde_json::json!(["a \"quoted\"", "ü"])
    );
    assert_eq!(
        sent["outputs"],
        serde_json::json!([{"name":"y"},{"name":"names"},{"name":"ok"}])
    );
}

#[test]
fn inputs_are_checked_before_sending() {
    let fake = model_server(META, |_| Reply::new(200, ANSWER));
    let e = connect(&fake);
    let mut inputs = sample_inputs();
    inputs.pop();
    assert_eq!(
        err_text(e.run(&inputs)),
        "the model needs input `text`, which the case does not give"
    );
    let mut inputs = sample_inputs();
    inputs.push(Tensor::new("z", DType::I64, vec![1], Data::Int(vec![1])).expect("z"));
    assert_eq!(
        err_text(e.run(&inputs)),
        "the case gives input `z`, which the model does not have (its inputs: x, flag, text)"
    );
    let mut inputs = sample_inputs();
    inputs[1] = Tensor::new("flag", DType::Bool, vec![2], Data::Int(vec![1, 0])).expect("f");
    assert_eq!(
        err_text(e.run(&inputs)),
        "input `flag`: integer values for a BOOL tensor"
    );
    assert!(
        fake.seen().iter().all(|s| s.method == "GET"),
        "nothing sent"
    );
}

#[test]
fn nan_and_infinity_inputs_are_refused_or_sent_as_tokens() {
    let fake = model_server(META, |_| Reply::new(200, ANSWER));
    let e = connect(&fake);
    let mut inputs = sample_inputs();
    inputs[0].data = Data::Float(vec![0.0, 1.0, f64::NAN, 2.0]);
    let msg = err_text(e.run(&inputs));
    assert!(
        msg.starts_with("input `x` holds NaN at [1, 0], which the Open Inference Protocol's JSON encoding cannot carry"),
        "{msg}"
    );
    inputs[0].data = Data::Float(vec![0.0, f64::NEG_INFINITY, 1.0, 2.0]);
    assert!(err_text(e.run(&inputs)).contains("holds -inf at [0, 1]"));

    let tokens = Endpoint::connect_with(
        &fake.base,
        "m",
        None,
        &ConnectOptions::new(SHORT).with_nonfinite_tokens(true),
    )
    .expect("connects");
    inputs[0].data = Data::Float(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.0]);
    tokens.run(&inputs).expect("sent");
    let body = fake
        .seen()
        .into_iter()
        .find(|s| s.method == "POST")
        .expect("posted")
        .body;
    assert!(
        body.contains(r#""data":[NaN,Infinity,-Infinity,2.0]"#),
        "{body}"
    );
}

#[test]
fn answers_in_other_encodings() {
    // Flat data for a 2-D shape, strings and null for non-finite values, integral floats.
    let meta = r#"{"name":"m","inputs":[{"name":"x","datatype":"INT8","shape":[-1]}],
        "outputs":[{"name":"y","datatype":"FP64","shape":[-1,2]},
                   {"name":"c","datatype":"UINT8","shape":[-1]}]}"#;
    let fake = model_server(meta, |_| {
        Reply::new(
            200,
            r#"{"outputs":[{"name":"y","datatype":"FP64","shape":[2,2],"data":[1,"NaN","-inf",null]},
                           {"name":"c","datatype":"UINT8","shape":[3],"data":[[0],[255.0],[1]]}]}"#,
        )
    });
    let e = connect(&fake);
    assert_eq!(e.platform, None);
    assert!(e.versions.is_empty());
    let x = Tensor::new("x", DType::I8, vec![2], Data::Int(vec![-3, 4])).expect("x");
    let out = e.run(&[x]).expect("runs");
    let Data::Float(y) = &out[0].data else {
        panic!("floats")
    };
    assert_eq!(y[0], 1.0);
    assert!(y[1].is_nan() && y[3].is_nan());
    assert_eq!(y[2], f64::NEG_INFINITY);
    assert_eq!(out[1].data, Data::UInt(vec![0, 255, 1]));
    let body = fake.seen().pop().expect("seen").body;
    assert!(
        body.contains(r#""datatype":"INT8","data":[-3,4]"#),
        "{body}"
    );
}

#[test]
fn answers_that_do_not_fit() {
    let check = |answer: &'static str, expected: &str| {
        let fake = model_server(META, move |_| Reply::new(200, answer));
        let e = connect(&fake);
        let msg = err_text(e.run(&sample_inputs()));
        let want = format!(
            "{}/v2/models/m/infer: the answer is not the protocol's: {expected}",
            fake.base
        );
        assert_eq!(msg, want);
    };
    check(
        r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[2,2],"data":[1,2,3]}]}"#,
        "output `y`: shape [2, 2] holds 4 element(s) but `data` has 3",
    );
    check(
        r#"{"outputs":[{"name":"y","datatype":"INT8","shape":[1],"data":[300]}]}"#,
        "output `y`: element 0 (300) does not fit INT8",
    );
    check(
        r#"{"outputs":[{"name":"y","datatype":"BOOL","shape":[1],"data":["yes"]}]}"#,
        "output `y`: element 0 (\"yes\") is not a BOOL value",
    );
    check(
        r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}"#,
        "output `y`: no `data` (binary tensor data, the protocol's binary extension, is not supported)",
    );
    check(
        r#"{"outputs":[{"name":"y","datatype":"COMPLEX64","shape":[1],"data":[1]}]}"#,
        "output `y`: datatype `COMPLEX64` is not one modelci knows",
    );
    check(r#"{"model_name":"m"}"#, "an object without `outputs`");

    let fake = model_server(META, |_| {
        Reply::new(
            200,
            r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[0,2],"data":[]}]}"#,
        )
    });
    let e = connect(&fake);
    assert_eq!(
        err_text(e.run(&sample_inputs())),
        format!(
            "{}/v2/models/m/infer: the answer has no output `names`, which the metadata declares",
            fake.base
        )
    );
}

#[test]
fn server_errors_quote_the_message() {
    let fake = model_server(META, |_| {
        Reply::new(400, r#"{"error":"unexpected shape for input 'x'"}"#)
    });
    let e = connect(&fake);
    assert_eq!(
        err_text(e.run(&sample_inputs())),
        format!(
            "{}/v2/models/m/infer: the server refused the request: answered 400 Bad Request: unexpected shape for input 'x'",
            fake.base
        )
    );

    let fake = model_server(META, |_| Reply::new(502, "x".repeat(5000)));
    let msg = err_text(connect(&fake).run(&sample_inputs()));
    assert!(msg.contains("answered 502 Bad Gateway: xxx"), "{msg}");
    assert!(msg.ends_with("x..."), "{msg}");
    assert!(msg.len() < 700, "long bodies are cut: {}", msg.len());

    let fake = model_server(META, |_| Reply::new(500, ""));
    let msg = err_text(connect(&fake).run(&sample_inputs()));
    assert!(
        msg.ends_with("answered 500 Internal Server Error (no message)"),
        "{msg}"
    );
}

#[test]
fn garbage_and_non_utf8_bodies() {
    let fake = model_server(META, |_| Reply::new(200, b"\xff\xfe\x00garbage".to_vec()));
    let msg = err_text(connect(&fake).run(&sample_inputs()));
    assert_eq!(
        msg,
        format!(
            "{}/v2/models/m/infer: answered 200 OK with a body that is not UTF-8 text (so not JSON); it starts with b\"\\xff\\xfe\\x00garbage\"",
            fake.base
        )
    );

    let fake = model_server(META, |_| Reply::new(200, "<html>\n\"oops\"</html>"));
    let msg = err_text(connect(&fake).run(&sample_inputs()));
    assert!(
        msg.starts_with(&format!(
            "{}/v2/models/m/infer: answered 200 OK with a body that is not JSON (",
            fake.base
        )),
        "{msg}"
    );
    assert!(
        msg.ends_with(r#"it starts with "<html>\n\"oops\"</html>""#),
        "{msg}"
    );

    let fake = model_server("[1, 2", |_| Reply::new(200, ""));
    let msg = err_text(Endpoint::connect(&fake.base, "m", None, SHORT));
    assert!(
        msg.contains("/v2/models/m: answered 200 OK with a body that is not JSON"),
        "{msg}"
    );
}

#[test]
fn malformed_metadata() {
    let check = |meta: &'static str, expected: &str| {
        let fake = model_server(meta, |_| Reply::new(200, ""));
        let msg = err_text(Endpoint::connect(&fake.base, "m", None, SHORT));
        assert_eq!(
            msg,
            format!(
                "{}/v2/models/m: the metadata is not the protocol's: {expected}",
                fake.base
            )
        );
    };
    check(
        r#"{"inputs":[{"name":"x","shape":[1]}]}"#,
        "inputs[0]: `x` has no `datatype` string",
    );
    check(
        r#"{"inputs":[],"outputs":[{"name":"y","datatype":"FP32","shape":["a"]}]}"#,
        "outputs[0]: `y` has a `shape` that is not a list of integers",
    );
    check(r#"{"inputs":{}}"#, "`inputs` is an object, not a list");
    check("[]", "expected a JSON object, got a list");
}

#[test]
fn a_hanging_server_times_out() {
    let fake = model_server(META, |_| {
        let mut r = Reply::new(200, ANSWER);
        r.delay = Duration::from_secs(5);
        r
    });
    let e = Endpoint::connect(&fake.base, "m", None, Duration::from_millis(300)).expect("connects");
    let started = Instant::now();
    let msg = err_text(e.run(&sample_inputs()));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        msg,
        format!("{}/v2/models/m/infer: timed out after 300 ms", fake.base)
    );
}

#[test]
fn a_refused_connection() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address").port()
    };
    let msg = err_text(Endpoint::connect(
        &format!("http://127.0.0.1:{port}"),
        "m",
        None,
        SHORT,
    ));
    assert!(
        msg.starts_with(&format!(
            "cannot reach http://127.0.0.1:{port}/v2/health/ready: "
        )),
        "{msg}"
    );
    assert!(msg.to_lowercase().contains("refused"), "{msg}");
}

#[test]
fn readiness_failures() {
    // No server-level health URL, but the model answers: tolerated.
    let fake = Fake::start(|_, path, _| match path {
        "/v2/models/m/ready" => Reply::new(200, ""),
        "/v2/models/m" => Reply::new(200, META),
        _ => Reply::new(404, ""),
    });
    assert_eq!(connect(&fake).inputs.len(), 3);

    // Nothing of the protocol at all.
    let fake = Fake::start(|_, _, _| Reply::new(404, "Not Found"));
    assert_eq!(
        err_text(Endpoint::connect(&fake.base, "m", Some("3"), SHORT)),
        format!(
            "{b}/v2/models/m/versions/3/ready: the server does not have model `m` version `3`: answered 404 Not Found: Not Found; {b}/v2/health/ready answered 404 too: is {b}/ an Open Inference Protocol (v2) server?",
            b = fake.base
        )
    );

    let fake = Fake::start(|_, path, _| match path {
        "/v2/health/ready" => Reply::new(503, r#"{"error":"warming up"}"#),
        _ => Reply::new(200, META),
    });
    assert_eq!(
        err_text(Endpoint::connect(&fake.base, "m", None, SHORT)),
        format!(
            "{}/v2/health/ready: the server is not ready: answered 503 Service Unavailable: warming up",
            fake.base
        )
    );

    let fake = Fake::start(|_, path, _| match path {
        "/v2/models/m/ready" => Reply::new(400, ""),
        _ => Reply::new(200, META),
    });
    assert_eq!(
        err_text(Endpoint::connect(&fake.base, "m", None, SHORT)),
        format!(
            "{}/v2/models/m/ready: model `m` is not ready: answered 400 Bad Request (no message)",
            fake.base
        )
    );
}

#[test]
fn bad_urls_and_names() {
    assert_eq!(
        err_text(Endpoint::connect("ftp://host/x", "m", None, SHORT)),
        "`ftp://host/x` is not an http(s) URL; an endpoint is a base URL such as http://127.0.0.1:8000"
    );
    let msg = err_text(Endpoint::connect("http://user:pw@", "m", None, SHORT));
    assert!(msg.starts_with("`http://***@` is not a URL ("), "{msg}");
    assert_eq!(
        err_text(Endpoint::connect("http://127.0.0.1:9", " ", None, SHORT)),
        "http://127.0.0.1:9/: the model name is empty"
    );
}

#[test]
fn bodies_over_the_limit() {
    let fake = model_server(META, |_| {
        let mut r = Reply::new(200, ANSWER);
        r.length = Length::Claimed(600 * 1024 * 1024);
        r
    });
    let msg = err_text(connect(&fake).run(&sample_inputs()));
    assert_eq!(
        msg,
        format!(
            "{}/v2/models/m/infer: answered 200 OK with a body of 629145600 bytes, more than the 512 MiB limit",
            fake.base
        )
    );

    // No Content-Length: the limit applies while reading.
    let fake = model_server(META, |_| {
        let mut r = Reply::new(200, format!("{ANSWER}{}", " ".repeat(3000)));
        r.length = Length::UntilClose;
        r
    });
    let small = ConnectOptions::new(SHORT).with_max_body_bytes(4000);
    let e = Endpoint::connect_with(&fake.base, "m", None, &small).expect("connects");
    e.run(&sample_inputs()).expect("fits");
    let tiny = ConnectOptions::new(SHORT).with_max_body_bytes(1000);
    let e = Endpoint::connect_with(&fake.base, "m", None, &tiny).expect("connects");
    assert_eq!(
        err_text(e.run(&sample_inputs())),
        format!(
            "{}/v2/models/m/infer: answered 200 OK with a body larger than the 1000 bytes limit",
            fake.base
        )
    );
}

#[test]
fn headers_are_sent_and_never_shown() {
    let fake = Fake::start(|_, path, _| match path {
        "/v2/models/m/infer" => Reply::new(401, r#"{"error":"bad token"}"#),
        "/v2/models/m" => Reply::new(200, META),
        _ => Reply::new(200, ""),
    });
    let options = ConnectOptions::new(SHORT)
        .with_headers(vec![("Authorization".into(), "Bearer s3cr3t-token".into())]);
    let e = Endpoint::connect_with(&fake.base, "m", None, &options).expect("connects");
    let msg = err_text(e.run(&sample_inputs()));
    assert!(
        msg.contains("answered 401 Unauthorized: bad token"),
        "{msg}"
    );
    for shown in [msg, format!("{e:?}"), format!("{options:?}")] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
    assert!(fake.seen().iter().all(|s| {
        s.headers
            .iter()
            .any(|(n, v)| n == "authorization" && v == "Bearer s3cr3t-token")
    }));

    let bad = ConnectOptions::new(SHORT)
        .with_headers(vec![("X-Key".into(), "line\nbreak s3cr3t".into())]);
    let msg = err_text(Endpoint::connect_with(&fake.base, "m", None, &bad));
    assert_eq!(
        msg,
        "header `X-Key`: its value is not a valid HTTP header value (the value is not shown)"
    );

    // Credentials in the URL go as basic auth and are never shown.
    let with_user = fake.base.replace("http://", "http://me:pa55word@");
    let e =
        Endpoint::connect(&format!("{with_user}/?key=abc"), "m", None, SHORT).expect("connects");
    assert!(!e.target().contains("pa55word") && !e.target().contains("abc"));
    assert!(
        e.target().starts_with("http://***@127.0.0.1:"),
        "{}",
        e.target()
    );
    let msg = err_text(e.run(&sample_inputs()));
    assert!(
        !msg.contains("pa55word") && !msg.contains("key=abc"),
        "{msg}"
    );
    assert!(fake.seen().last().is_some_and(|s| {
        s.headers
            .iter()
            .any(|(n, v)| n == "authorization" && v.starts_with("Basic "))
    }));
}

#[test]
fn a_trickling_body_times_out_as_a_whole() {
    // Each byte comes well within the timeout, the whole body (about 400 bytes, 25 ms
    // apart: 10 s) far beyond it.
    let fake = model_server(META, |_| {
        let mut r = Reply::new(200, ANSWER);
        r.pace = Duration::from_millis(25);
        r
    });
    let e = Endpoint::connect(&fake.base, "m", None, Duration::from_millis(400)).expect("connects");
    let started = Instant::now();
    let msg = err_text(e.run(&sample_inputs()));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        msg,
        format!(
            "{}/v2/models/m/infer: timed out after 400 ms while reading the body",
            fake.base
        )
    );
}

#[test]
fn shapes_too_large_to_count_are_refused() {
    let check = |answer: &'static str, expected: &str| {
        let fake = model_server(META, move |_| Reply::new(200, answer));
        let msg = err_text(connect(&fake).run(&sample_inputs()));
        assert_eq!(
            msg,
            format!(
                "{}/v2/models/m/infer: the answer is not the protocol's: {expected}",
                fake.base
            )
        );
    };
    // 2^62 · 2^62 · 2^62 overflows even u128; with a zero it holds no element, but its row
    // width (2^80) overflows what later code computes.
    check(
        r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[4611686018427387904,4611686018427387904,4611686018427387904],"data":[]}]}"#,
        "output `y`: shape [4611686018427387904, 4611686018427387904, 4611686018427387904] is too large (its dimensions multiply past 2^63)",
    );
    check(
        r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[0,1099511627776,1099511627776],"data":[]}]}"#,
        "output `y`: shape [0, 1099511627776, 1099511627776] is too large (its dimensions multiply past 2^63)",
    );
    check(
        r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[2,-1],"data":[1,2]}]}"#,
        "output `y`: `shape` is not a list of non-negative integers",
    );
    check(
        r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[2.0],"data":[1,2]}]}"#,
        "output `y`: `shape` is not a list of non-negative integers",
    );
    assert_eq!(element_count(&[]), Some(1));
    assert_eq!(element_count(&[3, 0, 5]), Some(0));
    assert_eq!(element_count(&[2, 3]), Some(6));
    assert_eq!(element_count(&[i64::MAX, 2]), None);
}

#[test]
fn float64_values_beyond_float32_are_not_written_as_inf() {
    let fake = model_server(META, |_| Reply::new(200, ANSWER));
    let e = connect(&fake);
    let mut inputs = sample_inputs();
    inputs[0].data = Data::Float(vec![0.0, 1e39, 2.0, 3.0]);
    let msg = err_text(e.run(&inputs));
    assert!(
        msg.starts_with("input `x` holds +inf (1000000000000000000000000000000000000000 overflows FP32) at [0, 1], which"),
        "{msg}"
    );
    assert!(fake.seen().iter().all(|s| s.method != "POST"), "not sent");

    let tokens = Endpoint::connect_with(
        &fake.base,
        "m",
        None,
        &ConnectOptions::new(SHORT).with_nonfinite_tokens(true),
    )
    .expect("connects");
    inputs[0].data = Data::Float(vec![-1e39, 1e39, 2.0, f64::from(f32::MAX)]);
    tokens.run(&inputs).expect("sent");
    let body = fake
        .seen()
        .into_iter()
        .find(|s| s.method == "POST")
        .expect("posted")
        .body;
    assert!(
        body.contains(r#""data":[-Infinity,Infinity,2.0,3.4028235e38]"#),
        "{body}"
    );
    assert!(!body.contains("inf,") && !body.contains("inf]"), "{body}");
}

#[test]
fn secrets_echoed_by_the_server_are_hidden() {
    let fake = Fake::start(|_, path, _| match path {
        "/v2/models/m/infer" => Reply::new(
            401,
            r#"{"error":"bad credentials: Authorization: Bearer s3cr3t-token-42, password hunter2pw, key k3y-value, token s3cr3t-token-42 alone"}"#,
        ),
        "/v2/models/m" => Reply::new(200, META),
        _ => Reply::new(200, ""),
    });
    let options = ConnectOptions::new(SHORT).with_headers(vec![(
        "Authorization".into(),
        "Bearer s3cr3t-token-42".into(),
    )]);
    let base = fake.base.replace("http://", "http://me:hunter2pw@");
    let e = Endpoint::connect_with(&format!("{base}/?key=k3y-value"), "m", None, &options)
        .expect("connects");
    let msg = err_text(e.run(&sample_inputs()));
    for secret in ["s3cr3t", "hunter2pw", "k3y-value"] {
        assert!(!msg.contains(secret), "{secret}: {msg}");
    }
    assert!(
        msg.ends_with("answered 401 Unauthorized: bad credentials: Authorization: ***, password ***, key ***, token *** alone"),
        "{msg}"
    );

    // While connecting too.
    let fake = Fake::start(|_, _, _| Reply::new(503, "not ready for Bearer s3cr3t-token-42"));
    let msg = err_text(Endpoint::connect_with(&fake.base, "m", None, &options));
    assert!(msg.ends_with("not ready for ***"), "{msg}");

    // Short values are left alone: they would blank out ordinary words.
    let short = super::http::secrets(
        &[("X-Flag".into(), "yes".into())],
        &Url::parse("http://h/?q=abcd").expect("url"),
    );
    assert_eq!(short.hide("yes, yes, abcd"), "yes, yes, abcd");
}

/// A host name no resolver knows: only the test proxy reaches it.
const PROXIED_HOST: &str = "v2.modelci.invalid";

fn address(fake: &Fake) -> std::net::SocketAddr {
    fake.base
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .expect("a loopback address")
}

#[test]
fn requests_go_through_the_proxy_and_loopback_goes_direct() {
    let fake = model_server(META, |_| Reply::new(200, ANSWER));
    let proxy = ForwardProxy::start(&[(PROXIED_HOST, address(&fake))]).expect("proxy");
    let settings = ProxySettings::explicit(Some(&proxy.url()), None, "").expect("settings");
    let options = ConnectOptions::new(SHORT).with_proxy(settings);

    let base = format!("http://{PROXIED_HOST}");
    let e = Endpoint::connect_with(&base, "m", None, &options).expect("connects through it");
    let out = e.run(&sample_inputs()).expect("runs through it");
    assert_eq!(out[0].name, "y");
    let targets: Vec<(String, String)> = proxy
        .seen()
        .into_iter()
        .map(|f| (f.method, f.target))
        .collect();
    let want: Vec<(String, String)> = [
        ("GET", "/v2/health/ready"),
        ("GET", "/v2/models/m/ready"),
        ("GET", "/v2/models/m"),
        ("POST", "/v2/models/m/infer"),
    ]
    .iter()
    .map(|(m, p)| ((*m).to_owned(), format!("{base}{p}")))
    .collect();
    assert_eq!(targets, want);
    assert_eq!(fake.seen().len(), 4, "the proxy forwarded each request");

    // A loopback server is reached directly, even with a proxy set.
    let e = Endpoint::connect_with(&fake.base, "m", None, &options).expect("connects");
    e.run(&sample_inputs()).expect("runs");
    assert_eq!(proxy.seen().len(), 4, "{:?}", proxy.seen());
    assert_eq!(fake.seen().len(), 8);

    // Without a proxy, the host cannot be reached at all.
    let direct = ConnectOptions::new(SHORT).with_proxy(ProxySettings::none());
    let msg = err_text(Endpoint::connect_with(&base, "m", None, &direct));
    assert!(
        msg.starts_with(&format!("cannot reach {base}/v2/health/ready: ")),
        "{msg}"
    );
    assert_eq!(proxy.seen().len(), 4);
}

#[test]
fn a_proxy_that_cannot_be_reached_is_named_without_its_credentials() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address").port()
    };
    let settings = ProxySettings::explicit(
        Some(&format!("http://proxy-user:s3cr3t-pw@127.0.0.1:{port}")),
        None,
        "",
    )
    .expect("settings");
    let options = ConnectOptions::new(SHORT).with_proxy(settings);
    let e = Endpoint::connect_with(&format!("http://{PROXIED_HOST}"), "m", None, &options)
        .expect_err("no proxy there");
    assert!(matches!(e, RuntimeError::Unavailable { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot reach http://{PROXIED_HOST}/v2/health/ready (through proxy http://***@127.0.0.1:{port}/): "
        )),
        "{msg}"
    );
    assert!(
        !msg.contains("s3cr3t") && !msg.contains("proxy-user"),
        "{msg}"
    );
    assert!(!format!("{options:?}").contains("s3cr3t"));
}

#[test]
fn urls_that_do_not_parse_hide_their_query() {
    let msg = err_text(Endpoint::connect(
        "http://127.0.0.1:99999/?token=s3cr3t",
        "m",
        None,
        SHORT,
    ));
    assert!(!msg.contains("s3cr3t"), "{msg}");
    assert!(
        msg.starts_with("`http://127.0.0.1:99999/?***` is not a URL ("),
        "{msg}"
    );
    let msg = err_text(Endpoint::connect(
        "http://u:p4ssword@h:99999/x?a=b",
        "m",
        None,
        SHORT,
    ));
    assert!(!msg.contains("p4ssword"), "{msg}");
    assert!(
        msg.starts_with("`http://***@h:99999/x?***` is not a URL ("),
        "{msg}"
    );
}

fn onnx_port(name: &str, dtype: Option<DType>, shape: Option<Vec<Dim>>) -> OnnxPort {
    OnnxPort {
        name: name.into(),
        dtype,
        shape,
        value_type: None,
    }
}

fn model_info(inputs: Vec<OnnxPort>, outputs: Vec<OnnxPort>) -> ModelInfo {
    ModelInfo {
        path: "m.onnx".into(),
        size_bytes: 0,
        sha256: String::new(),
        ir_version: 8,
        producer: String::new(),
        graph_name: String::new(),
        opsets: Vec::new(),
        inputs,
        outputs,
    }
}

fn mismatches(meta: &'static str, model: &ModelInfo) -> Vec<String> {
    let fake = model_server(meta, |_| Reply::new(500, ""));
    signature_mismatches(&connect(&fake), model)
}

#[test]
fn signature_mismatches_cases() {
    let batch = || Dim::Symbolic("batch".into());
    let model = model_info(
        vec![onnx_port(
            "input",
            Some(DType::F32),
            Some(vec![batch(), Dim::Fixed(4)]),
        )],
        vec![
            onnx_port(
                "probabilities",
                Some(DType::F32),
                Some(vec![batch(), Dim::Fixed(3)]),
            ),
            onnx_port("label", Some(DType::I64), Some(vec![batch()])),
        ],
    );
    let same = r#"{"inputs":[{"name":"input","datatype":"FP32","shape":[-1,4]}],
        "outputs":[{"name":"probabilities","datatype":"FP32","shape":[-1,-1]},
                   {"name":"label","datatype":"INT64","shape":[8]}]}"#;
    assert_eq!(mismatches(same, &model), Vec::<String>::new());

    let different = r#"{"inputs":[{"name":"input","datatype":"FP64","shape":[1,5]},
                  {"name":"mask","datatype":"BOOL","shape":[-1]}],
        "outputs":[{"name":"probabilities","datatype":"FP32","shape":[-1]},
                   {"name":"score","datatype":"FP8","shape":[-1]}]}"#;
    assert_eq!(
        mismatches(different, &model),
        vec![
            "input `input`: the endpoint declares FP64, the model takes float32",
            "input `input`: the endpoint declares shape [1, 5], the model takes [batch, 4]",
            "input `mask`: the endpoint declares it, but the model has no such input",
            "output `probabilities`: the endpoint declares shape [-1], the model gives [batch, 3]",
            "output `label`: the model has it, but the endpoint does not declare it",
            "output `score`: the endpoint declares it, but the model has no such output",
        ]
    );

    let unknown = model_info(
        vec![
            onnx_port("input", Some(DType::F32), None),
            onnx_port("seq", None, None),
        ],
        vec![onnx_port("label", Some(DType::I64), Some(vec![Dim::Any]))],
    );
    let meta = r#"{"inputs":[{"name":"input","datatype":"FP32","shape":[2,3,4]},
                  {"name":"seq","datatype":"FP32","shape":[-1]}],
        "outputs":[{"name":"label","datatype":"FP8","shape":[7]}]}"#;
    assert_eq!(
        mismatches(meta, &unknown),
        vec![
            "input `seq`: the endpoint declares FP32, but the model's is not a tensor of a known type",
            "output `label`: the endpoint declares FP8 (a datatype modelci does not know), the model gives int64",
        ]
    );
}
