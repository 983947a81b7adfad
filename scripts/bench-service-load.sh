#!/usr/bin/env bash
# Create-order load on the order-service from a separate process (wrk, 100 connections), next to
# a bare PostgreSQL insert rate (pgbench, same clients, an order-shaped row) measured in the same
# run on the same throwaway server (fsync on). Release build of the service.
#
# Back to back twice: first on the brand-new cluster (its first seconds of load: every 16 MB WAL
# file is created and zero-filled as it is needed, under the WAL write lock), then — after a
# CHECKPOINT — as a server that has been running: its WAL files are recycled instead of created
# (min_wal_size=1GB keeps a burst's worth, as the README's deployment notes advise) and the
# kernel has written back what the first run dirtied. Then the same 100 connections at a
# counter's pace (THINK_MS, default 100 ms, between a response and the next request), for the
# latency below saturation.
# PG_TRANSPORT: socket (default: the service and pgbench reach PostgreSQL through its Unix
# socket, as on a single machine) or tcp (127.0.0.1).
# RELAY=1: the service also relays its outbox to a tansu broker on loopback (issue 21); each
# phase then prints the relay's lag (p50/p95/max, sampled every 100 ms from /metrics) and the
# events it relayed per second, next to the events written per second.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/pg.sh
ensure_packages "${RUST_TEST_PACKAGES[@]}" wrk curl postgresql-contrib
ensure_rust
cargo build --release --locked -p order-service
DURATION=${DURATION:-30s}
CLIENTS=${CLIENTS:-100}
PG_EXTRA_OPTS="-c shared_buffers=256MB -c min_wal_size=1GB" start_throwaway_pg
psql -q "$ORDER_SERVICE_TEST_PG" -c "CREATE DATABASE orders OWNER order_service_owner"
case "${PG_TRANSPORT:=socket}" in
  socket) pg_at="localhost/orders?host=$PG_DIR&port=$PG_PORT" ;;
  tcp) pg_at="127.0.0.1:$PG_PORT/orders" ;;
  *) echo "PG_TRANSPORT is socket or tcp" >&2; exit 2 ;;
esac
base="postgres://%s@$pg_at"
echo "PostgreSQL over: $PG_TRANSPORT"
export ORDER_SERVICE_ADMIN_DATABASE_URL=$(printf "$base" order_service_owner)
export ORDER_SERVICE_DATABASE_URL=$(printf "$base" order_service_app)
export ORDER_SERVICE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
export ORDER_SERVICE_DATA_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export ORDER_SERVICE_LISTEN="127.0.0.1:$(free_port)"
export RUST_LOG=warn
svc=./target/release/order-service
$svc migrate >/dev/null
ORDER_SERVICE_OWNER_PASSWORD="bench owner password" $svc admin create-tenant \
  --slug bench --name "Toko Bench" --owner-name "Bench Owner" --owner-email owner@bench.id >/dev/null
broker_pid=""
if [ "${RELAY:-0}" = 1 ]; then
  ensure_tansu
  broker_port=$(free_port)
  tansu broker --listener-url "tcp://127.0.0.1:$broker_port" --advertised-listener-url "tcp://127.0.0.1:$broker_port" \
    --storage-engine memory://tansu/ >/tmp/tansu-bench.log 2>&1 &
  broker_pid=$!
  export ORDER_SERVICE_KAFKA_BROKERS="127.0.0.1:$broker_port"
fi
$svc serve >/tmp/order-service-bench.log 2>&1 &
svc_pid=$!
trap 'kill $svc_pid $broker_pid 2>/dev/null || true; stop_throwaway_pg' EXIT
# events written (outbox + audit) so far
written() {
  psql -q "postgres://postgres@127.0.0.1:$PG_PORT/orders" -tAc \
    "SELECT (SELECT count(*) FROM outbox_events) + (SELECT count(*) FROM audit_events)"
}
# wrk with, under RELAY=1, the relay sampled meanwhile
load() {
  if [ "${RELAY:-0}" != 1 ]; then wrk "$@" | tail -1; return; fi
  local before after start end
  before=$(written); start=$(date +%s.%N)
  scripts/bench/relay-lag.py "http://$ORDER_SERVICE_LISTEN/metrics" >/tmp/relay-lag.out &
  local sampler=$!
  wrk "$@" | tail -1
  end=$(date +%s.%N); after=$(written)
  kill -TERM $sampler; wait $sampler || true
  echo "written: $(python3 -c "print(round(($after - $before) / ($end - $start)))") events/s (outbox + audit); $(cat /tmp/relay-lag.out)"
}
# A checkpoint: what was written is on disk, WAL files before it are recycled for what follows.
checkpoint() {
  psql -q "postgres://postgres@127.0.0.1:$PG_PORT/orders" -c CHECKPOINT
  psql -q "postgres://postgres@127.0.0.1:$PG_PORT/orders" -tAc \
    "SELECT '(checkpoint done; ' || count(*) || ' WAL files ready, ' || pg_size_pretty(sum(size)) || ')' FROM pg_ls_waldir()"
}
for _ in $(seq 1 100); do curl -sf "http://$ORDER_SERVICE_LISTEN/readyz" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf -X POST "http://$ORDER_SERVICE_LISTEN/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"tenant":"bench","email":"owner@bench.id","password":"bench owner password"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
export TOKEN
echo "== warm-up (5 s)"
wrk -t2 -c"$CLIENTS" -d5s -s scripts/bench/create-order.lua "http://$ORDER_SERVICE_LISTEN/api/v1/offline-orders" | tail -1
echo "== order-service on the new cluster: create order, $CLIENTS connections back to back, $DURATION"
load -t2 -c"$CLIENTS" -d"$DURATION" -s scripts/bench/create-order.lua "http://$ORDER_SERVICE_LISTEN/api/v1/offline-orders"
checkpoint
echo "== order-service, running server: create order, $CLIENTS connections back to back, $DURATION"
load -t2 -c"$CLIENTS" -d"$DURATION" -s scripts/bench/create-order.lua "http://$ORDER_SERVICE_LISTEN/api/v1/offline-orders"
echo "== order-service: create order, $CLIENTS connections each waiting ${THINK_MS:=100} ms between requests, $DURATION"
THINK_MS=$THINK_MS load -t2 -c"$CLIENTS" -d"$DURATION" -s scripts/bench/create-order.lua "http://$ORDER_SERVICE_LISTEN/api/v1/offline-orders"
psql -q "postgres://postgres@127.0.0.1:$PG_PORT/orders" -tAc "SELECT count(*) || ' orders in the database' FROM orders"
checkpoint
echo "== PostgreSQL alone: pgbench insert of an order-shaped row, $CLIENTS clients, $DURATION"
psql -q "postgres://postgres@127.0.0.1:$PG_PORT/orders" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TABLE bench_orders (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, order_number text NOT NULL,
  customer_name bytea, customer_phone bytea, items jsonb NOT NULL, schedule jsonb NOT NULL,
  total_minor bigint NOT NULL, created_at timestamptz NOT NULL);
SQL
"$PG_BIN/pgbench" -n -c "$CLIENTS" -j 2 -T "${DURATION%s}" -f scripts/bench/pg-insert.sql \
  "$(printf "$base" postgres)" 2>&1 | grep -E "latency average|tps|number of transactions actually"
