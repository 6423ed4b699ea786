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

// budget: in a config file is read like the flags, and a flag wins over it.
func TestRehearseConfigBudget(t *testing.T) {
	dsn := pgtest.NewDB(t)
	dir := t.TempDir()
	migs := filepath.Join(dir, "migrations")
	os.Mkdir(migs, 0o755)
	os.WriteFile(filepath.Join(migs, "0001_slow.sql"), []byte("CREATE TABLE t (id int PRIMARY KEY);\nSELECT pg_sleep(0.3);\n"), 0o644)
	cfg := filepath.Join(dir, "rehearse.yaml")
	os.WriteFile(cfg, []byte("# budgets for this repository\nbudget:\n  max_statement: 100ms\n  no_rewrite_over: 1GiB\n"), 0o644)

	code, out, errOut := runCLI(t, "rehearse", "--target", dsn, "--migrations", migs, "--traffic", "off", "--config", cfg)
	if code != pipeline.ExitBudget {
		t.Fatalf("config budget: want exit 6, got %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "pg_sleep") || !strings.Contains(errOut, "max_statement 100ms ("+cfg+":3)") {
		t.Errorf("stderr must name the statement and the config's budget with its line:\n%s", errOut)
	}

	// the flag wins over the file (a new database: the first run created t)
	dsn2 := pgtest.NewDB(t)
	code, out, errOut = runCLI(t, "rehearse", "--target", dsn2, "--migrations", migs, "--traffic", "off", "--config", cfg, "--max-statement", "1m")
	if code != 0 {
		t.Fatalf("--max-statement 1m must override the config's 100ms: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("budget:\n  max_statment: 1s\n"), 0o644)
	code, _, errOut = runCLI(t, "rehearse", "--target", dsn2, "--migrations", migs, "--config", bad)
	if code != pipeline.ExitUsage || !strings.Contains(errOut, bad+`:2: budget: unknown key "max_statment" (did you mean "max_statement"?)`) {
		t.Errorf("bad budget key: exit %d, stderr:\n%s", code, errOut)
	}
}
