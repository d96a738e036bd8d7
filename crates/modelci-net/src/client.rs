//! One policy for every HTTP client modelci makes.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::proxy::{ProxyError, ProxySettings};
use crate::text::chain;

/// The most time spent connecting, within a request's timeout.
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `User-Agent` modelci sends: `modelci/0.1.0`.
pub const USER_AGENT: &str = concat!("modelci/", env!("CARGO_PKG_VERSION"));

/// Why a client could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A proxy variable cannot be used.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The HTTP library refused the settings (no TLS backend, for instance).
    #[error("cannot set up an HTTP client: {0}")]
    Build(String),
}

/// Whether redirects are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redirects {
    /// Never: a 3xx answer is returned as it is (checks judge the service's own answer).
    #[default]
    None,
    /// Up to this many.
    Follow(usize),
}

/// How modelci's HTTP clients behave: a per-request timeout, connecting within at most
/// [`MAX_CONNECT_TIMEOUT`] of it, no redirects unless asked, `User-Agent: modelci/VERSION`,
/// and proxies from the environment (see [`ProxySettings`]; loopback always goes direct).
///
/// ```no_run
/// use std::time::Duration;
/// let client = modelci_net::ClientPolicy::new(Duration::from_secs(30)).build()?;
/// # Ok::<(), modelci_net::ClientError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientPolicy {
    timeout: Duration,
    connect_timeout: Duration,
    redirects: Redirects,
    user_agent: String,
    /// `None`: read from the environment when the client is built.
    proxy: Option<ProxySettings>,
    insecure_tls: bool,
    headers: HeaderMap,
}

impl ClientPolicy {
    /// The policy for requests that must be done within `timeout` each.
    pub fn new(timeout: Duration) -> ClientPolicy {
        ClientPolicy {
            timeout,
            connect_timeout: timeout.min(MAX_CONNECT_TIMEOUT),
            redirects: Redirects::None,
            user_agent: USER_AGENT.to_owned(),
            proxy: None,
            insecure_tls: false,
            headers: HeaderMap::new(),
        }
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Connecting takes at most `cap` (and never more than the request's timeout).
    #[must_use]
    pub fn connect_timeout(mut self, cap: Duration) -> ClientPolicy {
        self.connect_timeout = cap.min(self.timeout);
        self
    }

    /// Whether redirects are followed.
    #[must_use]
    pub fn redirects(mut self, redirects: Redirects) -> ClientPolicy {
        self.redirects = redirects;
        self
    }

    /// Another `User-Agent`.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> ClientPolicy {
        self.user_agent = user_agent.into();
        self
    }

    /// These proxies instead of the environment's ([`ProxySettings::none`] for none).
    #[must_use]
    pub fn proxy(mut self, settings: ProxySettings) -> ClientPolicy {
        self.proxy = Some(settings);
        self
    }

    /// Accept any TLS certificate (an explicit user choice, for self-signed test servers).
    #[must_use]
    pub fn insecure_tls(mut self, insecure: bool) -> ClientPolicy {
        self.insecure_tls = insecure;
        self
    }

    /// Headers sent with every request (a request's own header of the same name wins). Mark
    /// secret values sensitive ([`crate::header`] does).
    #[must_use]
    pub fn default_headers(mut self, headers: HeaderMap) -> ClientPolicy {
        self.headers = headers;
        self
    }

    /// The proxies the clients will use: the explicit ones, else the environment's.
    ///
    /// # Errors
    /// When a proxy variable cannot be used.
    pub fn proxy_settings(&self) -> Result<ProxySettings, ProxyError> {
        match &self.proxy {
            Some(p) => Ok(p.clone()),
            None => ProxySettings::from_env(),
        }
    }

    /// An async client.
    ///
    /// # Errors
    /// When a proxy variable cannot be used or the HTTP library refuses the settings.
    pub fn build(&self) -> Result<reqwest::Client, ClientError> {
        let proxy = self.proxy_settings()?;
        let mut b = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(self.redirect_policy())
            .user_agent(self.user_agent.clone())
            .default_headers(self.headers.clone())
            .no_proxy();
        if let Some(p) = reqwest_proxy(proxy) {
            b = b.proxy(p);
        }
        if self.insecure_tls {
            b = b.danger_accept_invalid_certs(true);
        }
        b.tls_certs_merge(built_in_roots().iter().cloned())
            .build()
            .map_err(|e| ClientError::Build(chain(&e)))
    }

    /// A blocking client (never to be made, used or dropped inside an async task).
    ///
    /// # Errors
    /// When a proxy variable cannot be used or the HTTP library refuses the settings.
    pub fn build_blocking(&self) -> Result<reqwest::blocking::Client, ClientError> {
        let proxy = self.proxy_settings()?;
        let mut b = reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(self.redirect_policy())
            .user_agent(self.user_agent.clone())
            .default_headers(self.headers.clone())
            .no_proxy();
        if let Some(p) = reqwest_proxy(proxy) {
            b = b.proxy(p);
        }
        if self.insecure_tls {
            b = b.danger_accept_invalid_certs(true);
        }
        b.tls_certs_merge(built_in_roots().iter().cloned())
            .build()
            .map_err(|e| ClientError::Build(chain(&e)))
    }

    fn redirect_policy(&self) -> reqwest::redirect::Policy {
        match self.redirects {
            Redirects::None => reqwest::redirect::Policy::none(),
            Redirects::Follow(n) => reqwest::redirect::Policy::limited(n),
        }
    }
}

/// The certificate authorities every client trusts besides the system's: Mozilla's roots, built
/// in (webpki-root-certs), so that HTTPS works on a machine without a CA bundle (a slim
/// container). The system's own roots still count (rustls-platform-verifier: on Linux the
/// distribution's bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set, which is how a private CA
/// is added; on macOS the keychain).
fn built_in_roots() -> &'static [reqwest::Certificate] {
    static ROOTS: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok())
            .collect()
    })
}

/// The settings as one reqwest proxy that asks them for every destination (`None` when no
/// request goes through a proxy). The proxy URL's credentials become `Proxy-Authorization`.
fn reqwest_proxy(settings: ProxySettings) -> Option<reqwest::Proxy> {
    if !settings.is_enabled() {
        return None;
    }
    Some(reqwest::Proxy::custom(move |url| {
        settings.proxy_for(url).cloned()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mozillas_roots_are_built_in() {
        // Every one of them parses (none is dropped by the filter), and there are many.
        assert_eq!(
            built_in_roots().len(),
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.len()
        );
        assert!(built_in_roots().len() > 100, "{}", built_in_roots().len());
    }
}
