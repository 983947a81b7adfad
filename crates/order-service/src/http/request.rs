//! What every request carries: an id (`X-Request-Id`: the client's when it sends one of at most
//! 64 visible characters, otherwise a new UUID), returned in the response header, in every
//! log line of the request (its span) and in problem bodies (`request_id`); and a deadline,
//! past which it is answered 503 problem+json `timeout`.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::request_id::{MakeRequestId, RequestId};

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being handled, when there is one (for problem bodies).
pub fn current_id() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// New request ids: UUIDv4 (random; the ids of records come from the service's clock, these
/// only correlate log lines).
#[derive(Clone, Copy, Default)]
pub struct NewId;

impl MakeRequestId for NewId {
    fn make_request_id<B>(&mut self, _req: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// A client's id is kept only when it is short and printable (it goes into logs).
pub fn acceptable(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty() && b.len() <= 64 && b.iter().all(|c| c.is_ascii_graphic())
}

/// Middleware: replaces an unacceptable client id by a new one, and handles the request with
/// its id in scope (see [`current_id`]).
pub async fn scope(mut req: Request, next: Next) -> Response {
    let ok = req.headers().get(HEADER).is_some_and(acceptable);
    if !ok {
        if let Some(id) = NewId.make_request_id(&req) {
            req.headers_mut().insert(HEADER, id.into_header_value());
        }
    }
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    CURRENT.scope(id, next.run(req)).await
}

/// What a request that ran past its deadline (or any other failure of the layers around the
/// handlers) is answered.
pub fn refused(e: tower::BoxError) -> std::future::Ready<Response> {
    std::future::ready(if e.is::<tower::timeout::error::Elapsed>() {
        // What the request did is unknown (a create queued for group commit is written even
        // after its request is gone): no Retry-After; retry with the same Idempotency-Key.
        ApiError::OutcomeUnknown {
            code: "timeout",
            message: "The request took too long; whether it took effect is unknown: check, or retry with the same Idempotency-Key".into(),
        }
        .into_response()
    } else {
        ApiError::Internal(e.to_string()).into_response()
    })
}
