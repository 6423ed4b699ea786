package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline"
)

// A plain CREATE INDEX under traffic breaks --max-lock-wait: exit 6, the violation in the
// JSON and the Markdown, advice to build it concurrently; --reset puts the copy back.
func TestRehearseBudgetReportsAndReset(t *testing.T) {
	dsn := pgtest.NewDB(t)
	conn := pgtest.Connect(t, dsn)
	pgtest.Exec(t, conn, `CREATE TABLE orders (id bigint PRIMARY KEY, code text NOT NULL, amount numeric(10,2));
INSERT INTO orders SELECT g, md5(g::text), g % 1000 FROM generate_series(1, 400000) g;
ANALYZE orders;`)
	conn.Close(t.Context())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "0001_index.sql"), []byte("CREATE INDEX orders_code ON orders (code, amount);\n"), 0o644)
	jsonPath, mdPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md")
	t.Cleanup(func() {
		c := pgtest.Connect(t, pgtest.DSN(t))
		c.Exec(t.Context(), "DROP DATABASE IF EXISTS "+strings.TrimPrefix(strings.Split(strings.Split(dsn, "/")[3], "?")[0], "/")+"_understudy_template WITH (FORCE)")
	})
	code, out, errOut := runCLI(t, "rehearse", "--target", dsn, "--migrations", dir, "--max-lock-wait", "50ms",
		"--report", jsonPath, "--markdown", mdPath, "--reset")
	if code != pipeline.ExitBudget {
		t.Fatalf("want exit 6, got %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "max-lock-wait") || !strings.Contains(out, "ShareLock") {
		t.Errorf("stderr must name the violated budget and stdout show the lock:\n%s\n%s", errOut, out)
	}
	var rep struct {
		Migrations []struct {
			Name       string
			Statements []struct {
				SQL   string
				Locks []struct{ Relation, Mode string }
			}
		}
		Budget struct {
			OK         bool
			Violations []struct{ Budget string }
		}
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Budget.OK || len(rep.Budget.Violations) == 0 || rep.Budget.Violations[0].Budget != "max-lock-wait" {
		t.Errorf("JSON budget: want a max-lock-wait violation; got %+v", rep.Budget)
	}
	if len(rep.Migrations) != 1 || rep.Migrations[0].Name != "0001_index.sql" || len(rep.Migrations[0].Statements[0].Locks) == 0 {
		t.Errorf("JSON migrations: %+v", rep.Migrations)
	}
	md, _ := os.ReadFile(mdPath)
	for _, want := range []string{"budget violation", "CREATE INDEX CONCURRENTLY", "<details>", "public.orders"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	c := pgtest.Connect(t, dsn)
	var n int
	if err := c.QueryRow(t.Context(), "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_code'").Scan(&n); err != nil || n != 0 {
		t.Errorf("--reset must put the copy back (no orders_code index); found %d (%v)", n, err)
	}
}
