//! The outbox relay against a real Kafka-protocol broker (issue 21): tansu on loopback
//! (`TANSU_BIN`, or `tansu` on the PATH; `scripts/test.sh` installs it), read back with a
//! standard Kafka client (librdkafka, through rdkafka). Every outbox and audit event reaches its
//! topic at least once, a duplicate only with the same event id, each order's events in order,
//! no customer data: through a day of API and counter changes, a relay killed with SIGKILL and
//! started again, the broker unreachable and back while orders keep coming, and two relays at
//! once.
#![allow(clippy::unwrap_used)]
mod common;

use common::desk::*;
use common::sync::*;
use common::*;
use order_service::relay::{Relay, RelayConfig};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

/// Customer data the day uses: none of it may reach a topic.
const PII: [&str; 8] = [
    "Siti Rahayu",
    "081234567890",
    "Budi Santoso",
    "081298765432",
    "Dewi Lestari",
    "Rina Wati",
    "085711112222",
    "Jalan Melati",
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A tansu broker (memory storage) behind a gate the test opens and closes: closed, its port
/// refuses connections and every open one is cut — the broker is unreachable, as when it is
/// stopped — and its data stays, as a real broker's does across a restart.
struct Broker {
    child: Child,
    gate: Arc<Gate>,
}

struct Gate {
    addr: SocketAddr,
    upstream: SocketAddr,
    open: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Gate {
    async fn open(self: &Arc<Self>) {
        let listener = loop {
            // the port of a gate just closed may take a moment to be free again
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(_) => tokio::task::yield_now().await,
            }
        };
        let upstream = self.upstream;
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut c, _)) = listener.accept().await {
                conns.spawn(async move {
                    if let Ok(mut u) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut c, &mut u).await;
                    }
                });
            }
        });
        *self.open.lock().unwrap() = Some(task);
    }

    /// Closes the port and cuts every connection (dropping the task drops them all).
    fn close(&self) {
        if let Some(t) = self.open.lock().unwrap().take() {
            t.abort();
        }
    }
}

impl Broker {
    async fn start() -> Broker {
        let bin = std::env::var("TANSU_BIN").unwrap_or_else(|_| "tansu".into());
        let (inner, outer) = (free_port(), free_port());
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://127.0.0.1:{inner}"),
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{outer}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            // the broker keeps the real time, as one elsewhere would (the test command runs
            // the tests again with their wall clock moved: only theirs)
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("tansu ({bin}) did not start: {e}; scripts/test.sh installs it")
            });
        let gate = Arc::new(Gate {
            addr: format!("127.0.0.1:{outer}").parse().unwrap(),
            upstream: format!("127.0.0.1:{inner}").parse().unwrap(),
            open: std::sync::Mutex::new(None),
        });
        // bounded wait for the broker's port
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(gate.upstream).await.is_err() {
            assert!(Instant::now() < deadline, "tansu never listened");
            tokio::task::yield_now().await;
        }
        gate.open().await;
        Broker { child, gate }
    }

    fn brokers(&self) -> String {
        self.gate.addr.to_string()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.gate.close();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message read back.
#[derive(Debug, Clone)]
struct Seen {
    key: String,
    event_id: Uuid,
    raw: Vec<u8>,
    doc: Value,
}

/// Reads `topic` from the start until `done(all read so far)` or `timeout`.
async fn consume(
    brokers: &str,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[Seen]) -> bool + Send + 'static,
) -> Vec<Seen> {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", format!("test-{}", Uuid::new_v4()))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        c.subscribe(&[&topic]).unwrap();
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while !done(&seen) && Instant::now() < deadline {
            let Some(m) = c.poll(Duration::from_millis(200)) else {
                continue;
            };
            let Ok(m) = m else { continue };
            let raw = m.payload().unwrap_or_default().to_vec();
            let header: Uuid = m
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == "event_id"))
                .and_then(|h| h.value)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse().ok())
                .expect("an event_id header");
            let doc: Value = serde_json::from_slice(&raw).unwrap();
            assert_eq!(doc["event_id"].as_str(), Some(header.to_string().as_str()));
            assert_eq!(doc["schema_version"], 1);
            seen.push(Seen {
                key: String::from_utf8(m.key().unwrap_or_default().to_vec()).unwrap(),
                event_id: header,
                raw,
                doc,
            });
        }
        seen
    })
    .await
    .unwrap()
}

/// Every outbox event (id, order, seq) and audit event id the tenant has.
async fn expected(app: &TestApp, t: &Tenant) -> (Vec<(Uuid, Uuid, i64)>, HashSet<Uuid>) {
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let outbox: Vec<(Uuid, Uuid, i64)> =
        sqlx::query_as("SELECT id, aggregate_id, seq FROM outbox_events ORDER BY seq")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    let audit: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM audit_events")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    (outbox, audit.into_iter().collect())
}

/// Reads both topics until every expected event is there, and checks what the issue asks.
async fn all_relayed(app: &TestApp, t: &Tenant, brokers: &str) -> (usize, usize) {
    let (outbox, audit) = expected(app, t).await;
    let want: HashSet<Uuid> = outbox.iter().map(|o| o.0).collect();
    let w = want.clone();
    let orders = consume(brokers, "order-events", Duration::from_secs(60), move |s| {
        let got: HashSet<Uuid> = s.iter().map(|m| m.event_id).collect();
        w.is_subset(&got)
    })
    .await;
    let a = audit.clone();
    let audits = consume(brokers, "audit-events", Duration::from_secs(60), move |s| {
        let got: HashSet<Uuid> = s.iter().map(|m| m.event_id).collect();
        a.is_subset(&got)
    })
    .await;
    let got: HashSet<Uuid> = orders.iter().map(|m| m.event_id).collect();
    let missing: Vec<_> = want.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "domain events never relayed: {missing:?}"
    );
    let got: HashSet<Uuid> = audits.iter().map(|m| m.event_id).collect();
    let missing: Vec<_> = audit.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "audit events never relayed: {missing:?}"
    );
    // a duplicate is the same event, byte for byte
    for msgs in [&orders, &audits] {
        let mut first: HashMap<Uuid, &Vec<u8>> = HashMap::new();
        for m in msgs.iter() {
            let f = first.entry(m.event_id).or_insert(&m.raw);
            assert_eq!(*f, &m.raw, "a duplicate differs: {}", m.event_id);
        }
    }
    // each order's events in their outbox order (keyed by order: one partition)
    let seq: HashMap<Uuid, i64> = outbox.iter().map(|o| (o.0, o.2)).collect();
    let mut last: HashMap<&str, i64> = HashMap::new();
    let mut firsts = HashSet::new();
    for m in &orders {
        assert_eq!(m.key, m.doc["order_id"].as_str().unwrap(), "keyed by order");
        if !firsts.insert(m.event_id) {
            continue;
        }
        let s = seq[&m.event_id];
        if let Some(prev) = last.insert(m.key.as_str(), s) {
            assert!(prev < s, "order {}: event {s} after {prev}", m.key);
        }
    }
    // each chain's events in order too, keyed by chain
    let mut last: HashMap<&str, u64> = HashMap::new();
    let mut firsts = HashSet::new();
    for m in &audits {
        assert_eq!(m.key, m.doc["chain_id"].as_str().unwrap());
        if !firsts.insert(m.event_id) {
            continue;
        }
        let s = m.doc["event"]["seq"].as_u64().unwrap();
        if let Some(prev) = last.insert(m.key.as_str(), s) {
            assert!(prev < s, "chain {}: event {s} after {prev}", m.key);
        }
    }
    // no value hashes on audit-events: unkeyed, a phone number's is reversed by trying them all
    for m in &audits {
        assert_eq!(m.doc["value_hashes_withheld"], true, "{}", m.doc);
        for f in m.doc["event"]["fields"].as_array().unwrap() {
            assert!(
                f.get("old_hash").is_none() && f.get("new_hash").is_none(),
                "a value hash on audit-events: {f}"
            );
        }
    }
    // no customer data anywhere
    for m in orders.iter().chain(audits.iter()) {
        let text = String::from_utf8_lossy(&m.raw);
        for p in PII {
            assert!(!text.contains(p), "{p} in {text}");
        }
    }
    (orders.len(), audits.len())
}

fn config(brokers: &str) -> RelayConfig {
    let mut c = RelayConfig::new(brokers);
    c.partitions = 3;
    c.poll = Duration::from_millis(50);
    c
}

fn start_relay(app: &TestApp, brokers: &str) -> (tokio::task::JoinHandle<()>, Arc<Relay>) {
    let relay = Arc::new(Relay::default());
    let task = tokio::spawn(order_service::relay::run(
        app.runtime_url(),
        config(brokers),
        relay.clone(),
        Arc::new(order_service::metrics::Metrics::default()),
        pos_domain::TimeSource::default(),
    ));
    (task, relay)
}

/// A shop's day through the API: orders, payments, an edit, a refund and a deletion.
async fn api_day(app: &TestApp, t: &Tenant, names: &[(&str, &str)]) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, phone) in names {
        let mut body = order_body(name, phone);
        body["customer"]["address"] = json!("Jalan Melati 7");
        let (st, o, _) = app
            .post(&t.owner_token, "/api/v1/offline-orders", body)
            .await;
        assert_eq!(st, 201, "{o}");
        ids.push(o["id"].as_str().unwrap().to_owned());
    }
    let first = &ids[0];
    let (st, p, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{first}/payments"),
            json!({"method": "cash", "amount": "300000"}),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/offline-orders/{first}")))
        .bearer_auth(&t.owner_token)
        .header("If-Match", "\"1\"")
        .json(&json!({"notes": "antar sore"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    if let Some(last) = ids.last().filter(|l| *l != first) {
        refund_all(app, &t.owner_token, last).await;
        let (st, d, _) = app
            .delete(
                &t.owner_token,
                &format!("/api/v1/offline-orders/{last}"),
                json!({"reason": "dobel input"}),
            )
            .await;
        assert!(st == 200 || st == 204, "{st} {d}");
    }
    ids
}

#[tokio::test]
async fn a_day_from_the_api_and_a_counter_reaches_both_topics_once_in_order_without_pii() {
    let broker = Broker::start().await;
    let app = spawn().await;
    let t = app.tenant("toko-relay").await;
    // a counter's day, synced
    let (d, owner) = desk_with_code("K01").await;
    let (manager, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let _ = manager;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let s = &d.store;
    let o = s
        .create_order(&cashier, new_order("Rina Wati"))
        .await
        .unwrap();
    s.record_payment(&cashier, o.id, cash(200_000))
        .await
        .unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");
    // the relay takes in what is there, then the API's day comes while it runs
    let (task, relay) = start_relay(&app, &broker.brokers());
    until("the relay catches up with the counter's day", || async {
        let s = relay.status();
        s.last_relayed_at.is_some() && s.lag_rows == 0
    })
    .await;
    api_day(
        &app,
        &t,
        &[
            ("Siti Rahayu", "081234567890"),
            ("Budi Santoso", "081298765432"),
            ("Dewi Lestari", "085711112222"),
        ],
    )
    .await;
    let (orders, audits) = all_relayed(&app, &t, &broker.brokers()).await;
    assert!(orders >= 10 && audits >= 10, "{orders} {audits}");
    let st = relay.status();
    assert!(st.leader, "{st:?}");
    task.abort();
}

/// Orders through the API, one after another, until `n` (the service keeps taking orders
/// whatever the relay or the broker does).
async fn keep_ordering(base: String, token: String, n: usize, from: usize) {
    let http = reqwest::Client::new();
    for i in from..from + n {
        let r = http
            .post(format!("{base}/api/v1/offline-orders"))
            .bearer_auth(&token)
            .json(&order_body(&format!("Pelanggan {i}"), "081234567890"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    }
}

/// Orders through the API until `stop` is set; how many.
async fn order_until(
    base: String,
    token: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> usize {
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        keep_ordering(base.clone(), token.clone(), 1, n).await;
        n += 1;
    }
    n
}

/// A stand-alone relay process (`order-service relay`), its status served on `port`.
fn relay_process(app: &TestApp, brokers: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_order-service"))
        .arg("relay")
        .env("ORDER_SERVICE_DATABASE_URL", app.runtime_url())
        .env("ORDER_SERVICE_KAFKA_BROKERS", brokers)
        .env("ORDER_SERVICE_KAFKA_PARTITIONS", "3")
        .env("ORDER_SERVICE_RELAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A relay process's state from its `/readyz` (`None` while it does not answer).
async fn relay_state(port: u16) -> Option<Value> {
    let r = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .ok()?;
    r.json::<Value>().await.ok().map(|v| v["relay"].clone())
}

/// What a relay process has published (its `relay_events_total`, both topics).
async fn relayed_by(port: u16) -> u64 {
    let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await else {
        return 0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("relay_events_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Waits (bounded) until `f` holds, looking again after each yield.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_relays_one_leads_and_a_killed_leader_is_taken_over_with_no_gap() {
    let broker = Broker::start().await;
    let app = spawn().await;
    let t = app.tenant("toko-dua-relay").await;
    let (pa, pb) = (free_port(), free_port());
    let mut a = relay_process(&app, &broker.brokers(), pa);
    let mut b = relay_process(&app, &broker.brokers(), pb);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = tokio::spawn(order_until(
        app.base.clone(),
        t.owner_token.clone(),
        stop.clone(),
    ));
    // one of them leads, never both
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut leaders = HashSet::new();
    while leaders.is_empty() {
        assert!(Instant::now() < deadline, "no relay leads");
        let (sa, sb) = (relay_state(pa).await, relay_state(pb).await);
        let la = sa.is_some_and(|s| s["leader"] == true);
        let lb = sb.is_some_and(|s| s["leader"] == true);
        assert!(!(la && lb), "two relays lead at once");
        if la {
            leaders.insert(pa);
        }
        if lb {
            leaders.insert(pb);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (leader, follower, other) = if leaders.contains(&pa) {
        (&mut a, pb, pa)
    } else {
        (&mut b, pa, pb)
    };
    // killed mid-way: it has published, the orders are still coming
    until("the leader publishes", || async {
        relayed_by(other).await > 0
    })
    .await;
    leader.kill().unwrap();
    leader.wait().unwrap();
    until("the other relay takes over", || async {
        relay_state(follower)
            .await
            .is_some_and(|s| s["leader"] == true)
    })
    .await;
    // and the killed one is started again: it follows
    let restarted_port = free_port();
    let mut restarted = relay_process(&app, &broker.brokers(), restarted_port);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0);
    until("the restarted relay answers", || async {
        relay_state(restarted_port).await.is_some()
    })
    .await;
    assert_eq!(
        relay_state(restarted_port).await.unwrap()["leader"],
        false,
        "only one leads"
    );
    all_relayed(&app, &t, &broker.brokers()).await;
    for c in [&mut a, &mut b, &mut restarted] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[tokio::test]
async fn the_broker_away_and_back_while_orders_keep_coming_loses_nothing() {
    let broker = Broker::start().await;
    // the service process shows its relay's state in /readyz
    let relay = Arc::new(Relay::default());
    let shown = relay.clone();
    let app = spawn_with_state(move |mut s| {
        s.relay = Some(shown);
        s
    })
    .await;
    let t = app.tenant("toko-putus").await;
    // rounds of at most 10 events and a producer queue of 20 (given as an option, which the
    // relay overrides with its own bound): the backlog the outage leaves is many rounds long,
    // and a relay that queued it all at once would be refused by a full queue for ever
    let mut cfg = config(&broker.brokers());
    cfg.round_limit = 10;
    cfg.batch = 4;
    cfg.options
        .push(("queue.buffering.max.messages".into(), "20".into()));
    let task = tokio::spawn(order_service::relay::run(
        app.runtime_url(),
        cfg,
        relay.clone(),
        Arc::new(order_service::metrics::Metrics::default()),
        pos_domain::TimeSource::default(),
    ));
    keep_ordering(app.base.clone(), t.owner_token.clone(), 20, 0).await;
    until("the relay catches up", || async {
        let s = relay.status();
        s.last_relayed_at.is_some() && s.lag_rows == 0
    })
    .await;
    // the broker goes away: the service still takes every order
    broker.gate.close();
    keep_ordering(app.base.clone(), t.owner_token.clone(), 30, 20).await;
    until("the relay shows its lag", || async {
        let s = relay.status();
        s.lag_rows > 0 && s.lag_seconds > 0.0
    })
    .await;
    // still ready (it takes orders), and says how far behind the relay is
    let (st, ready, _) = app.get("", "/readyz").await;
    assert_eq!(st, 200, "{ready}");
    assert_eq!(ready["status"], "ready");
    assert!(ready["relay"]["lag_rows"].as_i64().unwrap() > 0, "{ready}");
    assert_eq!(ready["relay"]["leader"], true, "{ready}");
    // it comes back: everything arrives, nothing skipped
    broker.gate.open().await;
    keep_ordering(app.base.clone(), t.owner_token.clone(), 10, 50).await;
    all_relayed(&app, &t, &broker.brokers()).await;
    until("the relay is level again", || async {
        relay.status().lag_rows == 0
    })
    .await;
    task.abort();
}

/// The relay's sessions in this test's database: (pid, holds the leader's lock).
async fn relay_sessions(app: &TestApp) -> Vec<(i32, bool)> {
    sqlx::query_as(
        "SELECT a.pid, EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)
         FROM pg_stat_activity a
         WHERE a.application_name = 'order-service-relay' AND a.datname = current_database()",
    )
    .fetch_all(&app.app_pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_leader_whose_database_session_ends_while_the_broker_is_away_stops_and_leads_anew() {
    let broker = Broker::start().await;
    let app = spawn().await;
    let t = app.tenant("toko-sesi").await;
    let (task, relay) = start_relay(&app, &broker.brokers());
    keep_ordering(app.base.clone(), t.owner_token.clone(), 5, 0).await;
    until("the relay catches up", || async {
        let s = relay.status();
        s.leader && s.last_relayed_at.is_some() && s.lag_rows == 0
    })
    .await;
    // the broker goes away: the leader waits for its acknowledgements
    broker.gate.close();
    keep_ordering(app.base.clone(), t.owner_token.clone(), 10, 5).await;
    until("the relay waits on the broker", || async {
        relay.status().lag_rows > 0
    })
    .await;
    let before = relay_sessions(&app).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(
        before[0].1,
        "the leader's session holds the lock: {before:?}"
    );
    // its session ends (the database restarted, an operator ended it): its lock is gone, so
    // another replica may lead; this one must notice rather than go on publishing
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(before[0].0)
        .execute(&app.app_pool)
        .await
        .unwrap();
    until("the relay notices and leads on a new session", || async {
        let now = relay_sessions(&app).await;
        now.len() == 1 && now[0].0 != before[0].0 && now[0].1
    })
    .await;
    // the broker back: nothing lost
    broker.gate.open().await;
    all_relayed(&app, &t, &broker.brokers()).await;
    until("the relay is level again", || async {
        relay.status().lag_rows == 0
    })
    .await;
    task.abort();
}
