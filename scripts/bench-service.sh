#!/usr/bin/env bash
# Order-service benchmarks against a throwaway PostgreSQL (fsync on), figures by hand into
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/pg.sh
ensure_packages "${RUST_TEST_PACKAGES[@]}"
ensure_rust
start_throwaway_pg
scripts/with-test-env.sh cargo bench -p order-service --bench sync_push
scripts/with-test-env.sh cargo bench -p order-service --bench eod_sync
