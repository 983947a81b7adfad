//! Logs and traces. Logs are JSON lines on stderr. Traces go over OTLP/HTTP (protobuf) to the
//! collector at `OTEL_EXPORTER_OTLP_ENDPOINT` when it is set, and nowhere otherwise: a span per
//! request (`request`: request id, method, route path — never the query string, which can hold
//! a searched phone number) and per database transaction (`db.transaction`: tenant id and
//! whether it committed), exported in batches by the OpenTelemetry SDK.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The name traces are exported under.
pub const SERVICE_NAME: &str = "order-service";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("logging: {0}")]
    Init(#[from] tracing_subscriber::util::TryInitError),
}

/// A tracer provider exporting to the OTLP/HTTP collector at `endpoint` (its base URL; spans
/// go to `<endpoint>/v1/traces`), in batches.
pub fn otlp_provider(endpoint: &str) -> Result<SdkTracerProvider, TelemetryError> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()?;
    Ok(provider_with(|b| b.with_batch_exporter(exporter)))
}

/// A tracer provider named for this service, its exporter chosen by `exporter` (the tests give
/// it the SDK's in-memory one).
pub fn provider_with(
    exporter: impl FnOnce(
        opentelemetry_sdk::trace::TracerProviderBuilder,
    ) -> opentelemetry_sdk::trace::TracerProviderBuilder,
) -> SdkTracerProvider {
    exporter(SdkTracerProvider::builder())
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(SERVICE_NAME)
                .build(),
        )
        .build()
}

/// The `tracing` layer that turns spans into OpenTelemetry spans of `provider`.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer(SERVICE_NAME))
}

/// Installs the process's logging (JSON lines, level from `RUST_LOG`, default `info`) and, with
/// `provider`, its tracing export.
pub fn init(provider: Option<&SdkTracerProvider>) -> Result<(), TelemetryError> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().json().with_filter(filter))
        // the spans of this service (INFO), not every library's DEBUG and TRACE callsites
        .with(provider.map(|p| layer(p).with_filter(tracing_subscriber::filter::LevelFilter::INFO)))
        .try_init()?;
    Ok(())
}
