#!/usr/bin/env bash
# The fleet's benchmark (docs/performance.md#the-fleet-deploybench_fleetsh):
# a throwaway PostgreSQL, N attex-server replicas (--store=postgres, one
# shared --billing_key_file) and HAProxy in front, as deploy/fleet.sh starts
# them (deploy/fleet_lib.sh), and in one run:
# 1. durable billing events a second through HAProxy: attex-load --method
#    report --live bids first for the billing tokens, then reports each
#    placement's impression once, --batch events a ReportEvents call;
#    closed loop (--concurrency calls in flight) for the capacity, then open
#    loop at the target (--rate events/s), or at half the capacity when that
#    is below the target, for the latency. Every event is answered after
#    its batch's commit (synchronous_commit on, fsync on); the script
#    checks that PostgreSQL holds at least as many new events as were
#    answered ACCEPTED, and counts events per commit and per WAL fsync;
# 2. Bid (4 slots) closed loop through HAProxy, direct to replica 1, and
#    client-side round robin over the replicas (attex-load --addr a,b,c),
#    and the ratios to direct.
# Prints a table with the CPU model. Targets: at least 20,000 events/s,
# p99 at most 10 ms. About a minute with the defaults (55 s on 2 cores).
#   ./deploy/bench_fleet.sh
#   ./deploy/bench_fleet.sh --seconds 5 --replicas 2 --batch 200
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
REPORTS="${REPORTS:-$BUILD_DIR/bench}"
replicas=3 seconds=8 batch=100 concurrency=8 rate=20000 campaigns=200
usage="usage: bench_fleet.sh [--replicas N] [--seconds S] [--batch EVENTS] [--concurrency CALLS] [--rate EVENTS_PER_S] [--campaigns N]"
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas | --seconds | --batch | --concurrency | --rate | --campaigns)
      value="${2:-}"
      if ! [[ "$value" =~ ^[1-9][0-9]*$ ]]; then
        echo "bench_fleet.sh: $1 must be a positive whole number, not \"$value\"" >&2
        exit 2
      fi
      declare "${1#--}=$value"
      shift
      ;;
    *)
      echo "bench_fleet.sh: unknown argument \"$1\" ($usage)" >&2
      exit 2
      ;;
  esac
  shift
done
if [ "$replicas" -gt 99 ]; then echo "bench_fleet.sh: --replicas must be 1 to 99" >&2; exit 2; fi
if [ "$batch" -gt 1000 ]; then echo "bench_fleet.sh: --batch must be 1 to 1000" >&2; exit 2; fi

source deploy/bench_lib.sh
source deploy/pg_lib.sh
source deploy/fleet_lib.sh
bench_build attex
cmake --build "$BUILD_DIR" --target attex-server attex-load attex >/dev/null
BIN="$(cd "$BUILD_DIR/bin" && pwd)"
mkdir -p "$REPORTS"

trap fleet_stop EXIT
trap 'exit 130' INT TERM
echo "== starting PostgreSQL, $replicas replicas and HAProxy"
fleet_start "$BIN" "$replicas" --log_level=warn
tokens_file="$fleet_dir/r1/demo-tokens.json"
platform="$(fleet_platform_token)"
operator="$(sed -n 's/.*"operator": "\([^"]*\)".*/\1/p' "$tokens_file")"
replica1="127.0.0.1:${fleet_ports[0]}"
for _ in $(seq 1 50); do
  if "$BIN/attex" --addr "$fleet_balancer" --token "$platform" bid --user_id u1 \
    --feature interest:running --country US --slot top:banner:0 >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done

pg_port="${pg_dsn#*port=}"
pg_port="${pg_port%% *}"
sql() { pg_as_owner "$PG_BINDIR/psql" -h 127.0.0.1 -p "$pg_port" -U attex -d attex -XAtq -c "$1"; }
# A JSON report's field, by Python expression on `r`.
field() { /usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
active_ads() {
  ATTEX_TOKEN="$operator" "$BIN/attex" --addr "$1" stats 2>/dev/null |
    sed -n 's/.*"active_ads": "\?\([0-9]*\).*/\1/p'
}
load() { "$BIN/attex-load" --token "$platform" --quiet "$@"; }

echo "== creating $campaigns campaigns through replica 1"
"$BIN/attex-load" --addr "$replica1" --tokens_file "$tokens_file" --method ping \
  --campaigns "$campaigns" --creatives_per_campaign 4 --duration 0.1 --warmup 0 --quiet >/dev/null
ads="$(active_ads "$replica1")"
for port in "${fleet_ports[@]}"; do
  for _ in $(seq 1 100); do
    [ "$(active_ads "127.0.0.1:$port")" = "$ads" ] && break
    sleep 0.1
  done
done

settings="$(sql "SELECT string_agg(name || ' ' || setting || COALESCE(unit, ''), ', ' ORDER BY name)
  FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method',
  'full_page_writes', 'commit_delay', 'shared_buffers', 'wal_buffers', 'max_wal_size')")"

# "events commits commit_seconds": the events PostgreSQL holds, and the
# replicas' ledger commits (group commits of billing events) and their time.
counters() {
  local port events
  events="$(sql "SELECT count(*) FROM events")"
  for port in "${fleet_metrics[@]}"; do curl -s "http://127.0.0.1:$port/metrics"; done |
    awk -v e="$events" '/^attex_ledger_commit_seconds_count/ { c += $2 }
      /^attex_ledger_commit_seconds_sum/ { s += $2 } END { printf "%d %d %.6f\n", e, c, s }'
}

# report NAME [attex-load flags]: one billing phase through HAProxy (the
# tokens are collected by bidding first; bids commit nothing); NAME.json
# and NAME.txt in $REPORTS, and NAME.counters: what counters() moved by.
report() {
  local name="$1" e0 c0 s0 e1 c1 s1
  shift
  read -r e0 c0 s0 <<<"$(counters)"
  load --addr "$fleet_balancer" --method report --live --slots 8 --channels 4 \
    --report_batch "$batch" --warmup 0 --duration "$seconds" --timeout_ms 10000 \
    --json "$REPORTS/$name.json" "$@" >"$REPORTS/$name.txt"
  read -r e1 c1 s1 <<<"$(counters)"
  awk -v e="$((e1 - e0))" -v c="$((c1 - c0))" -v s0="$s0" -v s1="$s1" \
    'BEGIN { printf "%d %d %.6f\n", e, c, s1 - s0 }' >"$REPORTS/$name.counters"
}

echo "== billing, closed loop, $concurrency calls of $batch events in flight, ${seconds}s"
report fleet-report-closed --concurrency "$concurrency" \
  --report_tokens "$(( rate * seconds * 3 / 2 ))"
capacity="$(field "$REPORTS/fleet-report-closed.json" 'r["events_rate"]')"
open_rate="$rate"
if awk -v c="$capacity" -v r="$rate" 'BEGIN { exit !(c < r) }'; then
  open_rate="$(awk -v c="$capacity" 'BEGIN { printf "%d", c / 2 }')"
fi
calls_rate="$(awk -v r="$open_rate" -v b="$batch" 'BEGIN { printf "%.3f", r / b }')"
echo "== billing, open loop at $open_rate events/s ($calls_rate calls/s), ${seconds}s"
report fleet-report-open --rate "$calls_rate" --concurrency "$concurrency"

bid() {
  local name="$1" addr="$2"
  echo "== Bid (4 slots), closed loop, 16 in flight, $name, ${seconds}s"
  load --addr "$addr" --method bid --slots 4 --concurrency 16 --channels 4 --duration "$seconds" \
    --warmup 1 --json "$REPORTS/fleet-bid-$name.json" >/dev/null
}
bid haproxy "$fleet_balancer"
bid direct "$replica1"
bid round-robin "$fleet_list"

cpu="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo
echo "bench_fleet: $(date -u +%F), $cpu, $(nproc) cores, $replicas replicas, $ads active ads"
echo "PostgreSQL: $settings"
echo
echo "| measure | figure |"
echo "| --- | --- |"
billing_row() {
  local name="$1" what="$2" json="$REPORTS/$1.json" events commits seconds accepted
  read -r events commits seconds <"$REPORTS/$name.counters"
  accepted="$(field "$json" 'r["event_results"].get("ACCEPTED", 0)')"
  field "$json" "'| $what | **%.0f events/s** (%.1f calls/s of $batch), p50 %.1f ms, p99 **%.1f ms**%s; results %s; errors %s |' % (r['events_rate'], r['achieved_rate'], r['methods']['ReportEvents']['latency']['p50_ms'], r['methods']['ReportEvents']['latency']['p99_ms'], ' (tokens ran out: a lower bound)' if r['ran_out_of_tokens'] else '', r['event_results'], r['errors_by_status'] or 0)"
  echo "| $what: durable | $events new events in PostgreSQL, $accepted answered ACCEPTED ($([ "$events" -ge "$accepted" ] && echo 'every answered event is there' || echo 'MISSING EVENTS')); $(awk -v e="$events" -v c="$commits" -v s="$seconds" 'BEGIN { printf "%d ledger commits, %.1f events a commit, %.2f ms a commit", c, c ? e / c : 0, c ? 1000 * s / c : 0 }') |"
}
billing_row fleet-report-closed "billing through HAProxy, closed loop, $concurrency calls in flight"
billing_row fleet-report-open "billing through HAProxy, open loop at $open_rate events/s"
rate_of() { field "$REPORTS/fleet-bid-$1.json" 'r["achieved_rate"]'; }
haproxy="$(rate_of haproxy)" direct="$(rate_of direct)" rr="$(rate_of round-robin)"
p99_of() { field "$REPORTS/fleet-bid-$1.json" 'r["latency"]["p99_ms"]'; }
awk -v h="$haproxy" -v d="$direct" -v r="$rr" -v hp="$(p99_of haproxy)" -v dp="$(p99_of direct)" \
  -v rp="$(p99_of round-robin)" -v n="$replicas" 'BEGIN {
  printf "| Bid through HAProxy, 16 in flight | %.0f calls/s (p99 %.1f ms) |\n", h, hp
  printf "| Bid direct to replica 1 | %.0f calls/s (p99 %.1f ms) |\n", d, dp
  printf "| Bid client-side round robin over %d replicas | %.0f calls/s (p99 %.1f ms) |\n", n, r, rp
  printf "| ratio HAProxy / direct | **%.3f** |\n", h / d
  printf "| ratio round robin / direct | **%.3f** |\n", r / d
}'
closed="$(field "$REPORTS/fleet-report-closed.json" 'r["events_rate"]')"
open_p99="$(field "$REPORTS/fleet-report-open.json" 'r["methods"]["ReportEvents"]["latency"]["p99_ms"]')"
open_achieved="$(field "$REPORTS/fleet-report-open.json" 'r["events_rate"]')"
awk -v c="$closed" -v o="$open_achieved" -v q="$open_p99" -v t="$rate" -v r="$open_rate" 'BEGIN {
  printf "\ntarget at least %d events/s: %s (closed loop %.0f/s; open loop at %d/s answered %.0f/s)\n",
    t, (c >= t && r >= t && o >= 0.99 * t ? "met" : "NOT met"), c, r, o
  printf "target p99 at most 10 ms at that rate: %s (open loop at %d/s: p99 %.1f ms)\n",
    (r >= t && q <= 10 ? "met" : "NOT met"), r, q
}'
echo "reports: $REPORTS/fleet-{report-closed,report-open,bid-haproxy,bid-direct,bid-round-robin}.json"
