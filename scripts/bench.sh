#!/usr/bin/env bash
# make bench: the end-to-end benchmarks (benchmarks/). Copies a generated shop database of
# ROWS rows (default 2000000) with the raw COPY floor, pg_dump+pg_restore, and understudy
# sync without and with rules, and writes benchmarks/RESULTS.md; then dumps and restores it
# with pg_dump/pg_restore and understudy snapshot/restore, to a directory and to S3, and
# writes benchmarks/RESULTS-snapshot.md. BENCH=Snapshot (a go test -bench pattern) runs only
# some of them. The steps run in RUNS rounds (default 3), each round every step once, in
# turn, and each step's median run is reported: the machine is shared, its speed drifts,
# and one run can be off by half.
#
# It starts a throwaway PostgreSQL for the run and stops it afterwards. With
# UNDERSTUDY_BENCH_PG set (a superuser postgres:// URL) it uses that server instead and
# keeps the fixture database bench_src_<rows> there, so the next run skips building it.
# Likewise it starts a throwaway S3 server (versitygw, scripts/s3.sh) unless
# UNDERSTUDY_BENCH_S3 names the env file of one that scripts/s3.sh started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-go.sh
export GOFLAGS=-buildvcs=false

export UNDERSTUDY_BENCH_ROWS=${ROWS:-${UNDERSTUDY_BENCH_ROWS:-2000000}}
export UNDERSTUDY_BENCH_SCALE_ROWS=${ROWS:-${UNDERSTUDY_BENCH_SCALE_ROWS:-200000}} # BENCH=Scale writes 10× as many
runs=${RUNS:-3}
case $runs in
'' | *[!0-9]* | 0) echo "RUNS=$runs: want a number of runs, at least 1" >&2; exit 2 ;;
esac
case $UNDERSTUDY_BENCH_ROWS in
'' | *[!0-9]*) echo "ROWS=$UNDERSTUDY_BENCH_ROWS: want a number of rows" >&2; exit 2 ;;
esac

pgdir= s3dir=
cleanup() {
  if [ -n "$s3dir" ]; then scripts/s3.sh stop "$s3dir" || true; fi
  if [ -n "$pgdir" ]; then scripts/pg.sh stop "$pgdir" || true; fi
}
trap cleanup EXIT

if [ -n "${UNDERSTUDY_BENCH_PG:-}" ]; then
  bin=$(scripts/pg-deps.sh)
  echo "== using the PostgreSQL at $(sed -E 's#(//[^:/@]*):[^@]*@#\1:***@#' <<<"$UNDERSTUDY_BENCH_PG") (UNDERSTUDY_BENCH_PG)"
else
  # Under /tmp: the postgres user must be able to reach it, whoever owns the checkout.
  pgdir=$(mktemp -d /tmp/understudy-bench.XXXXXX)
  echo "== starting a throwaway PostgreSQL"
  UNDERSTUDY_BENCH_PG=$(scripts/pg.sh start "$pgdir")
  bin=$(cat "$pgdir/bin")
fi
export UNDERSTUDY_BENCH_PG

if [ -n "${UNDERSTUDY_BENCH_S3:-}" ]; then
  echo "== using the S3 server of $UNDERSTUDY_BENCH_S3 (UNDERSTUDY_BENCH_S3)"
else
  s3dir=$(mktemp -d /tmp/understudy-bench-s3.XXXXXX)
  echo "== starting a throwaway S3 server (versitygw)"
  scripts/s3.sh start "$s3dir" >/dev/null
  UNDERSTUDY_BENCH_S3=$s3dir/env
fi
export UNDERSTUDY_BENCH_S3
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL_S3 of that
# server, for the understudy subprocesses (the benchmark also sets them on each).
# shellcheck disable=SC1090
. "$UNDERSTUDY_BENCH_S3"
export PATH="$bin:$PATH" # psql, pg_dump and pg_restore of the server's version

echo "== building understudy"
go build -o bin/understudy ./cmd/understudy
export UNDERSTUDY_BIN=$PWD/bin/understudy

echo "== benchmark: $UNDERSTUDY_BENCH_ROWS rows, $(nproc) CPUs (run nothing else meanwhile)"
go test ./benchmarks -run '^$' -bench "${BENCH:-.}" -benchtime "$runs"x -timeout 0
