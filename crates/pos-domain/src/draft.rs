//! A new order as it is entered — at a counter (`pos-core`) or through `POST /offline-orders`
//! (the order-service) — and the one rule that turns it into a valid order: the customer for
//! its channel, the notes, the items priced into totals (SPEC §4.1), the schedule its terms
//! generate from the shop's business day (§4.2), and the first payment the terms allow (§4.3).

use crate::edit::Change;
use crate::items::{price_items, ItemInput, LineItem, Totals};
use crate::schedule::{generate, ScheduleEntry};
use crate::LedgerError;
#[cfg(doc)]
use crate::ValidationError;
use crate::{
    Channel, Currency, Customer, Money, OrderId, OrderStatus, PaymentId, PaymentMethod,
    PaymentTerms,
};
use chrono::NaiveDate;
use serde::Deserialize;

/// A new order as entered. Amounts are decimal strings, checked against the shop's currency.
/// (The order-service's API document names it `CreateOrder`.)
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CreateOrder))]
#[derive(Debug, Clone, Deserialize)]
pub struct NewOrder {
    /// The client may choose the id (a UUIDv7 made today); creating the same id again returns
    /// the first result.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
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

/// A payment as entered.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentInput {
    /// The counter may choose the id; recording the same id again returns the first result.
    /// (The order-service draws a new order's first payment id itself: a create through the
    /// API is made idempotent by the order's id.)
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub id: Option<PaymentId>,
    pub amount: Money,
    pub method: PaymentMethod,
    #[serde(default)]
    pub reference: Option<String>,
}

/// A new order that passed every rule, ready to be numbered, sealed and written.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidOrder {
    /// The id the client chose, if it did.
    pub id: Option<OrderId>,
    pub channel: Channel,
    pub customer: Customer,
    pub notes: Option<String>,
    pub items: Vec<LineItem>,
    pub totals: Totals,
    pub terms: PaymentTerms,
    pub schedule: Vec<ScheduleEntry>,
    /// The first payment, its amount accepted and its reference checked.
    pub first_payment: Option<FirstPayment>,
    /// What the first payment pays (zero without one).
    pub paid: Money,
    /// The status that follows from it.
    pub status: OrderStatus,
}

/// The first payment of a valid order.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstPayment {
    pub id: Option<PaymentId>,
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: Option<String>,
}

impl ValidOrder {
    /// What a new order's audit event records (the audit trail keeps each value's hash):
    /// the customer's name, the total and the kind of terms, then the customer's phone,
    /// e-mail and address and the notes where given.
    pub fn created_fields(&self) -> Vec<Change> {
        let set = |field: &'static str, v: Option<String>| Change {
            field,
            old: None,
            new: v,
        };
        let mut out = vec![
            set("customer.name", Some(self.customer.name.clone())),
            set("total", Some(self.totals.total.to_string())),
            set("payment_terms", Some(self.terms.kind().to_owned())),
        ];
        for (field, v) in [
            ("customer.phone", &self.customer.phone),
            ("customer.email", &self.customer.email),
            ("customer.address", &self.customer.address),
            ("notes", &self.notes),
        ] {
            if v.is_some() {
                out.push(set(field, v.clone()));
            }
        }
        out
    }
}

impl NewOrder {
    /// Applies every rule of a new order in `currency` recorded on the shop's business day
    /// `today`.
    ///
    /// # Errors
    /// The first broken rule, at its field (a [`ValidationError`] inside
    /// [`LedgerError::Invalid`], or the ledger's refusal of the first payment): the customer, the notes, the
    /// items and discount, the terms and their schedule, the first payment's amount
    /// ([`crate::ledger::initial_payment`]) and its reference.
    pub fn validate(self, currency: Currency, today: NaiveDate) -> Result<ValidOrder, LedgerError> {
        let customer = self.customer.validated(self.channel)?;
        let notes = crate::text::notes(self.notes)?;
        let (items, totals) = price_items(self.items, self.discount, currency)?;
        let schedule = generate(&self.payment_terms, totals.total, currency, today)?;
        let paid = crate::ledger::initial_payment(
            currency,
            &self.payment_terms,
            self.initial_payment.as_ref().map(|p| p.amount.0),
            totals.total,
        )?;
        let first_payment = match self.initial_payment {
            Some(p) => Some(FirstPayment {
                id: p.id,
                amount: paid,
                method: p.method,
                reference: crate::text::reference(p.reference, "initial_payment.reference")?,
            }),
            None => None,
        };
        Ok(ValidOrder {
            id: self.id,
            channel: self.channel,
            terms: self.payment_terms,
            customer,
            notes,
            items,
            status: OrderStatus::of(crate::Standing::live(paid, totals.total, false)),
            totals,
            schedule,
            first_payment,
            paid,
        })
    }
}
