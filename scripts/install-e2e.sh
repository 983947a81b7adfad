#!/usr/bin/env bash
# The installed package, end to end: builds the .deb (scripts/package.sh, the debug build),
# installs it with dpkg -i, runs tests/e2e/installed.e2e.mjs against /usr/bin/offline-order-pos
# under Xvfb in a fresh HOME and keyring session, and removes the package again (also on
# failure). Needs root or sudo for dpkg.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
deb=$(scripts/package.sh | tail -1)
if dpkg-query -W -f='${Status}' offline-order-pos 2>/dev/null | grep -q "install ok installed"; then
  echo "offline-order-pos is already installed on this machine; not touching it" >&2
  exit 1
fi
$sudo dpkg -i "$deb"
trap '$sudo dpkg -r offline-order-pos >/dev/null' EXIT
[ -x /usr/bin/offline-order-pos ] || { echo "the package did not install /usr/bin/offline-order-pos" >&2; exit 1; }
grep -q "^Exec=offline-order-pos" "/usr/share/applications/Offline Order POS.desktop"
export POS_APP_BINARY=/usr/bin/offline-order-pos
export E2E_ARTIFACTS="${E2E_ARTIFACTS:-$(pwd)/artifacts/installed}"
E2E_SUITES=installed.e2e.mjs scripts/e2e.sh
