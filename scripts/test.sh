#!/usr/bin/env bash
# make test: vet, then every test, with a real PostgreSQL server started for the run and
# stopped afterwards. Under CI=true integration tests fail (never skip) without it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-go.sh
export GOFLAGS=-buildvcs=false

mkdir -p .cache
# Under /tmp: the postgres user must be able to reach it, whoever owns the checkout.
pgdir=$(mktemp -d /tmp/understudy-pg.XXXXXX)
s3dir=$(mktemp -d /tmp/understudy-s3.XXXXXX)
cleanup() { scripts/s3.sh stop "$s3dir"; scripts/pg.sh stop "$pgdir"; }
trap cleanup EXIT
UNDERSTUDY_TEST_PG=$(scripts/pg.sh start "$pgdir")
export UNDERSTUDY_TEST_PG
# S3-compatible server (versitygw, built once into .cache/bin). Only UNDERSTUDY_TEST_S3 (its
# env file) is exported: tests that want the AWS variables set them from it (fixtures/s3test).
scripts/s3.sh start "$s3dir" >/dev/null
export UNDERSTUDY_TEST_S3=$s3dir/env
# The independent Parquet reader of the snapshot tests (node + hyparquet, into .cache/npm).
scripts/npm-deps.sh >/dev/null
export UNDERSTUDY_DATASETS=${UNDERSTUDY_DATASETS:-$(cd .. && pwd)/shared/datasets}
export PATH="$(cat "$pgdir/bin"):$PATH"   # pg_dump and psql of the server's version

echo "== go vet"
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
echo "== go test (PostgreSQL at $(sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$UNDERSTUDY_TEST_PG"), S3 at $(sed -n 's/^export AWS_ENDPOINT_URL_S3=//p' "$UNDERSTUDY_TEST_S3"))"
go test -count=1 -timeout 20m ./... 2>&1 | tee .cache/test.log
