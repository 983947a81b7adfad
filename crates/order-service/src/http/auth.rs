//! Bearer JWTs (HS256 only, short-lived) carrying tenant, subject and role, and the extractor
//! that every protected route takes.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pos_domain::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Access tokens live this long.
pub const TOKEN_TTL_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user (or device) id.
    pub sub: Uuid,
    /// The tenant.
    pub tid: Uuid,
    pub role: Role,
    /// `user` or `device`.
    pub kind: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Only HS256 with a valid signature and an unexpired `exp` passes (`alg: none` and every
    /// other algorithm are refused). Built once: it holds sets that cost allocations.
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // `exp` is checked against the service's clock in `verify`, not the library's.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A token for `sub` issued at `now` (the service's clock), valid for `TOKEN_TTL_SECONDS`.
    pub fn issue(
        &self,
        sub: Uuid,
        tid: Uuid,
        role: Role,
        kind: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, ApiError> {
        let now = now.timestamp();
        let claims = Claims {
            sub,
            tid,
            role,
            kind: kind.to_owned(),
            iat: now,
            exp: now + TOKEN_TTL_SECONDS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("token: {e}")))
    }

    /// The claims of `token` if it passes the keys' validation and has not expired at `now`
    /// (the service's clock); otherwise 401.
    pub fn verify(
        &self,
        token: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .ok()
            .filter(|c| c.exp > now.timestamp())
            .ok_or(ApiError::Unauthorized)
    }
}

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
        state.jwt.verify(token.trim(), state.now()).map(Auth)
    }
}
