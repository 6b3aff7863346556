#!/usr/bin/env bash
# The whole-server benchmark: attex-server pinned to core 0, attex-load to
# core 1. Measures Operator.Ping (the transport's ceiling) closed loop, then
# Bid at 10,000 active ads (d = 64, 4 slots) closed loop and open loop at
# half that rate, and prints the ratio of Bid's throughput to Ping's and
# Bid's open-loop p99. Targets (DESIGN.md): ratio >= 0.5, p99 <= 2 ms.
#   ./deploy/bench.sh                    # builds ./build if needed
#   BUILD_DIR=/tmp/b SECONDS_EACH=10 CAMPAIGNS=2500 ./deploy/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
SECONDS_EACH="${SECONDS_EACH:-10}"
CONCURRENCY="${CONCURRENCY:-8}"
CAMPAIGNS="${CAMPAIGNS:-2500}"   # x 4 creatives + the 6 demo ads = 10,006 ads
REPORTS="${REPORTS:-$BUILD_DIR/bench}"
SERVER_CPU="${SERVER_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"

if [ ! -x "$BUILD_DIR/bin/attex-server" ] || [ ! -x "$BUILD_DIR/bin/attex-load" ]; then
  source deploy/deps.sh
  attex_install_deps
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j 2 --target attex-server attex-load attex
fi
mkdir -p "$REPORTS"
data="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

taskset -c "$SERVER_CPU" "$BUILD_DIR/bin/attex-server" --listen 127.0.0.1:0 --data_dir "$data" \
  --demo --port_file "$data/port" --log_level warn &
server_pid=$!
for _ in $(seq 300); do [ -s "$data/port" ] && break; sleep 0.1; done
[ -s "$data/port" ] || { echo "bench: the server did not start" >&2; exit 1; }
addr="127.0.0.1:$(cat "$data/port")"
load() {
  taskset -c "$LOAD_CPU" "$BUILD_DIR/bin/attex-load" --addr "$addr" \
    --tokens_file "$data/demo-tokens.json" --quiet "$@"
}
field() { sed -n "s/^  \"$2\": \([0-9.]*\).*/\1/p" "$1"; }
p99() { sed -n 's/^  "latency": .*"p99_ms": \([0-9.]*\).*/\1/p' "$1"; }

echo "== Ping, closed loop, $CONCURRENCY in flight, ${SECONDS_EACH}s"
load --method ping --concurrency "$CONCURRENCY" --duration "$SECONDS_EACH" --warmup 2 \
  --json "$REPORTS/ping.json" --html "$REPORTS/ping.html"
echo "== creating $CAMPAIGNS campaigns"
load --method ping --campaigns "$CAMPAIGNS" --creatives_per_campaign 4 --duration 0.1 \
  --warmup 0 >/dev/null
ads=$(ATTEX_TOKEN=$(sed -n 's/.*"operator": "\([^"]*\)".*/\1/p' "$data/demo-tokens.json") \
  "$BUILD_DIR/bin/attex" --addr "$addr" stats 2>/dev/null | sed -n 's/.*"active_ads": "\?\([0-9]*\).*/\1/p')
echo "active ads: ${ads:-?}"
echo "== Bid (4 slots), closed loop, $CONCURRENCY in flight, ${SECONDS_EACH}s"
load --method bid --slots 4 --concurrency "$CONCURRENCY" --duration "$SECONDS_EACH" --warmup 2 \
  --json "$REPORTS/bid-closed.json" --html "$REPORTS/bid-closed.html"
ping_rate=$(field "$REPORTS/ping.json" achieved_rate)
bid_rate=$(field "$REPORTS/bid-closed.json" achieved_rate)
half=$(awk -v r="$bid_rate" 'BEGIN { printf "%.0f", r / 2 }')
echo "== Bid (4 slots), open loop at $half calls/s, ${SECONDS_EACH}s"
load --method bid --slots 4 --rate "$half" --duration "$SECONDS_EACH" --warmup 2 \
  --json "$REPORTS/bid-open.json" --html "$REPORTS/bid-open.html"
bid_p99=$(p99 "$REPORTS/bid-open.json")
echo
awk -v p="$ping_rate" -v b="$bid_rate" -v q="$bid_p99" -v h="$half" -v ads="${ads:-?}" 'BEGIN {
  printf "Ping closed loop:        %.0f calls/s\n", p
  printf "Bid closed loop:         %.0f calls/s (%s active ads, 4 slots)\n", b, ads
  printf "ratio Bid / Ping:        %.3f   (target >= 0.5: %s)\n", b / p, (b / p >= 0.5 ? "met" : "NOT met")
  printf "Bid open-loop p99 at %s/s: %.3f ms (target <= 2 ms: %s)\n", h, q, (q <= 2 ? "met" : "NOT met")
}'
echo "reports: $REPORTS/{ping,bid-closed,bid-open}.{json,html}"
