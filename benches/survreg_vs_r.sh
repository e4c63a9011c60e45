#!/usr/bin/env bash
# Times R's survreg (Weibull) and survql's survreg on the same 1e6 x 6 sample of the benchmark
# registry (time + 0.5: the registry has times of 0, which a log-time model cannot take), and
# prints both sets of coefficients.
#   benches/survreg_vs_r.sh [ROWS_IN_REGISTRY] [SAMPLE]
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
  -c "SELECT time + 0.5 AS time, event, x1, x2, x3, x4, x5, x6 FROM registry WHERE patient_id < $n" > "$csv"
Rscript - "$csv" <<'R'
suppressMessages(library(survival))
d <- read.csv(commandArgs(TRUE)[1])
d$x6 <- d$x6 == "true"
t <- system.time(fit <- survreg(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5 + x6, data = d))
cat(sprintf("R %s survival %s survreg weibull (fit only, data in memory): %.3f s\n",
            getRversion(), packageVersion("survival"), t[["elapsed"]]))
cat("R coef:", sprintf("%.10g", coef(fit)), " scale:", sprintf("%.10g", fit$scale), "\n")
R
start=$(date +%s.%N)
"$survql" --format csv -t registry="$reg" -c "SELECT t['term'] AS term, t['coef'] AS coef FROM (SELECT unnest(survreg(time + 0.5, event, x1, x2, x3, x4, x5, x6)['terms']) AS t FROM registry WHERE patient_id < $n)" | tail -n +2 | tr '\n' ' '
echo
end=$(date +%s.%N)
echo "survql survreg (whole query: Parquet scan of $rows rows, filter, fit): $(echo "$end - $start" | bc) s"
rm -f "$csv"
