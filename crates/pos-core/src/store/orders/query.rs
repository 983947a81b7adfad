//! The queries behind the list, detail and dashboard screens. Each look at customer data is
//! audited (READ for a detail, ACCESS for lists, searches and the dashboard).

use super::record::{self, OrderDetail};
use crate::audit::{self, NewEvent};
use crate::db::{parse_ts, ts};
use crate::error::{Result, StoreError};
use crate::search_index::SearchIndex;
use crate::session::Session;
use crate::store::Store;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use pos_domain::figures::{self, Overdue};
use pos_domain::{Channel, Currency, Money, OrderId, OrderStatus, ValidationError};
use pos_protocol::AuditAction;

const DAY_MS: i64 = 86_400_000;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Row, Sqlite};

pub use pos_domain::SearchKind;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub status: Option<OrderStatus>,
    #[serde(default)]
    pub channel: Option<Channel>,
    /// First business day, inclusive.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last business day, inclusive.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub q: Option<String>,
    /// How to match `q`; guessed from its shape when absent.
    #[serde(default)]
    pub search: Option<SearchKind>,
    /// 1..=200, default 50.
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct OrderSummary {
    pub id: OrderId,
    pub order_number: String,
    pub channel: Channel,
    pub status: OrderStatus,
    pub customer_name: String,
    pub currency: Currency,
    pub total: Money,
    pub paid: Money,
    pub balance: Money,
    pub overdue: bool,
    pub partly_paid: bool,
    pub business_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    /// `synced`, `pending` or `needs_attention`.
    pub sync_state: &'static str,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct OrderPage {
    pub items: Vec<OrderSummary>,
    pub next_cursor: Option<String>,
}

/// The cursor is the id of the last order shown: ids are UUIDv7, so id order is creation order.
fn parse_cursor(c: &str) -> Result<OrderId> {
    c.parse().map_err(|_| {
        ValidationError::new("cursor", "invalid_cursor", "The page cursor is not valid").into()
    })
}

/// The lowest id an order of business day `day` can have (a day of margin for the shop's
/// offset from UTC).
pub(crate) fn day_id_floor(day: NaiveDate) -> String {
    uuid7_floor(day.and_time(NaiveTime::MIN).and_utc().timestamp_millis() - DAY_MS)
}

/// An id above every order of business day `day` (with a day of margin).
pub(crate) fn day_id_ceiling(day: NaiveDate) -> String {
    uuid7_floor(day.and_time(NaiveTime::MIN).and_utc().timestamp_millis() + 2 * DAY_MS)
}

/// Whether `id` is a UUIDv7 whose time lies in business day `day`'s id range (see
/// [`day_id_floor`]), as every order id of that day must.
pub(crate) fn id_within_day(id: &uuid::Uuid, day: NaiveDate) -> bool {
    let text = id.to_string();
    id.get_version_num() == 7 && text >= day_id_floor(day) && text < day_id_ceiling(day)
}

/// The business day named in an order number such as `K01-20261125-0042`.
fn order_number_day(n: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(n.split('-').nth(1)?, "%Y%m%d").ok()
}

/// The smallest UUIDv7 text at or after `ms` since the epoch.
fn uuid7_floor(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    format!(
        "{:08x}-{:04x}-0000-0000-000000000000",
        ms >> 16,
        ms & 0xffff
    )
}

const SUMMARY_COLUMNS: &str =
    "SELECT o.id, o.order_number, o.channel, o.status, o.customer_name, o.currency,
    o.total_minor, o.paid_minor, o.schedule, o.business_date, o.created_at, o.unsynced,
    o.sync_attention FROM orders o WHERE 1 = 1";

impl Store {
    /// An order's detail screen; audited as READ.
    pub async fn get_order(&self, session: &Session, order_id: OrderId) -> Result<OrderDetail> {
        let config = self.require_config()?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let detail = record::load_detail(
            tx.conn().await?,
            &self.cipher,
            order_id,
            config.business_date(now),
        )
        .await?
        .ok_or(StoreError::NotFound { entity: "order" })?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Read,
                "order",
                Some(order_id.to_string()),
                "order.read",
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(detail)
    }

    /// A page of orders, newest first, with filters and search; audited as ACCESS (the
    /// search text itself is not recorded, only its kind).
    pub async fn list_orders(&self, session: &Session, query: ListQuery) -> Result<OrderPage> {
        let config = self.require_config()?;
        let now = self.now();
        let today = config.business_date(now);
        let limit = query.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                "out_of_range",
                "Page size must be 1 to 200",
            )
            .with("min", 1)
            .with("max", 200)
            .into());
        }
        pos_domain::dates::check_range(query.from, query.to)?;
        let cursor = query.cursor.as_deref().map(parse_cursor).transpose()?;
        let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let kind = q.map(|q| query.search.unwrap_or_else(|| SearchKind::detect(q)));

        // An exact-match key, or the candidate ids of a name search.
        let mut exact: Option<(&str, Vec<u8>)> = None;
        let mut order_number: Option<String> = None;
        let mut name_needle: Option<Vec<Vec<Vec<String>>>> = None;
        match (kind, q) {
            (Some(SearchKind::Phone), Some(q)) => {
                let key =
                    pos_crypto::customer::phone_index(&self.cipher, q, &config.phone_country_code)
                        .map_err(|e| ValidationError {
                            field: "q".into(),
                            ..e
                        })?;
                exact = Some(("phone_index", key));
            }
            (Some(SearchKind::Email), Some(q)) => {
                let key = pos_crypto::customer::email_index(&self.cipher, q).map_err(|e| {
                    ValidationError {
                        field: "q".into(),
                        ..e
                    }
                })?;
                exact = Some(("email_index", key));
            }
            (Some(SearchKind::OrderNumber), Some(q)) => order_number = Some(q.to_uppercase()),
            (Some(SearchKind::Name), Some(q)) => {
                name_needle = Some(pos_domain::search::query_terms(q)?)
            }
            _ => {}
        }

        // The search index loads through the pool, so take it before the transaction holds
        // the (only) connection.
        let ix_guard = match (&name_needle, &exact) {
            (None, None) => None,
            _ => Some(self.search_index().await?),
        };
        let mut tx = self.begin_write().await?;
        let build = |ids: Option<&[String]>, after: Option<&OrderId>, take: u32| {
            let mut qb = QueryBuilder::<Sqlite>::new(SUMMARY_COLUMNS);
            if let Some(s) = query.status {
                qb.push(" AND o.status = ").push_bind(s.as_str());
            }
            if let Some(c) = query.channel {
                qb.push(" AND o.channel = ").push_bind(c.as_str());
            }
            // Business days also bound the id range (UUIDv7 carries its creation time), with a
            // day of margin for the shop's offset, so a date filter reads only those days.
            if let Some(f) = query.from {
                qb.push(" AND o.business_date >= ").push_bind(f.to_string());
                qb.push(" AND o.id >= ").push_bind(day_id_floor(f));
            }
            if let Some(t) = query.to {
                qb.push(" AND o.business_date <= ").push_bind(t.to_string());
                qb.push(" AND o.id < ").push_bind(day_id_ceiling(t));
            }
            if let Some((col, key)) = &exact {
                qb.push(format!(" AND o.{col} = ")).push_bind(key.clone());
            }
            if let Some(n) = &order_number {
                qb.push(" AND o.order_number = ").push_bind(n.clone());
                if let Some(day) = order_number_day(n) {
                    qb.push(" AND o.id >= ").push_bind(day_id_floor(day));
                    qb.push(" AND o.id < ").push_bind(day_id_ceiling(day));
                }
            }
            if let Some(ids) = ids {
                qb.push(" AND o.id IN (SELECT value FROM json_each(")
                    .push_bind(sqlx::types::Json(ids.to_vec()))
                    .push("))");
            }
            if let Some(id) = after {
                qb.push(" AND o.id < ").push_bind(id.to_string());
            }
            qb.push(" ORDER BY o.id DESC LIMIT ")
                .push_bind(i64::from(take));
            qb
        };

        let mut rows = Vec::new();
        if let Some(ix) = ix_guard.as_deref().and_then(Option::as_ref) {
            // Candidates from the in-memory index, newest first; the query checks each against
            // the stored row (and, for phone and e-mail, the full blind index).
            let mut candidates: Box<dyn Iterator<Item = String> + Send> =
                match (&name_needle, &exact) {
                    (Some(needle), _) => Box::new(ix.names(needle, cursor).map(|i| i.to_string())),
                    (None, Some(("phone_index", key))) => Box::new(
                        ix.phone(key)
                            .into_iter()
                            .filter(move |i| cursor.is_none_or(|c| *i < c))
                            .map(|i| i.to_string()),
                    ),
                    (None, Some((_, key))) => Box::new(
                        ix.email(key)
                            .into_iter()
                            .filter(move |i| cursor.is_none_or(|c| *i < c))
                            .map(|i| i.to_string()),
                    ),
                    (None, None) => Box::new(std::iter::empty()),
                };
            // Candidates come newest first; fetch them in chunks until the page is full.
            loop {
                let chunk: Vec<String> = candidates.by_ref().take(500).collect();
                if chunk.is_empty() {
                    break;
                }
                let want = limit + 1 - rows.len() as u32;
                let mut got = build(Some(&chunk), None, want)
                    .build()
                    .fetch_all(tx.conn().await?)
                    .await?;
                rows.append(&mut got);
                if rows.len() as u32 > limit {
                    break;
                }
            }
        } else {
            rows = build(None, cursor.as_ref(), limit + 1)
                .build()
                .fetch_all(tx.conn().await?)
                .await?;
        }

        let has_more = rows.len() as u32 > limit;
        rows.truncate(limit as usize);
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.get("id");
            let currency: Currency = r
                .get::<String, _>("currency")
                .parse()
                .map_err(|e: ValidationError| StoreError::corrupt(e.message))?;
            let total = currency.from_minor(r.get("total_minor"));
            let paid = currency.from_minor(r.get("paid_minor"));
            let status: pos_domain::OrderStatus = r
                .get::<String, _>("status")
                .parse()
                .map_err(StoreError::corrupt)?;
            items.push(OrderSummary {
                id: id.parse().map_err(StoreError::corrupt)?,
                order_number: r.get("order_number"),
                channel: r
                    .get::<String, _>("channel")
                    .parse()
                    .map_err(StoreError::corrupt)?,
                status,
                customer_name: record::decrypt_name(
                    &self.cipher,
                    &id,
                    &r.get::<Vec<u8>, _>("customer_name"),
                )?,
                currency,
                total,
                paid,
                balance: total - paid,
                // a schedule that does not read marks no row overdue (its detail shows the fault)
                overdue: record::parse_schedule(&r.get::<String, _>("schedule"), currency)
                    .is_ok_and(|schedule| Overdue::of(status, &schedule, paid, today).any()),
                partly_paid: status.is_partly_paid(paid, total - paid),
                business_date: r
                    .get::<String, _>("business_date")
                    .parse()
                    .map_err(StoreError::corrupt)?,
                created_at: parse_ts(&r.get::<String, _>("created_at"))?,
                sync_state: if r.get::<i64, _>("sync_attention") > 0 {
                    "needs_attention"
                } else if r.get::<i64, _>("unsynced") > 0 {
                    "pending"
                } else {
                    "synced"
                },
            });
        }
        let next_cursor = if has_more {
            items.last().map(|l| l.id.to_string())
        } else {
            None
        };
        let mut detail = format!("results={}", items.len());
        if let Some(k) = kind {
            detail.push_str(&format!(
                " search={}",
                serde_json::to_string(&k)
                    .unwrap_or_default()
                    .trim_matches('"')
            ));
        }
        let operation = if kind.is_some() {
            "order.search"
        } else {
            "order.list"
        };
        self.audit_access(&mut tx, session, "order", operation, detail)
            .await?;
        tx.commit().await?;
        Ok(OrderPage { items, next_cursor })
    }

    /// Builds the in-memory search index now (it is otherwise built by the first search, which
    /// takes about a second at 100,000 orders). The app calls this in the background after
    /// login.
    pub async fn warm_search_index(&self) -> Result<()> {
        self.search_index().await.map(drop)
    }

    /// Loads the search index on first use (decrypting every name once).
    async fn search_index(&self) -> Result<tokio::sync::MutexGuard<'_, Option<SearchIndex>>> {
        let mut g = self.search.lock().await;
        if g.is_none() {
            let rows =
                sqlx::query("SELECT id, customer_name, phone_index, email_index FROM orders")
                    .fetch_all(&self.pool)
                    .await?;
            let mut items = Vec::with_capacity(rows.len());
            for r in rows {
                let id: String = r.get("id");
                let name =
                    record::decrypt_name(&self.cipher, &id, &r.get::<Vec<u8>, _>("customer_name"))?;
                items.push((
                    id.parse().map_err(StoreError::corrupt)?,
                    name,
                    r.get("phone_index"),
                    r.get("email_index"),
                ));
            }
            *g = Some(SearchIndex::from_rows(items));
        }
        Ok(g)
    }

    /// Figures for the dashboard over business days `from..=to`; audited as ACCESS.
    pub async fn dashboard(
        &self,
        session: &Session,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Dashboard> {
        let config = self.require_config()?;
        pos_domain::dates::check_range(Some(from), Some(to))?;
        let now = self.now();
        let today = config.business_date(now);
        let currency = config.currency;
        let offset = config.offset_at(now);
        let start = |d: NaiveDate| -> String {
            let local = d.and_time(NaiveTime::MIN);
            let utc = offset
                .from_local_datetime(&local)
                .single()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&local));
            ts(&utc)
        };
        let from_ts = start(from);
        let to_ts = start(to.succ_opt().unwrap_or(to));
        let mut tx = self.begin_write().await?;
        let groups = sqlx::query(
            "SELECT status, COUNT(*) AS n, SUM(total_minor) AS total_minor,
                    SUM(paid_minor) AS paid_minor
             FROM orders WHERE business_date BETWEEN ? AND ? GROUP BY status",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(tx.conn().await?)
        .await?;
        let (mut orders, mut deleted, mut ordered, mut outstanding, mut paid_orders) =
            (0i64, 0i64, 0i64, 0i64, 0i64);
        for g in &groups {
            let status: OrderStatus = g
                .get::<String, _>("status")
                .parse()
                .map_err(StoreError::corrupt)?;
            let n: i64 = g.get("n");
            if status == OrderStatus::Deleted {
                deleted += n;
                continue;
            }
            orders += n;
            ordered += g.get::<i64, _>("total_minor");
            outstanding += g.get::<i64, _>("total_minor") - g.get::<i64, _>("paid_minor");
            if figures::counts_as_paid(status) {
                paid_orders += n;
            }
        }
        let collected: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(p.amount_minor), 0) FROM payments p
             WHERE p.paid_at >= ? AND p.paid_at < ? AND p.not_on_service_at IS NULL",
        )
        .bind(&from_ts)
        .bind(&to_ts)
        .fetch_one(tx.conn().await?)
        .await?;
        let mut overdue = Overdue::default();
        let pending = sqlx::query("SELECT schedule, paid_minor FROM orders WHERE status = ?")
            .bind(OrderStatus::Pending.as_str())
            .fetch_all(tx.conn().await?)
            .await?;
        for o in &pending {
            // a schedule that does not read counts as not overdue rather than failing the
            // figures (the order's detail shows the fault)
            if let Ok(schedule) = record::parse_schedule(&o.get::<String, _>("schedule"), currency)
            {
                let paid = currency.from_minor(o.get("paid_minor"));
                overdue = overdue + Overdue::of(OrderStatus::Pending, &schedule, paid, today);
            }
        }
        let minutes = offset.local_minus_utc() / 60;
        let days = sqlx::query(
            "SELECT d, SUM(n) AS order_count, SUM(ordered) AS ordered_minor,
                    SUM(collected) AS collected_minor FROM (
                SELECT business_date AS d, 1 AS n, total_minor AS ordered, 0 AS collected
                  FROM orders WHERE status <> 'deleted' AND business_date BETWEEN ? AND ?
                UNION ALL
                SELECT date(p.paid_at, ? || ' minutes') AS d, 0, 0, p.amount_minor
                  FROM payments p
                 WHERE p.paid_at >= ? AND p.paid_at < ? AND p.not_on_service_at IS NULL)
             GROUP BY d ORDER BY d",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(format!("{minutes:+}"))
        .bind(&from_ts)
        .bind(&to_ts)
        .fetch_all(tx.conn().await?)
        .await?;
        let daily = days
            .iter()
            .map(|r| {
                Ok(DayFigures {
                    date: r
                        .get::<String, _>("d")
                        .parse()
                        .map_err(StoreError::corrupt)?,
                    orders: r.get("order_count"),
                    ordered: currency.from_minor(r.get("ordered_minor")),
                    collected: currency.from_minor(r.get("collected_minor")),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.audit_access(
            &mut tx,
            session,
            "order",
            "dashboard.view",
            format!("{from}..{to}"),
        )
        .await?;
        tx.commit().await?;
        Ok(Dashboard {
            from,
            to,
            currency,
            orders,
            deleted_orders: deleted,
            ordered: currency.from_minor(ordered),
            collected: currency.from_minor(collected),
            outstanding: currency.from_minor(outstanding),
            overdue_installments: overdue.installments,
            overdue_amount: overdue.amount,
            paid_orders,
            payment_completion_rate: figures::completion_rate(paid_orders, orders),
            daily,
        })
    }
}

/// Dashboard figures for a range of business days. Orders, ordered, outstanding and the
/// completion rate concern orders recorded in the range; collected is money received in the
/// range net of refunds (reversals), whatever became of its order; overdue installments are all of them as of today.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub currency: Currency,
    pub orders: i64,
    pub deleted_orders: i64,
    pub ordered: Money,
    pub collected: Money,
    pub outstanding: Money,
    pub overdue_installments: i64,
    pub overdue_amount: Money,
    pub paid_orders: i64,
    /// Paid or completed orders as a percentage of the orders, one decimal.
    #[serde(with = "rust_decimal::serde::str_option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub payment_completion_rate: Option<Decimal>,
    pub daily: Vec<DayFigures>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct DayFigures {
    pub date: NaiveDate,
    pub orders: i64,
    pub ordered: Money,
    pub collected: Money,
}
