//! `/offline-orders`: create, read, list, pay, delete — each in a tenant transaction with its
//! audit event and outbox event. The rules are `pos-domain`'s, the same as on the desktop.

use crate::audit::{self, Event};
use crate::auth::Auth;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use pos_crypto::{Aad, FieldCipher};
use pos_domain::items::price_items;
use pos_domain::schedule::{allocate, generate, ScheduleLine};
use pos_domain::{
    Channel, Currency, Customer, ItemInput, LineItem, Money, OrderStatus, PaymentMethod,
    PaymentTerms, ScheduleEntry,
};
use pos_protocol::{events, DomainEvent};
use pos_protocol::{AuditAction, FieldChange};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct InitialPayment {
    pub method: PaymentMethod,
    pub amount: Money,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateOrder {
    #[serde(default)]
    pub id: Option<Uuid>,
    pub channel: Channel,
    pub customer: Customer,
    pub items: Vec<ItemInput>,
    #[serde(default)]
    pub discount: Option<Money>,
    #[serde(default)]
    pub notes: Option<String>,
    pub payment_terms: PaymentTerms,
    #[serde(default)]
    pub initial_payment: Option<InitialPayment>,
}

pub(crate) fn aad<'a>(id: &'a str, field: &'a str) -> Aad<'a> {
    Aad {
        table: "orders",
        record_id: id,
        field,
    }
}

/// API order numbers (`API-<day>-<n>`, unique per tenant and day), handed out from blocks
/// reserved in the database: one short transaction on the counter row per block instead of one
/// per order, so creates never wait on that row. A block is sized to last about a second at the
/// pace the previous one was used ([`Self::next_block_size`]): a quiet counter reserves
/// [`Self::MIN_BLOCK`] at a time, a burst of creates up to [`Self::MAX_BLOCK`], so under load
/// the reservations' commits (each a WAL flush) stay a few per second instead of competing with
/// the orders' own. Numbers left in a block when the process stops are never used (a gap, like
/// a refused create's — at most about a second's worth); concurrent processes hold different
/// blocks, so a number is never given twice.
#[derive(Default)]
pub struct OrderNumbers {
    blocks: std::sync::Mutex<std::collections::HashMap<(Uuid, chrono::NaiveDate), Block>>,
    refill: tokio::sync::Mutex<()>,
}

/// The numbers of a block not yet handed out, and how big it was and when it was reserved.
struct Block {
    left: std::ops::Range<i64>,
    size: i64,
    reserved: std::time::Instant,
}

impl OrderNumbers {
    pub const MIN_BLOCK: i64 = 32;
    pub const MAX_BLOCK: i64 = 1024;

    /// The size of the next block after one of `size` numbers was used up in `lasted`: about a
    /// second's worth at that pace, a power of two between [`Self::MIN_BLOCK`] and
    /// [`Self::MAX_BLOCK`].
    pub fn next_block_size(size: i64, lasted: std::time::Duration) -> i64 {
        let millis = u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX).max(1);
        let per_second = u64::try_from(size)
            .unwrap_or(0)
            .saturating_mul(1000)
            .div_ceil(millis);
        let size = i64::try_from(per_second.next_power_of_two()).unwrap_or(i64::MAX);
        size.clamp(Self::MIN_BLOCK, Self::MAX_BLOCK)
    }

    async fn next(&self, s: &AppState, tenant: Uuid, day: chrono::NaiveDate) -> ApiResult<i64> {
        let key = (tenant, day);
        if let Some(n) = self.take(&key) {
            return Ok(n);
        }
        // One reservation at a time, so the numbers of one process stay consecutive.
        let _refilling = self.refill.lock().await;
        if let Some(n) = self.take(&key) {
            return Ok(n);
        }
        let size = self.lock_blocks().get(&key).map_or(Self::MIN_BLOCK, |b| {
            Self::next_block_size(b.size, b.reserved.elapsed())
        });
        let mut tx = s.tx(tenant).await?;
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO order_number_counters (tenant_id, day, last) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id, day) DO UPDATE SET last = order_number_counters.last + $3
             RETURNING last",
        )
        .bind(tenant)
        .bind(day)
        .bind(size)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut blocks = self.lock_blocks();
        // Yesterday's blocks are done with.
        blocks.retain(|(_, d), _| *d >= day);
        blocks.insert(
            key,
            Block {
                left: last - size + 2..last + 1,
                size,
                reserved: std::time::Instant::now(),
            },
        );
        Ok(last - size + 1)
    }

    fn take(&self, key: &(Uuid, chrono::NaiveDate)) -> Option<i64> {
        self.lock_blocks().get_mut(key).and_then(|b| b.left.next())
    }

    fn lock_blocks(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<(Uuid, chrono::NaiveDate), Block>>
    {
        self.blocks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The series of the orders taken through the API (`API-<yyyymmdd>-<nnnn>`); no counter may
/// use it as its code.
pub const API_NUMBER_PREFIX: &str = "API";

/// Reads one order (with payments) as the API shows it, on today's business day in the
/// tenant's time zone.
async fn view_now(
    s: &AppState,
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<Option<OrderView>> {
    let today = s.today_in(tx, tenant).await?;
    load_view(tx, &s.cipher, tenant, id, today).await
}

/// Reads one order (with payments) as the API shows it.
async fn load_view(
    tx: &mut Tx,
    cipher: &FieldCipher,
    tenant: Uuid,
    id: Uuid,
    today: NaiveDate,
) -> ApiResult<Option<OrderView>> {
    let Some(r) = sqlx::query("SELECT * FROM orders WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(None);
    };
    let payments = sqlx::query(
        "SELECT * FROM payments WHERE tenant_id = $1 AND order_id = $2 ORDER BY created_at, id",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    view_of(cipher, &r, today, |c| {
        payments.iter().map(payment_json(c)).collect()
    })
    .map(Some)
}

/// The API's view of an order row and its payments (oldest first, as the API shows them, given
/// the order's currency).
fn view_of(
    cipher: &FieldCipher,
    r: &sqlx::postgres::PgRow,
    today: NaiveDate,
    payments: impl FnOnce(Currency) -> Vec<PaymentView>,
) -> ApiResult<OrderView> {
    let id: Uuid = r.get("id");
    let ids = id.to_string();
    let open = |col: &str, field: &str| -> ApiResult<Option<String>> {
        r.get::<Option<Vec<u8>>, _>(col)
            .map(|b| {
                cipher
                    .decrypt_string(&b, aad(&ids, field))
                    .ok_or_else(|| ApiError::Internal("decrypt".into()))
            })
            .transpose()
    };
    let currency: Currency = r
        .get::<String, _>("currency")
        .parse()
        .map_err(|_| ApiError::Internal("currency".into()))?;
    let m = |col: &str| currency.from_minor(r.get::<i64, _>(col));
    let deleted_at: Option<DateTime<Utc>> = r.get("deleted_at");
    let (total, paid) = (m("total_minor"), m("paid_minor"));
    let schedule: Vec<ScheduleEntry> = json_column(r, "schedule")?;
    let view = OrderView {
        id,
        business_date: r.get("business_date"),
        counter_number: r.get("counter_number"),
        order_number: r.get("order_number"),
        order_type: r.get("order_type"),
        channel: r.get("channel"),
        status: r.get("status"),
        customer: CustomerView {
            name: open("customer_name", "customer_name")?.unwrap_or_default(),
            phone: open("customer_phone", "customer_phone")?,
            email: open("customer_email", "customer_email")?,
            address: open("customer_address", "customer_address")?,
        },
        notes: open("notes", "notes")?,
        items: json_column(r, "items")?,
        subtotal: m("subtotal_minor"),
        discount: m("discount_minor"),
        total,
        currency,
        paid,
        balance: total - paid,
        payment_terms: TermsView::as_paid(json_column(r, "terms")?, &schedule, paid, today),
        payments: payments(currency),
        recorded_by: r.get("recorded_by_user_id"),
        last_modified_by: r.get("last_modified_by_user_id"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        version: r.get("version"),
        deleted: deleted_at.map(|at| {
            json!({
                "deleted_at": at,
                "deleted_by": r.get::<Option<Uuid>, _>("deleted_by"),
                "approved_by": r.get::<Option<Uuid>, _>("approved_by"),
                "approver_role": r.get::<Option<String>, _>("approver_role"),
            })
        }),
    };
    Ok(view)
}

/// A `jsonb` column decoded straight into its type.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    r: &sqlx::postgres::PgRow,
    col: &str,
) -> ApiResult<T> {
    r.try_get::<sqlx::types::Json<T>, _>(col)
        .map(|j| j.0)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// An order as the API shows it — read from a row ([`view_of`]) or taken from an order just
/// written ([`NewOrder::view`]) — serialized straight from these values (no `Value` tree).
#[derive(Serialize)]
pub struct OrderView {
    id: Uuid,
    order_number: String,
    order_type: String,
    channel: String,
    status: String,
    customer: CustomerView,
    notes: Option<String>,
    items: Vec<LineItem>,
    subtotal: Money,
    discount: Money,
    total: Money,
    currency: Currency,
    paid: Money,
    balance: Money,
    payment_terms: TermsView,
    payments: Vec<PaymentView>,
    /// The shop's day the order belongs to (in the tenant's time zone, or the counter's).
    business_date: NaiveDate,
    /// The number the counter first gave the order, when the service gave it another.
    #[serde(skip_serializing_if = "Option::is_none")]
    counter_number: Option<String>,
    recorded_by: Uuid,
    last_modified_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
    deleted: Option<Value>,
}

/// The customer with every field present (`null` when not given).
#[derive(Serialize)]
struct CustomerView {
    name: String,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
}

/// The terms as agreed, with the schedule as paid so far.
#[derive(Serialize)]
struct TermsView {
    #[serde(flatten)]
    terms: PaymentTerms,
    schedule: Vec<ScheduleLine>,
}

impl TermsView {
    /// `terms` with `schedule` as `paid` covers it on business day `today`.
    fn as_paid(
        terms: PaymentTerms,
        schedule: &[ScheduleEntry],
        paid: Money,
        today: NaiveDate,
    ) -> Self {
        TermsView {
            terms,
            schedule: allocate(schedule, paid, today),
        }
    }
}

/// A payment as the API shows it.
#[derive(Serialize)]
pub struct PaymentView {
    id: Uuid,
    amount: String,
    method: String,
    paid_at: DateTime<Utc>,
    recorded_by: Uuid,
    reference: Option<String>,
    /// The payment this reversing entry reverses (its amount is negative).
    #[serde(skip_serializing_if = "Option::is_none")]
    reverses: Option<Uuid>,
}

fn payment_json(currency: Currency) -> impl Fn(&sqlx::postgres::PgRow) -> PaymentView {
    move |p| PaymentView {
        reverses: p.get("reverses"),
        ..payment_value(
            p.get("id"),
            p.get("amount_minor"),
            currency,
            p.get::<String, _>("method"),
            p.get("paid_at"),
            p.get("recorded_by"),
            p.get::<Option<String>, _>("reference"),
        )
    }
}

/// A payment as the API shows it, from the values just written (no read back).
fn new_payment_json(p: &NewPayment, recorded_by: Uuid, currency: Currency) -> PaymentView {
    payment_value(
        p.id,
        p.amount.to_minor(currency),
        currency,
        p.method.as_str().to_owned(),
        p.at,
        recorded_by,
        p.reference.clone(),
    )
}

fn payment_value(
    id: Uuid,
    amount_minor: i64,
    currency: Currency,
    method: String,
    paid_at: DateTime<Utc>,
    recorded_by: Uuid,
    reference: Option<String>,
) -> PaymentView {
    PaymentView {
        id,
        amount: rust_decimal::Decimal::new(amount_minor, currency.minor_units())
            .normalize()
            .to_string(),
        method,
        paid_at,
        recorded_by,
        reference,
        reverses: None,
    }
}

/// `view` as the body, its version as the `ETag`.
fn with_etag(status: StatusCode, view: OrderView) -> Response {
    let version = view.version;
    let mut res = (status, axum::Json(view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// An `Idempotency-Key` bound to what it was sent with (as the IETF Idempotency-Key draft
/// and Stripe do): the route (and the resource it names) and the SHA-256 of the request body.
/// The same key with another request is refused (422 `idempotency_key_reused`); concurrent
/// first uses wait for the first one and replay its answer.
struct Idempotency {
    key: String,
    route: String,
    request_hash: [u8; 32],
}

impl Idempotency {
    /// The request's key, if it sent one, bound to `route` and `request_hash`.
    fn of(headers: &HeaderMap, route: String, request_hash: [u8; 32]) -> ApiResult<Option<Self>> {
        let Some(v) = headers.get("idempotency-key") else {
            return Ok(None);
        };
        let key = v
            .to_str()
            .map_err(|_| ApiError::BadRequest("Idempotency-Key must be text".into()))?;
        if key.is_empty() || key.len() > 200 {
            return Err(ApiError::BadRequest(
                "Idempotency-Key must be 1 to 200 characters".into(),
            ));
        }
        Ok(Some(Idempotency {
            key: key.to_owned(),
            route,
            request_hash,
        }))
    }

    /// Where the stored answer's ciphertext is bound: this key's record.
    fn aad(&self) -> Aad<'_> {
        Aad {
            table: "idempotency_keys",
            record_id: &self.key,
            field: "body",
        }
    }

    /// Claims the key in `tx` for this request: `None` when it is new (answer, then
    /// [`Idempotency::remember`]), or the first use's stored answer. A concurrent first use
    /// holds the key's row until it ends; this waits for it and then replays its answer.
    async fn claim(&self, s: &AppState, tx: &mut Tx, tenant: Uuid) -> ApiResult<Option<Response>> {
        let fresh = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, key, route, request_hash, status, body, created_at)
             VALUES ($1, $2, $3, $4, 0, ''::bytea, $5) ON CONFLICT (tenant_id, key) DO NOTHING RETURNING 1",
        )
        .bind(tenant)
        .bind(&self.key)
        .bind(&self.route)
        .bind(&self.request_hash[..])
        .bind(s.now())
        .fetch_optional(&mut **tx)
        .await?;
        if fresh.is_some() {
            return Ok(None);
        }
        let r = sqlx::query("SELECT route, request_hash, status, body FROM idempotency_keys WHERE tenant_id = $1 AND key = $2")
            .bind(tenant)
            .bind(&self.key)
            .fetch_one(&mut **tx)
            .await?;
        if r.get::<String, _>("route") != self.route
            || r.get::<Vec<u8>, _>("request_hash") != self.request_hash
        {
            return Err(ApiError::Unprocessable {
                code: "idempotency_key_reused".into(),
                message: "This Idempotency-Key was already used for a different request".into(),
                field: None,
            });
        }
        let status = u16::try_from(r.get::<i32, _>("status"))
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .filter(|c| c.is_success())
            .ok_or(ApiError::Conflict {
                code: "idempotency_key_in_use",
                message: "A request with this Idempotency-Key is still in progress".into(),
            })?;
        let body: Value = s
            .cipher
            .decrypt(&r.get::<Vec<u8>, _>("body"), self.aad())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| ApiError::Internal("stored idempotent answer".into()))?;
        Ok(Some((status, axum::Json(body)).into_response()))
    }

    /// Stores the answer to a claimed key, encrypted (it holds the customer's details).
    async fn remember(
        &self,
        s: &AppState,
        tx: &mut Tx,
        tenant: Uuid,
        status: StatusCode,
        body: &(impl Serialize + Sync),
    ) -> ApiResult<()> {
        let json = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
        sqlx::query(
            "UPDATE idempotency_keys SET status = $3, body = $4 WHERE tenant_id = $1 AND key = $2",
        )
        .bind(tenant)
        .bind(&self.key)
        .bind(i32::from(status.as_u16()))
        .bind(s.cipher.encrypt(&json, self.aad()))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

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
        let order = new_order(
            &s,
            &auth,
            req,
            s.new_uuid(),
            settings.currency,
            n,
            (now, today),
        )?;
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
    if let Some(id) = req.id {
        if let Some(view) = view_now(&s, &mut tx, tenant, id).await? {
            if let Some(k) = &key {
                k.remember(&s, &mut tx, tenant, StatusCode::CREATED, &view)
                    .await?;
            }
            tx.commit().await?;
            return Ok(with_etag(StatusCode::CREATED, view));
        }
    }
    let id = req.id.unwrap_or_else(|| s.new_uuid());
    let order = new_order(&s, &auth, req, id, settings.currency, n, (now, today))?;
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
    sealed: crate::pii::Sealed,
    keys: crate::pii::SearchKeys,
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
    events: Vec<Event<'static>>,
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
    currency: Currency,
    n: i64,
    (now, today): (DateTime<Utc>, NaiveDate),
) -> ApiResult<NewOrder> {
    let customer = req.customer.validated(req.channel)?;
    let notes = pos_domain::text::notes(req.notes)?;
    let (items, totals) = price_items(req.items, req.discount, currency)?;
    let schedule = generate(&req.payment_terms, totals.total, currency, today)?;
    let paid = pos_domain::ledger::initial_payment(
        currency,
        &req.payment_terms,
        req.initial_payment.as_ref().map(|p| p.amount.0),
        totals.total,
    )?;
    let ids = id.to_string();
    let keys = crate::pii::search_keys(&s.cipher, &customer)?;
    let order_number = format!("{API_NUMBER_PREFIX}-{}-{n:04}", today.format("%Y%m%d"));
    let status = OrderStatus::derive(false, false, paid == totals.total);
    let sealed = crate::pii::seal(&s.cipher, &ids, &customer, notes.as_deref());
    let actor = (auth.user(), auth.role());
    let mut fields = vec![
        FieldChange::new(&ids, "customer.name", None, Some(&customer.name)),
        FieldChange::new(&ids, "total", None, Some(&totals.total.to_string())),
    ];
    if let Some(p) = &customer.phone {
        fields.push(FieldChange::new(&ids, "customer.phone", None, Some(p)));
    }
    let mut events = vec![Event::new(
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
    let payment = req.initial_payment.map(|p| NewPayment {
        id: s.new_uuid(),
        order_id: id,
        amount: paid,
        method: p.method,
        reference: None,
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
        channel: req.channel,
        status,
        currency,
        customer,
        notes,
        sealed,
        keys,
        items,
        schedule,
        terms: req.payment_terms,
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
        tokens.push(bytea_array_literal(&o.keys.tokens));
        // Serialized straight to JSON text (no `Value` tree), cast to jsonb.
        items.push(serde_json::to_string(&o.items).unwrap_or_default());
        schedule.push(serde_json::to_string(&o.schedule).unwrap_or_default());
        terms.push(serde_json::to_string(&o.terms).unwrap_or_default());
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

#[utoipa::path(
    get,
    path = "/offline-orders/{id}",
    tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "the id")),
    responses((status = 200, description = "the order, with its version as ETag", body = Object)),
    security(("bearer" = []))
)]
pub async fn get(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiPath(id): crate::extract::ApiPath<Uuid>,
) -> ApiResult<Response> {
    auth.require_staff()?;
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let view = view_now(&s, &mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        Event::new(
            (auth.user(), auth.role()),
            AuditAction::Read,
            "order",
            Some(id.to_string()),
            "order.read",
        ),
    );
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, view))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub status: Option<OrderStatus>,
    pub channel: Option<Channel>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<Uuid>,
}

#[derive(Serialize)]
pub struct ListResponse {
    pub items: Vec<OrderView>,
    pub next_cursor: Option<Uuid>,
}

#[utoipa::path(
    get,
    path = "/offline-orders",
    tag = "orders",
    params(ListParams),
    responses((status = 200, description = "a page of orders", body = Object)),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<ListParams>,
) -> ApiResult<axum::Json<ListResponse>> {
    auth.require_staff()?;
    let tenant = auth.tenant();
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(pos_domain::ValidationError::new(
            "limit",
            "out_of_range",
            "limit must be 1 to 200",
        )
        .with("min", 1)
        .with("max", 200)
        .into());
    }
    pos_domain::dates::check_range(p.from, p.to)?;
    let mut qb =
        sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT * FROM orders WHERE tenant_id = ");
    qb.push_bind(tenant);
    if let Some(st) = p.status {
        qb.push(" AND status = ").push_bind(st.as_str());
    }
    if let Some(c) = p.channel {
        qb.push(" AND channel = ").push_bind(c.as_str());
    }
    if let Some(f) = p.from {
        qb.push(" AND business_date >= ").push_bind(f);
    }
    if let Some(t) = p.to {
        qb.push(" AND business_date <= ").push_bind(t);
    }
    let q = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if let Some(q) = q {
        use pos_domain::SearchKind;
        let in_q = |e: pos_domain::ValidationError| pos_domain::ValidationError {
            field: "q".into(),
            ..e
        };
        match SearchKind::detect(q) {
            SearchKind::Email => {
                let e = pos_domain::customer::normalize_email(q).map_err(in_q)?;
                qb.push(" AND email_index = ")
                    .push_bind(s.cipher.blind_index("email", &e));
            }
            SearchKind::Phone => {
                let ph = pos_domain::customer::normalize_phone(q, crate::pii::PHONE_COUNTRY_CODE)
                    .map_err(in_q)?;
                qb.push(" AND phone_index = ")
                    .push_bind(s.cipher.blind_index("phone", &ph));
            }
            SearchKind::OrderNumber => {
                qb.push(" AND order_number = ").push_bind(q.to_uppercase());
            }
            SearchKind::Name => {
                let terms = pos_domain::search::query_terms(q);
                if terms.is_empty() {
                    // no letter or digit: nothing is found (not everything)
                    qb.push(" AND false");
                }
                for alternatives in terms {
                    qb.push(" AND (");
                    for (i, words) in alternatives.iter().enumerate() {
                        if i > 0 {
                            qb.push(" OR ");
                        }
                        qb.push("name_tokens @> ")
                            .push_bind(crate::pii::blind_words(&s.cipher, words));
                    }
                    qb.push(")");
                }
            }
        }
    }
    if let Some(c) = p.cursor {
        qb.push(" AND id < ").push_bind(c);
    }
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
    let mut tx = s.tx(tenant).await?;
    let mut rows = qb.build().fetch_all(&mut *tx).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.get::<Uuid, _>("id"))
    } else {
        None
    };
    // The page's payments in one query (not one per order).
    let ids: Vec<Uuid> = rows.iter().map(|r| r.get("id")).collect();
    let mut payments: std::collections::HashMap<Uuid, Vec<sqlx::postgres::PgRow>> =
        Default::default();
    for p in sqlx::query(
        "SELECT * FROM payments WHERE tenant_id = $1 AND order_id = ANY($2) ORDER BY created_at, id",
    )
    .bind(tenant)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    {
        payments.entry(p.get("order_id")).or_default().push(p);
    }
    let today = s.today_in(&mut tx, tenant).await?;
    let items = rows
        .iter()
        .map(|r| {
            let paid = payments.get(&r.get::<Uuid, _>("id"));
            view_of(&s.cipher, r, today, |c| {
                paid.map_or_else(Vec::new, |ps| ps.iter().map(payment_json(c)).collect())
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    audit::record(
        &mut tx,
        Event::new(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "order",
            None,
            if q.is_some() {
                "order.search"
            } else {
                "order.list"
            },
        )
        .detail(format!("results={}", items.len())),
    );
    tx.commit().await?;
    Ok(axum::Json(ListResponse { items, next_cursor }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PaymentRequest {
    #[serde(default)]
    pub id: Option<Uuid>,
    pub amount: Money,
    pub method: PaymentMethod,
    #[serde(default)]
    pub reference: Option<String>,
}

#[utoipa::path(
    post,
    path = "/offline-orders/{id}/payments",
    tag = "orders",
    request_body = PaymentRequest,
    params(("id" = uuid::Uuid, Path, description = "the id"), ("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same key")),
    responses((status = 201, description = "{payment, order}", body = Object)),
    security(("bearer" = []))
)]
pub async fn pay(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    crate::extract::ApiPath(id): crate::extract::ApiPath<Uuid>,
    crate::extract::HashedJson { body: req, sha256 }: crate::extract::HashedJson<PaymentRequest>,
) -> ApiResult<Response> {
    auth.require_staff()?;
    let tenant = auth.tenant();
    let key = Idempotency::of(
        &headers,
        format!("POST /offline-orders/{id}/payments"),
        sha256,
    )?;
    let mut tx = s.tx(tenant).await?;
    if let Some(k) = &key {
        if let Some(r) = k.claim(&s, &mut tx, tenant).await? {
            tx.commit().await?;
            return Ok(r);
        }
    }
    let (row, currency) = lock_for_payment(&mut tx, tenant, id).await?;
    let pid = req.id.unwrap_or_else(|| s.new_uuid());
    let existing = sqlx::query("SELECT * FROM payments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(pid)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(p) = existing {
        if p.get::<Uuid, _>("order_id") != id {
            return Err(ApiError::Conflict {
                code: "payment_id_in_use",
                message: "This payment id belongs to another order".into(),
            });
        }
        let view = view_now(&s, &mut tx, tenant, id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let body = json!({"payment": payment_json(currency)(&p), "order": view});
        if let Some(k) = &key {
            k.remember(&s, &mut tx, tenant, StatusCode::CREATED, &body)
                .await?;
        }
        tx.commit().await?;
        return Ok((StatusCode::CREATED, axum::Json(body)).into_response());
    }
    if row.get::<String, _>("status") == "deleted" {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is deleted and cannot take payments".into(),
        });
    }
    let total = currency.from_minor(row.get("total_minor"));
    let paid = currency.from_minor(row.get("paid_minor"));
    let amount = pos_domain::ledger::payment(currency, "amount", req.amount.0, paid, total)?;
    let reference = pos_domain::text::reference(req.reference, "reference")?;
    let now = s.now();
    let new_paid = paid + amount;
    let status = OrderStatus::derive(false, row.get::<bool, _>("completed"), new_paid == total);
    sqlx::query("UPDATE orders SET paid_minor = $3, status = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant).bind(id).bind(new_paid.to_minor(currency)).bind(status.as_str()).bind(now)
        .execute(&mut *tx).await?;
    let payment = NewPayment {
        id: pid,
        order_id: id,
        amount,
        method: req.method,
        reference,
        at: now,
    };
    insert_payment(
        &mut tx,
        tenant,
        (auth.user(), auth.role()),
        &payment,
        currency,
    )
    .await?;
    let p = sqlx::query("SELECT * FROM payments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(pid)
        .fetch_one(&mut *tx)
        .await?;
    let view = view_now(&s, &mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let body = json!({"payment": payment_json(currency)(&p), "order": view});
    if let Some(k) = &key {
        k.remember(&s, &mut tx, tenant, StatusCode::CREATED, &body)
            .await?;
    }
    tx.commit().await?;
    s.metrics.count_payment(status == OrderStatus::Paid);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// A reversal (refund) of one payment, approved by the owner or manager who asks for it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReversalRequest {
    /// The reversing entry's id, for a safe retry (a UUIDv7; the service makes one if absent).
    #[serde(default)]
    pub id: Option<Uuid>,
    /// Why the payment is reversed (1 to 500 characters), kept with the approval.
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/offline-orders/{id}/payments/{payment_id}/reversal",
    tag = "orders",
    request_body = ReversalRequest,
    params(("id" = uuid::Uuid, Path, description = "the order"), ("payment_id" = uuid::Uuid, Path, description = "the payment to reverse")),
    responses((status = 201, description = "{payment, order}: the reversing entry (negative amount) and the order", body = Object)),
    security(("bearer" = []))
)]
/// Reverses (refunds) one payment in full with a reversing entry, once; the caller (an owner
/// or manager) is the approver. The rules are `pos_domain::ledger::reversal`'s.
pub async fn reverse(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiPath((id, payment_id)): crate::extract::ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<ReversalRequest>,
) -> ApiResult<Response> {
    auth.require_approver("reverse payments")?;
    let tenant = auth.tenant();
    let reason = pos_domain::ledger::reason(&req.reason)?;
    let reason = reason.as_str();
    let mut tx = s.tx(tenant).await?;
    let (row, currency) = lock_for_payment(&mut tx, tenant, id).await?;
    let rid = req.id.unwrap_or_else(|| s.new_uuid());
    let existing = sqlx::query("SELECT * FROM payments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(rid)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(p) = existing {
        // A retry of this very reversal answers as the first time; any other use of the id is refused.
        if p.get::<Uuid, _>("order_id") != id
            || p.get::<Option<Uuid>, _>("reverses") != Some(payment_id)
        {
            return Err(ApiError::Conflict {
                code: "payment_id_in_use",
                message: "This payment id is already used".into(),
            });
        }
        let view = view_now(&s, &mut tx, tenant, id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let body = json!({"payment": payment_json(currency)(&p), "order": view});
        tx.commit().await?;
        return Ok((StatusCode::CREATED, axum::Json(body)).into_response());
    }
    if row.get::<String, _>("status") == "deleted" {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is deleted".into(),
        });
    }
    let original = sqlx::query(
        "SELECT order_id, amount_minor, method, reverses,
                EXISTS (SELECT 1 FROM payments r WHERE r.tenant_id = p.tenant_id AND r.reverses = p.id) AS reversed
         FROM payments p WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(payment_id)
    .fetch_optional(&mut *tx)
    .await?;
    let entry = original.as_ref().map(|r| pos_domain::ledger::Entry {
        id: payment_id.into(),
        order_id: r.get::<Uuid, _>("order_id").into(),
        amount: currency.from_minor(r.get("amount_minor")),
        reverses: r.get::<Option<Uuid>, _>("reverses").map(Into::into),
    });
    let amount = pos_domain::ledger::reversal(
        currency,
        id.into(),
        entry.as_ref(),
        original
            .as_ref()
            .is_some_and(|r| r.get::<bool, _>("reversed")),
        Some(auth.role()),
        None,
    )?;
    let method: String = original
        .as_ref()
        .map(|r| r.get("method"))
        .unwrap_or_default();
    let now = s.now();
    let total = currency.from_minor(row.get("total_minor"));
    let new_paid = currency.from_minor(row.get("paid_minor")) + amount;
    let status = OrderStatus::derive(false, row.get::<bool, _>("completed"), new_paid == total);
    let rids = rid.to_string();
    let sealed_reason = s.cipher.encrypt_str(
        reason,
        Aad {
            table: "payments",
            record_id: &rids,
            field: "approval_reason",
        },
    );
    let p = sqlx::query("INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at, recorded_by, reference, reverses, approved_by, approver_role, approval_reason, approved_at, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $7, $9, $10, $6, $6) RETURNING *")
        .bind(tenant).bind(rid).bind(id).bind(amount.to_minor(currency)).bind(&method).bind(now)
        .bind(auth.user()).bind(payment_id).bind(auth.role().as_str()).bind(sealed_reason)
        .fetch_one(&mut *tx).await?;
    sqlx::query("UPDATE orders SET paid_minor = $3, status = $4, updated_at = $5, last_modified_by_user_id = $6 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant).bind(id).bind(new_paid.to_minor(currency)).bind(status.as_str()).bind(now).bind(auth.user())
        .execute(&mut *tx).await?;
    audit::record(
        &mut tx,
        Event::new(
            (auth.user(), auth.role()),
            AuditAction::Payment,
            "payment",
            Some(rids.clone()),
            "payment.reverse",
        )
        .detail(format!("order={id} amount={amount} reverses={payment_id}"))
        .fields(vec![
            FieldChange::new(&rids, "amount", None, Some(&amount.to_string())),
            FieldChange::new(&rids, "reason", None, Some(reason)),
        ]),
    );
    tx.outbox(DomainEvent::PaymentReversed(events::PaymentMoved {
        order_id: id,
        payment_id: rid,
        amount,
        reverses: Some(payment_id),
        device_id: None,
    }));
    let view = view_now(&s, &mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let body = json!({"payment": payment_json(currency)(&p), "order": view});
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Locks order `id` for a movement of money (concurrent payments and reversals of one order
/// are applied one at a time): (currency, total_minor, paid_minor, status, completed) and its
/// currency.
async fn lock_for_payment(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<(sqlx::postgres::PgRow, Currency)> {
    let row = sqlx::query("SELECT currency, total_minor, paid_minor, status, completed_at IS NOT NULL AS completed FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    let currency: Currency = row
        .get::<String, _>("currency")
        .parse()
        .map_err(|_| ApiError::Internal("currency".into()))?;
    Ok((row, currency))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeleteRequest {
    pub reason: String,
}

#[utoipa::path(
    delete,
    path = "/offline-orders/{id}",
    tag = "orders",
    request_body = DeleteRequest,
    params(("id" = uuid::Uuid, Path, description = "the id")),
    responses((status = 204, description = "deleted (the order stays readable as deleted)")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiPath(id): crate::extract::ApiPath<Uuid>,
    ApiJson(req): ApiJson<DeleteRequest>,
) -> ApiResult<StatusCode> {
    auth.require_approver("delete orders")?;
    let tenant = auth.tenant();
    let reason = pos_domain::ledger::reason(&req.reason)?;
    let reason = reason.as_str();
    let mut tx = s.tx(tenant).await?;
    let (status, currency, paid): (String, String, i64) = sqlx::query_as(
        "SELECT status, currency, paid_minor FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound)?;
    if status == "deleted" {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is already deleted".into(),
        });
    }
    let currency: Currency = currency
        .parse()
        .map_err(|_| ApiError::Internal("currency".into()))?;
    pos_domain::ledger::deletion(currency.from_minor(paid))?;
    let ids = id.to_string();
    let now = s.now();
    sqlx::query("UPDATE orders SET status = 'deleted', deleted_at = $3, deleted_by = $4, delete_reason = $5, approved_by = $4, approver_role = $6, approved_at = $3, updated_at = $3, last_modified_by_user_id = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant).bind(id).bind(now).bind(auth.user())
        .bind(s.cipher.encrypt_str(reason, aad(&ids, "delete_reason")))
        .bind(auth.role().as_str())
        .execute(&mut *tx).await?;
    audit::record(
        &mut tx,
        Event::new(
            (auth.user(), auth.role()),
            AuditAction::Delete,
            "order",
            Some(ids.clone()),
            "order.delete",
        )
        .fields(vec![
            FieldChange::new(&ids, "status", Some(&status), Some("deleted")),
            FieldChange::new(&ids, "reason", None, Some(reason)),
        ]),
    );
    tx.outbox(DomainEvent::OrderDeleted(events::OrderChanged {
        order_id: id,
        device_id: None,
    }));
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<Uuid>,
    pub action: Option<AuditAction>,
    pub device_id: Option<Uuid>,
    pub limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/audit-events",
    tag = "audit",
    params(AuditParams),
    responses((status = 200, description = "audit events, newest first", body = Object)),
    security(("bearer" = []))
)]
pub async fn audit_events(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<AuditParams>,
) -> ApiResult<axum::Json<Value>> {
    auth.require_approver("read the audit log")?;
    let tenant = auth.tenant();
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let mut qb =
        sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT * FROM audit_events WHERE tenant_id = ");
    qb.push_bind(tenant);
    if let Some(t) = p.entity_type {
        qb.push(" AND entity_type = ").push_bind(t);
    }
    if let Some(e) = p.entity_id {
        qb.push(" AND entity_id = ").push_bind(e);
    }
    if let Some(a) = p.actor_id {
        qb.push(" AND actor_id = ").push_bind(a);
    }
    if let Some(a) = p.action {
        qb.push(" AND action = ").push_bind(a.as_str());
    }
    if let Some(d) = p.device_id {
        qb.push(" AND device_id = ").push_bind(d);
    }
    qb.push(" ORDER BY at DESC, seq DESC LIMIT ")
        .push_bind(limit);
    let mut tx = s.tx(tenant).await?;
    let rows = qb.build().fetch_all(&mut *tx).await?;
    let events: Vec<_> = rows.iter().filter_map(audit::row_to_event).collect();
    audit::record(
        &mut tx,
        Event::new(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "audit_log",
            None,
            "audit.list",
        )
        .detail(format!("results={}", events.len())),
    );
    tx.commit().await?;
    Ok(axum::Json(json!({ "items": events })))
}

#[utoipa::path(
    get,
    path = "/audit-events/verify",
    tag = "audit",
    responses((status = 200, description = "the chain check per device", body = Object)),
    security(("bearer" = []))
)]
pub async fn audit_verify(State(s): State<AppState>, auth: Auth) -> ApiResult<axum::Json<Value>> {
    auth.require_approver("verify the audit log")?;
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let rows =
        sqlx::query("SELECT * FROM audit_events WHERE tenant_id = $1 ORDER BY device_id, seq")
            .bind(tenant)
            .fetch_all(&mut *tx)
            .await?;
    // Each device's chain (the service's own under the tenant id) is verified on its own.
    let mut chains: std::collections::BTreeMap<Uuid, Vec<&sqlx::postgres::PgRow>> =
        Default::default();
    for r in &rows {
        chains.entry(r.get("device_id")).or_default().push(r);
    }
    let mut devices = Vec::with_capacity(chains.len());
    let mut broken = 0;
    for (device, rows) in chains {
        // A row that does not even read as an event breaks the chain where it stands.
        let verdict = rows
            .iter()
            .map(|r| {
                audit::row_to_event(r).ok_or_else(|| pos_protocol::ChainBreak {
                    seq: r.get::<i64, _>("seq") as u64,
                    reason: "the stored event is malformed".into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|events| pos_protocol::verify_chain(&events, 0, pos_protocol::GENESIS_HASH));
        let mut d = json!({"device_id": device, "events": rows.len(), "ok": verdict.is_ok()});
        if let Err(b) = verdict {
            broken += 1;
            d["first_broken_seq"] = json!(b.seq);
            d["reason"] = json!(b.reason);
        }
        devices.push(d);
    }
    let ok = broken == 0;
    audit::record(
        &mut tx,
        Event::new(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "audit_log",
            None,
            "audit.verify",
        )
        .detail(if ok { "ok" } else { "broken" }),
    );
    tx.commit().await?;
    Ok(axum::Json(json!({"ok": ok, "devices": devices})))
}

/// A JSON merge patch (RFC 7396) of an order: an absent member is unchanged, `null` clears
/// it (the customer's phone, e-mail or address, the discount, the notes), `items` replaces the
/// whole list; the rules are checked on the merged order.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PatchOrder {
    #[serde(default)]
    pub customer: Option<pos_domain::customer::CustomerPatch>,
    #[serde(default)]
    pub items: Option<Vec<ItemInput>>,
    #[serde(default)]
    #[schema(value_type = Option<String>, nullable)]
    pub discount: pos_domain::Patch<Money>,
    #[serde(default)]
    #[schema(value_type = Option<String>, nullable)]
    pub notes: pos_domain::Patch<String>,
}

fn if_match(headers: &HeaderMap) -> ApiResult<i32> {
    let v = headers
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?;
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::BadRequest("If-Match must be the order's ETag, e.g. \"3\"".into()))
}

/// `PATCH /offline-orders/{id}`: customer details, items, discount or notes, at the version
/// named by `If-Match` (428 without it, 412 when stale). The total never falls below what was
/// paid; the unpaid part of the schedule is regenerated.
#[utoipa::path(
    patch,
    path = "/offline-orders/{id}",
    tag = "orders",
    request_body = PatchOrder,
    params(("id" = uuid::Uuid, Path, description = "the id"), ("If-Match" = String, Header, description = "the order's ETag, e.g. \"3\"")),
    responses((status = 200, description = "the order", body = Object)),
    security(("bearer" = []))
)]
pub async fn patch(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    crate::extract::ApiPath(id): crate::extract::ApiPath<Uuid>,
    ApiJson(req): ApiJson<PatchOrder>,
) -> ApiResult<Response> {
    auth.require_staff()?;
    let tenant = auth.tenant();
    let expected = if_match(&headers)?;
    let mut tx = s.tx(tenant).await?;
    let r = sqlx::query("SELECT * FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    if r.get::<String, _>("status") == "deleted" {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is deleted and cannot be edited".into(),
        });
    }
    let version: i32 = r.get("version");
    if version != expected {
        return Err(ApiError::PreconditionFailed { current: version });
    }
    let ids = id.to_string();
    let dec = |col: &str, field: &str| -> ApiResult<Option<String>> {
        r.get::<Option<Vec<u8>>, _>(col)
            .map(|b| {
                s.cipher
                    .decrypt_string(&b, aad(&ids, field))
                    .ok_or_else(|| ApiError::Internal("decrypt".into()))
            })
            .transpose()
    };
    let currency: Currency = r
        .get::<String, _>("currency")
        .parse()
        .map_err(|_| ApiError::Internal("currency".into()))?;
    let channel: Channel = r
        .get::<String, _>("channel")
        .parse()
        .map_err(ApiError::Internal)?;
    let old_customer = Customer {
        name: dec("customer_name", "customer_name")?.unwrap_or_default(),
        phone: dec("customer_phone", "customer_phone")?,
        email: dec("customer_email", "customer_email")?,
        address: dec("customer_address", "customer_address")?,
    };
    let old_notes = dec("notes", "notes")?;
    let customer = match req.customer {
        Some(patch) => patch.apply(old_customer.clone()),
        None => old_customer.clone(),
    }
    .validated(channel)?;
    let notes = pos_domain::text::notes(req.notes.apply(old_notes.clone()))?;
    let old_items: Vec<LineItem> =
        serde_json::from_value(r.get("items")).map_err(|e| ApiError::Internal(e.to_string()))?;
    let inputs = req
        .items
        .unwrap_or_else(|| old_items.iter().map(LineItem::to_input).collect());
    let discount = req
        .discount
        .apply(Some(currency.from_minor(r.get("discount_minor"))));
    let (items, totals) = price_items(inputs, discount, currency)?;
    let paid = currency.from_minor(r.get("paid_minor"));
    let old_schedule: Vec<ScheduleEntry> =
        serde_json::from_value(r.get("schedule")).map_err(|e| ApiError::Internal(e.to_string()))?;
    let schedule = pos_domain::schedule::regenerate(&old_schedule, paid, totals.total, currency)?;
    let mut fields = Vec::new();
    let mut diff = |name: &str, old: Option<&str>, new: Option<&str>| {
        if old != new {
            fields.push(FieldChange::new(&ids, name, old, new));
        }
    };
    diff(
        "customer.name",
        Some(&old_customer.name),
        Some(&customer.name),
    );
    diff(
        "customer.phone",
        old_customer.phone.as_deref(),
        customer.phone.as_deref(),
    );
    diff(
        "customer.email",
        old_customer.email.as_deref(),
        customer.email.as_deref(),
    );
    diff(
        "customer.address",
        old_customer.address.as_deref(),
        customer.address.as_deref(),
    );
    diff("notes", old_notes.as_deref(), notes.as_deref());
    let items_text = |v: &Vec<LineItem>| serde_json::to_string(v).unwrap_or_default();
    diff(
        "items",
        Some(&items_text(&old_items)),
        Some(&items_text(&items)),
    );
    diff(
        "total",
        Some(&currency.from_minor(r.get("total_minor")).to_string()),
        Some(&totals.total.to_string()),
    );
    if fields.is_empty() {
        let view = view_now(&s, &mut tx, tenant, id)
            .await?
            .ok_or(ApiError::NotFound)?;
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, view));
    }
    let completed = r.get::<Option<DateTime<Utc>>, _>("completed_at").is_some();
    let status = OrderStatus::derive(false, completed, paid == totals.total);
    let sealed = crate::pii::seal(&s.cipher, &ids, &customer, notes.as_deref());
    let crate::pii::SearchKeys {
        phone_index,
        email_index,
        tokens,
    } = crate::pii::search_keys(&s.cipher, &customer)?;
    sqlx::query(
        "UPDATE orders SET customer_name = $3, customer_phone = $4, customer_email = $5, customer_address = $6, notes = $7,
            phone_index = $8, email_index = $9, name_tokens = $10, items = $11, schedule = $12, subtotal_minor = $13,
            discount_minor = $14, total_minor = $15, status = $16, version = version + 1, updated_at = $18,
            last_modified_by_user_id = $17
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(&sealed.name).bind(&sealed.phone).bind(&sealed.email).bind(&sealed.address).bind(&sealed.notes)
    .bind(phone_index)
    .bind(email_index)
    .bind(tokens)
    .bind(serde_json::to_value(&items).unwrap_or_default())
    .bind(serde_json::to_value(&schedule).unwrap_or_default())
    .bind(totals.subtotal.to_minor(currency))
    .bind(totals.discount.to_minor(currency))
    .bind(totals.total.to_minor(currency))
    .bind(status.as_str())
    .bind(auth.user())
    .bind(s.now())
    .execute(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_check_violation() => pos_domain::ValidationError::new("items", "total_below_paid", "The new total is less than what was already paid").into(),
        other => ApiError::from(other),
    })?;
    audit::record(
        &mut tx,
        Event::new(
            (auth.user(), auth.role()),
            AuditAction::Update,
            "order",
            Some(ids.clone()),
            "order.update",
        )
        .detail(format!("version {version} -> {}", version + 1))
        .fields(fields),
    );
    tx.outbox(DomainEvent::OrderUpdated(events::OrderUpdated {
        order_id: id,
        version: u32::try_from(version + 1).unwrap_or_default(),
        total: totals.total,
        device_id: None,
    }));
    let view = view_now(&s, &mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, view))
}

/// A payment taken through the API.
pub(crate) struct NewPayment {
    id: Uuid,
    order_id: Uuid,
    amount: Money,
    method: PaymentMethod,
    reference: Option<String>,
    at: DateTime<Utc>,
}

/// Payment rows by column, inserted by one `unnest` statement (the same text for any number).
#[derive(Default)]
struct PaymentColumns {
    tenant: Vec<Uuid>,
    id: Vec<Uuid>,
    order_id: Vec<Uuid>,
    amount: Vec<i64>,
    method: Vec<&'static str>,
    at: Vec<DateTime<Utc>>,
    recorded_by: Vec<Uuid>,
    reference: Vec<Option<String>>,
}

impl PaymentColumns {
    fn push(&mut self, tenant: Uuid, recorded_by: Uuid, p: &NewPayment, currency: Currency) {
        self.tenant.push(tenant);
        self.id.push(p.id);
        self.order_id.push(p.order_id);
        self.amount.push(p.amount.to_minor(currency));
        self.method.push(p.method.as_str());
        self.at.push(p.at);
        self.recorded_by.push(recorded_by);
        self.reference.push(p.reference.clone());
    }

    /// Appends `INSERT INTO payments ... SELECT ... FROM unnest(...) AS u` and then `tail`.
    fn push_insert(self, qb: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, tail: &str) {
        qb.push(
            "INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at,
                recorded_by, reference) SELECT u.* FROM unnest(",
        );
        qb.separated(", ")
            .push_bind(self.tenant)
            .push_bind(self.id)
            .push_bind(self.order_id)
            .push_bind(self.amount)
            .push_bind(self.method)
            .push_bind(self.at)
            .push_bind(self.recorded_by)
            .push_bind(self.reference);
        qb.push(
            ") AS u (tenant_id, id, order_id, amount_minor, method, paid_at, recorded_by, reference)",
        )
        .push(tail);
    }
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

/// Writes a payment's ledger row, its PAYMENT audit event and its outbox event; returns the row.
async fn insert_payment(
    tx: &mut Tx,
    tenant: Uuid,
    actor: (Uuid, pos_domain::Role),
    p: &NewPayment,
    currency: Currency,
) -> ApiResult<sqlx::postgres::PgRow> {
    let mut columns = PaymentColumns::default();
    columns.push(tenant, actor.0, p, currency);
    let mut qb = sqlx::QueryBuilder::new("");
    columns.push_insert(&mut qb, " RETURNING *");
    let row = qb.build().fetch_one(&mut **tx).await?;
    record_payment_events(tx, actor, p);
    Ok(row)
}

/// Records a payment's PAYMENT audit event and its outbox event in `tx`.
fn record_payment_events(tx: &mut Tx, actor: (Uuid, pos_domain::Role), p: &NewPayment) {
    let (event, domain) = payment_events(actor, p);
    audit::record(tx, event);
    tx.outbox(domain);
}

/// A payment's PAYMENT audit event and its domain event.
fn payment_events(
    actor: (Uuid, pos_domain::Role),
    p: &NewPayment,
) -> (Event<'static>, DomainEvent) {
    (
        Event::new(
            actor,
            AuditAction::Payment,
            "payment",
            Some(p.id.to_string()),
            "payment.record",
        )
        .detail(format!("order={} amount={}", p.order_id, p.amount)),
        DomainEvent::PaymentReceived(events::PaymentMoved {
            order_id: p.order_id,
            payment_id: p.id,
            amount: p.amount,
            reverses: None,
            device_id: None,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::OrderNumbers;
    use std::time::Duration;

    #[test]
    fn a_block_lasts_about_a_second_at_the_pace_of_the_last_one() {
        let next = |size, ms| OrderNumbers::next_block_size(size, Duration::from_millis(ms));
        // 32 used in 100 ms is 320 a second: the next block holds 512.
        assert_eq!(next(32, 100), 512);
        assert_eq!(next(512, 1000), 512);
        // A burst reaches the largest block and stays there.
        assert_eq!(next(32, 10), OrderNumbers::MAX_BLOCK);
        assert_eq!(next(OrderNumbers::MAX_BLOCK, 0), OrderNumbers::MAX_BLOCK);
        // A quiet counter (or one idle since its last block) goes back to the smallest.
        assert_eq!(next(1024, 60_000), OrderNumbers::MIN_BLOCK);
        assert_eq!(next(32, 2_000), OrderNumbers::MIN_BLOCK);
    }
}
