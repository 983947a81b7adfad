//! The service's domain events: what its outbox holds and `GET /events` (and, later, the
//! `order-events` topic) hands downstream. One type for every path — an office's request or a
//! counter's pushed change — so an event has the same shape whichever way its change came.
//! Ids and amounts only: never customer data. Documented for consumers in `docs/events.md`.

use pos_domain::Money;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An order recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCreated {
    pub order_id: Uuid,
    pub order_number: String,
    pub total: Money,
    /// The counter that recorded it; absent for an order taken through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
}

/// An order's customer, items, discount or notes changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdated {
    pub order_id: Uuid,
    /// The order's version after the change.
    pub version: u32,
    pub total: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
}

/// An order completed or deleted: which one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderChanged {
    pub order_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
}

/// A payment received, or a reversal (refund) of one: `amount` is negative and `reverses`
/// names the payment for a reversal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMoved {
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
}

/// A domain event (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    OrderCreated(OrderCreated),
    OrderUpdated(OrderUpdated),
    OrderCompleted(OrderChanged),
    OrderDeleted(OrderChanged),
    PaymentReceived(PaymentMoved),
    PaymentReversed(PaymentMoved),
}

impl DomainEvent {
    /// The event's type, as the outbox and the feed name it (`order.created`, …).
    pub fn event_type(&self) -> &'static str {
        match self {
            DomainEvent::OrderCreated(_) => "order.created",
            DomainEvent::OrderUpdated(_) => "order.updated",
            DomainEvent::OrderCompleted(_) => "order.completed",
            DomainEvent::OrderDeleted(_) => "order.deleted",
            DomainEvent::PaymentReceived(_) => "payment.received",
            DomainEvent::PaymentReversed(_) => "payment.reversed",
        }
    }

    /// The order the event is about (the aggregate: an order's events stay in order).
    pub fn order_id(&self) -> Uuid {
        match self {
            DomainEvent::OrderCreated(e) => e.order_id,
            DomainEvent::OrderUpdated(e) => e.order_id,
            DomainEvent::OrderCompleted(e) | DomainEvent::OrderDeleted(e) => e.order_id,
            DomainEvent::PaymentReceived(e) | DomainEvent::PaymentReversed(e) => e.order_id,
        }
    }

    /// The event's payload as stored and fed (the variant's fields).
    pub fn payload(&self) -> serde_json::Value {
        let v = match self {
            DomainEvent::OrderCreated(e) => serde_json::to_value(e),
            DomainEvent::OrderUpdated(e) => serde_json::to_value(e),
            DomainEvent::OrderCompleted(e) | DomainEvent::OrderDeleted(e) => {
                serde_json::to_value(e)
            }
            DomainEvent::PaymentReceived(e) | DomainEvent::PaymentReversed(e) => {
                serde_json::to_value(e)
            }
        };
        // plain structs of ids, strings and decimal amounts always serialise
        v.unwrap_or(serde_json::Value::Null)
    }

    /// A payment's event: received, or reversed when it reverses one.
    pub fn payment(p: PaymentMoved) -> DomainEvent {
        if p.reverses.is_some() {
            DomainEvent::PaymentReversed(p)
        } else {
            DomainEvent::PaymentReceived(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_has_one_shape_and_names_its_order() {
        let id = Uuid::from_u128(1);
        let e = DomainEvent::payment(PaymentMoved {
            order_id: id,
            payment_id: Uuid::from_u128(2),
            amount: pos_domain::Currency::IDR.from_minor(-50000),
            reverses: Some(Uuid::from_u128(3)),
            device_id: None,
        });
        assert_eq!(e.event_type(), "payment.reversed");
        assert_eq!(e.order_id(), id);
        let p = e.payload();
        assert_eq!(p["amount"], "-50000");
        assert!(p.get("device_id").is_none());
    }
}
