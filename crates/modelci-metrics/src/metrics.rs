//! The result type shared by every evaluator: an ordered map from metric name to a value or to
//! the reason it is absent, plus the warnings raised while computing it.

use serde::Serialize;

/// A metric's value, or why there is none.
///
/// Serialized untagged: a value as a plain number, an absent metric as `{"reason": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MetricValue {
    /// A finite number.
    Value(f64),
    /// The metric is undefined on this data, or could not be computed from what was given.
    Absent {
        /// Why, as a lowercase sentence fragment.
        reason: String,
    },
}

impl MetricValue {
    /// The number, if present.
    #[must_use]
    pub fn value(&self) -> Option<f64> {
        match self {
            Self::Value(v) => Some(*v),
            Self::Absent { .. } => None,
        }
    }

    /// Why the metric is absent, if it is.
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Value(_) => None,
            Self::Absent { reason } => Some(reason),
        }
    }
}

/// One named metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Its name (MLflow's or fairlearn's where one exists).
    pub name: String,
    /// Its value or the reason it is absent.
    pub value: MetricValue,
}

/// A warning raised while computing a metric that still has a value, for example scikit-learn's
/// `UndefinedMetricWarning` when a precision has no predicted samples and is set to 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricWarning {
    /// The metric concerned.
    pub metric: String,
    /// What happened, as a lowercase sentence fragment.
    pub message: String,
}

/// Metrics in the order they were computed, each a value or absent with a reason, and the
/// warnings raised on the way.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Metrics {
    entries: Vec<Metric>,
    warnings: Vec<MetricWarning>,
}

impl Metrics {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry for `name`, present or absent; `None` if no such metric was computed.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&MetricValue> {
        self.entries
            .iter()
            .find(|m| m.name == name)
            .map(|m| &m.value)
    }

    /// The value of `name`; `None` if it is absent or was not computed.
    #[must_use]
    pub fn value(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(MetricValue::value)
    }

    /// Every metric, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Metric> {
        self.entries.iter()
    }

    /// The number of metrics (present or absent).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no metrics.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The warnings raised while computing these metrics.
    #[must_use]
    pub fn warnings(&self) -> &[MetricWarning] {
        &self.warnings
    }

    /// Adds or replaces a value. A non-finite value is stored as absent, never as `NaN`.
    pub fn set(&mut self, name: impl Into<String>, value: f64) {
        let value = if value.is_finite() {
            MetricValue::Value(value)
        } else {
            MetricValue::Absent {
                reason: format!("the computation gave a non-finite value ({value})"),
            }
        };
        self.insert(name.into(), value);
    }

    /// Adds or replaces an absent metric with its reason.
    pub fn set_absent(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.insert(
            name.into(),
            MetricValue::Absent {
                reason: reason.into(),
            },
        );
    }

    /// Adds or replaces an entry.
    pub fn set_entry(&mut self, name: impl Into<String>, value: MetricValue) {
        match value {
            MetricValue::Value(v) => self.set(name, v),
            absent @ MetricValue::Absent { .. } => self.insert(name.into(), absent),
        }
    }

    /// Records a warning about `metric`.
    pub fn warn(&mut self, metric: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(MetricWarning {
            metric: metric.into(),
            message: message.into(),
        });
    }

    fn insert(&mut self, name: String, value: MetricValue) {
        if let Some(m) = self.entries.iter_mut().find(|m| m.name == name) {
            m.value = value;
        } else {
            self.entries.push(Metric { name, value });
        }
    }
}

impl<'a> IntoIterator for &'a Metrics {
    type Item = &'a Metric;
    type IntoIter = std::slice::Iter<'a, Metric>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_replaces_in_place() {
        let mut m = Metrics::new();
        m.set("b", 1.0);
        m.set_absent("a", "why");
        m.set("b", 2.0);
        let names: Vec<_> = m.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(m.value("b"), Some(2.0));
        assert_eq!(m.value("a"), None);
        assert_eq!(m.get("a").and_then(MetricValue::reason), Some("why"));
        assert!(m.get("c").is_none());
    }

    #[test]
    fn non_finite_becomes_absent() {
        let mut m = Metrics::new();
        m.set("x", f64::NAN);
        assert!(m.get("x").and_then(MetricValue::reason).is_some());
    }

    #[test]
    fn serializes_values_plainly() {
        let mut m = Metrics::new();
        m.set("x", 0.5);
        m.set_absent("y", "no probabilities");
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"entries":[{"name":"x","value":0.5},{"name":"y","value":{"reason":"no probabilities"}}],"warnings":[]}"#
        );
    }
}
