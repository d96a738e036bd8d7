//! The proxies: a listener per proxy, and for each connection (a *link*) two pipes, client →
//! upstream and upstream → client, that pass every chunk through the toxics of their direction.
//!
//! Each pipe has a reader task that stamps chunks with their arrival time, and a writer that
//! applies the toxics in the order they were added: a latency toxic releases each chunk at its
//! arrival time plus the delay (so a stream keeps its throughput, as Toxiproxy does), a timeout
//! toxic holds everything, a limit closes the link once its bytes have passed. Toxics added or
//! removed while a link is open apply to it from its next chunk (or within 10 ms when idle).
//! Whether a toxic with a toxicity below 1 applies is decided once per link.
//!
//! A proxy of [`Protocol::Http`] is an HTTP/1.1 reverse proxy instead (see [`crate::http`]):
//! its toxics act per request, and it logs every request (see [`crate::requests`]).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use modelci_rng::SeededRng;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::requests::{RequestLog, RequestRecord};
use crate::toxic::{Kind, Stream, Toxic};

/// What a proxy speaks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Bytes: every toxic acts on the connection's byte stream, as Toxiproxy's do.
    #[default]
    Tcp,
    /// HTTP/1.1: a reverse proxy whose toxics act per request (with route filters), and which
    /// logs every request.
    Http,
}

impl Protocol {
    /// `tcp` or `http`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Http => "http",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;

    /// `tcp` or `http` (any case).
    fn from_str(s: &str) -> Result<Protocol, String> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "http" => Ok(Protocol::Http),
            _ => Err(format!("a proxy's protocol is `tcp` or `http`, not `{s}`")),
        }
    }
}

/// The largest chunk read at once.
const CHUNK: usize = 32 * 1024;
/// How often an idle pipe looks at its toxics again (a timeout added to an idle link).
const IDLE_CHECK: Duration = Duration::from_millis(10);
/// How long connecting to the upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a proxy could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The name is taken.
    #[error("proxy `{0}` already exists")]
    Exists(String),
    /// No such proxy.
    #[error("proxy `{0}` not found")]
    NotFound(String),
    /// No such toxic.
    #[error("toxic `{toxic}` not found on proxy `{proxy}`")]
    ToxicNotFound {
        /// The proxy.
        proxy: String,
        /// The toxic.
        toxic: String,
    },
    /// A toxic of that name exists.
    #[error("toxic `{toxic}` already exists on proxy `{proxy}`")]
    ToxicExists {
        /// The proxy.
        proxy: String,
        /// The toxic.
        toxic: String,
    },
    /// The settings are not usable.
    #[error("{0}")]
    Invalid(String),
    /// The listen address cannot be bound.
    #[error("proxy `{name}`: cannot listen on `{listen}`: {reason}")]
    Listen {
        /// The proxy.
        name: String,
        /// The address.
        listen: String,
        /// Why.
        reason: String,
    },
}

/// What a proxy has passed, for oracles and the API.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
    /// Bytes from clients to the upstream.
    pub bytes_up: AtomicU64,
    /// Bytes from the upstream to clients.
    pub bytes_down: AtomicU64,
}

/// One proxy.
pub struct Proxy {
    name: String,
    upstream: Mutex<String>,
    listen: Mutex<String>,
    enabled: AtomicBool,
    protocol: RwLock<Protocol>,
    toxics: RwLock<Vec<Toxic>>,
    version: AtomicU64,
    /// The toxics' version, for requests that wait for a toxic to go (HTTP `timeout`).
    pub(crate) changes: watch::Sender<u64>,
    /// Stops the listener and closes every link when set to `true`.
    stop: Mutex<Option<watch::Sender<bool>>>,
    /// Whether the listener is open (it closes a moment after `stop` is told).
    open: Arc<AtomicBool>,
    created: Instant,
    /// The HTTP requests received (empty on a TCP proxy).
    pub(crate) log: RequestLog,
    /// Draws whether each toxic applies to each HTTP request, and the jitter.
    pub(crate) rng: Mutex<SeededRng>,
    /// The HTTP client to the upstream, with its pool of kept-alive connections.
    pub(crate) client: crate::http::UpstreamClient,
    /// The proxy's counters.
    pub counters: Counters,
}

impl Proxy {
    /// The proxy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address it listens on (with the port picked when `:0` was asked).
    pub fn listen(&self) -> String {
        self.listen.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The upstream it forwards to.
    pub fn upstream(&self) -> String {
        self.upstream.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// Whether it accepts connections.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    /// What it speaks.
    pub fn protocol(&self) -> Protocol {
        self.protocol.read().map(|p| *p).unwrap_or_default()
    }

    /// Its toxics, in the order they apply.
    pub fn toxics(&self) -> Vec<Toxic> {
        self.toxics.read().map(|t| t.clone()).unwrap_or_default()
    }

    /// When it was created: the origin of the request log's times in the API.
    pub fn created(&self) -> Instant {
        self.created
    }

    /// The requests it received (HTTP proxies; empty on a TCP proxy), oldest first: the
    /// last [`crate::requests::MAX_REQUESTS`] since the last clear.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log.snapshot()
    }

    /// HTTP requests in flight now: received, and their answer not yet complete.
    pub fn in_flight(&self) -> usize {
        self.log.in_flight()
    }

    /// The most HTTP requests in flight at once since the last clear (or the proxy's
    /// creation).
    pub fn max_in_flight(&self) -> usize {
        self.log.max_in_flight()
    }

    /// Forgets the requests logged so far (ids keep counting) and starts the maximum in
    /// flight again from those in flight now.
    pub fn clear_requests(&self) {
        self.log.clear();
    }

    /// The request log as the API writes it: `{"proxy", "protocol", "in_flight",
    /// "max_in_flight", "requests": [...]}`, times in milliseconds since the proxy's creation.
    pub fn requests_json(&self) -> Value {
        json!({
            "proxy": self.name,
            "protocol": self.protocol().as_str(),
            "in_flight": self.in_flight(),
            "max_in_flight": self.max_in_flight(),
            "requests": self
                .requests()
                .iter()
                .map(|r| r.to_json(self.created))
                .collect::<Vec<_>>(),
        })
    }

    /// The proxy as Toxiproxy's API writes it, with modelci's `protocol`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "listen": self.listen(),
            "upstream": self.upstream(),
            "enabled": self.enabled(),
            "protocol": self.protocol().as_str(),
            "toxics": self.toxics().iter().map(Toxic::to_json).collect::<Vec<_>>(),
        })
    }

    /// Changes the toxics (checked against the protocol first).
    fn set_toxics(
        &self,
        f: impl FnOnce(&mut Vec<Toxic>) -> Result<(), ProxyError>,
    ) -> Result<(), ProxyError> {
        let mut t = self
            .toxics
            .write()
            .map_err(|_| ProxyError::Invalid("the toxics' lock is poisoned".into()))?;
        let mut next = t.clone();
        f(&mut next)?;
        let protocol = self.protocol();
        for toxic in &next {
            fits(&self.name, protocol, toxic)?;
        }
        *t = next;
        let version = self.version.fetch_add(1, Ordering::SeqCst) + 1;
        self.changes.send_replace(version);
        Ok(())
    }
}

/// Whether a proxy of `protocol` takes `toxic`: HTTP-only types and route filters need an
/// HTTP proxy.
fn fits(proxy: &str, protocol: Protocol, toxic: &Toxic) -> Result<(), ProxyError> {
    if protocol == Protocol::Http {
        return Ok(());
    }
    if toxic.http_only() {
        return Err(ProxyError::Invalid(format!(
            "toxic type `{}` needs an http proxy, and proxy `{proxy}` is {protocol} (create it with \"protocol\": \"http\")",
            toxic.type_name()
        )));
    }
    if !toxic.route.is_any() {
        return Err(ProxyError::Invalid(format!(
            "toxic `{}`: `path_prefix` and `method` filter the requests of an http proxy, and proxy `{proxy}` is {protocol}",
            toxic.name
        )));
    }
    Ok(())
}

/// Every proxy of a server.
pub struct Registry {
    proxies: Mutex<BTreeMap<String, Arc<Proxy>>>,
    runtime: tokio::runtime::Handle,
}

impl Registry {
    /// An empty registry whose proxies run on `runtime`.
    pub fn new(runtime: tokio::runtime::Handle) -> Registry {
        Registry {
            proxies: Mutex::new(BTreeMap::new()),
            runtime,
        }
    }

    /// Every proxy, by name.
    pub fn proxies(&self) -> Vec<Arc<Proxy>> {
        self.proxies
            .lock()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    /// One proxy.
    ///
    /// # Errors
    /// When there is none of that name.
    pub fn get(&self, name: &str) -> Result<Arc<Proxy>, ProxyError> {
        self.proxies
            .lock()
            .ok()
            .and_then(|p| p.get(name).cloned())
            .ok_or_else(|| ProxyError::NotFound(name.to_owned()))
    }

    /// Creates a TCP proxy (listening at once when `enabled`).
    ///
    /// # Errors
    /// A taken name, an empty name or upstream, an address that cannot be bound.
    pub fn create(
        &self,
        name: &str,
        listen: &str,
        upstream: &str,
        enabled: bool,
    ) -> Result<Arc<Proxy>, ProxyError> {
        self.create_with(name, listen, upstream, enabled, Protocol::Tcp)
    }

    /// Creates a proxy of `protocol` (listening at once when `enabled`). An HTTP proxy's
    /// upstream is `host:port` (an `http://` in front is allowed).
    ///
    /// # Errors
    /// A taken name, an empty name or upstream, an address that cannot be bound.
    pub fn create_with(
        &self,
        name: &str,
        listen: &str,
        upstream: &str,
        enabled: bool,
        protocol: Protocol,
    ) -> Result<Arc<Proxy>, ProxyError> {
        if name.trim().is_empty() {
            return Err(ProxyError::Invalid("a proxy needs a `name`".into()));
        }
        if upstream.trim().is_empty() {
            return Err(ProxyError::Invalid(format!(
                "proxy `{name}` needs an `upstream`"
            )));
        }
        let mut proxies = self
            .proxies
            .lock()
            .map_err(|_| ProxyError::Invalid("the registry's lock is poisoned".into()))?;
        if proxies.contains_key(name) {
            return Err(ProxyError::Exists(name.to_owned()));
        }
        let proxy = Arc::new(Proxy {
            name: name.to_owned(),
            upstream: Mutex::new(upstream.to_owned()),
            listen: Mutex::new(listen.to_owned()),
            enabled: AtomicBool::new(false),
            open: Arc::new(AtomicBool::new(false)),
            protocol: RwLock::new(protocol),
            toxics: RwLock::new(Vec::new()),
            version: AtomicU64::new(0),
            changes: watch::channel(0).0,
            stop: Mutex::new(None),
            created: Instant::now(),
            log: RequestLog::default(),
            rng: Mutex::new(SeededRng::new(0x6874_7470_7265_7173)),
            client: crate::http::upstream_client(),
            counters: Counters::default(),
        });
        if enabled {
            self.start(&proxy)?;
        }
        proxies.insert(name.to_owned(), Arc::clone(&proxy));
        Ok(proxy)
    }

    /// Changes a proxy's `enabled`, `listen` or `upstream` (restarting its listener when it
    /// listens elsewhere).
    ///
    /// # Errors
    /// No such proxy, or an address that cannot be bound.
    pub fn update(
        &self,
        name: &str,
        enabled: Option<bool>,
        listen: Option<&str>,
        upstream: Option<&str>,
    ) -> Result<Arc<Proxy>, ProxyError> {
        let proxy = self.get(name)?;
        if let Some(u) = upstream
            && let Ok(mut cur) = proxy.upstream.lock()
        {
            *cur = u.to_owned();
        }
        let moved = listen.is_some_and(|l| l != proxy.listen());
        if moved {
            self.stop(&proxy);
            if let Ok(mut cur) = proxy.listen.lock() {
                *cur = listen.unwrap_or_default().to_owned();
            }
        }
        match enabled.unwrap_or(proxy.enabled() || moved) {
            true if !proxy.enabled() => self.start(&proxy)?,
            false if proxy.enabled() => self.stop(&proxy),
            _ => {}
        }
        Ok(proxy)
    }

    /// Changes what a proxy speaks. Connections open now keep the old protocol; new ones get
    /// the new one.
    ///
    /// # Errors
    /// No such proxy, or a toxic on it that a proxy of `protocol` does not take (an HTTP-only
    /// type, a route filter), named.
    pub fn set_protocol(&self, name: &str, protocol: Protocol) -> Result<Arc<Proxy>, ProxyError> {
        let proxy = self.get(name)?;
        let toxics = proxy
            .toxics
            .write()
            .map_err(|_| ProxyError::Invalid("the toxics' lock is poisoned".into()))?;
        for t in toxics.iter() {
            fits(name, protocol, t)?;
        }
        if let Ok(mut p) = proxy.protocol.write() {
            *p = protocol;
        }
        drop(toxics);
        Ok(proxy)
    }

    /// Deletes a proxy, closing its listener and links.
    ///
    /// # Errors
    /// No such proxy.
    pub fn delete(&self, name: &str) -> Result<(), ProxyError> {
        let proxy = self
            .proxies
            .lock()
            .ok()
            .and_then(|mut p| p.remove(name))
            .ok_or_else(|| ProxyError::NotFound(name.to_owned()))?;
        self.stop(&proxy);
        Ok(())
    }

    /// Enables every proxy, removes every toxic (Toxiproxy's `POST /reset`) and clears every
    /// request log.
    ///
    /// # Errors
    /// A proxy whose address cannot be bound again.
    pub fn reset(&self) -> Result<(), ProxyError> {
        for p in self.proxies() {
            p.set_toxics(|t| {
                t.clear();
                Ok(())
            })?;
            p.clear_requests();
            if !p.enabled() {
                self.start(&p)?;
            }
        }
        Ok(())
    }

    /// Adds a toxic.
    ///
    /// # Errors
    /// No such proxy, a toxic of that name already there, or a toxic the proxy's protocol
    /// does not take (an HTTP-only type or a route filter on a TCP proxy).
    pub fn add_toxic(&self, proxy: &str, toxic: Toxic) -> Result<Toxic, ProxyError> {
        let p = self.get(proxy)?;
        p.set_toxics(|t| {
            if t.iter().any(|x| x.name == toxic.name) {
                return Err(ProxyError::ToxicExists {
                    proxy: proxy.to_owned(),
                    toxic: toxic.name.clone(),
                });
            }
            t.push(toxic.clone());
            Ok(())
        })?;
        Ok(toxic)
    }

    /// Replaces a toxic of the same name.
    ///
    /// # Errors
    /// No such proxy or toxic, or a toxic the proxy's protocol does not take.
    pub fn replace_toxic(&self, proxy: &str, toxic: Toxic) -> Result<Toxic, ProxyError> {
        let p = self.get(proxy)?;
        p.set_toxics(|t| match t.iter_mut().find(|x| x.name == toxic.name) {
            Some(slot) => {
                *slot = toxic.clone();
                Ok(())
            }
            None => Err(ProxyError::ToxicNotFound {
                proxy: proxy.to_owned(),
                toxic: toxic.name.clone(),
            }),
        })?;
        Ok(toxic)
    }

    /// Removes a toxic.
    ///
    /// # Errors
    /// No such proxy or toxic.
    pub fn remove_toxic(&self, proxy: &str, toxic: &str) -> Result<(), ProxyError> {
        let p = self.get(proxy)?;
        p.set_toxics(|t| {
            let before = t.len();
            t.retain(|x| x.name != toxic);
            if t.len() == before {
                return Err(ProxyError::ToxicNotFound {
                    proxy: proxy.to_owned(),
                    toxic: toxic.to_owned(),
                });
            }
            Ok(())
        })
    }

    fn start(&self, proxy: &Arc<Proxy>) -> Result<(), ProxyError> {
        let listen = proxy.listen();
        let err = |reason: String| ProxyError::Listen {
            name: proxy.name.clone(),
            listen: listen.clone(),
            reason,
        };
        let addr = resolve(&listen).map_err(err)?;
        let std_listener = std::net::TcpListener::bind(addr).map_err(|e| err(e.to_string()))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| err(e.to_string()))?;
        let actual = std_listener.local_addr().map_err(|e| err(e.to_string()))?;
        if let Ok(mut l) = proxy.listen.lock() {
            *l = actual.to_string();
        }
        let (tx, rx) = watch::channel(false);
        if let Ok(mut s) = proxy.stop.lock() {
            *s = Some(tx);
        }
        proxy.enabled.store(true, Ordering::SeqCst);
        let p = Arc::clone(proxy);
        let _guard = self.runtime.enter();
        let listener = TcpListener::from_std(std_listener).map_err(|e| err(e.to_string()))?;
        proxy.open.store(true, Ordering::SeqCst);
        let open = Arc::clone(&proxy.open);
        self.runtime.spawn(async move {
            accept_loop(listener, p, rx).await;
            // The listener is closed now: a disabled proxy refuses connections.
            open.store(false, Ordering::SeqCst);
        });
        Ok(())
    }

    /// Stops a proxy's listener and links, and waits (up to a second) until the listener is
    /// closed, so that once the API has answered, connecting is refused (as with Toxiproxy).
    fn stop(&self, proxy: &Proxy) {
        proxy.enabled.store(false, Ordering::SeqCst);
        if let Ok(mut s) = proxy.stop.lock()
            && let Some(tx) = s.take()
        {
            let _ = tx.send(true);
        }
        let wait = || {
            let started = Instant::now();
            while proxy.open.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(1) {
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        // On a worker of a multi-thread runtime (the API's handlers), the accept loop just woken
        // may sit in this worker's own slot, which no other worker takes: hand this worker's
        // tasks over while waiting. A current-thread runtime cannot run it while we wait at all,
        // so there the listener closes a moment after the answer.
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            Ok(_) => {}
            Err(_) => wait(),
        }
    }
}

/// `host:port` to an address (`localhost` included).
fn resolve(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    text.to_socket_addrs()
        .map_err(|e| format!("`{text}` is not a host:port address: {e}"))?
        .next()
        .ok_or_else(|| format!("`{text}` resolves to no address"))
}

async fn accept_loop(listener: TcpListener, proxy: Arc<Proxy>, mut stop: watch::Receiver<bool>) {
    let mut seed = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                seed = seed.wrapping_add(1);
                proxy.counters.connections.fetch_add(1, Ordering::Relaxed);
                match proxy.protocol() {
                    Protocol::Tcp => {
                        tokio::spawn(link(client, Arc::clone(&proxy), stop.clone(), seed));
                    }
                    Protocol::Http => {
                        tokio::spawn(crate::http::connection(
                            client,
                            Arc::clone(&proxy),
                            stop.clone(),
                        ));
                    }
                }
            }
            _ = stop.changed() => break,
        }
    }
}

/// What both pipes of a link share.
struct LinkState {
    proxy: Arc<Proxy>,
    /// Whether each toxic applies to this link (decided once, by toxicity).
    decided: Mutex<HashMap<String, bool>>,
    rng: Mutex<SeededRng>,
    /// Set to close the link; `reset` closes it with a TCP RST.
    close: watch::Sender<bool>,
    /// A second handle on the client's socket: a reset sets its linger to 0 before the socket
    /// closes, so the client gets a TCP RST.
    client: std::net::TcpStream,
}

async fn link(client: TcpStream, proxy: Arc<Proxy>, mut stop: watch::Receiver<bool>, seed: u64) {
    proxy.counters.open.fetch_add(1, Ordering::Relaxed);
    let upstream = proxy.upstream();
    let connected = match resolve(&upstream) {
        Ok(addr) => tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .ok()
            .and_then(Result::ok),
        Err(_) => None,
    };
    let Some(server) = connected else {
        // The upstream is down: the client's connection closes, as Toxiproxy's does.
        proxy.counters.open.fetch_sub(1, Ordering::Relaxed);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let client_std = client.into_std();
    let Ok(client_std) = client_std else {
        proxy.counters.open.fetch_sub(1, Ordering::Relaxed);
        return;
    };
    // A second handle on the client's socket, to reset it.
    let Ok(client_dup) = client_std.try_clone() else {
        proxy.counters.open.fetch_sub(1, Ordering::Relaxed);
        return;
    };
    let Ok(client) = TcpStream::from_std(client_std) else {
        proxy.counters.open.fetch_sub(1, Ordering::Relaxed);
        return;
    };
    let (close_tx, close_rx) = watch::channel(false);
    let state = Arc::new(LinkState {
        proxy: Arc::clone(&proxy),
        decided: Mutex::new(HashMap::new()),
        rng: Mutex::new(SeededRng::new(seed ^ 0x7072_6f78_7921)),
        close: close_tx,
        client: client_dup,
    });
    // Halves that do not shut the socket down when dropped: a reset must close it with an
    // RST, not a FIN.
    let (cr, cw) = tokio::io::split(client);
    let (sr, sw) = server.into_split();
    let up = tokio::spawn(pipe(
        cr,
        sw,
        Stream::Upstream,
        Arc::clone(&state),
        close_rx.clone(),
    ));
    let down = tokio::spawn(pipe(
        sr,
        cw,
        Stream::Downstream,
        Arc::clone(&state),
        close_rx,
    ));
    tokio::select! {
        _ = async { let _ = up.await; let _ = down.await; } => {}
        _ = stop.changed() => {
            let _ = state.close.send(true);
        }
    }
    drop(state);
    proxy.counters.open.fetch_sub(1, Ordering::Relaxed);
}

/// The toxics of a stream that apply to this link, and when each became active.
struct Chain {
    version: u64,
    toxics: Vec<(Toxic, Instant)>,
}

impl LinkState {
    fn chain(&self, stream: Stream, current: &mut Chain) {
        let version = self.proxy.version.load(Ordering::SeqCst);
        if version == current.version {
            return;
        }
        let all = self.proxy.toxics();
        let now = Instant::now();
        let mut decided = self
            .decided
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = Vec::new();
        for t in all.into_iter().filter(|t| t.stream == stream) {
            let on = *decided
                .entry(t.name.clone())
                .or_insert_with(|| t.toxicity >= 1.0 || rng.unit() < t.toxicity);
            if !on {
                continue;
            }
            // A toxic already active keeps its start (a timeout counts from when it began).
            let since = current
                .toxics
                .iter()
                .find(|(old, _)| old.name == t.name && old.kind == t.kind)
                .map_or(now, |(_, s)| *s);
            next.push((t, since));
        }
        current.toxics = next;
        current.version = version;
    }

    fn jitter(&self, jitter: Duration) -> f64 {
        if jitter.is_zero() {
            return 0.0;
        }
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (rng.unit() * 2.0 - 1.0) * jitter.as_secs_f64()
    }
}

async fn read_loop(
    mut from: impl tokio::io::AsyncRead + Unpin,
    tx: mpsc::Sender<(Instant, Vec<u8>)>,
) {
    loop {
        let mut buf = vec![0u8; CHUNK];
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                buf.truncate(n);
                if tx.send((Instant::now(), buf)).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn pipe(
    from: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    stream: Stream,
    state: Arc<LinkState>,
    mut close: watch::Receiver<bool>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(16);
    let reader = tokio::spawn(read_loop(from, tx));
    let mut chain = Chain {
        version: u64::MAX,
        toxics: Vec::new(),
    };
    let mut released = Instant::now();
    let mut passed: u64 = 0;
    let counter = match stream {
        Stream::Upstream => &state.proxy.counters.bytes_up,
        Stream::Downstream => &state.proxy.counters.bytes_down,
    };
    'outer: loop {
        state.chain(stream, &mut chain);
        // Timeouts and resets fire on their own, data or not.
        let now = Instant::now();
        for (t, since) in &chain.toxics {
            match t.kind {
                Kind::Timeout { timeout } if !timeout.is_zero() && now >= *since + timeout => {
                    let _ = state.close.send(true);
                }
                Kind::ResetPeer { timeout } if now >= *since + timeout => {
                    let _ = socket2::SockRef::from(&state.client).set_linger(Some(Duration::ZERO));
                    let _ = state.close.send(true);
                }
                _ => {}
            }
        }
        if *close.borrow() {
            break;
        }
        let item = tokio::select! {
            item = rx.recv() => item,
            _ = tokio::time::sleep(IDLE_CHECK) => continue,
            _ = close.changed() => break,
        };
        let Some((arrived, data)) = item else {
            // The source closed: a slow close waits first.
            state.chain(stream, &mut chain);
            let delay = chain
                .toxics
                .iter()
                .filter_map(|(t, _)| match t.kind {
                    Kind::SlowClose { delay } => Some(delay),
                    _ => None,
                })
                .max()
                .unwrap_or_default();
            if !delay.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = close.changed() => {}
                }
            }
            let _ = to.shutdown().await;
            break;
        };
        // The chain decides what happens to the chunk, in order.
        let mut pieces: Vec<(Vec<u8>, Duration)> = vec![(data, Duration::ZERO)];
        let mut release = arrived;
        let mut rate: Option<u64> = None;
        let mut limit: Option<u64> = None;
        for (t, _) in &chain.toxics {
            match &t.kind {
                // Held: nothing passes while a timeout toxic is active.
                Kind::Timeout { .. } => continue 'outer,
                Kind::Latency { latency, jitter } => {
                    let d = (latency.as_secs_f64() + state.jitter(*jitter)).max(0.0);
                    release += Duration::from_secs_f64(d);
                }
                Kind::Bandwidth { rate: r } => rate = Some(*r),
                Kind::LimitData { bytes } => limit = Some(*bytes),
                Kind::Slicer {
                    average_size,
                    size_variation,
                    delay,
                } => {
                    let mut sliced = Vec::new();
                    for (p, _) in pieces {
                        let mut rest = &p[..];
                        while !rest.is_empty() {
                            let spread = (*size_variation).min(average_size.saturating_sub(1));
                            let jitter = if spread == 0 {
                                0
                            } else {
                                let mut rng = state
                                    .rng
                                    .lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                                rng.index(2 * spread + 1)
                            };
                            let size = (average_size + jitter).saturating_sub(spread).max(1);
                            let (head, tail) = rest.split_at(size.min(rest.len()));
                            sliced.push((head.to_vec(), *delay));
                            rest = tail;
                        }
                    }
                    pieces = sliced;
                }
                // HTTP-only toxics never reach a TCP link (see `fits`).
                Kind::SlowClose { .. }
                | Kind::ResetPeer { .. }
                | Kind::HttpError { .. }
                | Kind::AbortBody { .. }
                | Kind::Reset => {}
            }
        }
        // In order: never before the previous chunk.
        released = released.max(release);
        if released > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(released.into()) => {}
                _ = close.changed() => break,
            }
        }
        for (mut piece, gap) in pieces {
            if let Some(l) = limit {
                let room = l.saturating_sub(passed);
                if room == 0 {
                    let _ = state.close.send(true);
                    break 'outer;
                }
                piece.truncate(usize::try_from(room).unwrap_or(usize::MAX).min(piece.len()));
            }
            if !gap.is_zero() {
                tokio::time::sleep(gap).await;
            }
            match rate {
                Some(r) if r > 0 => {
                    // `r` KB/s: a slice of 100 ms worth at a time.
                    let per_tick = usize::try_from((r * 100).max(1)).unwrap_or(usize::MAX);
                    for part in piece.chunks(per_tick) {
                        if to.write_all(part).await.is_err() {
                            break 'outer;
                        }
                        let secs = part.len() as f64 / (r as f64 * 1000.0);
                        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                    }
                }
                // A rate of zero lets nothing through.
                Some(_) => continue 'outer,
                None => {
                    if to.write_all(&piece).await.is_err() {
                        break 'outer;
                    }
                }
            }
            passed += piece.len() as u64;
            counter.fetch_add(piece.len() as u64, Ordering::Relaxed);
            if limit.is_some_and(|l| passed >= l) {
                let _ = state.close.send(true);
                break 'outer;
            }
        }
    }
    reader.abort();
    let _ = state.close.send(true);
}
