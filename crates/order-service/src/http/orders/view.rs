//! Orders as the API shows them: the view of an order row or of an order just written, its
//! payments and its `ETag`; the reads of one order (`GET /offline-orders/{id}`).

use super::aad;
use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::db::payments::NewPayment;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use pos_crypto::FieldCipher;
use pos_domain::schedule::ScheduleLine;
use pos_domain::{Currency, LineItem, Money, PaymentTerms, ScheduleEntry};
use pos_protocol::AuditAction;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

/// Reads one order (with payments) as the API shows it, on today's business day in the
/// tenant's time zone.
pub(super) async fn view_now(
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
    let payments = crate::db::payments::of_orders(tx, tenant, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let mut origins = crate::db::payments::origins(tx, tenant, id).await?;
    let origin = crate::db::orders::origin(tx, tenant, id).await?;
    let mut view = view_of(cipher, &r, today, |c| {
        payments
            .iter()
            .map(payment_json(c))
            .map(|mut p| {
                if let Some((name, device)) = origins.remove(&p.id) {
                    p.recorded_by_name = name;
                    p.device_code = device;
                }
                p
            })
            .collect()
    })?;
    view.origin = origin;
    Ok(Some(view))
}

/// The API's view of an order row and its payments (oldest first, as the API shows them, given
/// the order's currency).
pub(super) fn view_of(
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
    let status: pos_domain::OrderStatus = r
        .get::<String, _>("status")
        .parse()
        .map_err(ApiError::Internal)?;
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
        overdue: pos_domain::figures::Overdue::of(status, &schedule, paid, today).any(),
        partly_paid: status.is_partly_paid(paid, total - paid),
        payment_terms: TermsView::as_paid(json_column(r, "terms")?, status, &schedule, paid, today),
        payments: payments(currency),
        recorded_by: r.get("recorded_by_user_id"),
        last_modified_by: r.get("last_modified_by_user_id"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        version: r.get("version"),
        origin: None,
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
/// written ([`NewOrder::view`](super::NewOrder::view)) — serialized straight from these values
/// (no `Value` tree).
#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub(super) id: Uuid,
    pub(super) order_number: String,
    pub(super) order_type: String,
    pub(super) channel: String,
    pub(super) status: String,
    pub(super) customer: CustomerView,
    pub(super) notes: Option<String>,
    pub(super) items: Vec<LineItem>,
    pub(super) subtotal: Money,
    pub(super) discount: Money,
    pub(super) total: Money,
    pub(super) currency: Currency,
    pub(super) paid: Money,
    pub(super) balance: Money,
    /// Some installment is overdue on the shop's business day (`pos_domain::figures`).
    pub(super) overdue: bool,
    /// Open, with some but not all of the total paid (`OrderStatus::is_partly_paid`).
    pub(super) partly_paid: bool,
    pub(super) payment_terms: TermsView,
    pub(super) payments: Vec<PaymentView>,
    /// The shop's day the order belongs to (in the tenant's time zone, or the counter's).
    pub(super) business_date: NaiveDate,
    /// The number the counter first gave the order, when the service gave it another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) counter_number: Option<String>,
    pub(super) recorded_by: Uuid,
    pub(super) last_modified_by: Uuid,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) version: i32,
    /// Where the order came from (in the answer for one order; absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) origin: Option<crate::db::orders::Origin>,
    /// Who deleted the order, when and why (`null` while it stands).
    #[schema(value_type = Option<Object>)]
    pub(super) deleted: Option<Value>,
}

/// The customer with every field present (`null` when not given).
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CustomerView {
    pub(super) name: String,
    pub(super) phone: Option<String>,
    pub(super) email: Option<String>,
    pub(super) address: Option<String>,
}

/// The terms as agreed, with the schedule as paid so far.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TermsView {
    #[serde(flatten)]
    terms: PaymentTerms,
    schedule: Vec<ScheduleLine>,
}

impl TermsView {
    /// `terms` with `schedule` as `paid` covers it on business day `today`, for an order with
    /// `status` ([`pos_domain::figures::schedule_lines`]).
    pub(super) fn as_paid(
        terms: PaymentTerms,
        status: pos_domain::OrderStatus,
        schedule: &[ScheduleEntry],
        paid: Money,
        today: NaiveDate,
    ) -> Self {
        TermsView {
            terms,
            schedule: pos_domain::figures::schedule_lines(status, schedule, paid, today),
        }
    }
}

/// A payment as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
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
    /// Who took it: the staff member's name (in the answer for one order).
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded_by_name: Option<String>,
    /// Where: the counter's code; absent when taken at the office or through the API (or not
    /// known: taken before the service recorded it), and in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_code: Option<String>,
}

pub(super) fn payment_json(currency: Currency) -> impl Fn(&sqlx::postgres::PgRow) -> PaymentView {
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
pub(super) fn new_payment_json(
    p: &NewPayment,
    recorded_by: Uuid,
    currency: Currency,
) -> PaymentView {
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
        recorded_by_name: None,
        device_code: None,
    }
}

/// `view` as the body, its version as the `ETag`.
pub(super) fn with_etag(status: StatusCode, view: OrderView) -> Response {
    let version = view.version;
    let mut res = (status, axum::Json(view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

#[utoipa::path(
    get,
    path = "/offline-orders/{id}",
    operation_id = "get_order",
    tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "the id")),
    responses((status = 200, description = "the order, with its version as ETag", body = OrderView)),
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
        NewEvent::by(
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
