//! Pushes are bounded by bytes as well as by count (issue 15, item 8): a queue larger than the
//! service's body limit still drains, and a single change too large to send goes to
//! needs-attention with a clear reason instead of stalling everything behind it.
#![allow(clippy::unwrap_used)]
mod common;

use common::desk::*;
use common::sync::*;
use common::*;
use pos_domain::ItemInput;

/// An order of `items` lines, each named with `chars` four-byte characters.
fn big_order(name: &str, items: usize, chars: usize) -> pos_core::NewOrder {
    let mut o = new_order(name);
    o.items = (0..items)
        .map(|i| ItemInput {
            name: format!("{i:03}{}", "𝔸".repeat(chars)),
            sku: None,
            quantity: 1.into(),
            unit_price: money(1_000),
            discount: None,
        })
        .collect();
    o.payment_terms = pos_domain::PaymentTerms::Full;
    o.initial_payment = Some(cash(1_000 * items as i64));
    o
}

#[tokio::test]
async fn a_queue_larger_than_the_service_takes_drains_and_a_too_large_change_waits_aside() {
    // The service takes at most 128 KiB per push here (64 MiB in production).
    let app = spawn_with_state(|mut s| {
        s.sync_body_limit = 128 * 1024;
        s
    })
    .await;
    let t = app.tenant("toko-besar").await;
    let (d, owner) = desk().await;
    let (_, cashier) = crew(&d, &owner, "Pak Andi", "2222").await;
    let c = fast_client();
    pair(&app, &t, &c, &d, &owner, &app.base).await;
    let s = &d.store;
    // about 25 KB of JSON per order: 16 of them are three times what one push may carry
    let mut small = Vec::new();
    for i in 0..8 {
        small.push(
            s.create_order(&cashier, big_order(&format!("Pelanggan {i}"), 30, 190))
                .await
                .unwrap()
                .id,
        );
    }
    // about 160 KB: more than the service takes in one push, whatever else is in it
    let huge = s
        .create_order(&cashier, big_order("Grosir", 200, 190))
        .await
        .unwrap()
        .id;
    for i in 8..16 {
        small.push(
            s.create_order(&cashier, big_order(&format!("Pelanggan {i}"), 30, 190))
                .await
                .unwrap()
                .id,
        );
    }

    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert!(r.error.is_none(), "{r:?}");
    // every small order and its payment arrived; the huge order waits aside with its payment
    assert_eq!(r.pushed.count, 32, "{r:?}");
    // the huge order needs attention, its payment with it
    assert_eq!(r.needs_attention.count, 2, "{r:?}");
    assert_eq!(
        r.needs_attention.orders_total.amount(),
        200_000.into(),
        "{r:?}"
    );
    for id in &small {
        assert_eq!(central_order(&app, &t, *id).await["paid"], "30000");
    }
    let (st, _, _) = app
        .get(&t.owner_token, &format!("/api/v1/offline-orders/{huge}"))
        .await;
    assert_eq!(st, 404);
    let list = s.needs_attention(&cashier).await.unwrap();
    assert!(list.iter().all(|a| a.order_id == huge), "{list:?}");
    assert_eq!(list[0].code.as_deref(), Some("too_large"), "{list:?}");
    assert!(
        list[0].reason.as_deref().unwrap().contains("too large"),
        "{list:?}"
    );

    // a later order still flows past it
    let later = s.create_order(&cashier, new_order("Dewi")).await.unwrap();
    let r = c.sync(s, d.keys.as_ref(), &|_| {}).await.unwrap();
    assert_eq!(r.pushed.count, 2, "{r:?}");
    assert_eq!(central_order(&app, &t, later.id).await["paid"], "100000");
}
