//! Reading and writing an order's rows, with its PII encrypted per field.

use crate::crypto::{Aad, FieldCipher};
use crate::db::parse_ts;
use crate::error::{Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use pos_domain::{
    Channel, Currency, Customer, LineItem, Money, OrderId, OrderStatus, PaymentId, PaymentMethod,
    PaymentTerms, Role, ScheduleEntry, ScheduleLine, StaffId, Totals,
};
use serde::Serialize;
use sqlx::{Row, SqliteConnection};
use std::collections::HashMap;

pub(crate) fn aad<'a>(order_id: &'a str, field: &'a str) -> Aad<'a> {
    pos_crypto::customer::order_aad(order_id, field)
}

/// An order as stored, decrypted.
#[derive(Debug, Clone)]
pub(crate) struct OrderRow {
    pub id: OrderId,
    pub order_number: String,
    pub counter_number: Option<String>,
    pub channel: Channel,
    pub status: OrderStatus,
    pub currency: Currency,
    pub customer: Customer,
    pub notes: Option<String>,
    pub totals: Totals,
    pub paid: Money,
    pub terms: PaymentTerms,
    pub items: Vec<LineItem>,
    pub schedule: Vec<ScheduleEntry>,
    pub business_date: NaiveDate,
    pub recorded_by: StaffId,
    pub last_modified_by: StaffId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u32,
    pub completed_at: Option<DateTime<Utc>>,
    pub deleted: Option<Deletion>,
}

impl OrderRow {
    pub fn balance(&self) -> Money {
        self.totals.total - self.paid
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    pub deleted_at: DateTime<Utc>,
    pub deleted_by: StaffId,
    pub reason: String,
    pub approved_by: StaffId,
    pub approver_role: Role,
    pub approved_at: DateTime<Utc>,
}

/// Encrypted customer fields and blind indexes, ready to bind.
pub(crate) struct SealedCustomer {
    pub name: Vec<u8>,
    pub phone: Option<Vec<u8>>,
    pub email: Option<Vec<u8>>,
    pub address: Option<Vec<u8>>,
    pub notes: Option<Vec<u8>>,
    pub phone_index: Option<Vec<u8>>,
    pub email_index: Option<Vec<u8>>,
}

pub(crate) fn seal_customer(
    cipher: &FieldCipher,
    id: &str,
    c: &Customer,
    notes: Option<&str>,
    country_code: &str,
) -> Result<SealedCustomer> {
    let (phone_index, email_index) = blind_indexes(cipher, c, country_code)?;
    let sealed = pos_crypto::customer::seal(cipher, id, c, notes);
    Ok(SealedCustomer {
        name: sealed.name,
        phone: sealed.phone,
        email: sealed.email,
        address: sealed.address,
        notes: sealed.notes,
        phone_index,
        email_index,
    })
}

/// A customer's phone and e-mail blind indexes.
pub(crate) type BlindIndexes = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The blind indexes of a customer's phone and e-mail (exact search keys), phone numbers
/// read in the shop's country `country_code`.
pub(crate) fn blind_indexes(
    cipher: &FieldCipher,
    c: &Customer,
    country_code: &str,
) -> Result<BlindIndexes> {
    use pos_crypto::customer::{email_index, phone_index};
    let phone = c
        .phone
        .as_deref()
        .map(|p| phone_index(cipher, p, country_code))
        .transpose()?;
    let email = c
        .email
        .as_deref()
        .map(|e| email_index(cipher, e))
        .transpose()?;
    Ok((phone, email))
}

fn open_opt(
    cipher: &FieldCipher,
    id: &str,
    field: &str,
    blob: Option<Vec<u8>>,
) -> Result<Option<String>> {
    blob.map(|b| {
        cipher
            .decrypt_string(&b, aad(id, field))
            .ok_or(StoreError::Decrypt)
    })
    .transpose()
}

pub(crate) fn decrypt_name(cipher: &FieldCipher, id: &str, blob: &[u8]) -> Result<String> {
    cipher
        .decrypt_string(blob, aad(id, "customer_name"))
        .ok_or(StoreError::Decrypt)
}

fn parse<T: std::str::FromStr>(s: String, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::corrupt(format!("bad {what} {s:?}")))
}

pub(crate) async fn load_order(
    conn: &mut SqliteConnection,
    cipher: &FieldCipher,
    id: OrderId,
) -> Result<Option<OrderRow>> {
    let Some(r) = sqlx::query("SELECT * FROM orders WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let ids = id.to_string();
    let currency: Currency = parse(r.get("currency"), "currency")?;
    let m = |col: &str| currency.from_minor(r.get::<i64, _>(col));
    let deleted = match r.get::<Option<String>, _>("deleted_at") {
        None => None,
        Some(at) => Some(Deletion {
            deleted_at: parse_ts(&at)?,
            deleted_by: parse(r.get::<String, _>("deleted_by"), "staff id")?,
            reason: open_opt(cipher, &ids, "delete_reason", r.get("delete_reason"))?
                .unwrap_or_default(),
            approved_by: parse(r.get::<String, _>("approved_by"), "staff id")?,
            approver_role: parse(r.get::<String, _>("approver_role"), "role")?,
            approved_at: parse_ts(&r.get::<String, _>("approved_at"))?,
        }),
    };
    Ok(Some(OrderRow {
        id,
        order_number: r.get("order_number"),
        counter_number: r.get("counter_number"),
        channel: parse(r.get("channel"), "channel")?,
        status: parse(r.get("status"), "status")?,
        currency,
        customer: Customer {
            name: decrypt_name(cipher, &ids, &r.get::<Vec<u8>, _>("customer_name"))?,
            phone: open_opt(cipher, &ids, "customer_phone", r.get("customer_phone"))?,
            email: open_opt(cipher, &ids, "customer_email", r.get("customer_email"))?,
            address: open_opt(cipher, &ids, "customer_address", r.get("customer_address"))?,
        },
        notes: open_opt(cipher, &ids, "notes", r.get("notes"))?,
        totals: Totals {
            subtotal: m("subtotal_minor"),
            discount: m("discount_minor"),
            total: m("total_minor"),
        },
        paid: m("paid_minor"),
        terms: serde_json::from_str(&r.get::<String, _>("terms")).map_err(StoreError::corrupt)?,
        items: parse_items(&r.get::<String, _>("items"), currency)?,
        schedule: parse_schedule(&r.get::<String, _>("schedule"), currency)?,
        business_date: parse(r.get("business_date"), "date")?,
        recorded_by: parse(r.get("recorded_by"), "staff id")?,
        last_modified_by: parse(r.get("last_modified_by"), "staff id")?,
        created_at: parse_ts(&r.get::<String, _>("created_at"))?,
        updated_at: parse_ts(&r.get::<String, _>("updated_at"))?,
        version: r.get::<i64, _>("version") as u32,
        completed_at: r
            .get::<Option<String>, _>("completed_at")
            .map(|s| parse_ts(&s))
            .transpose()?,
        deleted,
    }))
}

#[derive(Serialize, serde::Deserialize)]
struct StoredLine {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sku: Option<String>,
    quantity: String,
    unit_price_minor: i64,
    discount_minor: i64,
    line_total_minor: i64,
}

#[derive(Serialize, serde::Deserialize)]
struct StoredEntry {
    seq: u32,
    kind: pos_domain::EntryKind,
    due_date: NaiveDate,
    amount_minor: i64,
}

/// The `items` column: the lines as JSON, money in minor units.
pub(crate) fn items_json(items: &[LineItem], currency: Currency) -> Result<String> {
    let v: Vec<StoredLine> = items
        .iter()
        .map(|it| StoredLine {
            name: it.name.clone(),
            sku: it.sku.clone(),
            quantity: it.quantity.to_string(),
            unit_price_minor: it.unit_price.to_minor(currency),
            discount_minor: it.discount.to_minor(currency),
            line_total_minor: it.line_total.to_minor(currency),
        })
        .collect();
    serde_json::to_string(&v).map_err(StoreError::corrupt)
}

/// The `schedule` column: the entries as JSON, money in minor units (read by SQL too).
pub(crate) fn schedule_json(schedule: &[ScheduleEntry], currency: Currency) -> Result<String> {
    let v: Vec<StoredEntry> = schedule
        .iter()
        .map(|e| StoredEntry {
            seq: e.seq,
            kind: e.kind,
            due_date: e.due_date,
            amount_minor: e.amount.to_minor(currency),
        })
        .collect();
    serde_json::to_string(&v).map_err(StoreError::corrupt)
}

fn parse_items(json: &str, currency: Currency) -> Result<Vec<LineItem>> {
    let v: Vec<StoredLine> = serde_json::from_str(json).map_err(StoreError::corrupt)?;
    v.into_iter()
        .map(|l| {
            Ok(LineItem {
                name: l.name,
                sku: l.sku,
                quantity: parse(l.quantity, "quantity")?,
                unit_price: currency.from_minor(l.unit_price_minor),
                discount: currency.from_minor(l.discount_minor),
                line_total: currency.from_minor(l.line_total_minor),
            })
        })
        .collect()
}

pub(crate) fn parse_schedule(json: &str, currency: Currency) -> Result<Vec<ScheduleEntry>> {
    let v: Vec<StoredEntry> = serde_json::from_str(json).map_err(StoreError::corrupt)?;
    Ok(v.into_iter()
        .map(|e| ScheduleEntry {
            seq: e.seq,
            kind: e.kind,
            due_date: e.due_date,
            amount: currency.from_minor(e.amount_minor),
        })
        .collect())
}

/// A ledger entry as shown in the payment history.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    pub id: PaymentId,
    /// Negative for a reversal.
    #[serde(with = "rust_decimal::serde::str")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub amount: rust_decimal::Decimal,
    pub method: PaymentMethod,
    pub paid_at: DateTime<Utc>,
    pub recorded_by: StaffRef,
    pub reference: Option<String>,
    pub reverses: Option<PaymentId>,
    pub reversed_by: Option<PaymentId>,
    pub approved_by: Option<StaffRef>,
    /// Taken here, refused by the service and discarded: kept as the record, not counted in
    /// the order's paid amount (which follows the service's ledger).
    pub not_on_service: bool,
}

pub(crate) async fn load_payments(
    conn: &mut SqliteConnection,
    id: &str,
    currency: Currency,
    names: &HashMap<StaffId, String>,
) -> Result<Vec<PaymentView>> {
    let rows = sqlx::query("SELECT * FROM payments WHERE order_id = ? ORDER BY created_at, id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = rows
        .into_iter()
        .map(|r| {
            let minor: i64 = r.get("amount_minor");
            Ok(PaymentView {
                id: parse(r.get("id"), "payment id")?,
                amount: rust_decimal::Decimal::new(minor, currency.minor_units()).normalize(),
                method: parse(r.get("method"), "method")?,
                paid_at: parse_ts(&r.get::<String, _>("paid_at"))?,
                recorded_by: StaffRef::of(parse(r.get("recorded_by"), "staff id")?, names),
                reference: r.get("reference"),
                reverses: r
                    .get::<Option<String>, _>("reverses")
                    .map(|s| parse(s, "payment id"))
                    .transpose()?,
                reversed_by: None,
                approved_by: r
                    .get::<Option<String>, _>("approved_by")
                    .map(|s| parse(s, "staff id").map(|id| StaffRef::of(id, names)))
                    .transpose()?,
                not_on_service: r.get::<Option<String>, _>("not_on_service_at").is_some(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let reversals: Vec<(PaymentId, PaymentId)> = out
        .iter()
        .filter_map(|p| p.reverses.map(|r| (r, p.id)))
        .collect();
    for (orig, rev) in reversals {
        if let Some(p) = out.iter_mut().find(|p| p.id == orig) {
            p.reversed_by = Some(rev);
        }
    }
    Ok(out)
}

pub(crate) async fn staff_names(conn: &mut SqliteConnection) -> Result<HashMap<StaffId, String>> {
    let rows = sqlx::query("SELECT id, name FROM staff")
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|r| Ok((parse(r.get("id"), "staff id")?, r.get("name"))))
        .collect()
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffRef {
    pub id: StaffId,
    pub name: String,
}

impl StaffRef {
    pub(crate) fn of(id: StaffId, names: &HashMap<StaffId, String>) -> Self {
        StaffRef {
            id,
            name: names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "(unknown)".into()),
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct DeletionView {
    pub deleted_at: DateTime<Utc>,
    pub deleted_by: StaffRef,
    pub reason: String,
    pub approved_by: StaffRef,
    pub approver_role: Role,
    pub approved_at: DateTime<Utc>,
}

/// Everything the order detail screen shows.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct OrderDetail {
    pub id: OrderId,
    pub order_number: String,
    /// The number this counter first gave the order, when the service gave it another (a
    /// number already used in the shop, e.g. after a restore from an older copy); printed on
    /// the receipt as a reference.
    pub counter_number: Option<String>,
    pub channel: Channel,
    pub status: OrderStatus,
    pub currency: Currency,
    pub customer: Customer,
    pub notes: Option<String>,
    pub items: Vec<LineItem>,
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
    pub paid: Money,
    pub balance: Money,
    pub overdue: bool,
    pub partly_paid: bool,
    pub payment_terms: PaymentTerms,
    pub schedule: Vec<ScheduleLine>,
    pub payments: Vec<PaymentView>,
    pub business_date: NaiveDate,
    pub recorded_by: StaffRef,
    pub last_modified_by: StaffRef,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u32,
    pub completed_at: Option<DateTime<Utc>>,
    pub deletion: Option<DeletionView>,
}

pub(crate) fn detail(
    o: OrderRow,
    payments: Vec<PaymentView>,
    names: &HashMap<StaffId, String>,
    today: NaiveDate,
) -> OrderDetail {
    let lines = pos_domain::figures::schedule_lines(o.status, &o.schedule, o.paid, today);
    let overdue = pos_domain::figures::Overdue::of(o.status, &o.schedule, o.paid, today).any();
    let balance = o.balance();
    OrderDetail {
        id: o.id,
        order_number: o.order_number,
        counter_number: o.counter_number,
        channel: o.channel,
        status: o.status,
        currency: o.currency,
        customer: o.customer,
        notes: o.notes,
        items: o.items,
        subtotal: o.totals.subtotal,
        discount: o.totals.discount,
        total: o.totals.total,
        paid: o.paid,
        balance,
        overdue,
        partly_paid: o.status.is_partly_paid(o.paid, balance),
        payment_terms: o.terms,
        schedule: lines,
        payments,
        business_date: o.business_date,
        recorded_by: StaffRef::of(o.recorded_by, names),
        last_modified_by: StaffRef::of(o.last_modified_by, names),
        created_at: o.created_at,
        updated_at: o.updated_at,
        version: o.version,
        completed_at: o.completed_at,
        deletion: o.deleted.map(|d| DeletionView {
            deleted_at: d.deleted_at,
            deleted_by: StaffRef::of(d.deleted_by, names),
            reason: d.reason,
            approved_by: StaffRef::of(d.approved_by, names),
            approver_role: d.approver_role,
            approved_at: d.approved_at,
        }),
    }
}

/// Loads everything for the detail screen inside the caller's transaction.
pub(crate) async fn load_detail(
    conn: &mut SqliteConnection,
    cipher: &FieldCipher,
    id: OrderId,
    today: NaiveDate,
) -> Result<Option<OrderDetail>> {
    let Some(o) = load_order(conn, cipher, id).await? else {
        return Ok(None);
    };
    let names = staff_names(conn).await?;
    let payments = load_payments(conn, &id.to_string(), o.currency, &names).await?;
    Ok(Some(detail(o, payments, &names, today)))
}
