//! List, search, pagination and dashboard figures.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use pos_core::{ListQuery, SearchKind};
use pos_domain::{Channel, OrderStatus};

#[test]
fn search_kind_is_guessed_from_the_text() {
    assert_eq!(SearchKind::detect("siti@example.com"), SearchKind::Email);
    assert_eq!(
        SearchKind::detect("K01-20261125-0042"),
        SearchKind::OrderNumber
    );
    assert_eq!(SearchKind::detect("+62 812-1111-2222"), SearchKind::Phone);
    assert_eq!(SearchKind::detect("Siti"), SearchKind::Name);
    assert_eq!(SearchKind::detect("Toko 88"), SearchKind::Name);
}

#[tokio::test]
async fn filters_search_and_pages() {
    let t = TestStore::new().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut o = phone_installment_order(&format!("Siti Nomor{i}"), &format!("08121111{i:04}"));
        o.customer.email = Some(format!("siti{i}@contoh.id"));
        ids.push(create(&t, &t.owner, o).await);
        t.clock.advance(chrono::Duration::seconds(1));
    }
    for i in 0..3 {
        create(&t, &t.owner, walk_in_full(&format!("Budi {i}"), "25000")).await;
        t.clock.advance(chrono::Duration::seconds(1));
    }
    let list = |q: ListQuery| async { t.s().list_orders(&t.owner, q).await.unwrap() };

    let all = list(ListQuery::default()).await;
    assert_eq!(all.items.len(), 10);
    assert!(all.next_cursor.is_none());
    assert!(all
        .items
        .windows(2)
        .all(|w| w[0].created_at >= w[1].created_at));
    assert_eq!(all.items[0].customer_name, "Budi 2");

    // paging by 4 walks every order exactly once
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = list(ListQuery {
            limit: Some(4),
            cursor: cursor.clone(),
            ..Default::default()
        })
        .await;
        seen.extend(p.items.iter().map(|o| o.id));
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 10);
    assert_eq!(seen, all.items.iter().map(|o| o.id).collect::<Vec<_>>());

    let phone = list(ListQuery {
        channel: Some(Channel::Phone),
        ..Default::default()
    })
    .await;
    assert_eq!(phone.items.len(), 7);
    let paid = list(ListQuery {
        status: Some(OrderStatus::Paid),
        ..Default::default()
    })
    .await;
    assert_eq!(paid.items.len(), 3);

    // exact phone in another spelling, exact email in another case
    let p = list(ListQuery {
        q: Some("+62 812-1111-0003".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        p.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![ids[3].id]
    );
    let p = list(ListQuery {
        q: Some("SITI5@contoh.id".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(p.items[0].id, ids[5].id);
    assert_eq!(p.items.len(), 1);
    let p = list(ListQuery {
        q: Some(ids[2].order_number.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(p.items[0].id, ids[2].id);
    // part of a name, any case, paged
    let p = list(ListQuery {
        q: Some("nomor".into()),
        limit: Some(5),
        ..Default::default()
    })
    .await;
    assert_eq!(p.items.len(), 5);
    let p2 = list(ListQuery {
        q: Some("nomor".into()),
        limit: Some(5),
        cursor: p.next_cursor.clone(),
        ..Default::default()
    })
    .await;
    assert_eq!(p2.items.len(), 2);
    assert!(p2.next_cursor.is_none());
    // a name search combined with a filter
    let p = list(ListQuery {
        q: Some("i".into()),
        channel: Some(Channel::WalkIn),
        ..Default::default()
    })
    .await;
    assert_eq!(p.items.len(), 3);
    // renamed customers are found under the new name only
    t.s()
        .update_order(
            &t.owner,
            ids[0].id,
            1,
            pos_core::OrderEdit {
                customer: customer("Dewi Lestari", Some("081211110000"), None),
                items: vec![item("Kulkas", "1", "1000000")],
                discount: None,
                notes: None,
            },
        )
        .await
        .unwrap();
    let p = list(ListQuery {
        q: Some("dewi".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(p.items.len(), 1);
    let p = list(ListQuery {
        q: Some("nomor0".into()),
        ..Default::default()
    })
    .await;
    assert!(p.items.is_empty());

    // date filters use the shop's business day
    let p = list(ListQuery {
        from: Some(d("2026-11-26")),
        ..Default::default()
    })
    .await;
    assert!(p.items.is_empty());
    let p = list(ListQuery {
        from: Some(d("2026-11-25")),
        to: Some(d("2026-11-25")),
        ..Default::default()
    })
    .await;
    assert_eq!(p.items.len(), 10);

    // bad input is refused with the field named
    for (q, field) in [
        (
            ListQuery {
                limit: Some(0),
                ..Default::default()
            },
            "limit",
        ),
        (
            ListQuery {
                cursor: Some("nonsense".into()),
                ..Default::default()
            },
            "cursor",
        ),
        (
            ListQuery {
                from: Some(d("2026-11-30")),
                to: Some(d("2026-11-01")),
                ..Default::default()
            },
            "from",
        ),
        (
            ListQuery {
                q: Some("12ab".into()),
                search: Some(SearchKind::Phone),
                ..Default::default()
            },
            "q",
        ),
    ] {
        let e = t.s().list_orders(&t.owner, q).await.unwrap_err();
        assert_eq!(e.field(), Some(field));
    }
}

#[tokio::test]
async fn list_shows_badges_and_sync_state() {
    let t = TestStore::new().await;
    let o = create(&t, &t.owner, phone_installment_order("Siti", "08121112222")).await;
    let gone = create(&t, &t.owner, walk_in_full("Budi", "1000")).await;
    refund_all(&t, gone.id).await;
    t.s()
        .delete_order(&t.owner, gone.id, "batal", None)
        .await
        .unwrap();
    t.clock.advance(chrono::Duration::days(31));
    let p = t
        .s()
        .list_orders(&t.owner, ListQuery::default())
        .await
        .unwrap();
    let row = p.items.iter().find(|r| r.id == o.id).unwrap();
    assert!(row.overdue);
    assert_eq!(row.sync_state, "pending");
    assert_eq!(row.balance, m("900000"));
    let row = p.items.iter().find(|r| r.id == gone.id).unwrap();
    assert_eq!(row.status, OrderStatus::Deleted);
    assert!(!row.overdue);
}

#[tokio::test]
async fn dashboard_figures() {
    let t = TestStore::new().await;
    let a = create(&t, &t.owner, phone_installment_order("Siti", "08121112222")).await; // 1,000,000, paid 100,000
    create(&t, &t.owner, walk_in_full("Budi", "50000")).await; // paid in full
    let c = create(&t, &t.owner, walk_in_full("Eko", "70000")).await;
    refund_all(&t, c.id).await;
    t.s()
        .delete_order(&t.owner, c.id, "batal", None)
        .await
        .unwrap();
    t.clock.advance(chrono::Duration::days(1));
    t.s()
        .record_payment(&t.owner, a.id, pay("200000"))
        .await
        .unwrap();

    let day1 = t
        .s()
        .dashboard(&t.owner, d("2026-11-25"), d("2026-11-25"))
        .await
        .unwrap();
    assert_eq!(day1.orders, 2);
    assert_eq!(day1.deleted_orders, 1);
    assert_eq!(day1.ordered, m("1050000"));
    assert_eq!(day1.collected, m("150000"));
    assert_eq!(day1.outstanding, m("700000"));
    assert_eq!(day1.paid_orders, 1);
    assert_eq!(day1.payment_completion_rate.unwrap().to_string(), "50.0");
    let both = t
        .s()
        .dashboard(&t.owner, d("2026-11-25"), d("2026-11-26"))
        .await
        .unwrap();
    assert_eq!(both.collected, m("350000"));
    assert_eq!(both.daily.len(), 2);
    assert_eq!(both.daily[1].collected, m("200000"));
    assert_eq!(both.overdue_installments, 0);
    t.clock.advance(chrono::Duration::days(61)); // two installments now overdue, 200,000 covers part of one
    let later = t
        .s()
        .dashboard(&t.owner, d("2026-11-25"), d("2026-11-26"))
        .await
        .unwrap();
    assert_eq!(later.overdue_installments, 2);
    assert_eq!(later.overdue_amount, m("400000"));
    let e = t
        .s()
        .dashboard(&t.owner, d("2026-11-26"), d("2026-11-25"))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("from"));
}
