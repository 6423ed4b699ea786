package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
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
	if code != failure.ExitBudget {
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
	if code != failure.ExitBudget {
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
	if code != failure.ExitUsage || !strings.Contains(errOut, bad+`:2: budget: unknown key "max_statment" (did you mean "max_statement"?)`) {
		t.Errorf("bad budget key: exit %d, stderr:\n%s", code, errOut)
	}
}

// smallSource is a source database of 1,000 orders with two lines each.
func smallSource(t *testing.T) string {
	src := pgtest.NewDB(t)
	c := pgtest.Connect(t, src)
	pgtest.Exec(t, c, `CREATE TABLE orders (id bigint PRIMARY KEY, code text NOT NULL);
CREATE TABLE order_lines (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders, qty int NOT NULL);
INSERT INTO orders SELECT g, 'o' || g FROM generate_series(1, 1000) g;
INSERT INTO order_lines SELECT g, (g + 1) / 2, g % 7 FROM generate_series(1, 2000) g;`)
	c.Close(t.Context())
	return src
}

type copyReport struct {
	Target struct {
		Copy       string
		CopyScale  *int  `json:"copy_scale"`
		CopySubset *bool `json:"copy_subset"`
		Tables     []struct {
			Relation string
			Rows     int64
		}
	}
	Migrations []struct{ Name string }
}

func readCopyReport(t *testing.T, path string) copyReport {
	t.Helper()
	var rep copyReport
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func countRows(t *testing.T, dsn, table string) int64 {
	c := pgtest.Connect(t, dsn)
	defer c.Close(t.Context())
	var n int64
	if err := c.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// --from restores a (subset) snapshot, scaled, into the empty target and rehearses on it;
// the report says the copy was restored, subset when taken and scaled ×2.
func TestRehearseFromSnapshot(t *testing.T) {
	src := smallSource(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "subset.yaml")
	os.WriteFile(cfg, []byte("tables:\n  public.orders:\n    where: \"id <= 500\"\n    include_children: true\n"), 0o644)
	snap := filepath.Join(dir, "snap")
	if code, _, stderr := runCLI(t, "snapshot", "--source", src, "--to", snap, "--config", cfg); code != 0 {
		t.Fatalf("snapshot: exit %d\n%s", code, stderr)
	}
	migs := filepath.Join(dir, "migrations")
	os.Mkdir(migs, 0o755)
	os.WriteFile(filepath.Join(migs, "0001_index.sql"), []byte("CREATE INDEX order_lines_order ON order_lines (order_id);\n"), 0o644)
	dst := pgtest.NewDB(t)
	report := filepath.Join(dir, "r.json")
	code, out, stderr := runCLI(t, "rehearse", "--from", snap, "--scale", "2", "--target", dst, "--migrations", migs, "--traffic", "off", "--report", report)
	if code != 0 {
		t.Fatalf("rehearse --from: exit %d\n%s\n%s", code, out, stderr)
	}
	if n := countRows(t, dst, "order_lines"); n != 2000 {
		t.Errorf("the copy must hold the subset's 1,000 lines twice: %d", n)
	}
	rep := readCopyReport(t, report)
	if !strings.Contains(rep.Target.Copy, "restored from snapshot") || !strings.Contains(rep.Target.Copy, "subset") || !strings.Contains(rep.Target.Copy, "scaled ×2") {
		t.Errorf("copy: %q", rep.Target.Copy)
	}
	if rep.Target.CopyScale == nil || *rep.Target.CopyScale != 2 || rep.Target.CopySubset == nil || !*rep.Target.CopySubset {
		t.Errorf("copy_scale/copy_subset: %v %v", rep.Target.CopyScale, rep.Target.CopySubset)
	}
	if !strings.Contains(out, "scaled ×2") {
		t.Errorf("the summary must say the copy was scaled:\n%s", out)
	}
	if len(rep.Migrations) != 1 || len(rep.Target.Tables) == 0 || rep.Target.Tables[0].Rows == 0 {
		t.Errorf("the rehearsal must have run on the restored rows: %+v", rep)
	}
}

// --source --config syncs the source into the empty target first; a subset config shows
// in the report.
func TestRehearseFromSource(t *testing.T) {
	src := smallSource(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "understudy.yaml")
	os.WriteFile(cfg, []byte("tables:\n  public.orders:\n    where: \"id <= 100\"\n    include_children: true\nbudget:\n  max_statement: 1m\n"), 0o644)
	migs := filepath.Join(dir, "migrations")
	os.Mkdir(migs, 0o755)
	os.WriteFile(filepath.Join(migs, "0001_qty.sql"), []byte("ALTER TABLE order_lines ALTER COLUMN qty TYPE bigint;\n"), 0o644)
	dst := pgtest.NewDB(t)
	report := filepath.Join(dir, "r.json")
	code, out, stderr := runCLI(t, "rehearse", "--source", src, "--config", cfg, "--target", dst, "--migrations", migs, "--traffic", "off", "--report", report)
	if code != 0 {
		t.Fatalf("rehearse --source: exit %d\n%s\n%s", code, out, stderr)
	}
	if n := countRows(t, dst, "order_lines"); n != 200 {
		t.Errorf("the copy must hold the subset's 200 lines: %d", n)
	}
	rep := readCopyReport(t, report)
	if !strings.Contains(rep.Target.Copy, "synced from the source") || !strings.Contains(rep.Target.Copy, "subset") {
		t.Errorf("copy: %q", rep.Target.Copy)
	}
	if rep.Target.CopyScale == nil || *rep.Target.CopyScale != 1 || rep.Target.CopySubset == nil || !*rep.Target.CopySubset {
		t.Errorf("copy_scale/copy_subset: %v %v", rep.Target.CopyScale, rep.Target.CopySubset)
	}
}
