//! Fail closed: with no OS keyring to reach, a store is neither created nor opened, and the
//! error says so. There is no fallback to an in-memory or file store. Its own test binary: it
//! changes the process's environment.
#![allow(clippy::unwrap_used)]
#![cfg(target_os = "linux")]

mod common;

use common::TestClock;
use pos_core::{KeyringBackend, OsKeyring, Store};

#[tokio::test]
async fn without_a_keyring_no_store_is_created_or_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pos.db");
    let keys = OsKeyring::new(
        format!("offline-order-pos-test-absent-{}", std::process::id()),
        KeyringBackend::SecretService,
    );
    // the Secret Service is reached through the session bus: point it at nothing (the D-Bus
    // library keeps the address it first read, so this process does not get it back)
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", dir.path().join("no-bus").display()),
    );
    for _ in 0..2 {
        let err = Store::open(&path, &keys, TestClock::at("2027-03-01T03:00:00Z"))
            .await
            .expect_err("a store opened without a keyring");
        assert!(
            err.to_string().contains("OS keyring is not available"),
            "{err}"
        );
    }
    // nothing was half made: no device, so no data key was chosen for this file
    if path.exists() {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true);
        let mut db = sqlx::ConnectOptions::connect(&opts).await.unwrap();
        let devices: i64 = sqlx::query_scalar("SELECT count(*) FROM device")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(devices, 0);
    }
}
