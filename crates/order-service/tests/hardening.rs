//! The service under attack: password guessing (per-account lockout with back-off, per-address
//! rate limits on every endpoint that checks a secret), the same work for known and unknown
//! e-mails, out-of-range dates, echoed PII, and limits applied on every path.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use serde_json::{json, Value};

async fn login_status(
    app: &TestApp,
    tenant: &str,
    email: &str,
    password: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    split(
        app.http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"tenant": tenant, "email": email, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn audit_details(app: &TestApp, t: &Tenant, operation: &str) -> Vec<String> {
    let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
        .await
        .unwrap();
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT action, detail FROM audit_events WHERE tenant_id = $1 AND operation = $2 ORDER BY seq",
    )
    .bind(t.id)
    .bind(operation)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert!(rows.iter().all(|(a, _)| a == "ACCESS"), "{rows:?}");
    rows.into_iter().filter_map(|(_, d)| d).collect()
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_with_a_growing_wait_and_the_right_one_unlocks_it_after() {
    let clock = TestClock::at("2026-11-30T03:00:00Z");
    let app = spawn_with_state({
        let c = clock.clone();
        move |s| s.with_clock(c)
    })
    .await;
    let t = app.tenant("toko-kunci").await;
    let email = "owner@toko-kunci.id";
    for _ in 0..4 {
        assert_eq!(login_status(&app, &t.slug, email, "guess").await.0, 401);
    }
    // the fifth wrong password locks the account
    assert_eq!(login_status(&app, &t.slug, email, "guess").await.0, 401);
    let (status, body, headers) = login_status(&app, &t.slug, email, "correct horse battery").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "account_locked");
    assert_eq!(headers["content-type"], "application/problem+json");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=61).contains(&wait), "{wait}");
    // a minute later the right password works, and the count starts again
    clock.set("2026-11-30T03:01:01Z");
    assert_eq!(
        login_status(&app, &t.slug, email, "correct horse battery")
            .await
            .0,
        200
    );
    for _ in 0..5 {
        assert_eq!(login_status(&app, &t.slug, email, "guess").await.0, 401);
    }
    // locked again: one minute (the count started again after the right password)
    clock.set("2026-11-30T03:01:30Z");
    assert_eq!(
        login_status(&app, &t.slug, email, "correct horse battery")
            .await
            .0,
        429
    );
    clock.set("2026-11-30T03:02:02Z");
    for _ in 0..5 {
        assert_eq!(login_status(&app, &t.slug, email, "guess").await.0, 401);
    }
    // the next lock without a right password in between lasts twice as long
    let (status, _, headers) = login_status(&app, &t.slug, email, "guess").await;
    assert_eq!(status, 429);
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        (61..=121).contains(&wait),
        "the second lock in a row lasts 2 minutes, not {wait} s"
    );
    let details = audit_details(&app, &t, "login.failed").await;
    for d in ["wrong_password", "wrong_password_locked", "locked"] {
        assert!(details.iter().any(|x| x == d), "{d} audited in {details:?}");
    }
}

#[tokio::test]
async fn an_unknown_e_mail_is_locked_like_a_known_one_and_checked_with_the_same_work() {
    let clock = TestClock::at("2026-11-30T03:00:00Z");
    let app = spawn_with_state({
        let c = clock.clone();
        move |s| s.with_clock(c)
    })
    .await;
    let t = app.tenant("toko-sama").await;
    let checks = |m: String| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix("password_checks_total "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let before = checks(app.metrics().await);
    assert_eq!(
        login_status(&app, &t.slug, "nobody@toko-sama.id", "guess")
            .await
            .0,
        401
    );
    assert_eq!(
        login_status(&app, "no-such-shop", "owner@toko-sama.id", "guess")
            .await
            .0,
        401
    );
    assert_eq!(
        login_status(&app, &t.slug, "owner@toko-sama.id", "guess")
            .await
            .0,
        401
    );
    // every attempt ran one argon2 check: an unknown e-mail or shop is not answered sooner
    assert_eq!(checks(app.metrics().await) - before, 3);
    for _ in 0..4 {
        assert_eq!(
            login_status(&app, &t.slug, "nobody@toko-sama.id", "guess")
                .await
                .0,
            401
        );
    }
    let (status, body, _) = login_status(&app, &t.slug, "nobody@toko-sama.id", "guess").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("account_locked"))
    );
    // while locked, nothing is checked
    let locked = checks(app.metrics().await);
    assert_eq!(
        login_status(&app, &t.slug, "nobody@toko-sama.id", "guess")
            .await
            .0,
        429
    );
    assert_eq!(checks(app.metrics().await), locked);
    assert!(audit_details(&app, &t, "login.failed")
        .await
        .iter()
        .any(|d| d == "unknown_user_locked"));
}

#[tokio::test]
async fn logins_pairings_and_device_tokens_are_limited_per_address() {
    let app = spawn_with_state(|mut s| {
        s.limits = order_service::limits::RateLimits::default();
        s
    })
    .await;
    for (path, body, burst) in [
        (
            "/api/v1/auth/login",
            json!({"tenant": "x", "email": "a@b.id", "password": "p"}),
            10,
        ),
        ("/api/v1/devices/pair", json!({"code": "ABCD-EFGH"}), 5),
        (
            "/api/v1/auth/device-token",
            json!({"device_id": "0192aaaa-0000-7000-8000-000000000001", "secret": "s"}),
            30,
        ),
    ] {
        for i in 0..burst {
            let r = app
                .http
                .post(app.url(path))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_ne!(
                r.status(),
                429,
                "{path}: request {} of the burst refused",
                i + 1
            );
        }
        let (status, problem, headers) = split(
            app.http
                .post(app.url(path))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 429, "{path}: {problem}");
        assert_eq!(problem["code"], "rate_limited");
        assert_eq!(headers["content-type"], "application/problem+json");
        let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(wait >= 1, "{path}: Retry-After {wait}");
    }
    // the other endpoints are not limited by these
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_refused_body_never_repeats_the_values_sent() {
    let app = spawn().await;
    let t = app.tenant("toko-gema").await;
    for (field, value) in [
        ("phone", json!(81234567890_u64)),
        ("email", json!(6281299998888_u64)),
        ("name", json!(["Siti 0812-7777-6666"])),
        ("phone", json!({"nomor": "0812-5555-4444"})),
    ] {
        let mut body = order_body("Siti Rahma", "0812-3456-7890");
        body["customer"][field] = value.clone();
        let (status, problem, _) = app
            .post(&t.owner_token, "/api/v1/offline-orders", body)
            .await;
        assert!(
            status == 422 || status == 400,
            "{field}: {status} {problem}"
        );
        let text = problem.to_string();
        for digits in ["81234567890", "6281299998888", "7777", "5555"] {
            assert!(
                !text.contains(digits),
                "{field}: the answer repeats the value sent: {text}"
            );
        }
        assert!(
            problem["detail"].as_str().unwrap().contains("expected"),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn dates_outside_the_business_range_are_refused_and_nothing_stored_breaks_a_read() {
    let app = spawn().await;
    let t = app.tenant("toko-tanggal").await;
    for path in [
        "/api/v1/offline-orders?from=-200000-01-01",
        "/api/v1/offline-orders?to=+200000-01-01",
        "/api/v1/offline-orders?from=1899-12-31",
        "/api/v1/analytics/offline-orders/summary?from=-200000-01-01&to=2026-11-30",
        "/api/v1/analytics/offline-orders/summary?from=2026-11-01&to=9999-12-31",
    ] {
        let (status, problem, headers) = app.get(&t.owner_token, path).await;
        assert!(status == 400 || status == 422, "{path}: {status} {problem}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{path}"
        );
    }
    // an installment plan running into year 9999 is refused when created …
    let mut body = order_body("Siti Rahma", "0812-3456-7890");
    body["payment_terms"]["first_due_date"] = json!("9999-11-30");
    let (status, problem, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders", body)
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "payment_terms.first_due_date");
    let mut body = order_body("Siti Rahma", "0812-3456-7890");
    body["payment_terms"] =
        json!({"type": "down_payment", "down_payment": "100000", "due_date": "9999-01-01"});
    let (status, problem, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders", body)
        .await;
    assert_eq!(status, 422, "{problem}");
    // … and a far one that is accepted does not break the figures
    let mut body = order_body("Budi", "0813-1111-2222");
    body["payment_terms"]["first_due_date"] = json!("2150-01-31");
    let (status, problem, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders", body)
        .await;
    assert_eq!(status, 201, "{problem}");
    let (status, summary, _) = app
        .get(
            &t.owner_token,
            "/api/v1/analytics/offline-orders/summary?from=2000-01-01&to=2199-12-31",
        )
        .await;
    assert_eq!(status, 200, "{summary}");
}

#[tokio::test]
async fn notes_and_references_have_the_same_limits_on_every_path() {
    use common::desk::*;
    use pos_protocol::{MutationBody, MutationStatus};
    let app = spawn().await;
    let t = app.tenant("toko-teks").await;
    let long_notes = "n".repeat(pos_domain::text::MAX_NOTES + 1);
    let long_ref = "r".repeat(pos_domain::text::MAX_REFERENCE + 1);

    // the service: create, edit, payment
    let mut body = order_body("Siti Rahma", "0812-3456-7890");
    body["notes"] = json!(long_notes);
    let (st, e, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders", body)
        .await;
    assert_eq!(
        (st, e["code"].as_str(), e["field"].as_str()),
        (422, Some("too_long"), Some("notes")),
        "{e}"
    );
    let (st, order, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti Rahma", "0812-3456-7890"),
        )
        .await;
    assert_eq!(st, 201, "{order}");
    let id = order["id"].as_str().unwrap();
    let (st, e, _) = split(
        app.http
            .patch(app.url(&format!("/api/v1/offline-orders/{id}")))
            .bearer_auth(&t.owner_token)
            .header("If-Match", "\"1\"")
            .json(&json!({"notes": long_notes}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (422, Some("too_long")),
        "PATCH: {e}"
    );
    let (st, e, _) = app
        .post(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{id}/payments"),
            json!({"amount": "100000", "method": "bank_transfer", "reference": long_ref}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str(), e["field"].as_str()),
        (422, Some("too_long"), Some("reference")),
        "payment: {e}"
    );

    // the counter: create, edit, payment
    let (d, owner) = desk().await;
    let s = &d.store;
    let mut input = new_order("Budi");
    input.notes = Some(long_notes.clone());
    let e = s.create_order(&owner, input).await.unwrap_err();
    assert_eq!(e.code(), "too_long");
    let a = s.create_order(&owner, new_order("Budi")).await.unwrap();
    let edit = pos_core::OrderEdit {
        customer: a.customer.clone(),
        items: a.items.iter().map(pos_domain::LineItem::to_input).collect(),
        discount: None,
        notes: Some(long_notes.clone()),
    };
    assert_eq!(
        s.update_order(&owner, a.id, a.version, edit)
            .await
            .unwrap_err()
            .code(),
        "too_long"
    );
    let mut pay = cash(100_000);
    pay.reference = Some(long_ref.clone());
    assert_eq!(
        s.record_payment(&owner, a.id, pay)
            .await
            .unwrap_err()
            .code(),
        "too_long"
    );

    // a counter's push: a forged order with long notes, a forged payment with a long reference
    let (device, token) = common::sync::pair_by_hand(&app, &t, &d, &owner).await;
    let mut real: Vec<pos_protocol::Mutation> = s
        .pending_mutations(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.mutation)
        .collect();
    for m in &mut real {
        m.device_id = device;
    }
    let mut created = real
        .iter()
        .find(|m| matches!(m.body, MutationBody::OrderCreated { .. }))
        .unwrap()
        .clone();
    let mut paid = real
        .iter()
        .find(|m| matches!(m.body, MutationBody::PaymentRecorded { .. }))
        .unwrap()
        .clone();
    if let MutationBody::OrderCreated { order } = &mut created.body {
        order.notes = Some(long_notes.clone());
    }
    if let MutationBody::PaymentRecorded { payment } = &mut paid.body {
        payment.reference = Some(long_ref.clone());
    }
    let res = common::sync::push(&app, &token, vec![created]).await;
    assert_eq!(
        (res.results[0].status, res.results[0].code.as_deref()),
        (MutationStatus::Rejected, Some("invalid_text")),
        "{res:?}"
    );
    // the order itself as recorded, then its payment with a forged reference
    let res = common::sync::push(
        &app,
        &token,
        real.iter()
            .filter(|m| matches!(m.body, MutationBody::OrderCreated { .. }))
            .cloned()
            .collect(),
    )
    .await;
    assert_eq!(res.results[0].status, MutationStatus::Applied, "{res:?}");
    paid.mutation_id = uuid::Uuid::from_u128(0xfeed);
    let res = common::sync::push(&app, &token, vec![paid]).await;
    assert_eq!(
        (res.results[0].status, res.results[0].code.as_deref()),
        (MutationStatus::Rejected, Some("invalid_text")),
        "{res:?}"
    );
}

/// The spellings a person may type for the order below: its phone number in every way
/// Indonesians write it, and its name's words whatever the case, accents (composed or not),
/// punctuation around them or inside them.
const PHONE_SPELLINGS: [&str; 8] = [
    "0812-3456-7890",
    "0812 3456 7890",
    "+62 812 3456 7890",
    "+62 (0)812-3456-7890",
    "62812 3456 7890",
    "(0812) 3456/7890",
    "812 3456 7890",
    "0062 812.3456.7890",
];
const NAME_SPELLINGS: [&str; 9] = [
    "siti",
    "SITI",
    "Si\u{301}ti\u{301}",
    "(Sití),",
    "rahmawati",
    "Rahmawati-Putri",
    "putri",
    "Ma'ruf",
    "maruf",
];

#[tokio::test]
async fn a_customer_is_found_however_the_number_or_name_is_typed_on_the_service_and_the_counter() {
    use common::desk::*;
    let app = spawn().await;
    let t = app.tenant("toko-cari").await;
    let name = "Sit\u{ed} Rahmawati-Putri Ma'ruf";
    let (st, order, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body(name, "0812-3456-7890"),
        )
        .await;
    assert_eq!(st, 201, "{order}");
    let (st, other, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Budi Santoso", "0813-1111-2222"),
        )
        .await;
    assert_eq!(st, 201, "{other}");
    let found = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for q in PHONE_SPELLINGS.iter().chain(NAME_SPELLINGS.iter()) {
        let url = format!("/api/v1/offline-orders?q={}", urlencode(q));
        let (st, page, _) = app.get(&t.owner_token, &url).await;
        assert_eq!(st, 200, "{q}: {page}");
        assert_eq!(
            found(&page),
            vec![order["id"].as_str().unwrap().to_owned()],
            "service, {q:?}"
        );
    }
    // a search with no letter or digit finds nothing, not everything
    let (_, page, _) = app
        .get(&t.owner_token, "/api/v1/offline-orders?q=-%20%27")
        .await;
    assert!(found(&page).is_empty(), "{page}");

    let (d, owner) = desk().await;
    let mut input = new_order(name);
    input.customer.phone = Some("0812-3456-7890".into());
    let mine = d.store.create_order(&owner, input).await.unwrap();
    d.store
        .create_order(&owner, new_order("Budi Santoso"))
        .await
        .unwrap();
    for q in PHONE_SPELLINGS.iter().chain(NAME_SPELLINGS.iter()) {
        let page = d
            .store
            .list_orders(
                &owner,
                pos_core::ListQuery {
                    q: Some((*q).into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let ids: Vec<_> = page.items.iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![mine.id], "counter, {q:?}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn only_an_owners_pairing_code_brings_a_counters_owner_into_the_shop() {
    use common::desk::*;
    let app = spawn().await;
    let t = app.tenant("toko-pasang").await;
    let manager = app.staff(&t, "manager").await;
    let (d, owner) = desk().await;
    let staff = d.store.staff_for_pairing(&owner).await.unwrap();
    assert!(staff.iter().any(|s| s.role == pos_domain::Role::Owner));
    let pair = |code: &Value| json!({"code": code["code"], "device_id": d.store.device_id(), "name": "Kasir", "device_code": "K01", "currency": "IDR", "staff": staff});
    let owners = || async {
        let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'owner'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        n
    };
    let (_, by_manager, _) = app
        .post(&manager, "/api/v1/devices/pairing-codes", json!({}))
        .await;
    let (st, e, _) = app
        .post("", "/api/v1/devices/pair", pair(&by_manager))
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (409, Some("owner_code_required")),
        "{e}"
    );
    assert_eq!(owners().await, 1, "nobody was brought in");
    let (_, by_owner, _) = app
        .post(&t.owner_token, "/api/v1/devices/pairing-codes", json!({}))
        .await;
    let (st, paired, _) = app.post("", "/api/v1/devices/pair", pair(&by_owner)).await;
    assert_eq!(st, 201, "{paired}");
    assert_eq!(
        owners().await,
        2,
        "the counter's owner is an owner of the shop now"
    );
    // once the counter's owner is the shop's, a manager may pair it again (a reinstall)
    let (st, again, _) = app
        .post("", "/api/v1/devices/pair", pair(&by_manager))
        .await;
    assert_eq!(st, 201, "{again}");
    // but a manager's code cannot bring in the shop's own owner with a PIN the counter chose
    let office_owner: uuid::Uuid = {
        let mut tx = order_service::db::tenant_tx(&app.owner_pool, &Default::default(), t.id)
            .await
            .unwrap();
        sqlx::query_scalar(
            "SELECT id FROM users WHERE role = 'owner' AND password_hash IS NOT NULL",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap()
    };
    let mut forged = staff.clone();
    forged.push(pos_protocol::StaffRecord {
        id: pos_domain::StaffId::from(office_owner),
        name: "Ibu Owner".into(),
        role: pos_domain::Role::Owner,
        pin_verifier: Some(pos_crypto::password::hash(b"1111").unwrap()),
        active: true,
    });
    let (_, code, _) = app
        .post(&manager, "/api/v1/devices/pairing-codes", json!({}))
        .await;
    let body = json!({"code": code["code"], "device_id": d.store.device_id(), "name": "Kasir", "device_code": "K01", "currency": "IDR", "staff": forged});
    let (st, e, _) = app.post("", "/api/v1/devices/pair", body).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (409, Some("owner_code_required")),
        "{e}"
    );
}

/// A service on a database that is not there (`upstream` refuses or never answers).
async fn service_on(upstream: std::net::SocketAddr, timeout: std::time::Duration) -> String {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    let pool = PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy_with(
            PgConnectOptions::new()
                .host(&upstream.ip().to_string())
                .port(upstream.port())
                .username("nobody")
                .database("none"),
        );
    let mut state = order_service::AppState::new(
        pool,
        std::sync::Arc::new(pos_crypto::FieldCipher::new(
            &pos_crypto::MasterKey::generate(),
        )),
        order_service::auth::JwtKeys::new(JWT_SECRET.as_bytes()),
    );
    state.request_timeout = timeout;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(order_service::serve(listener, state));
    base
}

#[tokio::test]
async fn with_the_database_down_requests_fail_fast_with_503_and_every_answer_names_its_request() {
    let http = reqwest::Client::new();
    // nothing listens on this port: connections are refused
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let base = service_on(closed, std::time::Duration::from_secs(30)).await;
    for (method, path) in [("GET", "/readyz"), ("POST", "/api/v1/auth/login")] {
        let r = http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .json(&json!({"tenant": "t", "email": "a@b.id", "password": "p"}))
            .send()
            .await
            .unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let (status, problem, headers) = split(r).await;
        assert_eq!(status, 503, "{path}: {problem}");
        assert_eq!(problem["code"], "database_unavailable");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert!(headers.contains_key("retry-after"));
        assert_eq!(
            problem["request_id"],
            json!(id),
            "the problem names the request"
        );
    }
    // a client's own request id is kept; an unprintable one is replaced
    let r = http
        .get(format!("{base}/readyz"))
        .header("x-request-id", "kasir-K01-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "kasir-K01-42");
    let r = http
        .get(format!("{base}/readyz"))
        .header("x-request-id", "a b\tc")
        .send()
        .await
        .unwrap();
    assert_ne!(r.headers()["x-request-id"], "a b\tc");

    // a database that accepts and never answers: the request's deadline answers for it
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_addr = hole.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = hole.accept().await {
            held.push(c);
        }
    });
    let base = service_on(hole_addr, std::time::Duration::from_millis(300)).await;
    let (status, problem, _) = split(
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"tenant": "t", "email": "a@b.id", "password": "p"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 503, "{problem}");
    assert!(
        ["timeout", "database_unavailable"].contains(&problem["code"].as_str().unwrap()),
        "{problem}"
    );
}

#[tokio::test]
async fn wrong_passwords_sent_at_once_each_count() {
    let app = spawn().await;
    let t = app.tenant("toko-serentak").await;
    let email = "owner@toko-serentak.id";
    let attempts = (0..5).map(|_| login_status(&app, &t.slug, email, "guess"));
    for (status, _, _) in futures_util::future::join_all(attempts).await {
        assert_eq!(status, 401);
    }
    let (status, body, _) = login_status(&app, &t.slug, email, "correct horse battery").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("account_locked")),
        "{body}"
    );
}
