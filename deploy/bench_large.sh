#!/usr/bin/env bash
# Bid through the server on a large catalogue (default 250,000 campaigns x 4
# creatives = 1,000,006 active ads with the demo's): seeds a data dir
# offline (attex-load --seed_data_dir; creating a million ads through the API
# would take hours of catalogue rebuilds), starts attex-server pinned to core
# 0 with the load on core 1, and measures, for 1 and 4 slots:
#   - Bid latency with one call in flight (no queueing: the p99 target of
#     DESIGN.md, at most 10 ms at 1e6 ads, is for this);
#   - throughput with 16 in flight, each Bid alone, then with shared passes
#     (--shared_pass_window_us), and the gain.
#   ./deploy/bench_large.sh                  # builds ./build if needed
#   CAMPAIGNS=25000 SECONDS_EACH=5 ./deploy/bench_large.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
SECONDS_EACH="${SECONDS_EACH:-8}"
CAMPAIGNS="${CAMPAIGNS:-250000}"
WINDOW_US="${WINDOW_US:-500}"
SERVER_CPU="${SERVER_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
# The exact scan by default: an ANN index of a million ads takes minutes to
# build on the server's one core (see README, Performance).
EXTRA_FLAGS="${EXTRA_FLAGS:---ann_min_ads=0}"   # e.g. "--ann_min_ads=0 --key_storage=int8"

if [ ! -x "$BUILD_DIR/bin/attex-server" ] || [ ! -x "$BUILD_DIR/bin/attex-load" ]; then
  source deploy/deps.sh
  attex_install_deps
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j 2 --target attex-server attex-load
fi
data="$(mktemp -d)"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}
trap 'stop_server; rm -rf "$data"' EXIT

start_server() {
  rm -f "$data/port"
  # shellcheck disable=SC2086
  taskset -c "$SERVER_CPU" "$BUILD_DIR/bin/attex-server" --listen 127.0.0.1:0 --data_dir "$data" \
    --port_file "$data/port" --log_level warn --metrics_listen= $EXTRA_FLAGS "$@" &
  server_pid=$!
  for _ in $(seq 1200); do [ -s "$data/port" ] && break; sleep 0.1; done
  [ -s "$data/port" ] || { echo "bench_large: the server did not start" >&2; exit 1; }
  addr="127.0.0.1:$(cat "$data/port")"
}
load() {
  taskset -c "$LOAD_CPU" "$BUILD_DIR/bin/attex-load" --addr "$addr" \
    --tokens_file "$data/demo-tokens.json" --quiet --timeout_ms 10000 --warmup 2 \
    --duration "$SECONDS_EACH" "$@"
}
rate() { sed -n 's/^  achieved *\([0-9]*\) calls.*/\1/p'; }

echo "== seeding $CAMPAIGNS campaigns x 4 creatives"
start_server --demo
stop_server
"$BUILD_DIR/bin/attex-load" --seed_data_dir "$data" --tokens_file "$data/demo-tokens.json" \
  --campaigns "$CAMPAIGNS" --creatives_per_campaign 4 2>/dev/null
SECONDS=0
start_server
echo "server up in ${SECONDS}s"
declare -A alone
for slots in 1 4; do
  echo "== Bid, $slots slot(s), one call in flight"
  load --method bid --slots "$slots" --concurrency 1 | grep -E "achieved|latency"
  echo "== Bid, $slots slot(s), 16 in flight, each alone"
  out=$(load --method bid --slots "$slots" --concurrency 16)
  echo "$out" | grep -E "achieved|latency"
  alone[$slots]=$(echo "$out" | rate)
done
stop_server
start_server --shared_pass_window_us="$WINDOW_US" --shared_pass_min_ads=0
for slots in 1 4; do
  echo "== Bid, $slots slot(s), 16 in flight, shared passes (window $WINDOW_US us)"
  out=$(load --method bid --slots "$slots" --concurrency 16)
  echo "$out" | grep -E "achieved|latency"
  shared=$(echo "$out" | rate)
  awk -v a="${alone[$slots]}" -v s="$shared" -v k="$slots" \
    'BEGIN { printf "shared-pass gain, %d slot(s): %.2fx (%d -> %d calls/s)\n", k, s / a, a, s }'
done
