package rehearse

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/pipeline/failure"
)

func psqlCommand(t *testing.T, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		t.Fatalf("psql is not on PATH (source test-env.sh): %v", err)
	}
	return "for f in " + dir + "/*.sql; do psql -X -q -v ON_ERROR_STOP=1 -f \"$f\" || exit 1; done"
}

func stmtBySQL(t *testing.T, rep *Report, prefix string) *StmtResult {
	t.Helper()
	for _, m := range rep.Migrations {
		for _, st := range m.Statements {
			if strings.HasPrefix(st.SQL, prefix) {
				return st
			}
		}
	}
	t.Fatalf("no statement %q in the report", prefix)
	return nil
}

// The same measurements as from a directory, through psql and the wire-protocol proxy.
func TestCommandPsqlThroughProxy(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{
		"0001_add_flag.sql":   "ALTER TABLE orders ADD COLUMN flag int DEFAULT 0;",
		"0002_widen.sql":      "ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,4);",
		"0003_index.sql":      "CREATE INDEX orders_code ON orders (code, amount);",
		"0004_concurrent.sql": "CREATE INDEX CONCURRENTLY orders_status ON orders (status, code, amount);",
		"0005_fk.sql":         "BEGIN;\nALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id);\nCOMMIT;",
	})
	cmd := psqlCommand(t, dir)
	rep, err := rehearse(t, dsn, Options{Command: cmd, Traffic: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Migrations) != 1 || rep.Migrations[0].Name != cmd || !rep.Migrations[0].OK {
		t.Fatalf("want one migration named after the command; got %+v", rep.Migrations)
	}
	if st := stmtBySQL(t, rep, "ALTER TABLE orders ADD COLUMN flag"); len(st.Rewrites) != 0 {
		t.Errorf("ADD COLUMN … DEFAULT 0 reported rewrites %+v", st.Rewrites)
	}
	widen := stmtBySQL(t, rep, "ALTER TABLE orders ALTER COLUMN amount")
	rewrote := false
	for _, r := range widen.Rewrites {
		rewrote = rewrote || r.Relation == "public.orders" && r.Kind == "table"
	}
	if !rewrote {
		t.Errorf("numeric(10,2) → numeric(12,4) must report public.orders rewritten; got %+v", widen.Rewrites)
	}
	plain := stmtBySQL(t, rep, "CREATE INDEX orders_code")
	if !hasLock(plain, "public.orders", "ShareLock") {
		t.Errorf("CREATE INDEX: want ShareLock on public.orders; got %+v", plain.Locks)
	}
	if tr := plain.Traffic; tr == nil || tr.Waited == 0 || tr.MaxWaitSeconds < plain.Seconds/2 {
		t.Errorf("writers under a %.2fs plain CREATE INDEX must be reported blocked for at least half of it; got %+v", plain.Seconds, tr)
	}
	conc := stmtBySQL(t, rep, "CREATE INDEX CONCURRENTLY")
	if !hasLock(conc, "public.orders", "ShareUpdateExclusiveLock") {
		t.Errorf("CREATE INDEX CONCURRENTLY: want ShareUpdateExclusiveLock on public.orders; got %+v", conc.Locks)
	}
	if conc.Traffic == nil || conc.Traffic.Queries == 0 || conc.Traffic.Waited != 0 {
		t.Errorf("nobody waits for CREATE INDEX CONCURRENTLY; got %+v", conc.Traffic)
	}
	fk := stmtBySQL(t, rep, "ALTER TABLE orders ADD CONSTRAINT orders_customer")
	for _, rel := range []string{"public.orders", "public.customers"} {
		if !hasLock(fk, rel, "ShareRowExclusiveLock") {
			t.Errorf("ADD FOREIGN KEY: want ShareRowExclusiveLock on %s; got %+v", rel, fk.Locks)
		}
	}
}

func TestCommandFailsOnData(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{
		"0001_unique.sql": "CREATE UNIQUE INDEX orders_status_key ON orders (status);",
	})
	rep, err := rehearse(t, dsn, Options{Command: psqlCommand(t, dir), Traffic: "off"})
	var ue *failure.UserError
	if !errors.As(err, &ue) || ue.Code != failure.ExitFailed || !strings.Contains(err.Error(), "could not create unique index") {
		t.Fatalf("want exit 1 with PostgreSQL's error; got %v", err)
	}
	if rep.Migrations[0].OK || rep.Migrations[0].Error == nil || rep.Migrations[0].Error.SQLState != "23505" {
		t.Errorf("want the failed migration in the report with SQLSTATE 23505; got %+v", rep.Migrations[0])
	}
}

// An import of many rows is aggregated by normalized text, pg_stat_statements style.
func TestCommandAggregatesImport(t *testing.T) {
	dsn := shopCopy(t)
	var b strings.Builder
	for i := 0; i < 300; i++ {
		b.WriteString("INSERT INTO customers (id, name) VALUES (" + itoa(100000+i) + ", 'imported " + itoa(i) + "');\n")
	}
	dir := migrationsDir(t, map[string]string{"import.sql": b.String()})
	rep, err := rehearse(t, dsn, Options{Command: psqlCommand(t, dir), Traffic: "off"})
	if err != nil {
		t.Fatal(err)
	}
	sts := rep.Migrations[0].Statements
	if len(sts) != 1 || sts[0].Calls != 300 || sts[0].Rows == nil || *sts[0].Rows != 300 || sts[0].SQL != "INSERT INTO customers (id, name) VALUES ($1, $2)" {
		t.Fatalf("want one aggregated INSERT with 300 calls and rows; got %d statements, first %+v", len(sts), sts[0])
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// A schema change inside a tool's transaction that takes well under the sampler's 5 ms
// still has its locks reported, with their modes: they are read when its result comes back,
// before the tool sees it and goes on to COMMIT.
func TestCommandReportsLocksOfQuickStatementsInATransaction(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{
		"0001_quick.sql": "BEGIN;\nCREATE TABLE tags (id int PRIMARY KEY, name text);\nALTER TABLE tags ADD COLUMN note text;\nCREATE INDEX tags_name ON tags (name);\nCOMMIT;",
	})
	rep, err := rehearse(t, dsn, Options{Command: psqlCommand(t, dir), Traffic: "off"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ sql, relation, mode string }{
		{"ALTER TABLE tags ADD COLUMN note", "public.tags", "AccessExclusiveLock"},
		{"CREATE INDEX tags_name", "public.tags", "ShareLock"},
	} {
		st := stmtBySQL(t, rep, tc.sql)
		found := false
		for _, l := range st.Locks {
			found = found || l.Relation == tc.relation && l.Mode == tc.mode
		}
		if !found {
			t.Errorf("%s: locks %+v, want %s on %s", tc.sql, st.Locks, tc.mode, tc.relation)
		}
	}
}

// The migration tool inherits none of understudy's secrets: not the key or the sign key, not
// a production DSN, not AWS credentials, not a variable the config expands — and no PG*
// variable but the proxy's own.
func TestCommandInheritsNoSecret(t *testing.T) {
	dsn := shopCopy(t)
	for name, value := range map[string]string{
		"UNDERSTUDY_KEY": "k-0123456789abcdef0123456789", "UNDERSTUDY_SIGN_KEY": "s-0123456789abcdef0123456789",
		"UNDERSTUDY_SOURCE": "postgres://reader:prod-pw-4711@prod/shop", "AWS_SECRET_ACCESS_KEY": "aws-secret-0815",
		"CONFIG_EXPANDED_SECRET": "cfg-secret-1234", "PGPASSWORD": "pg-pw-9999",
	} {
		t.Setenv(name, value)
	}
	out := t.TempDir() + "/env.txt"
	if _, err := rehearse(t, dsn, Options{Command: "env > " + out, Traffic: "off", HideEnv: []string{"CONFIG_EXPANDED_SECRET"}}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := string(data)
	for _, secret := range []string{"k-0123456789", "s-0123456789", "prod-pw-4711", "aws-secret-0815", "cfg-secret-1234", "pg-pw-9999"} {
		if strings.Contains(env, secret) {
			t.Errorf("the tool's environment holds %q", secret)
		}
	}
	if !strings.Contains(env, "DATABASE_URL=postgres://") {
		t.Error("the tool was not given the proxy's DATABASE_URL")
	}
}
