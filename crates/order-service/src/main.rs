//! `order-service migrate | admin create-tenant | serve`. Configuration comes from the
//! environment (see the README); secrets are never logged.

use clap::{Parser, Subcommand};
use order_service::{admin, config, db, AppState};
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
    /// Applies the database migrations (as ORDER_SERVICE_ADMIN_DATABASE_URL).
    Migrate,
    /// Administrative tasks (as ORDER_SERVICE_ADMIN_DATABASE_URL).
    Admin {
        #[command(subcommand)]
        task: AdminTask,
    },
    /// Serves the API on ORDER_SERVICE_LISTEN (as ORDER_SERVICE_DATABASE_URL).
    Serve,
}

#[derive(Subcommand)]
enum AdminTask {
    /// Creates a tenant and its first owner.
    CreateTenant {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "IDR")]
        currency: String,
        /// The shop's IANA time zone (its business days follow it).
        #[arg(long, default_value = "Asia/Jakarta")]
        time_zone: String,
        #[arg(long)]
        owner_name: String,
        #[arg(long)]
        owner_email: String,
        /// Prefer ORDER_SERVICE_OWNER_PASSWORD in the environment over the command line.
        #[arg(long, env = "ORDER_SERVICE_OWNER_PASSWORD", hide_env_values = true)]
        owner_password: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("order-service: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Migrate => {
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .connect(config::admin_database_url()?.expose())
                .await?;
            db::MIGRATOR.run(&pool).await?;
            println!("migrations applied");
        }
        Command::Admin {
            task:
                AdminTask::CreateTenant {
                    slug,
                    name,
                    currency,
                    time_zone,
                    owner_name,
                    owner_email,
                    owner_password,
                },
        } => {
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .connect(config::admin_database_url()?.expose())
                .await?;
            let cipher = FieldCipher::new(&config::data_key()?);
            let password = zeroize::Zeroizing::new(owner_password);
            let created = admin::create_tenant(
                &pool,
                &cipher,
                admin::NewTenant {
                    slug: &slug,
                    name: &name,
                    currency: currency.parse()?,
                    time_zone: pos_domain::ShopZone::parse("time_zone", &time_zone)?,
                    owner_name: &owner_name,
                    owner_email: &owner_email,
                    owner_password: &password,
                },
            )
            .await?;
            println!(
                "tenant {} created with owner {}",
                created.tenant_id, created.owner_id
            );
        }
        Command::Serve => {
            let pool = PgPoolOptions::new()
                .max_connections(20)
                .connect(config::database_url()?.expose())
                .await?;
            let state = AppState::new(
                pool,
                Arc::new(FieldCipher::new(&config::data_key()?)),
                order_service::auth::JwtKeys::new(config::jwt_secret()?.expose().as_bytes()),
            );
            let listener = tokio::net::TcpListener::bind(config::listen()?).await?;
            tracing::info!(addr = %listener.local_addr()?, "serving");
            order_service::serve(listener, state).await?;
        }
    }
    Ok(())
}
