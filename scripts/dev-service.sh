#!/usr/bin/env bash
# Development: starts a throwaway PostgreSQL, migrates it, creates a demo tenant and serves the
# order-service on ORDER_SERVICE_LISTEN (default 127.0.0.1:8084). Everything is removed on exit.
# Demo login: tenant "demo", owner@demo.id / "demo owner password".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/pg.sh
ensure_packages "${RUST_TEST_PACKAGES[@]}"
ensure_rust
cargo build -p order-service
start_throwaway_pg
psql -q "$ORDER_SERVICE_TEST_PG" -c "CREATE DATABASE orders OWNER order_service_owner"
base="postgres://%s@127.0.0.1:$PG_PORT/orders"
export ORDER_SERVICE_ADMIN_DATABASE_URL=$(printf "$base" order_service_owner)
export ORDER_SERVICE_DATABASE_URL=$(printf "$base" order_service_app)
export ORDER_SERVICE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
export ORDER_SERVICE_DATA_KEY=$(head -c 32 /dev/urandom | base64 -w0)
./target/debug/order-service migrate
ORDER_SERVICE_OWNER_PASSWORD="demo owner password" ./target/debug/order-service admin create-tenant \
  --slug demo --name "Toko Demo" --owner-name "Demo Owner" --owner-email owner@demo.id
echo "Serving on ${ORDER_SERVICE_LISTEN:-127.0.0.1:8084} — try:"
echo "  curl -s -X POST localhost:8084/api/v1/auth/login -H 'content-type: application/json' \\"
echo "       -d '{\"tenant\":\"demo\",\"email\":\"owner@demo.id\",\"password\":\"demo owner password\"}'"
./target/debug/order-service serve
