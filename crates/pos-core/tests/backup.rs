//! Backups and restore (issue 20): a counter's data survives the loss of its disk and of its
//! OS keyring, given a backup and the recovery passphrase. Real SQLite files, the real OS
//! keyring (a new service name stands for a new machine's empty keyring).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use pos_core::backup::{BackupAttention, BackupConfig, BackupReason};
use pos_core::{KeyStore, Pin, Store};
use pos_domain::Role;
use sqlx::Connection;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn client() -> pos_core::SyncClient {
    pos_core::SyncClient::new(pos_core::RetryPolicy::default()).unwrap()
}

const PASSPHRASE: &str = "kunci cadangan Toko Maju 2026";

/// A shop with orders, payments and a deletion, a recovery passphrase and a backup folder.
async fn shop_with_history() -> (TestStore, tempfile::TempDir) {
    let t = TestStore::new().await;
    let cashier = t.add("Kasir Satu", Role::Cashier, "2468").await;
    let a = create(
        &t,
        &cashier,
        phone_installment_order("Siti Rahayu", "081234567890"),
    )
    .await;
    t.s()
        .record_payment(&cashier, a.id, pay("300000"))
        .await
        .unwrap();
    create(&t, &cashier, walk_in_full("Budi Santoso", "150000")).await;
    let gone = create(&t, &cashier, walk_in_full("Dobel Input", "50000")).await;
    refund_all(&t, gone.id).await;
    t.s()
        .delete_order(&t.owner, gone.id, "dobel input", None)
        .await
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let keys = keyring(&t.service);
    t.s()
        .set_recovery_passphrase(&t.owner, PASSPHRASE, &keys)
        .await
        .unwrap();
    t.s()
        .save_backup_config(
            &t.owner,
            BackupConfig {
                folder: Some(folder.path().to_str().unwrap().to_owned()),
                keep: 3,
            },
        )
        .await
        .unwrap();
    (t, folder)
}

fn backups_in(folder: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// A new machine: an empty data folder and an OS keyring that never held this shop's key.
struct NewMachine {
    dir: tempfile::TempDir,
    service: String,
    clock: std::sync::Arc<TestClock>,
}

impl NewMachine {
    fn new(clock: std::sync::Arc<TestClock>) -> NewMachine {
        NewMachine {
            dir: tempfile::tempdir().unwrap(),
            service: format!("offline-order-pos-test-{}", uuid::Uuid::now_v7()),
            clock,
        }
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join("pos.db")
    }
    async fn open(&self) -> Store {
        Store::open(&self.path(), &keyring(&self.service), self.clock.clone())
            .await
            .unwrap()
    }
}

async fn forget_key(service: &str, store: &Store) {
    let _ = keyring(service).delete(&store.device_id().to_string());
}

#[tokio::test]
async fn a_backup_restores_on_a_new_machine_with_the_passphrase() {
    let (t, folder) = shop_with_history().await;
    let keys = keyring(&t.service);
    let orders_before = t
        .s()
        .list_orders(&t.owner, Default::default())
        .await
        .unwrap();
    let before = t.snapshot().await;
    let record = t
        .s()
        .backup(Some(&t.owner), &keys, BackupReason::OnDemand)
        .await
        .unwrap();
    assert_eq!(record.orders, 3);
    let files = backups_in(folder.path());
    assert_eq!(files.len(), 1, "one file, no partial left: {files:?}");
    assert!(files[0].ends_with(&record.file_name));
    // nothing personal readable in the file
    let bytes = std::fs::read(&files[0]).unwrap();
    for secret in [
        "Siti Rahayu",
        "081234567890",
        "6281234567890",
        "Budi Santoso",
        "Beras",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the backup"
        );
    }
    // ...and nothing plain beside the store
    assert!(!t.path.with_extension("db.backup-tmp").exists());

    // The disk and the keyring are gone: a new install restores it.
    let machine = NewMachine::new(t.clock.clone());
    let fresh = machine.open().await;
    let fresh_id = fresh.device_id();
    let header = fresh
        .stage_restore(&files[0], PASSPHRASE, &keyring(&machine.service), &client())
        .await
        .unwrap();
    assert_eq!(header.device_id, t.s().device_id());
    assert_eq!(header.shop_name, "Toko Maju");
    assert_eq!(header.orders, 3);
    // the new install's own (empty) store cannot be set up meanwhile
    assert_eq!(
        fresh
            .setup(
                pos_core::SetupInput {
                    shop_name: "Lain".into(),
                    currency: pos_domain::Currency::IDR,
                    owner_name: "X".into(),
                    device_code: None,
                    phone_country_code: None,
                    utc_offset_minutes: Some(420),
                },
                Pin::new("1111").unwrap(),
            )
            .await
            .unwrap_err()
            .code(),
        "restore_staged"
    );
    fresh.close().await;
    let _ = keyring(&machine.service).delete(&fresh_id.to_string());
    let restored = machine.open().await;
    assert_eq!(restored.device_id(), t.s().device_id(), "the same device");
    assert_eq!(restored.config(), t.s().config());

    // The same rows (orders, payments, deletion, staff, outbox, audit), plus the restore's
    // own audit event.
    let after = dump(&machine.path()).await;
    let extra: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    let missing: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
    assert!(missing.is_empty(), "rows lost: {missing:#?}");
    assert_eq!(extra.len(), 1, "{extra:#?}");
    assert!(extra[0].starts_with("audit_events:") && extra[0].contains("backup.restored"));

    let owner = restored
        .login(t.owner.staff_id(), Pin::new(OWNER_PIN).unwrap())
        .await
        .unwrap();
    let report = restored.verify_audit_chain(&owner).await.unwrap();
    assert!(report.ok, "{report:?}");
    let orders_after = restored
        .list_orders(&owner, Default::default())
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&orders_after.items).unwrap(),
        serde_json::to_value(&orders_before.items).unwrap()
    );
    let siti = &orders_after
        .items
        .iter()
        .find(|o| o.customer_name == "Siti Rahayu")
        .unwrap();
    let detail = restored.get_order(&owner, siti.id).await.unwrap();
    assert_eq!(detail.customer.phone.as_deref(), Some("081234567890"));
    forget_key(&machine.service, &restored).await;
    restored.close().await;
}

#[tokio::test]
async fn a_wrong_passphrase_or_a_damaged_file_is_refused_and_changes_nothing() {
    let (t, folder) = shop_with_history().await;
    let keys = keyring(&t.service);
    t.s()
        .backup(Some(&t.owner), &keys, BackupReason::OnDemand)
        .await
        .unwrap();
    let file = backups_in(folder.path()).remove(0);
    let good = std::fs::read(&file).unwrap();

    let machine = NewMachine::new(t.clock.clone());
    let fresh = machine.open().await;
    let before = dump(&machine.path()).await;
    let theirs = keyring(&machine.service);
    let unchanged = |what: &str| {
        assert!(
            !machine.path().with_extension("db.restore").exists(),
            "{what}: staged"
        );
        assert!(
            theirs
                .load(&t.s().device_id().to_string())
                .unwrap()
                .is_none(),
            "{what}: key saved"
        );
    };

    let err = fresh
        .stage_restore(&file, "kunci cadangan Toko Maju 2025", &theirs, &client())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "wrong_passphrase");
    assert_eq!(err.field(), Some("passphrase"));
    unchanged("wrong passphrase");

    // One byte flipped anywhere: the magic, the header, the wrapped key, the body, the hash.
    let damaged = folder.path().join("damaged.oopbak");
    let n = good.len();
    for at in [0, 9, 20, 60, 200, n / 3, n / 2, n - 40, n - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        std::fs::write(&damaged, &bad).unwrap();
        let err = fresh
            .stage_restore(&damaged, PASSPHRASE, &theirs, &client())
            .await
            .unwrap_err();
        assert!(
            ["backup_damaged", "not_a_backup"].contains(&err.code()),
            "byte {at}: {err:?}"
        );
        unchanged(&format!("byte {at}"));
    }
    // Cut short, or not a backup at all.
    std::fs::write(&damaged, &good[..n - 100]).unwrap();
    assert_eq!(
        fresh
            .stage_restore(&damaged, PASSPHRASE, &theirs, &client())
            .await
            .unwrap_err()
            .code(),
        "backup_damaged"
    );
    std::fs::write(&damaged, b"SQLite format 3\0 not ours").unwrap();
    assert_eq!(
        fresh
            .stage_restore(&damaged, PASSPHRASE, &theirs, &client())
            .await
            .unwrap_err()
            .code(),
        "not_a_backup"
    );
    unchanged("short");
    assert_eq!(dump(&machine.path()).await, before);

    // A set-up counter is never overwritten by a restore.
    assert_eq!(
        t.s()
            .stage_restore(&file, PASSPHRASE, &keys, &client())
            .await
            .unwrap_err()
            .code(),
        "already_set_up"
    );
    forget_key(&machine.service, &fresh).await;
    fresh.close().await;
}

#[tokio::test]
async fn backups_rotate_fail_visibly_and_are_audited() {
    let (t, folder) = shop_with_history().await;
    let keys = keyring(&t.service);
    let cashier = t.add("Kasir Dua", Role::Cashier, "3579").await;
    assert_eq!(
        t.s()
            .backup(Some(&cashier), &keys, BackupReason::OnDemand)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        t.s()
            .set_recovery_passphrase(&cashier, PASSPHRASE, &keys)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        t.s()
            .set_recovery_passphrase(&t.owner, "too short", &keys)
            .await
            .unwrap_err()
            .code(),
        "too_short"
    );
    let status = t.s().backup_status().await.unwrap();
    assert!(status.passphrase_set);
    assert_eq!(status.attention, Some(BackupAttention::Missing));

    // The daily backup: once per business day.
    assert!(t.s().backup_if_due(&keys).await.unwrap().is_some());
    assert!(t.s().backup_if_due(&keys).await.unwrap().is_none());
    assert_eq!(t.s().backup_status().await.unwrap().attention, None);
    for _ in 0..4 {
        t.clock.advance(chrono::Duration::days(1));
        assert!(t.s().backup_if_due(&keys).await.unwrap().is_some());
    }
    // keep = 3: the newest three of this counter's backups; other files are left alone, and so
    // is one dated in the future (a clock that ran ahead, a file put there), which must not
    // push a real one out; a backup cut off half-written is cleared away
    std::fs::write(folder.path().join("notes.txt"), b"mine").unwrap();
    let one = backups_in(folder.path())
        .iter()
        .filter_map(|f| f.file_name()?.to_str().map(str::to_owned))
        .find(|n| n.starts_with("pos-backup-"))
        .unwrap();
    let ext = Path::new(&one).extension().unwrap().len();
    // {prefix}{YYYYMMDD-HHMMSSmmmZ}-{6 hex}.{extension}
    let prefix = &one[..one.len() - (19 + 1 + 6 + 1 + ext)];
    let future = format!(
        "{prefix}20991231-235959999Z-ffffff.{}",
        &one[one.len() - ext..]
    );
    std::fs::write(folder.path().join(&future), b"not a backup").unwrap();
    let cut_off = format!(".{one}.partial");
    std::fs::write(folder.path().join(&cut_off), b"half").unwrap();
    t.clock.advance(chrono::Duration::hours(1));
    let last = t
        .s()
        .backup(Some(&t.owner), &keys, BackupReason::EndOfDay)
        .await
        .unwrap();
    let files = backups_in(folder.path());
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("notes.txt")));
    assert!(files.iter().any(|f| f.ends_with(&future)));
    assert!(!files.iter().any(|f| f.ends_with(&cut_off)), "{files:?}");
    assert!(files.iter().any(|f| f.ends_with(&last.file_name)));
    std::fs::remove_file(folder.path().join(&future)).unwrap();

    // The USB stick is pulled: the backup fails, the top bar says so, the audit trail too.
    let gone = folder.path().to_owned();
    std::fs::remove_dir_all(&gone).unwrap();
    t.clock.advance(chrono::Duration::days(1));
    let err = t.s().backup_if_due(&keys).await.unwrap_err();
    assert_eq!(err.code(), "folder_unavailable");
    let status = t.s().backup_status().await.unwrap();
    assert_eq!(status.attention, Some(BackupAttention::Failed));
    assert_eq!(status.last_failure.unwrap().code, "folder_unavailable");
    assert_eq!(status.last_success.unwrap(), last);
    let events = t
        .s()
        .list_audit_events(
            &t.owner,
            pos_core::AuditFilter {
                entity_type: Some("backup".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ops: Vec<&str> = events.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(ops.iter().filter(|o| **o == "backup.created").count(), 6);
    assert_eq!(ops.iter().filter(|o| **o == "backup.failed").count(), 1);
    assert!(events.iter().any(|e| e
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("reason=end_of_day"))));

    // Back: the next one clears the warning.
    std::fs::create_dir_all(&gone).unwrap();
    t.s()
        .backup(Some(&t.owner), &keys, BackupReason::OnDemand)
        .await
        .unwrap();
    let status = t.s().backup_status().await.unwrap();
    assert_eq!(status.attention, None);
    assert!(status.last_failure.is_none());

    // What a backup or a restore cut off by a crash left beside the store (a snapshot in the
    // clear, a half-staged restore) is cleared at the next open.
    let mut t = t;
    let beside = |suffix: &str| {
        let mut p = t.path.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    };
    let leftovers = [
        beside(".backup-tmp-0123456789abcdef"),
        beside(".backup-tmp-0123456789abcdef-journal"),
        beside(".restore-partial"),
        beside(".restore-partial-wal"),
    ];
    for l in &leftovers {
        std::fs::write(l, b"left over").unwrap();
    }
    t.reopen().await;
    for l in &leftovers {
        assert!(!l.exists(), "{l:?} is still there");
    }
    assert!(t.path.exists());

    // A counter without a passphrase has nothing to back up to, and says so.
    let other = TestStore::new().await;
    assert_eq!(
        other.s().backup_status().await.unwrap().attention,
        Some(BackupAttention::NotSetUp)
    );
    assert!(other
        .s()
        .backup_if_due(&keyring(&other.service))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        other
            .s()
            .backup(
                Some(&other.owner),
                &keyring(&other.service),
                BackupReason::OnDemand
            )
            .await
            .unwrap_err()
            .code(),
        "no_recovery_passphrase"
    );
}

#[tokio::test]
async fn a_counter_whose_keyring_lost_its_key_is_unlocked_with_the_recovery_passphrase() {
    let (mut t, _folder) = shop_with_history().await;
    let keys = keyring(&t.service);
    let device = t.s().device_id().to_string();
    let before = t
        .s()
        .list_orders(&t.owner, Default::default())
        .await
        .unwrap();
    t.store.take().unwrap().close().await;
    // the keyring loses the key: the store refuses to open, and says why
    keys.delete(&device).unwrap();
    let err = Store::open(&t.path, &keys, t.clock.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "key_error", "{err}");
    // a wrong passphrase changes nothing
    let snapshot = t.snapshot().await;
    let err = pos_core::backup::unlock_with_passphrase(&t.path, "not the passphrase!", &keys)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "wrong_passphrase");
    assert!(keys.load(&device).unwrap().is_none());
    assert_eq!(t.snapshot().await, snapshot);
    // the right one puts the key back; the store opens with its orders, and says so in its trail
    pos_core::backup::unlock_with_passphrase(&t.path, PASSPHRASE, &keys)
        .await
        .unwrap();
    t.reopen().await;
    let owner = t
        .s()
        .login(t.owner.staff_id(), Pin::new(OWNER_PIN).unwrap())
        .await
        .unwrap();
    let after = t.s().list_orders(&owner, Default::default()).await.unwrap();
    assert_eq!(
        serde_json::to_value(&after.items).unwrap(),
        serde_json::to_value(&before.items).unwrap()
    );
    let events = t
        .s()
        .list_audit_events(
            &owner,
            pos_core::AuditFilter {
                entity_type: Some("device".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.operation == "recovery.key_unlocked"));
    assert!(t.s().verify_audit_chain(&owner).await.unwrap().ok);
}

#[tokio::test]
async fn backups_taken_together_do_not_share_a_snapshot_and_the_end_of_day_one_is_once_a_day() {
    let (t, folder) = shop_with_history().await;
    let keys = keyring(&t.service);
    let s = t.s();
    let (a, b, c, daily) = tokio::join!(
        s.backup(Some(&t.owner), &keys, BackupReason::OnDemand),
        s.backup(Some(&t.owner), &keys, BackupReason::OnDemand),
        s.backup_at_end_of_day(&keys),
        s.backup_if_due(&keys),
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap().unwrap());
    let names: HashSet<_> = [&a.file_name, &b.file_name, &c.file_name]
        .into_iter()
        .collect();
    assert_eq!(names.len(), 3, "three backups, three files");
    // the daily one was due when it was asked for, but not once it could run: the day had its
    // backup by then (checked again under the backup lock, so one slot never gets two)
    assert!(daily.unwrap().is_none());
    for f in backups_in(folder.path()) {
        let n = f.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(!n.contains("partial"), "{n}");
    }
    // nothing left beside the store
    let beside: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("backup-tmp"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    // the end-of-day sync may be run again and again: one backup that day
    assert!(s.backup_at_end_of_day(&keys).await.unwrap().is_none());
    t.clock.advance(chrono::Duration::days(1));
    assert!(s.backup_at_end_of_day(&keys).await.unwrap().is_some());
}

#[tokio::test]
async fn a_staged_restore_never_replaces_a_store_that_holds_a_shop() {
    let mut t = TestStore::new().await;
    let other = TestStore::new().await;
    let mine = t.s().device_id();
    let before = t.snapshot().await;
    // another store's file staged beside this one (as a restore racing a setup would leave it)
    let staged = {
        let mut p = t.path.as_os_str().to_owned();
        p.push(".restore");
        PathBuf::from(p)
    };
    sqlx::query("VACUUM INTO ?")
        .bind(staged.to_str().unwrap())
        .execute(
            &mut sqlx::SqliteConnection::connect(&format!("sqlite://{}", other.path.display()))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    t.reopen().await;
    assert_eq!(t.s().device_id(), mine, "the shop's own store opened");
    assert!(!staged.exists());
    let mut aside = t.path.as_os_str().to_owned();
    aside.push(".restore-not-applied");
    assert!(
        PathBuf::from(aside).exists(),
        "the restore is set aside, not lost"
    );
    assert_eq!(t.snapshot().await, before);
}
