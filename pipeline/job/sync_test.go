package job

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/pgsink"
	"github.com/understudy-dev/understudy/transforms"
)

func syncOpts(src, dst string) SyncOptions {
	// These tests are about copying; the PII guard has tests of its own.
	return SyncOptions{SourceOptions: SourceOptions{Source: config.DSN(src), PgDump: pgtestPgDump, AllowUnmasked: true},
		TargetOptions: TargetOptions{Target: config.DSN(dst)}, Running: Running{Jobs: 2}}
}

var pgtestPgDump = "" // found automatically: scripts/test.sh puts the server's bin first on PATH

// assertSameDatabase checks the target is what the source is: same schema as pg_dump sees
// it, same rows in every table, same sequence values.
func assertSameDatabase(t *testing.T, src, dst string) {
	t.Helper()
	pgtest.AssertSameSchema(t, src, dst)
	pgtest.AssertSameRows(t, src, dst)
	a, b := pgtest.Sequences(t, src), pgtest.Sequences(t, dst)
	for name, v := range a {
		if b[name] != v {
			t.Errorf("sequence %s: source %s, target %s", name, v, b[name])
		}
	}
	assertNoMarker(t, dst)
}

func assertNoMarker(t *testing.T, dsn string) {
	t.Helper()
	var n int
	conn := pgtest.Connect(t, dsn)
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", pgsink.MarkerSchema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a finished sync left the incomplete marker %s", pgsink.MarkerSchema)
	}
}

func TestSyncPagila(t *testing.T) {
	src := pgtest.LoadDataset(t, "pagila")
	dst := pgtest.NewDB(t)
	o := syncOpts(src, dst)
	o.ChunkBytes = 64 << 10 // cut the bigger tables into several chunks
	res, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, src, dst)
	if res.Rows < 40000 {
		t.Errorf("copied %d rows; Pagila has about 50k", res.Rows)
	}
	assertLoadedFrozen(t, src, dst, o.ChunkBytes)
}

// With ChunkShare (what sync does unless --chunk-mib is given), a table is cut only when it
// is bigger than its share of the copy: Pagila's biggest table is far from half of it, so
// every table loads whole and frozen although most exceed the chunk size.
func TestSyncCutsOnlyTablesBiggerThanTheirShare(t *testing.T) {
	src := pgtest.LoadDataset(t, "pagila")
	dst := pgtest.NewDB(t)
	o := syncOpts(src, dst)
	o.Jobs = 2
	o.ChunkBytes = 64 << 10
	o.ChunkShare = true
	res, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var cut []string
	for _, tp := range res.Plan.Tables {
		if tp.Units > 1 {
			cut = append(cut, fmt.Sprintf("%s (%d chunks)", tp.Name, tp.Units))
		}
	}
	if len(cut) > 0 {
		t.Errorf("cut although no table exceeds its share: %v", cut)
	}
	assertSameDatabase(t, src, dst)
	// every table of more than one chunk's heap also landed frozen
	assertLoadedFrozen(t, src, dst, 1<<30)
}

// assertLoadedFrozen checks that every table (or leaf partition) that was one unit, its heap
// at most chunk bytes in src, landed in dst frozen and all-visible: nothing for a vacuum to
// do, no hint bits left to set.
func assertLoadedFrozen(t *testing.T, src, dst string, chunk int64) {
	t.Helper()
	ctx := context.Background()
	rows, err := pgtest.Connect(t, src).Query(ctx, `
SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND pg_relation_size(c.oid) BETWEEN 1 AND $1`, chunk)
	if err != nil {
		t.Fatal(err)
	}
	small, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(small) < 3 {
		t.Fatalf("only %d tables of one chunk: %v", len(small), small)
	}
	conn := pgtest.Connect(t, dst)
	pgtest.Exec(t, conn, "CREATE EXTENSION pg_visibility")
	for _, name := range small {
		var pages, visible, frozen int64
		if err := conn.QueryRow(ctx, `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int, all_visible, all_frozen
FROM pg_visibility_map_summary($1::regclass)`, name).Scan(&pages, &visible, &frozen); err != nil {
			t.Fatal(err)
		}
		if pages == 0 || visible != pages || frozen != pages {
			t.Errorf("%s: %d pages, %d all-visible, %d all-frozen; want every page both", name, pages, visible, frozen)
		}
	}
}

func TestSyncChinook(t *testing.T) {
	src := pgtest.LoadDataset(t, "chinook")
	dst := pgtest.NewDB(t)
	if _, err := Sync(context.Background(), syncOpts(src, dst)); err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, src, dst)
}

// The type zoo goes through both paths: raw COPY passthrough, and decode → Arrow → encode.
func TestSyncTypeZooIsLossless(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), fixtures.TypeZooSQL)
	for _, decode := range []bool{false, true} {
		name := map[bool]string{false: "passthrough", true: "decoded"}[decode]
		t.Run(name, func(t *testing.T) {
			dst := pgtest.NewDB(t)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			o := syncOpts(src, dst)
			o.DecodeAll, o.Mem = decode, mem
			o.BatchRows = 3 // several batches per table
			if _, err := Sync(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			assertSameDatabase(t, src, dst)
			mem.AssertSize(t, 0)
			// Row text hides what xml's output functions drop (an encoding declaration):
			// compare the stored text.
			q := "SELECT string_agg(x::text, '|' ORDER BY id) FROM zoo.documents"
			var a, b string
			if err := pgtest.Connect(t, src).QueryRow(context.Background(), q).Scan(&a); err != nil {
				t.Fatal(err)
			}
			pgtest.Scan(t, pgtest.Connect(t, dst).QueryRow(context.Background(), q), &b)
			if a != b || !strings.Contains(a, "<?xml") {
				t.Errorf("xml changed on the way:\nsource %s\ntarget %s", a, b)
			}
		})
	}
}

func TestSyncShopWithRules(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 20000, 1); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("rules.yaml", []byte(`
tables:
  public.customers:
    columns:
      email: hash
      phone: {transform: hash, length: 12}
      notes: null
      country: {transform: constant, value: "US"}
`))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("test-key-0123456789")
	run := func() string {
		dst := pgtest.NewDB(t)
		o := syncOpts(src, dst)
		o.Config, o.Key = cfg, key
		o.ReportPath = filepath.Join(t.TempDir(), "report.json")
		o.ChunkBytes = 256 << 10
		if _, err := Sync(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		var rep pipeline.RunReport
		data, _ := os.ReadFile(o.ReportPath)
		if err := json.Unmarshal(data, &rep); err != nil || rep.Status != "ok" || rep.Rows == 0 {
			t.Errorf("report: %s (%v)", data, err)
		}
		return dst
	}
	dst1, dst2 := run(), run()
	pgtest.AssertSameSchema(t, src, dst1)
	pgtest.AssertSameRows(t, src, dst1, "public.customers")

	ctx := context.Background()
	s, d := pgtest.Connect(t, src), pgtest.Connect(t, dst1)
	// Nothing the rules cover survives.
	var leaked int
	if err := d.QueryRow(ctx, `SELECT count(*) FROM public.customers WHERE notes IS NOT NULL OR country <> 'US'`).Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("%d customers kept notes or country (%v)", leaked, err)
	}
	srcEmails := map[string]bool{}
	rows, err := s.Query(ctx, "SELECT email FROM public.customers")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		srcEmails[e] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = d.Query(ctx, "SELECT id, email, phone FROM public.customers ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id int64
		var email, phone *string
		if err := rows.Scan(&id, &email, &phone); err != nil {
			t.Fatal(err)
		}
		n++
		if email == nil || srcEmails[*email] || len(*email) != 32 {
			t.Fatalf("customer %d: email %v is not a fresh 32-character hash", id, email)
		}
		if phone != nil && len(*phone) != 12 {
			t.Fatalf("customer %d: phone %q is not a 12-character hash", id, *phone)
		}
	}
	if n != len(srcEmails) {
		t.Errorf("target has %d customers, source %d", n, len(srcEmails))
	}
	// Keyed determinism: two runs give the same customers table.
	a, b := pgtest.TableDigests(t, dst1), pgtest.TableDigests(t, dst2)
	if a["public.customers"] != b["public.customers"] {
		t.Errorf("two runs with one key differ: %s vs %s", a["public.customers"], b["public.customers"])
	}
}

// Writers keep changing the source while it is copied; the copy must still be one moment's
// state: balances sum to the constant total, every transfer row has its counter.
func TestSyncIsConsistentUnderConcurrentWrites(t *testing.T) {
	src := pgtest.NewDB(t)
	sc := pgtest.Connect(t, src)
	pgtest.Exec(t, sc, `
CREATE TABLE account (id int PRIMARY KEY, balance bigint NOT NULL, pad text);
CREATE TABLE transfer (id bigserial PRIMARY KEY, from_id int NOT NULL REFERENCES account, to_id int NOT NULL REFERENCES account, amount int, pad text);
CREATE TABLE counter (n bigint NOT NULL);
INSERT INTO counter VALUES (0);
INSERT INTO account SELECT g, 1000, repeat('x', 200) FROM generate_series(1, 20000) g;
INSERT INTO transfer (from_id, to_id, amount, pad) SELECT 1 + g % 20000, 1 + (g * 7) % 20000, 0, repeat('y', 200) FROM generate_series(1, 50000) g;
UPDATE counter SET n = 50000;
`)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var commits atomic.Int64
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			conn := pgtest.Connect(t, src)
			for i := 0; ctx.Err() == nil; i++ {
				a, b := 1+(i*31+w)%20000, 1+(i*17+w*5)%20000
				_, err := conn.Exec(ctx, `BEGIN;
UPDATE account SET balance = balance - 5 WHERE id = `+strconv.Itoa(a)+`;
UPDATE account SET balance = balance + 5 WHERE id = `+strconv.Itoa(b)+`;
INSERT INTO transfer (from_id, to_id, amount, pad) VALUES (`+strconv.Itoa(a)+`, `+strconv.Itoa(b)+`, 5, repeat('z', 200));
UPDATE counter SET n = n + 1;
COMMIT;`)
				if err != nil && ctx.Err() == nil {
					t.Errorf("writer: %v", err)
					return
				}
				commits.Add(1)
			}
		}(w)
	}
	time.Sleep(200 * time.Millisecond)
	dst := pgtest.NewDB(t)
	o := syncOpts(src, dst)
	o.ChunkBytes = 32 << 10 // many chunks, read by different connections at different times
	_, err := Sync(context.Background(), o)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if commits.Load() < 10 {
		t.Fatalf("only %d writes happened during the copy; the test proves nothing", commits.Load())
	}
	var sum, transfers, counter int64
	d := pgtest.Connect(t, dst)
	if err := d.QueryRow(context.Background(), "SELECT (SELECT sum(balance) FROM account), (SELECT count(*) FROM transfer), (SELECT n FROM counter)").Scan(&sum, &transfers, &counter); err != nil {
		t.Fatal(err)
	}
	if sum != 20000*1000 {
		t.Errorf("balances sum to %d, want %d: the copy mixed moments", sum, 20000*1000)
	}
	if transfers != counter {
		t.Errorf("%d transfers but the counter says %d: the copy mixed moments", transfers, counter)
	}
	t.Logf("%d writes committed during the sync; target holds %d transfers", commits.Load(), transfers)
}

func TestSyncRefusesUnsafeTargets(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)")

	_, err := Sync(context.Background(), syncOpts(src, src))
	assertCode(t, err, failure.ExitUnsafe, "same database")

	dst := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, dst), "CREATE TABLE precious (x int); INSERT INTO precious VALUES (42)")
	_, err = Sync(context.Background(), syncOpts(src, dst))
	assertCode(t, err, failure.ExitUnsafe, "not empty")
	var n int
	if err := pgtest.Connect(t, dst).QueryRow(context.Background(), "SELECT x FROM precious").Scan(&n); err != nil || n != 42 {
		t.Errorf("a refused sync touched the target: %v", err)
	}
}

// A connection dropped mid-copy every time the unit is tried (a dropped one alone is retried:
// TestSyncRetriesTerminatedCopy) fails the run once the retries are spent, leaves the target
// marked incomplete, the next run refuses it, and --replace recovers.
func TestSyncFailureLeavesTargetMarkedIncomplete(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 300000, 2); err != nil {
		t.Fatal(err)
	}
	dst := pgtest.NewDB(t)
	dbName := dst[strings.LastIndex(dst, "/")+1:]
	dbName = dbName[:strings.IndexByte(dbName+"?", '?')]
	admin := pgtest.Connect(t, pgtest.DSN(t))
	// The watcher's queries are not cancelled when the sync ends (a cancelled query might
	// have killed a backend without saying so); it stops between them, and is waited for.
	var stop, killed atomic.Bool
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for !stop.Load() {
			var n int
			err := admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = $1 AND application_name = 'understudy' AND query LIKE 'COPY %FROM STDIN%'`, dbName).Scan(&n)
			if err == nil && n > 0 {
				killed.Store(true) // and on: every retry of the unit is dropped too
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	o := syncOpts(src, dst)
	o.Jobs = 1
	_, err := Sync(context.Background(), o)
	stop.Store(true)
	<-watched
	if !killed.Load() {
		t.Fatalf("the copy finished before a connection could be dropped (err %v)", err)
	}
	assertCode(t, err, failure.ExitFailed, "")
	var ue *failure.UserError
	if errors.As(err, &ue) && !strings.Contains(ue.Hint, "--replace") {
		t.Errorf("hint %q does not say how to recover", ue.Hint)
	}

	_, err = Sync(context.Background(), syncOpts(src, dst))
	assertCode(t, err, failure.ExitUnsafe, "unfinished copy")

	o = syncOpts(src, dst)
	o.Replace = true
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, src, dst)
}

func TestSyncErrorsNeverShowPasswords(t *testing.T) {
	src := pgtest.NewDB(t)
	bad := strings.Replace(src, ":"+passwordOf(t, src)+"@", ":wrong-secret-pw@", 1)
	var logs bytes.Buffer
	o := syncOpts(bad, pgtest.NewDB(t))
	o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	_, err := Sync(context.Background(), o)
	assertCode(t, err, failure.ExitConnect, "authentication failed")
	if strings.Contains(err.Error(), "wrong-secret-pw") || strings.Contains(logs.String(), "wrong-secret-pw") {
		t.Errorf("password in error: %v", err)
	}
}

func passwordOf(t *testing.T, dsn string) string {
	t.Helper()
	at := strings.Index(dsn, "@")
	colon := strings.LastIndex(dsn[:at], ":")
	if at < 0 || colon < 0 {
		t.Fatalf("test DSN has no password: %s", config.Redact(dsn))
	}
	return dsn[colon+1 : at]
}

func TestSyncConfigErrorsPointAtTheFile(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), "CREATE TABLE customers (id int PRIMARY KEY, email text)")
	cases := []struct{ yaml, want string }{
		{"tables:\n  public.customers:\n    columns:\n      emial: hash\n", `c.yaml:4: tables.public.customers.columns.emial: no such column (did you mean "email"?)`},
		{"tables:\n  public.custmers:\n    columns:\n      email: hash\n", `c.yaml:2: tables.public.custmers: no such table (did you mean "public.customers"?)`},
		{"tables:\n  public.customers:\n    columns:\n      email: hsah\n", `c.yaml:4: tables.public.customers.columns.email: unknown transformer "hsah" (did you mean "hash"?)`},
		{"tables:\n  public.customers:\n    columns:\n      email: hash\n", `UNDERSTUDY_KEY`},
	}
	for _, tc := range cases {
		cfg, err := config.Parse("c.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		dst := pgtest.NewDB(t)
		o := syncOpts(src, dst)
		o.Config = cfg
		_, err = Sync(context.Background(), o)
		assertCode(t, err, failure.ExitUsage, tc.want)
		if n := len(pgtest.TableDigests(t, dst)); n != 0 {
			t.Errorf("a config error still created %d tables in the target", n)
		}
	}
}

func assertCode(t *testing.T, err error, code failure.ExitCode, want string) {
	t.Helper()
	var ue *failure.UserError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v is not a UserError (want exit code %d)", err, code)
	}
	if ue.Code != code || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q (exit %d), want exit %d mentioning %q", err, ue.Code, code, want)
	}
}
