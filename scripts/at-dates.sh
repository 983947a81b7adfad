#!/usr/bin/env bash
# Runs test binaries again with the wall clock moved by libfaketime, one private D-Bus and
# keyring session per date (see with-test-env.sh); PostgreSQL keeps the real time, as a server
# elsewhere would.
# Usage: at-dates.sh LIST DATE... — LIST has one "package-dir<TAB>test-binary" a line.
# Exits non-zero if any binary fails at any date.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list=$1
shift
status=0
for fake in "$@"; do
  echo "-- wall clock at $fake UTC ($(wc -l <"$list") test binaries)"
  LD_PRELOAD="$FAKETIME_LIB" FAKETIME="@$fake" FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_RESET=1 \
    "$here/with-test-env.sh" bash -c '
      status=0
      while IFS=$'"'"'\t'"'"' read -r dir bin; do
        (cd "$dir" && CARGO_MANIFEST_DIR="$dir" "$bin" </dev/null) || { echo "FAILED at $FAKETIME: $bin"; status=1; }
      done <"$1"
      exit $status' bash "$list" || status=1
done
exit "$status"
