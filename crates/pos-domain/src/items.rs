use crate::{Currency, Money, ValidationError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An item as entered: name, optional SKU, quantity (up to 3 decimals, for goods sold by
/// weight), unit price and optional line discount, all as typed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub quantity: Decimal,
    pub unit_price: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
}

/// A checked line with its derived total.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub name: String,
    pub sku: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub quantity: Decimal,
    pub unit_price: Money,
    pub discount: Money,
    pub line_total: Money,
}

/// Totals derived from the items, never typed in.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
}

pub const MAX_ITEMS: usize = 200;
const MAX_QUANTITY: i64 = 1_000_000;

impl LineItem {
    pub fn from_input(
        index: usize,
        input: ItemInput,
        currency: Currency,
    ) -> Result<LineItem, ValidationError> {
        let f = |name: &str| format!("items[{index}].{name}");
        let name = input.name.trim().to_owned();
        if name.is_empty() {
            return Err(ValidationError::new(
                f("name"),
                "required",
                "Item name is required",
            ));
        }
        if name.chars().count() > 200 {
            return Err(ValidationError::new(
                f("name"),
                "too_long",
                "Item name is longer than 200 characters",
            )
            .with("max", 200));
        }
        let sku = input
            .sku
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if sku.as_ref().is_some_and(|s| s.chars().count() > 64) {
            return Err(ValidationError::new(
                f("sku"),
                "too_long",
                "SKU is longer than 64 characters",
            )
            .with("max", 64));
        }
        let quantity = input.quantity.normalize();
        if quantity <= Decimal::ZERO {
            return Err(ValidationError::new(
                f("quantity"),
                "not_positive",
                "Quantity must be greater than 0",
            ));
        }
        if quantity.scale() > 3 || quantity > Decimal::from(MAX_QUANTITY) {
            return Err(ValidationError::new(
                f("quantity"),
                "invalid_quantity",
                "Quantity may have at most 3 decimals and be at most 1,000,000",
            ));
        }
        let unit_price = currency.check(&f("unit_price"), input.unit_price.0)?;
        let discount = currency.check(&f("discount"), input.discount.unwrap_or_default().0)?;
        let gross = currency.check(&f("unit_price"), currency.round(quantity * unit_price.0))?;
        if discount > gross {
            return Err(ValidationError::new(
                f("discount"),
                "discount_too_large",
                format!("Line discount {discount} is more than the line amount {gross}"),
            )
            .with("discount", discount)
            .with("amount", gross));
        }
        Ok(LineItem {
            name,
            sku,
            quantity,
            unit_price,
            discount,
            line_total: gross - discount,
        })
    }
}

impl LineItem {
    /// The line as input again (e.g. to re-check totals received from elsewhere).
    pub fn to_input(&self) -> ItemInput {
        ItemInput {
            name: self.name.clone(),
            sku: self.sku.clone(),
            quantity: self.quantity,
            unit_price: self.unit_price,
            discount: Some(self.discount),
        }
    }
}

/// Checks every item and the order discount and derives the totals.
pub fn price_items(
    items: Vec<ItemInput>,
    order_discount: Option<Money>,
    currency: Currency,
) -> Result<(Vec<LineItem>, Totals), ValidationError> {
    if items.is_empty() {
        return Err(ValidationError::new(
            "items",
            "required",
            "An order needs at least one item",
        ));
    }
    if items.len() > MAX_ITEMS {
        return Err(ValidationError::new(
            "items",
            "too_many",
            format!("An order can have at most {MAX_ITEMS} items"),
        )
        .with("max", MAX_ITEMS));
    }
    let lines = items
        .into_iter()
        .enumerate()
        .map(|(i, it)| LineItem::from_input(i, it, currency))
        .collect::<Result<Vec<_>, _>>()?;
    let subtotal: Money = lines.iter().map(|l| l.line_total).sum();
    let subtotal = currency.check("items", subtotal.0)?;
    let discount = currency.check("discount", order_discount.unwrap_or_default().0)?;
    if discount > subtotal {
        return Err(ValidationError::new(
            "discount",
            "discount_too_large",
            format!("Order discount {discount} is more than the subtotal {subtotal}"),
        )
        .with("discount", discount)
        .with("amount", subtotal));
    }
    Ok((
        lines,
        Totals {
            subtotal,
            discount,
            total: subtotal - discount,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(q: &str, p: &str, d: Option<&str>) -> ItemInput {
        ItemInput {
            name: "Beras 5kg".into(),
            sku: None,
            quantity: q.parse().unwrap(),
            unit_price: Money(p.parse().unwrap()),
            discount: d.map(|d| Money(d.parse().unwrap())),
        }
    }

    #[test]
    fn totals_are_derived() {
        let (lines, t) = price_items(
            vec![item("2", "75000", Some("5000")), item("1.5", "10001", None)],
            Some(Money(Decimal::from(1000))),
            Currency::IDR,
        )
        .unwrap();
        assert_eq!(lines[0].line_total.0, Decimal::from(145_000));
        // 1.5 × 10001 = 15001.5 → 15002 (half away from zero)
        assert_eq!(lines[1].line_total.0, Decimal::from(15_002));
        assert_eq!(t.subtotal.0, Decimal::from(160_002));
        assert_eq!(t.total.0, Decimal::from(159_002));
    }

    #[test]
    fn errors_name_the_field() {
        let e = price_items(vec![item("0", "1", None)], None, Currency::IDR).unwrap_err();
        assert_eq!(e.field, "items[0].quantity");
        let e = price_items(
            vec![item("1", "1", None), item("1", "10", Some("11"))],
            None,
            Currency::IDR,
        )
        .unwrap_err();
        assert_eq!(e.field, "items[1].discount");
        let e = price_items(
            vec![item("1", "10", None)],
            Some(Money(Decimal::from(11))),
            Currency::IDR,
        )
        .unwrap_err();
        assert_eq!(e.field, "discount");
        let e = price_items(vec![], None, Currency::IDR).unwrap_err();
        assert_eq!(e.field, "items");
        let e = price_items(vec![item("1", "1.5", None)], None, Currency::IDR).unwrap_err();
        assert_eq!(e.field, "items[0].unit_price");
    }
}
