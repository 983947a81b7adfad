# Throwaway PostgreSQL 15 for tests and development (sourced). `start_throwaway_pg` starts a
# server on a free loopback port in a temp dir, creates the service's roles, exports
# ORDER_SERVICE_TEST_PG (a superuser URL) and stops and removes everything when the shell exits.

PG_BIN=/usr/lib/postgresql/15/bin

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_throwaway_pg() {
  PG_DIR=$(mktemp -d)
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
  PG_PORT=$(free_port)
  as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log"
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 ${PG_EXTRA_OPTS:-}" start >/dev/null
  trap stop_throwaway_pg EXIT
  export ORDER_SERVICE_TEST_PG="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  psql -q -v ON_ERROR_STOP=1 "$ORDER_SERVICE_TEST_PG" <<'SQL'
CREATE ROLE order_service_owner LOGIN;
CREATE ROLE order_service_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
SQL
  echo "PostgreSQL running on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

stop_throwaway_pg() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
