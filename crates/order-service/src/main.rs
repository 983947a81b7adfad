//! `order-service migrate | admin create-tenant | serve`. Configuration comes from the
//! environment (see the README); secrets are never logged.

use clap::{Parser, Subcommand};
use order_service::{admin, config, db, telemetry, AppState};
use pos_crypto::FieldCipher;
use sqlx::postgres::PgPoolOptions;
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc instead of glibc's allocator: a request allocates hundreds of small blocks (JSON,
/// rows, buffers) on whichever runtime thread runs it; glibc's malloc and free were about a
/// quarter of the service's CPU under load.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "order-service",
    about = "The central Offline Order POS service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applies the database migrations (as the owning role).
    Migrate {
        #[command(flatten)]
        db: config::AdminDatabase,
    },
    /// Administrative tasks (as the owning role).
    Admin {
        #[command(subcommand)]
        task: Box<AdminTask>,
    },
    /// Serves the API (as the runtime role); with Kafka brokers set, relays the outbox too.
    Serve(Box<config::Serve>),
    /// Relays the outbox to Kafka on its own (as the runtime role), without serving the API.
    Relay(Box<config::RelayCommand>),
}

#[derive(Subcommand)]
enum AdminTask {
    /// Creates a tenant and its first owner.
    CreateTenant {
        #[command(flatten)]
        db: config::AdminDatabase,
        #[command(flatten)]
        key: config::DataKey,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "IDR")]
        currency: String,
        /// The shop's IANA time zone (its business days follow it).
        #[arg(long, default_value = "Asia/Jakarta")]
        time_zone: String,
        /// The shop's country calling code (its customers' national phone numbers are in it).
        #[arg(long, default_value = "62")]
        phone_country_code: String,
        #[arg(long)]
        owner_name: String,
        #[arg(long)]
        owner_email: String,
        /// Prefer ORDER_SERVICE_OWNER_PASSWORD in the environment over the command line.
        #[arg(long, env = "ORDER_SERVICE_OWNER_PASSWORD", hide_env_values = true)]
        owner_password: config::Secret,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // traces only when serving with a collector configured
    let provider = match &cli.command {
        Command::Serve(cfg) => match cfg.otel_endpoint.as_deref().map(telemetry::otlp_provider) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                eprintln!("order-service: {e}");
                return ExitCode::FAILURE;
            }
            None => None,
        },
        _ => None,
    };
    if let Err(e) = telemetry::init(provider.as_ref()) {
        eprintln!("order-service: {e}");
        return ExitCode::FAILURE;
    }
    let outcome = run(cli).await;
    // the last spans leave before the process does
    if let Some(p) = provider {
        if let Err(e) = p.shutdown() {
            eprintln!("order-service: exporting the last traces: {e}");
        }
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("order-service: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Migrate { db } => {
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .connect(db.admin_database_url.expose())
                .await?;
            db::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::Admin { task } => {
            let AdminTask::CreateTenant {
                db,
                key,
                slug,
                name,
                currency,
                time_zone,
                phone_country_code,
                owner_name,
                owner_email,
                owner_password,
            } = *task;
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .connect(db.admin_database_url.expose())
                .await?;
            let cipher = FieldCipher::new(&key.key()?);
            let created = admin::create_tenant(
                &pool,
                &cipher,
                admin::NewTenant {
                    slug: &slug,
                    name: &name,
                    currency: currency.parse()?,
                    time_zone: pos_domain::ShopZone::parse("time_zone", &time_zone)?,
                    phone_country_code: pos_domain::CountryCode::parse(
                        "phone_country_code",
                        &phone_country_code,
                    )?,
                    owner_name: &owner_name,
                    owner_email: &owner_email,
                    owner_password: owner_password.expose(),
                },
            )
            .await?;
            println!(
                "tenant {} created with owner {}",
                created.tenant_id, created.owner_id
            );
        }
        Command::Serve(cfg) => {
            cfg.validate()?;
            // No statement outlives the request that asked for it: past its deadline the
            // answer is a 503, and PostgreSQL would otherwise go on working for nobody.
            let connect = cfg
                .database_url
                .expose()
                .parse::<sqlx::postgres::PgConnectOptions>()?
                .options([(
                    "statement_timeout",
                    format!("{}s", cfg.request_timeout_secs),
                )]);
            let pool = PgPoolOptions::new()
                .max_connections(cfg.db_pool_size)
                .acquire_timeout(std::time::Duration::from_millis(cfg.db_acquire_timeout_ms))
                .connect_with(connect)
                .await?;
            let mut state = AppState::new(
                pool,
                Arc::new(FieldCipher::new(&cfg.data_key.key()?)),
                order_service::auth::JwtKeys::new(cfg.jwt_secret.expose().as_bytes()),
            );
            state.limits = cfg.limits();
            state.request_timeout = std::time::Duration::from_secs(cfg.request_timeout_secs);
            state.sync_timeout = std::time::Duration::from_secs(cfg.sync_timeout_secs);
            state.office_dir = cfg.office_dir.clone();
            if let Some(relay_cfg) = cfg.kafka.relay()? {
                let relay = Arc::new(order_service::relay::Relay::default());
                state.relay = Some(relay.clone());
                order_service::relay::spawn(
                    cfg.database_url.expose().to_owned(),
                    relay_cfg,
                    relay,
                    state.metrics.clone(),
                    state.streams.time.clone(),
                );
            }
            let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
            tracing::info!(addr = %listener.local_addr()?, "serving");
            order_service::serve(listener, state).await?;
        }
        Command::Relay(cfg) => {
            let relay_cfg = cfg.kafka.relay()?.ok_or(config::ConfigError::Invalid(
                "ORDER_SERVICE_KAFKA_BROKERS",
                "is required to relay",
            ))?;
            let relay = Arc::new(order_service::relay::Relay::default());
            let metrics = Arc::new(order_service::metrics::Metrics::default());
            if let Some(addr) = cfg.listen {
                let listener = tokio::net::TcpListener::bind(addr).await?;
                tracing::info!(addr = %listener.local_addr()?, "serving the relay's /metrics and /readyz");
                tokio::spawn(order_service::relay::serve_status(
                    listener,
                    relay.clone(),
                    metrics.clone(),
                ));
            }
            order_service::relay::run(
                cfg.database_url.expose().to_owned(),
                relay_cfg,
                relay,
                metrics,
                pos_domain::TimeSource::default(),
            )
            .await;
        }
    }
    Ok(())
}
