#!/usr/bin/env bash
# Times R's coxph and survql's cox_ph on the same 1e6 x 6 sample of the benchmark registry.
# Needs R with the survival package (Debian: apt-get install r-cran-survival) and the
# registry written by `cargo bench --bench survival -- --rows 10000000`.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
reg=target/bench-data/registry-$rows
survql=target/release/survql
[ -x "$survql" ] || cargo build --release -p survql
csv=$(mktemp --suffix .csv)
"$survql" --format csv -t registry="$reg" \
  -c "SELECT time, event, x1, x2, x3, x4, x5, x6 FROM registry WHERE patient_id < 1000000" > "$csv"
Rscript - "$csv" <<'R'
library(survival)
d <- read.csv(commandArgs(TRUE)[1])
d$x6 <- d$x6 == "true"
t <- system.time(fit <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5 + x6, data = d))
cat(sprintf("R %s survival %s coxph (fit only, data in memory): %.3f s\n",
            getRversion(), packageVersion("survival"), t[["elapsed"]]))
cat("R coef:", sprintf("%.15g", coef(fit)), "\n")
R
start=$(date +%s.%N)
"$survql" --format csv -t registry="$reg" -c "SELECT t['term'] AS term, t['coef'] AS coef FROM (SELECT unnest(cox_ph(time, event, x1, x2, x3, x4, x5, x6)['terms']) AS t FROM registry WHERE patient_id < 1000000)"
end=$(date +%s.%N)
echo "survql cox_ph (whole query: Parquet scan of $rows rows, filter, fit): $(echo "$end - $start" | bc) s"
rm -f "$csv"
