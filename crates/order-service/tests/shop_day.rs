//! The shop's day, everywhere (issue 15, item 5): the tenant has an IANA time zone (Asia/Jakarta
//! unless set otherwise) and the service's business days, order numbers, date filters, figures
//! and overdue installments follow it; the owner changes it; a paired counter adopts it, so
//! counter and service agree on every order's day. Service and counter run on one test clock.
#![allow(clippy::unwrap_used)]
mod common;

use common::desk::*;
use common::sync::*;
use common::*;
use serde_json::{json, Value};

fn installment_order(first_due: &str) -> Value {
    let mut o = order_body("Siti", "08121112222");
    o["payment_terms"]["first_due_date"] = json!(first_due);
    o
}

fn counter_order(first_due: chrono::NaiveDate) -> pos_core::NewOrder {
    let mut o = new_order("Budi");
    o.payment_terms = pos_domain::PaymentTerms::Installment {
        down_payment: Some(money(100_000)),
        installment_count: 3,
        interval: pos_domain::Interval::Monthly,
        first_due_date: first_due,
    };
    o
}

#[tokio::test]
async fn the_service_keeps_the_shops_day_and_the_counter_agrees() {
    // 10:00 WIB on 9 March 2027
    let clock = TestClock::at("2027-03-09T03:00:00Z");
    let c2 = clock.clone();
    let app = spawn_with_state(move |s| s.with_clock(c2)).await;
    let mut t = app.tenant("toko-hari").await;
    let (st, shop, _) = app.get(&t.owner_token, "/api/v1/tenant").await;
    assert_eq!(st, 200, "{shop}");
    assert_eq!(shop["time_zone"], "Asia/Jakarta");
    assert_eq!(shop["business_date"], "2027-03-09");
    let (st, first, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            installment_order("2027-03-09"),
        )
        .await;
    assert_eq!(st, 201, "{first}");

    // 05:30 WIB on 10 March is 22:30 UTC on 9 March: the shop's day is the 10th
    clock.set("2027-03-09T22:30:00Z");
    t.owner_token = app
        .login("toko-hari", "owner@toko-hari.id", "correct horse battery")
        .await;
    let (st, early, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            installment_order("2027-04-10"),
        )
        .await;
    assert_eq!(st, 201, "{early}");
    assert!(
        early["order_number"]
            .as_str()
            .unwrap()
            .starts_with("API-20270310-"),
        "{early}"
    );
    assert_eq!(early["business_date"], "2027-03-10");
    let (_, listed, _) = app
        .get(
            &t.owner_token,
            "/api/v1/offline-orders?from=2027-03-10&to=2027-03-10",
        )
        .await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [early["id"].as_str().unwrap()]);
    let (_, sum, _) = app
        .get(
            &t.owner_token,
            "/api/v1/analytics/offline-orders/summary?from=2027-03-10&to=2027-03-10",
        )
        .await;
    assert_eq!(sum["orders"], 1, "{sum}");
    // the installment due "yesterday" in Jakarta (9 March) is overdue there now
    assert_eq!(sum["overdue_installments"], 1, "{sum}");
    let (_, got, _) = app
        .get(
            &t.owner_token,
            &format!("/api/v1/offline-orders/{}", first["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        got["payment_terms"]["schedule"][1]["due_date"], "2027-03-09",
        "{got}"
    );
    assert_eq!(
        got["payment_terms"]["schedule"][1]["status"], "overdue",
        "{got}"
    );

    // a counter paired with the shop takes its zone and agrees on the day
    let (d, owner) = desk_on("K01", clock.clone()).await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    c.sync(&d.store, d.keys.as_ref(), &|_| {}).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 10).unwrap();
    let o = d
        .store
        .create_order(&cashier, counter_order(day))
        .await
        .unwrap();
    assert_eq!(o.business_date, day);
    c.sync(&d.store, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(
        central_order(&app, &t, o.id).await["business_date"],
        "2027-03-10"
    );

    // only the owner changes the zone, and only to a real one
    let cashier_token = app.staff(&t, "cashier").await;
    let (st, _, _) = app
        .patch(
            &cashier_token,
            "/api/v1/tenant",
            json!({"time_zone": "Europe/London"}),
        )
        .await;
    assert_eq!(st, 403);
    for bad in [
        json!({"time_zone": "WIB"}),
        json!({"time_zone": "UTC+7"}),
        json!({"zone": "Asia/Jakarta"}),
    ] {
        let (st, e, _) = app
            .patch(&t.owner_token, "/api/v1/tenant", bad.clone())
            .await;
        assert_eq!(st, 422, "{bad}: {e}");
    }
    let (st, shop, _) = app
        .patch(
            &t.owner_token,
            "/api/v1/tenant",
            json!({"time_zone": "Europe/London"}),
        )
        .await;
    assert_eq!(st, 200, "{shop}");
    assert_eq!(shop["business_date"], "2027-03-09");
    let (_, api, _) = app
        .post(
            &t.owner_token,
            "/api/v1/offline-orders",
            installment_order("2027-04-09"),
        )
        .await;
    assert!(
        api["order_number"]
            .as_str()
            .unwrap()
            .starts_with("API-20270309-"),
        "{api}"
    );
    // the counter follows at its next sync
    c.sync(&d.store, d.keys.as_ref(), &|_| {}).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 9).unwrap();
    let o = d
        .store
        .create_order(&cashier, counter_order(day))
        .await
        .unwrap();
    assert_eq!(o.business_date, day);
    assert!(
        o.order_number.starts_with("K01-20270309-"),
        "{}",
        o.order_number
    );
    // the change is in the shop's audit trail
    let (_, events, _) = app
        .get(&t.owner_token, "/api/v1/audit-events?entity_type=tenant")
        .await;
    assert!(events.to_string().contains("tenant.time_zone"), "{events}");
}
