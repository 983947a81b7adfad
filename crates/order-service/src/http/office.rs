//! The shop's office (SPEC §3): the web back-office's built files (`ui/dist-office`, from `npm
//! run build:office`), served at `/` from the directory the configuration names — not embedded
//! in the binary, so building the service never needs Node.js and a new office deploys without
//! a new binary. Only files under that directory are served (no listing, no `..`).
//!
//! Every response of the service — the office's and the API's — carries a strict
//! Content-Security-Policy (scripts, styles and connections from the service itself only; no
//! inline scripts, no frames, no plugins), `X-Content-Type-Options: nosniff`, frame denial and
//! no referrer.

use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use std::path::Path;
use tower_http::services::ServeDir;

/// The office's and the API's Content-Security-Policy.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; frame-src 'none'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The office's files under `dir`, `/` answered by its `index.html`; anything else is 404.
pub fn files<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    Router::new().fallback_service(
        ServeDir::new(dir)
            .append_index_html_on_directories(true)
            .not_found_service(axum::routing::any(|| async {
                crate::error::ApiError::NotFound
            })),
    )
}

/// Sets the security headers on every response, and the office's caching: its page is
/// revalidated every time (a new office shows at once), its content-hashed assets are kept.
pub async fn headers(req: axum::extract::Request, next: Next) -> Response {
    let assets = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let ok = res.status().is_success();
    let h = res.headers_mut();
    let html = h
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if html {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    } else if assets && ok {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}
