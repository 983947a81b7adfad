//! A JSON body extractor whose rejections are problem+json like every other error.

use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(match rej {
                axum::extract::rejection::JsonRejection::JsonDataError(e) => {
                    ApiError::Unprocessable {
                        code: "invalid_body".into(),
                        message: e.body_text(),
                        field: None,
                    }
                }
                other if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::PayloadTooLarge
                }
                other => ApiError::BadRequest(other.body_text()),
            }),
        }
    }
}
