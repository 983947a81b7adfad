//! A pushed new order: re-checked, numbered (the counter's number or the next free one of
//! the day) and written.

use super::{rejected, Outcome};
use crate::db::Tx;
use crate::error::ApiResult;
use crate::AppState;
use pos_domain::items::price_items;
use pos_domain::{ItemInput, LineItem};
use pos_protocol::{events, DomainEvent, OrderSnapshot};
use uuid::Uuid;

/// A device's new order, re-checked: customer rules, totals from the items, the schedule from
/// the terms.
pub(super) async fn insert_order(
    s: &AppState,
    tx: &mut Tx,
    tenant: Uuid,
    device: Uuid,
    o: &OrderSnapshot,
) -> ApiResult<Outcome> {
    let currency = s.currency(tx, tenant).await?;
    if o.currency != currency {
        return Ok(rejected(
            "currency_mismatch",
            format!(
                "The order is in {}, the shop keeps its books in {}",
                o.currency.code(),
                currency.code()
            ),
        ));
    }
    let customer = match o.customer.clone().validated(o.channel) {
        Ok(c) => c,
        Err(e) => return Ok(rejected("invalid_customer", e.to_string())),
    };
    let notes = match pos_domain::text::notes(o.notes.clone()) {
        Ok(n) => n,
        Err(e) => return Ok(rejected("invalid_text", e.to_string())),
    };
    let inputs: Vec<ItemInput> = o.items.iter().map(LineItem::to_input).collect();
    let (items, totals) = match price_items(inputs, Some(o.totals.discount), o.currency) {
        Ok(v) => v,
        Err(e) => return Ok(rejected("invalid_items", e.to_string())),
    };
    if totals != o.totals {
        return Ok(rejected(
            "totals_mismatch",
            "Totals do not follow from the items",
        ));
    }
    match pos_domain::schedule::generate(
        &o.payment_terms,
        totals.total,
        o.currency,
        o.business_date,
    ) {
        Ok(sched) if sched == o.schedule => {}
        Ok(_) => {
            return Ok(rejected(
                "schedule_mismatch",
                "The schedule does not follow from the terms",
            ))
        }
        Err(e) => return Ok(rejected("invalid_terms", e.to_string())),
    }
    let mut number = assign_number(tx, tenant, device, o).await?;
    // A counter's clock can be wrong: a creation time in the future of the service's own is
    // not believed (the counter's claim is kept beside it).
    let received = s.now();
    let created_at = if o.created_at > received + chrono::Duration::minutes(CLOCK_TOLERANCE_MINUTES)
    {
        received
    } else {
        o.created_at
    };
    let ids = o.id.to_string();
    let sealed = pos_crypto::customer::seal(&s.cipher, &ids, &customer, notes.as_deref());
    let country = s.settings(tx, tenant).await?.phone_country_code;
    let pos_crypto::customer::SearchKeys {
        phone_index,
        email_index,
        name_tokens,
    } = pos_crypto::customer::search_keys(&s.cipher, &customer, &country.digits())?;
    // Twice at most: a number taken meanwhile by a concurrent push gets the next free one.
    for attempt in 0..2 {
        let inserted = sqlx::query(
            "INSERT INTO orders (tenant_id, id, order_number, channel, status, currency, customer_name, customer_phone,
                customer_email, customer_address, notes, phone_index, email_index, name_tokens, items, schedule, terms,
                subtotal_minor, discount_minor, total_minor, paid_minor, business_date, device_id, recorded_by_user_id,
                last_modified_by_user_id, created_at, updated_at, version, counter_number, claimed_created_at, received_at, unpaid_due)
             VALUES ($1, $2, $3, $4, $25, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 0, $20, $21, $22, $22, $23, $23, $24, $26, $27, $28,
                     COALESCE($29::date, 'infinity'))
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant).bind(o.id.0).bind(&number).bind(o.channel.as_str()).bind(o.currency.code())
        .bind(&sealed.name).bind(&sealed.phone).bind(&sealed.email).bind(&sealed.address).bind(&sealed.notes)
        .bind(&phone_index).bind(&email_index).bind(&name_tokens)
        .bind(sqlx::types::Json(&items))
        .bind(sqlx::types::Json(&o.schedule))
        .bind(sqlx::types::Json(&o.payment_terms))
        .bind(totals.subtotal.to_minor(o.currency)).bind(totals.discount.to_minor(o.currency)).bind(totals.total.to_minor(o.currency))
        .bind(o.business_date).bind(device).bind(o.recorded_by.0).bind(created_at).bind(o.version as i32)
        .bind(if totals.total.is_zero() { "paid" } else { "pending" })
        .bind((number != o.order_number).then_some(&o.order_number)).bind(o.created_at).bind(received)
        .bind(pos_domain::figures::unpaid_due(&o.schedule, pos_domain::Money::ZERO))
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 1 {
            break;
        }
        // The same order, written by a concurrent push of this very mutation: answer as it has it.
        let existing: Option<String> =
            sqlx::query_scalar("SELECT order_number FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(o.id.0)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(n) = existing {
            return Ok(if n == o.order_number {
                Outcome::Applied
            } else {
                Outcome::Renumbered(n)
            });
        }
        if attempt == 1 {
            return Ok(rejected(
                "order_number_taken",
                format!("Order number {number} is already used in this shop"),
            ));
        }
        number = assign_number(tx, tenant, device, o).await?;
    }

    tx.outbox(DomainEvent::OrderCreated(events::OrderCreated {
        order_id: o.id.0,
        order_number: number.clone(),
        total: totals.total,
        device_id: Some(device),
    }));
    Ok(if number == o.order_number {
        Outcome::Applied
    } else {
        Outcome::Renumbered(number)
    })
}

/// How far in the future of the service's clock a counter's claimed time may be (minutes).
const CLOCK_TOLERANCE_MINUTES: i64 = 5;

/// The number a pushed order is stored under: the counter's own, when it is of that counter's
/// series and free; otherwise (a counter restored from an older copy gave it again, or it is
/// not of the counter's series) the first free `<code>-<yyyymmdd>-R<nnn>` of that day. No number
/// is ever given twice in a tenant, and no collision stops an order.
async fn assign_number(
    tx: &mut Tx,
    tenant: Uuid,
    device: Uuid,
    o: &OrderSnapshot,
) -> ApiResult<String> {
    let code: String =
        sqlx::query_scalar("SELECT device_code FROM devices WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(device)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or_else(|| "DEV".into());
    if o.order_number.starts_with(&format!("{code}-"))
        && !number_taken(tx, tenant, &o.order_number).await?
    {
        return Ok(o.order_number.clone());
    }
    let base = format!("{code}-{}-R", o.business_date.format("%Y%m%d"));
    let used: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND order_number LIKE $2",
    )
    .bind(tenant)
    .bind(format!("{base}%"))
    .fetch_one(&mut **tx)
    .await?;
    let mut k = used + 1;
    loop {
        let n = format!("{base}{k:03}");
        if !number_taken(tx, tenant, &n).await? {
            return Ok(n);
        }
        k += 1;
    }
}

async fn number_taken(tx: &mut Tx, tenant: Uuid, n: &str) -> ApiResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM orders WHERE tenant_id = $1 AND order_number = $2)",
    )
    .bind(tenant)
    .bind(n)
    .fetch_one(&mut **tx)
    .await?)
}
