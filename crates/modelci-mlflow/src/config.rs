//! Where the tracking server is and how to talk to it: [`Config`], [`Auth`].

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use crate::error::MlflowError;

/// The limit of each request (MLflow's own client waits 120 s; a gate would rather fail sooner).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a failed request is tried again (see the crate docs for which ones).
pub const DEFAULT_RETRIES: u32 = 4;

/// The first wait before trying again; each further wait doubles it (with jitter).
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(500);

/// The most time spent waiting between the attempts of one request, all waits together.
pub const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(60);

/// The limit of one artifact transfer (one file up or down), which may be large.
pub const DEFAULT_ARTIFACT_TIMEOUT: Duration = Duration::from_secs(600);

/// The most bytes one download of a model version's artifacts writes (4 GiB).
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// How requests prove who sends them. `Debug` never shows the token or the password.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// `Authorization: Bearer <token>` (`MLFLOW_TRACKING_TOKEN`).
    Bearer(String),
    /// HTTP Basic (`MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`, as MLflow's
    /// basic-auth app expects).
    Basic {
        /// The user name (shown in `Debug`).
        user: String,
        /// The password (never shown).
        password: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"***")
                .finish(),
        }
    }
}

/// How to reach an MLflow tracking server: [`crate::Client::new`].
#[derive(Clone)]
pub struct Config {
    /// The server's base URL, `http(s)://host:port[/prefix]` (the REST API is under
    /// `{tracking_uri}/api/2.0/mlflow/`). Credentials in it (`http://user:pass@host`) are used
    /// as [`Auth::Basic`] when `auth` is [`Auth::None`], and never shown.
    pub tracking_uri: String,
    /// The credentials sent with every request.
    pub auth: Auth,
    /// The limit of each API request, from sending it to the last byte of the answer
    /// (connecting has at most 10 s of it).
    pub timeout: Duration,
    /// How many times a failed request is tried again.
    pub retries: u32,
    /// The first wait between attempts; it doubles for each further one (up to 10 s), with
    /// jitter. A `Retry-After` answer header takes its place.
    pub backoff: Duration,
    /// The most time one request spends waiting between its attempts.
    pub retry_budget: Duration,
    /// The limit of one artifact file transfer.
    pub artifact_timeout: Duration,
    /// The most bytes one artifact download writes, all files together.
    pub max_download_bytes: u64,
    /// Accept any TLS certificate (`MLFLOW_TRACKING_INSECURE_TLS=true`); for test servers.
    pub insecure_tls: bool,
    /// The most time all of this client's calls may take together, retries included (a run's
    /// budget); none when `None`. A call that would start past it fails at once, and a call
    /// in progress is cut at it.
    pub budget: Option<Duration>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("tracking_uri", &redact_uri(&self.tracking_uri))
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("retry_budget", &self.retry_budget)
            .field("artifact_timeout", &self.artifact_timeout)
            .field("max_download_bytes", &self.max_download_bytes)
            .field("insecure_tls", &self.insecure_tls)
            .finish()
    }
}

impl Config {
    /// The defaults for the server at `tracking_uri`, without credentials.
    pub fn new(tracking_uri: impl Into<String>) -> Config {
        Config {
            tracking_uri: tracking_uri.into(),
            auth: Auth::None,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_BACKOFF,
            retry_budget: DEFAULT_RETRY_BUDGET,
            artifact_timeout: DEFAULT_ARTIFACT_TIMEOUT,
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
            insecure_tls: false,
            budget: None,
        }
    }

    /// Sets the credentials.
    #[must_use]
    pub fn with_auth(mut self, auth: Auth) -> Config {
        self.auth = auth;
        self
    }

    /// Sets the limit of each request.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Config {
        self.timeout = timeout;
        self
    }

    /// Sets how many times a failed request is tried again.
    #[must_use]
    pub fn with_retries(mut self, retries: u32) -> Config {
        self.retries = retries;
        self
    }

    /// The configuration MLflow's own client would use: the tracking URI is `explicit_uri`
    /// when given (a command-line flag), else `MLFLOW_TRACKING_URI`; credentials come from
    /// `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` (Basic, preferred when both are
    /// set, as MLflow does) or `MLFLOW_TRACKING_TOKEN` (Bearer); `MLFLOW_HTTP_REQUEST_TIMEOUT`
    /// (seconds) and `MLFLOW_HTTP_REQUEST_MAX_RETRIES` override the timeout and the retries,
    /// and `MLFLOW_TRACKING_INSECURE_TLS=true` turns off certificate checks.
    ///
    /// # Errors
    /// [`MlflowError::Config`]: no URI at all, a URI this client cannot use (`file:` or a path,
    /// `databricks`, a database URI; the message says what to use instead), a user name
    /// without a password, a variable that is not a number or a boolean.
    pub fn from_env(explicit_uri: Option<&str>) -> Result<Config, MlflowError> {
        Config::from_lookup(explicit_uri, |name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] over any source of variables (tests).
    pub(crate) fn from_lookup(
        explicit_uri: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, MlflowError> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let uri = match explicit_uri.filter(|u| !u.trim().is_empty()) {
            Some(u) => u.trim().to_owned(),
            None => var("MLFLOW_TRACKING_URI")
                .map(|u| u.trim().to_owned())
                .ok_or_else(|| {
                    config_error(
                    "no MLflow tracking URI: pass one or set MLFLOW_TRACKING_URI to the server's \
                     http(s) URL (such as http://127.0.0.1:5000)"
                        .to_owned(),
                )
                })?,
        };
        let mut config = Config::new(uri);
        let user = var("MLFLOW_TRACKING_USERNAME");
        let password = lookup("MLFLOW_TRACKING_PASSWORD").filter(|p| !p.is_empty());
        let token = var("MLFLOW_TRACKING_TOKEN");
        config.auth = match (user, password, token) {
            (Some(user), Some(password), _) => Auth::Basic { user, password },
            (Some(_), None, _) => {
                return Err(config_error(
                    "MLFLOW_TRACKING_USERNAME is set but MLFLOW_TRACKING_PASSWORD is not: \
                     basic authentication needs both"
                        .to_owned(),
                ));
            }
            (None, Some(_), _) => {
                return Err(config_error(
                    "MLFLOW_TRACKING_PASSWORD is set but MLFLOW_TRACKING_USERNAME is not: \
                     basic authentication needs both"
                        .to_owned(),
                ));
            }
            (None, None, Some(token)) => Auth::Bearer(token.trim().to_owned()),
            (None, None, None) => Auth::None,
        };
        if let Some(text) = var("MLFLOW_HTTP_REQUEST_TIMEOUT") {
            let secs: u64 = text.trim().parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                config_error(format!(
                    "MLFLOW_HTTP_REQUEST_TIMEOUT is `{}`, not a positive whole number of seconds",
                    text.trim()
                ))
            })?;
            config.timeout = Duration::from_secs(secs);
        }
        if let Some(text) = var("MLFLOW_HTTP_REQUEST_MAX_RETRIES") {
            config.retries = text.trim().parse().map_err(|_| {
                config_error(format!(
                    "MLFLOW_HTTP_REQUEST_MAX_RETRIES is `{}`, not a whole number",
                    text.trim()
                ))
            })?;
        }
        if let Some(text) = var("MLFLOW_TRACKING_INSECURE_TLS") {
            config.insecure_tls = match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                other => {
                    return Err(config_error(format!(
                        "MLFLOW_TRACKING_INSECURE_TLS is `{other}`, not true or false"
                    )));
                }
            };
        }
        // Check the URI now, so that a bad one is reported where the configuration is read.
        parse_tracking_uri(&config.tracking_uri, &config.auth)?;
        Ok(config)
    }
}

fn config_error(message: String) -> MlflowError {
    MlflowError::Config { message }
}

/// Checks a tracking URI and returns the base URL (no credentials, query or fragment) and the
/// credentials to use (`auth`, else those written in the URL).
pub(crate) fn parse_tracking_uri(uri: &str, auth: &Auth) -> Result<(Url, Auth), MlflowError> {
    let text = uri.trim();
    let shown = redact_uri(text);
    if text.is_empty() {
        return Err(config_error(
            "the MLflow tracking URI is empty: give the server's http(s) URL (such as \
             http://127.0.0.1:5000)"
                .to_owned(),
        ));
    }
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("databricks") {
        return Err(config_error(format!(
            "MLflow tracking URI `{shown}` (Databricks-hosted MLflow) is not supported: modelci \
             talks to an open-source MLflow tracking server over its REST API; give that \
             server's http(s) URL"
        )));
    }
    let scheme = lower.split_once(':').map(|(s, _)| s).unwrap_or_default();
    let is_path = !lower.contains("://") && !lower.starts_with("file:")
        || scheme.len() == 1 // `C:\mlruns`
        || scheme.is_empty();
    if scheme == "file" || is_path {
        return Err(config_error(format!(
            "MLflow tracking URI `{shown}` is a local file store, which only MLflow's Python \
             library reads: start a server on it (`mlflow server --backend-store-uri {shown}`) \
             and give that server's http(s) URL"
        )));
    }
    let db = [
        "sqlite",
        "postgresql",
        "postgres",
        "mysql",
        "mssql",
        "oracle",
    ];
    if db
        .iter()
        .any(|d| scheme == *d || scheme.starts_with(&format!("{d}+")))
    {
        return Err(config_error(format!(
            "MLflow tracking URI `{shown}` is a database URI: modelci talks to the MLflow \
             server that uses it (`mlflow server --backend-store-uri ...`); give that server's \
             http(s) URL"
        )));
    }
    if scheme != "http" && scheme != "https" {
        return Err(config_error(format!(
            "MLflow tracking URI `{shown}` is not an http(s) URL; give the tracking server's URL \
             (such as http://127.0.0.1:5000)"
        )));
    }
    let mut url = Url::parse(text).map_err(|e| {
        config_error(format!(
            "MLflow tracking URI `{shown}` is not a valid URL ({e})"
        ))
    })?;
    if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
        return Err(config_error(format!(
            "MLflow tracking URI `{shown}` has no host; give the server's URL (such as \
             http://127.0.0.1:5000)"
        )));
    }
    if url.query().is_some() {
        return Err(config_error(format!(
            "MLflow tracking URI `{shown}` has a query (`?...`); give the server's base URL"
        )));
    }
    let auth = match (auth, url.password()) {
        (Auth::None, Some(password)) => Auth::Basic {
            user: modelci_net::percent_decode(url.username()),
            password: modelci_net::percent_decode(password),
        },
        _ => auth.clone(),
    };
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    // A trailing slash, so that joining keeps a path prefix (`/mlflow/`).
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok((url, auth))
}

/// A URI for messages and `Debug`: user, password and query shown as `***`, even when it
/// does not parse (see [`modelci_net::redact_url_text`]).
pub(crate) fn redact_uri(text: &str) -> String {
    modelci_net::redact_url_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn explicit_uri_wins_over_the_environment() {
        let c = Config::from_lookup(
            Some("http://127.0.0.1:5000"),
            env(&[("MLFLOW_TRACKING_URI", "http://other:1")]),
        )
        .unwrap();
        assert_eq!(c.tracking_uri, "http://127.0.0.1:5000");
        assert_eq!(c.auth, Auth::None);
        let c =
            Config::from_lookup(None, env(&[("MLFLOW_TRACKING_URI", "http://other:1")])).unwrap();
        assert_eq!(c.tracking_uri, "http://other:1");
    }

    #[test]
    fn credentials_from_the_environment_are_never_shown() {
        let c = Config::from_lookup(
            Some("http://h:1"),
            env(&[("MLFLOW_TRACKING_TOKEN", "tok-SECRET-123456")]),
        )
        .unwrap();
        assert_eq!(c.auth, Auth::Bearer("tok-SECRET-123456".into()));
        assert!(!format!("{c:?}").contains("SECRET"));

        let c = Config::from_lookup(
            Some("http://h:1"),
            env(&[
                ("MLFLOW_TRACKING_USERNAME", "ann"),
                ("MLFLOW_TRACKING_PASSWORD", "pw-SECRET-99"),
                ("MLFLOW_TRACKING_TOKEN", "tok-SECRET-123456"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.auth,
            Auth::Basic {
                user: "ann".into(),
                password: "pw-SECRET-99".into()
            }
        );
        let debug = format!("{c:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("ann"));

        let e = Config::from_lookup(
            Some("http://h:1"),
            env(&[("MLFLOW_TRACKING_USERNAME", "ann")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("MLFLOW_TRACKING_PASSWORD"), "{e}");
        let e = Config::from_lookup(
            Some("http://h:1"),
            env(&[("MLFLOW_TRACKING_PASSWORD", "pw-SECRET-99")]),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }

    #[test]
    fn missing_and_unsupported_uris_say_what_to_do() {
        let e = Config::from_lookup(None, env(&[])).unwrap_err();
        assert!(e.to_string().contains("MLFLOW_TRACKING_URI"), "{e}");
        for (uri, says) in [
            ("file:///tmp/mlruns", "local file store"),
            ("./mlruns", "local file store"),
            ("mlruns", "local file store"),
            ("/abs/mlruns", "local file store"),
            ("databricks", "Databricks"),
            ("databricks://profile", "Databricks"),
            ("databricks-uc", "Databricks"),
            ("sqlite:///mlflow.db", "database URI"),
            (
                "postgresql+psycopg2://u:pw-SECRET@db/mlflow",
                "database URI",
            ),
            ("ftp://h/x", "not an http(s) URL"),
            ("http://", "not a valid URL"),
            ("http://h:1/?token=SECRET-Q", "query"),
        ] {
            let e = Config::from_lookup(Some(uri), env(&[])).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, MlflowError::Config { .. }));
            assert!(text.contains(says), "{uri}: {text}");
            assert!(!text.contains("SECRET"), "{uri}: {text}");
        }
    }

    #[test]
    fn bad_numbers_and_flags_are_config_errors() {
        for (name, value) in [
            ("MLFLOW_HTTP_REQUEST_TIMEOUT", "soon"),
            ("MLFLOW_HTTP_REQUEST_TIMEOUT", "0"),
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "-1"),
            ("MLFLOW_TRACKING_INSECURE_TLS", "maybe"),
        ] {
            let e = Config::from_lookup(Some("http://h:1"), env(&[(name, value)])).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        let c = Config::from_lookup(
            Some("http://h:1"),
            env(&[
                ("MLFLOW_HTTP_REQUEST_TIMEOUT", "7"),
                ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
                ("MLFLOW_TRACKING_INSECURE_TLS", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(c.timeout, Duration::from_secs(7));
        assert_eq!(c.retries, 2);
        assert!(c.insecure_tls);
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth_and_are_stripped() {
        let (url, auth) = parse_tracking_uri(
            "https://ann:p%40ss-SECRET@h.example:8443/mlflow",
            &Auth::None,
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://h.example:8443/mlflow/");
        assert_eq!(
            auth,
            Auth::Basic {
                user: "ann".into(),
                password: "p@ss-SECRET".into()
            }
        );
        let c = Config::new("https://ann:p%40ss-SECRET@h.example:8443/mlflow");
        assert!(!format!("{c:?}").contains("SECRET"));
        // Explicit credentials win.
        let (_, auth) = parse_tracking_uri("http://ann:x@h:1", &Auth::Bearer("t".into())).unwrap();
        assert_eq!(auth, Auth::Bearer("t".into()));
    }

    #[test]
    fn userinfo_escapes_are_decoded_and_bad_utf8_is_replaced() {
        assert_eq!(
            modelci_net::percent_decode("p%40ss%3Aw%C3%B6rd"),
            "p@ss:wörd"
        );
        assert_eq!(modelci_net::percent_decode("100%"), "100%");
        assert_eq!(modelci_net::percent_decode("%zz"), "%zz");
        assert_eq!(modelci_net::percent_decode("a%FFb"), "a\u{FFFD}b");
    }

    #[test]
    fn redaction_hides_userinfo_and_query() {
        assert_eq!(redact_uri("http://u:p@h:1/x?q=1"), "http://***@h:1/x?***");
        assert_eq!(redact_uri("http://h:1/a@b"), "http://h:1/a@b");
        assert_eq!(redact_uri("mlruns"), "mlruns");
    }

    #[test]
    fn passwords_with_unescaped_url_characters_are_never_shown() {
        for uri in [
            "http://ann:ab/cd-SECRET@h:1",
            "http://ann:ab?cd-SECRET@h:1",
            "http://ann:ab#cd-SECRET@h:1/x",
            "https://ann:a/b?c#d-SECRET@h.example:8443/mlflow",
        ] {
            let shown = redact_uri(uri);
            assert!(!shown.contains("SECRET"), "{uri}: {shown}");
            assert!(!shown.contains("ab"), "{uri}: {shown}");
            assert!(shown.starts_with("http"), "{uri}: {shown}");
            let c = Config::new(uri);
            assert!(!format!("{c:?}").contains("SECRET"), "{uri}");
            // Such a URI is refused, and the refusal does not quote the password either.
            if let Err(e) = Config::from_lookup(Some(uri), env(&[])) {
                assert!(!e.to_string().contains("SECRET"), "{uri}: {e}");
            }
            if let Err(e) = Client::new(Config::new(uri)) {
                assert!(!e.to_string().contains("SECRET"), "{uri}: {e}");
            }
        }
        assert_eq!(
            redact_uri("http://ann:ab/cd@h:1/x?q=1"),
            "http://***@h:1/x?***"
        );
    }
}
