//! Configuration: every setting is a command-line option with an environment variable
//! (`order-service <command> --help` lists them all). Secrets are wrapped so they never print;
//! prefer their environment variables to the command line, where other users of the machine
//! can read them.

use crate::limits::{Quota, RateLimits};
use pos_crypto::MasterKey;
use std::net::SocketAddr;
use std::time::Duration;

pub use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not valid: {1}")]
    Invalid(&'static str, &'static str),
}

/// The database the owning role reaches: for `migrate` and `admin`.
#[derive(Debug, clap::Args)]
pub struct AdminDatabase {
    /// PostgreSQL URL of the role that owns the tables (order_service_owner).
    #[arg(long, env = "ORDER_SERVICE_ADMIN_DATABASE_URL", hide_env_values = true)]
    pub admin_database_url: Secret,
}

/// The key for customer PII and blind indexes.
#[derive(Debug, clap::Args)]
pub struct DataKey {
    /// Base64 of 32 random bytes: the key of customer PII and blind indexes.
    #[arg(long, env = "ORDER_SERVICE_DATA_KEY", hide_env_values = true)]
    pub data_key: Secret,
}

impl DataKey {
    pub fn key(&self) -> Result<MasterKey, ConfigError> {
        MasterKey::from_base64(self.data_key.expose()).ok_or(ConfigError::Invalid(
            "ORDER_SERVICE_DATA_KEY",
            "expected base64 of 32 bytes",
        ))
    }
}

/// Everything `serve` needs.
#[derive(Debug, clap::Args)]
pub struct Serve {
    /// Address and port to listen on.
    #[arg(long, env = "ORDER_SERVICE_LISTEN", default_value = "127.0.0.1:8084")]
    pub listen: SocketAddr,
    /// PostgreSQL URL of the runtime role (order_service_app: owns nothing, no BYPASSRLS).
    #[arg(long, env = "ORDER_SERVICE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Secret,
    /// HS256 signing secret of access tokens, at least 32 bytes.
    #[arg(long, env = "ORDER_SERVICE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Secret,
    #[command(flatten)]
    pub data_key: DataKey,
    /// The shop's office (the web back-office) to serve at `/`: the directory `npm run
    /// build:office` writes (`ui/dist-office`). Without it, only the API is served.
    #[arg(long, env = "ORDER_SERVICE_OFFICE_DIR")]
    pub office_dir: Option<std::path::PathBuf>,
    /// Database connections of this instance.
    #[arg(long, env = "ORDER_SERVICE_DB_POOL_SIZE", default_value_t = 20)]
    pub db_pool_size: u32,
    /// How long a request waits for a database connection before it is answered 503
    /// (milliseconds): with PostgreSQL down, requests fail fast instead of hanging.
    #[arg(
        long,
        env = "ORDER_SERVICE_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 3000
    )]
    pub db_acquire_timeout_ms: u64,
    /// Longest time a request may take before it is answered 503 (seconds); also the limit of
    /// each database statement.
    #[arg(long, env = "ORDER_SERVICE_REQUEST_TIMEOUT_SECS", default_value_t = crate::REQUEST_TIMEOUT.as_secs())]
    pub request_timeout_secs: u64,
    /// Longest time a sync push may take, its upload included (seconds): a counter on a slow
    /// uplink sends up to 4 MiB.
    #[arg(long, env = "ORDER_SERVICE_SYNC_TIMEOUT_SECS", default_value_t = crate::SYNC_TIMEOUT.as_secs())]
    pub sync_timeout_secs: u64,
    /// Logins per client address: a burst of this many …
    #[arg(long, env = "ORDER_SERVICE_LOGIN_BURST", default_value_t = RateLimits::default().login.burst)]
    pub login_burst: u32,
    /// … then one more every this many seconds.
    #[arg(long, env = "ORDER_SERVICE_LOGIN_EVERY_SECS", default_value_t = RateLimits::default().login.every.as_secs())]
    pub login_every_secs: u64,
    /// Pairings per client address: a burst of this many …
    #[arg(long, env = "ORDER_SERVICE_PAIRING_BURST", default_value_t = RateLimits::default().pairing.burst)]
    pub pairing_burst: u32,
    /// … then one more every this many seconds.
    #[arg(long, env = "ORDER_SERVICE_PAIRING_EVERY_SECS", default_value_t = RateLimits::default().pairing.every.as_secs())]
    pub pairing_every_secs: u64,
    /// Device-token requests per client address: a burst of this many …
    #[arg(long, env = "ORDER_SERVICE_DEVICE_TOKEN_BURST", default_value_t = RateLimits::default().device_token.burst)]
    pub device_token_burst: u32,
    /// … then one more every this many seconds.
    #[arg(long, env = "ORDER_SERVICE_DEVICE_TOKEN_EVERY_SECS", default_value_t = RateLimits::default().device_token.every.as_secs())]
    pub device_token_every_secs: u64,
    /// Count the rate limits against the last address in X-Forwarded-For, the one the reverse
    /// proxy in front of the service appended. Only behind exactly one proxy that appends it:
    /// otherwise a client chooses its own address.
    #[arg(long, env = "ORDER_SERVICE_TRUST_FORWARDED", default_value_t = false)]
    pub trust_forwarded: bool,
    /// OTLP/HTTP endpoint to export traces to (e.g. http://collector:4318); no traces without it.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otel_endpoint: Option<String>,
}

impl Serve {
    /// Checks what clap cannot (lengths, non-zero periods).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.jwt_secret.expose().len() < 32 {
            return Err(ConfigError::Invalid(
                "ORDER_SERVICE_JWT_SECRET",
                "must be at least 32 bytes",
            ));
        }
        self.data_key.key()?;
        for (name, every) in [
            ("ORDER_SERVICE_LOGIN_EVERY_SECS", self.login_every_secs),
            ("ORDER_SERVICE_PAIRING_EVERY_SECS", self.pairing_every_secs),
            (
                "ORDER_SERVICE_DEVICE_TOKEN_EVERY_SECS",
                self.device_token_every_secs,
            ),
        ] {
            if every == 0 {
                return Err(ConfigError::Invalid(name, "must be at least 1"));
            }
        }
        if self.request_timeout_secs == 0
            || self.sync_timeout_secs == 0
            || self.db_acquire_timeout_ms == 0
        {
            return Err(ConfigError::Invalid(
                "ORDER_SERVICE_REQUEST_TIMEOUT_SECS / ORDER_SERVICE_DB_ACQUIRE_TIMEOUT_MS",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// The rate limits these settings name.
    pub fn limits(&self) -> RateLimits {
        let q = |burst: u32, secs: u64| Quota {
            burst,
            every: Duration::from_secs(secs),
        };
        RateLimits {
            login: q(self.login_burst, self.login_every_secs),
            pairing: q(self.pairing_burst, self.pairing_every_secs),
            device_token: q(self.device_token_burst, self.device_token_every_secs),
            trust_forwarded: self.trust_forwarded,
        }
    }
}
