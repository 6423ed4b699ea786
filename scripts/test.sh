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
cleanup() { scripts/pg.sh stop "$pgdir"; }
trap cleanup EXIT
UNDERSTUDY_TEST_PG=$(scripts/pg.sh start "$pgdir")
export UNDERSTUDY_TEST_PG
export UNDERSTUDY_DATASETS=${UNDERSTUDY_DATASETS:-$(cd .. && pwd)/shared/datasets}
export PATH="$(cat "$pgdir/bin"):$PATH"   # pg_dump and psql of the server's version

echo "== go vet"
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
echo "== go test (PostgreSQL at $(sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$UNDERSTUDY_TEST_PG"))"
go test -count=1 -timeout 20m ./... 2>&1 | tee .cache/test.log
