//! A JSON body extractor whose rejections are problem+json like every other error.

use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        parse(&bytes).map(ApiJson)
    }
}

/// A JSON body like [`ApiJson`], with the SHA-256 of its bytes: what an `Idempotency-Key` is
/// bound to, with the route, so that the same key with another request is refused.
pub struct HashedJson<T> {
    pub body: T,
    pub sha256: [u8; 32],
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HashedJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use sha2::Digest;
        let bytes = json_bytes(req, state).await?;
        Ok(HashedJson {
            body: parse(&bytes)?,
            sha256: sha2::Sha256::digest(&bytes).into(),
        })
    }
}

/// The body of a JSON request (problem+json when it is not one).
async fn json_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<axum::body::Bytes, ApiError> {
    {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::BadRequest(
                "Expected request with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rej| {
                if rej.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest(rej.body_text())
                }
            })?;
        // JSON can carry NUL only as the escape \u0000; PostgreSQL text cannot hold it at all.
        if contains_nul_escape(&bytes) {
            return Err(ApiError::Unprocessable {
                params: Default::default(),
                code: "invalid_text".into(),
                message: "Text may not contain NUL characters".into(),
                field: None,
            });
        }
        Ok(bytes)
    }
}

/// Parses a JSON body: without tracking the path first; only a body that fails is parsed
/// again, by axum (which tracks it), for an error that names the field.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    {
        if let Ok(v) = serde_json::from_slice::<T>(bytes) {
            return Ok(v);
        }
        match axum::Json::<T>::from_bytes(bytes) {
            Ok(axum::Json(v)) => Ok(v),
            Err(axum::extract::rejection::JsonRejection::JsonDataError(e)) => {
                Err(ApiError::Unprocessable {
                    params: Default::default(),
                    code: "invalid_body".into(),
                    message: without_values(&e.body_text()),
                    field: None,
                })
            }
            Err(other) => Err(ApiError::BadRequest(without_values(&other.body_text()))),
        }
    }
}

/// A parser's message without the values it quotes (serde writes "invalid type: integer
/// `812345`, expected a string", "invalid value: string \"0812…\""): a refused phone number or
/// e-mail must not come back in the answer, nor reach a log. Names of fields ("missing field
/// `phone`") and what was expected, and where, stay, as do `true` and `false`.
pub fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '`' && c != '"' {
            if message[i..].starts_with(", expected") {
                // what follows names the expected type or variants, never the value
                out.push_str(&message[i..]);
                return out;
            }
            out.push(c);
            continue;
        }
        // a quoted span: a field's name is kept, anything else is a value
        let keep = ["field ", "fields "].iter().any(|w| out.ends_with(w));
        let mut quoted = String::new();
        let mut escaped = false;
        for (_, q) in chars.by_ref() {
            if escaped {
                escaped = false;
            } else if q == '\\' {
                escaped = true;
            } else if q == c {
                break;
            }
            quoted.push(q);
        }
        // ...and so are the two literals a yes/no parameter expects ("provided string was not
        // `true` or `false`"), which say nothing of a customer
        if keep || quoted == "true" || quoted == "false" {
            out.push(c);
            out.push_str(&quoted);
            out.push(c);
        } else {
            out.push_str("(value)");
        }
    }
    out
}

fn contains_nul_escape(bytes: &[u8]) -> bool {
    bytes
        .windows(6)
        .any(|w| w[0] == b'\\' && w[1] == b'u' && &w[2..] == b"0000")
}

/// A path parameter extractor whose rejections are problem+json (400) too.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        #[allow(clippy::disallowed_types)] // the one wrapper of axum's Path
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|rej| ApiError::BadRequest(without_values(&rej.body_text())))
    }
}

/// A query string extractor whose rejections are problem+json (400) too.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        // A NUL in a decoded parameter would reach PostgreSQL, which refuses it in text.
        if parts
            .uri
            .query()
            .is_some_and(|q| q.to_ascii_lowercase().contains("%00"))
        {
            return Err(ApiError::BadRequest(
                "Query parameters may not contain NUL characters".into(),
            ));
        }
        #[allow(clippy::disallowed_types)] // the one wrapper of axum's Query
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|rej| ApiError::BadRequest(without_values(&rej.body_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn values_go_field_names_and_expectations_stay() {
        assert_eq!(
            without_values("customer.phone: invalid type: integer `81234567890`, expected a string at line 1 column 9"),
            "customer.phone: invalid type: integer (value), expected a string at line 1 column 9"
        );
        assert_eq!(
            without_values("invalid value: string \"08\\\"12, expected 3456\", expected a date"),
            "invalid value: string (value), expected a date"
        );
        assert_eq!(
            without_values("missing field `phone` at line 1"),
            "missing field `phone` at line 1"
        );
        assert_eq!(
            without_values("unknown variant `0812-3456`, expected one of `walk_in`, `phone`"),
            "unknown variant (value), expected one of `walk_in`, `phone`"
        );
        assert_eq!(
            without_values("invalid length 3, expected 2 elements"),
            "invalid length 3, expected 2 elements"
        );
        assert_eq!(
            without_values(
                "Failed to deserialize query string: provided string was not `true` or `false`"
            ),
            "Failed to deserialize query string: provided string was not `true` or `false`"
        );
    }
}
