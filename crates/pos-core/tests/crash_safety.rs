//! `kill -9` at random moments while orders are being created: every order whose create
//! returned survives, the file is intact, and the audit chain verifies.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use rand::{Rng, SeedableRng};
use sqlx::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const ROUNDS: usize = 8;

#[tokio::test]
async fn kill_9_loses_no_acknowledged_order() {
    let seed: u64 = std::env::var("POS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("crash test seed {seed} (rerun with POS_CRASH_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let mut t = TestStore::new().await;
    let owner_id = t.owner.staff_id().to_string();
    t.store.take().unwrap().close().await;
    let backend = backend().name();

    let mut acked = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pos-crash-writer"))
            .args([
                t.path.to_str().unwrap(),
                &t.service,
                backend,
                &owner_id,
                OWNER_PIN,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let target = rng.gen_range(1..40);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut n = 0;
        while n < target {
            let line = lines.next().expect("writer exited early").unwrap();
            acked.push(
                line.strip_prefix("ACK ")
                    .unwrap()
                    .parse::<pos_domain::OrderId>()
                    .unwrap(),
            );
            n += 1;
        }
        // Kill somewhere inside the next create (which takes a few milliseconds).
        let spin = std::time::Instant::now();
        let pause = std::time::Duration::from_micros(rng.gen_range(0..8000));
        while spin.elapsed() < pause {
            std::hint::spin_loop();
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: writer should have been killed"
        );
        // An ACK line may have been written just before the kill: count it too.
        for line in lines.map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("ACK ") {
                acked.push(id.parse().unwrap());
            }
        }
    }
    assert!(acked.len() >= ROUNDS);

    // Integrity first, on a raw connection.
    let mut c = intact(&t.path, &format!("seed {seed}")).await;
    let fk: Vec<sqlx::sqlite::SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut c)
        .await
        .unwrap();
    assert!(fk.is_empty(), "seed {seed}");
    // No half-written order: each has its items, schedule, create event and outbox row.
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let complete: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders o WHERE json_array_length(o.items) = 3
           AND json_array_length(o.schedule) = 4
           AND EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id)
           AND EXISTS (SELECT 1 FROM audit_events a WHERE a.entity_id = o.id AND a.operation = 'order.create')
           AND EXISTS (SELECT 1 FROM outbox x WHERE x.order_id = o.id AND x.kind = 'order_created')
           AND EXISTS (SELECT 1 FROM outbox x WHERE x.order_id = o.id AND x.kind = 'payment_recorded')",
    ).fetch_one(&mut c).await.unwrap();
    assert_eq!(orders, complete, "seed {seed}");
    c.close().await.unwrap();

    t.reopen().await;
    let s = t.s();
    for id in &acked {
        let o = s
            .get_order(&t.owner, *id)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: acknowledged order {id} lost: {e}"));
        assert_eq!(o.paid, m("10000"));
    }
    assert!(orders as usize >= acked.len());
    let report = s.verify_audit_chain(&t.owner).await.unwrap();
    assert!(report.ok, "seed {seed}: {report:?}");
    println!(
        "{} acknowledged orders over {ROUNDS} kills, {orders} on disk",
        acked.len()
    );
}

/// Closing the store leaves one whole file: the WAL is checkpointed into it and emptied, so the
/// file alone — copied, backed up — is the whole store.
#[tokio::test]
async fn a_closed_store_is_whole_without_its_wal() {
    let mut t = TestStore::new().await;
    // Enough commits that SQLite has also checkpointed part of the WAL on its own (it does so
    // every 1,000 pages), which leaves the file without the WAL inconsistent until the close.
    for i in 0..300 {
        create(
            &t,
            &t.owner,
            phone_installment_order(&format!("Pelanggan {i}"), &format!("0812{i:08}")),
        )
        .await;
    }
    t.store.take().unwrap().close().await;
    let wal = t.path.with_extension("db-wal");
    let left = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(left, 0, "the WAL still holds {left} bytes after close");

    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("copy.db");
    std::fs::copy(&t.path, &copy).unwrap();
    let mut c = intact(&copy, "the copy").await;
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(orders, 300);
    c.close().await.unwrap();
}

/// A plain SQLite connection (no store) to the file at `path`, which `PRAGMA integrity_check`
/// finds intact.
async fn intact(path: &std::path::Path, what: &str) -> sqlx::SqliteConnection {
    let mut c = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
    )
    .await
    .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(check, "ok", "{what}");
    c
}
