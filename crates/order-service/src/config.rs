//! Configuration from environment variables. Secrets are wrapped so they never print.

use pos_crypto::MasterKey;
use std::net::SocketAddr;

/// A secret string: `Debug` prints `****`, zeroed on drop.
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(zeroize::Zeroizing::new(s))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0} is not valid: {1}")]
    Invalid(&'static str, &'static str),
}

fn var(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name).map_err(|_| ConfigError::Missing(name))
}

/// `ORDER_SERVICE_DATABASE_URL` (runtime role) — needed to serve.
pub fn database_url() -> Result<Secret, ConfigError> {
    var("ORDER_SERVICE_DATABASE_URL").map(Secret::new)
}

/// `ORDER_SERVICE_ADMIN_DATABASE_URL` (the role that owns the tables) — for migrate and admin.
pub fn admin_database_url() -> Result<Secret, ConfigError> {
    var("ORDER_SERVICE_ADMIN_DATABASE_URL").map(Secret::new)
}

/// `ORDER_SERVICE_LISTEN`, default `127.0.0.1:8084`.
pub fn listen() -> Result<SocketAddr, ConfigError> {
    std::env::var("ORDER_SERVICE_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:8084".into())
        .parse()
        .map_err(|_| ConfigError::Invalid("ORDER_SERVICE_LISTEN", "expected host:port"))
}

/// `ORDER_SERVICE_JWT_SECRET`: at least 32 bytes.
pub fn jwt_secret() -> Result<Secret, ConfigError> {
    let s = var("ORDER_SERVICE_JWT_SECRET")?;
    if s.len() < 32 {
        return Err(ConfigError::Invalid(
            "ORDER_SERVICE_JWT_SECRET",
            "must be at least 32 bytes",
        ));
    }
    Ok(Secret::new(s))
}

/// `ORDER_SERVICE_DATA_KEY`: base64 of 32 random bytes.
pub fn data_key() -> Result<MasterKey, ConfigError> {
    let s = zeroize::Zeroizing::new(var("ORDER_SERVICE_DATA_KEY")?);
    MasterKey::from_base64(&s).ok_or(ConfigError::Invalid(
        "ORDER_SERVICE_DATA_KEY",
        "expected base64 of 32 bytes",
    ))
}
