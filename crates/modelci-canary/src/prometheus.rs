//! Samples from Prometheus: each metric's query, with the scope's placeholders filled, as a
//! range query (`/api/v1/query_range`) over the window at the step; every value of every series
//! it returns is a sample (Kayenta does the same). A query that returns no series has no data;
//! one Prometheus refuses (bad PromQL) or an unreachable server is an error naming the query.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use modelci_config::canary::{Prometheus, fill};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// The most an answer may weigh (11,000 points per series, many series).
const BODY_CAP: u64 = 256 * 1024 * 1024;

/// A client for one server, with the window fixed when it was made.
pub struct Client {
    http: reqwest::blocking::Client,
    prometheus: Prometheus,
    start: f64,
    end: f64,
}

/// One query's samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Every value of every series (NaN for Prometheus' `NaN`).
    pub values: Vec<f64>,
    /// How many series the query returned.
    pub series: usize,
}

impl Client {
    /// A client; the window ends at the configured end, or now.
    ///
    /// # Errors
    /// A secret header's variable is unset, or a header is invalid.
    pub fn new(prometheus: &Prometheus) -> Result<Client, String> {
        let mut headers = HeaderMap::new();
        let mut pairs = prometheus.headers.clone();
        for (name, var, _) in &prometheus.secret_headers {
            let value = std::env::var(var).map_err(|_| {
                format!("secret header `{name}`: the environment variable `{var}` is not set")
            })?;
            pairs.push((name.clone(), value));
        }
        for (name, value) in pairs {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid header name"))?;
            let mut v = HeaderValue::from_str(&value)
                .map_err(|_| format!("header `{name}` has a value that is not valid in HTTP"))?;
            v.set_sensitive(true);
            headers.append(n, v);
        }
        let http = modelci_net::ClientPolicy::new(prometheus.timeout)
            .default_headers(headers)
            .build_blocking()
            .map_err(|e| e.to_string())?;
        let end = prometheus.end.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs_f64()
        });
        Ok(Client {
            http,
            prometheus: prometheus.clone(),
            start: end - prometheus.window.as_secs_f64(),
            end,
        })
    }

    /// The window: (start, end) in Unix seconds.
    pub fn window(&self) -> (f64, f64) {
        (self.start, self.end)
    }

    /// The base URL, without credentials.
    pub fn shown_url(&self) -> String {
        modelci_net::redact_url_text(&self.prometheus.url)
    }

    /// Runs `query` with `scope`'s placeholders filled.
    ///
    /// # Errors
    /// The server cannot be reached, answers an error, or the answer is not a matrix.
    pub fn range(&self, query: &str, scope: &BTreeMap<String, String>) -> Result<Series, String> {
        let filled = fill(query, scope);
        let url = format!("{}/api/v1/query_range", self.prometheus.url);
        let step = self.prometheus.step.as_secs_f64();
        let params = [
            ("query", filled.clone()),
            ("start", format!("{:.3}", self.start)),
            ("end", format!("{:.3}", self.end)),
            ("step", format!("{step}")),
        ];
        let shown = self.shown_url();
        // The form body, encoded by the URL crate's form encoder.
        let mut form = reqwest::Url::parse("http://form.invalid/").map_err(|e| e.to_string())?;
        form.query_pairs_mut().extend_pairs(params.iter());
        let response = self
            .http
            .post(&url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form.query().unwrap_or_default().to_owned())
            .send()
            .map_err(|e| {
                format!(
                    "Prometheus at {shown}: {}",
                    modelci_net::describe_routed(e, self.prometheus.timeout)
                )
            })?;
        let status = response.status();
        let body = modelci_net::read_capped_blocking(
            response,
            BODY_CAP,
            modelci_net::Deadline::after(self.prometheus.timeout),
        )
        .map_err(|e| format!("Prometheus at {shown}: the answer was cut off: {e}"))?;
        if body.truncated {
            return Err(format!(
                "Prometheus at {shown}: the answer to `{filled}` is over {} MiB: make the step longer or aggregate the query",
                BODY_CAP / 1024 / 1024
            ));
        }
        parse(&body.bytes, status, &filled).map_err(|m| format!("Prometheus at {shown}: {m}"))
    }
}

/// Reads a `query_range` answer.
fn parse(bytes: &[u8], status: reqwest::StatusCode, query: &str) -> Result<Series, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| {
        format!(
            "answered {status} with a body that is not Prometheus' JSON: {}",
            modelci_text::truncate(&String::from_utf8_lossy(bytes), 200)
        )
    })?;
    if value["status"] != "success" {
        let kind = value["errorType"].as_str().unwrap_or("error");
        let error = value["error"].as_str().unwrap_or("no message");
        return Err(format!(
            "the query `{query}` failed ({status}, {kind}): {error}"
        ));
    }
    let data = &value["data"];
    if data["resultType"] != "matrix" {
        return Err(format!(
            "the query `{query}` gave a `{}`, not a range (matrix)",
            data["resultType"].as_str().unwrap_or("?")
        ));
    }
    let Some(result) = data["result"].as_array() else {
        return Err(format!("the answer to `{query}` has no `data.result` list"));
    };
    let mut values = Vec::new();
    for series in result {
        let Some(points) = series["values"].as_array() else {
            continue;
        };
        for p in points {
            // [ <unix seconds>, "<value>" ]; "NaN", "+Inf" and "-Inf" are valid values.
            let v = p[1]
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .ok_or_else(|| {
                    format!(
                        "the answer to `{query}` has a point that is not [time, \"value\"]: {}",
                        modelci_text::truncate(&p.to_string(), 80)
                    )
                })?;
            values.push(v);
        }
    }
    Ok(Series {
        values,
        series: result.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_gives_every_value_of_every_series() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"version":"1"},"values":[[1.0,"0.5"],[2.0,"NaN"]]},
            {"metric":{"version":"1","pod":"b"},"values":[[1.0,"1.5"]]}]}}"#;
        let s = parse(body, reqwest::StatusCode::OK, "q").expect("matrix");
        assert_eq!(s.series, 2);
        assert_eq!(s.values.len(), 3);
        assert!(s.values[1].is_nan());
        assert_eq!(s.values[2], 1.5);
    }

    #[test]
    fn errors_name_the_query() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        let e = parse(body, reqwest::StatusCode::BAD_REQUEST, "rate(x[").expect_err("error");
        assert_eq!(
            e,
            "the query `rate(x[` failed (400 Bad Request, bad_data): parse error at char 5"
        );
        let e = parse(b"<html>", reqwest::StatusCode::BAD_GATEWAY, "q").expect_err("html");
        assert!(
            e.starts_with("answered 502 Bad Gateway with a body that is not"),
            "{e}"
        );
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(
            parse(body, reqwest::StatusCode::OK, "q")
                .expect_err("vector")
                .contains("vector")
        );
    }
}
