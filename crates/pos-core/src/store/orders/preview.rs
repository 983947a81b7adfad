//! The live preview on the new-order form ([`pos_domain::preview`], the rule the office's
//! form uses too).

use crate::error::Result;
use crate::store::Store;
pub use pos_domain::preview::{OrderPreview, PreviewInput};

impl Store {
    /// Prices the items and generates the schedule for today's business date. Reads and
    /// writes nothing; a rule violation is the same typed error `create_order` would give.
    pub fn preview_order(&self, input: PreviewInput) -> Result<OrderPreview> {
        let config = self.require_config()?;
        let today = config.business_date(self.now());
        Ok(pos_domain::preview::preview(input, config.currency, today)?)
    }
}
