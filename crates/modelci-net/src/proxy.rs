//! Proxies from the environment, resolved once into a typed value.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use hyper_util::client::proxy::matcher::Matcher;
use reqwest::Url;

/// Why a proxy setting cannot be used. The proxy's credentials are never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// The value is not an `http://` or `https://` proxy URL.
    #[error("{var} is not a usable proxy URL (`{shown}`): {why}")]
    Invalid {
        /// The variable it came from (`HTTPS_PROXY`), or `proxy` for explicit settings.
        var: String,
        /// The value, credentials hidden.
        shown: String,
        /// What is wrong.
        why: String,
    },
}

/// Where requests go through a proxy, resolved from `HTTPS_PROXY`/`https_proxy`,
/// `HTTP_PROXY`/`http_proxy`, `ALL_PROXY`/`all_proxy` and `NO_PROXY`/`no_proxy` (the upper-case
/// name first; empty values count as unset), or given explicitly (tests, configuration).
///
/// - `https://` requests use the HTTPS proxy (a `CONNECT` tunnel), `http://` requests the HTTP
///   proxy; either falls back to `ALL_PROXY`.
/// - `NO_PROXY` follows curl's rules: comma-separated host names (`example.com` also matches
///   its subdomains, a leading `.` or `*.` is ignored), IP addresses and CIDR blocks; `*`
///   turns proxies off.
/// - Loopback destinations (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`) never go through
///   a proxy, as with Go's `net/http`: tests and local services keep working behind a
///   corporate proxy.
/// - Like Go and curl, `HTTP_PROXY` is ignored when `REQUEST_METHOD` is set (a CGI
///   environment, where a request header could set it: "httpoxy").
/// - A proxy URL may hold credentials (`http://user:password@proxy:3128`); they are sent as
///   `Proxy-Authorization` and never shown: `Debug` and [`ProxySettings::describe`] hide them.
#[derive(Clone, Default)]
pub struct ProxySettings {
    http: Option<Url>,
    https: Option<Url>,
    no_proxy: String,
    /// `no_proxy` compiled (curl's rules), shared by clones.
    matcher: Option<Arc<Matcher>>,
}

impl fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxySettings")
            .field("http", &self.http.as_ref().map(shown))
            .field("https", &self.https.as_ref().map(shown))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl PartialEq for ProxySettings {
    fn eq(&self, other: &Self) -> bool {
        self.http == other.http && self.https == other.https && self.no_proxy == other.no_proxy
    }
}

/// A proxy URL for messages: credentials as `***`.
fn shown(url: &Url) -> String {
    crate::redact::redact_url_and_query(url)
}

impl ProxySettings {
    /// No proxy at all.
    pub fn none() -> ProxySettings {
        ProxySettings::default()
    }

    /// Reads the process environment.
    ///
    /// # Errors
    /// When a variable holds something that is not an `http(s)://` proxy URL.
    pub fn from_env() -> Result<ProxySettings, ProxyError> {
        ProxySettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (the environment, or a map in tests).
    ///
    /// # Errors
    /// When a variable holds something that is not an `http(s)://` proxy URL.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ProxySettings, ProxyError> {
        let first = |names: [&str; 2]| {
            names.iter().find_map(|n| {
                lookup(n)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .map(|v| ((*n).to_owned(), v))
            })
        };
        let all = first(["ALL_PROXY", "all_proxy"]);
        let cgi = lookup("REQUEST_METHOD").is_some_and(|v| !v.is_empty());
        let http = if cgi {
            None
        } else {
            first(["HTTP_PROXY", "http_proxy"])
        };
        let https = first(["HTTPS_PROXY", "https_proxy"]);
        let parse = |found: Option<(String, String)>| {
            found
                .map(|(var, value)| parse_proxy(&var, &value))
                .transpose()
        };
        let all = parse(all)?;
        let http = parse(http)?.or_else(|| all.clone());
        let https = parse(https)?.or(all);
        let no_proxy = first(["NO_PROXY", "no_proxy"])
            .map(|(_, v)| v)
            .unwrap_or_default();
        Ok(ProxySettings::build(http, https, no_proxy))
    }

    /// Explicit settings: the proxy for `http://` and for `https://` requests (`None`: direct),
    /// and a `NO_PROXY` list.
    ///
    /// # Errors
    /// When a proxy is not an `http(s)://` URL.
    pub fn explicit(
        http: Option<&str>,
        https: Option<&str>,
        no_proxy: &str,
    ) -> Result<ProxySettings, ProxyError> {
        let http = http.map(|v| parse_proxy("proxy", v)).transpose()?;
        let https = https.map(|v| parse_proxy("proxy", v)).transpose()?;
        Ok(ProxySettings::build(
            http,
            https,
            no_proxy.trim().to_owned(),
        ))
    }

    fn build(http: Option<Url>, https: Option<Url>, no_proxy: String) -> ProxySettings {
        let matcher = (http.is_some() || https.is_some()).then(|| {
            // The matcher only decides `NO_PROXY`; the proxy it returns is a placeholder.
            Arc::new(
                Matcher::builder()
                    .all("http://proxy.invalid:1".to_owned())
                    .no(no_proxy.clone())
                    .build(),
            )
        });
        ProxySettings {
            http,
            https,
            no_proxy,
            matcher,
        }
    }

    /// Whether any request would go through a proxy.
    pub fn is_enabled(&self) -> bool {
        self.http.is_some() || self.https.is_some()
    }

    /// The proxy a request to `url` goes through, or `None` for a direct connection.
    pub fn proxy_for(&self, url: &Url) -> Option<&Url> {
        let proxy = match url.scheme() {
            "http" => self.http.as_ref(),
            "https" => self.https.as_ref(),
            _ => None,
        }?;
        if is_loopback(url) {
            return None;
        }
        let host = url.host_str()?;
        let uri: http::Uri = match url.port() {
            Some(port) => format!("{}://{host}:{port}/", url.scheme()),
            None => format!("{}://{host}/", url.scheme()),
        }
        .parse()
        .ok()?;
        self.matcher.as_ref()?.intercept(&uri)?;
        Some(proxy)
    }

    /// How a request to `url` is routed, for messages: `through proxy http://***@proxy:3128/`,
    /// or `None` when it goes directly.
    pub fn describe(&self, url: &Url) -> Option<String> {
        self.proxy_for(url)
            .map(|p| format!("through proxy {}", shown(p)))
    }
}

/// Whether `url` names this machine: `localhost`, `*.localhost`, a loopback address.
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => {
            let d = host.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// A proxy URL: `http://` is assumed when the value has no scheme (`proxy:3128`), as curl does.
fn parse_proxy(var: &str, value: &str) -> Result<Url, ProxyError> {
    let text = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let invalid = |why: String| ProxyError::Invalid {
        var: var.to_owned(),
        shown: crate::redact::redact_url_text(value),
        why,
    };
    let url = Url::parse(&text).map_err(|e| invalid(format!("{e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "`{}` proxies are not supported; give an http:// or https:// proxy",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".to_owned()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    fn via(p: &ProxySettings, target: &str) -> Option<String> {
        p.proxy_for(&url(target)).map(Url::to_string)
    }

    #[test]
    fn variables_pick_the_proxy_by_scheme() {
        let p = ProxySettings::from_lookup(env(&[
            ("HTTP_PROXY", "http://hp:3128"),
            ("https_proxy", "sp:3129"),
        ]))
        .expect("settings");
        assert_eq!(
            via(&p, "http://example.com/x").as_deref(),
            Some("http://hp:3128/")
        );
        assert_eq!(
            via(&p, "https://example.com/x").as_deref(),
            Some("http://sp:3129/")
        );
        let p = ProxySettings::from_lookup(env(&[("ALL_PROXY", "http://all:1")])).expect("all");
        assert_eq!(via(&p, "http://e.com").as_deref(), Some("http://all:1/"));
        assert_eq!(via(&p, "https://e.com").as_deref(), Some("http://all:1/"));
        let p = ProxySettings::from_lookup(env(&[
            ("HTTP_PROXY", "http://U:1"),
            ("http_proxy", "http://l:1"),
        ]))
        .expect("upper first");
        assert_eq!(via(&p, "http://e.com").as_deref(), Some("http://u:1/"));
        let p = ProxySettings::from_lookup(env(&[("HTTP_PROXY", "  ")])).expect("empty");
        assert!(!p.is_enabled());
        assert_eq!(via(&p, "http://e.com"), None);
    }

    #[test]
    fn no_proxy_follows_curl() {
        let p = ProxySettings::from_lookup(env(&[
            ("HTTP_PROXY", "http://hp:3128"),
            (
                "NO_PROXY",
                "internal.example, .corp.example, 10.0.0.0/8, 192.168.1.7",
            ),
        ]))
        .expect("settings");
        for direct in [
            "http://internal.example/",
            "http://a.internal.example/",
            "http://x.corp.example:8080/",
            "http://10.1.2.3/",
            "http://192.168.1.7:9000/",
        ] {
            assert_eq!(via(&p, direct), None, "{direct}");
        }
        for proxied in [
            "http://example.com/",
            "http://notinternal.example/",
            "http://192.168.1.8/",
        ] {
            assert!(via(&p, proxied).is_some(), "{proxied}");
        }
        let p = ProxySettings::explicit(Some("http://hp:1"), None, "*").expect("star");
        assert_eq!(via(&p, "http://example.com/"), None);
    }

    #[test]
    fn loopback_always_goes_direct() {
        let p = ProxySettings::explicit(Some("http://hp:1"), Some("http://hp:1"), "")
            .expect("settings");
        for direct in [
            "http://127.0.0.1:8000/",
            "http://127.9.9.9/",
            "https://localhost:8443/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://[::1]:80/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert_eq!(via(&p, direct), None, "{direct}");
        }
        assert!(via(&p, "http://10.0.0.1/").is_some());
        assert!(via(&p, "http://localhost.example.com/").is_some());
    }

    #[test]
    fn httpoxy_cgi_environments_ignore_http_proxy() {
        let p = ProxySettings::from_lookup(env(&[
            ("HTTP_PROXY", "http://evil:1"),
            ("REQUEST_METHOD", "GET"),
        ]))
        .expect("settings");
        assert_eq!(via(&p, "http://example.com/"), None);
    }

    #[test]
    fn credentials_are_never_shown() {
        let p = ProxySettings::from_lookup(env(&[(
            "HTTPS_PROXY",
            "http://ann:s3cr%40t@proxy.corp:3128",
        )]))
        .expect("settings");
        let debug = format!("{p:?}");
        assert!(!debug.contains("s3cr") && !debug.contains("ann"), "{debug}");
        assert_eq!(
            p.describe(&url("https://api.example/")).as_deref(),
            Some("through proxy http://***@proxy.corp:3128/")
        );

        let e = ProxySettings::from_lookup(env(&[("HTTPS_PROXY", "socks5://ann:s3cret@p:1")]))
            .expect_err("socks");
        let text = e.to_string();
        assert!(
            text.starts_with("HTTPS_PROXY is not a usable proxy URL"),
            "{text}"
        );
        assert!(
            text.contains("socks5") && !text.contains("s3cret"),
            "{text}"
        );
        let e = ProxySettings::from_lookup(env(&[("HTTP_PROXY", "http://ann:s3cret@:99999")]))
            .expect_err("bad");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
