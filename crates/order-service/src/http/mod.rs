//! The HTTP layer: the router, its extractors, limits, deadlines and request ids, and one
//! module per resource whose handlers read a request, call the application layer
//! ([`crate::app`]) or the database layer ([`crate::db`]) and shape the answer.

pub mod admin;
pub mod auth;
pub mod devices;
pub mod extract;
pub mod feeds;
pub mod limits;
pub mod login;
pub mod office;
pub mod openapi;
pub mod orders;
pub mod request;
pub mod state;
pub mod sync;
pub mod tenant;
pub mod users;

use crate::{error, metrics, AppState};
use axum::routing::{get, post};
use axum::Router;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/auth/login",
            post(login::login).layer(limits::layer(
                state.limits.login,
                state.limits.trust_forwarded,
            )),
        )
        .route("/offline-orders", post(orders::create).get(orders::list))
        .route("/offline-orders/search", post(orders::search))
        .route("/offline-orders/export", post(orders::export))
        .route("/offline-orders/preview", post(orders::preview))
        .route(
            "/offline-orders/{id}",
            get(orders::get).delete(orders::delete).patch(orders::patch),
        )
        .route("/offline-orders/{id}/payments", post(orders::pay))
        .route(
            "/offline-orders/{id}/payments/{payment_id}/reversal",
            post(orders::reverse),
        )
        .route("/users", post(users::create).get(users::list))
        .route("/users/{id}", axum::routing::patch(users::patch))
        .route("/tenant", get(tenant::get).patch(tenant::patch))
        .route(
            "/auth/device-token",
            post(devices::device_token).layer(limits::layer(
                state.limits.device_token,
                state.limits.trust_forwarded,
            )),
        )
        .route("/devices", get(devices::list))
        .route("/devices/pairing-codes", post(devices::pairing_code))
        .route(
            "/devices/pair",
            post(devices::pair).layer(limits::layer(
                state.limits.pairing,
                state.limits.trust_forwarded,
            )),
        )
        .route("/devices/{id}", axum::routing::delete(devices::revoke))
        .route("/sync/pull", get(sync::pull))
        .route("/sync/orders", post(sync::orders))
        .route("/sync/recover", post(sync::recover))
        .route("/events", get(feeds::events))
        .route("/analytics/offline-orders/summary", get(feeds::summary))
        .route("/audit-events", get(orders::audit_events))
        .route("/audit-events/verify", get(orders::audit_verify))
        .route("/openapi.json", get(openapi_json))
        // a deadline for every request so far: past it, 503 problem+json `timeout`
        .route_layer(deadline(state.request_timeout))
        // A push uploads up to 4 MiB, which a counter on a slow uplink needs minutes for: its
        // deadline (body included) is its own.
        .route(
            "/sync/push",
            post(sync::push)
                .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(
                    state.sync_body_limit,
                ))
                .layer(deadline(state.sync_timeout)),
        );
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(|axum::extract::State(s): axum::extract::State<AppState>| async move { s.metrics.render() }))
        .route("/readyz", get(readyz))
        .route_layer(deadline(state.request_timeout))
        .nest(
            "/api/v1",
            api.fallback(|| async { error::ApiError::NotFound }),
        )
        .merge(match &state.office_dir {
            Some(dir) => office::files(dir),
            None => Router::new().fallback(|| async { error::ApiError::NotFound }),
        })
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        // outside the deadlines, so a request that ran out of time is timed and counted too
        .route_layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A handler that panics answers 500 problem+json (and is logged) instead of dropping
        // the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                axum::response::IntoResponse::into_response(error::ApiError::Internal(
                    "a handler panicked".into(),
                ))
            },
        ))
        // outside the panic catcher, so its 500 carries the security headers too
        .layer(axum::middleware::from_fn(office::headers))
        // Request spans carry the request id, the method and the path only: query strings can
        // hold a searched phone number or e-mail, which must never reach a log.
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<axum::body::Body>| {
                let id = req
                    .headers()
                    .get(request::HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
            },
        ))
        // the request id: a client's acceptable one or a new one, in scope for problem bodies
        // and returned in the response
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(axum::middleware::from_fn(request::scope))
        .with_state(state)
}

/// What answers a request past its deadline (see [`request::refused`]).
type Refusal = fn(tower::BoxError) -> std::future::Ready<axum::response::Response>;

/// The layers of a deadline (see [`deadline`]).
type Deadline = tower::ServiceBuilder<
    tower::layer::util::Stack<
        tower::timeout::TimeoutLayer,
        tower::layer::util::Stack<
            axum::error_handling::HandleErrorLayer<Refusal, ()>,
            tower::layer::util::Identity,
        >,
    >,
>;

/// A deadline of `d` for the routes it layers: past it, 503 problem+json `timeout`.
fn deadline(d: std::time::Duration) -> Deadline {
    tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(
            request::refused as Refusal,
        ))
        .layer(tower::timeout::TimeoutLayer::new(d))
}

/// `GET /api/v1/openapi.json`: the API document, generated from the code.
async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi;
    axum::Json(openapi::ApiDoc::openapi())
}

/// `ready` once the database answers; with a relay in this process, also its state (JSON:
/// `{"status": "ready", "relay": {leader, lag_rows, lag_seconds, last_relayed_at,
/// last_error}}`). A relay that cannot reach its broker does not make the service unready: it
/// keeps taking orders, and the relay catches up.
async fn readyz(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> Result<axum::response::Response, error::ApiError> {
    use axum::response::IntoResponse;
    sqlx::query("SELECT 1").execute(&s.pool).await?;
    Ok(match &s.relay {
        Some(r) => {
            axum::Json(serde_json::json!({"status": "ready", "relay": r.status()})).into_response()
        }
        None => "ready".into_response(),
    })
}
