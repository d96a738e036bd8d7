//! `modelci chaos proxy`: the fault proxy's API server, until SIGINT or SIGTERM.

use std::net::{IpAddr, SocketAddr};

use crate::cli::ChaosProxyArgs;
use crate::output::{self, EXIT_ERROR};

pub fn proxy(args: &ChaosProxyArgs) -> u8 {
    match run(args) {
        Ok(()) => 0,
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

fn run(args: &ChaosProxyArgs) -> Result<(), String> {
    let ip: IpAddr = match args.host.as_str() {
        "localhost" => IpAddr::from([127, 0, 0, 1]),
        h => h
            .parse()
            .map_err(|_| format!("--host `{h}` is not an IP address"))?,
    };
    let populate = match &args.config {
        Some(path) => modelci_chaos::read_proxy_config(path)?,
        None => Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the proxy's runtime: {e}"))?;
    runtime.block_on(async move {
        let stop = async {
            let term = async {
                #[cfg(unix)]
                if let Ok(mut s) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                {
                    s.recv().await;
                    return;
                }
                std::future::pending::<()>().await;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = term => {}
            }
        };
        let (server, task) =
            modelci_chaos::serve_proxies(SocketAddr::new(ip, args.port), &populate, stop).await?;
        output::stdout(&format!("listening on http://{}\n", server.addr));
        for p in server.registry.proxies() {
            output::stdout(&format!(
                "proxy {}: {} -> {}\n",
                p.name(),
                p.listen(),
                p.upstream()
            ));
        }
        let _ = task.await;
        Ok(())
    })
}
