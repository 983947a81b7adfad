//! The seams between writers, readers and time: a feed that never skips a late commit.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use serde_json::json;
use sqlx::Connection;
use std::collections::HashSet;

/// Every event after `after`, following `next_after` to the end, as (seq, id) pairs.
async fn drain(app: &TestApp, token: &str, after: &mut i64) -> Vec<(i64, String)> {
    let mut got = Vec::new();
    loop {
        let (st, feed, _) = app
            .get(token, &format!("/api/v1/events?after={after}&limit=1000"))
            .await;
        assert_eq!(st, 200, "{feed}");
        let items = feed["items"].as_array().unwrap();
        for e in items {
            got.push((
                e["seq"].as_i64().unwrap(),
                e["id"].as_str().unwrap().to_owned(),
            ));
        }
        *after = feed["next_after"].as_i64().unwrap();
        if items.is_empty() {
            return got;
        }
    }
}

/// A transaction of `t` as the tables' owner (row-level security still applies).
async fn as_tenant(app: &TestApp, t: &Tenant) -> order_service::db::Tx {
    order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap()
}

/// Whether some backend of this test's database is waiting for a lock (`pg_locks` is visible
/// to every role).
async fn someone_waits_for_a_lock(app: &TestApp) -> bool {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_locks WHERE NOT granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&app.owner_pool)
    .await
    .unwrap()
        > 0
}

#[tokio::test]
async fn the_event_feed_never_skips_an_event_committed_late() {
    let app = spawn().await;
    let t = app.tenant("toko-feed").await;
    let mut after = 0;
    let before = drain(&app, &t.owner_token, &mut after).await;

    // A writer that drew its outbox number and has not committed yet (as a slow request would).
    let mut slow = sqlx::PgConnection::connect(&app.runtime_url())
        .await
        .unwrap();
    let mut slow_tx = slow.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(t.id.to_string())
        .execute(&mut *slow_tx)
        .await
        .unwrap();
    let late_id = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO outbox_events (tenant_id, id, event_type, aggregate_id, payload) VALUES ($1, $2, 'order.updated', $2, '{}')")
        .bind(t.id)
        .bind(late_id)
        .execute(&mut *slow_tx)
        .await
        .unwrap();

    // Another create commits meanwhile (or, with commit-ordered numbers, waits for the slow
    // writer); a consumer reads the feed in between.
    let create = {
        let (http, url, token) = (
            app.http.clone(),
            app.url("/api/v1/offline-orders"),
            t.owner_token.clone(),
        );
        tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&order_body("Siti", "08121112222"))
                .send()
                .await
                .unwrap();
            split(r).await
        })
    };
    while !create.is_finished() && !someone_waits_for_a_lock(&app).await {
        tokio::task::yield_now().await;
    }
    let mut got = drain(&app, &t.owner_token, &mut after).await;
    slow_tx.commit().await.unwrap();
    let (st, o, _) = create.await.unwrap();
    assert_eq!(st, 201, "{o}");
    got.extend(drain(&app, &t.owner_token, &mut after).await);

    let ids: Vec<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
    assert!(
        ids.contains(&late_id.to_string().as_str()),
        "the event committed late was delivered: {got:?} after {before:?}"
    );
    assert_eq!(
        ids.len(),
        ids.iter().collect::<HashSet<_>>().len(),
        "each event once"
    );
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "in feed order");
}

#[tokio::test]
async fn a_consumer_following_the_feed_under_concurrent_writers_gets_every_event_once() {
    let app = spawn().await;
    let t = app.tenant("toko-feed-load").await;
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (http, base, token) = (app.http.clone(), app.base.clone(), t.owner_token.clone());
            tokio::spawn(async move {
                for i in 0..25 {
                    let r = http
                        .post(format!("{base}/api/v1/offline-orders"))
                        .bearer_auth(&token)
                        .json(&json!({
                            "channel": "walk_in",
                            "customer": {"name": format!("Pelanggan {w}-{i}")},
                            "items": [{"name": "Rak", "quantity": "1", "unit_price": "100000"}],
                            "payment_terms": {"type": "full"},
                            "initial_payment": {"method": "cash", "amount": "100000"}
                        }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 201);
                }
            })
        })
        .collect();
    let mut after = 0;
    let mut got: Vec<(i64, String)> = Vec::new();
    while writers.iter().any(|w| !w.is_finished()) {
        got.extend(drain(&app, &t.owner_token, &mut after).await);
    }
    for w in writers {
        w.await.unwrap();
    }
    got.extend(drain(&app, &t.owner_token, &mut after).await);

    let committed: Vec<String> =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM outbox_events WHERE tenant_id = $1")
            .bind(t.id)
            .fetch_all(&mut *as_tenant(&app, &t).await)
            .await
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
    let delivered: HashSet<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(delivered.len(), got.len(), "no event delivered twice");
    let missed: Vec<&String> = committed
        .iter()
        .filter(|id| !delivered.contains(id.as_str()))
        .collect();
    assert!(missed.is_empty(), "{} events never delivered", missed.len());
    assert_eq!(
        committed.len(),
        200 * 2,
        "an order and a payment event per create"
    );
}

async fn post_with_key(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    split(r).await
}

#[tokio::test]
async fn an_idempotency_key_answers_only_the_request_it_was_sent_with() {
    let app = spawn().await;
    let t = app.tenant("toko-idem").await;
    let (_, a, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti Aminah", "08121112222"),
        )
        .await;
    let (_, b, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Budi", "08123334444"),
        )
        .await;
    let pay_a = format!(
        "/api/v1/offline-orders/{}/payments",
        a["id"].as_str().unwrap()
    );
    let pay_b = format!(
        "/api/v1/offline-orders/{}/payments",
        b["id"].as_str().unwrap()
    );
    let body = json!({"method": "cash", "amount": "50000"});

    let (st, first, _) = post_with_key(&app, &t.owner_token, &pay_a, "k-1", &body).await;
    assert_eq!(st, 201, "{first}");
    let (st, again, _) = post_with_key(&app, &t.owner_token, &pay_a, "k-1", &body).await;
    assert_eq!(
        (st, &again),
        (201, &first),
        "the same request replays the first answer"
    );

    // The same key for another order's payment, another amount, or another route: refused.
    let (st, e, _) = post_with_key(&app, &t.owner_token, &pay_b, "k-1", &body).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (422, Some("idempotency_key_reused")),
        "{e}"
    );
    let other = json!({"method": "cash", "amount": "60000"});
    let (st, e, _) = post_with_key(&app, &t.owner_token, &pay_a, "k-1", &other).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (422, Some("idempotency_key_reused")),
        "{e}"
    );
    let (st, e, _) = post_with_key(
        &app,
        &t.owner_token,
        "/api/v1/offline-orders",
        "k-1",
        &order_body("Dewi", "08125556666"),
    )
    .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (422, Some("idempotency_key_reused")),
        "{e}"
    );
    let (_, b_now, _) = app
        .get(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}", b["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(b_now["paid"], b["paid"], "nothing was recorded for order B");

    // A create's key reused on a payment is refused too.
    let (st, _, _) = post_with_key(
        &app,
        &t.owner_token,
        "/api/v1/offline-orders",
        "k-2",
        &order_body("Dewi", "08125556666"),
    )
    .await;
    assert_eq!(st, 201);
    let (st, e, _) = post_with_key(&app, &t.owner_token, &pay_a, "k-2", &body).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (422, Some("idempotency_key_reused")),
        "{e}"
    );

    // A new key on a create or payment whose id is already recorded answers with it, and the
    // key then replays that answer (it is not left claimed).
    let mut by_id = order_body("Rina", "08127778888");
    by_id["id"] = a["id"].clone();
    for _ in 0..2 {
        let (st, again, _) = post_with_key(
            &app,
            &t.owner_token,
            "/api/v1/offline-orders",
            "k-3",
            &by_id,
        )
        .await;
        assert_eq!(
            (st, again["id"].as_str()),
            (201, a["id"].as_str()),
            "{again}"
        );
    }
    let same_payment = json!({"id": first["payment"]["id"], "method": "cash", "amount": "50000"});
    for _ in 0..2 {
        let (st, again, _) =
            post_with_key(&app, &t.owner_token, &pay_a, "k-4", &same_payment).await;
        assert_eq!(
            (st, &again["payment"]["id"]),
            (201, &first["payment"]["id"]),
            "{again}"
        );
    }

    // The stored answers hold no plaintext PII.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT body FROM idempotency_keys")
        .fetch_all(&mut *as_tenant(&app, &t).await)
        .await
        .unwrap();
    assert_eq!(stored.len(), 4);
    for b in stored {
        let text = String::from_utf8_lossy(&b);
        for pii in ["Siti", "Dewi", "0812", "628"] {
            assert!(!text.contains(pii), "plaintext {pii} in a stored answer");
        }
    }
}

#[tokio::test]
async fn concurrent_first_uses_of_a_key_get_one_result() {
    let app = spawn().await;
    let t = app.tenant("toko-idem-race").await;
    let (_, o, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti", "08121112222"),
        )
        .await;
    let pay = format!(
        "/api/v1/offline-orders/{}/payments",
        o["id"].as_str().unwrap()
    );
    for round in 0..5 {
        let key = format!("race-{round}");
        let create_key = format!("race-create-{round}");
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (http, base, token, pay, key, create_key) = (
                    app.http.clone(),
                    app.base.clone(),
                    t.owner_token.clone(),
                    pay.clone(),
                    key.clone(),
                    create_key.clone(),
                );
                tokio::spawn(async move {
                    let p = http
                        .post(format!("{base}{pay}"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", &key)
                        .json(&json!({"method": "cash", "amount": "1000"}))
                        .send()
                        .await
                        .unwrap();
                    let c = http
                        .post(format!("{base}/api/v1/offline-orders"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", &create_key)
                        .json(&order_body("Budi", "08123334444"))
                        .send()
                        .await
                        .unwrap();
                    (split(p).await, split(c).await)
                })
            })
            .collect();
        let mut payments = HashSet::new();
        let mut orders = HashSet::new();
        for task in tasks {
            let ((ps, pb, _), (cs, cb, _)) = task.await.unwrap();
            assert_eq!(ps, 201, "{pb}");
            assert_eq!(cs, 201, "{cb}");
            payments.insert(pb["payment"]["id"].as_str().unwrap().to_owned());
            orders.insert(cb["id"].as_str().unwrap().to_owned());
        }
        assert_eq!((payments.len(), orders.len()), (1, 1), "one result per key");
    }
    let (_, now, _) = app
        .get(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}", o["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        now["paid"], "105000",
        "five payments of 1000 on the 100000 down payment"
    );
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut *as_tenant(&app, &t).await)
        .await
        .unwrap();
    assert_eq!(orders, 6, "the first order and one per create key");
}

async fn patch(
    app: &TestApp,
    token: &str,
    path: &str,
    version: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let r = app
        .http
        .patch(app.url(path))
        .bearer_auth(token)
        .header("If-Match", version)
        .json(&body)
        .send()
        .await
        .unwrap();
    split(r).await
}

#[tokio::test]
async fn patch_merges_absent_members_stay_and_null_clears() {
    let app = spawn().await;
    let t = app.tenant("toko-merge").await;
    // A phone order: renaming the customer keeps the phone (no 422).
    let (_, phone, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti", "08121112222"),
        )
        .await;
    let path = format!("/api/v1/offline-orders/{}", phone["id"].as_str().unwrap());
    let (st, o, _) = patch(
        &app,
        &t.owner_token,
        &path,
        "\"1\"",
        json!({"customer": {"name": "Siti C."}}),
    )
    .await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(o["customer"]["name"], "Siti C.");
    assert_eq!(o["customer"]["phone"], phone["customer"]["phone"]);
    // The order is still found by its phone.
    let (_, found, _) = app
        .get(&t.owner_token, "/api/v1/offline-orders?q=08121112222")
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    // Clearing a phone order's phone is refused on the merged result.
    let (st, e, _) = patch(
        &app,
        &t.owner_token,
        &path,
        "\"2\"",
        json!({"customer": {"phone": null}}),
    )
    .await;
    assert_eq!(
        (st, e["field"].as_str()),
        (422, Some("customer.phone")),
        "{e}"
    );

    // A walk-in order with every detail: a rename erases nothing; null clears one member.
    let mut body = json!({
        "channel": "walk_in",
        "customer": {"name": "Budi", "phone": "08123334444", "email": "budi@example.id", "address": "Jl. Merdeka 1"},
        "notes": "antar sore",
        "items": [{"name": "Rak", "quantity": "1", "unit_price": "100000"}],
        "payment_terms": {"type": "full"},
        "initial_payment": {"method": "cash", "amount": "100000"}
    });
    let (_, w, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders", body.take())
        .await;
    let path = format!("/api/v1/offline-orders/{}", w["id"].as_str().unwrap());
    let (st, o, _) = patch(
        &app,
        &t.owner_token,
        &path,
        "\"1\"",
        json!({"customer": {"name": "Budi S."}}),
    )
    .await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(o["customer"]["email"], "budi@example.id");
    assert_eq!(o["customer"]["address"], "Jl. Merdeka 1");
    assert_eq!(o["customer"]["phone"], w["customer"]["phone"]);
    assert_eq!(o["notes"], "antar sore");
    let (st, o, _) = patch(
        &app,
        &t.owner_token,
        &path,
        "\"2\"",
        json!({"customer": {"email": null}, "notes": null}),
    )
    .await;
    assert_eq!(st, 200, "{o}");
    assert!(o["customer"]["email"].is_null(), "{o}");
    assert!(o["notes"].is_null(), "{o}");
    assert_eq!(o["customer"]["address"], "Jl. Merdeka 1");
}
