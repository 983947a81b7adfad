#!/usr/bin/env bash
# Schemathesis (PyPI) against the order-service's own OpenAPI document, with a valid owner
# token: no request may get a 5xx, and every error must be problem+json as the document says.
# Needs ORDER_SERVICE_TEST_PG (scripts/test.sh starts PostgreSQL) and a built
# target/debug/order-service. Installs Schemathesis into target/schemathesis-venv if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
: "${ORDER_SERVICE_TEST_PG:?start PostgreSQL first (scripts/test.sh does)}"
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q schemathesis==4.32.5
fi

db="schemathesis_$$"
psql -q "$ORDER_SERVICE_TEST_PG" -c "CREATE DATABASE $db OWNER order_service_owner"
host_port=${ORDER_SERVICE_TEST_PG#postgres://postgres@}; host_port=${host_port%%/*}
export ORDER_SERVICE_ADMIN_DATABASE_URL="postgres://order_service_owner@$host_port/$db"
export ORDER_SERVICE_DATABASE_URL="postgres://order_service_app@$host_port/$db"
export ORDER_SERVICE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
export ORDER_SERVICE_DATA_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export ORDER_SERVICE_LISTEN="127.0.0.1:$(free_port)"
export RUST_LOG=warn
svc=target/debug/order-service
$svc migrate >/dev/null
ORDER_SERVICE_OWNER_PASSWORD="schemathesis owner pw" $svc admin create-tenant \
  --slug fuzz --name "Toko Fuzz" --owner-name "Fuzz Owner" --owner-email owner@fuzz.id >/dev/null
log=$(mktemp)
$svc serve >"$log" 2>&1 &
svc_pid=$!
trap 'kill $svc_pid 2>/dev/null || true; wait $svc_pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do curl -sf "http://$ORDER_SERVICE_LISTEN/readyz" >/dev/null && break; sleep 0.1; done
token=$(curl -sf -X POST "http://$ORDER_SERVICE_LISTEN/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"tenant":"fuzz","email":"owner@fuzz.id","password":"schemathesis owner pw"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# Debian 12's Python 3.11.2 has a bug (CPython gh-106905, fixed in 3.11.5) that turns a deep
# recursion inside Hypothesis into "SystemError: AST constructor recursion depth mismatch" and
# a flaky run; a higher recursion limit keeps Schemathesis clear of it.
st() {
  "$venv/bin/python" -c 'import sys; sys.setrecursionlimit(20000)
from schemathesis.cli import schemathesis
sys.argv[0] = "st"
sys.exit(schemathesis())' "$@"
}
run_st() {
  st run "http://$ORDER_SERVICE_LISTEN/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,content_type_conformance,status_code_conformance \
    --phases examples,coverage,fuzzing --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" \
    --seed "${SCHEMATHESIS_SEED:-20261125}" --workers 2 --no-color --warnings off
}
out=$(mktemp)
set +e
run_st 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
# The CPython AST bug above still strikes now and then inside Hypothesis's own code (seen with
# pyenv's 3.11.7 too): a run whose only error is that crash of the tool, with every generated
# case passed, is run once more. A failed check is never retried.
if [ "$status" -ne 0 ] && grep -q 'AST constructor recursion depth mismatch' "$out" \
   && ! grep -qE '[0-9]+ failed' "$out"; then
  echo "Schemathesis crashed on the CPython AST bug (not a check failure): running it once more"
  run_st
  status=$?
fi
rm -f "$out"
set -e
if grep -q '"level":"ERROR"' "$log"; then
  echo "the service logged errors during the run:" >&2
  grep '"level":"ERROR"' "$log" | head -20 >&2
  status=1
fi
exit $status
