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
    #[command(flatten)]
    pub kafka: Kafka,
}

/// The outbox relay's Kafka settings (see `order_service::relay`). Without brokers there is no
/// relay.
#[derive(Debug, clap::Args)]
pub struct Kafka {
    /// Kafka bootstrap servers (`host:port,host:port`); the relay is off without them.
    #[arg(long, env = "ORDER_SERVICE_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,
    /// The topic of domain events.
    #[arg(
        long,
        env = "ORDER_SERVICE_KAFKA_ORDER_TOPIC",
        default_value = "order-events"
    )]
    pub kafka_order_topic: String,
    /// The topic of audit events.
    #[arg(
        long,
        env = "ORDER_SERVICE_KAFKA_AUDIT_TOPIC",
        default_value = "audit-events"
    )]
    pub kafka_audit_topic: String,
    /// The producer's client id.
    #[arg(
        long,
        env = "ORDER_SERVICE_KAFKA_CLIENT_ID",
        default_value = "order-service-relay"
    )]
    pub kafka_client_id: String,
    /// Partitions of a topic the relay creates because the broker lacks it.
    #[arg(long, env = "ORDER_SERVICE_KAFKA_PARTITIONS", default_value_t = 6)]
    pub kafka_partitions: i32,
    /// Further librdkafka settings, passed through: `key=value`, repeated (or `;`-separated in
    /// the environment), e.g. `security.protocol=SASL_SSL;sasl.mechanism=SCRAM-SHA-512;
    /// sasl.username=relay;ssl.ca.location=/etc/ssl/kafka-ca.pem`. Put the password in
    /// `ORDER_SERVICE_KAFKA_SASL_PASSWORD` rather than here.
    #[arg(
        long = "kafka-option",
        env = "ORDER_SERVICE_KAFKA_OPTIONS",
        value_delimiter = ';'
    )]
    pub kafka_options: Vec<String>,
    /// The SASL password (kept out of logs and the process list).
    #[arg(
        long,
        env = "ORDER_SERVICE_KAFKA_SASL_PASSWORD",
        hide_env_values = true
    )]
    pub kafka_sasl_password: Option<Secret>,
}

impl Kafka {
    /// The relay's settings, if brokers are set; a malformed option is refused.
    pub fn relay(&self) -> Result<Option<crate::relay::RelayConfig>, ConfigError> {
        let Some(brokers) = self
            .kafka_brokers
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
        else {
            return Ok(None);
        };
        let mut cfg = crate::relay::RelayConfig::new(brokers);
        cfg.order_topic.clone_from(&self.kafka_order_topic);
        cfg.audit_topic.clone_from(&self.kafka_audit_topic);
        cfg.client_id.clone_from(&self.kafka_client_id);
        if self.kafka_partitions < 1 {
            return Err(ConfigError::Invalid(
                "ORDER_SERVICE_KAFKA_PARTITIONS",
                "must be at least 1",
            ));
        }
        cfg.partitions = self.kafka_partitions;
        for o in self
            .kafka_options
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
        {
            let Some((k, v)) = o.split_once('=') else {
                return Err(ConfigError::Invalid(
                    "ORDER_SERVICE_KAFKA_OPTIONS",
                    "each option is key=value",
                ));
            };
            let k = k.trim();
            if crate::relay::GUARANTEES.contains(&k) || k == "bootstrap.servers" || k == "client.id"
            {
                return Err(ConfigError::Invalid(
                    "ORDER_SERVICE_KAFKA_OPTIONS",
                    "may not set the relay's own settings (enable.idempotence, acks, max.in.flight, message.timeout.ms, retries, queue.buffering.max.messages, transactional.id, bootstrap.servers, client.id): they carry its delivery guarantees or have their own setting",
                ));
            }
            cfg.options.push((k.to_owned(), v.trim().to_owned()));
        }
        if let Some(p) = &self.kafka_sasl_password {
            cfg.options
                .push(("sasl.password".into(), p.expose().to_owned()));
        }
        Ok(Some(cfg))
    }
}

/// Everything `relay` needs: the runtime role's database and Kafka.
#[derive(Debug, clap::Args)]
pub struct RelayCommand {
    /// PostgreSQL URL of the runtime role.
    #[arg(long, env = "ORDER_SERVICE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Secret,
    /// Where to serve `/metrics` and `/readyz` of this relay (none: not served).
    #[arg(long, env = "ORDER_SERVICE_RELAY_LISTEN")]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub kafka: Kafka,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::Kafka;
    use clap::Parser;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        kafka: Kafka,
    }

    fn relay(options: &[&str]) -> Result<Option<crate::relay::RelayConfig>, super::ConfigError> {
        let mut args = vec!["t", "--kafka-brokers", "127.0.0.1:9092"];
        for o in options {
            args.extend(["--kafka-option", o]);
        }
        Args::try_parse_from(args).unwrap().kafka.relay()
    }

    #[test]
    fn passed_through_options_cannot_weaken_the_relay_s_guarantees() {
        let ok = relay(&["security.protocol=SASL_SSL", "linger.ms=20"])
            .unwrap()
            .unwrap();
        assert_eq!(ok.options.len(), 2);
        for bad in [
            "enable.idempotence=false",
            "acks=1",
            " request.required.acks = 1",
            "max.in.flight.requests.per.connection=50",
            "message.timeout.ms=1000",
            "queue.buffering.max.messages=10",
            "bootstrap.servers=elsewhere:9092",
        ] {
            assert!(relay(&[bad]).is_err(), "{bad} was taken");
        }
        assert!(relay(&["no-equals-sign"]).is_err());
    }
}
