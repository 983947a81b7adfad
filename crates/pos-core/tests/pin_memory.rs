//! PIN work keeps a bounded footprint: argon2id needs 19 MiB of working memory per hash, and
//! allocating it afresh each time made glibc keep every freed block (the app grew by 19 MiB per
//! login, to about 200 MiB). The working memory is now allocated once and reused. This test is
//! alone in its binary so no other test's allocations move the figure.
#![allow(clippy::unwrap_used)]
#![cfg(target_os = "linux")]
mod common;

use common::*;
use pos_core::Pin;

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn repeated_logins_do_not_grow_the_process() {
    let t = TestStore::new().await;
    let owner = t.owner.staff_id();
    // The first logins allocate the working memory (and the store's caches).
    for _ in 0..2 {
        t.s()
            .login(owner, Pin::new(t.owner_pin).unwrap())
            .await
            .unwrap();
    }
    let before = resident_kib();
    for _ in 0..12 {
        t.s()
            .login(owner, Pin::new(t.owner_pin).unwrap())
            .await
            .unwrap();
    }
    let wrong = t.s().login(owner, Pin::new("0000").unwrap()).await;
    assert!(wrong.is_err());
    let grown = resident_kib().saturating_sub(before);
    // 13 more hashes: 247 MiB had each allocated afresh; reused, only noise remains.
    assert!(
        grown < 8 * 1024,
        "the process grew by {grown} KiB over 13 logins"
    );
}
