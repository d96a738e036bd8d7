//! modelci's fault injection: `modelci chaos proxy`, a proxy between a service and a dependency
//! (its model server, a feature store) that injects Toxiproxy's toxics (latency with jitter,
//! bandwidth limits, slicing, held connections, resets, answers cut off mid-body, slow closes),
//! each on a share of connections, switchable at run time through Toxiproxy's HTTP API.
//!
//! A proxy speaks one of two [`Protocol`]s:
//!
//! - `tcp` (the default, Toxiproxy's): the toxics act on each connection's bytes;
//! - `http` (a modelci extension): an HTTP/1.1 reverse proxy. Its toxics act per request
//!   (`toxicity` is the share of requests), each limited by an optional route filter
//!   (`path_prefix`, `method`); the HTTP-only toxics `http_error` (answer a status without
//!   contacting the upstream), `abort_body` (cut the answer's body off) and `reset` (reset the
//!   connection without an answer) join them. It logs every request it receives
//!   ([`RequestRecord`]: its `X-Request-Id` and `X-Attempt`, when it came and ended, the status
//!   sent, what became of it, the toxics applied) and counts the requests in flight, for
//!   oracles that judge what a dependency actually received (retries, back-off, bulkheads).
//!
//! Modules:
//!
//! - [`toxic`]: the toxics and their JSON;
//! - [`proxy`]: the proxies, their links and the pipes that apply the toxics;
//! - [`http`]: the HTTP proxy, which applies the toxics per request;
//! - [`requests`]: the HTTP proxy's request log;
//! - [`api`]: the HTTP API.
//!
//! The crate never prints.

pub mod api;
pub mod http;
pub mod proxy;
pub mod requests;
pub mod toxic;

use std::net::SocketAddr;
use std::sync::Arc;

pub use proxy::{Protocol, Proxy, ProxyError, Registry};
pub use requests::{Outcome, RequestRecord};
pub use toxic::{Kind, Route, Stream, Toxic, ToxicJson};

/// A running API server.
pub struct Server {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The proxies.
    pub registry: Arc<Registry>,
}

/// A proxy of Toxiproxy's `-config` file (with modelci's `protocol`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Its name.
    pub name: String,
    /// Where it listens (default `127.0.0.1:0`).
    pub listen: String,
    /// Where it forwards to.
    pub upstream: String,
    /// Whether it listens from the start (default `true`).
    pub enabled: bool,
    /// What it speaks (default `tcp`).
    pub protocol: Protocol,
}

/// Starts the API on `addr` (port 0 picks one), with the TCP proxies of `populate`
/// (Toxiproxy's `-config` JSON: a list of `{name, listen, upstream, enabled}`), on the current
/// runtime. [`serve_proxies`] takes HTTP proxies too.
///
/// # Errors
/// When the address cannot be bound, or a proxy cannot be created.
pub async fn serve(
    addr: SocketAddr,
    populate: &[(String, String, String, bool)],
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(Server, tokio::task::JoinHandle<()>), String> {
    let list: Vec<ProxyConfig> = populate
        .iter()
        .map(|(name, listen, upstream, enabled)| ProxyConfig {
            name: name.clone(),
            listen: listen.clone(),
            upstream: upstream.clone(),
            enabled: *enabled,
            protocol: Protocol::Tcp,
        })
        .collect();
    serve_proxies(addr, &list, shutdown).await
}

/// Starts the API on `addr` (port 0 picks one), with the proxies of `populate` (as
/// [`read_proxy_config`] reads them), on the current runtime.
///
/// # Errors
/// When the address cannot be bound, or a proxy cannot be created.
pub async fn serve_proxies(
    addr: SocketAddr,
    populate: &[ProxyConfig],
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(Server, tokio::task::JoinHandle<()>), String> {
    let registry = Arc::new(Registry::new(tokio::runtime::Handle::current()));
    for p in populate {
        registry
            .create_with(&p.name, &p.listen, &p.upstream, p.enabled, p.protocol)
            .map_err(|e| e.to_string())?;
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let app = api::router(Arc::clone(&registry));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
    });
    Ok((
        Server {
            addr: local,
            registry,
        },
        task,
    ))
}

/// Reads Toxiproxy's `-config` file: a JSON list of TCP proxies, as `(name, listen, upstream,
/// enabled)`. [`read_proxy_config`] reads HTTP proxies too.
///
/// # Errors
/// A message naming the file when it cannot be read or is not such a list, or when a proxy
/// in it asks for `"protocol": "http"` (which these tuples cannot carry).
pub fn read_config(path: &std::path::Path) -> Result<Vec<(String, String, String, bool)>, String> {
    read_proxy_config(path)?
        .into_iter()
        .map(|p| match p.protocol {
            Protocol::Tcp => Ok((p.name, p.listen, p.upstream, p.enabled)),
            Protocol::Http => Err(format!(
                "`{}`: proxy `{}` is an http proxy, which this caller cannot start (it reads the file with `read_config`, not `read_proxy_config`)",
                path.display(),
                p.name
            )),
        })
        .collect()
}

/// Reads Toxiproxy's `-config` file: a JSON list of `{name, listen, upstream, enabled}`, each
/// with modelci's optional `protocol` (`tcp`, the default, or `http`).
///
/// # Errors
/// A message naming the file when it cannot be read or is not such a list.
pub fn read_proxy_config(path: &std::path::Path) -> Result<Vec<ProxyConfig>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let list: Vec<serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| format!("`{shown}`: not a JSON list of proxies: {e}"))?;
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let field = |k: &str| {
                p.get(k)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            };
            let name =
                field("name").ok_or_else(|| format!("`{shown}`: proxy {} has no `name`", i + 1))?;
            let upstream = field("upstream")
                .ok_or_else(|| format!("`{shown}`: proxy `{name}` has no `upstream`"))?;
            let protocol = match p.get("protocol") {
                None | Some(serde_json::Value::Null) => Protocol::Tcp,
                Some(serde_json::Value::String(s)) => s
                    .parse()
                    .map_err(|e| format!("`{shown}`: proxy `{name}`: {e}"))?,
                Some(v) => {
                    return Err(format!(
                        "`{shown}`: proxy `{name}`: `protocol` is `tcp` or `http`, not {v}"
                    ));
                }
            };
            Ok(ProxyConfig {
                listen: field("listen").unwrap_or_else(|| "127.0.0.1:0".to_owned()),
                upstream,
                enabled: p
                    .get("enabled")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(true),
                protocol,
                name,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_file_carries_the_protocol() {
        let dir = std::env::temp_dir().join(format!("modelci-chaos-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("toxiproxy.json");
        std::fs::write(
            &file,
            r#"[{"name": "a", "upstream": "127.0.0.1:1"},
                {"name": "b", "listen": "127.0.0.1:9", "upstream": "127.0.0.1:2", "enabled": false, "protocol": "http"}]"#,
        )
        .expect("write");
        let list = read_proxy_config(&file).expect("read");
        assert_eq!(list[0].protocol, Protocol::Tcp);
        assert_eq!(list[0].listen, "127.0.0.1:0");
        assert_eq!(
            list[1],
            ProxyConfig {
                name: "b".into(),
                listen: "127.0.0.1:9".into(),
                upstream: "127.0.0.1:2".into(),
                enabled: false,
                protocol: Protocol::Http,
            }
        );
        let e = read_config(&file).expect_err("http through the tuples");
        assert!(e.contains("proxy `b` is an http proxy"), "{e}");
        std::fs::write(
            &file,
            r#"[{"name": "a", "upstream": "x:1", "protocol": "udp"}]"#,
        )
        .expect("write");
        let e = read_proxy_config(&file).expect_err("udp");
        assert!(e.contains("`tcp` or `http`, not `udp`"), "{e}");
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}
