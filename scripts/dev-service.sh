#!/usr/bin/env bash
# Development: starts a throwaway PostgreSQL, migrates it, creates a demo tenant, builds the
# shop's office and serves it with the order-service on ORDER_SERVICE_LISTEN (default
# 127.0.0.1:8084): open the address it prints in a browser. Everything is removed on exit.
# Demo sign-in: shop "demo", owner@demo.id / "demo owner password".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/pg.sh
ensure_packages "${RUST_TEST_PACKAGES[@]}"
ensure_rust
cargo build -p order-service
(cd ui && ensure_npm_deps && npm run build:office >/dev/null)
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
listen=${ORDER_SERVICE_LISTEN:-127.0.0.1:8084}
echo
echo "The shop's office: http://$listen/"
echo "  sign in with shop: demo   e-mail: owner@demo.id   password: demo owner password"
echo "  Counters → Make a pairing code, then on the desktop app: Sync → Pair with"
echo "  server http://$listen and that code."
echo "The API: http://$listen/api/v1 (its document: http://$listen/api/v1/openapi.json)"
echo
./target/debug/order-service serve --office-dir ui/dist-office
