#!/usr/bin/env bash
# No module cycles in any crate: cargo-modules draws each library's module graph ("uses" edges
# from `use` declarations and from the items a type's methods use), and module-cycles.py finds
# cycles among sibling modules in it. Exits non-zero when a crate has one.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for p in pos-domain pos-protocol pos-crypto pos-core order-service offline-order-pos; do
  cargo modules dependencies --package "$p" --lib --no-externs --no-sysroot --no-traits \
    --no-types --no-fns 2>/dev/null | scripts/module-cycles.py "$p" || status=1
done
exit $status
