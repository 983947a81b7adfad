//! Audit events: append-only and hash-chained per device. The hash is computed over a
//! canonical JSON form of every field but the hash itself, so the desktop and the service
//! verify a chain the same way.

use chrono::{DateTime, Utc};
use pos_domain::{Role, StaffId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `prev_hash` of a device's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuditAction {
    Create,
    Read,
    Update,
    Delete,
    /// Lists, searches, exports, logins, approvals and failed approvals.
    Access,
    Payment,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Create => "CREATE",
            AuditAction::Read => "READ",
            AuditAction::Update => "UPDATE",
            AuditAction::Delete => "DELETE",
            AuditAction::Access => "ACCESS",
            AuditAction::Payment => "PAYMENT",
        }
    }
}

impl std::str::FromStr for AuditAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "CREATE" => Ok(Self::Create),
            "READ" => Ok(Self::Read),
            "UPDATE" => Ok(Self::Update),
            "DELETE" => Ok(Self::Delete),
            "ACCESS" => Ok(Self::Access),
            "PAYMENT" => Ok(Self::Payment),
            other => Err(format!("unknown audit action {other:?}")),
        }
    }
}

/// A changed field: its name and SHA-256 hashes (hex) of the old and new values, never the
/// values themselves.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_hash: Option<String>,
}

impl FieldChange {
    /// Hashes a field value bound to its entity and field name, so equal values on different
    /// records do not share a hash.
    pub fn hash_value(entity_id: &str, field: &str, value: &str) -> String {
        let mut h = Sha256::new();
        h.update(entity_id.as_bytes());
        h.update([0x1f]);
        h.update(field.as_bytes());
        h.update([0x1f]);
        h.update(value.as_bytes());
        hex::encode(h.finalize())
    }

    pub fn new(entity_id: &str, field: &str, old: Option<&str>, new: Option<&str>) -> Self {
        FieldChange {
            field: field.to_owned(),
            old_hash: old.map(|v| Self::hash_value(entity_id, field, v)),
            new_hash: new.map(|v| Self::hash_value(entity_id, field, v)),
        }
    }

    /// The audit record of an edit's changes ([`pos_domain::edit::changes`]) to `entity_id`.
    pub fn of_edit(entity_id: &str, changes: &[pos_domain::edit::Change]) -> Vec<Self> {
        changes
            .iter()
            .map(|c| Self::new(entity_id, c.field, c.old.as_deref(), c.new.as_deref()))
            .collect()
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: Uuid,
    pub device_id: Uuid,
    /// 1, 2, 3, … per device, without gaps.
    pub seq: u64,
    #[serde(with = "crate::time")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub actor_id: Option<StaffId>,
    pub actor_role: Option<Role>,
    pub action: AuditAction,
    /// `order`, `payment`, `staff`, `session`, `audit_log`, `settings`.
    pub entity_type: String,
    pub entity_id: Option<String>,
    /// What happened, e.g. `order.create`, `order.list`, `login.failed`, `approval.granted`.
    pub operation: String,
    /// Non-personal detail, e.g. a filter summary or a failure reason code.
    pub detail: Option<String>,
    pub fields: Vec<FieldChange>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Serialize)]
struct Canonical<'a> {
    id: &'a Uuid,
    device_id: &'a Uuid,
    seq: u64,
    at: String,
    actor_id: &'a Option<StaffId>,
    actor_role: &'a Option<Role>,
    action: AuditAction,
    entity_type: &'a str,
    entity_id: &'a Option<String>,
    operation: &'a str,
    detail: &'a Option<String>,
    fields: &'a [FieldChange],
    prev_hash: &'a str,
}

/// An audit event as a program records it (SPEC §5.3), before it takes its place in a chain:
/// who did what to which entity, with the changed fields. [`NewEvent::chained`] gives it its
/// id, device, sequence number, time and hashes. The counter and the service build their
/// events with it alike.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub actor: Option<(StaffId, Role)>,
    pub action: AuditAction,
    pub entity_type: &'static str,
    pub entity_id: Option<String>,
    pub operation: &'static str,
    pub detail: Option<String>,
    pub fields: Vec<FieldChange>,
}

impl NewEvent {
    pub fn new(
        actor: Option<(StaffId, Role)>,
        action: AuditAction,
        entity_type: &'static str,
        entity_id: Option<String>,
        operation: &'static str,
    ) -> Self {
        NewEvent {
            actor,
            action,
            entity_type,
            entity_id,
            operation,
            detail: None,
            fields: Vec::new(),
        }
    }

    /// An event whose actor is the staff member `actor` (id, role).
    pub fn by(
        actor: (Uuid, Role),
        action: AuditAction,
        entity_type: &'static str,
        entity_id: Option<String>,
        operation: &'static str,
    ) -> Self {
        Self::new(
            Some((StaffId(actor.0), actor.1)),
            action,
            entity_type,
            entity_id,
            operation,
        )
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    pub fn fields(mut self, f: Vec<FieldChange>) -> Self {
        self.fields = f;
        self
    }

    /// The event as the next of a chain on `device_id` whose last event is `prev` (its
    /// sequence number and hash; `(0, GENESIS_HASH)` for a new chain): numbered and sealed.
    /// `at` is kept to the precision the chain stores ([`crate::time::truncate`]).
    pub fn chained(
        self,
        id: Uuid,
        device_id: Uuid,
        at: DateTime<Utc>,
        prev: (u64, &str),
    ) -> AuditEvent {
        let mut e = AuditEvent {
            id,
            device_id,
            seq: prev.0 + 1,
            at: crate::time::truncate(at),
            actor_id: self.actor.map(|a| a.0),
            actor_role: self.actor.map(|a| a.1),
            action: self.action,
            entity_type: self.entity_type.to_owned(),
            entity_id: self.entity_id,
            operation: self.operation.to_owned(),
            detail: self.detail,
            fields: self.fields,
            prev_hash: String::new(),
            hash: String::new(),
        };
        e.seal(prev.1);
        e
    }
}

impl AuditEvent {
    /// The hash this event must carry: SHA-256 over its canonical form (which includes
    /// `prev_hash`).
    pub fn compute_hash(&self) -> String {
        let c = Canonical {
            id: &self.id,
            device_id: &self.device_id,
            seq: self.seq,
            at: crate::time::format(&self.at),
            actor_id: &self.actor_id,
            actor_role: &self.actor_role,
            action: self.action,
            entity_type: &self.entity_type,
            entity_id: &self.entity_id,
            operation: &self.operation,
            detail: &self.detail,
            fields: &self.fields,
            prev_hash: &self.prev_hash,
        };
        // Serialising a struct of plain fields cannot fail.
        let bytes = serde_json::to_vec(&c).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// Sets `prev_hash` and `hash` so the event continues a chain.
    pub fn seal(&mut self, prev_hash: &str) {
        self.prev_hash = prev_hash.to_owned();
        self.hash = self.compute_hash();
    }
}

/// Where and why a chain stopped verifying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {reason}")]
pub struct ChainBreak {
    pub seq: u64,
    pub reason: String,
}

/// Verifies events of one device in order, continuing from `(prev_seq, prev_hash)` (use
/// `(0, GENESIS_HASH)` from the start). Returns the first broken link.
pub fn verify_chain<'a>(
    events: impl IntoIterator<Item = &'a AuditEvent>,
    prev_seq: u64,
    prev_hash: &str,
) -> Result<(u64, String), ChainBreak> {
    let mut seq = prev_seq;
    let mut hash = prev_hash.to_owned();
    for e in events {
        if e.seq != seq + 1 {
            return Err(ChainBreak {
                seq: seq + 1,
                reason: format!("expected seq {} but found {}", seq + 1, e.seq),
            });
        }
        if e.prev_hash != hash {
            return Err(ChainBreak {
                seq: e.seq,
                reason: "previous hash does not match the event before it".into(),
            });
        }
        if e.compute_hash() != e.hash {
            return Err(ChainBreak {
                seq: e.seq,
                reason: "event content does not match its hash".into(),
            });
        }
        seq = e.seq;
        hash = e.hash.clone();
    }
    Ok((seq, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64) -> AuditEvent {
        AuditEvent {
            id: Uuid::from_u128(u128::from(seq)),
            device_id: Uuid::nil(),
            seq,
            at: crate::time::truncate(
                chrono::DateTime::from_timestamp(1_795_000_000 + seq as i64, 0).unwrap_or_default(),
            ),
            actor_id: None,
            actor_role: Some(Role::Owner),
            action: AuditAction::Access,
            entity_type: "session".into(),
            entity_id: None,
            operation: "login".into(),
            detail: None,
            fields: vec![],
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn chain(n: u64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|s| {
                let mut e = ev(s);
                e.seal(&prev);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn detects_edit_gap_and_reorder() {
        let c = chain(5);
        assert_eq!(verify_chain(&c, 0, GENESIS_HASH).unwrap().0, 5);
        let mut edited = c.clone();
        edited[2].operation = "order.delete".into();
        assert_eq!(verify_chain(&edited, 0, GENESIS_HASH).unwrap_err().seq, 3);
        let mut gap = c.clone();
        gap.remove(1);
        assert_eq!(verify_chain(&gap, 0, GENESIS_HASH).unwrap_err().seq, 2);
        // a survives a JSON round trip
        let json = serde_json::to_string(&c).unwrap();
        let back: Vec<AuditEvent> = serde_json::from_str(&json).unwrap();
        assert!(verify_chain(&back, 0, GENESIS_HASH).is_ok());
    }
}
