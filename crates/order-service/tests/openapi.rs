//! The served API document is generated from the code and covers every route of SPEC §3.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;

#[tokio::test]
async fn openapi_document_lists_every_route_and_problem_errors() {
    let app = spawn().await;
    let r = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/auth/login", "post"),
        ("/auth/device-token", "post"),
        ("/offline-orders", "post"),
        ("/offline-orders", "get"),
        ("/offline-orders/{id}", "get"),
        ("/offline-orders/{id}", "patch"),
        ("/offline-orders/{id}", "delete"),
        ("/offline-orders/{id}/payments", "post"),
        ("/users", "post"),
        ("/users", "get"),
        ("/devices/pairing-codes", "post"),
        ("/devices/pair", "post"),
        ("/devices/{id}", "delete"),
        ("/sync/push", "post"),
        ("/sync/pull", "get"),
        ("/events", "get"),
        ("/analytics/offline-orders/summary", "get"),
        ("/audit-events", "get"),
        ("/audit-events/verify", "get"),
    ] {
        let op = &paths.get(path).unwrap_or_else(|| panic!("{path} missing"))[method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["responses"]["4XX"]["content"]["application/problem+json"].is_object(),
            "{method} {path} does not declare problem+json errors"
        );
    }
    // The create body is the real request type: its required fields come from the Rust struct.
    let create = &doc["components"]["schemas"]["CreateOrder"];
    let required: Vec<&str> = create["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for f in ["channel", "customer", "items", "payment_terms"] {
        assert!(required.contains(&f), "{f} not required in {required:?}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
