#!/usr/bin/env bash
# Times Operator.ReloadModel at a large catalogue (default 250,000 campaigns x 4
# creatives = 1,000,006 active ads with the demo's): seeds a data dir offline
# (attex-load --seed_data_dir), starts attex-server without an ANN index, reloads a
# one-head model and prints the answer (embed_seconds: off the work queue; swap_seconds:
# on it) and the server's peak memory (both catalogues live during the swap).
#   CAMPAIGNS=25000 BUILD_DIR=build ./deploy/bench_reload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(cd "${BUILD_DIR:-build}/bin" && pwd)"
CAMPAIGNS="${CAMPAIGNS:-250000}"
D="$(mktemp -d /tmp/attex-bench-reload.XXXXXX)"
PID=""
trap '[[ -n "$PID" ]] && kill "$PID" 2>/dev/null; rm -rf "$D"' EXIT
start() {
  rm -f "$D/port"
  "$BIN/attex-server" --listen=127.0.0.1:0 --port_file="$D/port" --data_dir="$D/data" --demo \
    --ann_min_ads=0 --metrics_listen= --log_level=info >"$D/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1200); do [[ -s "$D/port" ]] && return; sleep 0.1; done
  echo "bench_reload: the server did not start" >&2; exit 1
}
start; kill "$PID"; wait "$PID" || true
"$BIN/attex-load" --seed_data_dir "$D/data" --tokens_file "$D/data/demo-tokens.json" \
  --campaigns "$CAMPAIGNS" --creatives_per_campaign 4 2>/dev/null | tail -1
start
"$BIN/attex-model" default --out "$D/h1.bin" --heads 1 >/dev/null
TOKEN="$(sed -E 's/.*"operator": "([^"]+)".*/\1/' "$D/data/demo-tokens.json")"
"$BIN/attex" --addr "127.0.0.1:$(cat "$D/port")" --token "$TOKEN" --timeout_ms 600000 \
  reload-model "$D/h1.bin"
grep VmHWM "/proc/$PID/status"
