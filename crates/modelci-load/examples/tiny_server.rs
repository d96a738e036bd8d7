//! The tiny server the load benchmark (`bench/load/bench.py`) points every tool at: `GET /`
//! answers `ok` at once, on a current-thread runtime, so that the generator is what is measured.
//!
//! `cargo run --release -p modelci-load --example tiny_server -- 127.0.0.1:18181`

use std::net::SocketAddr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18181".to_owned())
        .parse()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        axum::serve(listener, app).await
    })?;
    Ok(())
}
