//! `GET /offline-orders`: a page of orders, filtered and searched (by e-mail, phone, order
//! number or name, through the blind indexes).

use super::view::{json_column, payment_json, view_of};
use super::{ListParams, ListResponse, ListTotals};
use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use pos_domain::figures::Overdue;
use pos_protocol::AuditAction;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

#[utoipa::path(
    get,
    path = "/offline-orders",
    operation_id = "list_orders",
    tag = "orders",
    params(ListParams),
    responses((status = 200, description = "a page of orders", body = super::ListResponse)),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<ListParams>,
) -> ApiResult<axum::Json<ListResponse>> {
    page(&s, &auth, p).await
}

/// `POST /offline-orders/search`: the same page with the filters in a JSON body, so that a
/// searched phone number, e-mail or name never travels in a URL (which a proxy's access log
/// or a browser's network log would keep). The office searches this way.
#[utoipa::path(
    post,
    path = "/offline-orders/search",
    operation_id = "search_orders",
    tag = "orders",
    request_body = ListParams,
    responses((status = 200, description = "a page of orders", body = super::ListResponse)),
    security(("bearer" = []))
)]
pub async fn search(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiJson(p): crate::extract::ApiJson<ListParams>,
) -> ApiResult<axum::Json<ListResponse>> {
    page(&s, &auth, p).await
}

/// The orders a filter names: its SQL condition, and the overdue rule when asked for (applied
/// to each candidate in Rust, as `pos_domain::figures` decides it).
pub(super) struct Matching {
    tenant: Uuid,
    status: Option<pos_domain::OrderStatus>,
    channel: Option<pos_domain::Channel>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    device: Option<Uuid>,
    q: Option<String>,
    overdue: bool,
    cipher: std::sync::Arc<pos_crypto::FieldCipher>,
    country: String,
    pub(super) currency: pos_domain::Currency,
    today: chrono::NaiveDate,
}

impl Matching {
    /// The filters of `p` for `tenant` (a bad range is refused here, a bad search when the
    /// query is made).
    pub(super) async fn of(
        s: &AppState,
        tx: &mut crate::db::Tx,
        tenant: Uuid,
        p: &ListParams,
    ) -> ApiResult<Matching> {
        pos_domain::dates::check_range(p.from, p.to)?;
        let settings = s.settings(tx, tenant).await?;
        let m = Matching {
            tenant,
            status: p.status,
            channel: p.channel,
            from: p.from,
            to: p.to,
            device: p.device_id,
            q: p.q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_owned),
            overdue: p.overdue == Some(true),
            cipher: s.cipher.clone(),
            country: settings.phone_country_code.digits(),
            currency: settings.currency,
            today: settings.zone.business_date(s.now()),
        };
        m.query("1")?;
        Ok(m)
    }

    /// Whether the filter searches a customer's name words. Such a query is planned for the
    /// words it holds each time (not prepared once): a plan made for any word cannot tell a
    /// rare word, best found through the words' index, from one in most orders, best found by
    /// walking back from the newest order.
    fn by_name(&self) -> bool {
        self.q
            .as_deref()
            .is_some_and(|q| pos_domain::SearchKind::detect(q) == pos_domain::SearchKind::Name)
    }

    /// Whether a search is part of the filter.
    pub(super) fn searches(&self) -> bool {
        self.q.is_some()
    }

    /// `SELECT columns FROM orders WHERE` the filter's condition (to which more may be added).
    pub(super) fn query(
        &self,
        columns: &str,
    ) -> ApiResult<sqlx::QueryBuilder<'static, sqlx::Postgres>> {
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!(
            "SELECT {columns} FROM orders WHERE tenant_id = "
        ));
        qb.push_bind(self.tenant);
        if let Some(st) = self.status {
            qb.push(" AND status = ").push_bind(st.as_str());
        }
        if let Some(c) = self.channel {
            qb.push(" AND channel = ").push_bind(c.as_str());
        }
        if let Some(f) = self.from {
            qb.push(" AND business_date >= ").push_bind(f);
        }
        if let Some(t) = self.to {
            qb.push(" AND business_date <= ").push_bind(t);
        }
        if let Some(d) = self.device {
            qb.push(" AND device_id = ").push_bind(d);
        }
        if self.overdue {
            // the candidates: open, not paid in full, with a due date left unpaid before today
            // (or none computed yet); the rule itself is applied to each
            qb.push(" AND status = 'pending' AND paid_minor < total_minor")
                .push(" AND (unpaid_due < ")
                .push_bind(self.today)
                .push(" OR unpaid_due IS NULL)");
        }
        if let Some(q) = &self.q {
            push_search(&mut qb, &self.cipher, self.tenant, q, &self.country)?;
        }
        Ok(qb)
    }

    /// Whether row `r` (with `status`, `schedule` and `paid_minor`) matches.
    pub(super) fn keeps(&self, r: &PgRow) -> bool {
        if !self.overdue {
            return true;
        }
        let Ok(status) = r
            .get::<String, _>("status")
            .parse::<pos_domain::OrderStatus>()
        else {
            return false;
        };
        // a schedule that does not read counts as not overdue (as in the figures)
        let Ok(schedule) = json_column::<Vec<pos_domain::ScheduleEntry>>(r, "schedule") else {
            return false;
        };
        let paid = self.currency.from_minor(r.get("paid_minor"));
        Overdue::of(status, &schedule, paid, self.today).any()
    }

    /// Up to `limit` matching rows after `cursor`, newest first, and whether more follow.
    pub(super) async fn page(
        &self,
        tx: &mut crate::db::Tx,
        cursor: Option<Uuid>,
        limit: usize,
    ) -> ApiResult<(Vec<PgRow>, bool)> {
        // with the overdue rule, candidates are read in batches until the page is full
        let batch = if self.overdue { 500 } else { limit + 1 };
        let mut after = cursor;
        let mut kept = Vec::with_capacity(limit + 1);
        loop {
            let mut q = self.query("*")?;
            if let Some(c) = after {
                q.push(" AND id < ").push_bind(c);
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(batch as i64);
            let rows = q
                .build()
                .persistent(!self.by_name())
                .fetch_all(&mut **tx)
                .await?;
            let got = rows.len();
            after = rows.last().map(|r| r.get::<Uuid, _>("id"));
            kept.extend(rows.into_iter().filter(|r| self.keeps(r)));
            if kept.len() > limit || got < batch {
                let more = kept.len() > limit;
                kept.truncate(limit);
                return Ok((kept, more));
            }
        }
    }

    /// What every matching order adds up to.
    pub(super) async fn totals(&self, tx: &mut crate::db::Tx) -> ApiResult<ListTotals> {
        let money = |minor: i64| self.currency.from_minor(minor);
        if !self.overdue {
            let r = self
                .query(
                    "count(*) AS n,
                     COALESCE(sum(total_minor) FILTER (WHERE status <> 'deleted'), 0)::bigint AS total,
                     COALESCE(sum(paid_minor) FILTER (WHERE status <> 'deleted'), 0)::bigint AS paid",
                )?
                .build()
                .persistent(!self.by_name())
                .fetch_one(&mut **tx)
                .await?;
            let (total, paid) = (money(r.get("total")), money(r.get("paid")));
            return Ok(ListTotals {
                orders: r.get("n"),
                total,
                paid,
                balance: total - paid,
            });
        }
        let mut t = ListTotals {
            total: money(0),
            paid: money(0),
            balance: money(0),
            ..ListTotals::default()
        };
        let mut q = self.query("status, schedule, paid_minor, total_minor")?;
        let mut rows = q.build().fetch(&mut **tx);
        while let Some(r) = futures_util::TryStreamExt::try_next(&mut rows).await? {
            if self.keeps(&r) {
                let (total, paid) = (money(r.get("total_minor")), money(r.get("paid_minor")));
                t.orders += 1;
                t.total = t.total + total;
                t.paid = t.paid + paid;
                t.balance = t.balance + (total - paid);
            }
        }
        Ok(t)
    }
}

async fn page(s: &AppState, auth: &Auth, p: ListParams) -> ApiResult<axum::Json<ListResponse>> {
    auth.require_staff()?;
    let tenant = auth.tenant();
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(pos_domain::ValidationError::new(
            "limit",
            "out_of_range",
            "limit must be 1 to 200",
        )
        .with("min", 1)
        .with("max", 200)
        .into());
    }
    let mut tx = s.tx(tenant).await?;
    let matching = Matching::of(s, &mut tx, tenant, &p).await?;
    let (rows, more) = matching.page(&mut tx, p.cursor, limit as usize).await?;
    let next_cursor = if more {
        rows.last().map(|r| r.get::<Uuid, _>("id"))
    } else {
        None
    };
    let totals = match p.cursor {
        None => Some(matching.totals(&mut tx).await?),
        Some(_) => None,
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.get("id")).collect();
    let payments = crate::db::payments::of_orders(&mut tx, tenant, &ids).await?;
    let today = s.today_in(&mut tx, tenant).await?;
    let items = rows
        .iter()
        .map(|r| {
            let paid = payments.get(&r.get::<Uuid, _>("id"));
            view_of(&s.cipher, r, today, |c| {
                paid.map_or_else(Vec::new, |ps| ps.iter().map(payment_json(c)).collect())
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "order",
            None,
            if matching.searches() {
                "order.search"
            } else {
                "order.list"
            },
        )
        .detail(format!("results={}", items.len())),
    );
    tx.commit().await?;
    Ok(axum::Json(ListResponse {
        items,
        next_cursor,
        totals,
    }))
}

/// Appends the condition of search text `q` ([`pos_domain::SearchKind`]): a phone number
/// (read in the shop's country `country`) or an e-mail address by its blind index, an order
/// number as typed, or a name by all of its words' blind indexes (each word may match any
/// of its spellings).
fn push_search(
    qb: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>,
    cipher: &pos_crypto::FieldCipher,
    tenant: Uuid,
    q: &str,
    country: &str,
) -> ApiResult<()> {
    use pos_crypto::customer::{blind_words, email_index, phone_index};
    use pos_domain::SearchKind;
    let in_q = |e: pos_domain::ValidationError| pos_domain::ValidationError {
        field: "q".into(),
        ..e
    };
    match SearchKind::detect(q) {
        SearchKind::Email => {
            let key = email_index(cipher, q).map_err(in_q)?;
            qb.push(" AND email_index = ").push_bind(key);
        }
        SearchKind::Phone => {
            let key = phone_index(cipher, q, country).map_err(in_q)?;
            qb.push(" AND phone_index = ").push_bind(key);
        }
        SearchKind::OrderNumber => {
            qb.push(" AND order_number = ").push_bind(q.to_uppercase());
        }
        SearchKind::Name => {
            let terms = pos_domain::search::query_terms(q)?;
            if terms.is_empty() {
                // no letter or digit: nothing is found (not everything)
                qb.push(" AND false");
            }
            for alternatives in terms {
                let alternatives: Vec<Vec<Vec<u8>>> = alternatives
                    .iter()
                    .map(|words| blind_words(cipher, words))
                    .collect();
                // the orders holding any of the words, through the words' b-tree (leakproof
                // under row-level security, unlike `@>`), then the words each alternative needs
                let mut any: Vec<Vec<u8>> = alternatives.iter().flatten().cloned().collect();
                any.sort();
                any.dedup();
                qb.push(" AND id IN (SELECT order_id FROM order_name_tokens WHERE tenant_id = ")
                    .push_bind(tenant)
                    .push(" AND token = ANY(")
                    .push_bind(any)
                    .push(")) AND (");
                for (i, words) in alternatives.into_iter().enumerate() {
                    if i > 0 {
                        qb.push(" OR ");
                    }
                    qb.push("name_tokens @> ").push_bind(words);
                }
                qb.push(")");
            }
        }
    }
    Ok(())
}
