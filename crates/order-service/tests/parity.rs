//! One rule, one decision: for a table of orders, payments, edits and searches — valid and not,
//! and dates either side of the shop's midnight — the counter and the service decide the same:
//! both accept, or both refuse with the same error code and field. A rule written twice that
//! drifts fails here.
#![allow(clippy::unwrap_used)]
mod common;

use common::desk::*;
use common::*;
use serde_json::{json, Value};

/// What a side decided: `Ok` or the refusal's code and field.
type Decision = Result<(), (String, Option<String>)>;

fn base() -> Value {
    json!({
        "channel": "phone",
        "customer": {"name": "Siti Rahma", "phone": "0812-3456-7890"},
        "items": [
            {"name": "Kulkas", "quantity": "1", "unit_price": "1500000"},
            {"name": "Rak", "quantity": "2", "unit_price": "100000", "discount": "10000"}
        ],
        "payment_terms": {"type": "installment", "down_payment": "300000", "installment_count": 3, "interval": "monthly", "first_due_date": "2026-12-30"},
        "initial_payment": {"method": "cash", "amount": "300000"}
    })
}

fn with(mut v: Value, path: &[&str], value: Value) -> Value {
    let mut at = &mut v;
    for p in &path[..path.len() - 1] {
        at = match p.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[*p],
        };
    }
    let last = path[path.len() - 1];
    match last.parse::<usize>() {
        Ok(i) => at[i] = value,
        Err(_) if value.is_null() => {
            at.as_object_mut().unwrap().remove(last);
        }
        Err(_) => at[last] = value,
    }
    v
}

fn orders() -> Vec<(&'static str, Value, bool)> {
    let b = base;
    vec![
        ("a valid phone order with installments", b(), true),
        (
            "a walk-in paid in full",
            json!({"channel": "walk_in", "customer": {"name": "Budi"}, "items": [{"name": "Kopi", "quantity": "1", "unit_price": "50000"}], "payment_terms": {"type": "full"}, "initial_payment": {"method": "cash", "amount": "50000"}}),
            true,
        ),
        (
            "a phone order without a phone",
            with(b(), &["customer", "phone"], Value::Null),
            false,
        ),
        (
            "letters in the phone",
            with(b(), &["customer", "phone"], json!("0812-CALL-ME")),
            false,
        ),
        (
            "too few digits",
            with(b(), &["customer", "phone"], json!("123")),
            false,
        ),
        (
            "a bad e-mail",
            with(b(), &["customer", "email"], json!("siti@")),
            false,
        ),
        (
            "no name",
            with(b(), &["customer", "name"], json!("  ")),
            false,
        ),
        (
            "a name too long",
            with(b(), &["customer", "name"], json!("x".repeat(121))),
            false,
        ),
        ("no items", with(b(), &["items"], json!([])), false),
        (
            "an item without a name",
            with(b(), &["items", "0", "name"], json!("")),
            false,
        ),
        (
            "a quantity of zero",
            with(b(), &["items", "0", "quantity"], json!("0")),
            false,
        ),
        (
            "a fraction of a Rupiah",
            with(b(), &["items", "0", "unit_price"], json!("1500000.5")),
            false,
        ),
        (
            "a negative price",
            with(b(), &["items", "0", "unit_price"], json!("-1")),
            false,
        ),
        (
            "a line discount above the line",
            with(b(), &["items", "1", "discount"], json!("300000")),
            false,
        ),
        (
            "an order discount above the subtotal",
            with(b(), &["discount"], json!("5000000")),
            false,
        ),
        (
            "a down payment of the whole total",
            with(
                with(b(), &["payment_terms", "down_payment"], json!("1690000")),
                &["initial_payment", "amount"],
                json!("1690000"),
            ),
            false,
        ),
        (
            "no installments",
            with(b(), &["payment_terms", "installment_count"], json!(0)),
            false,
        ),
        (
            "too many installments",
            with(b(), &["payment_terms", "installment_count"], json!(61)),
            false,
        ),
        (
            "a first due date in the past",
            with(
                b(),
                &["payment_terms", "first_due_date"],
                json!("2026-11-29"),
            ),
            false,
        ),
        (
            "the first due date today",
            with(
                b(),
                &["payment_terms", "first_due_date"],
                json!("2026-11-30"),
            ),
            true,
        ),
        (
            "a first due date past the business range",
            with(
                b(),
                &["payment_terms", "first_due_date"],
                json!("2200-01-01"),
            ),
            false,
        ),
        (
            "a plan running past the business range",
            with(
                b(),
                &["payment_terms", "first_due_date"],
                json!("2199-11-30"),
            ),
            false,
        ),
        (
            "full terms paid in part",
            with(
                with(b(), &["payment_terms"], json!({"type": "full"})),
                &["initial_payment", "amount"],
                json!("100000"),
            ),
            false,
        ),
        (
            "a first payment above the total",
            with(b(), &["initial_payment", "amount"], json!("9000000")),
            false,
        ),
        (
            "a first payment of zero",
            with(b(), &["initial_payment", "amount"], json!("0")),
            false,
        ),
        (
            "notes too long",
            with(b(), &["notes"], json!("n".repeat(1001))),
            false,
        ),
        (
            "a down payment with a due date",
            with(
                b(),
                &["payment_terms"],
                json!({"type": "down_payment", "down_payment": "300000", "due_date": "2027-01-15"}),
            ),
            true,
        ),
        (
            "a down payment due yesterday",
            with(
                b(),
                &["payment_terms"],
                json!({"type": "down_payment", "down_payment": "300000", "due_date": "2026-11-29"}),
            ),
            false,
        ),
    ]
}

/// What the service's answer decided: `Ok` on the `ok` status, else the problem's code and field.
fn answered(st: u16, ok: u16, v: &Value) -> Decision {
    if st == ok {
        Ok(())
    } else {
        Err((
            v["code"].as_str().unwrap_or("?").to_owned(),
            v["field"].as_str().map(str::to_owned),
        ))
    }
}

async fn on_service(app: &TestApp, token: &str, body: &Value) -> Decision {
    let (st, v, _) = app
        .post(token, "/api/v1/offline-orders", body.clone())
        .await;
    answered(st, 201, &v)
}

fn decided<T>(r: Result<T, pos_core::StoreError>) -> Decision {
    r.map(|_| ())
        .map_err(|e| (e.code().to_owned(), e.field().map(str::to_owned)))
}

#[tokio::test]
async fn the_counter_and_the_service_decide_every_order_and_payment_alike() {
    // 23:59 in Jakarta: "today" is 2026-11-30 on both sides
    let clock = TestClock::at("2026-11-30T16:59:00Z");
    let app = spawn_with_state({
        let c = clock.clone();
        move |s| s.with_clock(c)
    })
    .await;
    let t = app.tenant("toko-sama-aturan").await;
    let (d, owner) = desk_on("K01", clock.clone()).await;
    let mut drift = Vec::new();
    let mut compare = |what: String, desk: Decision, service: Decision| {
        if desk != service {
            drift.push(format!("{what}: counter {desk:?}, service {service:?}"));
        }
    };
    for (what, body, accepted) in orders() {
        let input: pos_core::NewOrder = serde_json::from_value(body.clone()).unwrap();
        let desk = decided(d.store.create_order(&owner, input).await);
        assert_eq!(
            desk.is_ok(),
            accepted,
            "{what}: the counter decided {desk:?}"
        );
        compare(
            what.to_owned(),
            desk,
            on_service(&app, &t.owner_token, &body).await,
        );
    }

    // a minute later it is 1 December in Jakarta: today's due date of a minute ago is past
    clock.set("2026-11-30T17:01:00Z");
    let body = with(
        base(),
        &["payment_terms", "first_due_date"],
        json!("2026-11-30"),
    );
    let input: pos_core::NewOrder = serde_json::from_value(body.clone()).unwrap();
    let desk = decided(d.store.create_order(&owner, input).await);
    assert!(desk.is_err(), "after midnight, 2026-11-30 is past");
    compare(
        "the first due date yesterday, after the shop's midnight".into(),
        desk,
        on_service(&app, &t.owner_token, &body).await,
    );

    // payments on the same order on both sides (balance 1,390,000)
    let (_, order, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            with(
                base(),
                &["payment_terms", "first_due_date"],
                json!("2026-12-30"),
            ),
        )
        .await;
    let input: pos_core::NewOrder = serde_json::from_value(with(
        base(),
        &["payment_terms", "first_due_date"],
        json!("2026-12-30"),
    ))
    .unwrap();
    let mine = d.store.create_order(&owner, input).await.unwrap();
    for (what, pay) in [
        (
            "an installment",
            json!({"amount": "460000", "method": "cash"}),
        ),
        (
            "more than the balance",
            json!({"amount": "99000000", "method": "cash"}),
        ),
        (
            "a negative payment",
            json!({"amount": "-1000", "method": "cash"}),
        ),
        ("zero", json!({"amount": "0", "method": "cash"})),
        (
            "a fraction of a Rupiah",
            json!({"amount": "100.5", "method": "card"}),
        ),
        (
            "a reference too long",
            json!({"amount": "1000", "method": "bank_transfer", "reference": "r".repeat(101)}),
        ),
    ] {
        let input: pos_core::PaymentInput = serde_json::from_value(pay.clone()).unwrap();
        let desk = decided(d.store.record_payment(&owner, mine.id, input).await);
        let (st, v, _) = app
            .post(
                &t.owner_token,
                &format!(
                    "/api/v1/offline-orders/{}/payments",
                    order["id"].as_str().unwrap()
                ),
                pay,
            )
            .await;
        let service = answered(st, 201, &v);
        compare(format!("payment: {what}"), desk, service);
    }

    // edits of the same order on both sides (300,000 paid), the valid one last
    let oid = order["id"].as_str().unwrap().to_owned();
    let edit = |items: Value, notes: Value, phone: &str| json!({"customer": {"name": "Siti Rahma", "phone": phone}, "items": items, "notes": notes});
    let items = base()["items"].clone();
    for (what, body, accepted) in [
        (
            "a total below what was paid",
            edit(
                json!([{"name": "Rak", "quantity": "1", "unit_price": "1000"}]),
                Value::Null,
                "0812-3456-7890",
            ),
            false,
        ),
        (
            "no items",
            edit(json!([]), Value::Null, "0812-3456-7890"),
            false,
        ),
        (
            "notes too long",
            edit(items.clone(), json!("n".repeat(1001)), "0812-3456-7890"),
            false,
        ),
        (
            "a bad phone",
            edit(items.clone(), Value::Null, "0812-CALL"),
            false,
        ),
        (
            "a quantity of zero",
            edit(
                with(items.clone(), &["0", "quantity"], json!("0")),
                Value::Null,
                "0812-3456-7890",
            ),
            false,
        ),
        (
            "a valid edit",
            edit(
                with(items.clone(), &["0", "unit_price"], json!("2000000")),
                json!("antar sore"),
                "0813-0000-1111",
            ),
            true,
        ),
    ] {
        let current = d.store.get_order(&owner, mine.id).await.unwrap();
        let input: pos_core::OrderEdit = serde_json::from_value(body.clone()).unwrap();
        let desk = decided(
            d.store
                .update_order(&owner, mine.id, current.version, input)
                .await,
        );
        assert_eq!(
            desk.is_ok(),
            accepted,
            "edit, {what}: the counter decided {desk:?}"
        );
        let (_, now, headers) = app
            .get(&t.owner_token, &format!("/api/v1/offline-orders/{oid}"))
            .await;
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(now["id"].is_string());
        let (st, v, _) = split(
            app.http
                .patch(app.url(&format!("/api/v1/offline-orders/{oid}")))
                .bearer_auth(&t.owner_token)
                .header("If-Match", etag)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let service = answered(st, 200, &v);
        compare(format!("edit: {what}"), desk, service);
    }

    // searches: the same text finds the same kind of thing (or is refused alike)
    for q in [
        "0812-3456-7890",
        "+62 812 3456 7890",
        "siti@contoh.id",
        "Siti",
        "K01-20261130-0001",
        "12345678",
    ] {
        let desk = decided(
            d.store
                .list_orders(
                    &owner,
                    pos_core::ListQuery {
                        q: Some(q.into()),
                        ..Default::default()
                    },
                )
                .await,
        );
        let (st, v, _) = app
            .get(
                &t.owner_token,
                &format!(
                    "/api/v1/offline-orders?q={}",
                    q.replace('+', "%2B")
                        .replace(' ', "%20")
                        .replace('@', "%40")
                ),
            )
            .await;
        let service = answered(st, 200, &v);
        compare(format!("search {q:?}"), desk, service);
    }
    assert!(
        drift.is_empty(),
        "the counter and the service decide differently:\n{}",
        drift.join("\n")
    );
}

#[tokio::test]
async fn a_domain_event_has_one_shape_whichever_way_its_change_came() {
    let app = spawn().await;
    let t = app.tenant("toko-satu-bentuk").await;
    // through the API: create (with its down payment), edit, refund, delete
    let (_, o, headers) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            order_body("Siti", "0812-3456-7890"),
        )
        .await;
    let id = o["id"].as_str().unwrap();
    let (st, _, _) = split(
        app.http
            .patch(app.url(&format!("/api/v1/offline-orders/{id}")))
            .bearer_auth(&t.owner_token)
            .header("If-Match", headers["etag"].to_str().unwrap())
            .json(&json!({"notes": "antar sore"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    refund_all(&app, &t.owner_token, id).await;
    app.delete(
        &t.owner_token,
        &format!("/api/v1/offline-orders/{id}"),
        json!({"reason": "batal"}),
    )
    .await;

    // from a counter: the same changes, synced
    let (d, owner) = desk().await;
    // the manager is on the roster the pairing brings to the service
    let (manager, _) = common::sync::crew(&d, &owner, "Pak Manajer", "2222").await;
    let c = common::sync::fast_client();
    common::sync::pair(&app, &t, &c, &d, &owner, &app.base).await;
    let mine = d
        .store
        .create_order(&owner, new_order("Budi"))
        .await
        .unwrap();
    let edit = pos_core::OrderEdit {
        customer: mine.customer.clone(),
        items: mine
            .items
            .iter()
            .map(pos_domain::LineItem::to_input)
            .collect(),
        discount: None,
        notes: Some("antar pagi".into()),
    };
    d.store
        .update_order(&owner, mine.id, mine.version, edit)
        .await
        .unwrap();
    refund_on_desk(&d.store, &owner, mine.id, manager.id, "2222").await;
    d.store
        .delete_order(&owner, mine.id, "batal", None)
        .await
        .unwrap();
    let r = c.sync(&d.store, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete, "{r:?}");

    let (_, feed, _) = app.get(&t.owner_token, "/api/v1/events?limit=1000").await;
    let shape = |e: &Value| -> Vec<String> {
        let mut keys: Vec<String> = e["payload"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "device_id")
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    // per event type: the payload's keys from the API, and from a counter
    type Shapes = (Option<Vec<String>>, Option<Vec<String>>);
    let mut by_type: std::collections::BTreeMap<String, Shapes> = Default::default();
    for e in feed["items"].as_array().unwrap() {
        let from_counter = e["payload"].get("device_id").is_some();
        let slot = by_type
            .entry(e["type"].as_str().unwrap().to_owned())
            .or_default();
        let side = if from_counter {
            &mut slot.1
        } else {
            &mut slot.0
        };
        side.get_or_insert_with(|| shape(e));
    }
    for kind in [
        "order.created",
        "order.updated",
        "payment.received",
        "payment.reversed",
        "order.deleted",
    ] {
        let (api, counter) = by_type
            .get(kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} in {feed}"));
        assert!(
            api.is_some() && counter.is_some(),
            "{kind} from both paths: {feed}"
        );
        assert_eq!(
            api, counter,
            "{kind}: the API's and a counter's events differ"
        );
    }
}

#[tokio::test]
async fn once_paired_staff_are_added_at_the_service_and_reach_the_counter() {
    let app = spawn().await;
    let t = app.tenant("toko-daftar").await;
    let (d, owner) = desk().await;
    let c = common::sync::fast_client();
    common::sync::pair(&app, &t, &c, &d, &owner, &app.base).await;
    // on the paired counter, the roster is the service's: adding here is refused, with why
    let e = d
        .store
        .add_staff(
            &owner,
            "Kasir Baru",
            pos_domain::Role::Cashier,
            pos_core::Pin::new("4321").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "roster_is_central");
    // added at the service with a PIN, the cashier reaches the counter at the next sync, logs in
    // there and takes an order the service accepts
    let (st, user, _) = app
        .post(
            &t.owner_token,
            "/api/v1/users",
            json!({"name": "Kasir Baru", "email": "kasir.baru@toko-daftar.id", "role": "cashier", "password": "kasir baru password", "pin": "4321"}),
        )
        .await;
    assert_eq!(st, 201, "{user}");
    c.sync(&d.store, d.keys.as_ref(), &|_| {}).await.unwrap();
    let id: pos_domain::StaffId = user["id"]
        .as_str()
        .unwrap()
        .parse::<uuid::Uuid>()
        .unwrap()
        .into();
    let cashier = d
        .store
        .login(id, pos_core::Pin::new("4321").unwrap())
        .await
        .unwrap();
    d.store
        .create_order(&cashier, new_order("Dewi"))
        .await
        .unwrap();
    let r = c.sync(&d.store, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete && r.needs_attention.count == 0, "{r:?}");
}

/// The owner's figures follow one rule (`pos_domain::figures`): for the same day of orders,
/// the counter's dashboard and the service's summary count the same overdue installments,
/// owe the same overdue amount and give the same completion rate — also once the day has
/// moved on and installments fell due.
#[tokio::test]
async fn the_counter_and_the_service_count_overdue_and_completion_alike() {
    let clock = TestClock::at("2027-03-01T03:00:00Z");
    let app = spawn_with_state({
        let c = clock.clone();
        move |s| s.with_clock(c)
    })
    .await;
    let t = app.tenant("toko-angka").await;
    let (d, owner) = desk_on("K01", clock.clone()).await;
    let c = common::sync::fast_client();
    common::sync::pair(&app, &t, &c, &d, &owner, &app.base).await;
    let day: chrono::NaiveDate = "2027-03-01".parse().unwrap();
    // three installment orders with their down payment; one is then paid in full
    let mut ids = Vec::new();
    for name in ["Ani", "Budi", "Citra"] {
        let o = d
            .store
            .create_order(&owner, new_order_on(name, day))
            .await
            .unwrap();
        ids.push(o.id);
    }
    d.store
        .record_payment(&owner, ids[1], cash(900_000))
        .await
        .unwrap();
    let r = c.sync(&d.store, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.complete && r.needs_attention.count == 0, "{r:?}");

    let figures = |at: &'static str| {
        let (app, d, owner) = (&app, &d, &owner);
        let clock = clock.clone();
        async move {
            clock.set(at);
            // a token from weeks ago has expired: the owner logs in again
            let token = app
                .login("toko-angka", "owner@toko-angka.id", "correct horse battery")
                .await;
            let counter = d.store.dashboard(owner, day, day).await.unwrap();
            let (st, service, _) = app
                .get(
                    &token,
                    "/api/v1/analytics/offline-orders/summary?from=2027-03-01&to=2027-03-01",
                )
                .await;
            assert_eq!(st, 200, "{service}");
            (counter, service)
        }
    };
    // on the day: nothing is overdue; one order of three is paid
    // 75 days on: the first two monthly installments of the two open orders are overdue
    for (at, overdue) in [("2027-03-01T04:00:00Z", 0), ("2027-05-15T04:00:00Z", 4)] {
        let (counter, service) = figures(at).await;
        assert_eq!(counter.overdue_installments, overdue, "{at}");
        assert_eq!(
            service["overdue_installments"],
            json!(counter.overdue_installments),
            "{at}"
        );
        assert_eq!(
            service["overdue_amount"],
            json!(counter.overdue_amount),
            "{at}"
        );
        assert_eq!(counter.orders, 3);
        assert_eq!(service["orders"], json!(counter.orders));
        assert_eq!(
            service["payment_completion_rate"],
            json!(counter.payment_completion_rate.map(|r| r.to_string())),
            "{at}"
        );
    }
}

#[tokio::test]
async fn the_office_and_the_counter_preview_the_same_schedule() {
    let clock = TestClock::at("2027-01-30T03:00:00Z");
    let app = spawn_with_state({
        let c = clock.clone();
        move |s| s.with_clock(c)
    })
    .await;
    let t = app.tenant("toko-pratinjau").await;
    let (d, _owner) = desk_on("K01", clock.clone()).await;
    for input in [
        json!({"items": [{"name": "Kulkas", "quantity": "3", "unit_price": "333333"}], "discount": "1", "payment_terms": {"type": "installment", "down_payment": "100000", "installment_count": 4, "interval": "monthly", "first_due_date": "2027-01-31"}}),
        json!({"items": [{"name": "Rak", "quantity": "2.5", "unit_price": "18000"}], "payment_terms": {"type": "down_payment", "down_payment": "5000", "due_date": "2027-02-28"}}),
        json!({"items": [{"name": "Kabel", "quantity": "1", "unit_price": "1000"}], "payment_terms": {"type": "full"}}),
    ] {
        let desk = d
            .store
            .preview_order(serde_json::from_value(input.clone()).unwrap())
            .unwrap();
        let (st, office, _) = app
            .post(&t.owner_token, "/api/v1/offline-orders/preview", input)
            .await;
        assert_eq!(st, 200, "{office}");
        assert_eq!(serde_json::to_value(&desk).unwrap(), office);
    }
    // a refusal is the create's, at its field, on both sides
    let bad = json!({"items": [{"name": "Kulkas", "quantity": "1", "unit_price": "1000"}], "payment_terms": {"type": "down_payment", "down_payment": "2000", "due_date": "2027-02-28"}});
    let desk = d
        .store
        .preview_order(serde_json::from_value(bad.clone()).unwrap())
        .unwrap_err();
    let (st, office, _) = app
        .post(&t.owner_token, "/api/v1/offline-orders/preview", bad)
        .await;
    assert_eq!(st, 422);
    assert_eq!(office["field"].as_str(), desk.field());
}
