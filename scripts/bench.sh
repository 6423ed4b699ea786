#!/usr/bin/env bash
# make bench: the end-to-end benchmark (benchmarks/). Copies a generated shop database of
# ROWS rows (default 2000000) with the raw COPY floor, pg_dump+pg_restore, and understudy
# sync without and with rules; prints the comparison and writes benchmarks/RESULTS.md.
#
# It starts a throwaway PostgreSQL for the run and stops it afterwards. With
# UNDERSTUDY_BENCH_PG set (a superuser postgres:// URL) it uses that server instead and
# keeps the fixture database bench_src_<rows> there, so the next run skips building it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-go.sh
export GOFLAGS=-buildvcs=false

export UNDERSTUDY_BENCH_ROWS=${ROWS:-${UNDERSTUDY_BENCH_ROWS:-2000000}}
case $UNDERSTUDY_BENCH_ROWS in
'' | *[!0-9]*) echo "ROWS=$UNDERSTUDY_BENCH_ROWS: want a number of rows" >&2; exit 2 ;;
esac

if [ -n "${UNDERSTUDY_BENCH_PG:-}" ]; then
  bin=$(scripts/pg-deps.sh)
  echo "== using the PostgreSQL at $(sed -E 's#(//[^:/@]*):[^@]*@#\1:***@#' <<<"$UNDERSTUDY_BENCH_PG") (UNDERSTUDY_BENCH_PG)"
else
  # Under /tmp: the postgres user must be able to reach it, whoever owns the checkout.
  pgdir=$(mktemp -d /tmp/understudy-bench.XXXXXX)
  trap 'scripts/pg.sh stop "$pgdir"' EXIT
  echo "== starting a throwaway PostgreSQL"
  UNDERSTUDY_BENCH_PG=$(scripts/pg.sh start "$pgdir")
  bin=$(cat "$pgdir/bin")
fi
export UNDERSTUDY_BENCH_PG
export PATH="$bin:$PATH" # psql, pg_dump and pg_restore of the server's version

echo "== building understudy"
go build -o bin/understudy ./cmd/understudy
export UNDERSTUDY_BIN=$PWD/bin/understudy

echo "== benchmark: $UNDERSTUDY_BENCH_ROWS rows, $(nproc) CPUs (run nothing else meanwhile)"
go test ./benchmarks -run '^$' -bench . -benchtime 1x -timeout 0
