#!/usr/bin/env bash
# Loads one of the public datasets in ../shared/datasets into a PostgreSQL server, as its
# README says, unchanged. Prints the loaded database's DSN.
#
#   scripts/load-dataset.sh pagila  ADMIN_DSN DBNAME   # creates DBNAME
#   scripts/load-dataset.sh chinook ADMIN_DSN [DBNAME] # the dataset's script creates "chinook";
#                                                      # with DBNAME it is renamed to that
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:?usage: load-dataset.sh pagila|chinook ADMIN_DSN [DBNAME]}
admin=${2:?usage: load-dataset.sh pagila|chinook ADMIN_DSN [DBNAME]}
datasets=${UNDERSTUDY_DATASETS:-$(cd "$here/../.." && pwd)/shared/datasets}
[ -d "$datasets/$name" ] || { echo "no dataset $name under $datasets" >&2; exit 1; }

with_db() { # DSN (URL form) with its database replaced
  sed -E "s#^(postgres(ql)?://[^/]*)/?[^?]*#\1/$2#" <<<"$1"
}

export PGOPTIONS="-c client_min_messages=warning"
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@" >/dev/null; }

case "$name" in
pagila)
  db=${3:-pagila}
  psql_q "$admin" -c "CREATE DATABASE \"$db\""
  dsn=$(with_db "$admin" "$db")
  psql_q "$dsn" -f "$datasets/pagila/pagila-schema.sql"
  psql_q "$dsn" -f "$datasets/pagila/pagila-data.sql"
  ;;
chinook)
  db=${3:-chinook}
  # The dataset's own script drops and creates "chinook": loads running at once (test
  # packages run in parallel) take turns, and each renames its copy out of the way.
  (
    flock 9
    psql_q "$admin" -f "$datasets/chinook/Chinook_PostgreSql.sql"
    if [ "$db" != chinook ]; then
      psql_q "$admin" -c "ALTER DATABASE chinook RENAME TO \"$db\""
    fi
  ) 9>"${TMPDIR:-/tmp}/understudy-chinook-load.lock"
  dsn=$(with_db "$admin" "$db")
  ;;
*)
  echo "unknown dataset $name (pagila or chinook)" >&2
  exit 2
  ;;
esac
echo "$dsn"
