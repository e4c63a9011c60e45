#!/usr/bin/env bash
# Cluster mode against one process on the same files: the survql release binary alone, and the
# same binary coordinating N `survql worker` processes on 127.0.0.1 (loopback gRPC).
#
#   benches/cluster.sh [ROWS] [WORKERS] [REPEAT]      # defaults: 10000000 3 3
#
# Uses the benchmark registry of benches/survival.rs (Hive-partitioned Parquet, written once
# by `cargo bench --bench survival`). Prints per query: the best statement time of REPEAT runs
# (survql's \timing: planning + execution, not process start), the coordinator's peak RSS,
# the bytes the workers sent the coordinator (NetworkCoalesceExec output_bytes in EXPLAIN
# ANALYZE), each process's peak RSS (workers are restarted for each query) and whether both
# printed the same result.
#
# On one machine the workers share its cores with each other and the coordinator: this
# measures the overhead of distribution (planning, serialising states, gRPC), not scaling.
set -euo pipefail
ROWS=${1:-10000000}
WORKERS=${2:-3}
REPEAT=${3:-3}
cd "$(dirname "$0")/.."
BIN=target/release/survql
DATA=target/bench-data/registry-$ROWS
cargo build --release -p survql --quiet
if [ ! -d "$DATA" ]; then
    cargo bench --bench survival -- --rows "$ROWS" --only km_groups --repeat 1 > /dev/null
fi
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# starts WORKERS workers on free ports of 127.0.0.1; sets URLS and PIDS
start_workers() {
    local w
    PIDS=()
    URLS=""
    for w in $(seq 1 "$WORKERS"); do
        "$BIN" worker --listen 127.0.0.1:0 > "$TMP/worker$w.log" 2>&1 &
        PIDS+=($!)
    done
    for w in $(seq 1 "$WORKERS"); do
        for _ in $(seq 1 100); do grep -q listening "$TMP/worker$w.log" && break; sleep 0.1; done
        URLS="${URLS:+$URLS,}$(grep -o 'http://[0-9.:]*' "$TMP/worker$w.log")"
    done
}

# the workers' peak RSS in MB, space-separated; then stops them
stop_workers() {
    local p
    WORKER_RSS=""
    for p in "${PIDS[@]}"; do
        WORKER_RSS="$WORKER_RSS $(( $(awk '/VmHWM/ {print $2}' "/proc/$p/status") / 1024 ))"
        kill "$p"
    done
    wait 2>/dev/null || true
    PIDS=()
}

SAMPLE=$(( ROWS < 1000000 ? ROWS : 1000000 ))
NAMES=(km_groups km_hospitals logrank logrank_strat cox_1e6x6)
QUERIES=(
    "SELECT grp, km_median(time, event) FROM registry GROUP BY grp ORDER BY grp"
    "SELECT hospital, km_median(time, event) FROM registry GROUP BY hospital ORDER BY hospital"
    "SELECT logrank_test(time, event, grp) FROM registry"
    "SELECT logrank_strat_test(time, event, grp, stratum) FROM registry"
    "SELECT cox_ph(time, event, x1, x2, x3, x4, x5, x6) FROM registry WHERE patient_id < $SAMPLE"
)

# best "Time: X s" of REPEAT runs of $2 in one process ($1: extra arguments); sets BEST, RSS
run_timed() {
    local extra=$1 sql=$2
    {
        echo '\timing on'
        for _ in $(seq 1 "$REPEAT"); do echo "$sql;"; done
    } > "$TMP/q.sql"
    # shellcheck disable=SC2086
    /usr/bin/time -f '%M' -o "$TMP/rss" "$BIN" $extra -q --format csv -t "registry=$DATA" \
        -f "$TMP/q.sql" > "$TMP/out" 2> "$TMP/err"
    BEST=$(grep -o 'Time: [0-9.]*' "$TMP/err" | awk '{print $2}' | sort -g | head -1)
    RSS=$(( $(cat "$TMP/rss") / 1024 ))
}

printf '%s rows, %s workers on 127.0.0.1, best of %s, release build\n\n' "$ROWS" "$WORKERS" "$REPEAT"
echo '| query | one process | cluster | ratio | peak RSS one process | peak RSS coordinator | peak RSS workers | bytes from workers | same result |'
echo '|---|---:|---:|---:|---:|---:|---:|---:|---|'
for i in "${!NAMES[@]}"; do
    sql=${QUERIES[$i]}
    start_workers
    run_timed "" "$sql"
    local_best=$BEST local_rss=$RSS
    cp "$TMP/out" "$TMP/local.out"
    run_timed "--workers $URLS" "$sql"
    cluster_best=$BEST cluster_rss=$RSS
    same=$(cmp -s "$TMP/out" "$TMP/local.out" && echo yes || echo NO)
    bytes=$("$BIN" --workers "$URLS" -q --format csv -t "registry=$DATA" -c "EXPLAIN ANALYZE $sql" \
        | grep -o 'NetworkCoalesceExec[^]]*' | grep -o 'output_bytes=[0-9.]* [KMG]*B' | head -1 \
        | sed 's/output_bytes=//')
    stop_workers
    ratio=$(awk -v a="$cluster_best" -v b="$local_best" 'BEGIN { printf "%.2fx", a / b }')
    printf '| %s | %s s | %s s | %s | %s MB | %s MB | %s MB | %s | %s |\n' "${NAMES[$i]}" \
        "$local_best" "$cluster_best" "$ratio" "$local_rss" "$cluster_rss" \
        "$(echo $WORKER_RSS | tr ' ' '/')" "${bytes:--}" "$same"
done
