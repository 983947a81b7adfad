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
        (
            "/offline-orders/{id}/payments/{payment_id}/reversal",
            "post",
        ),
        ("/users", "post"),
        ("/users", "get"),
        ("/tenant", "get"),
        ("/tenant", "patch"),
        ("/devices/pairing-codes", "post"),
        ("/devices/pair", "post"),
        ("/devices/{id}", "delete"),
        ("/sync/push", "post"),
        ("/sync/pull", "get"),
        ("/sync/orders", "post"),
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

/// What Schemathesis first found: bad path and query parameters and a non-JSON login body were
/// answered with axum's plain-text rejections. Every refusal is problem+json.
#[tokio::test]
async fn malformed_path_query_and_body_get_problem_json() {
    let app = spawn().await;
    let t = app.tenant("toko-malformed").await;
    let auth = format!("Bearer {}", t.owner_token);
    let cases = [
        app.http
            .get(format!("{}/api/v1/offline-orders/null,null", app.base))
            .header("authorization", &auth),
        app.http
            .get(format!(
                "{}/api/v1/offline-orders?limit=99999999999999999999999",
                app.base
            ))
            .header("authorization", &auth),
        app.http
            .get(format!(
                "{}/api/v1/analytics/offline-orders/summary?from=2026-01-01",
                app.base
            ))
            .header("authorization", &auth),
        app.http
            .post(format!("{}/api/v1/auth/login", app.base))
            .header("content-type", "text/plain")
            .body("tenant=x"),
        // Schemathesis's second find: a NUL in a text parameter reached PostgreSQL (500).
        app.http
            .get(format!("{}/api/v1/audit-events?entity_id=a%00b", app.base))
            .header("authorization", &auth),
    ];
    // Every operation with a path parameter, read from the document itself, so a new route
    // that takes axum's plain `Path` is caught (PATCH /users/{id} once was).
    let doc: serde_json::Value = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut with_params = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.contains('{') {
            continue;
        }
        let bad: String = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "null,null"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            with_params.push(
                app.http
                    .request(m, format!("{}/api/v1{bad}", app.base))
                    .header("authorization", &auth)
                    .header("if-match", "\"1\"")
                    .json(&serde_json::json!({})),
            );
        }
    }
    assert!(with_params.len() >= 7, "{}", with_params.len());
    for req in cases.into_iter().chain(with_params) {
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(status, 400, "{:?}", r.url());
        assert_eq!(ct, "application/problem+json", "{:?}", r.url());
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], 400);
        assert!(body["code"].is_string());
    }
}

/// A yes/no parameter's refusal says what it takes (the values it quotes are hidden, but
/// `true` and `false` are not a customer's).
#[tokio::test]
async fn a_yes_no_parameter_says_it_takes_true_or_false() {
    let app = spawn().await;
    let t = app.tenant("toko-ya-tidak").await;
    let (st, e, _) = app
        .get(&t.owner_token, "/api/v1/offline-orders?overdue=maybe")
        .await;
    assert_eq!(st, 400, "{e}");
    let detail = e["detail"].as_str().unwrap();
    assert!(detail.contains("`true` or `false`"), "{detail}");
    assert!(!detail.contains("maybe"), "{detail}");
}

#[tokio::test]
async fn nul_characters_in_json_text_are_refused_not_500() {
    let app = spawn().await;
    let t = app.tenant("toko-nul").await;
    let mut body = order_body("Siti", "081234567890");
    body["notes"] = serde_json::json!("call\u{0}back");
    let (status, problem, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders", body)
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "invalid_text");
    let r = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&serde_json::json!({"tenant": "toko\u{0}nul", "email": "a@b.c", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

/// The office's API client is typed from this very document: `ui/src/office/api/openapi.json`
/// is the document as the code generates it (run with `UPDATE_BINDINGS=1` to rewrite it, then
/// `npm run generate` in `ui/openapi` for the TypeScript types; `scripts/test.sh` checks both).
#[test]
fn the_office_client_is_typed_from_the_current_document() {
    use utoipa::OpenApi;
    let doc =
        serde_json::to_string_pretty(&order_service::openapi::ApiDoc::openapi()).unwrap() + "\n";
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../ui/src/office/api/openapi.json");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &doc).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == doc,
        "{} is not the current API document: run UPDATE_BINDINGS=1 cargo test -p order-service --test openapi, then npm run generate in ui/openapi",
        file.display()
    );
}
