# A fleet on this machine, for deploy/fleet.sh and deploy/bench_fleet.sh: a
# throwaway PostgreSQL (deploy/pg_lib.sh), a throwaway Redis for the budget
# slices, N attex-server replicas with --store=postgres, one shared
# --billing_key_file and --redis_addr, and HAProxy 2.6 in
# front of them (deploy/haproxy.cfg.in), all on loopback ports in a
# temporary directory. Source from the repository root, after
# deploy/pg_lib.sh.
#   source deploy/pg_lib.sh; source deploy/fleet_lib.sh
#   trap fleet_stop EXIT
#   fleet_start build/bin 3 --drain_delay_s=5     # flags go to every replica
#   ... $fleet_balancer, $fleet_list, "${fleet_ports[@]}", $fleet_dir, $fleet_redis ...
HAPROXY="${ATTEX_HAPROXY:-/usr/sbin/haproxy}"
REDIS_SERVER="${ATTEX_REDIS_SERVER:-/usr/bin/redis-server}"
fleet_dir=""
fleet_redis=""     # Redis's address:port (budget slices).
fleet_redis_pid=""
fleet_pids=()      # The replicas', in order, then HAProxy's.
fleet_ports=()     # Each replica's gRPC port.
fleet_agents=()    # Each replica's agent-check port.
fleet_metrics=()   # Each replica's Prometheus /metrics port.
fleet_balancer=""  # HAProxy's address:port.
fleet_list=""      # The replicas' addresses, comma-separated (client-side round robin).

fleet_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# fleet_start BIN N [flags...]: starts PostgreSQL, Redis, N replicas of
# BIN/attex-server with `flags` (replica i named r<i> in the slices) and
# HAProxy in a new directory under /tmp ($fleet_dir: pg/, redis/,
# billing.key, r1/ ... rN/ with each replica's data dir,
# port file and server.log, haproxy.cfg and haproxy.log). Replica 1 seeds the
# demo accounts and campaigns (r1/demo-tokens.json); the others start after
# it and load them (accounts reach a replica at its start). Returns once
# every replica listens and HAProxy is started; fails, showing the log, when
# a replica does not start.
fleet_start() {
  local bin="$1" replicas="$2" i port agent metrics servers="" line
  shift 2
  # The postgres account must be able to pass into the directory (pg_lib.sh).
  fleet_dir="$(mktemp -d /tmp/attex-fleet-XXXXXX)"
  chmod 755 "$fleet_dir"
  pg_start_cluster "$fleet_dir/pg"
  head -c 32 /dev/urandom >"$fleet_dir/billing.key"
  chmod 600 "$fleet_dir/billing.key"
  mkdir -p "$fleet_dir/redis"
  fleet_redis="127.0.0.1:$(fleet_free_port)"
  "$REDIS_SERVER" --port "${fleet_redis##*:}" --bind 127.0.0.1 --dir "$fleet_dir/redis" \
    --save '' --appendonly no --logfile "$fleet_dir/redis/redis.log" --daemonize no &
  fleet_redis_pid=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${fleet_redis##*:}") 2>/dev/null; then break; fi
    sleep 0.05
  done
  for i in $(seq 1 "$replicas"); do
    port="$(fleet_free_port)"
    agent="$(fleet_free_port)"
    metrics="$(fleet_free_port)"
    mkdir -p "$fleet_dir/r$i"
    local demo=()
    if [ "$i" -eq 1 ]; then demo=(--demo); fi
    "$bin/attex-server" --store=postgres --postgres_dsn="$pg_dsn" \
      --billing_key_file="$fleet_dir/billing.key" --data_dir="$fleet_dir/r$i" \
      --listen="127.0.0.1:$port" --health_agent_listen="127.0.0.1:$agent" \
      --port_file="$fleet_dir/r$i/port" --metrics_listen="127.0.0.1:$metrics" \
      --redis_addr="$fleet_redis" --replica_id="r$i" "${demo[@]}" "$@" >"$fleet_dir/r$i/server.log" 2>&1 &
    fleet_pids+=($!)
    for _ in $(seq 1 300); do
      if [ -s "$fleet_dir/r$i/port" ]; then break; fi
      if ! kill -0 "${fleet_pids[-1]}" 2>/dev/null; then
        cat "$fleet_dir/r$i/server.log" >&2
        return 1
      fi
      sleep 0.1
    done
    if [ ! -s "$fleet_dir/r$i/port" ]; then
      echo "fleet_lib: replica $i did not start (log: $fleet_dir/r$i/server.log)" >&2
      return 1
    fi
    fleet_ports+=("$port")
    fleet_agents+=("$agent")
    fleet_metrics+=("$metrics")
    servers+="  server r$i 127.0.0.1:$port agent-port $agent"$'\n'
    fleet_list+="${fleet_list:+,}127.0.0.1:$port"
  done

  fleet_balancer="127.0.0.1:$(fleet_free_port)"
  while IFS= read -r line; do
    if [ "$line" = "@SERVERS@" ]; then
      printf '%s' "$servers"
    else
      printf '%s\n' "${line//@BALANCER@/$fleet_balancer}"
    fi
  done <deploy/haproxy.cfg.in >"$fleet_dir/haproxy.cfg"
  "$HAPROXY" -db -f "$fleet_dir/haproxy.cfg" >"$fleet_dir/haproxy.log" 2>&1 &
  fleet_pids+=($!)
}

# The demo platform token (fleet_start's replica 1 wrote it).
fleet_platform_token() {
  sed -E 's/.*"platform": "([^"]+)".*/\1/' "$fleet_dir/r1/demo-tokens.json"
}

# Stops what fleet_start started (SIGTERM to each, then waits: a replica
# drains for its --drain_delay_s, then gives its slices back), stops Redis
# and PostgreSQL and removes the
# directory. Safe to call when nothing or part of it was started.
fleet_stop() {
  local pid
  for pid in "${fleet_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${fleet_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  fleet_pids=()
  if [ -n "$fleet_redis_pid" ]; then
    kill -TERM "$fleet_redis_pid" 2>/dev/null || true
    wait "$fleet_redis_pid" 2>/dev/null || true
  fi
  fleet_redis_pid=""
  pg_stop_cluster
  if [ -n "$fleet_dir" ]; then rm -rf "$fleet_dir"; fi
  fleet_dir=""
}
