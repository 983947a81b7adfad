//! Bearer JWTs (HS256 only, short-lived) carrying tenant, subject and role.

use crate::error::ApiError;
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
    /// When it was issued, in Unix milliseconds (`iat` has whole seconds only): a staff
    /// member's change cuts off the tokens issued before it, not those of a sign-in the same
    /// second after it. Absent (0) in tokens from before it was added.
    #[serde(default)]
    pub iat_ms: i64,
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
        let iat_ms = now.timestamp_millis();
        let now = now.timestamp();
        let claims = Claims {
            sub,
            tid,
            role,
            kind: kind.to_owned(),
            iat: now,
            exp: now + TOKEN_TTL_SECONDS,
            iat_ms,
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
