//! The office's orders screen at scale: 100,000 orders across 5 counters in one tenant
//! (`BENCH_OFFICE_ORDERS` for another size), made through the real API, then spread over 60
//! business days and 5 counters. Measures, at the API over loopback, the first page (with the
//! totals of every order) and filtered searches (p50/p95 of 200 sequential requests after 20
//! warm-up ones); then, when `BENCH_OFFICE_DIR` names the built office and Chromium is
//! installed, runs `tests/office/timing.mjs`: how long the orders screen takes to be
//! interactive in headless Chromium. Run with `scripts/bench-service.sh`.
#![allow(clippy::unwrap_used)]
mod support;

use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn order(i: usize) -> Value {
    json!({
        "channel": if i.is_multiple_of(3) { "walk_in" } else { "phone" },
        "customer": {"name": format!("Pelanggan {i}"), "phone": format!("0812{:08}", i)},
        "items": [
            {"name": "Kulkas", "quantity": "1", "unit_price": "700000"},
            {"name": "Rak", "quantity": "2", "unit_price": "100000"}
        ],
        "payment_terms": {"type": "installment", "down_payment": "100000", "installment_count": 3, "interval": "monthly", "first_due_date": "2099-01-31"},
        "initial_payment": {"method": "cash", "amount": "100000"}
    })
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn measure(http: &reqwest::Client, base: &str, token: &str, what: &str, body: Value) {
    let url = format!("{base}/api/v1/offline-orders/search");
    let mut times = Vec::with_capacity(200);
    let mut shown = 0;
    for i in 0..220 {
        let t = Instant::now();
        let r = http
            .post(&url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{what}");
        let page: Value = r.json().await.unwrap();
        if i >= 20 {
            times.push(t.elapsed());
        }
        shown = page["items"].as_array().map_or(0, Vec::len);
    }
    times.sort();
    println!(
        "{what}: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms ({shown} orders on the page)",
        pct(&times, 0.50),
        pct(&times, 0.95),
        pct(&times, 0.99)
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_OFFICE_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let office = std::env::var("BENCH_OFFICE_DIR").ok();
    let service = support::service_with(|mut s| {
        s.office_dir = office.clone().map(Into::into);
        s
    })
    .await;
    let token = service.owner_token().await;
    let http = reqwest::Client::new();

    // the orders, through the API (32 at a time)
    let t = Instant::now();
    let url = format!("{}/api/v1/offline-orders", service.base);
    futures_util::stream::iter(0..n)
        .map(|i| {
            let (http, url, token) = (&http, &url, &token);
            async move {
                let r = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&order(i))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    println!("made {n} orders in {:.0} s", t.elapsed().as_secs_f64());

    // five counters, the orders spread over them and over 60 business days
    // (row-level security holds for the owning role too: work inside the tenant)
    let mut tx =
        order_service::db::tenant_tx(&service.owner_pool, &Default::default(), service.tenant)
            .await
            .unwrap();
    let owner: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users LIMIT 1")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let mut counters = Vec::new();
    for k in 1..=5 {
        let id = uuid::Uuid::new_v4();
        sqlx::query("INSERT INTO devices (tenant_id, id, name, device_code, secret_hash, paired_by) VALUES ($1, $2, $3, $4, 'x', $5)")
            .bind(service.tenant)
            .bind(id)
            .bind(format!("Kasir {k}"))
            .bind(format!("K0{k}"))
            .bind(owner)
            .execute(&mut *tx)
            .await
            .unwrap();
        counters.push(id);
    }
    sqlx::query(
        "WITH n AS (SELECT id, row_number() OVER (ORDER BY id) AS i FROM orders)
         UPDATE orders o SET device_id = ($1::uuid[])[1 + n.i % 5],
                             business_date = o.business_date - (n.i % 60)::int
           FROM n WHERE n.id = o.id",
    )
    .bind(&counters)
    .execute(&mut *tx)
    .await
    .unwrap();
    let today: chrono::NaiveDate = sqlx::query_scalar("SELECT max(business_date) FROM orders")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("VACUUM ANALYZE orders")
        .execute(&service.owner_pool)
        .await
        .unwrap();

    let base = &service.base;
    measure(
        &http,
        base,
        &token,
        "first page (50) with the totals of all orders",
        json!({"limit": 50}),
    )
    .await;
    measure(
        &http,
        base,
        &token,
        "one counter, pending, last 30 days, with totals",
        json!({"device_id": counters[2], "status": "pending", "from": today - chrono::Days::new(29), "to": today, "limit": 50}),
    )
    .await;
    measure(
        &http,
        base,
        &token,
        "search by phone",
        json!({"q": "0812-0000-4242"}),
    )
    .await;
    measure(
        &http,
        base,
        &token,
        "search by name word",
        json!({"q": "Pelanggan 4242"}),
    )
    .await;
    measure(
        &http,
        base,
        &token,
        "next page (cursor, no totals)",
        json!({"limit": 50, "cursor": uuid::Uuid::max()}),
    )
    .await;
    measure(
        &http,
        base,
        &token,
        "overdue only (none overdue)",
        json!({"overdue": true}),
    )
    .await;

    if let Some(dir) = office {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/office/timing.mjs");
        let out = std::process::Command::new("node")
            .arg(script)
            .env("OFFICE_URL", &service.base)
            .env("OFFICE_TENANT", "bench")
            .env("OFFICE_OWNER_EMAIL", "owner@bench.id")
            .env("OFFICE_OWNER_PASSWORD", "bench password 1")
            .env("OFFICE_DIR", dir)
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "the timing script failed");
    }
}
