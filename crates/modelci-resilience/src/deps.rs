//! The suite's fault proxies: [`modelci_chaos`] proxies on a runtime of their own, their
//! toxics, and what the dependencies received (the HTTP proxies' request logs).

use std::sync::Arc;

use modelci_chaos::{Registry, Toxic, ToxicJson};
use modelci_config::resilience::Proxy;

use crate::observe::DepRequest;

/// Running proxies (stopped when dropped).
pub(crate) struct Proxies {
    registry: Arc<Registry>,
    /// Names of the HTTP proxies (they log requests).
    http: Vec<String>,
    _runtime: tokio::runtime::Runtime,
}

impl Proxies {
    /// Starts `list`.
    ///
    /// # Errors
    /// An address that cannot be bound, with the proxy's name.
    pub(crate) fn start(list: &[Proxy]) -> Result<Proxies, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("modelci-proxy")
            .build()
            .map_err(|e| format!("cannot start the fault proxies' runtime: {e}"))?;
        let registry = Arc::new(Registry::new(runtime.handle().clone()));
        for p in list {
            let protocol = if p.http {
                modelci_chaos::Protocol::Http
            } else {
                modelci_chaos::Protocol::Tcp
            };
            registry
                .create_with(&p.name, &p.listen, &p.upstream, true, protocol)
                .map_err(|e| format!("proxy `{}` ({} -> {}): {e}", p.name, p.listen, p.upstream))?;
        }
        Ok(Proxies {
            registry,
            http: list
                .iter()
                .filter(|p| p.http)
                .map(|p| p.name.clone())
                .collect(),
            _runtime: runtime,
        })
    }

    /// Adds a toxic given as Toxiproxy's JSON.
    ///
    /// # Errors
    /// A toxic the proxy refuses, with why.
    pub(crate) fn add_toxic(&self, proxy: &str, json: &serde_json::Value) -> Result<(), String> {
        let parsed: ToxicJson = serde_json::from_value(json.clone())
            .map_err(|e| format!("proxy `{proxy}`: the toxic is not valid: {e}"))?;
        let toxic = Toxic::from_json(&parsed).map_err(|e| format!("proxy `{proxy}`: {e}"))?;
        self.registry
            .add_toxic(proxy, toxic)
            .map(|_| ())
            .map_err(|e| format!("proxy `{proxy}`: {e}"))
    }

    /// Removes a toxic.
    ///
    /// # Errors
    /// When it is not there.
    pub(crate) fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), String> {
        self.registry
            .remove_toxic(proxy, name)
            .map_err(|e| format!("proxy `{proxy}`: {e}"))
    }

    /// Forgets the requests logged so far.
    pub(crate) fn clear_logs(&self) {
        for name in &self.http {
            if let Ok(p) = self.registry.get(name) {
                p.clear_requests();
            }
        }
    }

    /// What the dependencies behind the HTTP proxies received, in arrival order; `None`
    /// without an HTTP proxy.
    pub(crate) fn dependency(&self) -> Option<Vec<DepRequest>> {
        if self.http.is_empty() {
            return None;
        }
        let mut all = Vec::new();
        for name in &self.http {
            if let Ok(p) = self.registry.get(name) {
                all.extend(p.requests().into_iter().map(|r| {
                    let failed = r.finished.is_none()
                        || r.status.is_none_or(|s| s >= 500)
                        || !matches!(r.outcome, modelci_chaos::Outcome::Forwarded);
                    DepRequest {
                        request_id: r.request_id,
                        path: r.path,
                        started: r.started,
                        finished: r.finished,
                        status: r.status,
                        failed,
                    }
                }));
            }
        }
        all.sort_by_key(|d| d.started);
        Some(all)
    }
}

impl Drop for Proxies {
    fn drop(&mut self) {
        let _ = self.registry.reset();
        for p in self.registry.proxies() {
            let _ = self.registry.delete(p.name());
        }
    }
}
