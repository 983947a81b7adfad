//! Orders: creation, payments, edits, completion, deletion, and the queries behind the screens.

mod create;
mod lifecycle;
mod payments;
mod preview;
mod query;
pub(crate) mod record;
pub(crate) mod rows;

pub use preview::{OrderPreview, PreviewInput};
pub use query::{Dashboard, ListQuery, OrderPage, OrderSummary, SearchKind};
pub use record::{OrderDetail, PaymentView, StaffRef};

use pos_domain::{
    Channel, Customer, ItemInput, Money, OrderId, PaymentId, PaymentMethod, PaymentTerms,
};
use serde::Deserialize;

/// A new order as entered at the counter. Amounts are decimal strings, checked against the
/// shop's currency.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Deserialize)]
pub struct NewOrder {
    /// The client may choose the id; creating the same id again returns the first result.
    #[serde(default)]
    pub id: Option<OrderId>,
    pub channel: Channel,
    pub customer: Customer,
    pub items: Vec<ItemInput>,
    #[serde(default)]
    pub discount: Option<Money>,
    #[serde(default)]
    pub notes: Option<String>,
    pub payment_terms: PaymentTerms,
    #[serde(default)]
    pub initial_payment: Option<PaymentInput>,
}

/// A payment taken at the counter.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentInput {
    /// The client may choose the id; recording the same id again returns the first result.
    #[serde(default)]
    pub id: Option<PaymentId>,
    pub amount: Money,
    pub method: PaymentMethod,
    #[serde(default)]
    pub reference: Option<String>,
}

/// The editable part of an order, as the edit form sends it back (the whole of it).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Deserialize)]
pub struct OrderEdit {
    pub customer: Customer,
    pub items: Vec<ItemInput>,
    #[serde(default)]
    pub discount: Option<Money>,
    #[serde(default)]
    pub notes: Option<String>,
}

pub(crate) fn validate_notes(
    notes: Option<String>,
) -> Result<Option<String>, pos_domain::ValidationError> {
    pos_domain::text::notes(notes)
}

pub(crate) fn validate_reference(
    r: Option<String>,
) -> Result<Option<String>, pos_domain::ValidationError> {
    pos_domain::text::reference(r, "reference")
}

pub(crate) fn validate_reason(reason: &str) -> Result<String, pos_domain::ValidationError> {
    pos_domain::ledger::reason(reason)
}
