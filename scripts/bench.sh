#!/usr/bin/env bash
# Runs the desktop store benchmarks (figures go to docs/benchmarks.md by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/with-test-env.sh cargo bench -p pos-core --bench store "$@"
