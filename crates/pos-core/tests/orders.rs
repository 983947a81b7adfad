//! Order rules on a real SQLite file: creation, schedule, payments, lifecycle, edits.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use pos_core::{Clock, OrderEdit, StoreError};
use pos_domain::schedule::EntryStatus;
use pos_domain::{Channel, OrderStatus, PaymentMethod, PaymentTerms, Role};

#[tokio::test]
async fn phone_order_with_down_payment_and_installments() {
    let t = TestStore::new().await;
    let cashier = t.add("Kasir Ani", Role::Cashier, "1111").await;
    let o = create(
        &t,
        &cashier,
        phone_installment_order("Siti Rahayu", "0812-1111-2222"),
    )
    .await;
    assert_eq!(o.order_number, "K01-20261125-0001");
    assert_eq!(o.total, m("1000000"));
    assert_eq!(o.paid, m("100000"));
    assert_eq!(o.balance, m("900000"));
    assert_eq!(o.status, OrderStatus::Pending);
    assert_eq!(o.version, 1);
    assert_eq!(o.recorded_by.name, "Kasir Ani");
    let amounts: Vec<_> = o.schedule.iter().map(|l| l.amount).collect();
    assert_eq!(
        amounts,
        [m("100000"), m("300000"), m("300000"), m("300000")]
    );
    let st: Vec<_> = o.schedule.iter().map(|l| l.status).collect();
    assert_eq!(
        st,
        [
            EntryStatus::Paid,
            EntryStatus::Due,
            EntryStatus::Due,
            EntryStatus::Due
        ]
    );
    assert_eq!(o.payments.len(), 1);

    // An installment payment moves the schedule and, at the end, the status.
    let o = t
        .s()
        .record_payment(&cashier, o.id, pay("300000"))
        .await
        .unwrap();
    assert_eq!(o.schedule[1].status, EntryStatus::Paid);
    assert_eq!(o.balance, m("600000"));
    let o = t
        .s()
        .record_payment(&cashier, o.id, pay("150000"))
        .await
        .unwrap();
    assert_eq!(o.schedule[2].status, EntryStatus::PartlyPaid);
    let o = t
        .s()
        .record_payment(&cashier, o.id, pay("450000"))
        .await
        .unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!(o.balance, m("0"));
    let o = t.s().complete_order(&cashier, o.id).await.unwrap();
    assert_eq!(o.status, OrderStatus::Completed);
    assert!(o.completed_at.is_some());

    let second = create(&t, &cashier, walk_in_full("Budi", "50000")).await;
    assert_eq!(second.order_number, "K01-20261125-0002");
    assert_eq!(second.status, OrderStatus::Paid);
    // the next business day restarts the counter (WIB midnight = 17:00 UTC)
    t.clock.advance(chrono::Duration::hours(14));
    let third = create(&t, &cashier, walk_in_full("Budi", "50000")).await;
    assert_eq!(third.order_number, "K01-20261126-0001");
    // numbering carries on after a restart
    let mut t = t;
    t.reopen().await;
    let cashier = t
        .s()
        .login(cashier.staff_id(), pos_core::Pin::new("1111").unwrap())
        .await
        .unwrap();
    let fourth = create(&t, &cashier, walk_in_full("Budi", "50000")).await;
    assert_eq!(fourth.order_number, "K01-20261126-0002");
}

#[tokio::test]
async fn overdue_installments_show_as_overdue() {
    let t = TestStore::new().await;
    let o = create(&t, &t.owner, phone_installment_order("Siti", "08121112222")).await;
    t.clock.advance(chrono::Duration::days(40)); // past 2026-12-25
    let o = t.s().get_order(&t.owner, o.id).await.unwrap();
    assert_eq!(o.schedule[1].status, EntryStatus::Overdue);
    assert!(o.overdue);
    let o = t
        .s()
        .record_payment(&t.owner, o.id, pay("300000"))
        .await
        .unwrap();
    assert!(!o.overdue);
}

#[tokio::test]
async fn overpayment_is_refused_and_changes_nothing() {
    let t = TestStore::new().await;
    let o = create(&t, &t.owner, phone_installment_order("Siti", "08121112222")).await;
    let before = t.snapshot().await;
    let err = t
        .s()
        .record_payment(&t.owner, o.id, pay("900001"))
        .await
        .unwrap_err();
    match &err {
        StoreError::Overpayment { balance, .. } => assert_eq!(*balance, m("900000")),
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(err.field(), Some("amount"));
    assert!(err.to_string().contains("900000"), "{err}");
    for bad in ["0", "-5", "10.5"] {
        let e = t
            .s()
            .record_payment(&t.owner, o.id, pay(bad))
            .await
            .unwrap_err();
        assert_eq!(e.field(), Some("amount"), "{bad}: {e}");
    }
    assert_eq!(t.snapshot().await, before);
    // exactly the balance is fine
    let o = t
        .s()
        .record_payment(&t.owner, o.id, pay("900000"))
        .await
        .unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
}

#[tokio::test]
async fn invalid_orders_are_refused_with_the_field_named_and_nothing_written() {
    let t = TestStore::new().await;
    let before = t.snapshot().await;
    let base = || phone_installment_order("Siti", "08121112222");
    let cases: Vec<(pos_core::NewOrder, &str)> = vec![
        (
            {
                let mut o = base();
                o.customer.name = "  ".into();
                o
            },
            "customer.name",
        ),
        (
            {
                let mut o = base();
                o.customer.phone = None;
                o
            },
            "customer.phone",
        ),
        (
            {
                let mut o = base();
                o.customer.phone = Some("12ab".into());
                o
            },
            "customer.phone",
        ),
        (
            {
                let mut o = base();
                o.customer.email = Some("siti@".into());
                o
            },
            "customer.email",
        ),
        (
            {
                let mut o = base();
                o.items.clear();
                o
            },
            "items",
        ),
        (
            {
                let mut o = base();
                o.items[1].quantity = "0".parse().unwrap();
                o
            },
            "items[1].quantity",
        ),
        (
            {
                let mut o = base();
                o.items[2].unit_price = m("-1");
                o
            },
            "items[2].unit_price",
        ),
        (
            {
                let mut o = base();
                o.items[0].discount = Some(m("700001"));
                o
            },
            "items[0].discount",
        ),
        (
            {
                let mut o = base();
                o.discount = Some(m("1000001"));
                o
            },
            "discount",
        ),
        (
            {
                let mut o = base();
                o.payment_terms = PaymentTerms::Installment {
                    down_payment: None,
                    installment_count: 37,
                    interval: pos_domain::Interval::Weekly,
                    first_due_date: d("2026-12-01"),
                };
                o
            },
            "payment_terms.installment_count",
        ),
        (
            {
                let mut o = base();
                o.payment_terms = PaymentTerms::Installment {
                    down_payment: None,
                    installment_count: 3,
                    interval: pos_domain::Interval::Weekly,
                    first_due_date: d("2026-11-01"),
                };
                o
            },
            "payment_terms.first_due_date",
        ),
        (
            {
                let mut o = base();
                o.payment_terms = PaymentTerms::DownPayment {
                    down_payment: m("1000000"),
                    due_date: d("2026-12-01"),
                };
                o
            },
            "payment_terms.down_payment",
        ),
        (
            {
                let mut o = base();
                o.payment_terms = PaymentTerms::Full;
                o
            },
            "initial_payment.amount",
        ),
        (
            {
                let mut o = base();
                o.initial_payment.as_mut().unwrap().amount = m("0");
                o
            },
            "initial_payment.amount",
        ),
        (
            {
                let mut o = base();
                o.notes = Some("x".repeat(1001));
                o
            },
            "notes",
        ),
    ];
    for (order, field) in cases {
        let e = t.s().create_order(&t.owner, order).await.unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
        assert!(!e.to_string().is_empty());
    }
    let mut over = base();
    over.initial_payment.as_mut().unwrap().amount = m("1000001");
    assert!(matches!(
        t.s().create_order(&t.owner, over).await.unwrap_err(),
        StoreError::Overpayment { .. }
    ));
    assert_eq!(t.snapshot().await, before);
}

#[tokio::test]
async fn same_order_id_twice_is_one_order() {
    let t = TestStore::new().await;
    let id = pos_domain::OrderId::from(t.uuid_now());
    let mut o = walk_in_full("Budi", "50000");
    o.id = Some(id);
    let a = t.s().create_order(&t.owner, o.clone()).await.unwrap();
    let b = t.s().create_order(&t.owner, o).await.unwrap();
    assert_eq!(a.id, b.id);
    let mut v4 = walk_in_full("Budi", "50000");
    v4.id = Some(pos_domain::OrderId(uuid::Uuid::new_v4()));
    assert_eq!(
        t.s().create_order(&t.owner, v4).await.unwrap_err().field(),
        Some("id")
    );
    // An id made on another day (by a wrong clock) is refused: a day's orders are found by
    // their ids' time.
    let mut stale = walk_in_full("Budi", "50000");
    stale.id = Some(pos_domain::OrderId::from(
        pos_domain::UuidV7s::new().at(t.clock.now() - chrono::Duration::days(3)),
    ));
    assert_eq!(
        t.s()
            .create_order(&t.owner, stale)
            .await
            .unwrap_err()
            .field(),
        Some("id")
    );
    assert_eq!(a.order_number, b.order_number);
    let page = t
        .s()
        .list_orders(&t.owner, Default::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(t.s().pending_mutations(100).await.unwrap().len(), 2);
}

#[tokio::test]
async fn same_payment_id_twice_is_one_payment() {
    let t = TestStore::new().await;
    let o = create(&t, &t.owner, phone_installment_order("Siti", "08121112222")).await;
    let mut p = pay("300000");
    p.id = Some(pos_domain::PaymentId::from(t.uuid_now()));
    t.s()
        .record_payment(&t.owner, o.id, p.clone())
        .await
        .unwrap();
    let again = t.s().record_payment(&t.owner, o.id, p).await.unwrap();
    assert_eq!(again.paid, m("400000"));
    assert_eq!(again.payments.len(), 2);
}

#[tokio::test]
async fn edits_bump_version_keep_total_above_paid_and_regenerate_schedule() {
    let t = TestStore::new().await;
    let cashier = t.add("Kasir Ani", Role::Cashier, "1111").await;
    let o = create(&t, &cashier, phone_installment_order("Siti", "08121112222")).await;
    let o = t
        .s()
        .record_payment(&cashier, o.id, pay("300000"))
        .await
        .unwrap();
    let edit = |items, version| {
        (
            OrderEdit {
                customer: customer(
                    "Siti Rahayu",
                    Some("0812 1111 3333"),
                    Some("siti@example.com"),
                ),
                items,
                discount: None,
                notes: Some("antar sore".into()),
            },
            version,
        )
    };
    // stale version
    let (e, _) = edit(vec![item("Kulkas", "1", "1000000")], 1);
    let before = t.snapshot().await;
    let err = t
        .s()
        .update_order(&cashier, o.id, 0, e.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::StaleVersion { current: 1 }));
    // below what was paid (400,000)
    let low = edit(vec![item("Kulkas", "1", "399999")], 1).0;
    let err = t
        .s()
        .update_order(&cashier, o.id, 1, low)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "total_below_paid");
    assert_eq!(t.snapshot().await, before);

    let o2 = t
        .s()
        .update_order(
            &cashier,
            o.id,
            1,
            edit(vec![item("Kulkas", "1", "1300000")], 1).0,
        )
        .await
        .unwrap();
    assert_eq!(o2.version, 2);
    assert_eq!(o2.total, m("1300000"));
    assert_eq!(o2.customer.email.as_deref(), Some("siti@example.com"));
    let amounts: Vec<_> = o2.schedule.iter().map(|l| l.amount).collect();
    // down payment and first installment were paid and stay; the rest spreads 900,000
    assert_eq!(
        amounts,
        [m("100000"), m("300000"), m("450000"), m("450000")]
    );
    let sum: pos_domain::Money = o2.schedule.iter().map(|l| l.amount).sum();
    assert_eq!(sum, o2.total);
    // paying the rest then editing the total up reopens the order
    let o3 = t
        .s()
        .record_payment(&cashier, o.id, pay("900000"))
        .await
        .unwrap();
    assert_eq!(o3.status, OrderStatus::Paid);
    let o4 = t
        .s()
        .update_order(
            &cashier,
            o.id,
            2,
            edit(vec![item("Kulkas", "1", "1400000")], 2).0,
        )
        .await
        .unwrap();
    assert_eq!(o4.status, OrderStatus::Pending);
    assert_eq!(o4.balance, m("100000"));
    assert_eq!(o4.last_modified_by.name, "Kasir Ani");
}

#[tokio::test]
async fn reversal_needs_approval_and_reopens_the_balance() {
    let t = TestStore::new().await;
    let cashier = t.add("Kasir Ani", Role::Cashier, "1111").await;
    let manager = t.add("Pak Manajer", Role::Manager, "2222").await;
    let o = create(&t, &cashier, walk_in_full("Budi", "50000")).await;
    let pid = o.payments[0].id;
    let err = t
        .s()
        .reverse_payment(&cashier, o.id, pid, "salah input", None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ApprovalRequired));
    let err = t
        .s()
        .reverse_payment(&cashier, o.id, pid, " ", None)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("reason"));
    let approval = pos_core::ApprovalInput {
        approver_id: manager.staff_id(),
        pin: pos_core::Pin::new("2222").unwrap(),
    };
    let oid = o.id;
    let o = t
        .s()
        .reverse_payment(&cashier, oid, pid, "salah input", Some(approval))
        .await
        .unwrap();
    assert_eq!(o.status, OrderStatus::Pending);
    assert_eq!(o.paid, m("0"));
    assert_eq!(o.payments.len(), 2);
    assert_eq!(o.payments[0].reversed_by, Some(o.payments[1].id));
    assert_eq!(o.payments[1].amount, "-50000".parse().unwrap());
    assert_eq!(
        o.payments[1].approved_by.as_ref().unwrap().name,
        "Pak Manajer"
    );
    let err = t
        .s()
        .reverse_payment(&manager, oid, pid, "lagi", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "already_reversed");
    // the ledger table itself refuses edits
    let pool =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&t.path))
            .await
            .unwrap();
    let e = sqlx::query("UPDATE payments SET amount_minor = 1")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = sqlx::query("DELETE FROM payments")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

#[tokio::test]
async fn completion_requires_paid() {
    let t = TestStore::new().await;
    let o = create(&t, &t.owner, phone_installment_order("Siti", "08121112222")).await;
    let err = t.s().complete_order(&t.owner, o.id).await.unwrap_err();
    assert_eq!(err.code(), "balance_outstanding");
}

#[tokio::test]
async fn usd_shop_uses_cents() {
    let t = TestStore::with_currency(pos_domain::Currency::USD).await;
    let mut o = walk_in_full("Jane", "10.99");
    o.items.push(item("Gift wrap", "3", "0.33"));
    o.initial_payment.as_mut().unwrap().amount = m("11.98");
    let o = t.s().create_order(&t.owner, o).await.unwrap();
    assert_eq!(o.total, m("11.98"));
    let mut bad = walk_in_full("Jane", "10.999");
    bad.channel = Channel::WalkIn;
    let e = t.s().create_order(&t.owner, bad).await.unwrap_err();
    assert_eq!(e.field(), Some("items[0].unit_price"));
    let _ = PaymentMethod::Card;
}

/// Recording an order sends its rows in one batch at commit, inside a savepoint that is the
/// transaction. A batch failing half-way (here the outbox insert, refused by a trigger put in
/// through another connection) is rolled back whole: nothing of it stays, the connection is not
/// left inside a transaction (the next order is committed — another connection sees it), and the
/// in-memory heads are untouched (the next order takes the number and audit sequence the failed
/// one would have had).
#[tokio::test]
async fn a_create_failing_inside_its_commit_batch_leaves_nothing() {
    let t = TestStore::new().await;
    let first = create(&t, &t.owner, phone_installment_order("Siti", "08121112222")).await;
    let raw =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&t.path))
            .await
            .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .execute(&raw)
    .await
    .unwrap();
    let before = t.snapshot().await;
    let err = t
        .s()
        .create_order(&t.owner, phone_installment_order("Budi", "08121113333"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("refused by the test"), "{err}");
    assert_eq!(t.snapshot().await, before);

    sqlx::query("DROP TRIGGER refuse_outbox")
        .execute(&raw)
        .await
        .unwrap();
    let second = create(&t, &t.owner, phone_installment_order("Budi", "08121113333")).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(
        n, 2,
        "the next order is committed, seen from another connection"
    );
    let number = |s: &str| s.rsplit('-').next().unwrap().parse::<u32>().unwrap();
    assert_eq!(
        number(&second.order_number),
        number(&first.order_number) + 1
    );
    let report = t.s().verify_audit_chain(&t.owner).await.unwrap();
    assert!(report.ok, "{report:?}");
    let mutations = |id: pos_domain::OrderId| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox WHERE order_id = ?")
            .bind(id.to_string())
            .fetch_one(&raw)
    };
    assert_eq!(
        mutations(second.id).await.unwrap(),
        mutations(first.id).await.unwrap()
    );
}
