//! The sync protocol's requests and answers (SPEC §4).

use crate::{AuditEvent, ChainBreak, Mutation};
use chrono::{DateTime, Utc};
use pos_domain::{Role, StaffId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A local staff member adopted into the tenant's roster at pairing (same id, role and PIN
/// verifier), and the roster entries pulled back to every device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRecord {
    pub id: StaffId,
    pub name: String,
    pub role: Role,
    /// argon2id PHC string of the PIN; absent for staff without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_verifier: Option<String>,
    pub active: bool,
}

/// The largest `POST /sync/push` body the service accepts, in bytes (64 MiB).
pub const MAX_PUSH_BYTES: usize = 64 * 1024 * 1024;

/// How many bytes of JSON a counter puts in one push by default (4 MiB): far below
/// [`MAX_PUSH_BYTES`], so a push is quick to send again on a poor connection. A counter halves
/// its budget when the service answers 413, down to one mutation per push.
pub const PUSH_BUDGET_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairRequest {
    pub code: String,
    /// The counter's own device id (its mutations and audit chain already carry it); the
    /// service keeps it unless another device has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
    pub name: String,
    /// The counter's order-number prefix, e.g. `K01`; unique within the tenant.
    pub device_code: String,
    /// The counter's currency; a counter whose currency is not its shop's is refused, so no
    /// amount is ever summed in the wrong unit.
    pub currency: pos_domain::Currency,
    #[serde(default)]
    pub staff: Vec<StaffRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairResponse {
    pub tenant_id: Uuid,
    pub device_id: Uuid,
    /// Shown once; the device keeps it in the OS keyring.
    pub device_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceTokenRequest {
    pub device_id: Uuid,
    pub device_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushRequest {
    pub mutations: Vec<Mutation>,
    #[serde(default)]
    pub audit_events: Vec<AuditEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationStatus {
    /// Applied now.
    Applied,
    /// Already applied before: the same answer as then.
    Duplicate,
    /// A rule was violated; `reason` says which. Not applied.
    Rejected,
    /// The order changed on the server meanwhile; `current` is its state. Not applied.
    Conflict,
    /// Not looked at: an earlier mutation of the same order in this push was rejected or in
    /// conflict, and an order's changes apply in order. Still queued; send it again once the
    /// earlier one is settled.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationResult {
    pub mutation_id: Uuid,
    pub status: MutationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<serde_json::Value>,
    /// For a new order: the number the service gave it, when that is not the counter's (the
    /// counter's was taken, e.g. by a counter restored from an older copy). The counter adopts
    /// it and keeps its own as a reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditAck {
    /// The device's chain is stored up to and including this sequence number.
    pub accepted_through: u64,
    /// The first event that did not continue the chain, if any (it and the rest were refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<ChainBreak>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    pub audit: AuditAck,
    pub server_time: DateTime<Utc>,
}

/// An order's state on the service after a central change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentralOrderState {
    pub status: pos_domain::OrderStatus,
    pub total: pos_domain::Money,
    pub paid: pos_domain::Money,
    pub version: u32,
}

/// One change made centrally (by another device or through the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentralChange {
    pub seq: i64,
    /// `order.created`, `order.updated`, `order.completed`, `order.deleted`,
    /// `payment.recorded`, `payment.reversed`.
    #[serde(rename = "type")]
    pub kind: String,
    pub order_id: pos_domain::OrderId,
    pub order: CentralOrderState,
    /// The ledger entry, for payment changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<crate::PaymentRecord>,
    /// Who approved a reversing entry, and why (for `payment` reversals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversal_approval: Option<crate::Approval>,
    /// Who deleted the order and who approved it, for deletions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion: Option<CentralDeletion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentralDeletion {
    pub deleted_by: StaffId,
    #[serde(with = "crate::time")]
    pub deleted_at: DateTime<Utc>,
    pub approval: crate::Approval,
}

/// One ledger entry as the service holds it, with the approval a reversing entry carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentralPayment {
    #[serde(flatten)]
    pub payment: crate::PaymentRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::Approval>,
}

/// An order as the service holds it now, whole: what a counter converges to (issue 15,
/// item 6). Sent to the paired counters of its tenant only (the customer in the clear, over
/// TLS; the counter stores it encrypted under its own key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentralOrder {
    pub id: pos_domain::OrderId,
    pub order_number: String,
    pub status: pos_domain::OrderStatus,
    pub version: u32,
    pub customer: pos_domain::Customer,
    pub items: Vec<pos_domain::LineItem>,
    pub totals: pos_domain::Totals,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub schedule: Vec<pos_domain::ScheduleEntry>,
    pub paid: pos_domain::Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion: Option<CentralDeletion>,
    /// The whole ledger, oldest first.
    pub payments: Vec<CentralPayment>,
}

/// `POST /sync/orders`: the service's state of these orders (a counter asks again for orders
/// it could not converge while it had changes of its own waiting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersRequest {
    pub ids: Vec<pos_domain::OrderId>,
}

/// The answer to [`OrdersRequest`]: the orders the service holds (unknown ids are left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersResponse {
    pub orders: Vec<CentralOrder>,
}

/// `POST /sync/recover`: a counter restored from a backup asks for what it recorded after the
/// backup and synced before its disk was lost: its own audit events after `audit_after` (the
/// backup's newest) and the orders its own changes after `changes_after` (the backup's pull
/// cursor) concern. Paged: asked again with the answer's positions until `done`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverRequest {
    pub audit_after: u64,
    pub changes_after: i64,
}

/// The answer to [`RecoverRequest`]: up to [`RECOVER_AUDIT_PAGE`] of the device's audit events
/// after `audit_after`, in order, and the whole orders its changes after `changes_after` (up
/// to [`RECOVER_CHANGES_PAGE`] changes scanned) concern, with where to go on from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverResponse {
    pub audit: Vec<AuditEvent>,
    pub orders: Vec<RecoveredOrder>,
    pub next_changes_after: i64,
    /// Nothing more after this page (of either kind).
    pub done: bool,
}

/// The most audit events one [`RecoverResponse`] carries.
pub const RECOVER_AUDIT_PAGE: usize = 1000;
/// The most changes one [`RecoverRequest`] scans for the device's orders.
pub const RECOVER_CHANGES_PAGE: usize = 500;

/// An order a restored counter no longer holds, whole: the service's state of it and what the
/// counter recorded when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveredOrder {
    pub order: CentralOrder,
    pub channel: pos_domain::Channel,
    pub payment_terms: pos_domain::PaymentTerms,
    pub business_date: chrono::NaiveDate,
    /// The counter's own creation time (as it claimed it).
    pub created_at: DateTime<Utc>,
    pub recorded_by: StaffId,
    pub last_modified_by: StaffId,
    /// The counter's own number, when the service gave the order another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter_number: Option<String>,
}

/// The most order ids one [`OrdersRequest`] may name.
pub const MAX_ORDERS_PER_REQUEST: usize = 500;

/// `GET /sync/pull?cursor=` → what changed centrally since the cursor and did not come from
/// this device, the tenant's roster (authoritative once paired) and the server time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub changes: Vec<CentralChange>,
    pub next_cursor: i64,
    pub roster: Vec<StaffRecord>,
    pub server_time: DateTime<Utc>,
    /// The shop's IANA time zone: a paired counter keeps its business days in it, so counter
    /// and service agree on every order's day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The orders these changes concern, as the service holds them now (each once).
    #[serde(default)]
    pub orders: Vec<CentralOrder>,
}
