#!/usr/bin/env bash
# The README's test command: installs what is missing on Debian 12, then runs every check and
# every test (formatting, lints, unit, property, store, crash-safety and API tests) against real
# components: real SQLite files, the real OS keyring in a private D-Bus session, and a real
# PostgreSQL server that this script starts and removes.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/pg.sh

ensure_packages "${RUST_TEST_PACKAGES[@]}"
ensure_rust

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
start_throwaway_pg
scripts/with-test-env.sh cargo test --workspace --locked
