#!/usr/bin/env bash
# End-to-end test of the shop's office in a real browser: Debian's Chromium (headless, through
# playwright-core) against the real order-service serving the built office on real PostgreSQL,
# and a real desktop store (target/debug/pos-paired-counter) that pairs with a code the office
# made and syncs its orders. Screenshots go to $OFFICE_E2E_ARTIFACTS (default:
# artifacts/office). Expects the office (ui/dist-office), the service and the counter helper to
# be built (scripts/test.sh does all three).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib.sh

if [ "${1:-}" != "--inside" ]; then
  ensure_packages "${OFFICE_E2E_PACKAGES[@]}"
  (cd tests/office && ensure_npm_deps)
  for f in ui/dist-office/index.html target/debug/order-service target/debug/pos-paired-counter; do
    [ -e "$f" ] || { echo "$f is missing (run scripts/test.sh)" >&2; exit 1; }
  done
  export OFFICE_E2E_ARTIFACTS="${OFFICE_E2E_ARTIFACTS:-$root/artifacts/office}"
  rm -rf "$OFFICE_E2E_ARTIFACTS"; mkdir -p "$OFFICE_E2E_ARTIFACTS"
  # the counter keeps its data key in the OS keyring, as the app does
  exec scripts/with-test-env.sh "$0" --inside
fi

. scripts/pg.sh
start_throwaway_pg >/dev/null
psql -q "$ORDER_SERVICE_TEST_PG" -c "CREATE DATABASE office OWNER order_service_owner"
pg_base=${ORDER_SERVICE_TEST_PG%/postgres}
service_bin="$root/target/debug/order-service"
export ORDER_SERVICE_ADMIN_DATABASE_URL="${pg_base/postgres@/order_service_owner@}/office"
export ORDER_SERVICE_DATABASE_URL="${pg_base/postgres@/order_service_app@}/office"
export ORDER_SERVICE_JWT_SECRET="office-e2e-secret-office-e2e-secret-0123"
ORDER_SERVICE_DATA_KEY=$(head -c 32 /dev/urandom | base64)
export ORDER_SERVICE_DATA_KEY
export ORDER_SERVICE_OWNER_PASSWORD="office owner password"
"$service_bin" migrate >/dev/null
"$service_bin" admin create-tenant --slug toko-maju --name "Toko Maju Jaya" \
  --owner-name "Ibu Sari" --owner-email owner@tokomaju.id >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$OFFICE_E2E_ARTIFACTS/order-service.log"
"$service_bin" serve --listen "127.0.0.1:$port" --office-dir "$root/ui/dist-office" >"$log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null || true; wait $service 2>/dev/null || true; stop_throwaway_pg' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 $service 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
export OFFICE_URL="http://127.0.0.1:$port"
export OFFICE_TENANT=toko-maju OFFICE_OWNER_EMAIL=owner@tokomaju.id
export OFFICE_OWNER_PASSWORD="$ORDER_SERVICE_OWNER_PASSWORD"
export POS_PAIRED_COUNTER="$root/target/debug/pos-paired-counter"
export OFFICE_SERVICE_LOG="$log"
cd tests/office
npm test
