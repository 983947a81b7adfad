//! `/offline-orders`: create, read, list, pay, delete — each in a tenant transaction with its
//! audit event and outbox event. The rules are `pos-domain`'s, the same as on the desktop.
//!
//! The module by concern: `numbers` hands out the API order numbers, `view` builds the
//! order as the API shows it (and reads one), `create` validates, prices and writes new
//! orders, `payments` takes and reverses payments, `edit` patches and deletes, `list`
//! pages and searches, `audit_feed` serves the audit log and its check, and `idempotency`
//! replays the first answer to a repeated `Idempotency-Key`. The request types are here.

mod audit_feed;
mod create;
mod edit;
mod export;
mod idempotency;
mod list;
mod payments;
mod view;

pub use crate::numbers::{OrderNumbers, API_NUMBER_PREFIX};
pub use audit_feed::{__path_audit_events, __path_audit_verify, audit_events, audit_verify};
pub use create::{__path_create, __path_preview, create, preview};
pub use edit::{__path_delete, __path_patch, delete, patch};
pub use export::{__path_export, export, ExportKind, ExportRequest};
pub use list::{__path_list, __path_search, list, search};
pub use payments::{__path_pay, __path_reverse, pay, reverse};
pub(crate) use view::json_column;
pub use view::{__path_get, get, OrderView, PaymentView};

use pos_crypto::Aad;
use pos_domain::{Channel, ItemInput, Money, OrderStatus, PaymentMethod};
use pos_protocol::AuditAction;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /offline-orders`'s body: the shared draft of a new order ([`pos_domain::draft`]),
/// named `CreateOrder` in the API document.
pub use pos_domain::draft::NewOrder as CreateOrder;

pub(crate) fn aad<'a>(id: &'a str, field: &'a str) -> Aad<'a> {
    Aad {
        table: "orders",
        record_id: id,
        field,
    }
}

/// A page's filters: in the query of `GET /offline-orders`, or the body of `POST
/// /offline-orders/search`.
#[derive(Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub status: Option<OrderStatus>,
    pub channel: Option<Channel>,
    /// Business days from (inclusive).
    pub from: Option<chrono::NaiveDate>,
    /// Business days to (inclusive).
    pub to: Option<chrono::NaiveDate>,
    /// An order number, a phone number, an e-mail address or words of a name.
    pub q: Option<String>,
    /// Only the orders of this counter (a device id).
    pub device_id: Option<Uuid>,
    /// Only orders with an overdue installment on the shop's business day
    /// (`pos_domain::figures::Overdue`).
    pub overdue: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<Uuid>,
}

/// What every order a filter matches adds up to (not only a page's).
#[derive(Serialize, utoipa::ToSchema, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListTotals {
    /// How many orders match.
    pub orders: i64,
    /// Their totals, paid and balance, deleted orders left out.
    pub total: Money,
    pub paid: Money,
    pub balance: Money,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ListResponse {
    pub items: Vec<OrderView>,
    pub next_cursor: Option<Uuid>,
    /// The totals of every matching order (on the first page only: absent with a cursor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals: Option<ListTotals>,
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

/// A reversal (refund) of one payment, approved by the owner or manager who asks for it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReversalRequest {
    /// The reversing entry's id, for a safe retry (a UUIDv7; the service makes one if absent).
    #[serde(default)]
    pub id: Option<Uuid>,
    /// Why the payment is reversed (1 to 500 characters), kept with the approval.
    pub reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeleteRequest {
    pub reason: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<Uuid>,
    pub action: Option<AuditAction>,
    pub device_id: Option<Uuid>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    pub limit: Option<i64>,
}

/// A JSON merge patch (RFC 7396) of an order: an absent member is unchanged, `null` clears
/// it (the customer's phone, e-mail or address, the discount, the notes), `items` replaces the
/// whole list; the rules are checked on the merged order.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PatchOrder {
    /// Merged into the customer; `null` is refused (an order has a customer).
    #[serde(default)]
    #[schema(value_type = Option<pos_domain::customer::CustomerPatch>, nullable)]
    pub customer: pos_domain::Patch<pos_domain::customer::CustomerPatch>,
    /// Replaces the items; `null` is refused (an order has items).
    #[serde(default)]
    #[schema(value_type = Option<Vec<ItemInput>>, nullable)]
    pub items: pos_domain::Patch<Vec<ItemInput>>,
    #[serde(default)]
    #[schema(value_type = Option<String>, nullable)]
    pub discount: pos_domain::Patch<Money>,
    #[serde(default)]
    #[schema(value_type = Option<String>, nullable)]
    pub notes: pos_domain::Patch<String>,
}

impl PatchOrder {
    /// The whole edit this merge patch asks of an order whose content is `before`: absent
    /// members keep theirs, `null` clears, a value sets (RFC 7396).
    ///
    /// # Errors
    /// `required` when the patch clears (`null`) the customer, its name or the items.
    pub fn merged_with(
        self,
        before: &pos_domain::edit::Content,
    ) -> Result<pos_domain::edit::OrderEdit, pos_domain::ValidationError> {
        use pos_domain::customer::required;
        use pos_domain::Patch;
        Ok(pos_domain::edit::OrderEdit {
            customer: match self.customer {
                Patch::Set(patch) => patch.apply(before.customer.clone())?,
                Patch::Keep => before.customer.clone(),
                Patch::Clear => return Err(required("customer", "The customer")),
            },
            notes: self.notes.apply(before.notes.clone()),
            items: match self.items {
                Patch::Set(items) => items,
                Patch::Keep => before
                    .items
                    .iter()
                    .map(pos_domain::LineItem::to_input)
                    .collect(),
                Patch::Clear => return Err(required("items", "The items")),
            },
            discount: self.discount.apply(Some(before.totals.discount)),
        })
    }
}
