//! What the shop's office does through the API: edits with If-Match, staff, the event feed
//! and analytics; and the order numbers and audit chains those requests draw on.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use serde_json::{json, Value};

async fn patch(
    app: &TestApp,
    token: &str,
    path: &str,
    if_match: Option<&str>,
    body: serde_json::Value,
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let mut r = app.http.patch(app.url(path)).bearer_auth(token).json(&body);
    if let Some(v) = if_match {
        r = r.header("If-Match", v);
    }
    split(r.send().await.unwrap()).await
}

#[tokio::test]
async fn patch_needs_if_match_and_keeps_total_above_paid() {
    let app = spawn().await;
    let t = app.tenant("toko-g").await;
    let (_, o, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti", "08121112222"),
        )
        .await;
    let path = format!("/api/v1/offline-orders/{}", o["id"].as_str().unwrap());
    let body = json!({"customer": {"name": "Siti Rahayu", "phone": "08121112222"}});
    let (st, e, _) = patch(&app, &t.owner_token, &path, None, body.clone()).await;
    assert_eq!((st, e["code"].as_str()), (428, Some("if_match_required")));
    let (st, e, _) = patch(&app, &t.owner_token, &path, Some("\"7\""), body.clone()).await;
    assert_eq!((st, e["code"].as_str()), (412, Some("stale_version")));
    let (st, o2, h) = patch(&app, &t.owner_token, &path, Some("\"1\""), body.clone()).await;
    assert_eq!(st, 200, "{o2}");
    assert_eq!(o2["version"], 2);
    assert_eq!(h["etag"], "\"2\"");
    assert_eq!(o2["customer"]["name"], "Siti Rahayu");
    // the same If-Match again is stale now
    let (st, _, _) = patch(&app, &t.owner_token, &path, Some("\"1\""), body).await;
    assert_eq!(st, 412);
    // items below what was paid (100,000): refused, nothing changes
    let low = json!({"items": [{"name": "Kabel", "quantity": "1", "unit_price": "99999"}]});
    let (st, e, _) = patch(&app, &t.owner_token, &path, Some("\"2\""), low).await;
    assert_eq!((st, e["code"].as_str()), (422, Some("total_below_paid")));
    let up = json!({"items": [{"name": "Kulkas", "quantity": "1", "unit_price": "1300000"}]});
    let (st, o3, _) = patch(&app, &t.owner_token, &path, Some("\"2\""), up).await;
    assert_eq!(st, 200);
    assert_eq!(o3["total"], "1300000");
    assert_eq!(o3["balance"], "1200000");
    let sched = o3["payment_terms"]["schedule"].as_array().unwrap();
    let amounts: Vec<&str> = sched
        .iter()
        .map(|e| e["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["100000", "400000", "400000", "400000"]);
}

#[tokio::test]
async fn owner_manages_staff() {
    let app = spawn().await;
    let t = app.tenant("toko-h").await;
    let body = json!({"name": "Kasir Ani", "email": "ani@toko-h.id", "role": "cashier", "password": "cashier pass 1", "pin": "1111"});
    let (st, u, _) = app
        .post(&t.owner_token, "/api/v1/users", body.clone())
        .await;
    assert_eq!(st, 201, "{u}");
    assert_eq!(u["role"], "cashier");
    let (st, _, _) = app.post(&t.owner_token, "/api/v1/users", body).await;
    assert_eq!(st, 409);
    let cashier = app.login("toko-h", "ani@toko-h.id", "cashier pass 1").await;
    let (st, _, _) = app.post(&cashier, "/api/v1/users", json!({"name": "X", "email": "x@toko-h.id", "role": "manager", "password": "0123456789"})).await;
    assert_eq!(st, 403);
    let (st, e, _) = app
        .post(
            &t.owner_token,
            "/api/v1/users",
            json!({"name": "X", "email": "x@toko-h.id", "role": "manager", "password": "short"}),
        )
        .await;
    assert_eq!((st, e["field"].as_str()), (422, Some("password")));
    let (st, list, _) = app.get(&t.owner_token, "/api/v1/users").await;
    assert_eq!(st, 200);
    let emails: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["owner@toko-h.id", "ani@toko-h.id"]);
}

#[tokio::test]
async fn event_feed_and_analytics() {
    let app = spawn().await;
    let t = app.tenant("toko-i").await;
    let (_, a, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti", "08121112222"),
        )
        .await;
    let mut full = order_body("Budi", "08123334444");
    full["payment_terms"] = json!({"type": "full"});
    full["initial_payment"] = json!({"method": "cash", "amount": "1000000"});
    let (st, b, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders", full)
        .await;
    assert_eq!(st, 201, "{b}");
    refund_all(&app, &t.owner_token, b["id"].as_str().unwrap()).await;
    app.delete(
        &t.owner_token,
        &format!("/api/v1/offline-orders/{}", b["id"].as_str().unwrap()),
        json!({"reason": "batal"}),
    )
    .await;

    let (st, feed, _) = app.get(&t.owner_token, "/api/v1/events").await;
    assert_eq!(st, 200);
    let types: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "order.created",
            "payment.received",
            "order.created",
            "payment.received",
            "payment.reversed",
            "order.deleted"
        ]
    );
    let after = feed["items"][2]["seq"].as_i64().unwrap();
    let (_, rest, _) = app
        .get(&t.owner_token, &format!("/api/v1/events?after={after}"))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    let cashier = app.staff(&t, "cashier").await;
    assert_eq!(app.get(&cashier, "/api/v1/events").await.0, 403);

    // the shop's day (its time zone's), whatever the date and hour the test runs at
    let (_, shop, _) = app.get(&t.owner_token, "/api/v1/tenant").await;
    let today = shop["business_date"].as_str().unwrap().to_owned();
    let (st, sum, _) = app
        .get(
            &t.owner_token,
            &format!("/api/v1/analytics/offline-orders/summary?from={today}&to={today}"),
        )
        .await;
    assert_eq!(st, 200, "{sum}");
    assert_eq!(sum["orders"], 1);
    assert_eq!(sum["collected"], "100000");
    assert_eq!(sum["outstanding"], "900000");
    assert_eq!(sum["payment_completion_rate"], "0.0");
    assert_eq!(sum["overdue_installments"], 0);
    assert_eq!(
        app.get(
            &cashier,
            &format!("/api/v1/analytics/offline-orders/summary?from={today}&to={today}")
        )
        .await
        .0,
        403
    );
    let _ = a;
}

/// Order numbers come from blocks reserved on the per-day counter: concurrent creates in one
/// process get distinct, consecutive numbers; a second process serving the same database takes
/// its own block, so no number is ever given twice; and every create's audit event lands in a
/// chain that verifies.
#[tokio::test]
async fn concurrent_creates_get_distinct_numbers_and_verified_audit_chains() {
    let app = spawn().await;
    let t = app.tenant("toko-numbers").await;
    async fn create_all(
        app: &TestApp,
        token: &str,
        range: std::ops::Range<usize>,
    ) -> Vec<(u16, Value, reqwest::header::HeaderMap)> {
        let creates = range.map(|i| {
            let body = order_body(&format!("Pelanggan {i}"), "081234567890");
            app.post(token, "/api/v1/offline-orders", body)
        });
        futures_util::future::join_all(creates).await
    }
    let number = |(status, o, _): &(u16, Value, _)| -> u32 {
        assert_eq!(*status, 201, "{o}");
        let n = o["order_number"].as_str().unwrap();
        assert!(n.starts_with("API-"), "{n}");
        n.rsplit('-').next().unwrap().parse().unwrap()
    };
    let mut numbers: Vec<u32> = create_all(&app, &t.owner_token, 0..20)
        .await
        .iter()
        .map(number)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());

    let other = app.another_instance().await;
    let (here, there) = tokio::join!(
        create_all(&app, &t.owner_token, 20..40),
        create_all(&other, &t.owner_token, 40..60)
    );
    let mut all: Vec<u32> = here.iter().chain(there.iter()).map(number).collect();
    all.extend(&numbers);
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 60, "a number was given twice: {all:?}");

    let (st, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(st, 200);
    assert_eq!(v["ok"], true, "{v}");
    let events: u64 = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["events"].as_u64().unwrap())
        .sum();
    // a login, 60 creates with their down payments (2 events each)
    assert!(events > 120, "{v}");
}

/// A transaction that records an audit event and is rolled back leaves its chain as it was:
/// the next transaction continues the same chain from the same head (so does a rollback to a
/// savepoint, as a sync push does for a refused mutation), and the whole log verifies.
#[tokio::test]
async fn a_rolled_back_audit_event_leaves_its_chain_unbroken() {
    use order_service::audit::{self, NewEvent, Streams};
    let app = spawn().await;
    let t = app.tenant("toko-rollback").await;
    let streams = std::sync::Arc::new(Streams::default());
    let actor = (uuid::Uuid::now_v7(), pos_domain::Role::Owner);
    let ev = || {
        NewEvent::by(
            actor,
            pos_protocol::AuditAction::Access,
            "test",
            None,
            "test.op",
        )
    };

    let mut tx = order_service::db::tenant_tx(&app.app_pool, &streams, t.id)
        .await
        .unwrap();
    let first = audit::record(&mut tx, ev());
    let second = audit::record(&mut tx, ev());
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(second.prev_hash, first.hash);
    drop(tx);

    let mut tx = order_service::db::tenant_tx(&app.app_pool, &streams, t.id)
        .await
        .unwrap();
    let again = audit::record(&mut tx, ev());
    tx.commit().await.unwrap();
    assert_eq!(again.device_id, first.device_id);
    assert_eq!(
        again.seq, 1,
        "the rolled-back events are not part of the chain"
    );
    assert_eq!(again.prev_hash, pos_protocol::GENESIS_HASH);

    let mut tx = order_service::db::tenant_tx(&app.app_pool, &streams, t.id)
        .await
        .unwrap();
    let next = audit::record(&mut tx, ev());
    tx.commit().await.unwrap();
    assert_eq!((next.device_id, next.seq), (first.device_id, 2));
    assert_eq!(next.prev_hash, again.hash);

    // A rollback to a savepoint forgets the audit and outbox rows buffered after it, and the
    // chain goes on from where the savepoint found it.
    let mut tx = order_service::db::tenant_tx(&app.app_pool, &streams, t.id)
        .await
        .unwrap();
    let (kept, gone) = (
        uuid::Uuid::from_u128(0x7e57_0001),
        uuid::Uuid::from_u128(0x7e57_0002),
    );
    let changed = |order_id| {
        pos_protocol::DomainEvent::OrderCompleted(pos_protocol::events::OrderChanged {
            order_id,
            device_id: None,
        })
    };
    tx.outbox(changed(kept));
    tx.savepoint().await.unwrap();
    let undone = audit::record(&mut tx, ev());
    tx.outbox(changed(gone));
    tx.rollback_to_savepoint().await.unwrap();
    tx.release_savepoint().await.unwrap();
    let after = audit::record(&mut tx, ev());
    tx.commit().await.unwrap();
    assert_eq!((undone.seq, after.seq), (3, 3));
    assert_eq!(after.prev_hash, next.hash);
    let mut tx = order_service::db::tenant_tx(&app.app_pool, &streams, t.id)
        .await
        .unwrap();
    let written: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT aggregate_id FROM outbox_events WHERE tenant_id = $1 AND aggregate_id = ANY($2)",
    )
    .bind(t.id)
    .bind([kept, gone])
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    drop(tx);
    assert_eq!(written, [kept]);

    let (_, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(v["ok"], true, "{v}");
    let chain = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == first.device_id.to_string())
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(chain["events"], 3, "{v}");
}

/// The office's counters screen reads `GET /devices`: each paired counter with its code, when
/// it last pushed and pulled (by the service's clock) and what its last push carried; only an
/// owner or a manager sees it.
#[tokio::test]
async fn the_counters_list_shows_each_counters_last_sync() {
    let clock = TestClock::at("2027-04-01T02:00:00Z");
    let app = spawn_with_state({
        let c = clock.clone();
        move |s| s.with_clock(c)
    })
    .await;
    let t = app.tenant("toko-kasir").await;
    let (d, owner) = common::desk::desk_on("K07", clock.clone()).await;
    let c = common::sync::fast_client();
    common::sync::pair(&app, &t, &c, &d, &owner, &app.base).await;
    let (_, before, _) = app.get(&t.owner_token, "/api/v1/devices").await;
    assert_eq!(before[0]["device_code"], "K07", "{before}");
    assert_eq!(before[0]["last_push_mutations"], 0);

    clock.set("2027-04-01T03:30:00Z");
    d.store
        .create_order(
            &owner,
            common::desk::new_order_on("Wati", "2027-04-01".parse().unwrap()),
        )
        .await
        .unwrap();
    c.sync(&d.store, d.keys.as_ref(), &|_| {}).await.unwrap();
    let token = app
        .login("toko-kasir", "owner@toko-kasir.id", "correct horse battery")
        .await;
    let (st, after, _) = app.get(&token, "/api/v1/devices").await;
    assert_eq!(st, 200, "{after}");
    let counters = after.as_array().unwrap();
    assert_eq!(counters.len(), 1);
    assert_eq!(counters[0]["last_push_at"], "2027-04-01T03:30:00Z");
    assert_eq!(counters[0]["last_pull_at"], "2027-04-01T03:30:00Z");
    // the order and its first payment
    assert_eq!(counters[0]["last_push_mutations"], 2);
    assert_eq!(counters[0]["last_push_refused"], 0);
    assert!(counters[0]["revoked_at"].is_null());

    let cashier = app.staff(&t, "cashier").await;
    let (st, _, _) = app.get(&cashier, "/api/v1/devices").await;
    assert_eq!(st, 403);
}

/// The office is served at `/` from the directory the configuration names, and every response
/// — the office's and the API's — carries the strict security headers; nothing outside that
/// directory is served, and an unknown API path is still a problem+json 404.
#[tokio::test]
async fn the_office_is_served_with_strict_headers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>Office</title><script type=\"module\" src=\"/assets/office.js\"></script>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/office.js"), "console.log(1)").unwrap();
    let office = dir.path().to_owned();
    let app = spawn_with_state(move |mut s| {
        s.office_dir = Some(office);
        s
    })
    .await;
    let get = |path: &'static str| {
        let (http, url) = (app.http.clone(), app.url(path));
        async move { http.get(url).send().await.unwrap() }
    };
    for (path, status, kind) in [
        ("/", 200, "text/html"),
        ("/assets/office.js", 200, "javascript"),
        ("/api/v1/openapi.json", 200, "application/json"),
        // percent-encoded, so the client sends it as it is
        (
            "/assets/%2e%2e/%2e%2e/etc/passwd",
            404,
            "application/problem+json",
        ),
        ("/%2e%2e/Cargo.toml", 404, "application/problem+json"),
        ("/nothing-here", 404, "application/problem+json"),
        ("/api/v1/nothing-here", 404, "application/problem+json"),
    ] {
        let r = get(path).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        let h = r.headers();
        let header = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            header("content-type").contains(kind),
            "{path}: {}",
            header("content-type")
        );
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        // the page is always revalidated; content-hashed assets are kept
        match path {
            "/" => assert_eq!(header("cache-control"), "no-cache"),
            "/assets/office.js" => assert!(header("cache-control").contains("immutable")),
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_owner_names_the_shop_and_sets_its_receipt_header() {
    let app = spawn().await;
    let t = app.tenant("toko-nama").await;
    let (st, v, _) = app
        .patch(
            &t.owner_token,
            "/api/v1/tenant",
            json!({"name": "  Toko Maju Jaya ", "receipt_header": "Jl. Merdeka 1, Bandung\nNPWP 01.234.567.8-901.000\n"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["name"], "Toko Maju Jaya");
    assert_eq!(
        v["receipt_header"],
        "Jl. Merdeka 1, Bandung\nNPWP 01.234.567.8-901.000"
    );
    assert_eq!(v["currency"], "IDR", "the currency stays");
    // each refusal names its rule and its limit (the office's Indonesian text names it too)
    for (body, field, code, max) in [
        (json!({"name": " "}), "name", None, None),
        (
            json!({"receipt_header": "1\n2\n3\n4\n5\n6\n7"}),
            "receipt_header",
            Some("too_many_lines"),
            Some("6"),
        ),
        (
            json!({"receipt_header": "x".repeat(501)}),
            "receipt_header",
            Some("too_long"),
            Some("500"),
        ),
    ] {
        let (st, e, _) = app.patch(&t.owner_token, "/api/v1/tenant", body).await;
        assert_eq!((st, e["field"].as_str()), (422, Some(field)), "{e}");
        if let Some(code) = code {
            assert_eq!(
                (e["code"].as_str(), e["params"]["max"].as_str()),
                (Some(code), max),
                "{e}"
            );
        }
    }
    let (st, _, _) = app
        .patch(&t.owner_token, "/api/v1/tenant", json!({"currency": "USD"}))
        .await;
    assert!(st == 400 || st == 422, "{st}");
    let manager = app.staff(&t, "manager").await;
    let (st, _, _) = app
        .patch(&manager, "/api/v1/tenant", json!({"name": "Toko Lain"}))
        .await;
    assert_eq!(st, 403);
    let (_, v, _) = app.get(&manager, "/api/v1/tenant").await;
    assert_eq!(v["name"], "Toko Maju Jaya");
    let (_, events, _) = app
        .get(&t.owner_token, "/api/v1/audit-events?entity_type=tenant")
        .await;
    let settings: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operation"] == "tenant.settings")
        .collect();
    assert_eq!(settings.len(), 1, "one change, audited once: {events}");
    assert_eq!(
        settings[0]["fields"].as_array().map(Vec::len),
        Some(2),
        "{events}"
    );
}
