//! Prometheus metrics at `GET /metrics`: request latency histogram (by method and route),
//! orders created, payments recorded. Hand-rolled text exposition; no labels carry user data.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    pub orders_created: AtomicU64,
    pub payments_recorded: AtomicU64,
    /// Password checks (argon2 verifications) of logins, a decoy's included.
    pub password_checks: AtomicU64,
    /// Transactions the group commit of creates wrote (see [`crate::group_commit`]).
    pub create_batches: AtomicU64,
    /// Creates queued for group commit or being written, not yet answered.
    pub creates_waiting: AtomicU64,
    /// Sync mutations by result: applied, duplicate, rejected, conflict, skipped.
    pub sync_mutations: [AtomicU64; 5],
}

impl Metrics {
    fn observe(&self, method: String, route: String, status: u16, seconds: f64) {
        let mut m = match self.requests.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let h = m.entry((method, route, status)).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n");
        let m = match self.requests.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        for ((method, route, status), h) in m.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}\n",
                    h.counts[i]
                ));
            }
            out.push_str(&format!(
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n",
                h.count
            ));
            out.push_str(&format!(
                "http_request_duration_seconds_sum{{{labels}}} {}\n",
                h.sum
            ));
            out.push_str(&format!(
                "http_request_duration_seconds_count{{{labels}}} {}\n",
                h.count
            ));
        }
        out.push_str(&format!(
            "# HELP orders_created_total Orders created.\n# TYPE orders_created_total counter\norders_created_total {}\n",
            self.orders_created.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP payments_recorded_total Payments recorded.\n# TYPE payments_recorded_total counter\npayments_recorded_total {}\n",
            self.payments_recorded.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP password_checks_total Password checks of logins (argon2), a decoy's included.\n# TYPE password_checks_total counter\npassword_checks_total {}\n",
            self.password_checks.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP order_create_batches_total Transactions that wrote group-committed creates.\n# TYPE order_create_batches_total counter\norder_create_batches_total {}\n",
            self.create_batches.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP order_creates_waiting Creates queued for group commit or being written.\n# TYPE order_creates_waiting gauge\norder_creates_waiting {}\n",
            self.creates_waiting.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP sync_mutations_total Pushed mutations by result.\n# TYPE sync_mutations_total counter\n");
        for (i, r) in ["applied", "duplicate", "rejected", "conflict", "skipped"]
            .iter()
            .enumerate()
        {
            out.push_str(&format!(
                "sync_mutations_total{{result=\"{r}\"}} {}\n",
                self.sync_mutations[i].load(Ordering::Relaxed)
            ));
        }
        out
    }

    /// An order created (committed), with its first payment or not.
    pub fn count_created(&self, with_payment: bool) {
        self.orders_created.fetch_add(1, Ordering::Relaxed);
        if with_payment {
            self.payments_recorded.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn count_sync(&self, status: pos_protocol::MutationStatus) {
        use pos_protocol::MutationStatus::*;
        let i = match status {
            Applied => 0,
            Duplicate => 1,
            Rejected => 2,
            Conflict => 3,
            Skipped => 4,
        };
        self.sync_mutations[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// Middleware: times every request under its route template (never the raw path).
pub async fn track(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let start = Instant::now();
    let res = next.run(req).await;
    state.metrics.observe(
        method,
        route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}
