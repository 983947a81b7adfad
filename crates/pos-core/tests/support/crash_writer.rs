//! Test helper (not part of the app): opens the store and creates orders in a loop, printing
//! `ACK <order id>` after each create has returned, until it is killed.
//! Usage: pos-crash-writer DB_PATH KEYRING_SERVICE BACKEND(secret-service|keyutils) STAFF_ID PIN

use pos_core::{KeyringBackend, NewOrder, OsKeyring, PaymentInput, Pin, Store, SystemClock};
use pos_domain::{Channel, Customer, Interval, ItemInput, PaymentMethod, PaymentTerms};
use std::io::Write;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, service, backend, staff, pin] = args.as_slice() else {
        return Err("usage: pos-crash-writer DB SERVICE BACKEND STAFF_ID PIN".into());
    };
    let backend = KeyringBackend::named(backend).ok_or("no such keyring on this platform")?;
    let keys = OsKeyring::new(service.as_str(), backend);
    let store = Store::open(db.as_ref(), &keys, Arc::new(SystemClock)).await?;
    let session = store.login(staff.parse()?, Pin::new(pin)?).await?;
    let today = pos_core::Clock::now(&SystemClock).date_naive();
    let mut out = std::io::stdout().lock();
    let money = |v: i64| pos_domain::Currency::IDR.from_minor(v);
    for i in 0u64.. {
        let order = NewOrder {
            id: None,
            channel: Channel::Phone,
            customer: Customer {
                name: format!("Pelanggan {i}"),
                phone: Some(format!("0812{:08}", i % 100_000_000)),
                email: None,
                address: None,
            },
            items: (0..3)
                .map(|k| ItemInput {
                    name: format!("Barang {k}"),
                    sku: None,
                    quantity: rust_decimal::Decimal::from(k + 1),
                    unit_price: money(10_000),
                    discount: None,
                })
                .collect(),
            discount: None,
            notes: None,
            payment_terms: PaymentTerms::Installment {
                down_payment: Some(money(10_000)),
                installment_count: 3,
                interval: Interval::Monthly,
                first_due_date: today + chrono::Days::new(30),
            },
            initial_payment: Some(PaymentInput {
                id: None,
                amount: money(10_000),
                method: PaymentMethod::Cash,
                reference: None,
            }),
        };
        let created = store.create_order(&session, order).await?;
        writeln!(out, "ACK {}", created.id)?;
        out.flush()?;
    }
    Ok(())
}
