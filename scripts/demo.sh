#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL, a generated "production" shop database, an understudy
# sync of it into staging with anonymization rules, then the same as a snapshot restored
# into a second database, then production-sized copies (sync --scale 3, and restore --scale 3
# of the snapshot); prints what it did.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-go.sh
export GOFLAGS=-buildvcs=false
rows=${ROWS:-200000}

echo "== building understudy"
go build -o bin/understudy ./cmd/understudy
go build -o bin/shopgen ./fixtures/cmd/shopgen

pgdir=$(mktemp -d /tmp/understudy-demo.XXXXXX)
trap 'scripts/pg.sh stop "$pgdir"' EXIT
echo "== starting a throwaway PostgreSQL"
admin=$(scripts/pg.sh start "$pgdir")
export PATH="$(cat "$pgdir/bin"):$PATH"
db() { sed -E "s#^(postgres://[^/]*)/[^?]*#\1/$1#" <<<"$admin"; }
prod=$(db prod)
stage=$(db stage)

echo "== generating a production-like shop database ($rows rows)"
bin/shopgen --dsn "$admin" --create-db prod --rows "$rows"
psql -X -q "$admin" -c "CREATE DATABASE stage" -c "CREATE DATABASE restored"

echo
echo "== understudy sync --source …/prod --target …/stage --config fixtures/demo.yaml"
export UNDERSTUDY_KEY=demo-key-only-for-the-throwaway-demo
bin/understudy sync --source "$prod" --target "$stage" --config fixtures/demo.yaml \
  --report "$pgdir/report.json" --progress-interval 5s

q="SELECT id, first_name, last_name, email, phone, street, left(coalesce(notes, 'NULL'), 20) AS notes FROM customers ORDER BY id LIMIT 3"
echo
echo "== production customers (first 3)"
psql -X "$prod" -c "$q"
echo "== staging customers (first 3): the same people, their contact data replaced"
psql -X "$stage" -c "$q"
echo "== checks on staging"
psql -X -At "$prod" -c "COPY (SELECT email FROM customers) TO STDOUT" >"$pgdir/prod-emails"
psql -X -q -At -v ON_ERROR_STOP=1 "$stage" <<SQL
CREATE TEMP TABLE prod_emails (email text);
\copy prod_emails FROM '$pgdir/prod-emails'
SELECT 'production emails found in staging: ' || count(*) FROM customers WHERE email IN (SELECT email FROM prod_emails);
SQL
psql -X -At "$stage" -c "SELECT 'foreign keys in staging (all validated): ' || count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated"
psql -X -At "$stage" -c "SELECT 'orders / order_items / payments: ' || (SELECT count(*) FROM orders) || ' / ' || (SELECT count(*) FROM order_items) || ' / ' || (SELECT count(*) FROM payments)"
echo "== run report: $pgdir/report.json (removed with the demo server)"
head -c 600 "$pgdir/report.json"; echo " …"

echo
echo "== understudy snapshot --to $pgdir/snap (the same rules, as Parquet files + manifest)"
bin/understudy snapshot --source "$prod" --to "$pgdir/snap" --config fixtures/demo.yaml --progress-interval 0 >/dev/null
bin/understudy snapshots show "$pgdir/snap"
echo
echo "== understudy restore --from $pgdir/snap --target …/restored"
bin/understudy restore --from "$pgdir/snap" --target "$(db restored)" --progress-interval 0 >/dev/null
digest="SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM customers c"
if [ "$(psql -X -At "$stage" -c "$digest")" = "$(psql -X -At "$(db restored)" -c "$digest")" ]; then
  echo "restored customers are byte for byte the synced ones: $(psql -X -At "$(db restored)" -c "SELECT count(*) FROM customers") rows"
else
  echo "restored customers differ from the synced ones" >&2
  exit 1
fi

echo
echo "== understudy sync --scale 3 (products shared): production-sized mock data"
psql -X -q "$admin" -c "CREATE DATABASE scaled"
bin/understudy sync --source "$prod" --target "$(db scaled)" --config fixtures/demo.yaml --scale 3 \
  --progress-interval 0 >/dev/null 2>"$pgdir/scale.log" || { cat "$pgdir/scale.log" >&2; exit 1; }
for t in customers orders order_items products; do
  echo "$t: $(psql -X -At "$prod" -c "SELECT count(*) FROM $t") in production, $(psql -X -At "$(db scaled)" -c "SELECT count(*) FROM $t") scaled"
done
psql -X -At "$(db scaled)" -c "SELECT 'foreign keys in the scaled copy (all validated): ' || count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated"

echo
echo "== understudy restore --scale 3 from the snapshot (CI blows it up without touching production)"
psql -X -q "$admin" -c "CREATE DATABASE ci_scaled"
bin/understudy restore --from "$pgdir/snap" --target "$(db ci_scaled)" --config fixtures/demo.yaml --scale 3 \
  --progress-interval 0 >/dev/null 2>"$pgdir/restore-scale.log" || { cat "$pgdir/restore-scale.log" >&2; exit 1; }
echo "customers: $(psql -X -At "$(db restored)" -c "SELECT count(*) FROM customers") in the snapshot, $(psql -X -At "$(db ci_scaled)" -c "SELECT count(*) FROM customers") restored"
names="SELECT count(DISTINCT (first_name, last_name, street)) FROM customers"
echo "distinct (name, street): $(psql -X -At "$(db restored)" -c "$names") in the snapshot, $(psql -X -At "$(db ci_scaled)" -c "$names") restored (each copy gets fresh fake values from the snapshot's rules)"

echo
echo "== understudy rehearse: two migrations on the scaled copy, with traffic on the tables they touch"
mkdir -p "$pgdir/migrations"
cat >"$pgdir/migrations/0001_orders_status.sql" <<'SQL'
CREATE INDEX orders_status_idx ON orders (status);
SQL
cat >"$pgdir/migrations/0002_items_product.sql" <<'SQL'
-- +goose NO TRANSACTION
CREATE INDEX CONCURRENTLY order_items_product_idx ON order_items (product_id);
SQL
# --reset puts the copy back afterwards, so the next variant starts from the same data.
bin/understudy rehearse --target "$(db scaled)" --migrations "$pgdir/migrations" --reset \
  --markdown "$pgdir/rehearsal.md" 2>"$pgdir/rehearse.log" || { cat "$pgdir/rehearse.log" >&2; exit 1; }
echo "(a pull-request comment was written to $pgdir/rehearsal.md; docs/rehearse.md explains every figure)"
