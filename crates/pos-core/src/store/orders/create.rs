use super::record::{self, seal_customer, OrderRow, PaymentView, StaffRef};
use super::{NewOrder, OrderDetail};
use crate::audit::{self, NewEvent};
use crate::db::ts;
use crate::error::{Result, StoreError};
use crate::outbox;
use crate::search_index::Searchable;
use crate::session::Session;
use crate::store::Store;
use crate::write_tx::WriteTx;
use pos_domain::{Money, OrderId, ValidationError};
use pos_protocol::{AuditAction, FieldChange, MutationBody, OrderSnapshot, PaymentRecord};
use std::collections::HashMap;

/// `K01-20261125-0042`: counter code, business day, and a per-day sequence. The day's last
/// number is read once (from that day's id range) and then kept with the transaction heads,
/// under the write lock, so numbering writes nothing extra.
async fn next_order_number(
    tx: &mut WriteTx<'_>,
    device_code: &str,
    day: chrono::NaiveDate,
) -> Result<String> {
    let prefix = format!("{device_code}-{}-", day.format("%Y%m%d"));
    let last = match tx.heads.order_number {
        Some((d, n)) if d == day => n,
        _ => {
            let last: Option<i64> = sqlx::query_scalar(
                // the counter's own number of an order the service renumbered still counts
                "SELECT MAX(CAST(substr(n, ?) AS INTEGER)) FROM (
                    SELECT COALESCE(counter_number, order_number) AS n FROM orders WHERE id >= ? AND id < ?)
                 WHERE n >= ? AND n < ?",
            )
            .bind(prefix.len() as i64 + 1)
            .bind(super::query::day_id_floor(day))
            .bind(super::query::day_id_ceiling(day))
            .bind(&prefix)
            .bind(format!("{device_code}-{}.", day.format("%Y%m%d")))
            .fetch_one(tx.conn().await?)
            .await?;
            u32::try_from(last.unwrap_or(0)).map_err(StoreError::corrupt)?
        }
    };
    tx.heads.order_number = Some((day, last + 1));
    Ok(format!("{prefix}{:04}", last + 1))
}

impl Store {
    /// Records a new order with its items, payment terms and schedule, and optionally the
    /// first payment; its audit events and outbox mutations go in the same transaction.
    pub async fn create_order(&self, session: &Session, input: NewOrder) -> Result<OrderDetail> {
        let config = self.require_config()?;
        let currency = config.currency;
        let now = self.now();
        let today = config.business_date(now);
        let id = match input.id {
            Some(id) => {
                if let Some(existing) = self.replay_create(session, id, today).await? {
                    return Ok(existing);
                }
                // A day's orders are found by their ids' time (numbering, date filters), so a
                // caller's id must be a UUIDv7 made around now, by this store's clock.
                if !super::query::id_within_day(&id.0, today) {
                    return Err(ValidationError::new(
                        "id",
                        "invalid_id",
                        "An order id must be a UUIDv7 made today (time-ordered, by this counter's clock)",
                    )
                    .into());
                }
                id
            }
            None => OrderId::from(self.uuid_at(now)),
        };

        let valid = input.validate(currency, today)?;
        let pos_domain::draft::ValidOrder {
            channel,
            customer,
            notes,
            items,
            totals,
            terms,
            schedule,
            first_payment,
            paid,
            status,
            ..
        } = valid.clone();
        let payment = first_payment.map(|p| {
            (
                p.id.unwrap_or_else(|| self.uuid_at(now).into()),
                p.amount,
                p.method,
                p.reference,
            )
        });

        let ids = id.to_string();
        let sealed = seal_customer(
            &self.cipher,
            &ids,
            &customer,
            notes.as_deref(),
            &config.phone_country_code,
        )?;
        let actor = (session.staff_id(), session.role());
        let hlc = self.next_hlc(now);

        let mut tx = self.begin_write().await?;
        let order_number = next_order_number(&mut tx, &config.device_code, today).await?;
        // Written at commit with the payment, audit and outbox rows (one round trip).
        let q = &mut tx.deferred;
        q.push(
            "INSERT INTO orders (id, order_number, channel, status, currency, customer_name, customer_phone,
                customer_email, customer_address, notes, phone_index, email_index, items, schedule,
                subtotal_minor, discount_minor, total_minor, paid_minor, terms, business_date,
                recorded_by, last_modified_by, created_at, updated_at, version, hlc) VALUES (",
        );
        q.separated(", ")
            .push_bind(ids.clone())
            .push_bind(order_number.clone())
            .push_bind(channel.as_str())
            .push_bind(status.as_str())
            .push_bind(currency.code())
            .push_bind(sealed.name)
            .push_bind(sealed.phone)
            .push_bind(sealed.email)
            .push_bind(sealed.address)
            .push_bind(sealed.notes)
            .push_bind(sealed.phone_index.clone())
            .push_bind(sealed.email_index.clone())
            .push_bind(record::items_json(&items, currency)?)
            .push_bind(record::schedule_json(&schedule, currency)?)
            .push_bind(totals.subtotal.to_minor(currency))
            .push_bind(totals.discount.to_minor(currency))
            .push_bind(totals.total.to_minor(currency))
            .push_bind(paid.to_minor(currency))
            .push_bind(serde_json::to_string(&terms).map_err(StoreError::corrupt)?)
            .push_bind(today.to_string())
            .push_bind(session.staff_id().to_string())
            .push_bind(session.staff_id().to_string())
            .push_bind(ts(&now))
            .push_bind(ts(&now))
            .push("1")
            .push_bind(hlc.to_string());
        q.push(");\n");

        let fields = FieldChange::of_edit(&ids, &valid.created_fields());
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some(actor),
                AuditAction::Create,
                "order",
                Some(ids.clone()),
                "order.create",
            )
            .detail(order_number.clone())
            .fields(fields),
        )
        .await?;
        let snapshot = OrderSnapshot {
            id,
            order_number: order_number.clone(),
            channel,
            currency,
            customer: customer.clone(),
            items: items.clone(),
            totals,
            notes: notes.clone(),
            payment_terms: terms.clone(),
            schedule: schedule.clone(),
            business_date: today,
            created_at: now,
            recorded_by: session.staff_id(),
            version: 1,
        };
        outbox::append(
            &mut tx,
            &self.cipher,
            self.device_id,
            hlc,
            now,
            actor,
            id,
            MutationBody::OrderCreated { order: snapshot },
        )
        .await?;
        if let Some((pid, amount, method, reference)) = &payment {
            self.insert_payment(
                &mut tx,
                PaymentRecord {
                    id: *pid,
                    order_id: id,
                    amount: *amount,
                    method: *method,
                    paid_at: now,
                    recorded_by: session.staff_id(),
                    reference: reference.clone(),
                    reverses: None,
                },
                None,
                actor,
                (Money::ZERO, totals.total, false),
                currency,
                now,
                false,
            )
            .await?;
        }
        tx.commit().await?;
        self.index_order(
            id,
            None,
            Searchable {
                name: &customer.name,
                phone_index: sealed.phone_index.as_deref(),
                email_index: sealed.email_index.as_deref(),
            },
        )
        .await;
        // The detail is built from what was just written rather than read back.
        let names: HashMap<_, _> = [(session.staff_id(), session.name().to_owned())].into();
        let payments = payment
            .into_iter()
            .map(|(pid, amount, method, reference)| PaymentView {
                id: pid,
                amount: amount.amount(),
                method,
                paid_at: now,
                recorded_by: StaffRef::of(session.staff_id(), &names),
                reference,
                reverses: None,
                reversed_by: None,
                approved_by: None,
                not_on_service: false,
            })
            .collect();
        let row = OrderRow {
            id,
            order_number,
            counter_number: None,
            channel,
            status,
            currency,
            customer,
            notes,
            totals,
            paid,
            terms,
            items,
            schedule,
            business_date: today,
            recorded_by: session.staff_id(),
            last_modified_by: session.staff_id(),
            created_at: now,
            updated_at: now,
            version: 1,
            completed_at: None,
            deleted: None,
        };
        Ok(record::detail(row, payments, &names, today))
    }

    /// The same order id sent again returns the stored order (audited as a read).
    async fn replay_create(
        &self,
        session: &Session,
        id: OrderId,
        today: chrono::NaiveDate,
    ) -> Result<Option<OrderDetail>> {
        let mut tx = self.begin_write().await?;
        let Some(d) = record::load_detail(tx.conn().await?, &self.cipher, id, today).await? else {
            return Ok(None);
        };
        audit::append(
            &mut tx,
            self.device_id,
            self.now(),
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Read,
                "order",
                Some(id.to_string()),
                "order.create.replay",
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(d))
    }

    /// Keeps the in-memory search index (when loaded) current after a committed write.
    pub(crate) async fn index_order(
        &self,
        id: OrderId,
        old: Option<Searchable<'_>>,
        new: Searchable<'_>,
    ) {
        let mut g = self.search.lock().await;
        if let Some(ix) = g.as_mut() {
            ix.upsert(id, old, new);
        }
    }
}
