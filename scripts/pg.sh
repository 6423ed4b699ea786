#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL cluster on 127.0.0.1 at a free port.
#
#   scripts/pg.sh start DIR   # initdb + start; writes DIR/dsn (superuser DSN with password)
#   scripts/pg.sh stop DIR    # stop and remove DIR
#
# PostgreSQL refuses to run as root, so as root the server runs as the 'postgres' user.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: pg.sh start|stop DIR}
dir=${2:?usage: pg.sh start|stop DIR}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

case "$cmd" in
start)
  bin=$("$here/pg-deps.sh")
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  data="$dir/data"
  password=${UNDERSTUDY_TEST_PASSWORD:-understudy-test-pw}
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    chown postgres "$dir"
  fi
  printf '%s\n' "$password" >"$dir/pwfile"
  chmod 644 "$dir/pwfile"
  as_pg "$bin/initdb" -D "$data" -U postgres --pwfile="$dir/pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    if as_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
          -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
          -c max_connections=200 -c shared_buffers=256MB -c max_wal_size=4GB \
          -c maintenance_work_mem=256MB -c max_locks_per_transaction=256" start >/dev/null; then
      echo "postgres://postgres:$password@127.0.0.1:$port/postgres?sslmode=disable" >"$dir/dsn"
      echo "$bin" >"$dir/bin"
      cat "$dir/dsn"
      exit 0
    fi
    tail -5 "$dir/server.log" >&2 || true
  done
  echo "could not start PostgreSQL on a free port (see $dir/server.log)" >&2
  exit 1
  ;;
stop)
  [ -d "$dir/data" ] || exit 0
  bin=$(cat "$dir/bin" 2>/dev/null || "$here/pg-deps.sh")
  as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg.sh start|stop DIR" >&2
  exit 2
  ;;
esac
