# Shared by the benchmark scripts (bench.sh, bench_large.sh, bench_updates.sh):
# building what they run, and starting and stopping one attex-server.
# Source from the repository root; uses $BUILD_DIR.

# Builds attex-server, attex-load and any further targets ($@) in Release
# when attex-server or attex-load is missing.
bench_build() {
  if [ ! -x "$BUILD_DIR/bin/attex-server" ] || [ ! -x "$BUILD_DIR/bin/attex-load" ]; then
    source deploy/deps.sh
    attex_install_deps
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD_DIR" -j 2 --target attex-server attex-load "$@"
  fi
}

server_pid=""
# Stops the server bench_start_server started, if any (SIGTERM, then waits).
bench_stop_server() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}

# bench_start_server CPUS SERVER DATA_DIR [flags...]: starts server binary
# SERVER pinned to CPUS on DATA_DIR, on a free loopback port, and waits (up
# to 5 minutes: a large catalogue loads for a while) until it listens; sets
# $server_pid and $addr.
bench_start_server() {
  local cpus="$1" server="$2" dir="$3"
  shift 3
  rm -f "$dir/port"
  taskset -c "$cpus" "$server" --listen 127.0.0.1:0 --data_dir "$dir" --port_file "$dir/port" \
    --log_level warn "$@" &
  server_pid=$!
  for _ in $(seq 3000); do
    [ -s "$dir/port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -s "$dir/port" ] || { echo "$(basename "$0"): the server did not start" >&2; exit 1; }
  addr="127.0.0.1:$(cat "$dir/port")"
}
