//! A new order recorded through the API, ready to be written ([`NewOrder`]), and the one
//! statement that writes any number of them with their first payments, audit events and
//! outbox events ([`insert_orders`]) — alone or group-committed (`crate::group_commit`).

use crate::audit::{self, NewEvent};
use crate::db::payments::{NewPayment, PaymentColumns};
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, NaiveDate, Utc};
use pos_domain::{
    Channel, Currency, Customer, LineItem, Money, OrderStatus, PaymentTerms, ScheduleEntry,
};
use pos_protocol::DomainEvent;
use sqlx::Row;
use uuid::Uuid;

/// What an order recorded through the API is (`order_type`).
pub(crate) const API_ORDER_TYPE: &str = "offline";

/// An order ready to be written: validated, priced, numbered and sealed. Its audit events are
/// sealed on the chain of the transaction that writes it ([`insert_orders`]), so the same
/// order can be written again after a failed attempt. The response is built from these values
/// ([`NewOrder::view`]), not read back.
pub(crate) struct NewOrder {
    pub(crate) tenant: Uuid,
    pub(crate) id: Uuid,
    pub(crate) payment: Option<NewPayment>,
    pub(crate) actor: (Uuid, pos_domain::Role),
    pub(crate) order_number: String,
    pub(crate) channel: Channel,
    pub(crate) status: OrderStatus,
    pub(crate) currency: Currency,
    pub(crate) customer: Customer,
    pub(crate) notes: Option<String>,
    pub(crate) sealed: pos_crypto::customer::SealedCustomer,
    pub(crate) keys: pos_crypto::customer::SearchKeys,
    pub(crate) items: Vec<LineItem>,
    pub(crate) schedule: Vec<ScheduleEntry>,
    pub(crate) terms: PaymentTerms,
    pub(crate) subtotal: Money,
    pub(crate) discount: Money,
    pub(crate) total: Money,
    pub(crate) paid: Money,
    pub(crate) at: DateTime<Utc>,
    /// The day `at` falls on in the tenant's time zone.
    pub(crate) business_date: NaiveDate,
    pub(crate) events: Vec<NewEvent>,
    pub(crate) outbox: Vec<DomainEvent>,
}

impl NewOrder {
    pub(crate) fn has_payment(&self) -> bool {
        self.payment.is_some()
    }

    /// What this order counts as in the metrics, once written.
    pub(crate) fn counted(&self) -> crate::metrics::Count {
        crate::metrics::Count::Created {
            with_payment: self.has_payment(),
            paid_in_full: self.paid == self.total,
        }
    }
}

/// Writes `orders` (all of one tenant, the tenant of `tx`) in one statement: the order rows,
/// the first payments of those inserted, and every order's audit events (sealed now, on the
/// chain `tx` holds) and outbox events. An order whose id is already taken is not inserted
/// (nor its payment); the caller rolls back if that leaves its audit rows without an order.
/// Returns the ids of the orders inserted.
pub(crate) async fn insert_orders(tx: &mut Tx, orders: &[NewOrder]) -> ApiResult<Vec<Uuid>> {
    for o in orders {
        for e in &o.events {
            audit::record(tx, e.clone());
        }
        for event in &o.outbox {
            tx.outbox(event.clone());
        }
    }
    // One array parameter per column (`unnest`): the statement's text, and so its prepared
    // plan, is the same for a batch of any size.
    let n = orders.len();
    let mut o_tenant = Vec::with_capacity(n);
    let mut o_id = Vec::with_capacity(n);
    let mut number = Vec::with_capacity(n);
    let mut channel = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut currency = Vec::with_capacity(n);
    let mut name = Vec::with_capacity(n);
    let mut phone = Vec::with_capacity(n);
    let mut email = Vec::with_capacity(n);
    let mut address = Vec::with_capacity(n);
    let mut notes = Vec::with_capacity(n);
    let mut phone_index = Vec::with_capacity(n);
    let mut email_index = Vec::with_capacity(n);
    let mut tokens = Vec::with_capacity(n);
    let mut items = Vec::with_capacity(n);
    let mut schedule = Vec::with_capacity(n);
    let mut terms = Vec::with_capacity(n);
    let mut subtotal = Vec::with_capacity(n);
    let mut discount = Vec::with_capacity(n);
    let mut total = Vec::with_capacity(n);
    let mut paid = Vec::with_capacity(n);
    let mut unpaid_due = Vec::with_capacity(n);
    let mut day = Vec::with_capacity(n);
    let mut actor = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    let mut pay = PaymentColumns::default();
    for o in orders {
        let c = o.currency;
        o_tenant.push(o.tenant);
        o_id.push(o.id);
        number.push(o.order_number.clone());
        channel.push(o.channel.as_str());
        status.push(o.status.as_str());
        currency.push(c.code());
        name.push(o.sealed.name.clone());
        phone.push(o.sealed.phone.clone());
        email.push(o.sealed.email.clone());
        address.push(o.sealed.address.clone());
        notes.push(o.sealed.notes.clone());
        phone_index.push(o.keys.phone_index.clone());
        email_index.push(o.keys.email_index.clone());
        tokens.push(bytea_array_literal(&o.keys.name_tokens));
        // Serialized straight to JSON text (no `Value` tree), cast to jsonb.
        let text = |v: serde_json::Result<String>| {
            v.map_err(|e| ApiError::Internal(format!("order content: {e}")))
        };
        items.push(text(serde_json::to_string(&o.items))?);
        schedule.push(text(serde_json::to_string(&o.schedule))?);
        terms.push(text(serde_json::to_string(&o.terms))?);
        subtotal.push(o.subtotal.to_minor(c));
        discount.push(o.discount.to_minor(c));
        total.push(o.total.to_minor(c));
        paid.push(o.paid.to_minor(c));
        unpaid_due.push(pos_domain::figures::unpaid_due(&o.schedule, o.paid));
        day.push(o.business_date);
        actor.push(o.actor.0);
        at.push(o.at);
        if let Some(p) = &o.payment {
            pay.push(o.tenant, o.actor.0, p, c);
        }
    }
    let rows = tx
        .write_with_buffered(
            |qb| {
                qb.push(
                    "o AS (INSERT INTO orders (tenant_id, id, order_number, order_type, channel, status,
                        currency, customer_name, customer_phone, customer_email, customer_address, notes,
                        phone_index, email_index, name_tokens, items, schedule, terms, subtotal_minor,
                        discount_minor, total_minor, paid_minor, unpaid_due, business_date,
                        recorded_by_user_id, last_modified_by_user_id, created_at, updated_at, version)
                    SELECT u.tenant_id, u.id, u.order_number, ",
                )
                .push_bind(API_ORDER_TYPE)
                .push(
                    ", u.channel, u.status, u.currency, u.customer_name, u.customer_phone,
                        u.customer_email, u.customer_address, u.notes, u.phone_index, u.email_index,
                        u.name_tokens::bytea[], u.items::jsonb, u.schedule::jsonb, u.terms::jsonb, u.subtotal_minor,
                        u.discount_minor, u.total_minor, u.paid_minor,
                        COALESCE(u.unpaid_due, 'infinity'), u.business_date, u.actor,
                        u.actor, u.at, u.at, ",
                )
                .push_bind(1_i32)
                .push(" FROM unnest(");
                qb.separated(", ")
                    .push_bind(o_tenant)
                    .push_bind(o_id)
                    .push_bind(number)
                    .push_bind(channel)
                    .push_bind(status)
                    .push_bind(currency)
                    .push_bind(name)
                    .push_bind(phone)
                    .push_bind(email)
                    .push_bind(address)
                    .push_bind(notes)
                    .push_bind(phone_index)
                    .push_bind(email_index)
                    .push_bind(tokens)
                    .push_bind(items)
                    .push_bind(schedule)
                    .push_bind(terms)
                    .push_bind(subtotal)
                    .push_bind(discount)
                    .push_bind(total)
                    .push_bind(paid)
                    .push_bind(unpaid_due)
                    .push_bind(day)
                    .push_bind(actor)
                    .push_bind(at);
                qb.push(
                    ") AS u (tenant_id, id, order_number, channel, status, currency, customer_name,
                        customer_phone, customer_email, customer_address, notes, phone_index,
                        email_index, name_tokens, items, schedule, terms, subtotal_minor,
                        discount_minor, total_minor, paid_minor, unpaid_due, business_date, actor, at)
                    ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id), p AS (",
                );
                pay.push_insert(qb, " WHERE u.order_id IN (SELECT id FROM o)");
                qb.push(")");
            },
            "SELECT id FROM o",
        )
        .await?;
    Ok(rows.iter().map(|r| r.get("id")).collect())
}

/// An array of bytea as PostgreSQL's text form (`{"\\x0a1b",...}`), to be cast to `bytea[]`: a
/// column that is itself an array cannot be one element of an `unnest`ed parameter.
fn bytea_array_literal(values: &[Vec<u8>]) -> String {
    let mut s = String::with_capacity(2 + values.iter().map(|v| 6 + 2 * v.len()).sum::<usize>());
    s.push('{');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str("\"\\\\x");
        s.push_str(&hex::encode(v));
        s.push('"');
    }
    s.push('}');
    s
}
