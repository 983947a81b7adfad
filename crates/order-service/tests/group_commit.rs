//! Group commit of creates: creates that arrive while the writers are busy share transactions,
//! each is answered only once committed with everything it writes, and one create that the
//! database refuses fails alone.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The service's `/metrics` value of `name` (a counter or gauge without labels).
async fn metric(app: &TestApp, name: &str) -> u64 {
    let text = app.metrics().await;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap()
}

/// Holds a lock that makes every insert into `orders` wait, until dropped by `release`.
async fn block_order_inserts(app: &TestApp) -> PgConnection {
    let mut opts = (*app.owner_pool.connect_options()).clone();
    opts = opts.application_name("test-blocker");
    let mut c = PgConnection::connect_with(&opts).await.unwrap();
    c.execute("BEGIN").await.unwrap();
    c.execute("LOCK TABLE orders IN SHARE MODE").await.unwrap();
    c
}

/// Waits until `n` creates are queued or being written (all sent, none answered).
async fn until_waiting(app: &TestApp, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let w = metric(app, "order_creates_waiting").await;
        if w == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{w} creates waiting, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `bodies` as concurrent creates; returns (status, body) in order.
async fn create_all(app: &TestApp, token: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let sends = bodies.into_iter().map(|b| {
        let (app, token) = (&app, token.to_owned());
        async move {
            let (st, v, _) = app.post(&token, "/api/v1/offline-orders", b).await;
            (st, v)
        }
    });
    futures_util::future::join_all(sends).await
}

/// Counts rows of `sql` (a `SELECT count(*) ...`) as the tenant.
async fn count(app: &TestApp, t: &Tenant, sql: &str) -> i64 {
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut *tx).await.unwrap()
}

#[tokio::test]
async fn creates_waiting_together_share_a_transaction_and_each_is_whole() {
    let app = spawn().await;
    let t = app.tenant("toko-batch").await;
    // The writers (2) each take a create and wait on the lock; the rest queue behind them.
    let blocker = block_order_inserts(&app).await;
    let bodies = (0..30)
        .map(|i| order_body(&format!("Pelanggan {i}"), &format!("08123400{i:04}")))
        .collect();
    let (answers, ()) = tokio::join!(create_all(&app, &t.owner_token, bodies), async {
        until_waiting(&app, 30).await;
        blocker.close().await.unwrap();
    });

    let mut numbers = HashSet::new();
    for (st, o) in &answers {
        assert_eq!(*st, 201, "{o}");
        assert_eq!(o["paid"], "100000", "{o}");
        assert_eq!(o["payments"].as_array().unwrap().len(), 1, "{o}");
        assert!(numbers.insert(o["order_number"].as_str().unwrap().to_owned()));
    }
    assert_eq!(metric(&app, "order_creates_waiting").await, 0);
    // 30 creates in at most 5 transactions: one per blocked writer (2), then the 28 queued
    // behind them in one (a batch takes up to 64).
    let batches = metric(&app, "order_create_batches_total").await;
    assert!(batches <= 5, "{batches} batches for 30 creates");
    let transactions = count(&app, &t, "SELECT count(DISTINCT xmin::text) FROM orders").await;
    assert!(
        transactions <= 5,
        "orders written in {transactions} transactions"
    );
    assert_eq!(metric(&app, "orders_created_total").await, 30);

    // Everything each create writes is there once.
    assert_eq!(count(&app, &t, "SELECT count(*) FROM orders").await, 30);
    assert_eq!(count(&app, &t, "SELECT count(*) FROM payments").await, 30);
    assert_eq!(
        count(
            &app,
            &t,
            "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id AND o.tenant_id = p.tenant_id"
        )
        .await,
        30
    );
    for (op, n) in [("order.create", 30), ("payment.record", 30)] {
        let sql = format!("SELECT count(*) FROM audit_events WHERE operation = '{op}'");
        assert_eq!(count(&app, &t, &sql).await, n, "{op}");
    }
    for (ty, n) in [("order.created", 30), ("payment.received", 30)] {
        let sql = format!("SELECT count(*) FROM outbox_events WHERE event_type = '{ty}'");
        assert_eq!(count(&app, &t, &sql).await, n, "{ty}");
    }
    // Each answer (built from the values written, not read back) is its order as read back.
    for (_, o) in &answers {
        let id = o["id"].as_str().unwrap();
        let (st, read, _) = app
            .get(&t.owner_token, &format!("/api/v1/offline-orders/{id}"))
            .await;
        assert_eq!(st, 200);
        assert_eq!(&without_provenance(&read), o);
    }
    let (st, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(st, 200);
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test]
async fn a_create_refused_by_the_database_fails_alone() {
    let app = spawn().await;
    let t = app.tenant("toko-refuse").await;
    // The database refuses walk-in orders (validation lets them through).
    app.owner_pool
        .execute(
            "CREATE FUNCTION refuse_walk_in() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.channel = 'walk_in' THEN RAISE EXCEPTION 'refused by the test'; END IF;
             RETURN NEW; END $$;
             CREATE TRIGGER refuse_walk_in BEFORE INSERT ON orders
             FOR EACH ROW EXECUTE FUNCTION refuse_walk_in()",
        )
        .await
        .unwrap();
    let blocker = block_order_inserts(&app).await;
    let bodies: Vec<Value> = (0..30)
        .map(|i| {
            let mut b = order_body(&format!("Pelanggan {i}"), &format!("08123400{i:04}"));
            if i % 10 == 7 {
                b["channel"] = json!("walk_in");
            }
            b
        })
        .collect();
    let (answers, ()) = tokio::join!(create_all(&app, &t.owner_token, bodies), async {
        until_waiting(&app, 30).await;
        blocker.close().await.unwrap();
    });

    for (i, (st, o)) in answers.iter().enumerate() {
        if i % 10 == 7 {
            assert_eq!(*st, 500, "{o}");
        } else {
            assert_eq!(*st, 201, "{o}");
        }
    }
    assert_eq!(metric(&app, "order_creates_waiting").await, 0);
    assert_eq!(metric(&app, "orders_created_total").await, 27);
    // Nothing of the refused three is left; the 27 others are whole.
    assert_eq!(count(&app, &t, "SELECT count(*) FROM orders").await, 27);
    assert_eq!(count(&app, &t, "SELECT count(*) FROM payments").await, 27);
    for (sql, n) in [
        ("SELECT count(*) FROM audit_events WHERE operation = 'order.create'", 27),
        ("SELECT count(*) FROM audit_events WHERE operation = 'payment.record'", 27),
        ("SELECT count(*) FROM outbox_events WHERE event_type IN ('order.created', 'payment.received')", 54),
    ] {
        assert_eq!(count(&app, &t, sql).await, n, "{sql}");
    }
    let (_, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test]
async fn creates_of_two_tenants_queued_together_are_written_in_a_transaction_each() {
    let app = spawn().await;
    let a = app.tenant("toko-satu").await;
    let b = app.tenant("toko-dua").await;
    let blocker = block_order_inserts(&app).await;
    let body = |i: usize| order_body(&format!("Pelanggan {i}"), &format!("08123400{i:04}"));
    let (from_a, from_b, ()) = tokio::join!(
        create_all(&app, &a.owner_token, (0..15).map(body).collect()),
        create_all(&app, &b.owner_token, (15..30).map(body).collect()),
        async {
            until_waiting(&app, 30).await;
            blocker.close().await.unwrap();
        }
    );
    for (st, o) in from_a.iter().chain(&from_b) {
        assert_eq!(*st, 201, "{o}");
    }
    // A transaction is one tenant's (row-level security is set per transaction): the four
    // blocked writers' batches and then one per tenant for the rest. Mixing tenants in one
    // would fail and write each order alone (30 transactions).
    let mut transactions = 0;
    for (t, answers) in [(&a, &from_a), (&b, &from_b)] {
        transactions += count(&app, t, "SELECT count(DISTINCT xmin::text) FROM orders").await;
        assert_eq!(count(&app, t, "SELECT count(*) FROM orders").await, 15);
        let (st, list, _) = app
            .get(&t.owner_token, "/api/v1/offline-orders?limit=100")
            .await;
        assert_eq!(st, 200);
        let listed: HashSet<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect();
        let created: HashSet<&str> = answers
            .iter()
            .map(|(_, o)| o["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, created);
    }
    assert!(
        transactions <= 10,
        "orders written in {transactions} transactions"
    );
    assert!(metric(&app, "order_create_batches_total").await <= 10);
}

/// A create whose commit happened but whose answer from PostgreSQL was lost (the connection
/// cut just then) is still answered 201 with its order, and is there once: its retry finds
/// the order already committed instead of writing it again — alone, and in a batch of many.
#[tokio::test]
async fn a_create_whose_commit_answer_was_lost_is_answered_once_and_written_once() {
    use common::pgcut::CommitCutter;
    let cutter = CommitCutter::start(pg_addr()).await;
    let app = spawn_with_runtime_options(|o| {
        o.host("127.0.0.1")
            .port(cutter.addr.port())
            .ssl_mode(sqlx::postgres::PgSslMode::Disable)
    })
    .await;
    let t = app.tenant("toko-lost-commit").await;
    // A first create reserves a block of order numbers: after it, creates commit nothing but
    // their batches.
    let (st, first, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Pertama", "0812340001"),
        )
        .await;
    assert_eq!(st, 201, "{first}");

    // Alone: its batch of one loses its commit's answer.
    cutter.arm();
    let (st, alone, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Sendiri", "0812340002"),
        )
        .await;
    cutter.disarm();
    assert_eq!(st, 201, "{alone}");
    assert_eq!(cutter.cuts(), 1);

    // Many: 10 creates queued behind a lock, so most share a batch, every commit's answer lost.
    let blocker = block_order_inserts(&app).await;
    cutter.arm();
    let bodies = (0..10)
        .map(|i| order_body(&format!("Banyak {i}"), &format!("08123411{i:04}")))
        .collect();
    let (answers, ()) = tokio::join!(create_all(&app, &t.owner_token, bodies), async {
        until_waiting(&app, 10).await;
        blocker.close().await.unwrap();
    });
    cutter.disarm();
    let batch_cuts = cutter.cuts() - 1;
    assert!(batch_cuts >= 1, "no batch commit was cut");

    let mut ids = vec![first["id"].clone(), alone["id"].clone()];
    for (st, o) in &answers {
        assert_eq!(*st, 201, "{o}");
        assert_eq!(o["payments"].as_array().unwrap().len(), 1, "{o}");
        ids.push(o["id"].clone());
    }
    // Every create is there once, with what it writes once.
    assert_eq!(count(&app, &t, "SELECT count(*) FROM orders").await, 12);
    assert_eq!(
        count(&app, &t, "SELECT count(DISTINCT order_number) FROM orders").await,
        12
    );
    // Each cut commit was one transaction: the 10 went in as many as were cut.
    let sql = format!(
        "SELECT count(DISTINCT xmin::text) FROM orders WHERE id NOT IN ('{}', '{}')",
        first["id"].as_str().unwrap(),
        alone["id"].as_str().unwrap()
    );
    let batches = count(&app, &t, &sql).await;
    assert_eq!(
        batches as usize, batch_cuts,
        "{batches} transactions, {batch_cuts} cut commits"
    );
    assert!(batches < 10, "the 10 creates were not batched");
    assert_eq!(count(&app, &t, "SELECT count(*) FROM payments").await, 12);
    for (op, n) in [("order.create", 12), ("payment.record", 12)] {
        let sql = format!("SELECT count(*) FROM audit_events WHERE operation = '{op}'");
        assert_eq!(count(&app, &t, &sql).await, n, "{op}");
    }
    for (ty, n) in [("order.created", 12), ("payment.received", 12)] {
        let sql = format!("SELECT count(*) FROM outbox_events WHERE event_type = '{ty}'");
        assert_eq!(count(&app, &t, &sql).await, n, "{ty}");
    }
    for id in ids {
        let (st, o, _) = app
            .get(
                &t.owner_token,
                &format!("/api/v1/offline-orders/{}", id.as_str().unwrap()),
            )
            .await;
        assert_eq!(st, 200, "{o}");
    }
    let (st, v, _) = app.get(&t.owner_token, "/api/v1/audit-events/verify").await;
    assert_eq!(st, 200);
    assert_eq!(v["ok"], true, "{v}");
}

/// A burst of creates reserves order numbers in larger blocks: once the first block of 32 is
/// used up within a second, the next block is sized to that pace (at least what the slowest
/// possible reading of it gives), not another 32.
#[tokio::test]
async fn a_burst_of_creates_reserves_larger_blocks_of_order_numbers() {
    use order_service::orders::OrderNumbers;
    let app = spawn().await;
    let t = app.tenant("toko-burst").await;
    let started = Instant::now();
    let bodies = (0..OrderNumbers::MIN_BLOCK)
        .map(|i| order_body(&format!("Cepat {i}"), &format!("08123422{i:04}")))
        .collect();
    for (st, o) in create_all(&app, &t.owner_token, bodies).await {
        assert_eq!(st, 201, "{o}");
    }
    // The first block is used up: this create reserves the next one.
    let (st, o, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Lagi", "0812342299"),
        )
        .await;
    assert_eq!(st, 201, "{o}");
    // The first block lasted at most this long, so the next is at least this big.
    let at_least = OrderNumbers::next_block_size(OrderNumbers::MIN_BLOCK, started.elapsed());
    // (Only if the 33 creates took over a second is that no more than a fixed block.)
    let last = count(&app, &t, "SELECT last FROM order_number_counters").await;
    assert!(
        last >= OrderNumbers::MIN_BLOCK + at_least,
        "second block {} after a first block used within {:?} (at least {at_least})",
        last - OrderNumbers::MIN_BLOCK,
        started.elapsed()
    );
}
