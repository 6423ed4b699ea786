package rehearse

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

func rehearse(t *testing.T, dsn string, o Options) (*Report, error) {
	t.Helper()
	o.Target = config.DSN(dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return Run(ctx, o)
}

// A type change that PostgreSQL makes by rewriting the table is reported as a rewrite of the
// table and its indexes; a column added with a constant default is not (PostgreSQL 11+
// stores the default in the catalog).
func TestRewritesWherePostgresRewrites(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{
		"0001_add_flag.sql": "ALTER TABLE orders ADD COLUMN flag int DEFAULT 0;",
		"0002_widen.sql":    "ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,4);",
		"0003_varchar.sql":  "ALTER TABLE customers ALTER COLUMN name TYPE text;", // same type: no rewrite
	})
	rep, err := rehearse(t, dsn, Options{Migrations: dir, Traffic: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if st := findStmt(t, rep, "0001_add_flag.sql", 0); len(st.Rewrites) != 0 {
		t.Errorf("ADD COLUMN … DEFAULT 0 reported rewrites %+v; PostgreSQL does not rewrite", st.Rewrites)
	}
	if st := findStmt(t, rep, "0003_varchar.sql", 0); len(st.Rewrites) != 0 {
		t.Errorf("a no-op type change reported rewrites %+v", st.Rewrites)
	}
	st := findStmt(t, rep, "0002_widen.sql", 0)
	got := map[string]Rewrite{}
	for _, r := range st.Rewrites {
		got[r.Relation] = r
	}
	if r, ok := got["public.orders"]; !ok || r.Kind != "table" || r.BytesBefore < 10<<20 || r.BytesAfter < 10<<20 {
		t.Errorf("numeric(10,2) → numeric(12,4) must report public.orders rewritten with its sizes; got %+v", st.Rewrites)
	}
	if _, ok := got["public.orders_pkey"]; !ok {
		t.Errorf("the table rewrite rebuilds its primary key index; got %+v", st.Rewrites)
	}
	if !hasLock(st, "public.orders", "AccessExclusiveLock") {
		t.Errorf("ALTER COLUMN TYPE holds AccessExclusiveLock on public.orders; got %+v", st.Locks)
	}
	if st.WALBytes < 10<<20 {
		t.Errorf("a rewrite of a %d-row table writes WAL; got %d bytes", fixtureRows, st.WALBytes)
	}
	if len(st.Advice) == 0 || !strings.Contains(st.Advice[0], "rewrote public.orders") {
		t.Errorf("want advice about the rewrite; got %q", st.Advice)
	}
	if vol := rep.Target.Tables; len(vol) != 2 || vol[1].Relation != "public.orders" || vol[1].Rows < fixtureRows*9/10 {
		t.Errorf("the report must state the copy's volume behind the timings; got %+v", vol)
	}
	if rep.Target.Copy != "unknown" {
		t.Errorf("nothing says how this copy was made: want copy unknown, got %q", rep.Target.Copy)
	}
}

// The lock modes are the ones PostgreSQL documents for each command, on the right tables.
func TestLockModes(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{
		"0001_index.sql":      "CREATE INDEX orders_code ON orders (code);",
		"0002_concurrent.sql": "CREATE INDEX CONCURRENTLY orders_status ON orders (status, code);",
		"0003_fk.sql":         "ALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id);",
	})
	rep, err := rehearse(t, dsn, Options{Migrations: dir, Traffic: "off"})
	if err != nil {
		t.Fatal(err)
	}
	plain := findStmt(t, rep, "0001_index.sql", 0)
	if !hasLock(plain, "public.orders", "ShareLock") {
		t.Errorf("CREATE INDEX: want ShareLock on public.orders; got %+v", plain.Locks)
	}
	if len(plain.IndexesBuilt) != 1 || plain.IndexesBuilt[0] != "public.orders_code" {
		t.Errorf("CREATE INDEX: want public.orders_code built; got %q", plain.IndexesBuilt)
	}
	conc := findStmt(t, rep, "0002_concurrent.sql", 0)
	if !hasLock(conc, "public.orders", "ShareUpdateExclusiveLock") || hasLock(conc, "public.orders", "ShareLock") {
		t.Errorf("CREATE INDEX CONCURRENTLY: want ShareUpdateExclusiveLock (and no ShareLock) on public.orders; got %+v", conc.Locks)
	}
	if m := rep.Migrations[1]; m.InTransaction || !strings.Contains(m.NoTxReason, "CONCURRENTLY") {
		t.Errorf("CREATE INDEX CONCURRENTLY must run outside a transaction; got in_transaction=%v (%q)", m.InTransaction, m.NoTxReason)
	}
	fk := findStmt(t, rep, "0003_fk.sql", 0)
	for _, rel := range []string{"public.orders", "public.customers"} {
		if !hasLock(fk, rel, "ShareRowExclusiveLock") {
			t.Errorf("ADD FOREIGN KEY: want ShareRowExclusiveLock on %s; got %+v", rel, fk.Locks)
		}
	}
	for _, l := range plain.Locks {
		if l.HeldSeconds < plain.Seconds*0.5 {
			continue
		}
		if l.Mode == "ShareLock" && l.HeldSeconds > rep.Migrations[0].Seconds+0.01 {
			t.Errorf("ShareLock held %.3fs, longer than its migration %.3fs", l.HeldSeconds, rep.Migrations[0].Seconds)
		}
	}
}

// Writers on a table under a plain CREATE INDEX wait for about the whole build; under
// CREATE INDEX CONCURRENTLY nobody waits.
func TestTrafficBlockedByPlainIndexOnly(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{
		"0001_index.sql":      "CREATE INDEX orders_code ON orders (code, amount);",
		"0002_concurrent.sql": "CREATE INDEX CONCURRENTLY orders_status ON orders (status, code, amount);",
	})
	rep, err := rehearse(t, dsn, Options{Migrations: dir, Traffic: "auto", TrafficClients: 4})
	if err != nil {
		t.Fatal(err)
	}
	plain := findStmt(t, rep, "0001_index.sql", 0)
	tr := plain.Traffic
	if tr == nil || tr.Queries == 0 {
		t.Fatalf("no traffic measured during CREATE INDEX: %+v (skipped: %q)", tr, rep.Traffic.Skipped)
	}
	if tr.Waited == 0 || tr.BlockedWrites == 0 || tr.MaxWaitSeconds < plain.Seconds/2 {
		t.Errorf("writers under a %.2fs plain CREATE INDEX must be reported blocked for at least half of it; got %+v", plain.Seconds, tr)
	}
	if len(tr.BlockedTables) != 1 || tr.BlockedTables[0] != "public.orders" {
		t.Errorf("blocked tables: want [public.orders]; got %q", tr.BlockedTables)
	}
	if len(plain.Advice) == 0 || !strings.Contains(plain.Advice[0], "CONCURRENTLY") || !strings.Contains(plain.Advice[0], "ShareLock on public.orders") {
		t.Errorf("want advice to build the index concurrently, citing the measured lock; got %q", plain.Advice)
	}
	conc := findStmt(t, rep, "0002_concurrent.sql", 0)
	if conc.Traffic == nil || conc.Traffic.Queries == 0 {
		t.Fatalf("no traffic measured during CREATE INDEX CONCURRENTLY: %+v", conc.Traffic)
	}
	if conc.Traffic.Waited != 0 {
		t.Errorf("nobody waits for CREATE INDEX CONCURRENTLY; got %+v", conc.Traffic)
	}
	if len(conc.Advice) != 0 {
		t.Errorf("no advice for a concurrent build that blocked nothing; got %q", conc.Advice)
	}
}

// A migration that is fine as SQL but fails on the copy's data fails the rehearsal with
// PostgreSQL's error, naming the migration and statement.
func TestFailsOnData(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{
		"0001_ok.sql":     "ALTER TABLE orders ADD COLUMN flag int;",
		"0002_unique.sql": "-- statuses repeat\nALTER TABLE orders ADD COLUMN x int;\n  CREATE UNIQUE INDEX orders_status_key ON orders (status);",
		"0003_never.sql":  "ALTER TABLE orders ADD COLUMN never int;",
	})
	rep, err := rehearse(t, dsn, Options{Migrations: dir, Traffic: "off"})
	var ue *failure.UserError
	if !errors.As(err, &ue) || ue.Code != failure.ExitFailed {
		t.Fatalf("want exit 1, got %v", err)
	}
	for _, want := range []string{"0002_unique.sql", "statement 2", "line 3", "could not create unique index", "23505"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if len(rep.Migrations) != 2 || rep.Migrations[1].OK || rep.Migrations[1].Error == nil || rep.Migrations[1].Error.SQLState != "23505" {
		t.Fatalf("want the report to end at the failed migration with its error; got %+v", rep.Migrations)
	}
	// PostgreSQL's detail names the repeating value ("Key (status)=(…) is duplicated"): the
	// copy's values stay out of the error and of the report files, which only their owner reads.
	path := filepath.Join(t.TempDir(), "r.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(err.Error(), "Key (") || strings.Contains(string(data), "Key (") {
		t.Errorf("a value of the copy is in the error or the report:\n%s\n%s", err, data)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("report file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// Traffic is paced (each client waits 1 ms between queries), so it measures what the
// migration's locks do to production's queries, not how a tight loop of queries starves
// the migration of CPU.
func TestTrafficIsPaced(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{"0001_wait.sql": "UPDATE orders SET note = 'x' WHERE id = 1;\nSELECT pg_sleep(1);"})
	rep, err := rehearse(t, dsn, Options{Migrations: dir, Traffic: "auto", TrafficClients: 2})
	if err != nil {
		t.Fatal(err)
	}
	st := findStmt(t, rep, "0001_wait.sql", 1)
	if st.Traffic == nil || st.Traffic.Queries < 100 {
		t.Fatalf("traffic during a 1 s statement: %+v", st.Traffic)
	}
	if perSec := float64(st.Traffic.Queries) / st.Seconds; perSec > 2*1000 {
		t.Errorf("2 paced clients ran %.0f queries/s; at most 2,000 expected", perSec)
	}
}

// The catalog is read again after a statement only when the transaction wrote pg_class, a
// count that exists only with track_counts on; with it off, every statement still has its
// rewrites and new indexes found.
func TestRewritesFoundWithoutTrackCounts(t *testing.T) {
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{
		"0001_two.sql": "UPDATE customers SET name = name WHERE id = 1;\nALTER TABLE customers ALTER COLUMN id TYPE numeric;\nCREATE INDEX customers_name ON customers (name);",
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	rep, err := rehearse(t, dsn+sep+"options=-c%20track_counts%3Doff", Options{Migrations: dir, Traffic: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if st := findStmt(t, rep, "0001_two.sql", 1); len(st.Rewrites) == 0 {
		t.Errorf("ALTER COLUMN TYPE numeric must report customers rewritten; got %+v", st)
	}
	if st := findStmt(t, rep, "0001_two.sql", 2); len(st.IndexesBuilt) != 1 {
		t.Errorf("CREATE INDEX must report the index built; got %+v", st.IndexesBuilt)
	}
}
