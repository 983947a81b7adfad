//! The live preview on a new-order form (the counter's and the office's): totals and the
//! payment schedule, computed by the rules a create applies ([`crate::draft`]), so no screen
//! does its own arithmetic.

use crate::items::{price_items, ItemInput, LineItem, Totals};
use crate::schedule::{generate, ScheduleEntry};
use crate::{Currency, Money, PaymentTerms, ValidationError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What the form has so far.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct PreviewInput {
    pub items: Vec<ItemInput>,
    #[serde(default)]
    pub discount: Option<Money>,
    pub payment_terms: PaymentTerms,
}

/// Totals and the schedule the order would get if it were recorded now.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct OrderPreview {
    pub currency: Currency,
    pub items: Vec<LineItem>,
    pub totals: Totals,
    pub schedule: Vec<ScheduleEntry>,
}

/// Prices `input`'s items in `currency` and generates its schedule from the shop's business
/// day `today`; a rule violation is the error a create would give.
pub fn preview(
    input: PreviewInput,
    currency: Currency,
    today: NaiveDate,
) -> Result<OrderPreview, ValidationError> {
    let (items, totals) = price_items(input.items, input.discount, currency)?;
    let schedule = generate(&input.payment_terms, totals.total, currency, today)?;
    Ok(OrderPreview {
        currency,
        items,
        totals,
        schedule,
    })
}
