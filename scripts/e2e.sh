#!/usr/bin/env bash
# End-to-end tests of the real app: the debug binary with the UI embedded, under Xvfb, in a
# private D-Bus session with an unlocked GNOME Keyring and a fresh HOME (a first run), driven by
# tests/e2e through tauri-driver and WebKitWebDriver. Two suites, each its own first run: a
# shop's day in English on a 1280×1024 screen (app.e2e.mjs), and the counter in Bahasa Indonesia
# on a 1024×768 screen (counter-id.e2e.mjs). Screenshots and figures go to
# $E2E_ARTIFACTS (default: artifacts/e2e). Expects the UI and the binary to be built
# (scripts/test.sh does both); installs tauri-driver and the e2e npm packages if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib.sh

if [ "${1:-}" != "--inside" ]; then
  ensure_packages "${APP_PACKAGES[@]}" "${E2E_PACKAGES[@]}"
  ensure_rust
  ensure_tauri_driver
  (cd tests/e2e && ensure_npm_deps)
  export POS_APP_BINARY="${POS_APP_BINARY:-$root/target/debug/offline-order-pos}"
  [ -x "$POS_APP_BINARY" ] || { echo "no app binary at $POS_APP_BINARY (run scripts/test.sh)" >&2; exit 1; }
  export E2E_ARTIFACTS="${E2E_ARTIFACTS:-$root/artifacts/e2e}"
  rm -rf "$E2E_ARTIFACTS"; mkdir -p "$E2E_ARTIFACTS"
  status=0
  # E2E_SUITES names a subset (e.g. E2E_SUITES=counter-id.e2e.mjs while working on one screen)
  for suite in ${E2E_SUITES:-app.e2e.mjs counter-id.e2e.mjs}; do
    case $suite in
      counter-id.e2e.mjs) screen=1024x768x24 ;;
      *) screen=1280x1024x24 ;;
    esac
    scripts/with-test-env.sh xvfb-run -a -s "-screen 0 $screen" "$0" --inside "$suite" || status=$?
  done
  exit "$status"
fi
suite=$2

# Inside Xvfb and the keyring session.
# The order-service for the sync steps: a throwaway PostgreSQL, migrated, with one shop. The
# test starts and stops the service process itself (to record orders while it is down).
. scripts/pg.sh
start_throwaway_pg >/dev/null
psql -q "$ORDER_SERVICE_TEST_PG" -c "CREATE DATABASE e2e OWNER order_service_owner"
pg_base=${ORDER_SERVICE_TEST_PG%/postgres}
export ORDER_SERVICE_BIN="${ORDER_SERVICE_BIN:-$root/target/debug/order-service}"
export ORDER_SERVICE_ADMIN_DATABASE_URL="${pg_base/postgres@/order_service_owner@}/e2e"
export ORDER_SERVICE_DATABASE_URL="${pg_base/postgres@/order_service_app@}/e2e"
export ORDER_SERVICE_JWT_SECRET="e2e-secret-e2e-secret-e2e-secret-0123456"
ORDER_SERVICE_DATA_KEY=$(head -c 32 /dev/urandom | base64)
export ORDER_SERVICE_DATA_KEY
export ORDER_SERVICE_OWNER_PASSWORD="e2e owner password"
"$ORDER_SERVICE_BIN" migrate >/dev/null
"$ORDER_SERVICE_BIN" admin create-tenant --slug toko-maju --name "Toko Maju Jaya" \
  --owner-name "Ibu Sari" --owner-email owner@tokomaju.id >/dev/null
driver_log="$E2E_ARTIFACTS/tauri-driver-${suite%%.*}.log"
tauri-driver --port 4444 --native-port 4445 --native-driver /usr/bin/WebKitWebDriver >"$driver_log" 2>&1 &
driver=$!
trap 'kill $driver 2>/dev/null || true; wait $driver 2>/dev/null || true; stop_throwaway_pg' EXIT
# Wait until the driver answers (bounded), rather than for a fixed time.
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:4444/status >/dev/null 2>&1 && break
  kill -0 $driver 2>/dev/null || { cat "$driver_log" >&2; exit 1; }
  sleep 0.1
done
curl -sf http://127.0.0.1:4444/status >/dev/null || { echo "tauri-driver did not start" >&2; cat "$driver_log" >&2; exit 1; }
cd tests/e2e
npm test -- "$suite"
