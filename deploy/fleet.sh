#!/usr/bin/env bash
# A fleet on this machine (docs/fleet.md#running-the-fleet-locally): a
# throwaway PostgreSQL (deploy/pg_lib.sh), N attex-server replicas with
# --store=postgres and one shared --billing_key_file, and HAProxy 2.6 in
# front of them (deploy/haproxy.cfg.in), all on loopback ports in a
# temporary directory. Prints how to reach them, waits, and stops them all on
# exit (Ctrl-C).
#   ./deploy/fleet.sh                 # three replicas
#   ./deploy/fleet.sh --replicas 5
#   ./deploy/fleet.sh test            # the fleet test (fleet_test); one line
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/deps.sh
source deploy/pg_lib.sh

BUILD_DIR="${BUILD_DIR:-build}"
HAPROXY="${ATTEX_HAPROXY:-/usr/sbin/haproxy}"
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
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The postgres account must be able to pass into the directory (pg_lib.sh).
dir="$(mktemp -d /tmp/attex-fleet-XXXXXX)"
chmod 755 "$dir"
pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pg_stop_cluster
  rm -rf "$dir"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

pg_start_cluster "$dir/pg"
head -c 32 /dev/urandom >"$dir/billing.key"
chmod 600 "$dir/billing.key"

# Replica 1 seeds the demo accounts and campaigns; the others start after it
# and load them (accounts reach a replica at its start).
ports=()
agents=()
servers=""
for i in $(seq 1 "$replicas"); do
  port="$(free_port)"
  agent="$(free_port)"
  mkdir -p "$dir/r$i"
  demo=()
  if [ "$i" -eq 1 ]; then demo=(--demo); fi
  "$BIN/attex-server" --store=postgres --postgres_dsn="$pg_dsn" \
    --billing_key_file="$dir/billing.key" --data_dir="$dir/r$i" \
    --listen="127.0.0.1:$port" --health_agent_listen="127.0.0.1:$agent" \
    --port_file="$dir/r$i/port" --metrics_listen="127.0.0.1:0" \
    --drain_delay_s=5 "${demo[@]}" >"$dir/r$i/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    if [ -s "$dir/r$i/port" ]; then break; fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      cat "$dir/r$i/server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  if [ ! -s "$dir/r$i/port" ]; then
    echo "fleet.sh: replica $i did not start (log: $dir/r$i/server.log)" >&2
    exit 1
  fi
  ports+=("$port")
  agents+=("$agent")
  servers+="  server r$i 127.0.0.1:$port agent-port $agent"$'\n'
done

balancer="127.0.0.1:$(free_port)"
while IFS= read -r line; do
  if [ "$line" = "@SERVERS@" ]; then
    printf '%s' "$servers"
  else
    printf '%s\n' "${line//@BALANCER@/$balancer}"
  fi
done <deploy/haproxy.cfg.in >"$dir/haproxy.cfg"
"$HAPROXY" -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
pids+=($!)

token="$(sed -E 's/.*"platform": "([^"]+)".*/\1/' "$dir/r1/demo-tokens.json")"
list=""
for port in "${ports[@]}"; do list+="${list:+,}127.0.0.1:$port"; done
first=""
for _ in $(seq 1 50); do
  if first="$("$BIN/attex" --addr "$balancer" --token "$token" bid --user_id u1 \
    --feature interest:running --country US --slot top:banner:0 2>&1)"; then
    break
  fi
  sleep 0.1
done

cat <<MSG

attex fleet: $replicas replicas on PostgreSQL ($pg_dsn), HAProxy in front.
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
