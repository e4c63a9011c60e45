#!/usr/bin/env bash
# KM median by 10 groups over a 1e7-row Parquet file: the survql CLI vs the same query from
# Python (datafusion-python 55 + the survql package), same machine, same run. Best of 3.
#
#   benches/python_vs_cli.sh [ROWS] [SURVQL_BINARY]
#
# Needs the package installed in the active environment (maturin develop [--release] in
# crates/survql-python) and a survql binary built with the same profile (default
# target/debug/survql; for release figures: cargo build --release -p survql and
# maturin develop --release).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
bin=${2:-target/debug/survql}
file=${TMPDIR:-/tmp}/survql_km_${rows}.parquet
if [ ! -f "$file" ]; then
  "$bin" -q -c "COPY (SELECT CAST(value % 10 AS VARCHAR) AS grp,
                      floor(random() * 240) / 2 + 0.5 AS time,
                      CAST(random() < 0.7 AS INT) AS event
                 FROM range($rows)) TO '$file' STORED AS PARQUET;" > /dev/null
fi
sql="SELECT grp, km_median(time, event) AS median FROM t GROUP BY grp ORDER BY grp"
best() { sort -n | head -1; }
cli=$(for _ in 1 2 3; do
  s=$(date +%s.%N); "$bin" -q --format csv -t t="$file" -c "$sql;" > /dev/null; e=$(date +%s.%N)
  python3 -c "print($e - $s)"; done | best)
py=$(for _ in 1 2 3; do python - "$file" "$sql" <<'PY'
import sys, time
t0 = time.perf_counter()
import datafusion, survql
ctx = datafusion.SessionContext()
survql.register(ctx)
ctx.register_parquet("t", sys.argv[1])
ctx.sql(sys.argv[2]).collect()
print(time.perf_counter() - t0)
PY
done | best)
python3 -c "print(f'rows $rows: survql CLI {$cli:.3f} s, Python {$py:.3f} s, ratio {$py / $cli:.2f}')"
