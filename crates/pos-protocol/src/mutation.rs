//! Outbox mutations: what a device records with every change, in the same transaction, and
//! later pushes to the service. The mutation id is the idempotency key of the push.

use chrono::{DateTime, NaiveDate, Utc};
use pos_domain::{
    Channel, Currency, Customer, Hlc, LineItem, OrderId, PaymentId, PaymentMethod, PaymentTerms,
    Role, ScheduleEntry, StaffId, Totals,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An owner's or manager's approval of a cashier's (or their own) deletion or reversal. The
/// service re-checks that the approver holds `approver_role`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub approver_id: StaffId,
    pub approver_role: Role,
    pub reason: String,
    #[serde(with = "crate::time")]
    pub approved_at: DateTime<Utc>,
}

/// One ledger entry. Reversals carry a negative amount and name the entry they reverse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub amount: pos_domain::Money,
    pub method: PaymentMethod,
    #[serde(with = "crate::time")]
    pub paid_at: DateTime<Utc>,
    pub recorded_by: StaffId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<PaymentId>,
}

/// An order as created on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSnapshot {
    pub id: OrderId,
    pub order_number: String,
    pub channel: Channel,
    pub currency: Currency,
    pub customer: Customer,
    pub items: Vec<LineItem>,
    pub totals: Totals,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub payment_terms: PaymentTerms,
    pub schedule: Vec<ScheduleEntry>,
    pub business_date: NaiveDate,
    #[serde(with = "crate::time")]
    pub created_at: DateTime<Utc>,
    pub recorded_by: StaffId,
    pub version: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MutationBody {
    OrderCreated {
        order: OrderSnapshot,
    },
    /// The order's new editable state, made from `base_version`.
    OrderUpdated {
        base_version: u32,
        version: u32,
        customer: Customer,
        items: Vec<LineItem>,
        totals: Totals,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
        schedule: Vec<ScheduleEntry>,
    },
    PaymentRecorded {
        payment: PaymentRecord,
    },
    PaymentReversed {
        payment: PaymentRecord,
        approval: Approval,
    },
    OrderCompleted {
        #[serde(with = "crate::time")]
        completed_at: DateTime<Utc>,
    },
    OrderDeleted {
        approval: Approval,
        #[serde(with = "crate::time")]
        deleted_at: DateTime<Utc>,
    },
}

impl MutationBody {
    pub fn kind(&self) -> &'static str {
        match self {
            MutationBody::OrderCreated { .. } => "order_created",
            MutationBody::OrderUpdated { .. } => "order_updated",
            MutationBody::PaymentRecorded { .. } => "payment_recorded",
            MutationBody::PaymentReversed { .. } => "payment_reversed",
            MutationBody::OrderCompleted { .. } => "order_completed",
            MutationBody::OrderDeleted { .. } => "order_deleted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutation {
    pub mutation_id: Uuid,
    pub device_id: Uuid,
    /// 1, 2, 3, … per device.
    pub seq: u64,
    pub hlc: Hlc,
    pub actor_id: StaffId,
    pub actor_role: Role,
    pub order_id: OrderId,
    pub body: MutationBody,
}
