package rehearse

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

// --traffic FILE runs the team's own statements, with parameters drawn from the named
// columns of the copy; its writes are rolled back, and what the migration did to them is
// measured as for the synthetic traffic.
func TestTrafficFile(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{"0001_index.sql": "CREATE INDEX orders_code ON orders (code, amount);"})
	file := filepath.Join(t.TempDir(), "traffic.yaml")
	os.WriteFile(file, []byte(`# what the shop does all day
queries:
  - sql: UPDATE orders SET status = $2 WHERE id = $1
    params: [public.orders.id, orders.status]
    weight: 3
  - sql: SELECT name FROM customers WHERE id = $1
    params: [public.customers.id]
  - sql: DELETE FROM customers WHERE id = $1
    params: [customers.id]
`), 0o644)
	rep, err := rehearse(t, dsn, Options{Migrations: dir, Traffic: file, TrafficClients: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Traffic.Mode != "file" || rep.Traffic.File != file || strings.Join(rep.Traffic.Tables, ",") != "public.customers,public.orders" {
		t.Errorf("traffic info: %+v", rep.Traffic)
	}
	st := findStmt(t, rep, "0001_index.sql", 0)
	tr := st.Traffic
	if tr == nil || tr.Queries == 0 || tr.Waited == 0 || tr.BlockedWrites == 0 || strings.Join(tr.BlockedTables, ",") != "public.orders" || tr.Errors != 0 {
		t.Errorf("the file's updates of orders must be blocked by CREATE INDEX (and nothing else): %+v", tr)
	}
	c := pgtest.Connect(t, dsn)
	defer c.Close(t.Context())
	var customers, changed int
	if err := c.QueryRow(t.Context(), "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders WHERE status <> id % 5)").Scan(&customers, &changed); err != nil {
		t.Fatal(err)
	}
	if customers != 20000 || changed != 0 {
		t.Errorf("the file's writes must be rolled back: %d customers (want 20000), %d orders changed", customers, changed)
	}
}

func TestTrafficFileErrors(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{"0001.sql": "SELECT 1;"})
	cases := []struct{ src, want string }{
		{"queries:\n  - sql: SELECT 1\n    wieght: 2\n", `:3: queries[0]: unknown key "wieght" (did you mean "weight"?)`},
		{"queries:\n  - sql: SELECT * FROM orders WHERE id = $1 AND status = $2\n    params: [orders.id]\n", `:2: queries[0]: the SQL uses $2 but params names 1 column`},
		{"queries:\n  - sql: SELECT * FROM orders WHERE id = $1\n    params: [orders.idd]\n", `:3: queries[0].params: no column public.orders.idd`},
		{"queries:\n  - sql: SELECT * FROM ordrs\n", `:2: queries[0]: the statement fails on the copy: relation "ordrs" does not exist (SQLSTATE 42P01)`},
		{"queries:\n  - params: [orders.id]\n", `:2: queries[0]: needs sql`},
		{"queries:\n  - sql: SELECT 1\n    weight: 0\n", `:3: queries[0].weight: must be a whole number of at least 1`},
		{"queries:\n  - sql: SELECT 1; SELECT 2\n", `:2: queries[0].sql: one statement per entry`},
	}
	for _, c := range cases {
		file := filepath.Join(t.TempDir(), "traffic.yaml")
		os.WriteFile(file, []byte(c.src), 0o644)
		_, err := rehearse(t, dsn, Options{Migrations: dir, Traffic: file})
		var ue *failure.UserError
		if !errors.As(err, &ue) || ue.Code != failure.ExitUsage || !strings.Contains(err.Error(), file+c.want) {
			t.Errorf("%q: want exit 2 with %q; got %v", c.src, file+c.want, err)
		}
	}
}
