#!/usr/bin/env bash
# Order-service benchmarks against a throwaway PostgreSQL (fsync on), figures by hand into
# docs/benchmarks.md: sync push, end-of-day sync, and the office's orders at 100,000 orders
# (the API's pages and searches, then the orders screen in headless Chromium). Name benches
# to run only those, e.g. `scripts/bench-service.sh office_list`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/pg.sh
ensure_packages "${RUST_TEST_PACKAGES[@]}"
ensure_rust
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(sync_push eod_sync office_list)
if [[ " ${benches[*]} " == *" office_list "* ]]; then
  # the office's timing runs in Debian's Chromium through playwright-core
  ensure_packages "${OFFICE_E2E_PACKAGES[@]}"
  ensure_node
  (cd ui && ensure_npm_deps && npm run build:office >/dev/null)
  (cd tests/office && ensure_npm_deps)
  export BENCH_OFFICE_DIR="$PWD/ui/dist-office"
fi
start_throwaway_pg
for b in "${benches[@]}"; do
  scripts/with-test-env.sh cargo bench -p order-service --bench "$b"
done
