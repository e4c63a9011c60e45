#!/usr/bin/env bash
# Times cmprsk's crr and survql's finegray_ph on the same samples of the benchmark registry
# (status = event * (1 + patient_id % 2): cause 1 or 2; six covariates), and checks that the
# coefficients agree. crr is O(n^2) per iteration (crrfsv loops over all subjects at every
# failure time) and its variance O(n^3) (crrvv), so it runs on the smaller samples only;
# survql runs on all of them.
#   benches/finegray_vs_crr.sh [ROWS_IN_REGISTRY] [CRR_SAMPLES] [SURVQL_SAMPLES]
# Needs R with cmprsk (Debian: apt-get install r-cran-cmprsk) and the registry written by
# `cargo bench --bench survival -- --rows 10000000`.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
crr_samples=${2:-"2000 5000 10000"}
survql_samples=${3:-"2000 5000 10000 100000 1000000"}
reg=target/bench-data/registry-$rows
survql=target/release/survql
[ -x "$survql" ] || cargo build --release -p survql
query() { # n
  echo "SELECT time, event * (1 + patient_id % 2) AS status, x1, x2, x3, x4, x5, x6 FROM registry WHERE patient_id < $1"
}
for n in $crr_samples; do
  csv=$(mktemp --suffix .csv)
  "$survql" --format csv -t registry="$reg" -c "$(query "$n")" > "$csv"
  Rscript - "$csv" "$n" <<'R'
suppressMessages(library(cmprsk))
a <- commandArgs(TRUE)
d <- read.csv(a[1])
x <- cbind(d$x1, d$x2, d$x3, d$x4, d$x5, as.numeric(d$x6 == "true"))
t <- system.time(fit <- crr(d$time, d$status, x, failcode = 1))
cat(sprintf("crr n=%s: %.2f s (cmprsk %s); coef %s\n", a[2], t[["elapsed"]],
            packageVersion("cmprsk"), paste(sprintf("%.10g", fit$coef), collapse = " ")))
R
  rm -f "$csv"
done
for n in $survql_samples; do
  start=$(date +%s.%N)
  coef=$("$survql" --format csv -t registry="$reg" -c "SELECT t['coef'] AS coef FROM (SELECT unnest(finegray_ph(time, event * (1 + patient_id % 2), 1, x1, x2, x3, x4, x5, x6)['terms']) AS t FROM registry WHERE patient_id < $n)" | tail -n +2 | tr '\n' ' ')
  end=$(date +%s.%N)
  echo "survql finegray_ph n=$n (whole query: Parquet scan of $rows rows, filter, fit): $(echo "$end - $start" | bc) s; coef $coef"
done
