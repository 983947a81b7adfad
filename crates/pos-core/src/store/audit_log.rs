//! The audit log as the owner reads it: verifying the chain, listing and filtering events
//! (with the labels of the orders, payments and staff they name), and what the sync client
//! sends next. Reading the log is itself audited (ACCESS).

use super::Store;
use crate::audit;
use crate::db::ts;
use crate::error::Result;
use crate::session::Session;

impl Store {
    /// Verifies the whole audit chain (owner or manager); the check itself is audited.
    pub async fn verify_audit_chain(&self, session: &Session) -> Result<audit::ChainReport> {
        crate::store::staff::require_approver_role(session, "verify the audit log")?;
        let mut tx = self.begin_write().await?;
        let report = audit::verify(tx.conn().await?).await?;
        self.audit_access(
            &mut tx,
            session,
            "audit_log",
            "audit.verify",
            if report.ok {
                format!("ok, {} events", report.events_checked)
            } else {
                format!("broken at seq {}", report.first_broken_seq.unwrap_or(0))
            },
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Audit events, newest first (owner or manager); the viewing is audited.
    pub async fn list_audit_events(
        &self,
        session: &Session,
        filter: audit::AuditFilter,
    ) -> Result<Vec<pos_protocol::AuditEvent>> {
        crate::store::staff::require_approver_role(session, "view the audit log")?;
        let limit = filter.limit.unwrap_or(100).clamp(1, 1000);
        let mut qb =
            sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT * FROM audit_events WHERE 1=1");
        if let Some(a) = filter.action {
            qb.push(" AND action = ").push_bind(a.as_str());
        }
        if let Some(t) = &filter.entity_type {
            qb.push(" AND entity_type = ").push_bind(t.clone());
        }
        if let Some(id) = &filter.entity_id {
            qb.push(" AND entity_id = ").push_bind(id.clone());
        }
        if let Some(a) = filter.actor_id {
            qb.push(" AND actor_id = ").push_bind(a.to_string());
        }
        if let Some(f) = filter.from {
            qb.push(" AND at >= ").push_bind(ts(&f));
        }
        if let Some(t) = filter.to {
            qb.push(" AND at < ").push_bind(ts(&t));
        }
        if let Some(b) = filter.before_seq {
            qb.push(" AND seq < ").push_bind(b as i64);
        }
        qb.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(limit));
        let mut tx = self.begin_write().await?;
        let rows = qb.build().fetch_all(tx.conn().await?).await?;
        let events = rows
            .iter()
            .map(audit::row_to_event)
            .collect::<Result<Vec<_>>>()?;
        self.audit_access(
            &mut tx,
            session,
            "audit_log",
            "audit.list",
            format!("{} events", events.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(events)
    }

    /// What a person reads for the entities `events` name: an order's number (for an order, a
    /// payment of it, or a sync change of it) and a staff member's name, by entity id. The
    /// events were read by [`Store::list_audit_events`], which audited the access.
    pub async fn audit_entity_labels(
        &self,
        events: &[pos_protocol::AuditEvent],
    ) -> Result<std::collections::BTreeMap<String, String>> {
        let ids = |t: &str| -> Vec<String> {
            events
                .iter()
                .filter(|e| e.entity_type == t)
                .filter_map(|e| e.entity_id.clone())
                .collect()
        };
        let mut labels = std::collections::BTreeMap::new();
        let mut conn = self.pool.acquire().await?;
        for (kind, sql) in [
            ("order", "SELECT id, order_number FROM orders WHERE id = ?"),
            (
                "payment",
                "SELECT p.id, o.order_number FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.id = ?",
            ),
            (
                "sync",
                "SELECT x.mutation_id, o.order_number FROM outbox x JOIN orders o ON o.id = x.order_id WHERE x.mutation_id = ?",
            ),
            ("staff", "SELECT id, name FROM staff WHERE id = ?"),
        ] {
            for id in ids(kind) {
                if labels.contains_key(&id) {
                    continue;
                }
                if let Some((k, v)) = sqlx::query_as::<_, (String, String)>(sql)
                    .bind(&id)
                    .fetch_optional(&mut *conn)
                    .await?
                {
                    labels.insert(k, v);
                }
            }
        }
        Ok(labels)
    }

    /// Audit events after `after_seq`, oldest first, for the sync client to push. Not itself
    /// audited: it is the trail leaving the device, not someone looking at it.
    pub async fn audit_events_after(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<pos_protocol::AuditEvent>> {
        let rows = sqlx::query("SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after_seq as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(audit::row_to_event).collect()
    }

    /// Pending outbox mutations, oldest first (for the sync client and tests).
    pub async fn pending_mutations(&self, limit: u32) -> Result<Vec<crate::outbox::OutboxEntry>> {
        let rows = sqlx::query("SELECT * FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| crate::outbox::decode(&self.cipher, r))
            .collect()
    }
}
