//! The Prometheus metrics of the inference requests (`GET /metrics`, the Prometheus text
//! exposition format 0.0.4), kept with the `prometheus-client` crate: per model and served
//! version, the requests by status code, the 5xx answers, the latency histogram, the fallback's
//! answers, the requests in flight and whether the breaker is open.
//!
//! Every inference request is counted once, when it is answered, whatever the answer (4xx and
//! 5xx included). A request for a model that is not served here, or for a version other than the
//! served one, is counted in `modelci_service_requests_total` (and `..._request_errors_total`
//! when 5xx) with empty `model` and `version` labels (which Prometheus stores as no label), so
//! that clients cannot create label sets at will; the other metrics only have the served models.
//! Every served model's series exist from startup (at 0, `requests_total` with `code="200"`), so
//! that `rate()` and `increase()` see the first requests.

use std::fmt;
use std::time::Instant;

use axum::http::StatusCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of `GET /metrics`: `text/plain; version=0.0.4; charset=utf-8`.
pub(crate) const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The upper bounds (seconds) of the latency histogram's buckets: 1 ms to 10 s.
pub(crate) const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A model as its metrics name it: its name and served version (both empty for a request
/// that names no served model).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ModelLabels {
    model: String,
    version: String,
}

impl ModelLabels {
    pub(crate) fn new(model: &str, version: &str) -> ModelLabels {
        ModelLabels {
            model: model.to_owned(),
            version: version.to_owned(),
        }
    }

    /// The labels of requests that name no served model.
    fn unserved() -> ModelLabels {
        ModelLabels::new("", "")
    }
}

/// [`ModelLabels`] and the answer's HTTP status code.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    model: String,
    version: String,
    code: u16,
}

type HistogramFamily = Family<ModelLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The metrics of every model (see the module docs).
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<CodeLabels, Counter>,
    errors: Family<ModelLabels, Counter>,
    duration: HistogramFamily,
    fallback: Family<ModelLabels, Counter>,
    in_flight: Family<ModelLabels, Gauge>,
    breaker_open: Family<ModelLabels, Gauge>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The metrics of these served models (`(name, version)`), every series at 0.
    pub(crate) fn new<'a>(models: impl IntoIterator<Item = (&'a str, &'a str)>) -> Metrics {
        let requests = Family::<CodeLabels, Counter>::default();
        let errors = Family::<ModelLabels, Counter>::default();
        let duration = HistogramFamily::new_with_constructor(latency_histogram);
        let fallback = Family::<ModelLabels, Counter>::default();
        let in_flight = Family::<ModelLabels, Gauge>::default();
        let breaker_open = Family::<ModelLabels, Gauge>::default();
        let mut registry = Registry::default();
        // Counters are registered without `_total`: the encoder adds it.
        registry.register(
            "modelci_service_requests",
            "Inference requests answered, by model, served version and HTTP status code",
            requests.clone(),
        );
        registry.register(
            "modelci_service_request_errors",
            "Inference requests answered with a 5xx status (model failures, deadline, breaker open without fallback, remote failures)",
            errors.clone(),
        );
        registry.register(
            "modelci_service_request_duration_seconds",
            "Inference request latency as the service measures it, from the request's arrival to its response",
            duration.clone(),
        );
        registry.register(
            "modelci_service_fallback",
            "Inference requests answered by the fallback model (the breaker was open)",
            fallback.clone(),
        );
        registry.register(
            "modelci_service_in_flight",
            "Inference requests being handled now (queued in the bulkhead or running)",
            in_flight.clone(),
        );
        registry.register(
            "modelci_service_breaker_open",
            "1 while the model's circuit breaker is open, else 0 (closed or half-open)",
            breaker_open.clone(),
        );
        let metrics = Metrics {
            registry,
            requests,
            errors,
            duration,
            fallback,
            in_flight,
            breaker_open,
        };
        for (name, version) in models {
            // Each `get_or_create` makes the series; its read guard is dropped at once.
            let labels = ModelLabels::new(name, version);
            drop(
                metrics
                    .requests
                    .get_or_create(&CodeLabels::new(&labels, StatusCode::OK)),
            );
            drop(metrics.errors.get_or_create(&labels));
            drop(metrics.duration.get_or_create(&labels));
            drop(metrics.fallback.get_or_create(&labels));
            drop(metrics.in_flight.get_or_create(&labels));
            drop(metrics.breaker_open.get_or_create(&labels));
        }
        metrics
    }

    /// An inference request has arrived for this served model (`None`: it names none).
    pub(crate) fn begin(&self, model: Option<ModelLabels>) -> Inference<'_> {
        if let Some(labels) = &model {
            self.in_flight.get_or_create(labels).inc();
        }
        Inference {
            metrics: self,
            model,
            start: Instant::now(),
        }
    }

    /// The exposition: `breakers` says, for each served model, whether its breaker is open now.
    ///
    /// # Errors
    /// When the text cannot be written (not with a `String`).
    pub(crate) fn render(
        &self,
        breakers: impl IntoIterator<Item = (ModelLabels, bool)>,
    ) -> Result<String, fmt::Error> {
        for (labels, open) in breakers {
            self.breaker_open
                .get_or_create(&labels)
                .set(i64::from(open));
        }
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl CodeLabels {
    fn new(labels: &ModelLabels, status: StatusCode) -> CodeLabels {
        CodeLabels {
            model: labels.model.clone(),
            version: labels.version.clone(),
            code: status.as_u16(),
        }
    }
}

/// One inference request being handled; [`Inference::answered`] counts it. Dropped without an
/// answer (the client went away), it leaves the in-flight gauge and counts nothing.
pub(crate) struct Inference<'a> {
    metrics: &'a Metrics,
    model: Option<ModelLabels>,
    start: Instant,
}

impl Inference<'_> {
    /// The request was answered with `status`; `fallback`: by the fallback model.
    pub(crate) fn answered(self, status: StatusCode, fallback: bool) {
        let m = self.metrics;
        let labels = self.model.clone().unwrap_or_else(ModelLabels::unserved);
        m.requests
            .get_or_create(&CodeLabels::new(&labels, status))
            .inc();
        if status.is_server_error() {
            m.errors.get_or_create(&labels).inc();
        }
        if self.model.is_some() {
            m.duration
                .get_or_create(&labels)
                .observe(self.start.elapsed().as_secs_f64());
            if fallback && status.is_success() {
                m.fallback.get_or_create(&labels).inc();
            }
        }
    }
}

impl Drop for Inference<'_> {
    fn drop(&mut self) {
        if let Some(labels) = &self.model {
            self.metrics.in_flight.get_or_create(labels).dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(m: &Metrics) -> String {
        m.render([(ModelLabels::new("mlp", "2"), true)])
            .expect("render")
    }

    #[test]
    fn series_exist_from_startup_and_count_answers() {
        let m = Metrics::new([("mlp", "2")]);
        let text = render(&m);
        assert!(
            text.contains("# TYPE modelci_service_requests_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains(
                r#"modelci_service_requests_total{model="mlp",version="2",code="200"} 0"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"modelci_service_breaker_open{model="mlp",version="2"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("# TYPE modelci_service_request_duration_seconds histogram\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");

        let labels = ModelLabels::new("mlp", "2");
        let a = m.begin(Some(labels.clone()));
        assert!(render(&m).contains(r#"modelci_service_in_flight{model="mlp",version="2"} 1"#));
        a.answered(StatusCode::OK, true);
        m.begin(Some(labels.clone()))
            .answered(StatusCode::INTERNAL_SERVER_ERROR, false);
        m.begin(None).answered(StatusCode::NOT_FOUND, false);
        // A request whose client went away counts nothing.
        drop(m.begin(Some(labels)));
        let text = render(&m);
        for line in [
            r#"modelci_service_requests_total{model="mlp",version="2",code="200"} 1"#,
            r#"modelci_service_requests_total{model="mlp",version="2",code="500"} 1"#,
            r#"modelci_service_requests_total{model="",version="",code="404"} 1"#,
            r#"modelci_service_request_errors_total{model="mlp",version="2"} 1"#,
            r#"modelci_service_fallback_total{model="mlp",version="2"} 1"#,
            r#"modelci_service_in_flight{model="mlp",version="2"} 0"#,
            r#"modelci_service_request_duration_seconds_count{model="mlp",version="2"} 2"#,
            r#"modelci_service_request_duration_seconds_bucket{model="mlp",version="2",le="+Inf"} 2"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(
            !text.contains(r#"modelci_service_request_duration_seconds_count{model="""#),
            "{text}"
        );
    }
}
