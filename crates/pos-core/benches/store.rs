//! Store benchmarks (a bench binary, not a test): durable create-order latency against a bare
//! durable SQLite insert measured in the same run, list/search latency at 100,000 orders, and
//! an encrypted backup and its restore at 10,000 and at 100,000 orders (time, size, peak memory).
//!
//! Run: `scripts/bench.sh` (wraps `cargo bench -p pos-core --bench store` in a keyring session).
//! Environment: BENCH_ORDERS (default 100000), BENCH_CREATES (default 2000), BENCH_DIR (where
//! the files go; default the system temp dir, i.e. the same disk as the app data).
#![allow(clippy::unwrap_used)]

use chrono::Days;
use pos_core::backup::{BackupConfig, BackupReason};
use pos_core::{
    KeyStore, KeyringBackend, ListQuery, NewOrder, OsKeyring, PaymentInput, Pin, SearchKind,
    SetupInput, Store, SystemClock,
};
use pos_domain::{Channel, Currency, Customer, Interval, ItemInput, PaymentMethod, PaymentTerms};
use rand::{Rng, SeedableRng};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Stats {
    p50: Duration,
    p95: Duration,
    p99: Duration,
    mean: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let pick = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    Stats {
        p50: pick(0.50),
        p95: pick(0.95),
        p99: pick(0.99),
        mean,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// The same order with nothing paid at the counter (the down payment stays due).
fn unpaid(mut o: NewOrder) -> NewOrder {
    o.initial_payment = None;
    o
}

fn order(i: usize, today: chrono::NaiveDate) -> NewOrder {
    let money = |v: i64| pos_domain::Currency::IDR.from_minor(v);
    NewOrder {
        id: None,
        channel: if i.is_multiple_of(3) {
            Channel::WalkIn
        } else {
            Channel::Phone
        },
        customer: Customer {
            name: format!(
                "Pelanggan Nomor {i} {}",
                ["Siti", "Budi", "Dewi", "Agus", "Rina"][i % 5]
            ),
            phone: Some(format!("0812{i:08}")),
            email: Some(format!("pelanggan{i}@contoh.id")),
            address: Some(format!("Jl. Mawar {i}, Jakarta")),
        },
        items: (0..3)
            .map(|k| ItemInput {
                name: format!("Barang {k}"),
                sku: Some(format!("SKU-{k}")),
                quantity: rust_decimal::Decimal::from(k + 1),
                unit_price: money(25_000 + 1_000 * k),
                discount: None,
            })
            .collect(),
        discount: None,
        notes: None,
        payment_terms: PaymentTerms::Installment {
            down_payment: Some(money(20_000)),
            installment_count: 3,
            interval: Interval::Monthly,
            first_due_date: today + Days::new(30),
        },
        initial_payment: Some(PaymentInput {
            id: None,
            amount: money(20_000),
            method: PaymentMethod::Cash,
            reference: None,
        }),
    }
}

/// A bare durable single-row insert: same file system, same WAL and `synchronous=FULL`, one
/// row with a UUID text key, autocommit.
struct Bare {
    pool: sqlx::SqlitePool,
}

impl Bare {
    async fn open(dir: &std::path::Path) -> Bare {
        let opts = SqliteConnectOptions::new()
            .filename(dir.join("bare.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        // Like the store's pool: one connection, not pinged before each use.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(opts)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, v TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        Bare { pool }
    }

    async fn insert(&self) -> Duration {
        let id = uuid::Uuid::now_v7().to_string();
        let t0 = Instant::now();
        sqlx::query("INSERT INTO t (id, v) VALUES (?, ?)")
            .bind(&id)
            .bind("a single row of about the size of a short order line")
            .execute(&self.pool)
            .await
            .unwrap();
        t0.elapsed()
    }
}

const BACKUP_PASSPHRASE: &str = "bench recovery passphrase";

/// The process's peak resident memory so far (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Times a backup of `store` and its restore on a new machine (an empty folder and keyring):
/// staging (read, passphrase, decrypt, check) and the first open (the swap).
async fn backup_and_restore(
    store: &Store,
    owner: &pos_core::Session,
    keys: &OsKeyring,
    backend: KeyringBackend,
    folder: &std::path::Path,
    scratch: &std::path::Path,
) {
    let before = peak_rss_mb();
    let t0 = Instant::now();
    let rec = store
        .backup(Some(owner), keys, BackupReason::OnDemand)
        .await
        .unwrap();
    let backup = t0.elapsed();
    let after_backup = peak_rss_mb();
    let machine = tempfile::tempdir_in(scratch).unwrap();
    let path = machine.path().join("pos.db");
    let theirs = OsKeyring::new(
        format!("offline-order-pos-bench-{}", uuid::Uuid::now_v7()),
        backend,
    );
    let fresh = Store::open(&path, &theirs, Arc::new(SystemClock))
        .await
        .unwrap();
    let fresh_id = fresh.device_id();
    let client = pos_core::SyncClient::new(pos_core::RetryPolicy::default()).unwrap();
    let t1 = Instant::now();
    fresh
        .stage_restore(
            &folder.join(&rec.file_name),
            BACKUP_PASSPHRASE,
            &theirs,
            &client,
        )
        .await
        .unwrap();
    let stage = t1.elapsed();
    fresh.close().await;
    let _ = theirs.delete(&fresh_id.to_string());
    let t2 = Instant::now();
    let restored = Store::open(&path, &theirs, Arc::new(SystemClock))
        .await
        .unwrap();
    let open = t2.elapsed();
    assert_eq!(restored.device_id(), store.device_id());
    let _ = theirs.delete(&restored.device_id().to_string());
    restored.close().await;
    let orders = rec.orders;
    println!(
        "\n## backup and restore at {orders} orders\nbackup (snapshot, encrypt, write, read back and verify, prune): {:.2} s, file {:.1} MB (bar at 100,000 orders < 30 s)\nrestore: check and stage {:.2} s (argon2id included), first open (swap) {:.2} s\npeak memory of the process: {before:.0} MB before the backup, {after_backup:.0} MB after it, {:.0} MB after the restore",
        backup.as_secs_f64(),
        rec.bytes as f64 / 1e6,
        stage.as_secs_f64(),
        open.as_secs_f64(),
        peak_rss_mb()
    );
}

#[tokio::main]
async fn main() {
    let orders = env_usize("BENCH_ORDERS", 100_000);
    let creates = env_usize("BENCH_CREATES", 2_000);
    let base = std::env::var("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let dir = tempfile::tempdir_in(base).unwrap();
    let backend = std::env::var("POS_TEST_KEYRING")
        .ok()
        .and_then(|n| KeyringBackend::named(&n))
        .unwrap_or(KeyringBackend::native());
    let keys = OsKeyring::new(
        format!("offline-order-pos-bench-{}", uuid::Uuid::now_v7()),
        backend,
    );
    let store = Store::open(&dir.path().join("pos.db"), &keys, Arc::new(SystemClock))
        .await
        .unwrap();
    let owner = store
        .setup(
            SetupInput {
                shop_name: "Bench".into(),
                currency: Currency::IDR,
                owner_name: "Owner".into(),
                device_code: None,
                phone_country_code: None,
                utc_offset_minutes: Some(420),
            },
            Pin::new("135790").unwrap(),
        )
        .await
        .unwrap();
    let backups = tempfile::tempdir_in(dir.path()).unwrap();
    store
        .set_recovery_passphrase(&owner, BACKUP_PASSPHRASE, &keys)
        .await
        .unwrap();
    store
        .save_backup_config(
            &owner,
            BackupConfig {
                folder: Some(backups.path().to_str().unwrap().to_owned()),
                keep: 2,
            },
        )
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    println!(
        "machine: {} cores; files in {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        dir.path().display()
    );

    // 1. Durable create vs bare durable insert, interleaved one by one so that both see the
    //    same disk and machine conditions. Two creates: the workload (3 items,
    //    installment terms — the schedule's down payment due, nothing paid yet) and the same
    //    order with its down payment taken at the counter (a payment row, a PAYMENT audit event
    //    and a second outbox mutation in the same transaction).
    let warm = 50;
    let bare_db = Bare::open(dir.path()).await;
    for i in 0..warm {
        store
            .create_order(&owner, order(2 * i, today))
            .await
            .unwrap();
        store
            .create_order(&owner, unpaid(order(2 * i + 1, today)))
            .await
            .unwrap();
        bare_db.insert().await;
    }
    let mut create = Vec::with_capacity(creates);
    let mut create_paid = Vec::with_capacity(creates);
    let mut bare = Vec::with_capacity(creates);
    for i in 0..creates {
        bare.push(bare_db.insert().await);
        let o = unpaid(order(2 * (warm + i), today));
        let t0 = Instant::now();
        store.create_order(&owner, o).await.unwrap();
        create.push(t0.elapsed());
        let o = order(2 * (warm + i) + 1, today);
        let t0 = Instant::now();
        store.create_order(&owner, o).await.unwrap();
        create_paid.push(t0.elapsed());
    }
    bare_db.pool.close().await;
    let b = stats(bare.clone());
    let bare_rate = 1.0 / b.mean.as_secs_f64();
    println!("\n## create order vs bare durable insert, n={creates} each, interleaved");
    println!(
        "bare durable single-row insert: p50 {} p95 {} p99 {} mean {}  rate {:.0}/s",
        ms(b.p50),
        ms(b.p95),
        ms(b.p99),
        ms(b.mean),
        bare_rate
    );
    for (what, v) in [
        (
            "create (3 items, installment terms, encryption, audit, outbox, durable commit)",
            &create,
        ),
        (
            "create, down payment paid at the counter (+ payment, PAYMENT event, 2nd mutation)",
            &create_paid,
        ),
    ] {
        let c = stats(v.clone());
        let rate = 1.0 / c.mean.as_secs_f64();
        println!(
            "{what}: p50 {} p95 {} p99 {} mean {}  rate {rate:.0}/s\n  ratio to bare: {:.2} (bar >= 0.5; by medians {:.2}); p95 bar < 10 ms",
            ms(c.p50),
            ms(c.p95),
            ms(c.p99),
            ms(c.mean),
            rate / bare_rate,
            b.p50.as_secs_f64() / c.p50.as_secs_f64()
        );
    }

    // 2. Fill to `orders` and measure the queries.
    let have = 2 * (warm + creates);
    if orders > have {
        let t0 = Instant::now();
        for i in have..orders {
            if i == 10_000 {
                backup_and_restore(&store, &owner, &keys, backend, backups.path(), dir.path())
                    .await;
            }
            store.create_order(&owner, order(i, today)).await.unwrap();
        }
        println!(
            "\nfilled to {orders} orders in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
    }
    let total = orders.max(have);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let runs: usize = 200;

    let mut list = Vec::new();
    let mut cursor = None;
    for _ in 0..runs {
        let t0 = Instant::now();
        let p = store
            .list_orders(
                &owner,
                ListQuery {
                    limit: Some(50),
                    cursor: cursor.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        list.push(t0.elapsed());
        assert_eq!(p.items.len(), 50);
        cursor = if rng.gen_bool(0.5) {
            p.next_cursor
        } else {
            None
        };
    }
    // The first search after opening builds the in-memory search index (decrypts every name).
    let t0 = Instant::now();
    store
        .list_orders(
            &owner,
            ListQuery {
                q: Some("warm".into()),
                search: Some(SearchKind::Name),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let index_load = t0.elapsed();
    let mut phone = Vec::new();
    for _ in 0..runs {
        let i = rng.gen_range(0..total);
        let t0 = Instant::now();
        let p = store
            .list_orders(
                &owner,
                ListQuery {
                    q: Some(format!("+62 812 {i:08}")),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        phone.push(t0.elapsed());
        assert_eq!(p.items.len(), 1);
    }
    let mut name = Vec::new();
    for k in 0..runs {
        // half rare (one match: a full number), half common (many matches, a page of 50)
        let q = if k.is_multiple_of(2) {
            format!("nomor {} ", rng.gen_range(0..total))
        } else {
            ["siti", "budi", "dewi"][k % 3].to_string()
        };
        let t0 = Instant::now();
        let p = store
            .list_orders(
                &owner,
                ListQuery {
                    q: Some(q),
                    search: Some(SearchKind::Name),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        name.push(t0.elapsed());
        assert!(!p.items.is_empty());
    }
    let (l, p, n) = (stats(list), stats(phone), stats(name));
    println!("\n## queries at {total} orders (each also writes its ACCESS audit event, durably), {runs} runs each");
    println!(
        "list page of 50: p50 {} p95 {} (bar < 20 ms)",
        ms(l.p50),
        ms(l.p95)
    );
    println!(
        "search by phone: p50 {} p95 {} (bar < 5 ms)",
        ms(p.p50),
        ms(p.p95)
    );
    println!("search by name substring: p50 {} p95 {} (bar < 150 ms)\nfirst search after opening (builds the in-memory search index): {}", ms(n.p50), ms(n.p95), ms(index_load));
    let size = std::fs::metadata(dir.path().join("pos.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("database file: {:.1} MB", size as f64 / 1e6);
    backup_and_restore(&store, &owner, &keys, backend, backups.path(), dir.path()).await;
    let _ = keys.delete(&store.device_id().to_string());
    store.close().await;
    if std::env::var("BENCH_KEEP").is_ok() {
        println!("kept {}", dir.keep().display());
    }
}
