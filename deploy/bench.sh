#!/usr/bin/env bash
# The whole-server benchmark: attex-server pinned to core 0, attex-load to
# core 1. Measures Operator.Ping (the transport's ceiling) closed loop, then
# Bid at 10,000 active ads (d = 64, 4 slots) closed loop and open loop at
# half that rate, and prints the ratio of Bid's throughput to Ping's and
# Bid's open-loop p99. Targets (DESIGN.md): ratio >= 0.5, p99 <= 2 ms.
#   ./deploy/bench.sh                    # builds ./build if needed
#   BUILD_DIR=/tmp/b SECONDS_EACH=10 CAMPAIGNS=2500 ./deploy/bench.sh
#
# `overload` mode: Bid's capacity closed loop (CONCURRENCY in flight), then
# open loop at 1x, 2x and 3x of it over CHANNELS connections, each call with
# a 1 s deadline and the server's default tmax (100 ms); prints per level the
# successful Bids a second (goodput) and their share of capacity, the
# successes' p99, and the refused calls' (RESOURCE_EXHAUSTED) count and p99.
# Target (DESIGN.md): at 2x and 3x, goodput >= 0.9 of capacity, its p99
# within tmax, the rest refused at once. BASELINE=path/to/attex-server
# measures another server binary the same way in the same run, first.
#   ./deploy/bench.sh overload
#   BASELINE=/tmp/old/attex-server SECONDS_EACH=6 ./deploy/bench.sh overload
# SERVER_FLAGS (any mode) are added to the server's command line:
#   SERVER_FLAGS=--bid_nice=10 ./deploy/bench.sh overload
#
# `openrtb` mode: Bid at 10,000 ads over gRPC and the same requests as
# OpenRTB 2.6 over HTTP (attex-load --method openrtb), closed loop, twice
# each in alternation, then OpenRTB open loop at half its rate; prints the
# ratio of OpenRTB's throughput to gRPC's (target, DESIGN.md: >= 0.8) and
# the open-loop p99.
#   SECONDS_EACH=6 ./deploy/bench.sh openrtb
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-standard}"
BUILD_DIR="${BUILD_DIR:-build}"
SECONDS_EACH="${SECONDS_EACH:-10}"
CONCURRENCY="${CONCURRENCY:-8}"
CHANNELS="${CHANNELS:-4}"
CAMPAIGNS="${CAMPAIGNS:-2500}"   # x 4 creatives + the 6 demo ads = 10,006 ads
REPORTS="${REPORTS:-$BUILD_DIR/bench}"
SERVER_CPU="${SERVER_CPU:-0}"
SERVER_FLAGS="${SERVER_FLAGS:-}"
LOAD_CPU="${LOAD_CPU:-1}"
case "$MODE" in
  standard|overload|openrtb) ;;
  *) echo "usage: $0 [overload|openrtb]" >&2; exit 2 ;;
esac

source deploy/bench_lib.sh
bench_build attex
mkdir -p "$REPORTS"
data=""
stop_server() {
  bench_stop_server
  if [ -n "$data" ]; then rm -rf "$data"; fi
  data=""
}
trap stop_server EXIT

# Starts server binary $1 on a fresh demo data directory; sets $addr.
start_server() {
  data="$(mktemp -d)"
  local openrtb=()
  if [ "$MODE" = openrtb ]; then
    openrtb=(--openrtb_listen 127.0.0.1:0 --openrtb_port_file "$data/openrtb-port")
  fi
  # shellcheck disable=SC2086
  bench_start_server "$SERVER_CPU" "$1" "$data" --demo --metrics_listen= "${openrtb[@]}" $SERVER_FLAGS
}
load() {
  taskset -c "$LOAD_CPU" "$BUILD_DIR/bin/attex-load" --addr "$addr" \
    --tokens_file "$data/demo-tokens.json" --quiet "$@"
}
create_campaigns() {
  echo "== creating $CAMPAIGNS campaigns"
  load --method ping --campaigns "$CAMPAIGNS" --creatives_per_campaign 4 --duration 0.1 \
    --warmup 0 >/dev/null
  ads=$(ATTEX_TOKEN=$(sed -n 's/.*"operator": "\([^"]*\)".*/\1/p' "$data/demo-tokens.json") \
    "$BUILD_DIR/bin/attex" --addr "$addr" stats 2>/dev/null | sed -n 's/.*"active_ads": "\?\([0-9]*\).*/\1/p')
  echo "active ads: ${ads:-?}"
}
field() { sed -n "s/^  \"$2\": \([0-9.]*\).*/\1/p" "$1"; }
p99() { sed -n 's/^  "latency": .*"p99_ms": \([0-9.]*\).*/\1/p' "$1"; }
# Calls of gRPC status $2 in report $1, and their p99 (ms): "count p99", or "0 -".
status_p99() {
  local line
  line=$(sed -n "s/^      \"$2\": {\"count\": \([0-9]*\).*\"p99_ms\": \([0-9.]*\).*/\1 \2/p" "$1")
  echo "${line:-0 -}"
}

# The overload levels against server binary $1, reports named $2-*.
overload() {
  local bin="$1" name="$2"
  start_server "$bin"
  create_campaigns
  echo "== $name: Bid (4 slots) capacity, closed loop, $CONCURRENCY in flight, ${SECONDS_EACH}s"
  load --method bid --slots 4 --concurrency "$CONCURRENCY" --duration "$SECONDS_EACH" --warmup 2 \
    --json "$REPORTS/$name-capacity.json" >/dev/null
  local capacity rows=""
  # Answered calls only: a server that refuses some of 8 in flight answers
  # the loop's next call sooner.
  capacity=$(awk -v n="$(status_p99 "$REPORTS/$name-capacity.json" OK | cut -d' ' -f1)" \
    -v s="$SECONDS_EACH" 'BEGIN { printf "%.1f", n / s }')
  for x in 1 2 3; do
    local rate json ok refused other
    rate=$(awk -v c="$capacity" -v x="$x" 'BEGIN { printf "%.0f", c * x }')
    json="$REPORTS/$name-${x}x.json"
    echo "== $name: Bid open loop at ${x}x = $rate calls/s, $CHANNELS channels, ${SECONDS_EACH}s"
    load --method bid --slots 4 --rate "$rate" --channels "$CHANNELS" --duration "$SECONDS_EACH" \
      --warmup 2 --json "$json" --html "${json%.json}.html" >/dev/null
    ok=$(status_p99 "$json" OK)
    refused=$(status_p99 "$json" RESOURCE_EXHAUSTED)
    other=$(( $(field "$json" calls) - ${ok% *} - ${refused% *} ))
    rows+="$x $rate $ok $refused $other"$'\n'
  done
  stop_server
  echo
  echo "$name: Bid at ${ads:-?} active ads, 4 slots, tmax 100 ms, 1 s deadlines, $CHANNELS channels"
  printf '%s' "$rows" | awk -v c="$capacity" -v s="$SECONDS_EACH" 'BEGIN {
    printf "capacity (closed loop, %d in flight, answered calls): %.0f Bids/s\n", '"$CONCURRENCY"', c
    printf "%-5s %9s %9s %6s %10s %10s %12s %8s\n", "level", "offered/s", "OK/s", "share", "OK p99 ms",
      "refused/s", "refused p99", "other/s"
  } {
    printf "%-5s %9d %9.0f %6.2f %10s %10.0f %12s %8.0f\n", $1 "x", $2, $3 / s, $3 / s / c, $4,
      $5 / s, $6, $7 / s
  }'
  echo "reports: $REPORTS/$name-{capacity,1x,2x,3x}.json"
  echo
}

if [ "$MODE" = openrtb ]; then
  start_server "$BUILD_DIR/bin/attex-server"
  openrtb_addr="127.0.0.1:$(cat "$data/openrtb-port")"
  create_campaigns
  for round in 1 2; do
    echo "== round $round: Bid (4 slots) over gRPC, closed loop, $CONCURRENCY in flight, ${SECONDS_EACH}s"
    load --method bid --slots 4 --concurrency "$CONCURRENCY" --duration "$SECONDS_EACH" --warmup 2 \
      --json "$REPORTS/grpc-$round.json" >/dev/null
    echo "== round $round: the same as OpenRTB over HTTP, $CONCURRENCY connections, ${SECONDS_EACH}s"
    load --method openrtb --openrtb_addr "$openrtb_addr" --slots 4 --concurrency "$CONCURRENCY" \
      --duration "$SECONDS_EACH" --warmup 2 --json "$REPORTS/openrtb-$round.json" >/dev/null
  done
  grpc_rate=$(awk -v a="$(field "$REPORTS/grpc-1.json" achieved_rate)" \
    -v b="$(field "$REPORTS/grpc-2.json" achieved_rate)" 'BEGIN { printf "%.1f", (a + b) / 2 }')
  openrtb_rate=$(awk -v a="$(field "$REPORTS/openrtb-1.json" achieved_rate)" \
    -v b="$(field "$REPORTS/openrtb-2.json" achieved_rate)" 'BEGIN { printf "%.1f", (a + b) / 2 }')
  half=$(awk -v r="$openrtb_rate" 'BEGIN { printf "%.0f", r / 2 }')
  echo "== OpenRTB open loop at $half calls/s, ${SECONDS_EACH}s"
  load --method openrtb --openrtb_addr "$openrtb_addr" --slots 4 --concurrency 32 --rate "$half" \
    --duration "$SECONDS_EACH" --warmup 2 --json "$REPORTS/openrtb-open.json" >/dev/null
  open_p99=$(p99 "$REPORTS/openrtb-open.json")
  errors=$(( $(field "$REPORTS/openrtb-1.json" errors) + $(field "$REPORTS/openrtb-2.json" errors) ))
  stop_server
  echo
  awk -v g="$grpc_rate" -v o="$openrtb_rate" -v q="$open_p99" -v h="$half" -v ads="${ads:-?}" \
    -v e="$errors" 'BEGIN {
    printf "Bid over gRPC, closed loop:     %.0f calls/s (%s active ads, 4 slots; mean of 2)\n", g, ads
    printf "Bid as OpenRTB, closed loop:    %.0f calls/s (mean of 2; %d errors)\n", o, e
    printf "ratio OpenRTB / gRPC:           %.3f   (target >= 0.8: %s)\n", o / g, (o / g >= 0.8 ? "met" : "NOT met")
    printf "OpenRTB open-loop p99 at %s/s: %.3f ms\n", h, q
  }'
  echo "reports: $REPORTS/{grpc,openrtb}-{1,2}.json $REPORTS/openrtb-open.json"
  exit 0
fi

if [ "$MODE" = overload ]; then
  if [ -n "${BASELINE:-}" ]; then overload "$BASELINE" baseline; fi
  overload "$BUILD_DIR/bin/attex-server" overload
  echo "target at 2x and 3x: share >= 0.9, OK p99 <= 100 ms, refused p99 a millisecond or two"
  exit 0
fi

start_server "$BUILD_DIR/bin/attex-server"
echo "== Ping, closed loop, $CONCURRENCY in flight, ${SECONDS_EACH}s"
load --method ping --concurrency "$CONCURRENCY" --duration "$SECONDS_EACH" --warmup 2 \
  --json "$REPORTS/ping.json" --html "$REPORTS/ping.html"
create_campaigns
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
