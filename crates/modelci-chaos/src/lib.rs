//! modelci's fault injection: `modelci chaos proxy`, a TCP proxy between a service and a
//! dependency (its model server, a feature store) that injects Toxiproxy's toxics (latency with
//! jitter, bandwidth limits, slicing, held connections, resets, answers cut off mid-body, slow
//! closes), each on a share of connections, switchable at run time through Toxiproxy's HTTP
//! API.
//!
//! - [`toxic`]: the toxics and their JSON;
//! - [`proxy`]: the proxies, their links and the pipes that apply the toxics;
//! - [`api`]: the HTTP API.
//!
//! The crate never prints.

pub mod api;
pub mod proxy;
pub mod toxic;

use std::net::SocketAddr;
use std::sync::Arc;

pub use proxy::{Proxy, ProxyError, Registry};
pub use toxic::{Kind, Stream, Toxic, ToxicJson};

/// A running API server.
pub struct Server {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The proxies.
    pub registry: Arc<Registry>,
}

/// Starts the API on `addr` (port 0 picks one), with the proxies of `populate` (Toxiproxy's
/// `-config` JSON: a list of `{name, listen, upstream, enabled}`), on the current runtime.
///
/// # Errors
/// When the address cannot be bound, or a proxy cannot be created.
pub async fn serve(
    addr: SocketAddr,
    populate: &[(String, String, String, bool)],
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(Server, tokio::task::JoinHandle<()>), String> {
    let registry = Arc::new(Registry::new(tokio::runtime::Handle::current()));
    for (name, listen, upstream, enabled) in populate {
        registry
            .create(name, listen, upstream, *enabled)
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

/// Reads Toxiproxy's `-config` file: a JSON list of proxies.
///
/// # Errors
/// A message naming the file when it cannot be read or is not such a list.
pub fn read_config(path: &std::path::Path) -> Result<Vec<(String, String, String, bool)>, String> {
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
            Ok((
                name,
                field("listen").unwrap_or_else(|| "127.0.0.1:0".to_owned()),
                upstream,
                p.get("enabled")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(true),
            ))
        })
        .collect()
}
