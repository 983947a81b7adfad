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

use pos_domain::{Customer, ItemInput, Money};
use serde::Deserialize;

pub use pos_domain::draft::{NewOrder, PaymentInput};

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

pub(crate) fn validate_reference(
    r: Option<String>,
) -> Result<Option<String>, pos_domain::ValidationError> {
    pos_domain::text::reference(r, "reference")
}

pub(crate) fn validate_reason(reason: &str) -> Result<String, pos_domain::ValidationError> {
    pos_domain::ledger::reason(reason)
}
