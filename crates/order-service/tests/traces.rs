//! OpenTelemetry traces: a span per request and per database transaction (a child of its
//! request's), through the service's own tracing layer into the SDK's in-memory exporter; none
//! carries customer data.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn requests_and_their_database_transactions_are_traced_without_customer_data() {
    let exporter = InMemorySpanExporter::default();
    let provider =
        order_service::telemetry::provider_with(|b| b.with_simple_exporter(exporter.clone()));
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(order_service::telemetry::layer(&provider)),
    )
    .unwrap();

    let app = spawn().await;
    let t = app.tenant("toko-jejak").await;
    let (st, order, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Zulaikha Wiryawan", "081399887766"),
        )
        .await;
    assert_eq!(st, 201, "{order}");
    app.get(&t.owner_token, "/api/v1/offline-orders?q=081399887766")
        .await;
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let attr = |s: &opentelemetry_sdk::trace::SpanData, k: &str| {
        s.attributes
            .iter()
            .find(|a| a.key.as_str() == k)
            .map(|a| a.value.to_string())
    };
    let requests: Vec<_> = spans.iter().filter(|s| s.name == "request").collect();
    let create = requests
        .iter()
        .find(|s| {
            attr(s, "method").as_deref() == Some("POST")
                && attr(s, "path").as_deref() == Some("/api/v1/offline-orders")
        })
        .unwrap_or_else(|| {
            panic!(
                "no span of the create among {:?}",
                requests.iter().map(|s| attr(s, "path")).collect::<Vec<_>>()
            )
        });
    assert!(attr(create, "request_id").is_some_and(|id| !id.is_empty()));
    let tx: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "db.transaction" && s.parent_span_id == create.span_context.span_id())
        .collect();
    assert!(
        !tx.is_empty(),
        "the create's transaction is a child of its request"
    );
    assert!(
        tx.iter()
            .any(|s| attr(s, "outcome").as_deref() == Some("committed")),
        "{tx:?}"
    );
    assert_eq!(attr(tx[0], "tenant.id"), Some(t.id.to_string()));
    // the search's phone number is in no span (its path is traced without the query string)
    for s in &spans {
        for a in &s.attributes {
            let v = a.value.to_string();
            assert!(
                !v.contains("81399887766") && !v.contains("Zulaikha"),
                "{}: {v}",
                s.name
            );
        }
    }
}
