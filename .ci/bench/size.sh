#!/usr/bin/env bash
# Empty vs. 1M-row database, back to back, as BENCHMARKS.md reports it:
# for each pair, one run on a fresh file, then one on a fresh copy of
# BIG_DB (made with populate-1m.sql).
#
#   BIG_DB=/path/to/rotor.db .ci/bench/size.sh [PAIRS=3] [SCENARIOS="refresh client_credentials"]
#
# Env as for run.sh (ROTOR, BENCH_DIR); `sqlite3` from Debian.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BIG_DB:?BIG_DB: a database made with populate-1m.sql}"
PAIRS=${1:-3}; SCENARIOS=${2:-refresh client_credentials}
BENCH_DIR=${BENCH_DIR:-/tmp/rotor-bench}; mkdir -p "$BENCH_DIR"
export BENCH_DIR ROTOR=${ROTOR:-$BENCH_DIR/rotor}
[ -x "$ROTOR" ] || (cd "$here/../.." && go build -o "$ROTOR" ./cmd/rotor)
summary() { echo "$(grep -oE '[0-9]+ req/s' <<<"$1") $(grep -oE 'ms/req [0-9.]+' <<<"$1")"; }
for _ in $(seq "$PAIRS"); do
  for s in $SCENARIOS; do
    empty=$("$here/run.sh" "$s" 16 8s 2>&1)
    big=$(DSN_FROM=$BIG_DB "$here/run.sh" "$s" 16 8s 2>&1)
    echo "$s  empty: $(summary "$empty")  |  1M rows: $(summary "$big")"
  done
done
