#!/usr/bin/env bash
# The README's test command: installs what is missing on Debian 12, then runs every check and
# every test against real components: the UI's typecheck, lint and component tests; Rust
# formatting, lints, unit, property, store, crash-safety and API tests (real SQLite files, the
# real OS keyring in a private D-Bus session, a real PostgreSQL server that this script starts
# and removes); the end-to-end suite on the real app binary under Xvfb; and the .deb, built,
# installed with dpkg, launched and removed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/pg.sh
export NO_COLOR=1 FORCE_COLOR=0

ensure_packages "${RUST_TEST_PACKAGES[@]}" "${APP_PACKAGES[@]}" "${E2E_PACKAGES[@]}" "${OFFICE_E2E_PACKAGES[@]}"
ensure_rust
ensure_tauri_driver
ensure_cargo_modules
ensure_tansu

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

echo "== ui: install, typecheck, lint, component tests, build"
(
  cd ui
  ensure_npm_deps
  npm run typecheck
  npm run lint
  npx vitest run 2>&1 | tee "$logs/vitest.log"
  npx vite build
  npm run build:office
  # the office's API types are what openapi-typescript makes of the committed document (a Rust
  # test keeps that document equal to the one the service generates)
  cd openapi
  ensure_npm_deps
  npx openapi-typescript ../src/office/api/openapi.json -o "$logs/schema.d.ts" >/dev/null
  diff -u ../src/office/api/schema.d.ts "$logs/schema.d.ts" \
    || { echo "ui/src/office/api/schema.d.ts is stale: run npm run generate in ui/openapi" >&2; exit 1; }
)

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== module cycles (cargo-modules)"
scripts/module-cycles.sh
echo "== each platform's own keyring (Windows, macOS, Linux dependency trees)"
scripts/check-platforms.sh
echo "== cargo test"
start_throwaway_pg
set +e
# --no-fail-fast: a failing test binary must not hide the binaries after it from the count.
scripts/with-test-env.sh cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$logs/cargo.log"
cargo_status=${PIPESTATUS[0]}
set -e

# No test may depend on the day it runs: the date-sensitive suites (the domain rules, the
# desktop store, the service and sync) run again with the wall clock moved by libfaketime to
# a month end, a year end in WIB, and 23:30 UTC (06:30 the next day in WIB). PostgreSQL keeps
# the real time, as a server elsewhere would; only the test processes' clock moves.
# The relay's tests are left out: their Kafka broker (tansu) and client (librdkafka) do not run
# under libfaketime (the broker exits), and the relay keeps no dates of its own (its lag is
# measured on the database's clock). The test binaries just built are run directly (cargo itself, and rustc, must not run under
# libfaketime: a compiler run there hangs).
echo "== cargo test at other dates (libfaketime)"
cargo test --workspace --locked --no-run --message-format=json 2>/dev/null \
  | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"] \
       and m["target"]["src_path"].split("/crates/")[-1].split("/")[0] in ("pos-domain", "pos-protocol", "pos-core", "order-service") \
       and not m["target"]["src_path"].endswith("/tests/relay.rs"):
        print(m["manifest_path"].rsplit("/", 1)[0] + "\t" + m["executable"])
' >"$logs/date-suites"
set +e
scripts/at-dates.sh "$logs/date-suites" \
  "2027-02-28 16:00:00" "2027-12-31 16:45:00" "2028-06-30 23:30:00" 2>&1 | tee -a "$logs/cargo.log"
fake_status=${PIPESTATUS[0]}
set -e

echo "== schemathesis (the service's OpenAPI document, fuzzed)"
cargo build -p order-service --locked
set +e
scripts/schemathesis.sh 2>&1 | tee "$logs/schemathesis.log"
st_status=${PIPESTATUS[0]}
set -e

echo "== end-to-end (the app under Xvfb)"
cargo build -p offline-order-pos --locked
set +e
scripts/e2e.sh 2>&1 | tee "$logs/e2e.log"
e2e_status=${PIPESTATUS[0]}
set -e

echo "== the installed package (.deb: dpkg -i, launch, second launch, backup and restore, dpkg -r)"
set +e
scripts/install-e2e.sh 2>&1 | tee "$logs/installed.log"
installed_status=${PIPESTATUS[0]}
set -e

echo "== the shop's office in a real browser (Chromium)"
cargo build -p pos-core --bin pos-paired-counter --locked
set +e
scripts/office-e2e.sh 2>&1 | tee "$logs/office.log"
office_status=${PIPESTATUS[0]}
set -e

# One closing line over every suite (cargo's own last line is often a doc-test run of 0).
passed=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$logs/cargo.log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '; [0-9]+ failed;' "$logs/cargo.log" | awk '{s += $2} END {print s + 0}')
ui_passed=$(grep -Eo 'Tests +[0-9]+ passed' "$logs/vitest.log" | awk '{s += $2} END {print s + 0}')
e2e_passed=$(cat "$logs/e2e.log" "$logs/installed.log" | grep -Eo '^ℹ pass [0-9]+' | awk '{s += $3} END {print s + 0}')
e2e_failed=$(cat "$logs/e2e.log" "$logs/installed.log" | grep -Eo '^ℹ fail [0-9]+' | awk '{s += $3} END {print s + 0}')
office_passed=$(grep -Eo '^ℹ pass [0-9]+' "$logs/office.log" | awk '{s += $3} END {print s + 0}')
office_failed=$(grep -Eo '^ℹ fail [0-9]+' "$logs/office.log" | awk '{s += $3} END {print s + 0}')
[ "$office_status" -eq 0 ] || [ "$office_failed" -gt 0 ] || office_failed=1
[ "$e2e_status" -eq 0 ] && [ "$installed_status" -eq 0 ] || [ "$e2e_failed" -gt 0 ] || e2e_failed=1
st_passed=0 st_failed=0
if [ "$st_status" -eq 0 ]; then st_passed=1; else st_failed=1; fi
echo "tests: $((passed + ui_passed + e2e_passed + office_passed + st_passed)) passed," \
  "$((failed + e2e_failed + office_failed + st_failed)) failed" \
  "(rust $passed, ui components $ui_passed, end-to-end $e2e_passed, office in Chromium $office_passed, schemathesis run $st_passed)"
[ "$cargo_status" -eq 0 ] && [ "$fake_status" -eq 0 ] && [ "$e2e_status" -eq 0 ] && [ "$st_status" -eq 0 ] \
  && [ "$installed_status" -eq 0 ] && [ "$office_status" -eq 0 ]
