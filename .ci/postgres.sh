#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on 127.0.0.1 for the tests and prints the
# DSN. Installs Debian's postgresql first on a machine that lacks it.
# Usage: eval "$(.ci/postgres.sh)"  → exports TEST_POSTGRES_DSN
set -euo pipefail
port="${PGPORT_TEST:-55432}"
bin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bin="$d"; done
if [ -z "$bin" ]; then
  echo "installing postgresql from Debian packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bin="$d"; done
fi
id postgres >/dev/null 2>&1 || useradd --system --home /nonexistent postgres
dir="$(mktemp -d /tmp/rotor-pg.XXXXXX)"
chown postgres "$dir"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$bin/initdb" -D "$dir/data" -U rotor --auth=trust -E UTF8 >&2
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=off" start >&2
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U rotor rotor >&2
echo "export TEST_POSTGRES_DSN='postgres://rotor@127.0.0.1:$port/rotor?sslmode=disable'"
echo "export TEST_POSTGRES_DIR='$dir' TEST_POSTGRES_BIN='$bin'"
