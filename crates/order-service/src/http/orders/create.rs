//! `POST /offline-orders`: a [`CreateOrder`] checked, priced and sealed into a [`NewOrder`],
//! written alone or group-committed with others ([`insert_orders`]).

use super::idempotency::Idempotency;
use super::numbers::API_NUMBER_PREFIX;
use super::payments::payment_events;
use super::view::{new_payment_json, view_now, with_etag, CustomerView, OrderView, TermsView};
use super::CreateOrder;
use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::db::payments::{NewPayment, PaymentColumns};
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use pos_domain::{
    Channel, Currency, Customer, LineItem, Money, OrderStatus, PaymentTerms, ScheduleEntry,
};
use pos_protocol::{events, DomainEvent};
use pos_protocol::{AuditAction, FieldChange};
use sqlx::Row;
use uuid::Uuid;

#[utoipa::path(
    post,
    path = "/offline-orders",
    tag = "orders",
    request_body = CreateOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same key")),
    responses((status = 201, description = "the order", body = Object)),
    security(("bearer" = []))
)]
pub async fn create(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    crate::extract::HashedJson { body: req, sha256 }: crate::extract::HashedJson<CreateOrder>,
) -> ApiResult<Response> {
    auth.require_staff()?;
    let tenant = auth.tenant();
    let key = Idempotency::of(&headers, "POST /offline-orders".into(), sha256)?;
    let now = s.now();
    if key.is_none() && req.id.is_none() {
        // A new id drawn here is new by construction: the order is group-committed with the
        // creates that arrive while a writer is busy (see `crate::group_commit`).
        let settings = s.settings_now(tenant).await?;
        let today = settings.zone.business_date(now);
        let n = s.numbers.next(&s, tenant, today).await?;
        let order = new_order(&s, &auth, req, s.new_uuid(), &settings, n, (now, today))?;
        let view = s.creates.submit(&s, order).await?.view();
        return Ok(with_etag(StatusCode::CREATED, view));
    }
    // The number is drawn before the order's transaction opens, so a request never holds two
    // pool connections; a create that is then refused or replayed leaves a gap.
    let settings = s.settings_now(tenant).await?;
    let today = settings.zone.business_date(now);
    let n = s.numbers.next(&s, tenant, today).await?;
    let mut tx = s.tx(tenant).await?;
    if let Some(k) = &key {
        if let Some(r) = k.claim(&s, &mut tx, tenant).await? {
            tx.commit().await?;
            return Ok(r);
        }
    }
    // The same order id again is the same order, not a duplicate.
    if let Some(id) = req.id.map(|i| i.0) {
        if let Some(view) = view_now(&s, &mut tx, tenant, id).await? {
            if let Some(k) = &key {
                k.remember(&s, &mut tx, tenant, StatusCode::CREATED, &view)
                    .await?;
            }
            tx.commit().await?;
            return Ok(with_etag(StatusCode::CREATED, view));
        }
    }
    let id = req.id.map_or_else(|| s.new_uuid(), |i| i.0);
    let order = new_order(&s, &auth, req, id, &settings, n, (now, today))?;
    if insert_orders(&mut tx, std::slice::from_ref(&order))
        .await?
        .is_empty()
    {
        // A concurrent request with the same id won: nothing of this one is kept (the
        // transaction rolls back, audit rows included); answer with its order.
        drop(tx);
        let mut tx = s.tx(tenant).await?;
        let view = view_now(&s, &mut tx, tenant, id)
            .await?
            .ok_or(ApiError::NotFound)?;
        return Ok(with_etag(StatusCode::CREATED, view));
    }
    tx.count_on_commit(order.counted());
    let view = order.view();
    if let Some(k) = &key {
        k.remember(&s, &mut tx, tenant, StatusCode::CREATED, &view)
            .await?;
    }
    tx.commit().await?;
    Ok(with_etag(StatusCode::CREATED, view))
}

/// An order ready to be written: validated, priced, numbered and sealed. Its audit events are
/// sealed on the chain of the transaction that writes it ([`insert_orders`]), so the same
/// order can be written again after a failed attempt. The response is built from these values
/// ([`NewOrder::view`]), not read back.
pub(crate) struct NewOrder {
    pub(crate) tenant: Uuid,
    pub(crate) id: Uuid,
    payment: Option<NewPayment>,
    actor: (Uuid, pos_domain::Role),
    order_number: String,
    channel: Channel,
    status: OrderStatus,
    currency: Currency,
    customer: Customer,
    notes: Option<String>,
    sealed: pos_crypto::customer::SealedCustomer,
    keys: pos_crypto::customer::SearchKeys,
    items: Vec<LineItem>,
    schedule: Vec<ScheduleEntry>,
    terms: PaymentTerms,
    subtotal: Money,
    discount: Money,
    total: Money,
    paid: Money,
    at: DateTime<Utc>,
    /// The day `at` falls on in the tenant's time zone.
    business_date: NaiveDate,
    events: Vec<NewEvent>,
    outbox: Vec<DomainEvent>,
}

/// What an order recorded through the API is (`order_type`).
const API_ORDER_TYPE: &str = "offline";

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

    /// The API's view of this order as written (version 1, its first payment if any).
    fn view(self) -> OrderView {
        let payments = self
            .payment
            .iter()
            .map(|p| new_payment_json(p, self.actor.0, self.currency))
            .collect();
        OrderView {
            id: self.id,
            business_date: self.business_date,
            counter_number: None,
            order_number: self.order_number,
            order_type: API_ORDER_TYPE.to_owned(),
            channel: self.channel.as_str().to_owned(),
            status: self.status.as_str().to_owned(),
            customer: CustomerView {
                name: self.customer.name,
                phone: self.customer.phone,
                email: self.customer.email,
                address: self.customer.address,
            },
            notes: self.notes,
            items: self.items,
            subtotal: self.subtotal,
            discount: self.discount,
            total: self.total,
            currency: self.currency,
            paid: self.paid,
            balance: self.total - self.paid,
            payment_terms: TermsView::as_paid(
                self.terms,
                &self.schedule,
                self.paid,
                self.business_date,
            ),
            payments,
            recorded_by: self.actor.0,
            last_modified_by: self.actor.0,
            created_at: self.at,
            updated_at: self.at,
            version: 1,
            deleted: None,
        }
    }
}

/// Checks and prices a create request and seals its customer: the order `id`, numbered `n`.
fn new_order(
    s: &AppState,
    auth: &Auth,
    req: CreateOrder,
    id: Uuid,
    settings: &crate::TenantSettings,
    n: i64,
    (now, today): (DateTime<Utc>, NaiveDate),
) -> ApiResult<NewOrder> {
    let currency = settings.currency;
    let valid = req.validate(currency, today)?;
    let ids = id.to_string();
    let country = settings.phone_country_code.digits();
    let order_number = format!("{API_NUMBER_PREFIX}-{}-{n:04}", today.format("%Y%m%d"));
    let actor = (auth.user(), auth.role());
    let fields = FieldChange::of_edit(&ids, &valid.created_fields());
    let keys = pos_crypto::customer::search_keys(&s.cipher, &valid.customer, &country)?;
    let sealed =
        pos_crypto::customer::seal(&s.cipher, &ids, &valid.customer, valid.notes.as_deref());
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
    } = valid;
    let mut events = vec![NewEvent::by(
        actor,
        AuditAction::Create,
        "order",
        Some(ids),
        "order.create",
    )
    .detail(order_number.clone())
    .fields(fields)];
    let mut outbox = vec![DomainEvent::OrderCreated(events::OrderCreated {
        order_id: id,
        order_number: order_number.clone(),
        total: totals.total,
        device_id: None,
    })];
    // The service draws the first payment's id (a client's is not taken: the order's own id
    // is what makes a create idempotent here).
    let payment = first_payment.map(|p| NewPayment {
        id: s.new_uuid(),
        order_id: id,
        amount: p.amount,
        method: p.method,
        reference: p.reference,
        at: now,
    });
    if let Some(p) = &payment {
        let (event, out) = payment_events(actor, p);
        events.push(event);
        outbox.push(out);
    }
    Ok(NewOrder {
        tenant: auth.tenant(),
        id,
        payment,
        actor,
        order_number,
        channel,
        status,
        currency,
        customer,
        notes,
        sealed,
        keys,
        items,
        schedule,
        terms,
        subtotal: totals.subtotal,
        discount: totals.discount,
        total: totals.total,
        paid,
        at: now,
        business_date: today,
        events,
        outbox,
    })
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
                        discount_minor, total_minor, paid_minor, business_date, recorded_by_user_id,
                        last_modified_by_user_id, created_at, updated_at, version)
                    SELECT u.tenant_id, u.id, u.order_number, ",
                )
                .push_bind(API_ORDER_TYPE)
                .push(
                    ", u.channel, u.status, u.currency, u.customer_name, u.customer_phone,
                        u.customer_email, u.customer_address, u.notes, u.phone_index, u.email_index,
                        u.name_tokens::bytea[], u.items::jsonb, u.schedule::jsonb, u.terms::jsonb, u.subtotal_minor,
                        u.discount_minor, u.total_minor, u.paid_minor, u.business_date, u.actor,
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
                    .push_bind(day)
                    .push_bind(actor)
                    .push_bind(at);
                qb.push(
                    ") AS u (tenant_id, id, order_number, channel, status, currency, customer_name,
                        customer_phone, customer_email, customer_address, notes, phone_index,
                        email_index, name_tokens, items, schedule, terms, subtotal_minor,
                        discount_minor, total_minor, paid_minor, business_date, actor, at)
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
