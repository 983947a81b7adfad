//! `POST /sync/push`: a device's mutations, each applied in its own transaction together with
//! its idempotency record, and its audit events, accepted only where they continue the
//! device's hash chain. Rules are re-checked here with `pos-domain` (totals, schedules,
//! balances) and approvals are re-checked against the approver's role in the roster.
//!
//! The module by concern: `push` takes the push and answers each mutation (batching,
//! savepoints, replays), `apply` applies one mutation with its checks (roster roles,
//! approvals, the ledger, payments, edits, completions, deletions), `new_order` writes a
//! pushed new order under its number, `audit_chain` stores the pushed audit events that
//! continue the device's chain, and `pull` serves `GET /sync/pull`, `POST /sync/orders` and a restored counter's
//! `POST /sync/recover`.
//! What a push shares between them is here.

mod apply;
mod audit_chain;
mod new_order;
mod pull;
mod push;

pub use pull::{__path_orders, __path_pull, __path_recover, orders, pull, recover, PullParams};
pub use push::{__path_push, push, MAX_BATCH};

use pos_domain::Role;
use std::collections::HashMap;
use uuid::Uuid;

enum Outcome {
    Applied,
    /// Applied, the new order under another number than the counter gave it.
    Renumbered(String),
    Rejected(std::borrow::Cow<'static, str>, String),
    Conflict(String, serde_json::Value),
}

fn rejected(code: &'static str, reason: impl Into<String>) -> Outcome {
    Outcome::Rejected(code.into(), reason.into())
}

/// What one push learns once and reuses: mutations already applied, roster roles.
struct PushContext {
    /// Mutations already applied, with the hash of what was applied under each id.
    seen: HashMap<Uuid, Option<Vec<u8>>>,
    /// Orders with a refused mutation in this push: their later mutations are skipped.
    blocked: std::collections::HashSet<pos_domain::OrderId>,
    roles: std::collections::HashMap<Uuid, Option<Role>>,
    /// Wrap each mutation in a savepoint (the careful second pass).
    savepoints: bool,
}
