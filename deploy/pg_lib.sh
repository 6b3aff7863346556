# A throwaway PostgreSQL 15 cluster for scripts (the fleet, benchmarks), as
# the tests make one (tests/testing/pg_cluster.h): initdb into a directory,
# the server on a free loopback port with its socket in that directory, run
# as the postgres account when the script runs as root (PostgreSQL refuses
# root). Source from the repository root.
#   source deploy/pg_lib.sh
#   pg_start_cluster /tmp/attex-pg     # sets $pg_dsn (database "attex")
#   ...
#   pg_stop_cluster                    # stops it; the directory is the caller's
PG_BINDIR="${ATTEX_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
pg_dir=""
pg_dsn=""

# Runs a PostgreSQL program as the account that owns the cluster.
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start_cluster DIR: a new cluster in DIR (made if missing, must be
# empty; as root, the folders above it must let the postgres account pass), started on a free loopback port, with a database "attex" and the
# superuser "attex" (trust authentication: loopback only). Sets $pg_dir and
# $pg_dsn. Fails, naming the package, when PostgreSQL is not installed.
pg_start_cluster() {
  local dir="$1" port
  if [ ! -x "$PG_BINDIR/initdb" ]; then
    echo "pg_lib: no $PG_BINDIR/initdb: install postgresql (deploy/deps.sh does)" >&2
    return 1
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  if ! pg_as_owner test -w "$dir"; then
    echo "pg_lib: the postgres account cannot write $dir (every folder above it must let it pass)" >&2
    return 1
  fi
  pg_as_owner "$PG_BINDIR/initdb" -D "$dir/data" -U attex -A trust -E UTF8 --locale=C \
    --no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  pg_as_owner "$PG_BINDIR/pg_ctl" start -D "$dir/data" -w -t 60 -l "$dir/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" >/dev/null ||
    { cat "$dir/server.log" >&2; return 1; }
  pg_dir="$dir"
  pg_as_owner "$PG_BINDIR/psql" -h 127.0.0.1 -p "$port" -U attex -d postgres -q \
    -c "CREATE DATABASE attex" >/dev/null
  pg_dsn="host=127.0.0.1 port=$port user=attex dbname=attex"
}

# Stops the cluster pg_start_cluster started, if any (fast shutdown).
pg_stop_cluster() {
  if [ -n "$pg_dir" ]; then
    pg_as_owner "$PG_BINDIR/pg_ctl" stop -D "$pg_dir/data" -m fast -w >/dev/null || true
  fi
  pg_dir=""
}
