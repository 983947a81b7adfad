//! `GET /offline-orders`: a page of orders, filtered and searched (by e-mail, phone, order
//! number or name, through the blind indexes).

use super::view::{payment_json, view_of};
use super::{ListParams, ListResponse};
use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use pos_protocol::AuditAction;
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
    pos_domain::dates::check_range(p.from, p.to)?;
    let mut qb =
        sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT * FROM orders WHERE tenant_id = ");
    qb.push_bind(tenant);
    if let Some(st) = p.status {
        qb.push(" AND status = ").push_bind(st.as_str());
    }
    if let Some(c) = p.channel {
        qb.push(" AND channel = ").push_bind(c.as_str());
    }
    if let Some(f) = p.from {
        qb.push(" AND business_date >= ").push_bind(f);
    }
    if let Some(t) = p.to {
        qb.push(" AND business_date <= ").push_bind(t);
    }
    let q = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if let Some(q) = q {
        let country = s.settings_now(tenant).await?.phone_country_code;
        push_search(&mut qb, &s.cipher, q, &country.digits())?;
    }
    if let Some(c) = p.cursor {
        qb.push(" AND id < ").push_bind(c);
    }
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
    let mut tx = s.tx(tenant).await?;
    let mut rows = qb.build().fetch_all(&mut *tx).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.get::<Uuid, _>("id"))
    } else {
        None
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
            if q.is_some() {
                "order.search"
            } else {
                "order.list"
            },
        )
        .detail(format!("results={}", items.len())),
    );
    tx.commit().await?;
    Ok(axum::Json(ListResponse { items, next_cursor }))
}

/// Appends the condition of search text `q` ([`pos_domain::SearchKind`]): a phone number
/// (read in the shop's country `country`) or an e-mail address by its blind index, an order
/// number as typed, or a name by all of its words' blind indexes (each word may match any
/// of its spellings).
fn push_search(
    qb: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>,
    cipher: &pos_crypto::FieldCipher,
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
            let terms = pos_domain::search::query_terms(q);
            if terms.is_empty() {
                // no letter or digit: nothing is found (not everything)
                qb.push(" AND false");
            }
            for alternatives in terms {
                qb.push(" AND (");
                for (i, words) in alternatives.iter().enumerate() {
                    if i > 0 {
                        qb.push(" OR ");
                    }
                    qb.push("name_tokens @> ")
                        .push_bind(blind_words(cipher, words));
                }
                qb.push(")");
            }
        }
    }
    Ok(())
}
