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

pub use pos_domain::draft::{NewOrder, PaymentInput};

pub use pos_domain::edit::OrderEdit;

pub(crate) fn validate_reference(
    r: Option<String>,
) -> Result<Option<String>, pos_domain::ValidationError> {
    pos_domain::text::reference(r, "reference")
}

pub(crate) fn validate_reason(reason: &str) -> Result<String, pos_domain::ValidationError> {
    pos_domain::ledger::reason(reason)
}
