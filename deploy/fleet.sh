#!/usr/bin/env bash
# A fleet on this machine (docs/fleet.md#running-the-fleet-locally): a
# throwaway PostgreSQL (deploy/pg_lib.sh), a throwaway Redis (budget
# slices), N attex-server replicas with --store=postgres, one shared
# --billing_key_file and --redis_addr, and HAProxy 2.6 in front of them
# (deploy/haproxy.cfg.in), all on loopback ports in a temporary directory
# (started by deploy/fleet_lib.sh). Prints how to reach them, waits, and
# stops them all on exit (Ctrl-C).
#   ./deploy/fleet.sh                 # three replicas
#   ./deploy/fleet.sh --replicas 5
#   ./deploy/fleet.sh test            # the fleet test (fleet_test); one line
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/deps.sh
source deploy/pg_lib.sh
source deploy/fleet_lib.sh

BUILD_DIR="${BUILD_DIR:-build}"
replicas=3
mode=run
while [ $# -gt 0 ]; do
  case "$1" in
    test) mode=test ;;
    --replicas)
      replicas="${2:-}"
      shift
      ;;
    *)
      echo "fleet.sh: unknown argument \"$1\" (usage: fleet.sh [--replicas N] | fleet.sh test)" >&2
      exit 2
      ;;
  esac
  shift
done
if ! [[ "$replicas" =~ ^[1-9][0-9]?$ ]]; then
  echo "fleet.sh: --replicas must be 1 to 99, not \"$replicas\"" >&2
  exit 2
fi

attex_install_deps >/dev/null
if [ ! -x "$BUILD_DIR/bin/attex-server" ]; then attex_build "$BUILD_DIR"; fi

if [ "$mode" = test ]; then
  cmake --build "$BUILD_DIR" --target fleet_test >/dev/null
  log="$(mktemp)"
  if ! "$BUILD_DIR/tests/e2e/fleet_test" >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    echo "fleet: the fleet test FAILED (its output is above)"
    exit 1
  fi
  grep '^fleet:' "$log" | tail -1
  rm -f "$log"
  exit 0
fi

cmake --build "$BUILD_DIR" --target attex-server attex >/dev/null
BIN="$(cd "$BUILD_DIR/bin" && pwd)"

trap fleet_stop EXIT
trap 'exit 130' INT TERM
fleet_start "$BIN" "$replicas" --drain_delay_s=5
dir="$fleet_dir"
balancer="$fleet_balancer"
list="$fleet_list"
ports=("${fleet_ports[@]}")
agents=("${fleet_agents[@]}")
pids=("${fleet_pids[@]}")
token="$(fleet_platform_token)"
first=""
for _ in $(seq 1 50); do
  if first="$("$BIN/attex" --addr "$balancer" --token "$token" bid --user_id u1 \
    --feature interest:running --country US --slot top:banner:0 2>&1)"; then
    break
  fi
  sleep 0.1
done

cat <<MSG

attex fleet: $replicas replicas on PostgreSQL ($pg_dsn), budget slices in Redis
($fleet_redis: redis-cli -p ${fleet_redis##*:} --scan --pattern 'attex:slice:*'), HAProxy in front.
  balancer:  $balancer (HAProxy; config $dir/haproxy.cfg, log $dir/haproxy.log)
MSG
for i in $(seq 1 "$replicas"); do
  echo "  replica $i: 127.0.0.1:${ports[$((i - 1))]} (agent-check port ${agents[$((i - 1))]}, log $dir/r$i/server.log)"
done
cat <<MSG
  demo tokens: $dir/r1/demo-tokens.json

A first bid through the balancer:
  export PATH="$BIN:\$PATH" ATTEX_ADDR=$balancer ATTEX_TOKEN=$token
  attex bid --user_id u1 --feature interest:running --country US --slot top:banner:0
$first

Client-side round robin instead of the balancer: ATTEX_ADDR=$list
Drain one replica (it says NOT_SERVING and "drain" for 5 s, then stops):
  kill -TERM <pid>   (replica pids: ${pids[*]:0:$replicas})
Ctrl-C stops the whole fleet.
MSG
wait "${pids[-1]}"
