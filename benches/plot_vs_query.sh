#!/usr/bin/env bash
# `\plot km` and `\plot cif` over the benchmark registry against the queries of the curves
# they draw (km_curve, cif_curve per group), as whole
# processes (wall time and peak RSS from /usr/bin/time), best of three runs each.
#   benches/plot_vs_query.sh [ROWS_IN_REGISTRY]
# Needs the registry written by `cargo bench --bench survival -- --rows N`.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
reg=target/bench-data/registry-$rows
survql=target/release/survql
[ -x "$survql" ] || cargo build --release -p survql
out=$(mktemp -d)
best() {
  local label=$1; shift
  local b=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$out/t" "$@" > /dev/null
    read -r s kb < "$out/t"
    if [ -z "$b" ] || [ "$(echo "$s < ${b%% *}" | bc)" = 1 ]; then b="$s $kb"; fi
  done
  echo "$label: ${b%% *} s, $(( ${b##* } / 1024 )) MB peak RSS"
}
best "\\plot km -o fig.svg SELECT grp, time, event FROM registry" \
  "$survql" -q -t registry="$reg" -c "\\plot km -o $out/fig.svg SELECT grp, time, event FROM registry"
best "SELECT grp, km_curve(time, event) FROM registry GROUP BY grp" \
  "$survql" -q -t registry="$reg" --format csv -o "$out/curves.csv" \
  -c "SELECT grp, km_curve(time, event) FROM registry GROUP BY grp"
# Competing risks: status 1 or 2 for events (by patient parity), 0 censored.
status="event * (1 + patient_id % 2)"
best "\\plot cif -o fig.svg SELECT grp, time, status FROM registry" \
  "$survql" -q -t registry="$reg" -c "\\plot cif -o $out/cif.svg SELECT grp, time, $status FROM registry"
best "SELECT grp, cif_curve(time, status, 1) FROM registry GROUP BY grp" \
  "$survql" -q -t registry="$reg" --format csv -o "$out/cif.csv" \
  -c "SELECT grp, cif_curve(time, $status, 1) FROM registry GROUP BY grp"
rm -rf "$out"
