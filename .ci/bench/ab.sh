#!/usr/bin/env bash
# Interleaved pairs, as BENCHMARKS.md compares two builds: A then B, PAIRS
# times, each run a fresh server and database through run.sh. Interleaving
# spreads this VM's drift over both sides; the summary gives each side's
# mean and median and how many pairs B won on CPU per request.
#
#   .ci/bench/ab.sh BIN_A BIN_B [PAIRS=8] [SCENARIO=refresh] [CONC=16]
#
# Build the binaries first, e.g. `git worktree add /tmp/a REV && (cd /tmp/a
# && go build -o /tmp/rotor-a ./cmd/rotor)`. Env as for run.sh (EXTRA_ENV
# is not needed: anything exported, such as ROTOR_KEYS_ACCESS_TOKEN_ALG,
# reaches both servers).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
A=${1:?binary A}; B=${2:?binary B}; PAIRS=${3:-8}; SC=${4:-refresh}; C=${5:-16}
one() { ROTOR=$1 "$here/run.sh" "$SC" "$C" 8s 2>&1 |
  awk '/ req\/s /{for (i = 1; i < NF; i++) if ($(i+1) == "req/s") r = $i} /cpu ms\/req/{c = $4} END {print r, c}'; }
results=()
for i in $(seq "$PAIRS"); do
  read -r ra ca < <(one "$A"); read -r rb cb < <(one "$B")
  echo "pair $i  A: $ra req/s $ca ms  |  B: $rb req/s $cb ms"
  results+=("$ra $ca $rb $cb")
done
printf '%s\n' "${results[@]}" | awk '
  { ra[NR] = $1; ca[NR] = $2; rb[NR] = $3; cb[NR] = $4; sra += $1; sca += $2; srb += $3; scb += $4; if ($4 < $2) won++ }
  function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END { n = NR
    printf "A: mean %.0f req/s %.3f ms, median %.0f req/s %.3f ms\n", sra / n, sca / n, median(ra, n), median(ca, n)
    printf "B: mean %.0f req/s %.3f ms, median %.0f req/s %.3f ms; B lower CPU in %d of %d pairs\n", srb / n, scb / n, median(rb, n), median(cb, n), won, n }'
