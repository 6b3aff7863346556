#!/usr/bin/env bash
# Campaign updates streaming into a large catalogue (default 250,000
# campaigns x 4 creatives = 1,000,006 ads with the demo's), as advertisers'
# automated bidders send them: seeds a data dir offline (attex-load
# --seed_data_dir), starts attex-server, then
#   - Bid latency with one call in flight, alone (before);
#   - UpdateCampaign bid changes open loop at RATE a second from CLIENTS
#     connections, and the same one-in-flight Bid load beside them (during);
# (the same updates alone first, for the server's CPU time per update) and
# prints the updates absorbed a second, their latency (an update is
# answered once the snapshot with it is the one Bid reads, so its latency is
# the time until it is visible), Bid's p99 before and during, the
# catalogue's publishes (whole builds and patches) and the server's memory.
#   ./deploy/bench_updates.sh                       # builds ./build if needed
#   CAMPAIGNS=25000 SECONDS_EACH=5 ./deploy/bench_updates.sh
#   RATE=2000 CLIENTS=16 ./deploy/bench_updates.sh
#   PERF_OUT=/tmp/updates.perf ./deploy/bench_updates.sh   # perf record of the server meanwhile
#   PERF_ALONE_OUT=/tmp/alone.perf ./deploy/bench_updates.sh   # ... of the updates alone
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
SECONDS_EACH="${SECONDS_EACH:-10}"
CAMPAIGNS="${CAMPAIGNS:-250000}"
RATE="${RATE:-1000}"
CLIENTS="${CLIENTS:-8}"
UPDATE_CAMPAIGNS="${UPDATE_CAMPAIGNS:-5000}"
SERVER_CPU="${SERVER_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
METRICS_PORT="${METRICS_PORT:-19464}"
# The exact scan (an ANN index of a million ads takes minutes to build, and
# every bid change asks for a new one), one core for the server's passes.
EXTRA_FLAGS="${EXTRA_FLAGS:---ann_min_ads=0 --pass_threads=0}"

source deploy/bench_lib.sh
bench_build
data="$(mktemp -d)"
stop_server() { bench_stop_server; }
trap 'stop_server; rm -rf "$data"' EXIT

start_server() {
  # shellcheck disable=SC2086
  bench_start_server "$SERVER_CPU" "$BUILD_DIR/bin/attex-server" "$data" \
    --metrics_listen="127.0.0.1:$METRICS_PORT" $EXTRA_FLAGS "$@"
}
load() {
  taskset -c "$LOAD_CPU" "$BUILD_DIR/bin/attex-load" --addr "$addr" \
    --tokens_file "$data/demo-tokens.json" --quiet --timeout_ms 10000 --warmup 2 \
    --duration "$SECONDS_EACH" "$@"
}
rate() { sed -n 's/^  achieved *\([0-9]*\) calls.*/\1/p'; }
p50() { sed -n 's/^  latency *p50 \([0-9.]*\) .*/\1/p'; }
p99() { sed -n 's/^  latency .* p99 \([0-9.]*\) .*/\1/p'; }
rss_mb() { awk -v f="$1" '$1 == f":" { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
metric() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 == m { printf "%d", $2 }'; }

echo "== seeding $CAMPAIGNS campaigns x 4 creatives"
start_server --demo
stop_server
"$BUILD_DIR/bin/attex-load" --seed_data_dir "$data" --tokens_file "$data/demo-tokens.json" \
  --campaigns "$CAMPAIGNS" --creatives_per_campaign 4 2>/dev/null

SECONDS=0
start_server
echo "== server up in ${SECONDS}s, RSS $(rss_mb VmRSS) MB"
echo "== Bid, 1 slot, one call in flight, alone"
before=$(load --method bid --slots 1 --concurrency 1)
echo "$before" | grep -E "achieved|latency"

echo "== UpdateCampaign bid changes at $RATE/s from $CLIENTS clients ($UPDATE_CAMPAIGNS campaigns), alone"
ticks0=$(cpu_ticks)
upserts_alone0=$(metric attex_catalog_upserts)
perf_pid=""
if [ -n "${PERF_ALONE_OUT:-}" ]; then
  perf record -e cpu-clock -g -o "$PERF_ALONE_OUT" -p "$server_pid" -- sleep "$((SECONDS_EACH + 2))" 2>/dev/null &
  perf_pid=$!
fi
alone=$(load --method update --rate "$RATE" --channels "$CLIENTS" --update_campaigns "$UPDATE_CAMPAIGNS")
[ -z "$perf_pid" ] || wait "$perf_pid"
ticks=$(($(cpu_ticks) - ticks0))
upserts_alone=$(($(metric attex_catalog_upserts) - upserts_alone0))
echo "$alone" | grep -E "achieved|latency|errors"

builds0=$(metric attex_catalog_builds)
patches0=$(metric attex_catalog_patches)
upserts0=$(metric attex_catalog_upserts)
commits0=$(metric attex_campaign_commits)
echo "== UpdateCampaign bid changes at $RATE/s from $CLIENTS clients ($UPDATE_CAMPAIGNS campaigns), and the same Bid load beside them"
load --method update --rate "$RATE" --channels "$CLIENTS" --update_campaigns "$UPDATE_CAMPAIGNS" \
  >"$data/updates.txt" &
updates_pid=$!
perf_pid=""
if [ -n "${PERF_OUT:-}" ]; then
  perf record -e cpu-clock -g -o "$PERF_OUT" -p "$server_pid" -- sleep "$((SECONDS_EACH + 2))" 2>/dev/null &
  perf_pid=$!
fi
during=$(load --method bid --slots 1 --concurrency 1)
wait "$updates_pid"
[ -z "$perf_pid" ] || wait "$perf_pid"
updates=$(cat "$data/updates.txt")
echo "$updates" | grep -E "achieved|latency|errors"
echo "$during" | grep -E "achieved|latency|errors "
builds=$(($(metric attex_catalog_builds) - builds0))
patches=$(($(metric attex_catalog_patches) - patches0))
upserts=$(($(metric attex_catalog_upserts) - upserts0))
commits_now=$(metric attex_campaign_commits)

echo
echo "Campaign updates at $CAMPAIGNS campaigns ($(lscpu | sed -n 's/^Model name: *//p')):"
echo "  updates absorbed         alone $(echo "$alone" | rate)/s, beside Bid $(echo "$updates" | rate)/s (offered $RATE/s from $CLIENTS clients)"
echo "  visible to Bid after     alone p50 $(echo "$alone" | p50) ms, p99 $(echo "$alone" | p99) ms; beside Bid p50 $(echo "$updates" | p50) ms, p99 $(echo "$updates" | p99) ms (the call's latency)"
echo "  server CPU per update    $(awk -v t="$ticks" -v u="$upserts_alone" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (u > 0 ? t * 1000 / hz / u : 0) }') ms (alone, all threads: gRPC, store, compile, publish)"
echo "  catalogue publishes      $patches patches, $builds whole builds for $upserts changes" \
  "($(awk -v u="$upserts" -v p="$((patches + builds))" 'BEGIN { printf "%.1f", (p > 0 ? u / p : 0) }') changes a publish)"
if [ -n "$commits0" ] && [ -n "$commits_now" ]; then
  commits=$((commits_now - commits0))
  echo "  store commits            $commits for $upserts changes" \
    "($(awk -v u="$upserts" -v c="$commits" 'BEGIN { printf "%.1f", (c > 0 ? u / c : 0) }') changes a commit, one fsync each)"
fi
errors() { sed -n 's/^  achieved .*calls, \([0-9]*\) errors.*/\1/p'; }
# p99 of the answered (OK) calls: the per-status line when some failed.
p99ok() {
  local out ok
  out=$(cat)
  ok=$(echo "$out" | sed -n 's/^    OK  *[0-9]* calls, p50 [0-9.]*  p99 \([0-9.]*\) .*/\1/p')
  if [ -n "$ok" ]; then echo "$ok"; else echo "$out" | p99; fi
}
echo "  Bid p99 (OK), 1 in flight before $(echo "$before" | p99ok) ms ($(echo "$before" | rate)/s, $(echo "$before" | errors) errors)," \
  "during $(echo "$during" | p99ok) ms ($(echo "$during" | rate)/s, $(echo "$during" | errors) errors)"
echo "  server memory            RSS $(rss_mb VmRSS) MB, peak $(rss_mb VmHWM) MB"
