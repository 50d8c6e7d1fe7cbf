#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on 127.0.0.1:55432 for the store tests and prints the
# variables that point them at it (eval "$(scripts/start-test-postgres.sh)"). Installs the
# Debian packages when missing. Runs as root (CI) or as a user who can use `runuser`.
set -euo pipefail
PORT=${OHWB_TEST_PG_PORT:-55432}
DATA=${OHWB_TEST_PG_DATA:-/tmp/ohwb-test-pg}
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ -f "$DATA/postmaster.pid" ]; then
  as_pg "$BIN/pg_ctl" -D "$DATA" stop -m fast >&2 || true
fi
rm -rf "$DATA"
mkdir -p "$DATA"
[ "$(id -u)" = 0 ] && chown postgres: "$DATA"
as_pg "$BIN/initdb" -D "$DATA" -A trust -U ohwb --no-sync >/dev/null
as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
  -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U ohwb ohwb_test
echo "export OHWB_TEST_POSTGRES_URL=postgres://ohwb@127.0.0.1:$PORT/ohwb_test"
echo "export OHWB_TEST_POSTGRES_REQUIRED=1"
