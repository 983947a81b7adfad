//! The live preview on the new-order form: totals and the payment schedule, computed by the
//! same rules that `create_order` applies, so the screen never does its own arithmetic.

use crate::error::Result;
use crate::store::Store;
use pos_domain::items::price_items;
use pos_domain::schedule::generate;
use pos_domain::{Currency, ItemInput, LineItem, Money, PaymentTerms, ScheduleEntry, Totals};
use serde::{Deserialize, Serialize};

/// What the form has so far.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Deserialize)]
pub struct PreviewInput {
    pub items: Vec<ItemInput>,
    #[serde(default)]
    pub discount: Option<Money>,
    pub payment_terms: PaymentTerms,
}

/// Totals and the schedule the order would get if it were recorded now.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct OrderPreview {
    pub currency: Currency,
    pub items: Vec<LineItem>,
    pub totals: Totals,
    pub schedule: Vec<ScheduleEntry>,
}

impl Store {
    /// Prices the items and generates the schedule for today's business date. Reads and
    /// writes nothing; a rule violation is the same typed error `create_order` would give.
    pub fn preview_order(&self, input: PreviewInput) -> Result<OrderPreview> {
        let config = self.require_config()?;
        let currency = config.currency;
        let today = config.business_date(self.now());
        let (items, totals) = price_items(input.items, input.discount, currency)?;
        let schedule = generate(&input.payment_terms, totals.total, currency, today)?;
        Ok(OrderPreview {
            currency,
            items,
            totals,
            schedule,
        })
    }
}
