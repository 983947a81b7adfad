//! `Idempotency-Key`: a repeated create or payment replays the first answer.

use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pos_crypto::Aad;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

/// An `Idempotency-Key` bound to what it was sent with (as the IETF Idempotency-Key draft
/// and Stripe do): the route (and the resource it names) and the SHA-256 of the request body.
/// The same key with another request is refused (422 `idempotency_key_reused`); concurrent
/// first uses wait for the first one and replay its answer.
pub(super) struct Idempotency {
    key: String,
    route: String,
    request_hash: [u8; 32],
}

impl Idempotency {
    /// The request's key, if it sent one, bound to `route` and `request_hash`.
    pub(super) fn of(
        headers: &HeaderMap,
        route: String,
        request_hash: [u8; 32],
    ) -> ApiResult<Option<Self>> {
        let Some(v) = headers.get("idempotency-key") else {
            return Ok(None);
        };
        let key = v
            .to_str()
            .map_err(|_| ApiError::BadRequest("Idempotency-Key must be text".into()))?;
        if key.is_empty() || key.len() > 200 {
            return Err(ApiError::BadRequest(
                "Idempotency-Key must be 1 to 200 characters".into(),
            ));
        }
        Ok(Some(Idempotency {
            key: key.to_owned(),
            route,
            request_hash,
        }))
    }

    /// Where the stored answer's ciphertext is bound: this key's record.
    fn aad(&self) -> Aad<'_> {
        Aad {
            table: "idempotency_keys",
            record_id: &self.key,
            field: "body",
        }
    }

    /// Claims the key in `tx` for this request: `None` when it is new (answer, then
    /// [`Idempotency::remember`]), or the first use's stored answer. A concurrent first use
    /// holds the key's row until it ends; this waits for it and then replays its answer.
    pub(super) async fn claim(
        &self,
        s: &AppState,
        tx: &mut Tx,
        tenant: Uuid,
    ) -> ApiResult<Option<Response>> {
        let fresh = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, key, route, request_hash, status, body, created_at)
             VALUES ($1, $2, $3, $4, 0, ''::bytea, $5) ON CONFLICT (tenant_id, key) DO NOTHING RETURNING 1",
        )
        .bind(tenant)
        .bind(&self.key)
        .bind(&self.route)
        .bind(&self.request_hash[..])
        .bind(s.now())
        .fetch_optional(&mut **tx)
        .await?;
        if fresh.is_some() {
            return Ok(None);
        }
        let r = sqlx::query("SELECT route, request_hash, status, body FROM idempotency_keys WHERE tenant_id = $1 AND key = $2")
            .bind(tenant)
            .bind(&self.key)
            .fetch_one(&mut **tx)
            .await?;
        if r.get::<String, _>("route") != self.route
            || r.get::<Vec<u8>, _>("request_hash") != self.request_hash
        {
            return Err(ApiError::Unprocessable {
                params: Default::default(),
                code: "idempotency_key_reused".into(),
                message: "This Idempotency-Key was already used for a different request".into(),
                field: None,
            });
        }
        let status = u16::try_from(r.get::<i32, _>("status"))
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .filter(|c| c.is_success())
            .ok_or(ApiError::Conflict {
                code: "idempotency_key_in_use",
                message: "A request with this Idempotency-Key is still in progress".into(),
            })?;
        let body: Value = s
            .cipher
            .decrypt(&r.get::<Vec<u8>, _>("body"), self.aad())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| ApiError::Internal("stored idempotent answer".into()))?;
        Ok(Some((status, axum::Json(body)).into_response()))
    }

    /// Stores the answer to a claimed key, encrypted (it holds the customer's details).
    pub(super) async fn remember(
        &self,
        s: &AppState,
        tx: &mut Tx,
        tenant: Uuid,
        status: StatusCode,
        body: &(impl Serialize + Sync),
    ) -> ApiResult<()> {
        let json = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
        sqlx::query(
            "UPDATE idempotency_keys SET status = $3, body = $4 WHERE tenant_id = $1 AND key = $2",
        )
        .bind(tenant)
        .bind(&self.key)
        .bind(i32::from(status.as_u16()))
        .bind(s.cipher.encrypt(&json, self.aad()))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
