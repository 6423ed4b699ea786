package rehearse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestHelperMigrator is not a test of its own: TestCommandExtendedProtocol runs this test
// binary again as its --command, with UNDERSTUDY_TEST_MIGRATOR=1. It is then a migration
// tool as goose is one: it reads DATABASE_URL and talks to the database with pgx, so in the
// extended protocol (Parse/Bind/Execute, cached prepared statements) and, for the batch,
// pipelined.
func TestHelperMigrator(t *testing.T) {
	if os.Getenv("UNDERSTUDY_TEST_MIGRATOR") != "1" {
		t.Skip("the migration tool of TestCommandExtendedProtocol")
	}
	ctx := context.Background()
	die := func(what string, err error) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "migrator: %s: %v\n", what, err)
			os.Exit(1)
		}
	}
	c, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	die("connect", err)
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "CREATE TABLE migrator_version (version int PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())")
	die("version table", err)

	tx, err := c.Begin(ctx)
	die("begin", err)
	_, err = tx.Exec(ctx, "ALTER TABLE customers ADD COLUMN email text")
	die("migration 1", err)
	_, err = tx.Exec(ctx, "INSERT INTO migrator_version (version) VALUES ($1)", 1)
	die("migration 1 version", err)
	die("commit", tx.Commit(ctx))

	for i := 1; i <= 50; i++ { // a backfill whose parameters must not reach the report
		_, err = c.Exec(ctx, "UPDATE customers SET email = $1 WHERE id = $2", fmt.Sprintf("secret-%d@example.com", i), i)
		die("backfill", err)
	}

	b := &pgx.Batch{}
	b.Queue("CREATE INDEX customers_email ON customers (email)")
	b.Queue("UPDATE orders SET note = $1 WHERE id = $2", "secret-note", 7)
	b.Queue("SELECT pg_sleep($1)", 0.3)
	b.Queue("INSERT INTO migrator_version (version) VALUES ($1)", 2)
	die("batch", c.SendBatch(ctx, b).Close())

	// a whole file as one query string, as golang-migrate sends it (simple protocol)
	_, err = c.Exec(ctx, "CREATE TABLE migrator_lock (id int PRIMARY KEY); SELECT pg_sleep(0.2)")
	die("query string", err)

	var n int
	die("check", c.QueryRow(ctx, "SELECT count(*) FROM migrator_version WHERE version <= $1", 10).Scan(&n))
	if n != 2 {
		die("check", fmt.Errorf("%d versions, want 2", n))
	}
}

// A migration tool that speaks the extended protocol, pipelined too, is seen statement by
// statement through the proxy: each timed, counted and measured, and no parameter value
// reaches the report.
func TestCommandExtendedProtocol(t *testing.T) {
	dsn := shopCopy(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := fmt.Sprintf("UNDERSTUDY_TEST_MIGRATOR=1 %q -test.run '^TestHelperMigrator$' -test.count=1", exe)
	var toolOut bytes.Buffer
	rep, err := rehearse(t, dsn, Options{Command: cmd, Traffic: "off", Stdout: &toolOut, Stderr: &toolOut})
	if err != nil {
		t.Fatalf("%v\ntool output:\n%s", err, toolOut.String())
	}
	want := map[string]int{ // normalized statement → calls
		"CREATE TABLE migrator_version":                              1,
		"ALTER TABLE customers ADD COLUMN email TEXT":                1,
		"INSERT INTO migrator_version (version) VALUES ($1)":         2,
		"UPDATE customers SET email = $1 WHERE id = $2":              50,
		"CREATE INDEX customers_email ON customers (email)":          1,
		"UPDATE orders SET note = $1 WHERE id = $2":                  1,
		"SELECT count (*) FROM migrator_version WHERE version <= $1": 1,
		"SELECT pg_sleep ($1)":                                       1,
	}
	for prefix, calls := range want {
		st := stmtBySQL(t, rep, prefix)
		if st.Calls != calls || st.Seconds <= 0 || !st.OK {
			t.Errorf("%s: want %d timed calls, got %d calls, %.6f s, ok %v", prefix, calls, st.Calls, st.Seconds, st.OK)
		}
	}
	if st := stmtBySQL(t, rep, "UPDATE customers SET email"); st.Rows == nil || *st.Rows != 50 {
		t.Errorf("the backfill's rows: %v", st.Rows)
	}
	idx := stmtBySQL(t, rep, "CREATE INDEX customers_email")
	if len(idx.IndexesBuilt) != 1 || idx.IndexesBuilt[0] != "public.customers_email" {
		t.Errorf("the batch's CREATE INDEX must be credited with the index it built: %+v", idx.IndexesBuilt)
	}
	// pipelined: each statement of the batch gets its own time, not the batch's
	if sleep := stmtBySQL(t, rep, "SELECT pg_sleep"); sleep.Seconds < 0.29 || idx.Seconds > 0.25 {
		t.Errorf("batch timings: pg_sleep(0.3) %.3f s, CREATE INDEX before it %.3f s", sleep.Seconds, idx.Seconds)
	}
	// a query string's statements answer together at its end: one entry, timed whole
	if qs := stmtBySQL(t, rep, "CREATE TABLE migrator_lock (id int PRIMARY KEY); SELECT pg_sleep ($1)"); qs.Seconds < 0.19 || len(qs.IndexesBuilt) != 1 {
		t.Errorf("query string: %.3f s (want ≥ 0.2), indexes built %v", qs.Seconds, qs.IndexesBuilt)
	}
	data, _ := json.Marshal(rep)
	var md bytes.Buffer
	rep.WriteSummary(&md)
	if bytes.Contains(data, []byte("secret-")) || strings.Contains(md.String(), "secret-") {
		t.Errorf("a parameter value leaked into the report:\n%s", data)
	}
}
