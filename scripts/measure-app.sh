#!/usr/bin/env bash
# Cold start and memory of the release app: builds it, runs the end-to-end suite against it and
# prints the figures the suite records (cold start to the usable login screen, measured from the
# WebDriver session request, so it includes starting WebKitWebDriver; and the app's process tree
# resident memory — RSS and PSS — after the whole flow).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_packages "${APP_PACKAGES[@]}" "${E2E_PACKAGES[@]}"
ensure_rust
(cd ui && ensure_npm_deps && npx vite build)
cargo build --release --locked -p offline-order-pos
export POS_APP_BINARY="$(pwd)/target/release/offline-order-pos"
export E2E_ARTIFACTS="$(pwd)/artifacts/measure"
scripts/e2e.sh
cat "$E2E_ARTIFACTS/figures.json"
