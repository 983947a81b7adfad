//! The REST API through HTTP on a loopback port, against real PostgreSQL with row-level
//! security, connected as the service's own runtime role.
#![allow(clippy::unwrap_used)]
mod common;

use pos_domain::Clock;

use common::*;
use serde_json::json;
use serde_json::Value;
use sqlx::Row;

#[tokio::test]
async fn create_read_list_pay_and_audit() {
    let app = spawn().await;
    let t = app.tenant("toko-a").await;
    let (st, order, headers) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti Rahayu", "0812-1111-2222"),
        )
        .await;
    assert_eq!(st, 201, "{order}");
    assert_eq!(order["total"], "1000000");
    assert_eq!(order["paid"], "100000");
    assert_eq!(order["balance"], "900000");
    assert_eq!(order["status"], "pending");
    assert_eq!(order["order_type"], "offline");
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(
        order["payment_terms"]["schedule"].as_array().unwrap().len(),
        4
    );
    assert_eq!(order["payment_terms"]["schedule"][0]["status"], "paid");
    let id = order["id"].as_str().unwrap().to_owned();

    let (st, got, _) = app
        .get(&t.owner_token, &format!("/api/v1/offline-orders/{id}"))
        .await;
    assert_eq!(st, 200);
    assert_eq!(got["customer"]["name"], "Siti Rahayu");

    let (st, page, _) = app
        .get(
            &t.owner_token,
            "/api/v1/offline-orders?q=%2B62%20812%201111%202222",
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page, _) = app
        .get(&t.owner_token, "/api/v1/offline-orders?q=rahayu")
        .await;
    assert_eq!(page["items"][0]["id"], id.as_str());

    // payments: overpayment refused, exact balance accepted, same id again = same result
    let (st, err, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{id}/payments"),
            json!({"amount": "900001", "method": "cash"}),
        )
        .await;
    assert_eq!(st, 422);
    assert_eq!(err["code"], "overpayment");
    let pid = uuid::Uuid::now_v7();
    let body =
        json!({"id": pid, "amount": "900000", "method": "bank_transfer", "reference": "TRX-1"});
    let (st, paid, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{id}/payments"),
            body.clone(),
        )
        .await;
    assert_eq!(st, 201, "{paid}");
    assert_eq!(paid["order"]["status"], "paid");
    let (st, again, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{id}/payments"),
            body,
        )
        .await;
    assert_eq!(st, 201);
    assert_eq!(again["payment"]["id"], paid["payment"]["id"]);
    assert_eq!(again["order"]["payments"].as_array().unwrap().len(), 2);

    // a page shows every order exactly as its detail does: its own payments, none of another's
    let (st, _, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Budi Santoso", "081377778888"),
        )
        .await;
    assert_eq!(st, 201);
    let (st, page, _) = app
        .get(&t.owner_token, "/api/v1/offline-orders?limit=10")
        .await;
    assert_eq!(st, 200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    for item in items {
        let (_, detail, _) = app
            .get(
                &t.owner_token,
                &format!("/api/v1/offline-orders/{}", item["id"].as_str().unwrap()),
            )
            .await;
        assert_eq!(item, &without_provenance(&detail));
    }
    assert_eq!(items[1]["payments"].as_array().unwrap().len(), 2);
    assert_eq!(items[0]["payments"].as_array().unwrap().len(), 1);

    // every operation audited; the chain verifies
    let (st, ev, _) = app
        .get(&t.owner_token, "/api/v1/audit-events?limit=1000")
        .await;
    assert_eq!(st, 200);
    let ops: Vec<&str> = ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    for op in [
        "tenant.create",
        "login",
        "order.create",
        "payment.record",
        "order.read",
        "order.search",
    ] {
        assert!(ops.contains(&op), "{op} missing in {ops:?}");
    }
    let (st, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(st, 200);
    assert_eq!(v["ok"], true, "{v}");
    // The service's own events are spread over its parallel streams; take one with 3+ events.
    let stream: uuid::Uuid = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["events"].as_u64().unwrap() >= 3)
        .map(|d| d["device_id"].as_str().unwrap().parse().unwrap())
        .unwrap_or_else(|| panic!("no stream with 3 events: {v}"));

    // an edited audit row (by the owning role, triggers disabled) is caught at its seq
    sqlx::query("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let edited = sqlx::query(
        "UPDATE audit_events SET detail = 'rewritten' WHERE seq = 3 AND device_id = $1",
    )
    .bind(stream)
    .execute(&mut *tx)
    .await
    .unwrap();
    assert_eq!(edited.rows_affected(), 1);
    tx.commit().await.unwrap();
    let (_, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(v["ok"], false, "{v}");
    let broken: Vec<_> = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["ok"] == false)
        .collect();
    assert_eq!(broken.len(), 1, "{v}");
    assert_eq!(broken[0]["device_id"], stream.to_string(), "{v}");
    assert_eq!(broken[0]["first_broken_seq"], 3, "{v}");
}

/// The totals of the whole filtered set may be read by parallel workers (the tenant policy's
/// function is parallel safe): forced into them here, each shop still sees its own orders only.
#[tokio::test]
async fn totals_read_by_parallel_workers_are_the_tenants_own() {
    let app = spawn_with_runtime_options(|o| {
        o.options([
            ("force_parallel_mode", "on"),
            ("parallel_setup_cost", "0"),
            ("parallel_tuple_cost", "0"),
            ("min_parallel_table_scan_size", "0"),
        ])
    })
    .await;
    let a = app.tenant("toko-paralel-a").await;
    let b = app.tenant("toko-paralel-b").await;
    for (t, n) in [(&a, 3), (&b, 2)] {
        for i in 0..n {
            let (st, o, _) = app
                .post(
                    &t.owner_token,
                    "/api/v1/offline-orders",
                    order_body(&format!("Sari {i}"), "081311112222"),
                )
                .await;
            assert_eq!(st, 201, "{o}");
        }
    }
    for (t, n) in [(&a, 3), (&b, 2)] {
        for body in [
            json!({}),
            json!({"q": "sari"}),
            json!({"status": "pending"}),
        ] {
            let (st, page, _) = app
                .post(&t.owner_token, "/api/v1/offline-orders/search", body)
                .await;
            assert_eq!(st, 200, "{page}");
            assert_eq!(page["totals"]["orders"], n, "{page}");
            assert_eq!(page["items"].as_array().unwrap().len(), n as usize);
        }
    }
}

/// A name word is looked up through its index before the matches are ordered: the pages
/// still come newest first, with the other filters, the cursor and the totals.
#[tokio::test]
async fn a_name_search_pages_newest_first_with_the_other_filters() {
    let app = spawn().await;
    let t = app.tenant("toko-cari").await;
    let mut sari_by_phone = Vec::new();
    let mut eka = String::new();
    for (name, channel) in [
        ("Ibu Sari", "phone"),
        ("Budi", "phone"),
        ("Sari Dewi", "walk_in"),
        ("Sari", "phone"),
        ("Ibu Sari Lestari", "phone"),
        ("Eka", "phone"),
        ("Sari Eka", "phone"),
        ("Nur Sari", "phone"),
    ] {
        let mut body = order_body(name, "081311112222");
        body["channel"] = json!(channel);
        let (st, o, _) = app
            .post(&t.owner_token, "/api/v1/offline-orders", body)
            .await;
        assert_eq!(st, 201, "{o}");
        if channel == "phone" && name.contains("Sari") {
            sari_by_phone.push(o["id"].as_str().unwrap().to_owned());
        }
        if name == "Eka" {
            eka = o["id"].as_str().unwrap().to_owned();
        }
    }
    // a renamed customer is found by the new name's words, no longer by the old one's
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/offline-orders/{eka}")))
        .bearer_auth(&t.owner_token)
        .header("If-Match", "\"1\"")
        .json(&json!({"customer": {"name": "Sari Wulandari", "phone": "081311112222"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, found, _) = app
        .get(&t.owner_token, "/api/v1/offline-orders?q=wulandari")
        .await;
    assert_eq!(found["items"][0]["id"], eka.as_str(), "{found}");
    let (_, eka_only, _) = app
        .get(&t.owner_token, "/api/v1/offline-orders?q=eka")
        .await;
    assert_eq!(
        eka_only["items"].as_array().unwrap().len(),
        1,
        "only Sari Eka"
    );
    sari_by_phone.insert(3, eka.clone());
    // a search of many words is refused plainly, naming the limit (each word is a lookup)
    let many: String = (0..40).map(|i| format!("w{i} ")).collect();
    let (st, e, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders/search",
            json!({ "q": many }),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(
        (
            e["field"].as_str(),
            e["code"].as_str(),
            e["params"]["max"].as_str()
        ),
        (Some("q"), Some("too_many_words"), Some("8"))
    );
    // another shop's search finds none of these
    let other = app.tenant("toko-lain-cari").await;
    let (_, none, _) = app
        .get(&other.owner_token, "/api/v1/offline-orders?q=sari")
        .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    sari_by_phone.reverse();
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let (st, page, _) = app
            .post(
                &t.owner_token,
                "/api/v1/offline-orders/search",
                json!({"q": "sari", "channel": "phone", "limit": 2, "cursor": cursor}),
            )
            .await;
        assert_eq!(st, 200, "{page}");
        if seen.is_empty() {
            assert_eq!(page["totals"]["orders"], 6, "{page}");
        }
        for o in page["items"].as_array().unwrap() {
            seen.push(o["id"].as_str().unwrap().to_owned());
        }
        cursor = page["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(seen, sari_by_phone);
}

#[tokio::test]
async fn bad_input_is_a_clear_error_and_changes_nothing() {
    let app = spawn().await;
    let t = app.tenant("toko-b").await;
    let mut bad = order_body("Siti", "08121112222");
    bad["items"][1]["quantity"] = json!("0");
    let (st, err, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders", bad)
        .await;
    assert_eq!(st, 422);
    assert_eq!(err["field"], "items[1].quantity");
    let (st, err, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            json!({"channel": "phone"}),
        )
        .await;
    assert_eq!(st, 422, "{err}");
    let r = app
        .http
        .post(app.url("/api/v1/offline-orders"))
        .bearer_auth(&t.owner_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (st, _, _) = split(r).await;
    assert_eq!(st, 400);
    let r = app
        .http
        .put(app.url("/api/v1/offline-orders"))
        .bearer_auth(&t.owner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(split(r).await.0, 405);
    let r = app
        .http
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(split(r).await.0, 404);
    let big = "x".repeat(order_service::http::MAX_BODY_BYTES + 10);
    let r = app
        .http
        .post(app.url("/api/v1/offline-orders"))
        .bearer_auth(&t.owner_token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// A merge patch's `null` clears a member, and the merged order is checked: clearing what an
/// order must have is refused, not quietly ignored.
#[tokio::test]
async fn an_edit_cannot_clear_what_an_order_must_have() {
    let app = spawn().await;
    let t = app.tenant("toko-kosong").await;
    let (st, o, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti", "08121112222"),
        )
        .await;
    assert_eq!(st, 201, "{o}");
    let path = format!("/api/v1/offline-orders/{}", o["id"].as_str().unwrap());
    for (body, field) in [
        (json!({"customer": null}), "customer"),
        (json!({"customer": {"name": null}}), "customer.name"),
        (json!({"items": null}), "items"),
    ] {
        let r = app
            .http
            .patch(app.url(&path))
            .bearer_auth(&t.owner_token)
            .header("If-Match", "\"1\"")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (st, e, _) = split(r).await;
        assert_eq!(
            (st, e["field"].as_str(), e["code"].as_str()),
            (422, Some(field), Some("required")),
            "{body}: {e}"
        );
    }
    // what may be cleared is (an e-mail), beside a change; the order moves to version 2
    let r = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&t.owner_token)
        .header("If-Match", "\"1\"")
        .json(&json!({"customer": {"name": "Siti Rahayu", "email": null}}))
        .send()
        .await
        .unwrap();
    let (st, after, _) = split(r).await;
    assert_eq!(st, 200, "{after}");
    assert_eq!(
        (
            after["version"].as_i64(),
            after["customer"]["name"].as_str()
        ),
        (Some(2), Some("Siti Rahayu"))
    );
    assert!(after["customer"]["email"].is_null());
}

#[tokio::test]
async fn tenants_are_isolated_by_row_level_security() {
    let app = spawn().await;
    let a = app.tenant("toko-satu").await;
    let b = app.tenant("toko-dua").await;
    let (_, order, _) = app
        .post(
            &a.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti", "08121112222"),
        )
        .await;
    let id = order["id"].as_str().unwrap();

    // every read and write of A's order with B's token: 404, never 403
    let (st, _, _) = app
        .get(&b.owner_token, &format!("/api/v1/offline-orders/{id}"))
        .await;
    assert_eq!(st, 404);
    let (st, _, _) = app
        .post(
            &b.owner_token,
            &format!("/api/v1/offline-orders/{id}/payments"),
            json!({"amount": "1", "method": "cash"}),
        )
        .await;
    assert_eq!(st, 404);
    let (st, _, _) = app
        .delete(
            &b.owner_token,
            &format!("/api/v1/offline-orders/{id}"),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(st, 404);
    let (_, page, _) = app.get(&b.owner_token, "/api/v1/offline-orders").await;
    assert!(page["items"].as_array().unwrap().is_empty());
    let (_, page, _) = app
        .get(&b.owner_token, "/api/v1/offline-orders?q=08121112222")
        .await;
    assert!(page["items"].as_array().unwrap().is_empty());
    let (_, ev, _) = app
        .get(
            &b.owner_token,
            &format!("/api/v1/audit-events?entity_id={id}"),
        )
        .await;
    assert!(ev["items"].as_array().unwrap().is_empty());
    // B creating an order with A's order id gets its own order, not A's
    let mut same = order_body("Budi", "08123334444");
    same["id"] = json!(id);
    let (st, err, _) = app
        .post(&b.owner_token, "/api/v1/offline-orders", same)
        .await;
    assert!(st == 201 || st == 409, "{st} {err}");
    if st == 201 {
        assert_eq!(err["customer"]["name"], "Budi");
    }
    let (_, still, _) = app
        .get(&a.owner_token, &format!("/api/v1/offline-orders/{id}"))
        .await;
    assert_eq!(still["customer"]["name"], "Siti");
    assert_eq!(still["paid"], "100000");

    // as the runtime role, with no tenant set: no rows at all — in tables that do hold rows
    // (an Idempotency-Key create puts one in idempotency_keys too)
    let r = app
        .http
        .post(app.url("/api/v1/offline-orders"))
        .bearer_auth(&a.owner_token)
        .header("Idempotency-Key", "iso-1")
        .json(&order_body("Dewi", "08127776666"))
        .send()
        .await
        .unwrap();
    assert_eq!(split(r).await.0, 201);
    for table in [
        "orders",
        "payments",
        "audit_events",
        "users",
        "outbox_events",
        "tenants",
        "idempotency_keys",
    ] {
        let mut tx = order_service::db::tenant_tx(&app.app_pool, &Default::default(), a.id)
            .await
            .unwrap();
        let held: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert!(
            held > 0,
            "{table} should hold tenant A's rows for this check to mean anything"
        );
        drop(tx);
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&app.app_pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} visible without a tenant");
    }
    // and with B set, none of A's rows
    let mut tx = order_service::db::tenant_tx(&app.app_pool, &Default::default(), b.id)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE tenant_id = $1")
        .bind(a.id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let e = sqlx::query("INSERT INTO audit_events (tenant_id, device_id, seq, id, at, at_text, action, entity_type, operation, fields, prev_hash, hash) VALUES ($1, $1, 999, $1, now(), '', 'ACCESS', 'x', 'x', '[]', '', '')")
        .bind(a.id).execute(&mut *tx).await.unwrap_err();
    assert!(e.to_string().contains("row-level security"), "{e}");
}

#[tokio::test]
async fn the_runtime_role_owns_nothing_and_cannot_rewrite_history() {
    let app = spawn().await;
    let t = app.tenant("toko-c").await;
    app.post(
        &t.owner_token,
        "/api/v1/offline-orders",
        order_body("Siti", "08121112222"),
    )
    .await;
    let r = sqlx::query("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        .fetch_one(&app.app_pool)
        .await
        .unwrap();
    assert!(!r.get::<bool, _>("rolsuper") && !r.get::<bool, _>("rolbypassrls"));
    let owned: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
            .fetch_one(&app.app_pool)
            .await
            .unwrap();
    assert_eq!(owned, 0);
    let forced: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_class WHERE relname IN ('orders','payments','users','audit_events','outbox_events','idempotency_keys','tenants') AND relrowsecurity AND relforcerowsecurity").fetch_one(&app.app_pool).await.unwrap();
    assert_eq!(forced, 7);
    let mut tx = order_service::db::tenant_tx(&app.app_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let e = sqlx::query("UPDATE audit_events SET detail = 'x'")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("permission denied"), "{e}");
    drop(tx);
    let mut tx = order_service::db::tenant_tx(&app.app_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let e = sqlx::query("DELETE FROM outbox_events")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("permission denied"), "{e}");
}

#[tokio::test]
async fn roles_and_tokens() {
    // Tokens are issued and checked on the service's clock; the forged ones are made on it too.
    let clock = TestClock::at("2027-03-09T03:00:00Z");
    let sc = clock.clone();
    let app = spawn_with_state(move |s| s.with_clock(sc)).await;
    let ids = pos_domain::UuidV7s::new();
    let t = app.tenant("toko-d").await;
    let cashier = app.staff(&t, "cashier").await;
    let manager = app.staff(&t, "manager").await;
    let (_, order, _) = app
        .post(
            &cashier,
            "/api/v1/offline-orders",
            order_body("Siti", "08121112222"),
        )
        .await;
    let id = order["id"].as_str().unwrap();
    let (st, _, _) = app
        .delete(
            &cashier,
            &format!("/api/v1/offline-orders/{id}"),
            json!({"reason": "dobel"}),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _, _) = app.get(&cashier, "/api/v1/audit-events").await;
    assert_eq!(st, 403);
    let (st, e, _) = app
        .delete(
            &manager,
            &format!("/api/v1/offline-orders/{id}"),
            json!({"reason": " "}),
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (422, Some("reason")));
    // refund before delete: the order holds its 100,000 down payment
    let (st, e, _) = app
        .delete(
            &manager,
            &format!("/api/v1/offline-orders/{id}"),
            json!({"reason": "dobel"}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (409, Some("order_has_payments")),
        "{e}"
    );
    refund_all(&app, &manager, id).await;
    let (st, _, _) = app
        .delete(
            &manager,
            &format!("/api/v1/offline-orders/{id}"),
            json!({"reason": "dobel"}),
        )
        .await;
    assert_eq!(st, 204);
    let (st, gone, _) = app
        .get(&cashier, &format!("/api/v1/offline-orders/{id}"))
        .await;
    assert_eq!(st, 200);
    assert_eq!(gone["status"], "deleted");
    let (st, e, _) = app
        .post(
            &cashier,
            &format!("/api/v1/offline-orders/{id}/payments"),
            json!({"amount": "1", "method": "cash"}),
        )
        .await;
    assert_eq!((st, e["code"].as_str()), (409, Some("order_deleted")));

    // tokens: none, garbage, wrong signature, alg none, expired
    let r = app
        .http
        .get(app.url("/api/v1/offline-orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(split(r).await.0, 401);
    let (st, _, _) = app.get("not.a.token", "/api/v1/offline-orders").await;
    assert_eq!(st, 401);
    let forged = order_service::auth::JwtKeys::new(b"another-secret-another-secret-0000")
        .issue(
            ids.at(clock.now()),
            t.id,
            pos_domain::Role::Owner,
            "user",
            clock.now(),
        )
        .unwrap();
    assert_eq!(app.get(&forged, "/api/v1/offline-orders").await.0, 401);
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = clock.now().timestamp();
    let claims = json!({"sub": ids.at(clock.now()), "tid": t.id, "role": "owner", "kind": "user", "iat": now, "exp": now + 600});
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims.clone())
    );
    assert_eq!(app.get(&none, "/api/v1/offline-orders").await.0, 401);
    let mut old = claims.clone();
    old["exp"] = json!(now - 5);
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &old,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(app.get(&expired, "/api/v1/offline-orders").await.0, 401);
    // wrong password / unknown tenant: the same 401
    for (tenant, pw) in [
        ("toko-d", "wrong password!"),
        ("nope", "correct horse battery"),
    ] {
        let r = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"tenant": tenant, "email": "owner@toko-d.id", "password": pw}))
            .send()
            .await
            .unwrap();
        assert_eq!(split(r).await.0, 401);
    }
}

#[tokio::test]
async fn replays_and_concurrent_duplicates_yield_one_row() {
    let app = spawn().await;
    let t = app.tenant("toko-e").await;
    let id = uuid::Uuid::now_v7();
    let mut body = order_body("Siti", "08121112222");
    body["id"] = json!(id);
    let mut handles = Vec::new();
    for _ in 0..8 {
        let (http, url, token, body) = (
            app.http.clone(),
            app.url("/api/v1/offline-orders"),
            t.owner_token.clone(),
            body.clone(),
        );
        handles.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    // Idempotency-Key on a create without an id: the replay returns the first order
    let key = uuid::Uuid::new_v4().to_string();
    let mut first_id = None;
    for _ in 0..3 {
        let r = app
            .http
            .post(app.url("/api/v1/offline-orders"))
            .bearer_auth(&t.owner_token)
            .header("Idempotency-Key", &key)
            .json(&order_body("Budi", "08123334444"))
            .send()
            .await
            .unwrap();
        let (st, o, _) = split(r).await;
        assert_eq!(st, 201);
        let oid = o["id"].as_str().unwrap().to_owned();
        assert_eq!(first_id.get_or_insert(oid.clone()), &oid);
    }
    // concurrent payments with one id: one payment
    let pid = uuid::Uuid::now_v7();
    let mut handles = Vec::new();
    for _ in 0..8 {
        let (http, url, token) = (
            app.http.clone(),
            app.url(&format!("/api/v1/offline-orders/{id}/payments")),
            t.owner_token.clone(),
        );
        handles.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({"id": pid, "amount": "1000", "method": "cash"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(orders, 2);
    let payments: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE id = $1")
        .bind(pid)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(payments, 1);
    let paid: i64 = sqlx::query_scalar("SELECT paid_minor FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(paid, 101_000);
    // the seven creates that lost the race left nothing: one down payment, one CREATE event,
    // one outbox event for the order
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(id);
    let down_payments = count("SELECT count(*) FROM payments WHERE order_id = $1 AND id <> $2")
        .bind(pid)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(down_payments, 1);
    let created = count(
        "SELECT count(*) FROM audit_events WHERE entity_id = $1::text AND operation = 'order.create'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(created, 1);
    let events = count(
        "SELECT count(*) FROM outbox_events WHERE aggregate_id = $1 AND event_type = 'order.created'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(events, 1);
    drop(tx);
    let (st, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(st, 200);
    assert_eq!(v["ok"], json!(true), "{v}");
}

#[tokio::test]
async fn no_plaintext_pii_in_the_database() {
    let app = spawn().await;
    let t = app.tenant("toko-f").await;
    let mut body = order_body("Zulaikha Wiryawan", "081399887766");
    body["customer"]["email"] = json!("zulaikha.w@contoh.co.id");
    body["customer"]["address"] = json!("Jl. Melati Nomor 17");
    body["notes"] = json!("antar sebelum jam lima");
    let (st, _, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders", body)
        .await;
    assert_eq!(st, 201);
    // the owner role is subject to RLS too; read within the tenant
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let rows: Vec<String> = sqlx::query_scalar("SELECT o::text FROM orders o UNION ALL SELECT a::text FROM audit_events a UNION ALL SELECT e::text FROM outbox_events e UNION ALL SELECT u::text FROM users u")
        .fetch_all(&mut *tx).await.unwrap();
    let all = rows.join(" ");
    assert!(all.contains("order.create"), "the dump read the rows");
    for secret in [
        "Zulaikha",
        "081399887766",
        "399887766",
        "zulaikha.w@contoh",
        "Melati",
        "antar sebelum",
        "owner@toko-f.id",
    ] {
        assert!(!all.contains(secret), "{secret} found in plaintext");
        // bytea columns render as hex: plaintext stored there would show up this way
        assert!(
            !all.contains(&hex::encode(secret)),
            "{secret} found in a bytea column"
        );
    }
}

/// Phone search keys follow the tenant's country (issue 18): in a Malaysian shop a national
/// number is found by its +60 form, and the same digits in an Indonesian shop are another
/// number.
#[tokio::test]
async fn phone_search_keys_follow_the_shops_country() {
    let app = common::spawn().await;
    let my = app
        .tenant_in(
            "kedai-my",
            pos_domain::CountryCode::parse("c", "60").unwrap(),
        )
        .await;
    let id = app.tenant("toko-id").await;
    for t in [&my, &id] {
        let (st, _, _) = app
            .post(
                &t.owner_token,
                "/api/v1/offline-orders",
                common::order_body("Aminah", "012-345 6789"),
            )
            .await;
        assert_eq!(st, 201);
    }
    let found = |t: &common::Tenant, q: &'static str| {
        let (app, token) = (&app, t.owner_token.clone());
        async move {
            let (st, page, _) = app
                .get(&token, &format!("/api/v1/offline-orders?q={q}"))
                .await;
            assert_eq!(st, 200, "{page}");
            page["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(found(&my, "%2B60%2012%20345%206789").await, 1);
    // the office's search: the same filters in a body, so the number stays out of the URL
    let (st, page, _) = app
        .post(
            &my.owner_token,
            "/api/v1/offline-orders/search",
            serde_json::json!({"q": "+60 12 345 6789"}),
        )
        .await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(found(&my, "012-345-6789").await, 1);
    assert_eq!(found(&id, "%2B60%2012%20345%206789").await, 0);
    assert_eq!(found(&id, "%2B62%2012%20345%206789").await, 1);
}
