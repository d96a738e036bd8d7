//! The compatibility matrix (`GET /matrix`), as `can-i-deploy` asks it.

use std::time::Duration;

use reqwest::Url;
use serde_json::Value;

use crate::client::Broker;
use crate::error::BrokerError;
use crate::notice::{Notice, notices};

/// One application version (or set of versions) in the question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// The pacticipant (application) name.
    pub pacticipant: String,
    /// Its version number (`None`: every version, or the latest with `latest`).
    pub version: Option<String>,
    /// The latest version (with `tag`: the latest with that tag).
    pub latest: bool,
    /// Versions with this tag.
    pub tag: Option<String>,
    /// Versions of this branch.
    pub branch: Option<String>,
}

impl Selector {
    /// `pacticipant` at `version`.
    pub fn version(pacticipant: &str, version: &str) -> Selector {
        Selector {
            pacticipant: pacticipant.to_owned(),
            version: Some(version.to_owned()),
            ..Selector::default()
        }
    }

    /// `NAME VERSION`, `NAME (latest)`, `NAME (latest TAG)`, `NAME (tag TAG)`, `NAME (all
    /// versions)`, for messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.version {
            parts.push(format!("version {v}"));
        }
        if self.latest {
            parts.push("latest".to_owned());
        }
        if let Some(b) = &self.branch {
            parts.push(format!("branch {b}"));
        }
        if let Some(t) = &self.tag {
            parts.push(format!("tag {t}"));
        }
        if parts.is_empty() {
            parts.push("all versions".to_owned());
        }
        format!("{} ({})", self.pacticipant, parts.join(", "))
    }

    fn push(&self, prefix: &'static str, pairs: &mut Vec<(String, String)>) {
        pairs.push((format!("{prefix}[][pacticipant]"), self.pacticipant.clone()));
        if let Some(v) = &self.version {
            pairs.push((format!("{prefix}[][version]"), v.clone()));
        }
        if self.latest {
            pairs.push((format!("{prefix}[][latest]"), "true".to_owned()));
        }
        if let Some(b) = &self.branch {
            pairs.push((format!("{prefix}[][branch]"), b.clone()));
        }
        if let Some(t) = &self.tag {
            pairs.push((format!("{prefix}[][tag]"), t.clone()));
        }
    }
}

/// Where the versions would go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The versions currently deployed or released to an environment (`environment=ENV`).
    Environment(String),
    /// The latest versions with a tag (`latest=true&tag=TAG`).
    Tag(String),
    /// The latest versions of the other pacticipants (`latest=true`, one selector), or only the
    /// selectors themselves (several).
    Latest,
}

/// A can-i-deploy question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixQuery {
    /// The versions (at least one).
    pub selectors: Vec<Selector>,
    /// Versions whose verification results are left out of the decision (`ignore[]`).
    pub ignore: Vec<Selector>,
    /// Where to.
    pub target: Target,
}

impl MatrixQuery {
    /// The query's pairs, as the Ruby `pact-broker can-i-deploy` sends them: per selector
    /// `q[][pacticipant]` then `q[][version]`, `q[][latest]`, `q[][branch]`, `q[][tag]` (those
    /// it has), the same under `ignore[]` for ignored versions, `latestby=cvp` for one selector
    /// (`cvpv` for several), then `environment`, or `latest=true` with `tag`, or (one selector)
    /// `latest=true`.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for s in &self.selectors {
            s.push("q", &mut pairs);
        }
        for s in &self.ignore {
            s.push("ignore", &mut pairs);
        }
        let single = self.selectors.len() == 1;
        let mut push = |k: &str, v: &str| pairs.push((k.to_owned(), v.to_owned()));
        push("latestby", if single { "cvp" } else { "cvpv" });
        match &self.target {
            Target::Environment(env) => push("environment", env),
            Target::Tag(tag) => {
                push("latest", "true");
                push("tag", tag);
            }
            Target::Latest if single => push("latest", "true"),
            Target::Latest => {}
        }
        pairs
    }

    /// `{base}/matrix?...`.
    pub fn url(&self, base: &Url) -> Url {
        let mut url = base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("matrix");
        }
        url.query_pairs_mut()
            .extend_pairs(self.pairs().iter().map(|(k, v)| (k.as_str(), v.as_str())));
        url
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `summary.deployable` is true.
    Deployable,
    /// `summary.deployable` is false.
    NotDeployable,
    /// `summary.deployable` is null or missing: the broker cannot tell (yet).
    Unknown,
}

/// One row of the matrix: a pact between two versions and its verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixRow {
    /// The consumer's name.
    pub consumer: String,
    /// The consumer's version (empty when the broker gives none).
    pub consumer_version: String,
    /// The provider's name.
    pub provider: String,
    /// The provider's version (empty when not verified).
    pub provider_version: String,
    /// Whether the verification passed; `None` when there is none.
    pub success: Option<bool>,
}

/// The broker's answer to a can-i-deploy question.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// The verdict.
    pub verdict: Verdict,
    /// The broker's reason.
    pub reason: String,
    /// How many rows have no verification yet.
    pub unknown: u64,
    /// The rows.
    pub rows: Vec<MatrixRow>,
    /// The broker's notices.
    pub notices: Vec<Notice>,
    /// The answer as the broker sent it.
    pub raw: Value,
    /// How many times the broker was asked.
    pub attempts: u32,
}

impl Matrix {
    /// Reads a matrix answer.
    ///
    /// # Errors
    /// When it has no `summary` object.
    pub fn parse(raw: Value) -> Result<Matrix, String> {
        let summary = raw
            .get("summary")
            .filter(|s| s.is_object())
            .ok_or("the answer has no `summary`")?;
        let verdict = match summary.get("deployable").and_then(Value::as_bool) {
            Some(true) => Verdict::Deployable,
            Some(false) => Verdict::NotDeployable,
            None => Verdict::Unknown,
        };
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let rows = raw
            .get("matrix")
            .and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .map(|r| MatrixRow {
                        consumer: text(r.pointer("/consumer/name")),
                        consumer_version: text(r.pointer("/consumer/version/number")),
                        provider: text(r.pointer("/provider/name")),
                        provider_version: text(r.pointer("/provider/version/number")),
                        success: r
                            .pointer("/verificationResult/success")
                            .and_then(Value::as_bool),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let notices = notices(&raw);
        Ok(Matrix {
            verdict,
            reason: text(summary.get("reason")),
            unknown: summary.get("unknown").and_then(Value::as_u64).unwrap_or(0),
            rows,
            notices,
            attempts: 1,
            raw,
        })
    }
}

impl Broker {
    /// Asks the matrix; while the summary counts unknown rows (no verification result yet),
    /// asks again up to `retries` more times, `interval` apart.
    ///
    /// # Errors
    /// When the broker cannot be reached, refuses the question (an unknown pacticipant) or
    /// answers something else than a matrix.
    pub fn can_i_deploy(
        &self,
        query: &MatrixQuery,
        retries: u32,
        interval: Duration,
    ) -> Result<Matrix, BrokerError> {
        let url = query.url(self.base());
        let mut attempts = 0;
        loop {
            attempts += 1;
            let raw = self.get(&url)?;
            let mut matrix = Matrix::parse(raw).map_err(|reason| BrokerError::Invalid {
                url: self.shown(&url),
                reason: reason.to_owned(),
            })?;
            matrix.attempts = attempts;
            // As the Pact CLI: only rows still waiting for a verification are worth asking
            // again about (a version the broker does not know stays unknown).
            if matrix.unknown == 0 || attempts > retries {
                return Ok(matrix);
            }
            std::thread::sleep(interval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(p: &str, v: &str) -> Selector {
        Selector::version(p, v)
    }

    #[test]
    fn the_query_is_the_ruby_clients() {
        let base = Url::parse("http://h/prefix/").unwrap();
        let q = MatrixQuery {
            selectors: vec![sel("Foo", "1.2.3")],
            ignore: vec![],
            target: Target::Environment("prod".into()),
        };
        assert_eq!(
            q.url(&base).as_str(),
            "http://h/prefix/matrix?q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Bversion%5D=1.2.3&latestby=cvp&environment=prod"
        );
        let q = MatrixQuery {
            selectors: vec![sel("Foo", "1")],
            ignore: vec![],
            target: Target::Tag("prod".into()),
        };
        let keys: Vec<_> = q
            .pairs()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(keys[2..], ["latestby=cvp", "latest=true", "tag=prod"]);
        let q = MatrixQuery {
            selectors: vec![sel("Foo", "1"), sel("Bar", "2")],
            ignore: vec![],
            target: Target::Latest,
        };
        let keys: Vec<_> = q.pairs().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "q[][pacticipant]",
                "q[][version]",
                "q[][pacticipant]",
                "q[][version]",
                "latestby"
            ]
        );
    }

    #[test]
    fn selectors_latest_tags_and_ignores() {
        let q = MatrixQuery {
            selectors: vec![
                sel("Bar", "4.5.6"),
                Selector {
                    pacticipant: "Foo".into(),
                    tag: Some("prod".into()),
                    ..Selector::default()
                },
                Selector {
                    pacticipant: "Baz".into(),
                    latest: true,
                    branch: Some("main".into()),
                    ..Selector::default()
                },
            ],
            ignore: vec![sel("Foo", "3.4.5")],
            target: Target::Environment("prod".into()),
        };
        let pairs: Vec<String> = q
            .pairs()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            pairs,
            [
                "q[][pacticipant]=Bar",
                "q[][version]=4.5.6",
                "q[][pacticipant]=Foo",
                "q[][tag]=prod",
                "q[][pacticipant]=Baz",
                "q[][latest]=true",
                "q[][branch]=main",
                "ignore[][pacticipant]=Foo",
                "ignore[][version]=3.4.5",
                "latestby=cvpv",
                "environment=prod",
            ]
        );
        assert_eq!(q.selectors[1].describe(), "Foo (tag prod)");
        assert_eq!(
            Selector {
                pacticipant: "X".into(),
                ..Selector::default()
            }
            .describe(),
            "X (all versions)"
        );
    }

    #[test]
    fn answers_give_verdicts() {
        let m = Matrix::parse(json!({
            "summary": {"deployable": false, "reason": "no", "unknown": 0},
            "matrix": [{"consumer": {"name": "A", "version": {"number": "1"}},
                        "provider": {"name": "B", "version": {"number": "2"}},
                        "verificationResult": {"success": false}}],
            "notices": [{"type": "error", "text": "bad"}],
        }))
        .unwrap();
        assert_eq!(m.verdict, Verdict::NotDeployable);
        assert_eq!(m.rows[0].success, Some(false));
        assert_eq!(m.notices[0].text, "bad");
        assert_eq!(m.notices[0].kind, "error");
        let m = Matrix::parse(json!({"summary": {"reason": "x"}, "matrix": [{}]})).unwrap();
        assert_eq!(m.verdict, Verdict::Unknown);
        assert_eq!(m.rows[0].consumer, "");
        assert!(Matrix::parse(json!({"matrix": []})).is_err());
        assert!(Matrix::parse(json!("x")).is_err());
    }
}
