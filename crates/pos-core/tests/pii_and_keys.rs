//! PII never sits in plaintext on disk, and the data key lives only in the OS keyring.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use pos_core::{KeyStore, KeyStoreError, Store, StoreError};
use pos_domain::{Channel, Role};

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn database_and_wal_bytes_hold_no_pii() {
    let t = TestStore::new().await;
    let cashier = t.add("Kasir Ani", Role::Cashier, "1111").await;
    let pii = [
        "Zulaikha Wiryawan",
        "081399887766",
        "zulaikha.w@contoh.co.id",
        "Jl. Melati Nomor 17, Bandung",
        "antar sebelum jam lima",
        "pelanggan minta dibatalkan",
    ];
    let mut o = phone_installment_order(pii[0], pii[1]);
    o.customer.email = Some(pii[2].into());
    o.customer.address = Some(pii[3].into());
    o.notes = Some(pii[4].into());
    o.channel = Channel::Phone;
    let created = create(&t, &cashier, o).await;
    t.s().get_order(&cashier, created.id).await.unwrap();
    t.s()
        .list_orders(
            &cashier,
            pos_core::ListQuery {
                q: Some(pii[1].into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    t.s()
        .list_orders(
            &cashier,
            pos_core::ListQuery {
                q: Some("Zulaikha".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let edited = t
        .s()
        .update_order(
            &cashier,
            created.id,
            1,
            pos_core::OrderEdit {
                customer: customer(pii[0], Some(pii[1]), Some(pii[2])),
                items: vec![item("Kulkas", "1", "2000000")],
                discount: None,
                notes: Some(pii[4].into()),
            },
        )
        .await
        .unwrap();
    refund_all(&t, edited.id).await;
    t.s()
        .delete_order(&t.owner, edited.id, pii[5], None)
        .await
        .unwrap();

    // While the store is open (recent pages sit in the WAL) and after a clean close.
    let dir = t.path.parent().unwrap().to_owned();
    let wal = t.path.with_extension("db-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the WAL should hold the writes"
    );
    scan(&dir, &pii, "open");
    let mut t = t;
    t.reopen().await;
    t.s()
        .list_orders(&t.owner, Default::default())
        .await
        .unwrap();
    scan(&dir, &pii, "reopened");
}

fn scan(dir: &std::path::Path, pii: &[&str], phase: &str) {
    let mut saw_staff_name = false;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        for secret in pii {
            assert!(
                !contains(&bytes, secret),
                "{phase}: {secret:?} found in {}",
                p.display()
            );
        }
        // the scan does find plaintext that is meant to be there (staff names are not PII)
        saw_staff_name |= contains(&bytes, "Kasir Ani");
    }
    assert!(saw_staff_name, "{phase}: the scan read nothing useful");
}

#[tokio::test]
async fn key_survives_reopen_and_a_missing_or_wrong_key_refuses_to_open() {
    let mut t = TestStore::new().await;
    let o = create(&t, &t.owner, phone_installment_order("Siti", "08121112222")).await;
    t.reopen().await;
    assert_eq!(
        t.s().get_order(&t.owner, o.id).await.unwrap().customer.name,
        "Siti"
    );
    let device = t.s().device_id().to_string();

    // the key is in the real keyring under this store's device id
    let kr = keyring(&t.service);
    assert!(kr.load(&device).unwrap().is_some());

    // a different key under the same id: refused, not silently used
    let original = kr.load(&device).unwrap().unwrap();
    t.store.take().unwrap().close().await;
    kr.save(&device, &pos_core::crypto::MasterKey::generate())
        .unwrap();
    let e = Store::open(&t.path, &kr, t.clock.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Key(KeyStoreError::Malformed)),
        "{e:?}"
    );

    // no key at all: refused with an explanation, and no new key is created
    kr.delete(&device).unwrap();
    let e = Store::open(&t.path, &kr, t.clock.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Key(KeyStoreError::Missing)),
        "{e:?}"
    );
    assert!(e.to_string().contains("missing"));
    assert!(kr.load(&device).unwrap().is_none());

    kr.save(&device, &original).unwrap();
    t.store = Some(Store::open(&t.path, &kr, t.clock.clone()).await.unwrap());
    // one process at a time: a second open of the same file is refused while the first holds it
    let e = Store::open(&t.path, &kr, t.clock.clone())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "store_in_use");
    assert_eq!(
        t.s().get_order(&t.owner, o.id).await.unwrap().customer.name,
        "Siti"
    );
}

#[tokio::test]
async fn keyring_round_trip_and_debug_never_prints_the_key() {
    let svc = format!("offline-order-pos-test-{}", uuid::Uuid::now_v7());
    let kr = keyring(&svc);
    assert!(kr.load("k1").unwrap().is_none());
    let k = pos_core::crypto::MasterKey::generate();
    kr.save("k1", &k).unwrap();
    let back = kr.load("k1").unwrap().unwrap();
    assert_eq!(back.to_base64().as_str(), k.to_base64().as_str());
    assert!(!format!("{back:?}").contains(k.to_base64().as_str()));
    kr.delete("k1").unwrap();
    assert!(kr.load("k1").unwrap().is_none());
    kr.delete("k1").unwrap();
}
