//! The transport: settings, credentials, one blocking client, JSON requests and the broker's
//! error answers.

use std::time::Duration;

use modelci_net::{
    ClientPolicy, Deadline, Idempotency, Next, Redactor, RetryPolicy, basic_auth, describe,
    error_reached_server, parse_retry_after, read_capped_blocking, retryable_status,
    status_reached_server, text_of, truncate,
};
use reqwest::blocking::Client;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::error::BrokerError;
use crate::hal;

/// The per-request timeout unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read (16 MiB): broker answers are small.
const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// How much of a non-JSON error answer is quoted.
const QUOTED_CHARS: usize = 300;

/// Tries after the first, unless told otherwise ([`Broker::with_retries`]).
pub const DEFAULT_RETRIES: u32 = 2;

/// The retries' policy: `retries` more tries, waits from 0.5 s doubling (full jitter), 10 s of
/// waiting at most.
pub fn retry_policy(retries: u32) -> RetryPolicy {
    RetryPolicy::new(retries, Duration::from_millis(500), Duration::from_secs(10))
}

/// A failed try: the error, and whether another try may help.
struct Failed {
    error: BrokerError,
    /// A connection error, a timeout, 408, 429 or 5xx.
    retryable: bool,
    /// Whether the request may have reached the broker.
    sent: bool,
    /// The broker's `Retry-After`.
    retry_after: Option<Duration>,
}

/// How the client proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer TOKEN` (`PACT_BROKER_TOKEN`).
    Bearer(String),
    /// `Authorization: Basic ...` (`PACT_BROKER_USERNAME`, `PACT_BROKER_PASSWORD`).
    Basic {
        /// The user name.
        user: String,
        /// The password (may be empty).
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::Basic { .. } => f.write_str("Basic(***)"),
        }
    }
}

/// Where the broker is, and how to talk to it.
#[derive(Debug, Clone)]
pub struct Config {
    /// The broker's base URL (`https://broker.example.com` or with a path prefix).
    pub base_url: String,
    /// The credentials.
    pub auth: Auth,
    /// The limit of each request.
    pub timeout: Duration,
}

impl Config {
    /// The settings from flags, each falling back on its environment variable
    /// (`PACT_BROKER_BASE_URL`, `PACT_BROKER_TOKEN`, `PACT_BROKER_USERNAME`,
    /// `PACT_BROKER_PASSWORD`; `env` looks one up). Credentials given as flags replace those of
    /// the environment as a whole; a token wins over a user name and password.
    ///
    /// # Errors
    /// When no base URL is given, or a password comes without a user name.
    pub fn resolve(
        url: Option<&str>,
        token: Option<&str>,
        user: Option<&str>,
        password: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
        timeout: Duration,
    ) -> Result<Config, BrokerError> {
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let base_url = nonempty(url.map(str::to_owned))
            .or_else(|| nonempty(env("PACT_BROKER_BASE_URL")))
            .ok_or_else(|| {
                BrokerError::Config(
                    "no Pact Broker URL: pass --broker-url or set PACT_BROKER_BASE_URL".to_owned(),
                )
            })?;
        let flagged = token.is_some() || user.is_some() || password.is_some();
        let (token, user, password) = if flagged {
            (
                nonempty(token.map(str::to_owned)),
                nonempty(user.map(str::to_owned)),
                password.map(str::to_owned),
            )
        } else {
            (
                nonempty(env("PACT_BROKER_TOKEN")),
                nonempty(env("PACT_BROKER_USERNAME")),
                env("PACT_BROKER_PASSWORD"),
            )
        };
        let auth = match (token, user, password) {
            (Some(token), _, _) => Auth::Bearer(token.trim().to_owned()),
            (None, Some(user), password) => Auth::Basic {
                user,
                password: password.unwrap_or_default(),
            },
            (None, None, Some(p)) if !p.is_empty() => {
                return Err(BrokerError::Config(
                    "a Pact Broker password without a user name: pass --broker-username or set \
                     PACT_BROKER_USERNAME"
                        .to_owned(),
                ));
            }
            (None, None, _) => Auth::None,
        };
        Ok(Config {
            base_url,
            auth,
            timeout,
        })
    }
}

/// A connection to one broker.
pub struct Broker {
    client: Client,
    /// The base URL, ending with `/`, without credentials.
    base: Url,
    authorization: Option<HeaderValue>,
    secrets: Redactor,
    timeout: Duration,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("base", &self.shown(&self.base))
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// A client of the broker `config` names.
    ///
    /// # Errors
    /// When the URL is not an `http(s)` URL, a credential cannot be sent in a header, the
    /// timeout is zero or the proxy settings are unusable.
    pub fn new(config: &Config) -> Result<Broker, BrokerError> {
        let mut secrets = Redactor::new();
        let raw = config.base_url.trim();
        let mut base = Url::parse(raw).map_err(|e| {
            BrokerError::Config(format!(
                "the Pact Broker URL `{}` is not a URL: {e}",
                modelci_net::redact_url_text(raw)
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(BrokerError::Config(format!(
                "the Pact Broker URL `{}` is not an http(s) URL",
                modelci_net::redact_url(&base)
            )));
        }
        secrets.url(&base, false);
        // Credentials in the URL become Basic credentials, unless others are given.
        let mut auth = config.auth.clone();
        if !base.username().is_empty() {
            let user = modelci_net::percent_decode(base.username());
            let password = modelci_net::percent_decode(base.password().unwrap_or(""));
            if auth == Auth::None {
                auth = Auth::Basic { user, password };
            }
        }
        let _ = base.set_username("");
        let _ = base.set_password(None);
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let authorization = match &auth {
            Auth::None => None,
            Auth::Bearer(token) => {
                secrets.secret(token);
                Some(header_value(&format!("Bearer {token}"), "the token")?)
            }
            Auth::Basic { user, password } => {
                secrets.basic_credentials(user, password);
                Some(header_value(
                    &basic_auth(user, password),
                    "the user name or password",
                )?)
            }
        };
        if config.timeout.is_zero() {
            return Err(BrokerError::Config(
                "the Pact Broker request timeout is zero".to_owned(),
            ));
        }
        let policy = ClientPolicy::new(config.timeout);
        let proxy = policy
            .proxy_settings()
            .map_err(|e| BrokerError::Config(e.to_string()))?;
        let client = policy
            .proxy(proxy)
            .build_blocking()
            .map_err(|e| BrokerError::Config(e.to_string()))?;
        Ok(Broker {
            client,
            base,
            authorization,
            secrets,
            timeout: config.timeout,
            retry: retry_policy(DEFAULT_RETRIES),
        })
    }

    /// The same client, trying a failed request up to `retries` more times (connection
    /// errors, timeouts, 408, 429, 5xx; `POST`s only when they cannot have reached the broker),
    /// with exponential backoff and jitter. The default is [`DEFAULT_RETRIES`].
    #[must_use]
    pub fn with_retries(mut self, retries: u32) -> Broker {
        self.retry = retry_policy(retries);
        self
    }

    /// The base URL (no credentials), ending with `/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// A URL for messages, credentials hidden.
    pub fn shown(&self, url: &Url) -> String {
        self.secrets.hide(&modelci_net::redact_url(url))
    }

    /// Hides the credentials in a text.
    pub fn hide(&self, text: &str) -> String {
        self.secrets.hide(text)
    }

    /// The URL of an href: absolute as is; relative to the base URL (with its path prefix, unless
    /// the href already starts with it).
    ///
    /// # Errors
    /// When the href is not a URL.
    pub fn resolve(&self, href: &str) -> Result<Url, BrokerError> {
        let invalid = |e: String| BrokerError::Invalid {
            url: self.shown(&self.base),
            reason: format!("the link `{}` is not a URL: {e}", self.hide(href)),
        };
        if let Ok(url) = Url::parse(href) {
            return Ok(url);
        }
        let prefix = self.base.path();
        let relative = if href.starts_with(prefix) && prefix != "/" {
            href.to_owned()
        } else {
            format!("{prefix}{}", href.trim_start_matches('/'))
        };
        self.base
            .join(&relative)
            .map_err(|e| invalid(e.to_string()))
    }

    /// The broker's index resource (`GET /`).
    ///
    /// # Errors
    /// As [`Broker::get`].
    pub fn index(&self) -> Result<Value, BrokerError> {
        self.get(&self.base.clone())
    }

    /// The URL of `relation` in `resource` (fetched from `from`), its template filled with
    /// `values`.
    ///
    /// # Errors
    /// When the relation is missing.
    pub fn link(
        &self,
        resource: &Value,
        from: &Url,
        relation: &str,
        values: &[(&str, &str)],
    ) -> Result<Url, BrokerError> {
        let link = hal::links(resource, relation)
            .into_iter()
            .next()
            .ok_or_else(|| BrokerError::MissingRelation {
                url: self.shown(from),
                relation: relation.to_owned(),
                hint: (from == &self.base).then(|| {
                    "is the URL a Pact Broker, and recent enough for this command?".to_owned()
                }),
            })?;
        self.resolve(&hal::expand(&link.href, values))
    }

    /// `GET url`, a JSON answer.
    ///
    /// # Errors
    /// When the broker cannot be reached, answers with an error status, or not with JSON.
    pub fn get(&self, url: &Url) -> Result<Value, BrokerError> {
        self.send(Method::GET, url, None)
    }

    /// `POST url` with a JSON body, a JSON answer (`null` for an empty one).
    ///
    /// # Errors
    /// As [`Broker::get`].
    pub fn post(&self, url: &Url, body: &Value) -> Result<Value, BrokerError> {
        self.send(Method::POST, url, Some(body))
    }

    /// `PUT url` with a JSON body, a JSON answer (`null` for an empty one).
    ///
    /// # Errors
    /// As [`Broker::get`].
    pub fn put(&self, url: &Url, body: &Value) -> Result<Value, BrokerError> {
        self.send(Method::PUT, url, Some(body))
    }

    /// Sends a request, trying again as [`Broker::with_retries`] says: `GET`s are safe to
    /// repeat, `POST`s (which create records) only when they cannot have reached the broker.
    fn send(&self, method: Method, url: &Url, body: Option<&Value>) -> Result<Value, BrokerError> {
        let idempotency = if method == Method::GET {
            Idempotency::Safe
        } else {
            Idempotency::Unsafe
        };
        let mut retries = self.retry.start();
        loop {
            let failed = match self.try_once(&method, url, body) {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            if !(failed.retryable && idempotency.allows_retry(failed.sent)) {
                return Err(failed.error);
            }
            match retries.next(failed.retry_after) {
                Next::Wait(wait) => {
                    std::thread::sleep(wait);
                    retries.waited(wait);
                }
                Next::GiveUp(why) => {
                    let mut error = failed.error;
                    if let Some(summary) = retries.summary(&why) {
                        match &mut error {
                            BrokerError::Unreachable { reason, .. } => reason.push_str(&summary),
                            BrokerError::Http { messages, .. } => {
                                messages.push(summary.trim().to_owned());
                            }
                            _ => {}
                        }
                    }
                    return Err(error);
                }
            }
        }
    }

    fn try_once(&self, method: &Method, url: &Url, body: Option<&Value>) -> Result<Value, Failed> {
        let shown = self.shown(url);
        let mut request = self
            .client
            .request(method.clone(), url.clone())
            .header(ACCEPT, "application/hal+json");
        if let Some(auth) = &self.authorization
            && url.origin() == self.base.origin()
        {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let deadline = Deadline::after(self.timeout);
        let response = request.send().map_err(|e| Failed {
            sent: error_reached_server(&e),
            retryable: true,
            retry_after: None,
            error: BrokerError::Unreachable {
                url: shown.clone(),
                reason: self.hide(&describe(e, self.timeout)),
            },
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        let read =
            read_capped_blocking(response, MAX_BODY_BYTES, deadline).map_err(|e| Failed {
                sent: true,
                retryable: true,
                retry_after: None,
                error: BrokerError::Unreachable {
                    url: shown.clone(),
                    reason: self.hide(&e.to_string()),
                },
            })?;
        let fatal = |error: BrokerError| Failed {
            error,
            retryable: false,
            sent: true,
            retry_after: None,
        };
        if read.truncated {
            return Err(fatal(BrokerError::Invalid {
                url: shown,
                reason: format!(
                    "the answer is larger than {}",
                    modelci_net::bytes(MAX_BODY_BYTES)
                ),
            }));
        }
        let parsed = if read.bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(Value::Null)
        } else {
            serde_json::from_slice::<Value>(&read.bytes)
        };
        if !status.is_success() {
            let messages = match &parsed {
                Ok(v) => error_messages(v),
                Err(_) => vec![truncate(&text_of(&read.bytes), QUOTED_CHARS)],
            };
            return Err(Failed {
                retryable: retryable_status(status.as_u16()),
                sent: status_reached_server(status.as_u16()),
                retry_after,
                error: BrokerError::Http {
                    method: method.to_string(),
                    url: shown,
                    status: status.as_u16(),
                    messages: messages
                        .into_iter()
                        .filter(|m| !m.trim().is_empty())
                        .map(|m| self.hide(&m))
                        .collect(),
                },
            });
        }
        parsed.map_err(|e| {
            fatal(BrokerError::Invalid {
                url: shown,
                reason: format!("the answer is not JSON: {e}"),
            })
        })
    }
}

fn header_value(value: &str, what: &str) -> Result<HeaderValue, BrokerError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        BrokerError::Config(format!(
            "{what} holds characters an HTTP header cannot carry"
        ))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// The messages of an error answer: `errors` (a list, or fields each with a list), `error` (a
/// text, or an object with a `message`), `message`, and the `message` of each of `mismatches`
/// (modelci's own stub server explaining a miss).
pub(crate) fn error_messages(body: &Value) -> Vec<String> {
    fn texts(v: &Value, field: Option<&str>, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(match field {
                Some(f) => format!("{f}: {s}"),
                None => s.clone(),
            }),
            Value::Array(items) => items.iter().for_each(|i| texts(i, field, out)),
            Value::Object(map) => {
                if let Some(m) = map.get("message").and_then(Value::as_str) {
                    out.push(m.to_owned());
                } else {
                    for (k, v) in map {
                        texts(v, Some(k), out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for key in ["errors", "error", "message"] {
        if let Some(v) = body.get(key) {
            texts(v, None, &mut out);
        }
    }
    if let Some(Value::Array(ms)) = body.get("mismatches") {
        for m in ms {
            if let Some(s) = m.get("message").and_then(Value::as_str) {
                out.push(s.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn settings_come_from_flags_then_the_environment() {
        let vars = [
            ("PACT_BROKER_BASE_URL", "http://env"),
            ("PACT_BROKER_TOKEN", "envtoken"),
            ("PACT_BROKER_USERNAME", "u"),
        ];
        let c = Config::resolve(None, None, None, None, env(&vars), DEFAULT_TIMEOUT).unwrap();
        assert_eq!(c.base_url, "http://env");
        assert_eq!(c.auth, Auth::Bearer("envtoken".into()));
        let c = Config::resolve(
            Some("http://flag"),
            None,
            Some("ann"),
            Some("pw"),
            env(&vars),
            DEFAULT_TIMEOUT,
        )
        .unwrap();
        assert_eq!(c.base_url, "http://flag");
        assert_eq!(
            c.auth,
            Auth::Basic {
                user: "ann".into(),
                password: "pw".into()
            }
        );
        let none = Config::resolve(None, None, None, None, env(&[]), DEFAULT_TIMEOUT);
        assert!(matches!(none, Err(BrokerError::Config(m)) if m.contains("PACT_BROKER_BASE_URL")));
        let lone = Config::resolve(
            Some("http://x"),
            None,
            None,
            Some("pw"),
            env(&[]),
            DEFAULT_TIMEOUT,
        );
        assert!(matches!(lone, Err(BrokerError::Config(_))));
        assert_eq!(
            format!("{:?}", Auth::Bearer("secret".into())),
            "Bearer(***)"
        );
    }

    #[test]
    fn links_resolve_under_the_path_prefix() {
        let config = |url: &str| Config {
            base_url: url.to_owned(),
            auth: Auth::None,
            timeout: DEFAULT_TIMEOUT,
        };
        let b = Broker::new(&config("https://h.example/broker")).unwrap();
        assert_eq!(b.base().as_str(), "https://h.example/broker/");
        assert_eq!(
            b.resolve("/matrix").unwrap().as_str(),
            "https://h.example/broker/matrix"
        );
        assert_eq!(
            b.resolve("/broker/matrix").unwrap().as_str(),
            "https://h.example/broker/matrix"
        );
        assert_eq!(b.resolve("http://o/x").unwrap().as_str(), "http://o/x");
        let b = Broker::new(&config("http://h:9292")).unwrap();
        assert_eq!(
            b.resolve("/matrix").unwrap().as_str(),
            "http://h:9292/matrix"
        );
        assert!(Broker::new(&config("ftp://h")).is_err());
        assert!(Broker::new(&config("not a url")).is_err());
    }

    #[test]
    fn tokens_are_hidden() {
        let b = Broker::new(&Config {
            base_url: "http://h".into(),
            auth: Auth::Bearer("s3cr3t-token".into()),
            timeout: DEFAULT_TIMEOUT,
        })
        .unwrap();
        assert_eq!(b.hide("got s3cr3t-token back"), "got *** back");
        let b = Broker::new(&Config {
            base_url: "http://ann:pa55word@h".into(),
            auth: Auth::None,
            timeout: DEFAULT_TIMEOUT,
        })
        .unwrap();
        assert_eq!(b.base().as_str(), "http://h/");
        assert!(!b.hide("pa55word").contains("pa55word"));
    }

    /// A server answering each connection with the next of `answers` (status, body); returns
    /// its URL and the requests' first lines.
    fn serve(answers: Vec<(u16, &'static str)>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, body) in answers {
                let Ok((mut s, _)) = listener.accept() else {
                    break;
                };
                let mut buf = [0u8; 8192];
                let n = s.read(&mut buf).unwrap_or(0);
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.push(text.lines().next().unwrap_or_default().to_owned());
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            seen
        });
        (url, handle)
    }

    #[test]
    fn gets_are_retried_and_posts_are_not() {
        let (url, server) = serve(vec![(503, "{}"), (200, r#"{"ok": true}"#)]);
        let b = Broker::new(&Config {
            base_url: url.clone(),
            auth: Auth::None,
            timeout: DEFAULT_TIMEOUT,
        })
        .unwrap();
        assert_eq!(b.index().unwrap(), json!({"ok": true}));
        assert_eq!(server.join().unwrap().len(), 2);

        let (url, server) = serve(vec![(503, r#"{"error": "busy"}"#)]);
        let b = Broker::new(&Config {
            base_url: url,
            auth: Auth::None,
            timeout: DEFAULT_TIMEOUT,
        })
        .unwrap();
        let err = b.post(&b.base().clone(), &json!({})).unwrap_err();
        assert!(
            matches!(&err, BrokerError::Http { status: 503, messages, .. } if messages == &["busy"]),
            "{err}"
        );
        assert_eq!(server.join().unwrap(), ["POST / HTTP/1.1"]);

        // Nothing listens: the retries are spent, and the message says so.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let b = Broker::new(&Config {
            base_url: format!("http://127.0.0.1:{port}"),
            auth: Auth::None,
            timeout: DEFAULT_TIMEOUT,
        })
        .unwrap()
        .with_retries(1);
        let err = b.index().unwrap_err().to_string();
        assert!(err.contains("gave up after 2 attempts"), "{err}");
    }

    #[test]
    fn error_answers_give_their_messages() {
        assert_eq!(
            error_messages(&json!({"errors": ["a", "b"]})),
            vec!["a", "b"]
        );
        assert_eq!(
            error_messages(&json!({"errors": {"name": ["is missing"]}})),
            vec!["name: is missing"]
        );
        assert_eq!(
            error_messages(&json!({"error": {"message": "boom"}})),
            vec!["boom"]
        );
        assert_eq!(
            error_messages(
                &json!({"error": "no match", "mismatches": [{"message": "path differs"}]})
            ),
            vec!["no match", "path differs"]
        );
        assert!(error_messages(&json!(3)).is_empty());
    }
}
