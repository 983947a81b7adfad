//! The central order-service: a multi-tenant REST API on PostgreSQL with row-level security.

pub mod app;
pub mod audit;
pub mod config;
pub mod db;
pub mod error;
pub mod group_commit;
pub mod hashing;
pub mod http;
pub use db::tenants::TenantSettings;
pub use http::state::{AppState, REQUEST_TIMEOUT, SETTINGS_TTL, SYNC_TIMEOUT};
pub use http::{
    admin, auth, devices, extract, feeds, limits, login, openapi, orders, request, sync, tenant,
    users,
};
pub mod metrics;
pub mod numbers;
pub mod relay;
pub mod secret;
pub mod telemetry;
pub mod tokens;

/// Serves until ctrl-c / SIGTERM, then drains in-flight requests.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    // the peer's address is what the rate limits count against (see [`limits`])
    axum::serve(
        listener,
        http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return,
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    })
    .await
}
