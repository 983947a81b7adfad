//! Test helper (not part of the app): a counter for the office's end-to-end suite. Sets up a
//! store with counter code CODE, pairs it with the service at URL using a pairing code the
//! office made, records ORDERS orders (alternately a paid walk-in sale and a phone order with
//! a down payment) and syncs; prints one JSON line: `{"device_code", "order_numbers", "pushed"}`.
//! Usage: pos-paired-counter URL PAIRING_CODE STORE_DIR CODE ORDERS

use pos_core::{
    KeyringBackend, NewOrder, OsKeyring, PaymentInput, Pin, RetryPolicy, SetupInput, Store,
    SyncClient, SystemClock,
};
use pos_domain::{Channel, Customer, Interval, ItemInput, PaymentMethod, PaymentTerms};
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, code, dir, device_code, orders] = args.as_slice() else {
        return Err("usage: pos-paired-counter URL PAIRING_CODE STORE_DIR CODE ORDERS".into());
    };
    let keys = OsKeyring::new(
        format!("offline-order-pos-office-e2e-{device_code}"),
        KeyringBackend::native(),
    );
    let store = Store::open(
        &std::path::Path::new(dir).join("pos.db"),
        &keys,
        Arc::new(SystemClock),
    )
    .await?;
    let owner = store
        .setup(
            SetupInput {
                shop_name: "Toko".into(),
                currency: pos_domain::Currency::IDR,
                owner_name: format!("Pemilik {device_code}"),
                device_code: Some(device_code.clone()),
                phone_country_code: None,
                utc_offset_minutes: Some(420),
            },
            Pin::new("135790")?,
        )
        .await?;
    let client = SyncClient::new(RetryPolicy::default())?;
    client.pair(&store, &keys, &owner, url, code, "").await?;
    let money = |v: i64| pos_domain::Currency::IDR.from_minor(v);
    let today = store
        .config()
        .map(|c| {
            pos_core::Clock::now(&SystemClock)
                + chrono::Duration::minutes(i64::from(c.utc_offset_minutes))
        })
        .unwrap_or_else(|| pos_core::Clock::now(&SystemClock))
        .date_naive();
    let mut numbers = Vec::new();
    for i in 0..orders.parse::<u32>()? {
        let phone = i % 2 == 1;
        let item = ItemInput {
            name: format!("Barang {i}"),
            sku: None,
            quantity: 1.into(),
            unit_price: money(if phone { 1_200_000 } else { 75_000 }),
            discount: None,
        };
        let (terms, first) = if phone {
            (
                PaymentTerms::Installment {
                    down_payment: Some(money(200_000)),
                    installment_count: 2,
                    interval: Interval::Monthly,
                    first_due_date: today + chrono::Days::new(30),
                },
                200_000,
            )
        } else {
            (PaymentTerms::Full, 75_000)
        };
        let order = store
            .create_order(
                &owner,
                NewOrder {
                    id: None,
                    channel: if phone {
                        Channel::Phone
                    } else {
                        Channel::WalkIn
                    },
                    customer: Customer {
                        name: format!("Pelanggan {device_code} {i}"),
                        phone: phone.then(|| format!("0812{:08}", 10_000 + i)),
                        email: None,
                        address: None,
                    },
                    items: vec![item],
                    discount: None,
                    notes: None,
                    payment_terms: terms,
                    initial_payment: Some(PaymentInput {
                        id: None,
                        amount: money(first),
                        method: PaymentMethod::Cash,
                        reference: None,
                    }),
                },
            )
            .await?;
        numbers.push(order.order_number);
    }
    let report = client.sync(&store, &keys, &|_| {}).await?;
    println!(
        "{}",
        serde_json::json!({
            "device_code": device_code,
            "order_numbers": numbers,
            "pushed": report.pushed.count,
            "complete": report.complete,
        })
    );
    Ok(())
}
