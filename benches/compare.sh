#!/usr/bin/env bash
# Cox 1e6 (or N) x 6, Efron, on one file: survql's whole query beside R's coxph, R's C core
# (coxph.fit on a prebuilt matrix) and lifelines, each printed where installed, in one run.
#   benches/compare.sh [SAMPLE_ROWS [REGISTRY_ROWS]]     (defaults 1000000, 10000000)
# Needs the registry written by `cargo bench --bench survival -- --rows REGISTRY_ROWS` and the
# release binary; R (r-cran-survival) and lifelines (pip install lifelines) are optional.
set -euo pipefail
cd "$(dirname "$0")/.."
sample=${1:-1000000}
rows=${2:-10000000}
reg=target/bench-data/registry-$rows
survql=target/release/survql
[ -x "$survql" ] || cargo build --release -p survql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The sample as one Parquet file (what every tool reads) and as CSV (for R and lifelines).
"$survql" -q -t registry="$reg" -o /dev/null -c "COPY (SELECT time, event, x1, x2, x3, x4, x5, x6 FROM registry WHERE patient_id < $sample) TO '$work/sample.parquet' STORED AS PARQUET"
"$survql" -q --format csv -t s="$work/sample.parquet" -c "SELECT * FROM s" > "$work/sample.csv"
echo "Cox, Efron ties, 6 covariates, $sample rows (one file); seconds, best of 3"

best() { sort -n | head -1; }
for _ in 1 2 3; do
  start=$(date +%s.%N)
  "$survql" -q --format csv -t s="$work/sample.parquet" \
    -c "SELECT cox_ph(time, event, x1, x2, x3, x4, x5, x6)['loglik'] AS loglik FROM s" > "$work/survql.out"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
done | best | xargs printf "survql cox_ph, whole query (read, fit, SEs, tests, concordance): %.3f\n"
echo "  loglik $(tail -1 "$work/survql.out")"

if command -v Rscript > /dev/null; then
  Rscript - "$work/sample.csv" <<'R'
suppressMessages(library(survival))
d <- read.csv(commandArgs(TRUE)[1])
d$x6 <- d$x6 == "true"
best <- function(f) min(sapply(1:3, function(i) system.time(f())[["elapsed"]]))
t_coxph <- best(function() fit <<- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5 + x6, data = d))
x <- as.matrix(d[, c("x1", "x2", "x3", "x4", "x5", "x6")])
y <- Surv(d$time, d$event)
ctrl <- coxph.control()
t_fit <- best(function() core <<- coxph.fit(x, y, strata = NULL, offset = NULL, init = NULL,
  control = ctrl, weights = NULL, method = "efron", rownames = NULL))
cat(sprintf("R %s survival %s coxph (data in memory): %.3f\n", getRversion(), packageVersion("survival"), t_coxph))
cat(sprintf("R coxph.fit, the C Newton-Raphson core on a prebuilt matrix: %.3f\n", t_fit))
cat(sprintf("  loglik %.15g\n", fit$loglik[2]))
R
else
  echo "R: not installed"
fi

if python3 -c "import lifelines" 2> /dev/null; then
  python3 - "$work/sample.csv" <<'PY'
import sys, time
import pandas as pd
from lifelines import CoxPHFitter
d = pd.read_csv(sys.argv[1])
d["x6"] = (d["x6"].astype(str).str.lower() == "true").astype(float)  # pandas reads true/false as bool
times = []
for _ in range(2):
    start = time.perf_counter()
    cph = CoxPHFitter().fit(d, duration_col="time", event_col="event")
    times.append(time.perf_counter() - start)
import lifelines
print(f"lifelines {lifelines.__version__} CoxPHFitter (Efron, data in memory; best of 2): {min(times):.3f}")
print(f"  loglik {cph.log_likelihood_:.15g}")
PY
else
  echo "lifelines: not installed"
fi
