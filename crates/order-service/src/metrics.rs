//! Prometheus metrics at `GET /metrics`, through the `metrics` crate and its Prometheus
//! exporter (each service state has its own recorder, so two instances in one process — the
//! tests' — count apart). No label carries user data: routes are templates, never raw paths.
//!
//! - `http_request_duration_seconds` (histogram; `method`, `route`, `status`) and
//!   `http_requests_in_flight` (gauge);
//! - business: `orders_created_total` (offline orders recorded, through the API or a counter's
//!   sync), `payments_recorded_total` (payments received, either way),
//!   `orders_paid_in_full_total` (orders whose last installment was paid: the completion rate
//!   is this over `orders_created_total`), `sync_mutations_total` (`result`);
//! - operations: `order_create_batches_total`, `order_creates_waiting` (group commit),
//!   `password_checks_total` (argon2 checks of logins, a decoy's included);
//! - the outbox relay, when it runs: `relay_events_total` (`topic`), `relay_errors_total`,
//!   `relay_lag_rows`, `relay_lag_seconds`, `relay_leader`, `relay_stuck_chains`.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::time::Instant;

/// Latency buckets (seconds): 1 ms to 5 s.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static META: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// A count made when a transaction commits (see [`crate::db::Tx::count_on_commit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// An order created, with its first payment or not, paid in full or not.
    Created {
        with_payment: bool,
        paid_in_full: bool,
    },
    /// A payment received, its order now paid in full or not.
    Payment { paid_in_full: bool },
}

/// The metrics of one service state.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        let m = Metrics { recorder, handle };
        for (name, help) in [
            ("http_request_duration_seconds", "Request latency."),
            ("http_requests_in_flight", "Requests being handled."),
            (
                "orders_created_total",
                "Offline orders recorded (API and counters' sync).",
            ),
            (
                "payments_recorded_total",
                "Payments received (API and counters' sync).",
            ),
            (
                "orders_paid_in_full_total",
                "Orders whose last installment or full payment was received.",
            ),
            ("sync_mutations_total", "Pushed mutations by result."),
            (
                "order_create_batches_total",
                "Transactions that wrote group-committed creates.",
            ),
            (
                "order_creates_waiting",
                "Creates queued for group commit or being written.",
            ),
            (
                "password_checks_total",
                "Password checks of logins (argon2), a decoy's included.",
            ),
            (
                "relay_events_total",
                "Events the outbox relay published and the broker acknowledged, by topic.",
            ),
            (
                "relay_errors_total",
                "Broker or database errors that stopped a relay round.",
            ),
            (
                "relay_lag_rows",
                "Outbox and audit events not yet relayed, at the relay's last look.",
            ),
            (
                "relay_lag_seconds",
                "Age of the oldest event not yet relayed, at the relay's last look.",
            ),
            (
                "relay_leader",
                "1 while this process's relay leads, else 0.",
            ),
            (
                "relay_stuck_chains",
                "Audit chains the relay holds back because a row does not read.",
            ),
        ] {
            m.recorder.describe_counter(name.into(), None, help.into());
        }
        // always present, at zero until counted
        for name in [
            "orders_created_total",
            "payments_recorded_total",
            "password_checks_total",
            "order_create_batches_total",
        ] {
            m.counter(name, vec![]).absolute(0);
        }
        m.gauge("order_creates_waiting").set(0.0);
        m.gauge("http_requests_in_flight").set(0.0);
        m
    }
}

impl Metrics {
    fn counter(&self, name: &'static str, labels: Vec<Label>) -> metrics::Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &META)
    }

    fn gauge(&self, name: &'static str) -> metrics::Gauge {
        self.recorder
            .register_gauge(&Key::from_static_name(name), &META)
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Starts the exporter's upkeep of `metrics` (it folds histogram samples into their
    /// buckets; without it they pile up between scrapes, and forever without scrapes), every 5
    /// seconds, until `metrics` is dropped. Outside a Tokio runtime it does nothing.
    pub fn keep_up(metrics: &std::sync::Arc<Metrics>) {
        let weak = std::sync::Arc::downgrade(metrics);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    match weak.upgrade() {
                        Some(m) => m.handle.run_upkeep(),
                        None => return,
                    }
                }
            });
        }
    }

    /// Makes count `c`.
    pub fn count(&self, c: Count) {
        match c {
            Count::Created {
                with_payment,
                paid_in_full,
            } => self.count_created(with_payment, paid_in_full),
            Count::Payment { paid_in_full } => self.count_payment(paid_in_full),
        }
    }

    /// An order created (committed), with its first payment or not, paid in full or not.
    pub fn count_created(&self, with_payment: bool, paid_in_full: bool) {
        self.counter("orders_created_total", vec![]).increment(1);
        if with_payment {
            self.count_payment(paid_in_full);
        }
    }

    /// A payment received (its order now paid in full or not).
    pub fn count_payment(&self, paid_in_full: bool) {
        self.counter("payments_recorded_total", vec![]).increment(1);
        if paid_in_full {
            self.counter("orders_paid_in_full_total", vec![])
                .increment(1);
        }
    }

    pub fn count_sync(&self, status: pos_protocol::MutationStatus) {
        use pos_protocol::MutationStatus::*;
        let result = match status {
            Applied => "applied",
            Duplicate => "duplicate",
            Rejected => "rejected",
            Conflict => "conflict",
            Skipped => "skipped",
        };
        self.counter("sync_mutations_total", vec![Label::new("result", result)])
            .increment(1);
    }

    /// A transaction of group-committed creates written.
    pub fn count_create_batch(&self) {
        self.counter("order_create_batches_total", vec![])
            .increment(1);
    }

    /// A create queued (`+1.0`) or answered (`-1.0`).
    pub fn creates_waiting(&self, change: f64) {
        self.gauge("order_creates_waiting").increment(change);
    }

    /// Events the relay published and the broker acknowledged, by topic.
    pub fn count_relayed(&self, topic: &str, n: u64) {
        if n > 0 {
            self.counter(
                "relay_events_total",
                vec![Label::new("topic", topic.to_owned())],
            )
            .increment(n);
        }
    }

    /// A broker or database error that stopped a relay round.
    pub fn count_relay_error(&self) {
        self.counter("relay_errors_total", vec![]).increment(1);
    }

    /// Events not yet relayed and the age of the oldest (seconds), at the relay's last look.
    pub fn relay_lag(&self, rows: i64, seconds: f64) {
        self.gauge("relay_lag_rows").set(rows as f64);
        self.gauge("relay_lag_seconds").set(seconds);
    }

    /// Whether this process's relay leads (1) or waits (0).
    pub fn relay_leader(&self, leads: bool) {
        self.gauge("relay_leader")
            .set(if leads { 1.0 } else { 0.0 });
    }

    /// Audit chains held back by a row that does not read, at the relay's last look.
    pub fn relay_stuck_chains(&self, chains: usize) {
        self.gauge("relay_stuck_chains").set(chains as f64);
    }

    /// A login's password checked.
    pub fn count_password_check(&self) {
        self.counter("password_checks_total", vec![]).increment(1);
    }
}

/// Middleware: counts the request in flight and times it under its route template (never the
/// raw path).
pub async fn track(
    axum::extract::State(metrics): axum::extract::State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    // out of flight however the request ends (a client that hangs up drops the future)
    struct InFlight(metrics::Gauge);
    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.decrement(1.0);
        }
    }
    let gauge = metrics.gauge("http_requests_in_flight");
    gauge.increment(1.0);
    let _in_flight = InFlight(gauge);
    let start = Instant::now();
    let res = next.run(req).await;
    let labels = vec![
        Label::new("method", method),
        Label::new("route", route),
        Label::new("status", res.status().as_u16().to_string()),
    ];
    metrics
        .recorder
        .register_histogram(
            &Key::from_parts("http_request_duration_seconds", labels),
            &META,
        )
        .record(start.elapsed().as_secs_f64());
    res
}
