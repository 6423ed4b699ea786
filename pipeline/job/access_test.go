package job

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

// assertNothingCopied checks that a refused run left the target as it found it: empty.
func assertNothingCopied(t *testing.T, dst string) {
	t.Helper()
	if d := pgtest.TableDigests(t, dst); len(d) != 0 {
		t.Errorf("a refused run still created tables in the target: %v", d)
	}
}

// A source role that row-level security policies restrict would copy only the rows they let
// it see and report success. Every command that reads the source refuses it up front (exit
// code 3), naming the table, its policies and the fix; the table's owner (unless the table
// FORCEs row security) and a BYPASSRLS role read every row.
func TestRowLevelSecurityFailsInsteadOfThinningTheCopy(t *testing.T) {
	ctx := context.Background()
	src := pgtest.NewDB(t)
	admin := pgtest.Connect(t, src)
	pgtest.Exec(t, admin, `
CREATE TABLE accounts (id int PRIMARY KEY, tenant int NOT NULL);
INSERT INTO accounts SELECT g, g % 2 FROM generate_series(1, 1000) g;
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_one ON accounts FOR SELECT USING (tenant = 1);
CREATE POLICY tenant_writes ON accounts FOR INSERT WITH CHECK (tenant = 1);
CREATE TABLE plain (id int PRIMARY KEY);
INSERT INTO plain SELECT generate_series(1, 10);`)
	role, reader := pgtest.NewRole(t, src, "")
	pgtest.Exec(t, admin, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+role)

	refused := func(t *testing.T, err error, policies ...string) {
		t.Helper()
		assertCode(t, err, failure.ExitConnect, "public.accounts")
		var ue *failure.UserError
		errors.As(err, &ue)
		msg := err.Error() + "\n" + ue.Hint
		for _, want := range append(policies, "row-level security", "BYPASSRLS", "owner") {
			if !strings.Contains(msg, want) {
				t.Errorf("error does not mention %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, "tenant_writes") {
			t.Errorf("error names a policy that does not restrict reading:\n%s", msg)
		}
	}
	t.Run("sync", func(t *testing.T) {
		dst := pgtest.NewDB(t)
		_, err := Sync(ctx, syncOpts(reader, dst))
		refused(t, err, "tenant_one")
		assertNothingCopied(t, dst)
	})
	t.Run("subset", func(t *testing.T) {
		cfg, err := config.Parse("subset.yaml", []byte("tables:\n  public.plain:\n    where: id < 5\n"))
		if err != nil {
			t.Fatal(err)
		}
		dst := pgtest.NewDB(t)
		o := syncOpts(reader, dst)
		o.Config = cfg
		_, err = Sync(ctx, o)
		refused(t, err, "tenant_one")
		assertNothingCopied(t, dst)
	})
	t.Run("snapshot", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Snapshot(ctx, snapshotOpts(reader, dirStore(t, dir)))
		refused(t, err, "tenant_one")
		if files, _ := os.ReadDir(dir); len(files) != 0 {
			t.Errorf("a refused snapshot wrote %d files", len(files))
		}
	})
	t.Run("plan", func(t *testing.T) {
		_, err := Plan(ctx, PlanOptions{Source: config.DSN(reader), Out: io.Discard})
		refused(t, err, "tenant_one")
	})
	t.Run("init", func(t *testing.T) {
		err := Init(ctx, InitOptions{Source: config.DSN(reader), Out: io.Discard})
		refused(t, err, "tenant_one")
	})
	t.Run("verify", func(t *testing.T) {
		_, err := Verify(ctx, VerifyOptions{Source: config.DSN(reader), Target: config.DSN(pgtest.NewDB(t)), Out: io.Discard})
		refused(t, err, "tenant_one")
	})

	// No policy at all hides every row.
	pgtest.Exec(t, admin, "DROP POLICY tenant_one ON accounts")
	_, err := Sync(ctx, syncOpts(reader, pgtest.NewDB(t)))
	refused(t, err, "no policy")

	// The owner reads every row, unless row security is forced on the table.
	pgtest.Exec(t, admin, "CREATE POLICY tenant_one ON accounts FOR SELECT USING (tenant = 1); ALTER TABLE accounts OWNER TO "+role)
	dst := pgtest.NewDB(t)
	if _, err := Sync(ctx, syncOpts(reader, dst)); err != nil {
		t.Fatalf("the table's owner: %v", err)
	}
	assertSameDatabase(t, src, dst)
	pgtest.Exec(t, admin, "ALTER TABLE accounts FORCE ROW LEVEL SECURITY")
	_, err = Sync(ctx, syncOpts(reader, pgtest.NewDB(t)))
	refused(t, err, "tenant_one", "FORCE")

	// BYPASSRLS reads every row, forced or not.
	pgtest.Exec(t, admin, "ALTER ROLE "+role+" BYPASSRLS")
	dst = pgtest.NewDB(t)
	if _, err := Sync(ctx, syncOpts(reader, dst)); err != nil {
		t.Fatalf("a BYPASSRLS role: %v", err)
	}
	assertSameDatabase(t, src, dst)
	var n int
	if err := pgtest.Connect(t, dst).QueryRow(ctx, "SELECT count(*) FROM accounts").Scan(&n); err != nil || n != 1000 {
		t.Errorf("target holds %d accounts (%v), want all 1000", n, err)
	}
}

// A source role that lacks a privilege the run needs is told so before the first row moves,
// with every missing privilege in one error (exit code 3), and a hint whose statements,
// run as they are, make the next run work. The SELECT on a sequence, read after all rows are
// copied, used to fail the run only then.
func TestMissingPrivilegesAreListedBeforeAnyRowMoves(t *testing.T) {
	ctx := context.Background()
	src := pgtest.NewDB(t)
	admin := pgtest.Connect(t, src)
	pgtest.Exec(t, admin, `
CREATE TABLE orders (id serial PRIMARY KEY, note text);
INSERT INTO orders (note) SELECT 'order ' || g FROM generate_series(1, 100) g;
CREATE SEQUENCE invoice_no START 1000;
SELECT nextval('invoice_no');`)
	role, reader := pgtest.NewRole(t, src, "")
	pgtest.Exec(t, admin, "GRANT SELECT ON orders TO "+role)

	// Only the sequences are missing.
	dst := pgtest.NewDB(t)
	_, err := Sync(ctx, syncOpts(reader, dst))
	assertCode(t, err, failure.ExitConnect, "SELECT on sequence public.invoice_no")
	assertCode(t, err, failure.ExitConnect, "SELECT on sequence public.orders_id_seq")
	assertNothingCopied(t, dst)

	// Tables, schemas, sequences: all of them in one error.
	pgtest.Exec(t, admin, `
CREATE TABLE lines (order_id int REFERENCES orders, qty int);
INSERT INTO lines SELECT g, 1 FROM generate_series(1, 100) g;
CREATE SCHEMA billing;
CREATE TABLE billing."Invoices" (id int PRIMARY KEY);
INSERT INTO billing."Invoices" VALUES (1), (2);
CREATE TABLE measures (at int, v int) PARTITION BY RANGE (at);
CREATE TABLE measures_1 PARTITION OF measures FOR VALUES FROM (0) TO (100);
INSERT INTO measures VALUES (1, 1);`)
	pgtest.Exec(t, admin, "GRANT SELECT ON measures_1 TO "+role)
	want := []string{
		"SELECT on table public.lines",
		"SELECT on table public.measures", // pg_dump locks the partitioned table too
		"USAGE on schema billing",
		"SELECT on table billing.Invoices",
		"SELECT on sequence public.invoice_no",
		"SELECT on sequence public.orders_id_seq",
	}
	check := func(t *testing.T, err error) string {
		t.Helper()
		assertCode(t, err, failure.ExitConnect, role)
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error does not list %q:\n%v", w, err)
			}
		}
		if strings.Contains(err.Error(), "measures_1") {
			t.Errorf("error lists a privilege the role has:\n%v", err)
		}
		var ue *failure.UserError
		errors.As(err, &ue)
		return ue.Hint
	}
	dst = pgtest.NewDB(t)
	_, err = Sync(ctx, syncOpts(reader, dst))
	hint := check(t, err)
	assertNothingCopied(t, dst)

	dir := t.TempDir()
	_, err = Snapshot(ctx, snapshotOpts(reader, dirStore(t, dir)))
	check(t, err)
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("a refused snapshot wrote %d files", len(files))
	}

	// The hint's statements are the fix.
	var grants []string
	for _, line := range strings.Split(hint, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "GRANT ") {
			grants = append(grants, line)
		}
	}
	if len(grants) == 0 {
		t.Fatalf("the hint has no GRANT statements:\n%s", hint)
	}
	pgtest.Exec(t, admin, strings.Join(grants, "\n"))
	dst = pgtest.NewDB(t)
	if _, err := Sync(ctx, syncOpts(reader, dst)); err != nil {
		t.Fatalf("after the hint's grants: %v\n%s", err, strings.Join(grants, "\n"))
	}
	assertSameDatabase(t, src, dst)
}
