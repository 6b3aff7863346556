#!/usr/bin/env bash
# The learning loop in one command (docs/model.md#the-loop): starts attex-server with
# --training_log, simulates day 1 on the default model (tools/attex-sim), trains
# (tools/attex-train), evaluates offline (learned, default, logistic regression, the
# world's truth), reloads the learned model into the running server while the sim keeps
# bidding, simulates day 2 on the default model, the learned one and the logistic-regression
# baseline (served as an attention model, docs/model.md) on the same traffic seed,
# and prints the table of issue 14's targets, then one `learning:` line.
#   ./deploy/learn.sh                 # builds first (deploy/deps.sh), then the full loop
#   ./deploy/learn.sh --quick         # a minute or two: smaller days, fewer epochs
#   BUILD_DIR=build ./deploy/learn.sh --no_build --quick   # what ctest runs
#   POOLING=sum ./deploy/learn.sh     # the learned model sums the evidence (docs/model.md)
#   EXPLORE_SHARE=0.1 ./deploy/learn.sh   # a tenth of the requests explore one slot
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --no_build) BUILD=0 ;;
    *) echo "learn.sh: unknown argument $arg (--quick, --no_build)" >&2; exit 2 ;;
  esac
done
BUILD_DIR="${BUILD_DIR:-build}"
if [[ $BUILD == 1 ]]; then
  source deploy/deps.sh
  attex_install_deps
  attex_build "$BUILD_DIR"
fi
BIN="$(cd "$BUILD_DIR/bin" && pwd)"
PY=/usr/bin/python3
# REQUESTS: day 1 (what the model learns from); DAY2_REQUESTS: each of the two day 2s.
if [[ $QUICK == 1 ]]; then
  REQUESTS="${REQUESTS:-6000}" DAY2_REQUESTS="${DAY2_REQUESTS:-6000}" EPOCHS="${EPOCHS:-4}"
  RELOAD_REQUESTS=1500
else
  REQUESTS="${REQUESTS:-100000}" DAY2_REQUESTS="${DAY2_REQUESTS:-60000}" EPOCHS="${EPOCHS:-8}"
  RELOAD_REQUESTS=4000
fi
SEED="${SEED:-1}"
# POOLING: how the learned model's context vector pools the user's evidence
# (docs/model.md#what-limits-the-offline-auc): normalised (the default model's formula) or
# sum (the evidence adds up; its random rows start small, --row_scale 0.1, so that tokens
# the training never sees add next to nothing).
POOLING="${POOLING:-normalised}"
# EXPLORE_SHARE: the server's --explore_share (every day, both models): that share of
# requests has one slot filled with a uniformly drawn eligible ad at the floor, marked in
# the training log; the trainer then weighs those by inverse propensity (--ips) and the
# evaluation scores them apart too (docs/model.md#the-training-log).
EXPLORE_SHARE="${EXPLORE_SHARE:-0}"
EXPLORE_ARGS=()
[[ "$EXPLORE_SHARE" == 0 ]] || EXPLORE_ARGS=(--ips)
case "$POOLING" in
  normalised) POOLING_ARGS=(--pooling normalised) ;;
  sum) POOLING_ARGS=(--pooling sum --row_scale 0.1) ;;
  *) echo "learn.sh: POOLING must be normalised or sum, got $POOLING" >&2; exit 2 ;;
esac

WORK="$(mktemp -d /tmp/attex-learn.XXXXXX)"
SERVER_PIDS=()
cleanup() {
  for pid in ${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -n "${KEEP:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT

# start_server NAME [flags...]: a server on a free loopback port, its files in
# $WORK/NAME; sets ADDR, TOKENS, COMMON (the sim's arguments) and OP (the CLI).
start_server() {
  local name="$1" dir="$WORK/$1"
  shift
  mkdir -p "$dir"
  "$BIN/attex-server" --listen=127.0.0.1:0 --port_file="$dir/port" --data_dir="$dir/data" \
    --demo --explore_share="$EXPLORE_SHARE" --bid_queue_ms=1000 --log_level=warn --metrics_listen= "$@" \
    >"$dir/server.log" 2>&1 &
  SERVER_PIDS+=($!)
  for _ in $(seq 300); do [[ -s "$dir/port" ]] && break; sleep 0.1; done
  [[ -s "$dir/port" ]] || { echo "learn.sh: the server did not start; see its log:" >&2; cat "$dir/server.log" >&2; exit 1; }
  ADDR="127.0.0.1:$(cat "$dir/port")"
  TOKENS="$dir/data/demo-tokens.json"
  COMMON=(--addr "$ADDR" --tokens "$TOKENS" --state "$dir/sim.json")
  OP=("$BIN/attex" --addr "$ADDR" --token "$(sed -E 's/.*"operator": "([^"]+)".*/\1/' "$TOKENS")")
}
SIM=("$PY" tools/attex-sim)
start_server main --training_log="$WORK/log"

echo "== the world (seed $SEED), day 1 on the default model: $REQUESTS requests"
"${SIM[@]}" setup "${COMMON[@]}" --seed "$SEED"
"${SIM[@]}" day "${COMMON[@]}" --day 1 --requests "$REQUESTS" --truth "$WORK/truth.tsv" \
  --json "$WORK/day1.json"
sleep 2  # The training log's writer flushes within a second.

echo "== train ($EPOCHS epochs, pooling $POOLING) and evaluate on the latest 20% of day 1"
"$BIN/attex-model" default --out "$WORK/default.bin" >/dev/null           # what served day 1
# From random parameters, one head, 4,096 buckets (the server's d_model): a day's
# impressions overfit the default model's 65,536 rows (docs/model.md#the-loop-deploylearnsh).
# The epoch kept is the best on the latest 10% of the training split; the learning rate
# falls from 0.01 to 0.0002 along a cosine (docs/model.md#one-run-and-what-it-shows).
"$PY" tools/attex-train train --log "$WORK/log" --out "$WORK/learned.bin" --d_model 64 --heads 1 \
  --buckets 4096 --lr 0.01 --schedule cosine --lr_final 0.0002 --l2 1e-4 --batch 1024 \
  "${POOLING_ARGS[@]}" ${EXPLORE_ARGS[@]+"${EXPLORE_ARGS[@]}"} --epochs "$EPOCHS" 2>&1 | tr '\r' '\n' | tail -n 4
"$PY" tools/attex-train evaluate --log "$WORK/log" --model "$WORK/learned.bin" \
  --default "$WORK/default.bin" --truth "$WORK/truth.tsv" --json "$WORK/eval.json" \
  --baseline_out "$WORK/baseline.bin"

echo "== day 2 on the default model (traffic seed 2): $DAY2_REQUESTS requests"
"${SIM[@]}" day "${COMMON[@]}" --day 2 --traffic_seed 2 --requests "$DAY2_REQUESTS" --json "$WORK/day2-default.json"

echo "== reload the learned model while the sim bids"
"${SIM[@]}" day "${COMMON[@]}" --day 0 --traffic_seed 99 --requests "$RELOAD_REQUESTS" \
  --json "$WORK/reload.json" &
LOAD_PID=$!
sleep 1
"${OP[@]}" reload-model "$WORK/learned.bin"
wait "$LOAD_PID" || true
"${OP[@]}" stats | grep model_version

echo "== day 2 on the learned model (the same traffic seed 2)"
"${SIM[@]}" day "${COMMON[@]}" --day 2 --traffic_seed 2 --requests "$DAY2_REQUESTS" --json "$WORK/day2-learned.json"

# The baseline's d_model (2 per ad token, docs/model.md#the-baseline-served) is not the
# running server's, which a reload refuses (campaigns' embeddings are validated for the
# served d): a server started on it, with the same world.
echo "== day 2 on the logistic-regression baseline (its own server, the same world and traffic seed 2)"
start_server baseline --model="$WORK/baseline.bin"
"${SIM[@]}" setup "${COMMON[@]}" --seed "$SEED"
"${SIM[@]}" day "${COMMON[@]}" --day 2 --traffic_seed 2 --requests "$DAY2_REQUESTS" --json "$WORK/day2-baseline.json"

"$PY" - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
load = lambda n: json.load(open(f"{w}/{n}.json"))
ev, d, l, r = load("eval"), load("day2-default"), load("day2-learned"), load("reload")
b = load("day2-baseline")
A, L, D, T = (ev[k]["auc"] for k in ("learned", "logistic", "default", "truth"))
O = ev["observable"]["auc"]
gap = (A - D) / (T - D) if T > D else float("nan")
gap_o = (A - D) / (O - D) if O > D else float("nan")
reach = (O - D) / (T - D) if T > D else float("nan")
ctr = l["ctr"] / d["ctr"] - 1 if d["ctr"] else float("nan")
rev = (l["revenue_per_1000_requests_micros"] / d["revenue_per_1000_requests_micros"] - 1
       if d["revenue_per_1000_requests_micros"] else float("nan"))
F = r["failed_bids"]
ok = lambda b: "met" if b else "NOT met"
div_key = "dividend_per_1000_requests_micros"
rows = [
    ("offline: closes >= 80% of the AUC gap default -> truth", f"{gap:.1%}", ok(gap >= 0.8)),
    ("  of which any model of the logged features can close", f"{reach:.1%} (AUC {O:.4f})",
     "info"),
    ("  closed of the gap default -> observable", f"{gap_o:.1%}", "info"),
    ("offline: AUC above logistic regression", f"{A:.4f} vs {L:.4f}", ok(A > L)),
    ("market: CTR >= 20% above the default model",
     f"{ctr:+.1%} ({l['ctr']:.4f} vs {d['ctr']:.4f})", ok(ctr >= 0.2)),
    ("market: CTR not below the baseline (LR, served)",
     f"{l['ctr'] / b['ctr'] - 1 if b['ctr'] else float('nan'):+.1%} ({l['ctr']:.4f} vs {b['ctr']:.4f})",
     ok(l["ctr"] >= b["ctr"])),
    ("market: revenue per 1000 requests not lower", f"{rev:+.1%}", ok(rev >= 0)),
    ("market: users' dividend per 1000 requests, micros", f"{l[div_key]} vs {d[div_key]}", "info"),
    ("reload: zero failed Bid calls while the model is swapped", f"{F}", ok(F == 0)),
]
if "explored" in ev:  # EXPLORE_SHARE: the held-out impressions whose ad was drawn uniformly.
    x = ev["explored"]
    rows.insert(4, ("  on the explored impressions alone: learned, lr, default",
                    " ".join(f"{x[k]['auc']:.4f}" for k in ("learned", "logistic", "default")),
                    "info"))
print()
print(f"{'day 2, traffic seed 2':22s} {'impressions':>11s} {'clicks':>7s} {'CTR':>7s} "
      f"{'revenue/1000 req':>16s} {'dividend/1000 req':>17s}")
for name, x in (("default model", d), ("baseline (LR)", b), ("learned model", l)):
    print(f"{name:22s} {x['impressions']:11d} {x['clicks']:7d} {x['ctr']:7.4f} "
          f"{x['revenue_per_1000_requests_micros'] / 1e6:16.4f} "
          f"{x[div_key] / 1e6:17.4f}")
print()
print(f"{'target':58s} {'figure':>26s}  result")
for name, figure, result in rows:
    print(f"{name:58s} {figure:>26s}  {result}")
print(f"learning: auc_gap_closed {gap:.3f}, auc {A:.4f} (lr {L:.4f}, default {D:.4f}, truth {T:.4f}), "
      f"ctr_lift {ctr:+.3f}, revenue_lift {rev:+.3f}, failed_bids_during_reload {F}")
sys.exit(1 if F else 0)
PY
