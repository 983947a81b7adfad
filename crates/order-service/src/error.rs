//! One error type for the API, rendered as RFC 9457 problem details with a stable code.
//! Internals (SQL, keys, PII) never reach the response.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use pos_domain::ValidationError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Unprocessable {
        code: String,
        message: String,
        field: Option<String>,
        /// The figures the message names (a limit, a range), for a translation keyed by
        /// `code` (`pos_domain::ValidationError::params`).
        params: std::collections::BTreeMap<String, String>,
    },
    #[error("the resource changed; reload it (current version {current})")]
    PreconditionFailed { current: i32 },
    #[error("If-Match with the order's version is required")]
    PreconditionRequired,
    /// Too many requests: from one address (the rate limits), or wrong passwords for one
    /// account (its lockout). `retry_after` is in seconds.
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        message: String,
        retry_after: u64,
    },
    /// The service cannot answer now (its database is unreachable, or too many password checks
    /// wait); the client should retry after `retry_after` seconds.
    #[error("{message}")]
    Unavailable {
        code: &'static str,
        message: String,
        retry_after: u64,
    },
    /// The request may or may not have taken effect (its deadline passed, or the database
    /// connection broke during the commit): 503 without `Retry-After` — a blind retry could do
    /// it twice; an `Idempotency-Key` or a client-chosen id makes the retry safe.
    #[error("{message}")]
    OutcomeUnknown { code: &'static str, message: String },
    #[error("internal error")]
    Internal(String),
}

impl From<ValidationError> for ApiError {
    fn from(v: ValidationError) -> Self {
        ApiError::Unprocessable {
            code: v.code,
            message: v.message,
            field: Some(v.field),
            params: v.params,
        }
    }
}

impl From<pos_domain::LedgerError> for ApiError {
    fn from(e: pos_domain::LedgerError) -> Self {
        match e {
            pos_domain::LedgerError::Invalid(v) => v.into(),
            e if e.is_invalid_input() => ApiError::Unprocessable {
                params: Default::default(),
                code: e.rule_code().into(),
                message: e.to_string(),
                field: e.field().map(Into::into),
            },
            e => ApiError::Conflict {
                code: e.rule_code(),
                message: e.to_string(),
            },
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // PostgreSQL cannot be reached (no connection within the acquire timeout, or the
            // connection broke): the client may retry; nothing was written.
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::Unavailable {
                    code: "database_unavailable",
                    message: "The database cannot be reached; try again shortly".into(),
                    retry_after: 5,
                }
            }
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "malformed_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::PreconditionFailed { .. } => {
                (StatusCode::PRECONDITION_FAILED, "stale_version")
            }
            ApiError::PreconditionRequired => {
                (StatusCode::PRECONDITION_REQUIRED, "if_match_required")
            }
            ApiError::TooManyRequests { code, .. } => (StatusCode::TOO_MANY_REQUESTS, code),
            ApiError::Unavailable { code, .. } | ApiError::OutcomeUnknown { code, .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, code)
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        let mut body = json!({
            "type": format!("https://errors.offline-order-pos.example/{code}"),
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "code": code,
            "detail": self.to_string(),
        });
        if let ApiError::Unprocessable { field, params, .. } = &self {
            if let Some(f) = field {
                body["field"] = json!(f);
            }
            if !params.is_empty() {
                body["params"] = json!(params);
            }
        }
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. }
            | ApiError::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        if let Some(secs) = retry_after {
            body["retry_after"] = json!(secs);
        }
        if let Some(id) = crate::request::current_id() {
            body["request_id"] = json!(id);
        }
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
