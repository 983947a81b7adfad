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
log=$(mktemp)
set +e
scripts/with-test-env.sh cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '; [0-9]+ failed;' "$log" | awk '{s += $2} END {print s + 0}')
rm -f "$log"
# One closing line over every test binary (cargo's own last line is often a doc-test run of 0).
echo "tests: $passed passed, $failed failed"
exit "$status"
