//! `POST /offline-orders`: a [`CreateOrder`] checked, priced and sealed into a [`NewOrder`],
//! written alone or group-committed with others ([`insert_orders`]).

use super::idempotency::Idempotency;
use super::payments::payment_events;
use super::view::{new_payment_json, view_now, with_etag, CustomerView, OrderView, TermsView};
use super::CreateOrder;
use crate::app::create::{insert_orders, NewOrder, API_ORDER_TYPE};
use crate::audit::NewEvent;
use crate::auth::Auth;
use crate::db::payments::NewPayment;
use crate::error::{ApiError, ApiResult};
use crate::numbers::API_NUMBER_PREFIX;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use pos_protocol::{events, DomainEvent};
use pos_protocol::{AuditAction, FieldChange};
use uuid::Uuid;

#[utoipa::path(
    post,
    path = "/offline-orders",
    operation_id = "create_order",
    tag = "orders",
    request_body = CreateOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same key")),
    responses((status = 201, description = "the order", body = super::OrderView)),
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
        let n = s.numbers.next((&s.pool, &s.streams), tenant, today).await?;
        let order = new_order(&s, &auth, req, s.new_uuid(), &settings, n, (now, today))?;
        let view = s
            .creates
            .submit((&s.pool, &s.streams, &s.metrics), order)
            .await?;
        let view = view_of_new(view);
        return Ok(with_etag(StatusCode::CREATED, view));
    }
    // The number is drawn before the order's transaction opens, so a request never holds two
    // pool connections; a create that is then refused or replayed leaves a gap.
    let settings = s.settings_now(tenant).await?;
    let today = settings.zone.business_date(now);
    let n = s.numbers.next((&s.pool, &s.streams), tenant, today).await?;
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
    let view = view_of_new(order);
    if let Some(k) = &key {
        k.remember(&s, &mut tx, tenant, StatusCode::CREATED, &view)
            .await?;
    }
    tx.commit().await?;
    Ok(with_etag(StatusCode::CREATED, view))
}

/// The API's view of this order as written (version 1, its first payment if any).
fn view_of_new(o: NewOrder) -> OrderView {
    let payments = o
        .payment
        .iter()
        .map(|p| new_payment_json(p, o.actor.0, o.currency))
        .collect();
    OrderView {
        id: o.id,
        business_date: o.business_date,
        counter_number: None,
        order_number: o.order_number,
        order_type: API_ORDER_TYPE.to_owned(),
        channel: o.channel.as_str().to_owned(),
        status: o.status.as_str().to_owned(),
        customer: CustomerView {
            name: o.customer.name,
            phone: o.customer.phone,
            email: o.customer.email,
            address: o.customer.address,
        },
        notes: o.notes,
        items: o.items,
        subtotal: o.subtotal,
        discount: o.discount,
        total: o.total,
        currency: o.currency,
        paid: o.paid,
        balance: o.total - o.paid,
        // recorded today: nothing is due before today yet
        overdue: false,
        partly_paid: o.status.is_partly_paid(o.paid, o.total - o.paid),
        payment_terms: TermsView::as_paid(o.terms, o.status, &o.schedule, o.paid, o.business_date),
        payments,
        recorded_by: o.actor.0,
        last_modified_by: o.actor.0,
        created_at: o.at,
        updated_at: o.at,
        version: 1,
        origin: None,
        deleted: None,
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

/// `POST /offline-orders/preview`: the totals and schedule an order would get if it were
/// created now (on the shop's business day), for the office's live preview. Writes nothing
/// and is not audited (no customer data passes).
#[utoipa::path(
    post,
    path = "/offline-orders/preview",
    operation_id = "preview_order",
    tag = "orders",
    request_body = pos_domain::preview::PreviewInput,
    responses((status = 200, description = "the totals and schedule", body = pos_domain::preview::OrderPreview)),
    security(("bearer" = []))
)]
pub async fn preview(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiJson(input): crate::extract::ApiJson<pos_domain::preview::PreviewInput>,
) -> ApiResult<axum::Json<pos_domain::preview::OrderPreview>> {
    auth.require_staff()?;
    let settings = s.settings_now(auth.tenant()).await?;
    let today = settings.zone.business_date(s.now());
    Ok(axum::Json(pos_domain::preview::preview(
        input,
        settings.currency,
        today,
    )?))
}
