#!/usr/bin/env bash
# One benchmark run as BENCHMARKS.md reports it: a fresh `rotor serve`, the
# load tool's --setup and warm-up, then SCENARIO with CONC workers for DUR,
# the server's CPU per request and peak RSS.
#
# "server cpu ms/req" is the server's CPU time over the load tool's timed
# phase only (its /metrics, sampled by `rotor bench --server-metrics`), per
# request measured. "whole window" divides the CPU of the whole `rotor
# bench` run (/proc) instead: it also charges the workers' preparation,
# such as the refresh scenario's 16 argon2id sign-ins.
#
#   .ci/bench/run.sh SCENARIO [CONC=16] [DUR=8s]
#
# Env: ROTOR (binary; built to $BENCH_DIR/rotor if unset), DSN (database;
# default a fresh SQLite file), DSN_FROM (instead: a fresh copy of this
# SQLite file; needs `sqlite3`), BENCH_DIR (/tmp/rotor-bench), PORT (18181),
# BENCHARGS (extra `rotor bench` flags, e.g. --cpuprofile FILE), SERVER_GOGC
# (GOGC for the server only), SERVER_GOMEMLIMIT (likewise).
set -euo pipefail
SC=${1:?scenario}; C=${2:-16}; D=${3:-8s}
PORT=${PORT:-18181}
BENCH_DIR=${BENCH_DIR:-/tmp/rotor-bench}
mkdir -p "$BENCH_DIR"
if [ -z "${ROTOR:-}" ]; then
  ROTOR=$BENCH_DIR/rotor
  (cd "$(dirname "$0")/../.." && go build -o "$ROTOR" ./cmd/rotor)
fi
DIR=$(mktemp -d "$BENCH_DIR/run.XXXX")
if [ -n "${DSN_FROM:-}" ]; then
  # A fresh copy of an existing SQLite file (the 1M-row one), given its own
  # keys and bench clients like a new file.
  cp "$DSN_FROM" "$DIR/rotor.db"
  sqlite3 "$DIR/rotor.db" "DELETE FROM signing_keys; DELETE FROM clients WHERE id LIKE 'bench-%'; DELETE FROM users WHERE email LIKE 'bench%';"
fi
export ROTOR_DATABASE_DSN=${DSN:-$DIR/rotor.db}
export ROTOR_HTTP_ADDR=127.0.0.1:$PORT ROTOR_ISSUER=http://127.0.0.1:$PORT
export ROTOR_METRICS_ADDR=127.0.0.1:$((PORT + 1))
export ROTOR_SECRETS_SYSTEM=${SECRET:-bench-system-secret-0123456789abcdef0123456789}
env ${SERVER_GOGC:+GOGC=$SERVER_GOGC} ${SERVER_GOMEMLIMIT:+GOMEMLIMIT=$SERVER_GOMEMLIMIT} "$ROTOR" serve > "$DIR/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 $PID 2>/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
  sleep 0.1
done
# --setup registers the bench user and clients; its 1 s run is the warm-up.
"$ROTOR" bench --setup --url "http://127.0.0.1:$PORT" --scenarios "$SC" -c "$C" -d 1s --warmup 0 >/dev/null
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
sys() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5}' /proc/stat; }
c0=$(cpu); read -r t0 i0 < <(sys)
# shellcheck disable=SC2086
"$ROTOR" bench --url "http://127.0.0.1:$PORT" --scenarios "$SC" -c "$C" -d "$D" --warmup 0 \
  --server-metrics "http://127.0.0.1:$((PORT + 1))/metrics" ${BENCHARGS:-} > "$DIR/bench.out"
c1=$(cpu); read -r t1 i1 < <(sys)
grep -v '^{' "$DIR/bench.out" | grep -v 'server cpu'
req=$(grep -o '"requests":[0-9]*' "$DIR/bench.out" | tail -1 | cut -d: -f2)
phase=$(grep -o '"server_cpu_ms_per_req":[0-9.e+-]*' "$DIR/bench.out" | tail -1 | cut -d: -f2)
awk -v c=$((c1 - c0)) -v r="$req" -v p="$phase" -v t=$((t1 - t0)) -v i=$((i1 - i0)) -v hz="$(getconf CLK_TCK)" \
  'BEGIN { printf "server cpu ms/req %.3f  (whole window %.3f)  idle %.0f%%\n", p, c * 1000 / hz / r, 100 * i / t }'
grep VmHWM "/proc/$PID/status"
