//! Sync with the central order-service (SPEC §4). [`client`] talks HTTP; this module keeps the
//! device's side: the pairing, the position in each direction, the outbox's delivery states,
//! the needs-attention list, and applying what the service sends back — each change in one
//! local transaction with its audit event.

mod attention;
mod converge;
pub(crate) mod local;
mod recover;

pub use local::Pairing;

use chrono::{DateTime, Utc};
use pos_domain::{Money, OrderId};
use serde::Serialize;
use uuid::Uuid;

/// Clock drift beyond this between the counter and the service is shown as a warning.
pub const CLOCK_DRIFT_WARNING_MS: i64 = 2 * 60 * 1000;

/// What the status bar shows: paired or not, online or not, what is still to send.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    pub paired: bool,
    pub server_url: Option<String>,
    /// `None` until the first attempt since start.
    pub online: Option<bool>,
    pub syncing: bool,
    /// Mutations waiting to be sent.
    pub pending: u32,
    pub needs_attention: u32,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Service time minus this counter's time at the last exchange.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub clock_offset_ms: Option<i64>,
    pub clock_drift_warning: bool,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<SyncFailure>,
}

/// Why a sync failed, as the UI shows it: a stable code (translated by the UI) and the
/// English message with its details. Never PII; an internal failure's details stay in the log.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncFailure {
    pub code: String,
    pub message: String,
}

/// Progress of a running sync, for the end-of-day progress bar.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyncProgress {
    /// Mutations settled so far in this run (pushed, already there or needing attention).
    pub done: u32,
    /// Mutations to settle in this run.
    pub total: u32,
}

/// A count and the money it carries (order totals for new orders, amounts for payments).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Tally {
    pub count: u32,
    /// New orders' totals.
    pub orders_total: Money,
    /// Payments' amounts (reversals negative).
    pub payments_total: Money,
}

/// The money a mutation carries: a new order's total or a payment's amount (reversals
/// negative).
pub(crate) enum Carried {
    Order(Money),
    Payment(Money),
    Nothing,
}

pub(crate) fn carried(m: &pos_protocol::Mutation) -> Carried {
    match &m.body {
        pos_protocol::MutationBody::OrderCreated { order } => Carried::Order(order.totals.total),
        pos_protocol::MutationBody::PaymentRecorded { payment }
        | pos_protocol::MutationBody::PaymentReversed { payment, .. } => {
            Carried::Payment(payment.amount)
        }
        _ => Carried::Nothing,
    }
}

impl Tally {
    pub(crate) fn add(&mut self, m: &pos_protocol::Mutation) {
        self.count += 1;
        match carried(m) {
            Carried::Order(t) => self.orders_total = self.orders_total + t,
            Carried::Payment(a) => self.payments_total = self.payments_total + a,
            Carried::Nothing => {}
        }
    }
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, t: Tally) {
        self.count += t.count;
        self.orders_total = self.orders_total + t.orders_total;
        self.payments_total = self.payments_total + t.payments_total;
    }
}

/// The end-of-day report: what this run pushed, what the service already had, what needs
/// attention and what is still waiting, with the time of the last successful sync.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub currency: pos_domain::Currency,
    pub pushed: Tally,
    pub already_there: Tally,
    /// Everything now on the needs-attention list (not only this run's).
    pub needs_attention: Tally,
    /// Still queued: waiting behind an order that needs attention, or not sent because the
    /// run stopped.
    pub still_pending: Tally,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub audit_events_pushed: u64,
    /// Why the service refused the audit chain, if it did.
    pub audit_refused: Option<String>,
    /// Orders changed elsewhere that this counter took in (edits, payments, reversals,
    /// deletions, completions).
    pub pulled_changes: u32,
    /// Orders whose copy here differs from the service's because changes of this counter to
    /// them wait (needs attention); they are brought to the service's state once settled.
    pub diverging_orders: u32,
    pub roster_size: u32,
    /// Every mutation was settled and the pull finished.
    pub complete: bool,
    pub error: Option<SyncFailure>,
    pub last_success_at: Option<DateTime<Utc>>,
}

/// A mutation the service refused or found in conflict: kept with its data and the service's
/// reason until it is retried or discarded.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttentionItem {
    pub mutation_id: Uuid,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    pub order_id: OrderId,
    pub order_number: Option<String>,
    /// `order_created`, `payment_recorded`, …
    pub kind: String,
    /// `rejected` or `conflict`.
    pub status: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    /// The order total (new orders) or payment amount (payments).
    pub amount: Option<Money>,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// The order as the service holds it, when it said so (a conflict, or a change made
    /// there that this counter could not take in while this one waits).
    pub service_state: Option<ServiceState>,
}

/// An order's state on the service, as a needs-attention item shows it (no customer data).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ServiceState {
    pub status: String,
    pub version: u32,
    #[serde(default)]
    pub total: Option<Money>,
    #[serde(default)]
    pub paid: Option<Money>,
}
