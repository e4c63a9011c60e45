#!/usr/bin/env bash
# Times td_auc and brier_score (one time point, censoring distribution from the same rows)
# over ROWS rows: survql's aggregates (the whole query: Parquet scan, states, evaluation)
# beside scikit-survival's cumulative_dynamic_auc and brier_score on the same synthetic sample
# (read into numpy before the clock starts), and DataFusion's floor (an aggregate over the
# same columns: sum(score)). Prints each time, the ratios and the largest relative difference
# between survql's and sksurv's values.
#   benches/validation_vs_sksurv.sh [PYTHON_WITH_SKSURV] [ROWS ...]   (default 1e6 and 1e7)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
shift || true
sizes=${*:-1000000 10000000}
survql=${SURVQL:-target/release/survql}
[ -x "$survql" ] || cargo build --release -p survql
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

best() { # best of 3 wall-clock seconds of a command
  local b=
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
    b=$(echo "$e - $s" | bc | awk -v b="$b" '{ if (b == "" || $1 < b) print $1; else print b }')
  done
  echo "$b"
}

printf "%10s %9s %9s %9s %9s %9s %9s %9s %10s\n" rows floor td_auc brier sk_auc sk_brier auc_x brier_x max_rel_diff
for rows in $sizes; do
  "$survql" -q -c "COPY (SELECT
      round(-ln(1 - ((value * 7919) % 100003) / 100003.0 * 0.999) * 20 * exp(-0.5 * ((value * 31) % 97) / 97.0), 2) + 0.01 AS time,
      CAST((value * 13) % 10 < 7 AS INT) AS event,
      ((value * 31) % 97) / 97.0 + ((value * 7) % 1000) / 1e6 AS score,
      exp(-0.05 * exp(((value * 31) % 97) / 97.0)) AS s10
    FROM range($rows)) TO '$dir/sample.parquet' STORED AS PARQUET" > /dev/null
  floor=$(best "$survql" -q -t s="$dir/sample.parquet" -c "SELECT sum(score), sum(s10) FROM s")
  auc=$(best "$survql" -q -t s="$dir/sample.parquet" -c "SELECT td_auc(time, event, score, 10) FROM s")
  brier=$(best "$survql" -q -t s="$dir/sample.parquet" -c "SELECT brier_score(time, event, s10, 10) FROM s")
  values=$("$survql" -q --format csv -t s="$dir/sample.parquet" -c "SELECT td_auc(time, event, score, 10) AS a, brier_score(time, event, s10, 10) AS b FROM s" | tail -1)
  sk=$("$python" - "$dir/sample.parquet" "$values" <<'PY'
import sys, time
import numpy as np
import pyarrow.parquet as pq
from sksurv.metrics import brier_score, cumulative_dynamic_auc
from sksurv.util import Surv
t = pq.read_table(sys.argv[1]).to_pandas()
y = Surv.from_arrays(t["event"].to_numpy().astype(bool), t["time"].to_numpy())
score, s10 = t["score"].to_numpy(), t["s10"].to_numpy()
def best(f):
    b = None
    for _ in range(3):
        s = time.perf_counter(); v = f(); e = time.perf_counter() - s
        b = e if b is None or e < b else b
    return b, v
ta, a = best(lambda: cumulative_dynamic_auc(y, y, score, [10.0])[0][0])
tb, bs = best(lambda: brier_score(y, y, s10, [10.0])[1][0])
qa, qb = (float(v) for v in sys.argv[2].split(","))
print(f"{ta:.3f} {tb:.3f} {max(abs(qa - a) / abs(a), abs(qb - bs) / abs(bs)):.2g}")
PY
)
  read -r ska skb diff <<<"$sk"
  printf "%10s %9s %9s %9s %9s %9s %9.1f %9.1f %10s\n" "$rows" "$floor" "$auc" "$brier" "$ska" "$skb" \
    "$(echo "$ska / $auc" | bc -l)" "$(echo "$skb / $brier" | bc -l)" "$diff"
done
