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
