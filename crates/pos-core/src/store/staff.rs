//! Staff, roles, PIN login with lockout, and owner/manager approvals.

use crate::audit::{self, NewEvent};
use crate::db::{parse_ts, ts};
use crate::error::{Result, StoreError};
use crate::pin::Pin;
use crate::session::Session;
use crate::store::{ShopConfig, Store};
use chrono::{DateTime, Utc};
use pos_domain::{Currency, Role, StaffId};
use pos_protocol::{AuditAction, FieldChange};
use serde::{Deserialize, Serialize};
use sqlx::{Row, SqliteConnection};

/// Wrong PINs and how long they lock a user out (the shared rule).
pub const PIN_LOCKOUT: pos_domain::Lockout = pos_domain::Lockout::COUNTER_PIN;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Deserialize)]
pub struct SetupInput {
    pub shop_name: String,
    pub currency: Currency,
    pub owner_name: String,
    /// Defaults to `K01`.
    pub device_code: Option<String>,
    /// Defaults to 62 (Indonesia).
    pub phone_country_code: Option<String>,
    /// Defaults to the machine's current offset.
    pub utc_offset_minutes: Option<i32>,
}

/// A staff member as shown on the login and staff screens (no PIN verifier).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffMember {
    pub id: StaffId,
    pub name: String,
    pub role: Role,
    /// May approve a cashier's deletion (the approval dialog lists these).
    pub can_approve: bool,
    pub active: bool,
    pub locked_until: Option<DateTime<Utc>>,
}

/// A manager's or owner's PIN entered on the spot to approve something.
#[derive(Debug, Deserialize)]
pub struct ApprovalInput {
    pub approver_id: StaffId,
    pub pin: Pin,
}

pub(crate) fn require_approver_role(session: &Session, what: &str) -> Result<()> {
    if session.role().can_approve() {
        Ok(())
    } else {
        Err(StoreError::Forbidden {
            message: format!("Only an owner or manager may {what}"),
        })
    }
}

struct StaffRow {
    id: StaffId,
    name: String,
    role: Role,
    active: bool,
    pin_hash: String,
    failed: u32,
    locked_until: Option<DateTime<Utc>>,
}

async fn load_staff(conn: &mut SqliteConnection, id: StaffId) -> Result<Option<StaffRow>> {
    let Some(r) = sqlx::query("SELECT * FROM staff WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(StaffRow {
        id,
        name: r.get("name"),
        role: r
            .get::<String, _>("role")
            .parse()
            .map_err(StoreError::corrupt)?,
        active: r.get::<i64, _>("active") == 1,
        pin_hash: r.get("pin_hash"),
        failed: r.get::<i64, _>("failed_attempts") as u32,
        locked_until: r
            .get::<Option<String>, _>("locked_until")
            .map(|s| parse_ts(&s))
            .transpose()?,
    }))
}

/// Which PIN check this is, for the audit trail.
#[derive(Clone, Copy)]
enum PinPurpose {
    Login,
    Approval(&'static str),
}

impl Store {
    /// First-run setup: the shop's settings and its owner. Returns the owner's session.
    pub async fn setup(&self, input: SetupInput, owner_pin: Pin) -> Result<Session> {
        // not while a restore is being checked and staged (it would replace this shop)
        let _maintenance = self.maintenance.lock().await;
        if self.config().is_some() {
            return Err(StoreError::AlreadySetUp);
        }
        if self.restore_staged() {
            return Err(crate::error::BackupError::RestoreStaged.into());
        }
        let now = self.now();
        let config = ShopConfig {
            shop_name: input.shop_name.trim().to_owned(),
            currency: input.currency,
            device_code: input
                .device_code
                .map(|c| c.trim().to_uppercase())
                .unwrap_or_else(|| "K01".into()),
            phone_country_code: input
                .phone_country_code
                .map(|c| c.trim().trim_start_matches('+').to_owned())
                .unwrap_or_else(|| "62".into()),
            utc_offset_minutes: input.utc_offset_minutes.unwrap_or_else(|| {
                use chrono::TimeZone;
                chrono::Local
                    .offset_from_utc_datetime(&self.now().naive_utc())
                    .local_minus_utc()
                    / 60
            }),
            time_zone: None,
        };
        config.validate()?;
        let owner_name = pos_domain::staff::name("owner_name", &input.owner_name)?;
        let pin = owner_pin;
        let pin_hash = crate::pin::on_pin_thread(move || pin.hash()).await?;
        let owner = StaffId::from(self.uuid_at(self.now()));
        let mut tx = self.begin_write().await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settings WHERE key = 'shop'")
            .fetch_one(tx.conn().await?)
            .await?;
        if existing > 0 {
            return Err(StoreError::AlreadySetUp);
        }
        sqlx::query("INSERT INTO settings (key, value) VALUES ('shop', ?)")
            .bind(serde_json::to_string(&config).map_err(StoreError::corrupt)?)
            .execute(tx.conn().await?)
            .await?;
        sqlx::query(
            "INSERT INTO staff (id, name, role, pin_hash, created_at, updated_at) VALUES (?, ?, 'owner', ?, ?, ?)",
        )
        .bind(owner.to_string())
        .bind(&owner_name)
        .bind(&pin_hash)
        .bind(ts(&now))
        .bind(ts(&now))
        .execute(tx.conn().await?)
        .await?;
        let actor = Some((owner, Role::Owner));
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(actor, AuditAction::Create, "settings", None, "shop.setup").fields(vec![
                FieldChange::new("shop", "shop_name", None, Some(&config.shop_name)),
                FieldChange::new("shop", "currency", None, Some(config.currency.code())),
            ]),
        )
        .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                actor,
                AuditAction::Create,
                "staff",
                Some(owner.to_string()),
                "staff.create",
            )
            .detail("role=owner"),
        )
        .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                actor,
                AuditAction::Access,
                "session",
                Some(owner.to_string()),
                "login",
            ),
        )
        .await?;
        tx.commit().await?;
        self.set_config(config);
        Ok(Session::new(owner, owner_name, Role::Owner))
    }

    /// Staff for the login screen. Not audited: it shows no customer data.
    pub async fn list_staff(&self) -> Result<Vec<StaffMember>> {
        let rows =
            sqlx::query("SELECT * FROM staff ORDER BY role = 'cashier', role = 'manager', name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let role: Role = r
                    .get::<String, _>("role")
                    .parse()
                    .map_err(StoreError::corrupt)?;
                Ok(StaffMember {
                    id: r
                        .get::<String, _>("id")
                        .parse()
                        .map_err(StoreError::corrupt)?,
                    name: r.get("name"),
                    role,
                    can_approve: role.can_approve(),
                    active: r.get::<i64, _>("active") == 1,
                    locked_until: r
                        .get::<Option<String>, _>("locked_until")
                        .map(|s| parse_ts(&s))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The local roster with PIN verifiers, for pairing (the owner only; audited). The service
    /// adopts these staff with the same ids, roles and verifiers.
    pub async fn staff_for_pairing(
        &self,
        session: &Session,
    ) -> Result<Vec<pos_protocol::StaffRecord>> {
        if !session.role().can_manage_staff() {
            return Err(StoreError::Forbidden {
                message: "Only the owner may pair this counter".into(),
            });
        }
        let mut tx = self.begin_write().await?;
        let rows =
            sqlx::query("SELECT id, name, role, pin_hash, active FROM staff ORDER BY created_at")
                .fetch_all(tx.conn().await?)
                .await?;
        let staff = rows
            .iter()
            .map(|r| {
                Ok(pos_protocol::StaffRecord {
                    id: r
                        .get::<String, _>("id")
                        .parse()
                        .map_err(StoreError::corrupt)?,
                    name: r.get("name"),
                    role: r
                        .get::<String, _>("role")
                        .parse()
                        .map_err(StoreError::corrupt)?,
                    pin_verifier: Some(r.get("pin_hash")),
                    active: r.get::<i64, _>("active") == 1,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.audit_access(
            &mut tx,
            session,
            "staff",
            "staff.export_for_pairing",
            format!("{} staff", staff.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(staff)
    }

    /// The owner adds a manager or cashier — on a counter not paired with the shop's service.
    /// Once paired, the shop's roster on the service is authoritative (SPEC §4): staff are added
    /// there and reach the counter at its next sync; one added here would be unknown to the
    /// service, and every order they took refused at sync.
    pub async fn add_staff(
        &self,
        session: &Session,
        name: &str,
        role: Role,
        pin: Pin,
    ) -> Result<StaffMember> {
        self.require_config()?;
        if !session.role().can_manage_staff() {
            return Err(StoreError::Forbidden {
                message: "Only the owner may add staff".into(),
            });
        }
        if self.pairing().await?.is_some() {
            return Err(StoreError::Conflict {
                code: "roster_is_central",
                message: "This counter is paired with the shop's service: add staff there (with their PIN); they reach this counter at its next sync".into(),
            });
        }
        let name = pos_domain::staff::name("name", name)?;
        let role = pos_domain::staff::new_role(role)?;
        let pin_hash = crate::pin::on_pin_thread(move || pin.hash()).await?;
        let now = self.now();
        let id = StaffId::from(self.uuid_at(now));
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO staff (id, name, role, pin_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&name)
        .bind(role.as_str())
        .bind(&pin_hash)
        .bind(ts(&now))
        .bind(ts(&now))
        .execute(tx.conn().await?)
        .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Create,
                "staff",
                Some(id.to_string()),
                "staff.create",
            )
            .detail(format!("role={role}")),
        )
        .await?;
        tx.commit().await?;
        Ok(StaffMember {
            id,
            name,
            role,
            can_approve: role.can_approve(),
            active: true,
            locked_until: None,
        })
    }

    /// PIN login. Wrong PINs are audited and counted; [`PIN_LOCKOUT`] says when they lock the
    /// user out and for how long.
    pub async fn login(&self, staff_id: StaffId, pin: Pin) -> Result<Session> {
        self.require_config()?;
        let s = self.check_pin(staff_id, pin, PinPurpose::Login).await?;
        Ok(Session::new(s.id, s.name, s.role))
    }

    /// Records a logout (or a switch of user) in the audit trail.
    pub async fn logout(&self, session: &Session) -> Result<()> {
        let mut tx = self.begin_write().await?;
        audit::append(
            &mut tx,
            self.device_id,
            self.now(),
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Access,
                "session",
                Some(session.staff_id().to_string()),
                "logout",
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks an owner's or manager's PIN for `what` (e.g. `order.delete`). A wrong PIN, a
    /// locked user or a cashier's PIN is refused and the failure audited.
    pub(crate) async fn verify_approval(
        &self,
        input: ApprovalInput,
        what: &'static str,
    ) -> Result<(StaffId, Role)> {
        let s = self
            .check_pin(input.approver_id, input.pin, PinPurpose::Approval(what))
            .await?;
        Ok((s.id, s.role))
    }

    /// Records a refused PIN check in its own transaction, so the refusal stays in the trail.
    async fn audit_refusal(
        &self,
        actor: Option<(StaffId, Role)>,
        staff: StaffId,
        operation: &'static str,
        detail: String,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        audit::append(
            &mut tx,
            self.device_id,
            self.now(),
            NewEvent::new(
                actor,
                AuditAction::Access,
                "session",
                Some(staff.to_string()),
                operation,
            )
            .detail(detail),
        )
        .await?;
        tx.commit().await
    }

    async fn check_pin(
        &self,
        staff_id: StaffId,
        pin: Pin,
        purpose: PinPurpose,
    ) -> Result<StaffRow> {
        let mut conn = self.pool.acquire().await?;
        let row = load_staff(&mut conn, staff_id).await?;
        drop(conn);
        let now = self.now();
        let (fail_op, ok_op) = match purpose {
            PinPurpose::Login => ("login.failed", "login"),
            PinPurpose::Approval(_) => ("approval.failed", "approval.granted"),
        };
        let detail_for = |reason: &str| match purpose {
            PinPurpose::Login => reason.to_owned(),
            PinPurpose::Approval(what) => format!("{what}: {reason}"),
        };
        let Some(row) = row.filter(|r| r.active) else {
            self.audit_refusal(
                None,
                staff_id,
                fail_op,
                detail_for("unknown_or_inactive_user"),
            )
            .await?;
            return Err(StoreError::NotFound {
                entity: "staff member",
            });
        };
        let actor = Some((row.id, row.role));
        if let Some(until) = row.locked_until.filter(|u| *u > now) {
            self.audit_refusal(actor, row.id, fail_op, detail_for("locked_out"))
                .await?;
            return Err(StoreError::LockedOut { until });
        }
        let hash = row.pin_hash.clone();
        let ok = crate::pin::on_pin_thread(move || pin.verify(&hash)).await?;
        let role_ok = match purpose {
            PinPurpose::Login => true,
            PinPurpose::Approval(_) => row.role.can_approve(),
        };
        let mut tx = self.begin_write().await?;
        if ok && role_ok {
            sqlx::query("UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE id = ?")
                .bind(row.id.to_string())
                .execute(tx.conn().await?)
                .await?;
            let mut ev = NewEvent::new(
                actor,
                AuditAction::Access,
                "session",
                Some(row.id.to_string()),
                ok_op,
            );
            if let PinPurpose::Approval(what) = purpose {
                ev = ev.detail(what);
            }
            audit::append(&mut tx, self.device_id, now, ev).await?;
            tx.commit().await?;
            return Ok(row);
        }
        if ok && !role_ok {
            drop(tx);
            self.audit_refusal(actor, row.id, fail_op, detail_for("role_not_allowed"))
                .await?;
            return Err(StoreError::Forbidden {
                message: format!(
                    "{} is a {}; only an owner or manager can approve",
                    row.name, row.role
                ),
            });
        }
        let failure = PIN_LOCKOUT.after_failure(row.failed, now);
        let locked_until = failure.locked_until;
        sqlx::query("UPDATE staff SET failed_attempts = ?, locked_until = ? WHERE id = ?")
            .bind(i64::from(failure.failures))
            .bind(locked_until.as_ref().map(ts))
            .bind(row.id.to_string())
            .execute(tx.conn().await?)
            .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                actor,
                AuditAction::Access,
                "session",
                Some(row.id.to_string()),
                fail_op,
            )
            .detail(detail_for(if locked_until.is_some() {
                "wrong_pin_locked"
            } else {
                "wrong_pin"
            })),
        )
        .await?;
        tx.commit().await?;
        match locked_until {
            Some(until) => Err(StoreError::LockedOut { until }),
            None => Err(StoreError::WrongPin {
                attempts_left: failure.attempts_left,
            }),
        }
    }
}
