#!/usr/bin/env bash
# The whole BENCHMARKS.md sequence: every scenario three times, refresh by
# concurrency, 64-way client_credentials, 1,000-way password, the empty vs.
# 1M-row comparison (if BIG_DB is a database made with populate-1m.sql), and
# PostgreSQL (if TEST_POSTGRES_DSN is set: eval "$(.ci/postgres.sh)").
# About 15 minutes; run nothing else meanwhile. Output: $OUT.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/rotor-bench}; mkdir -p "$BENCH_DIR"
export BENCH_DIR ROTOR=${ROTOR:-$BENCH_DIR/rotor}
(cd "$here/../.." && go build -o "$ROTOR" ./cmd/rotor) || exit 1
OUT=${OUT:-$BENCH_DIR/matrix.txt}; : > "$OUT"
run() { echo "### ${DSN:+$DSN }${DSN_FROM:+copy of $DSN_FROM }$*" >> "$OUT"; "$here/run.sh" "$@" >> "$OUT" 2>&1; }

for _ in 1 2 3; do
  for s in refresh client_credentials introspect jwks password authcode; do run $s 16 8s; done
done
for c in 1 4 64; do run refresh $c 8s; done
run client_credentials 64 8s
run password 1000 8s
if [ -n "${BIG_DB:-}" ]; then
  for _ in 1 2; do
    for s in refresh client_credentials introspect; do
      run $s 16 8s
      DSN_FROM=$BIG_DB run $s 16 8s
    done
  done
fi
if [ -n "${TEST_POSTGRES_DSN:-}" ]; then
  n=0
  pg() {
    n=$((n + 1)); db=bench_$$_$n
    "$TEST_POSTGRES_BIN/createdb" -h 127.0.0.1 -p "$(sed -E 's#.*:([0-9]+)/.*#\1#' <<<"$TEST_POSTGRES_DSN")" -U rotor "$db"
    DSN=${TEST_POSTGRES_DSN%/*}/$db?sslmode=disable run "$@"
  }
  for c in 1 4 16 64; do pg refresh $c 8s; done
  for s in client_credentials introspect jwks password; do pg $s 16 8s; done
fi
echo "done: $OUT"
