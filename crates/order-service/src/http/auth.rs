//! The extractor every protected route takes: the caller of a request, from its bearer token
//! ([`crate::tokens`]).

use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use pos_domain::Role;
use uuid::Uuid;

pub use crate::tokens::{Claims, JwtKeys, TOKEN_TTL_SECONDS};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Auth(pub Claims);

impl Auth {
    pub fn tenant(&self) -> Uuid {
        self.0.tid
    }
    pub fn user(&self) -> Uuid {
        self.0.sub
    }
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// Staff tokens only (not devices).
    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.0.kind == "user" {
            Ok(())
        } else {
            Err(ApiError::Forbidden("This needs a staff login".into()))
        }
    }

    pub fn require_approver(&self, what: &str) -> Result<(), ApiError> {
        self.require_staff()?;
        if self.0.role.can_approve() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "Only an owner or manager may {what}"
            )))
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or(ApiError::Unauthorized)?;
        let claims = state.jwt.verify(token.trim(), state.now())?;
        // a staff token holds while its member is active with the role it names, and was
        // issued since their last change
        if claims.kind == "user"
            && !state
                .staff_current(claims.tid, claims.sub, claims.role, claims.iat_ms)
                .await?
        {
            return Err(ApiError::Unauthorized);
        }
        Ok(Auth(claims))
    }
}
