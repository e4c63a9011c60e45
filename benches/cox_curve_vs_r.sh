#!/usr/bin/env bash
# Times R's survfit(coxph(...), newdata) and survql's cox_curve on the same 1e6 x 6 sample of
# the benchmark registry (Efron ties, one covariate profile, standard errors and 95% limits),
# and prints both curves' last point.
#   benches/cox_curve_vs_r.sh [ROWS_IN_REGISTRY] [SAMPLE]
# Needs R with the survival package and the registry written by
# `cargo bench --bench survival -- --rows 10000000`.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
n=${2:-1000000}
reg=target/bench-data/registry-$rows
survql=target/release/survql
[ -x "$survql" ] || cargo build --release -p survql
csv=$(mktemp --suffix .csv)
"$survql" --format csv -t registry="$reg" \
  -c "SELECT time, event, x1, x2, x3, x4, x5, x6 FROM registry WHERE patient_id < $n" > "$csv"
Rscript - "$csv" <<'R'
suppressMessages(library(survival))
d <- read.csv(commandArgs(TRUE)[1])
d$x6 <- d$x6 == "true"
t1 <- system.time(fit <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5 + x6, data = d))
nd <- data.frame(x1 = 0.5, x2 = 1, x3 = -1, x4 = 2, x5 = 0, x6 = TRUE)
t2 <- system.time(sf <- survfit(fit, newdata = nd))
k <- length(sf$time)
cat(sprintf("R %s survival %s: coxph %.3f s + survfit(newdata) %.3f s = %.3f s (data in memory)\n",
            getRversion(), packageVersion("survival"), t1[["elapsed"]], t2[["elapsed"]],
            t1[["elapsed"]] + t2[["elapsed"]]))
cat(sprintf("R last point: time %.10g surv %.10g std_err %.10g lower %.10g (%d points)\n",
            sf$time[k], sf$surv[k], sf$std.err[k] * sf$surv[k], sf$lower[k], k))
R
start=$(date +%s.%N)
"$survql" --format csv -t registry="$reg" -c "SELECT count(*) AS points, last_value(c['time'] ORDER BY c['time']) AS time, last_value(c['surv'] ORDER BY c['time']) AS surv, last_value(c['std_err'] ORDER BY c['time']) AS std_err, last_value(c['lower'] ORDER BY c['time']) AS lower FROM (SELECT unnest(cox_curve(time, event, x1, x2, x3, x4, x5, x6, 'x1=0.5, x2=1, x3=-1, x4=2, x5=0, x6=true')) AS c FROM registry WHERE patient_id < $n)" | tail -n +2
end=$(date +%s.%N)
echo "survql cox_curve (whole query: Parquet scan of $rows rows, filter, fit, curve): $(echo "$end - $start" | bc) s"
rm -f "$csv"
