#!/usr/bin/env bash
# Times Python firthmodels' FirthCoxPH and survql's cox_ph(..., 'firth=true') on the same
# 1e5 x 6 sample of the benchmark registry: the fit with Wald SEs and profile-likelihood
# limits of every coefficient, which both compute. Prints both sets of coefficients.
#   benches/firth_vs_firthmodels.sh [ROWS_IN_REGISTRY] [SAMPLE] [PYTHON]
# Needs a Python with firthmodels (pip install firthmodels) and the registry written by
# `cargo bench --bench survival -- --rows 10000000`.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
n=${2:-100000}
python=${3:-python3}
reg=target/bench-data/registry-$rows
survql=target/release/survql
[ -x "$survql" ] || cargo build --release -p survql
csv=$(mktemp --suffix .csv)
"$survql" --format csv -t registry="$reg" \
  -c "SELECT time, event, x1, x2, x3, x4, x5, x6 FROM registry WHERE patient_id < $n" > "$csv"
"$python" - "$csv" <<'PY'
import csv, sys, time
from importlib.metadata import version
import numpy as np
from firthmodels import FirthCoxPH
rows = list(csv.DictReader(open(sys.argv[1])))
t = np.array([float(r["time"]) for r in rows])
e = np.array([r["event"] in ("1", "true") for r in rows])
x = np.array([[float(r[f"x{j}"]) for j in range(1, 6)] + [1.0 if r["x6"] == "true" else 0.0]
              for r in rows])
start = time.perf_counter()
m = FirthCoxPH().fit(x, (e, t))
ci = m.conf_int(method="pl")
secs = time.perf_counter() - start
print(f"firthmodels {version('firthmodels')} (fit + profile CIs, data in memory): {secs:.3f} s")
print("firthmodels coef:", " ".join(f"{c:.10g}" for c in m.coef_))
PY
start=$(date +%s.%N)
"$survql" --format csv -t registry="$reg" -c "SELECT t['coef'] AS coef FROM (SELECT unnest(cox_ph(time, event, x1, x2, x3, x4, x5, x6, 'firth=true')['terms']) AS t FROM registry WHERE patient_id < $n)" | tail -n +2 | tr '\n' ' '
echo
end=$(date +%s.%N)
echo "survql cox_ph firth=true (whole query: Parquet scan of $rows rows, filter, fit, profile CIs): $(echo "$end - $start" | bc) s"
rm -f "$csv"
