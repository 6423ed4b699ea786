//go:build unix

package benchmarks

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/understudy-dev/understudy/fixtures"
)

// The environment the benchmark reads (scripts/bench.sh sets all three).
const (
	envPG   = "UNDERSTUDY_BENCH_PG"   // superuser DSN, postgres:// URL form
	envRows = "UNDERSTUDY_BENCH_ROWS" // fixture size (default 2000000)
	envBin  = "UNDERSTUDY_BIN"        // the understudy binary (default: built for the run)
)

const (
	defaultRows = 2_000_000
	fixtureSeed = 1
	// jobs is the parallelism every approach gets: pg_dump/pg_restore -j, concurrent COPY
	// pipes, sync --jobs.
	jobs = 2
	// benchKey is the anonymization key of the rules run; the values it makes are thrown away.
	benchKey = "bench-key-0123456789abcdef"
	// rulesYAML is the rules run's configuration: three rules on the customers table.
	rulesYAML = `tables:
  public.customers:
    columns:
      email: hash
      notes: null
      country: {transform: constant, value: "US"}
`
	// personalYAML fakes the eight personal columns of customers (the anonymization
	// issue's end-to-end bar).
	personalYAML = `tables:
  public.customers:
    columns:
      first_name: first_name
      last_name: last_name
      email: email
      phone: phone
      street: street_address
      city: city
      postal_code: postal_code
      birthdate: {transform: date_noise, max: 365d}
`
	targetDB = "bench_dst"
)

// approach is one way of copying the source into an empty target, measured as a whole.
type approach struct {
	name  string // sub-benchmark name
	label string // row in the table
	// run copies b.source into b.target, charging every subprocess to m. It may return a
	// note for the results page.
	run func(ctx context.Context, b *bench, m *meter) (note string, err error)
	// check, when set, verifies the target beyond row counts and schema objects.
	check func(ctx context.Context, bn *bench, conn *pgx.Conn) error
	// sequencesUnset says the approach leaves the sequences at their start: the floor's
	// schema-only dump has no setval. Every other approach must set them as the source has them.
	sequencesUnset bool
}

var approaches = []approach{
	{name: nameFloor, label: "floor (COPY → COPY pipes)", run: runFloor, sequencesUnset: true},
	{name: nameDump, label: "pg_dump + pg_restore", run: runDumpRestore},
	{name: nameSync, label: "sync (no rules)", run: runSync("")},
	{name: nameSyncRules, label: "sync (3 rules)", run: runSync("rules.yaml"), check: checkRules},
	{name: namePersonal, label: "sync (8 personal rules)", run: runSync("personal.yaml"), check: checkPersonal},
}

// BenchmarkSync copies one shop fixture database with each approach in turn, into a fresh
// empty database each time, and writes the comparison to RESULTS.md when all of them ran.
// -benchtime Nx runs N rounds of every approach (see rounds).
func BenchmarkSync(b *testing.B) {
	ctx := b.Context()
	bn, err := newBench(ctx, b)
	if err != nil {
		b.Fatal(err)
	}
	runs := rounds(b, approaches, func(a approach) (result, error) {
		if err := bn.resetTarget(ctx); err != nil {
			return result{}, err
		}
		m := &meter{}
		start := time.Now()
		note, err := a.run(ctx, bn, m)
		wall := time.Since(start)
		logSteps(b, m)
		if err != nil {
			return result{}, fmt.Errorf("%s: %w", a.label, err)
		}
		if err := bn.verify(ctx, !a.sequencesUnset, a.check); err != nil {
			return result{}, fmt.Errorf("%s: the target is not a copy of the source: %w", a.label, err)
		}
		return result{name: a.name, label: a.label, wall: wall, cpu: m.cpu, peakRSSKiB: m.maxRSSKiB, note: note}, nil
	})
	var results []result
	for i, a := range approaches {
		b.Run(a.name, func(b *testing.B) {
			results = standing(results, median(b, runs[i], func(r *result) *result { return r }), func(x result) string { return x.name })
		})
	}
	if err := bn.dropTarget(ctx); err != nil {
		b.Error(err)
	}
	if len(results) == 0 {
		return
	}
	page := renderResults(bn.header(ctx), results)
	fmt.Print("\n" + page)
	if len(results) < len(approaches) {
		b.Logf("only %d of %d approaches ran: RESULTS.md left as it was", len(results), len(approaches))
		return
	}
	if err := os.WriteFile("RESULTS.md", []byte(page), 0o644); err != nil {
		b.Error(err)
	}
}

// logSteps logs how long each of m's subprocesses took.
func logSteps(b *testing.B, m *meter) {
	b.Helper()
	for _, s := range m.steps {
		b.Logf("%-42s %8.2fs", s.label, s.wall.Seconds())
	}
}

// standing returns rs with r in place of the result of the same name, if there is one: go
// test runs a sub-benchmark with b.N = 1 before it runs it -benchtime times, and the last
// call stands.
func standing[R any](rs []R, r R, name func(R) string) []R {
	rs = slices.DeleteFunc(rs, func(x R) bool { return name(x) == name(r) })
	return append(rs, r)
}

// rounds runs every step once per round, each round the steps in order, and returns each
// step's runs, in the order of steps. With -benchtime Nx there are N rounds. Rounds put the
// steps compared side by side in time: the speed of a shared machine drifts over minutes,
// and a block of one step's runs followed by a block of another's would carry that drift
// into their ratio. A step whose run returns errSkipStep has no runs.
func rounds[S, R any](b *testing.B, steps []S, run func(S) (R, error)) [][]R {
	b.Helper()
	out := make([][]R, len(steps))
	for round := range benchRuns() {
		for i, st := range steps {
			r, err := run(st)
			if errors.Is(err, errSkipStep) {
				continue
			}
			if err != nil {
				b.Fatalf("round %d: %v", round+1, err)
			}
			out[i] = append(out[i], r)
		}
	}
	return out
}

// errSkipStep is what a step's run returns when it cannot run here (no S3 server).
var errSkipStep = errors.New("step skipped")

// median returns the run that stands for the approach (see standFor) and reports its metrics
// on b, its wall time as ns/op. of gives a run's measurements.
func median[R any](b *testing.B, runs []R, of func(*R) *result) R {
	b.Helper()
	run := standFor(runs, of)
	r := of(&run)
	b.ReportMetric(float64(r.wall.Nanoseconds()), "ns/op")
	b.ReportMetric(r.wall.Seconds(), "wall-s")
	b.ReportMetric(r.cpu.Seconds(), "client-cpu-s")
	b.ReportMetric(float64(r.peakRSSKiB)/1024, "peak-rss-MiB")
	return run
}

// standFor returns the run with the median wall time (with one round, the run), with the
// largest peak RSS of any run in place of its own: a time bar holds for the typical run, a
// memory bar for every run. of gives a run's measurements.
func standFor[R any](runs []R, of func(*R) *result) R {
	slices.SortFunc(runs, func(x, y R) int { return cmp.Compare(of(&x).wall, of(&y).wall) })
	run := runs[len(runs)/2]
	for i := range runs {
		of(&run).peakRSSKiB = max(of(&run).peakRSSKiB, of(&runs[i]).peakRSSKiB)
	}
	return run
}

// bench is the shared state of one benchmark run.
type bench struct {
	admin    *url.URL // the server's superuser DSN, password removed
	adminDB  string   // its database
	password string   // goes to subprocesses as PGPASSWORD, never on a command line
	rows     int64
	source   string // source database name
	bin      string // understudy binary
	tmp      string
	tables   []table // the source's tables, biggest first
	load     string  // 1-minute load average when the run began: was the machine quiet?
}

// table is one of the source's tables.
type table struct {
	ident string // quoted schema.name
	name  string // schema.name as the catalog spells it, unquoted
	bytes int64  // pg_table_size
	rows  int64
}

func newBench(ctx context.Context, b *testing.B) (*bench, error) {
	dsn := os.Getenv(envPG)
	if dsn == "" {
		b.Skipf("%s is not set: run 'make bench' (it starts a PostgreSQL server), or set it to a superuser DSN (postgres://…)", envPG)
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL", envPG) // url's error would quote the password
	}
	bn := &bench{admin: u, adminDB: strings.TrimPrefix(u.Path, "/"), rows: defaultRows, tmp: b.TempDir()}
	if bn.adminDB == "" {
		bn.adminDB = "postgres"
	}
	if pw, ok := u.User.Password(); ok {
		bn.password = pw
		u.User = url.User(u.User.Username())
	}
	if avg, err := os.ReadFile("/proc/loadavg"); err == nil {
		bn.load, _, _ = strings.Cut(string(avg), " ")
	}
	if s := os.Getenv(envRows); s != "" {
		if bn.rows, err = strconv.ParseInt(s, 10, 64); err != nil || bn.rows <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive number of rows", envRows, s)
		}
	}
	for _, tool := range []string{"psql", "pg_dump", "pg_restore", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not on PATH (put the server's bin directory first on PATH)", tool)
		}
	}
	if bn.bin = os.Getenv(envBin); bn.bin == "" {
		bn.bin = filepath.Join(bn.tmp, "understudy")
		fmt.Printf("%s not set: building %s\n", envBin, bn.bin)
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bn.bin, "github.com/understudy-dev/understudy/cmd/understudy").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("build understudy: %w\n%s", err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(bn.tmp, "personal.yaml"), []byte(personalYAML), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bn.tmp, "rules.yaml"), []byte(rulesYAML), 0o644); err != nil {
		return nil, err
	}
	if err := bn.prepareSource(ctx); err != nil {
		return nil, err
	}
	return bn, nil
}

// dsn returns the DSN of database db, without the password.
func (bn *bench) dsn(db string) string {
	u := *bn.admin
	u.Path, u.RawPath = "/"+db, ""
	return u.String()
}

// connect opens a connection to db with the password.
func (bn *bench) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(bn.dsn(db))
	if err != nil {
		return nil, fmt.Errorf("parse DSN: %w", err)
	}
	cfg.Password = bn.password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", db, err)
	}
	return conn, nil
}

// env is what every subprocess gets on top of the inherited environment.
func (bn *bench) env(extra ...string) []string {
	env := []string{"PGPASSWORD=" + bn.password, "PGAPPNAME=understudy-bench"}
	return append(env, extra...)
}

// fixtureMarker is the comment on a source database whose fixture build finished.
func fixtureMarker(rows int64) string {
	return fmt.Sprintf("understudy bench fixture: shop, rows=%d, seed=%d, complete", rows, fixtureSeed)
}

// prepareSource makes sure bench_src_<rows> holds a complete shop fixture, building it when
// it is missing or unfinished, then lists its tables and reads them once, so that every
// approach starts from the same warm cache.
func (bn *bench) prepareSource(ctx context.Context) error {
	bn.source = fmt.Sprintf("bench_src_%d", bn.rows)
	admin, err := bn.connect(ctx, bn.adminDB)
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	ident := pgx.Identifier{bn.source}.Sanitize()
	var comment *string
	err = admin.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", bn.source).Scan(&comment)
	switch {
	case err == nil && comment != nil && *comment == fixtureMarker(bn.rows):
		fmt.Printf("reusing the fixture database %s\n", bn.source)
	case err == nil || errors.Is(err, pgx.ErrNoRows):
		fmt.Printf("building the fixture database %s (%d rows) …\n", bn.source, bn.rows)
		start := time.Now()
		// The marker goes on last, so an interrupted build is rebuilt next time. It is a
		// database comment, not a table: pg_dump without --create leaves it out, so no
		// approach copies it.
		for _, sql := range []string{
			"DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)",
			"CREATE DATABASE " + ident + " TEMPLATE template0 ENCODING 'UTF8'",
		} {
			if _, err := admin.Exec(ctx, sql); err != nil {
				return fmt.Errorf("fixture %s: %w", bn.source, err)
			}
		}
		full := *bn.admin
		full.User = url.UserPassword(bn.admin.User.Username(), bn.password)
		full.Path, full.RawPath = "/"+bn.source, ""
		if err := fixtures.CreateShop(ctx, full.String(), bn.rows, fixtureSeed); err != nil {
			return fmt.Errorf("fixture %s: %w", bn.source, err)
		}
		// Hint bits and the visibility map are set here, not by whichever approach reads
		// the fresh rows first.
		src, err := bn.connect(ctx, bn.source)
		if err != nil {
			return err
		}
		_, err = src.Exec(ctx, "VACUUM (FREEZE, ANALYZE)")
		src.Close(ctx)
		if err != nil {
			return fmt.Errorf("fixture %s: vacuum: %w", bn.source, err)
		}
		if _, err := admin.Exec(ctx, "COMMENT ON DATABASE "+ident+" IS "+quoteLiteral(fixtureMarker(bn.rows))); err != nil {
			return fmt.Errorf("fixture %s: %w", bn.source, err)
		}
		fmt.Printf("built %s in %.1fs\n", bn.source, time.Since(start).Seconds())
	default:
		return fmt.Errorf("look for %s: %w", bn.source, err)
	}

	src, err := bn.connect(ctx, bn.source)
	if err != nil {
		return err
	}
	defer src.Close(context.WithoutCancel(ctx))
	rows, err := src.Query(ctx, `
		SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_table_size(c.oid), n.nspname || '.' || c.relname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg\_toast%'
		ORDER BY 2 DESC, 1`)
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", bn.source, err)
	}
	bn.tables, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		err := r.Scan(&t.ident, &t.bytes, &t.name)
		return t, err
	})
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", bn.source, err)
	}
	if len(bn.tables) == 0 {
		return fmt.Errorf("%s has no tables", bn.source)
	}
	for i := range bn.tables {
		if err := src.QueryRow(ctx, "SELECT count(*) FROM "+bn.tables[i].ident).Scan(&bn.tables[i].rows); err != nil {
			return fmt.Errorf("count %s: %w", bn.tables[i].ident, err)
		}
	}
	return nil
}

// resetTarget drops and creates the target database, then checkpoints, so that the last
// run's dirty pages are not written during the next one.
func (bn *bench) resetTarget(ctx context.Context) error {
	if err := bn.dropTarget(ctx); err != nil {
		return err
	}
	admin, err := bn.connect(ctx, bn.adminDB)
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	for _, sql := range []string{"CREATE DATABASE " + targetDB + " TEMPLATE template0 ENCODING 'UTF8'", "CHECKPOINT"} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			return fmt.Errorf("prepare the target: %w", err)
		}
	}
	return nil
}

func (bn *bench) dropTarget(ctx context.Context) error {
	admin, err := bn.connect(context.WithoutCancel(ctx), bn.adminDB)
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+targetDB+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop the target: %w", err)
	}
	return nil
}

// verify checks that every source table has as many rows in the target, and that the target
// has the source's indexes (valid), constraints (validated), triggers, sequences (with their
// values when sequences is set) and views, so that a run that silently copied nothing or
// skipped building indexes or constraints cannot report a fast time; then runs check if set.
// None of it is timed.
func (bn *bench) verify(ctx context.Context, sequences bool, check func(context.Context, *bench, *pgx.Conn) error) error {
	conn, err := bn.connect(ctx, targetDB)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, t := range bn.tables {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+t.ident).Scan(&n); err != nil {
			return fmt.Errorf("count %s: %w", t.ident, err)
		}
		if n != t.rows {
			return fmt.Errorf("%s has %d rows, the source %d", t.ident, n, t.rows)
		}
	}
	if err := bn.checkObjects(ctx, conn, sequences); err != nil {
		return err
	}
	if check != nil {
		return check(ctx, bn, conn)
	}
	return nil
}

// checkRules verifies that the rules run applied its three rules.
func checkRules(ctx context.Context, _ *bench, conn *pgx.Conn) error {
	var bad int64
	err := conn.QueryRow(ctx, `SELECT count(*) FROM public.customers
		WHERE email LIKE '%@%' OR notes IS NOT NULL OR country IS DISTINCT FROM 'US'`).Scan(&bad)
	if err != nil {
		return fmt.Errorf("check rules: %w", err)
	}
	if bad > 0 {
		return fmt.Errorf("%d customers kept an e-mail address, notes or a country other than US", bad)
	}
	return nil
}

// checkPersonal verifies that the personal rules run replaced the personal values: of the
// first 10,000 customers (ids are not ruled, so they pair the rows), none keeps the e-mail
// address, phone number or street of the source.
func checkPersonal(ctx context.Context, bn *bench, conn *pgx.Conn) error {
	const q = `SELECT id, email, coalesce(phone, ''), coalesce(street, '') FROM public.customers ORDER BY id LIMIT 10000`
	read := func(c *pgx.Conn) (map[int64][3]string, error) {
		rows, err := c.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		out := map[int64][3]string{}
		for rows.Next() {
			var id int64
			var v [3]string
			if err := rows.Scan(&id, &v[0], &v[1], &v[2]); err != nil {
				return nil, err
			}
			out[id] = v
		}
		return out, rows.Err()
	}
	src, err := bn.connect(ctx, bn.source)
	if err != nil {
		return err
	}
	defer src.Close(context.WithoutCancel(ctx))
	before, err := read(src)
	if err != nil {
		return fmt.Errorf("check personal rules: %w", err)
	}
	after, err := read(conn)
	if err != nil {
		return fmt.Errorf("check personal rules: %w", err)
	}
	kept := 0
	for id, a := range after {
		b := before[id]
		for i := range a {
			if a[i] != "" && a[i] == b[i] {
				kept++
			}
		}
	}
	if kept > 0 || len(after) != len(before) {
		return fmt.Errorf("%d personal values of %d customers survived (%d customers in the source sample)", kept, len(after), len(before))
	}
	return nil
}

// runFloor is the raw COPY floor: schema from pg_dump, then every table as binary COPY
// bytes piped from one psql to another, jobs tables at a time, biggest first, then the
// indexes and constraints. Nothing is decoded; this is what moving the bytes costs.
func runFloor(ctx context.Context, bn *bench, m *meter) (string, error) {
	archive := filepath.Join(bn.tmp, "schema.dump")
	defer os.Remove(archive)
	src, dst := bn.dsn(bn.source), bn.dsn(targetDB)
	if err := m.run("pg_dump --schema-only -Fc", commandContext(ctx, bn.env(),
		"pg_dump", "--schema-only", "-Fc", "-f", archive, "-d", src)); err != nil {
		return "", err
	}
	if err := m.run("pg_restore --section=pre-data", commandContext(ctx, bn.env(),
		"pg_restore", "--section=pre-data", "--exit-on-error", "-d", dst, archive)); err != nil {
		return "", err
	}
	// At most jobs pipes at once; g.Go waits for a free slot, so the tables start in
	// order, biggest first.
	const pipe = `set -o pipefail
psql -X -q -v ON_ERROR_STOP=1 -d "$BENCH_SRC" -c "$BENCH_OUT" |
psql -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DST" -c "$BENCH_IN"`
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, t := range bn.tables {
		g.Go(func() error {
			return m.run("copy "+t.ident, commandContext(gctx, bn.env(
				"BENCH_SRC="+src, "BENCH_DST="+dst,
				"BENCH_OUT=COPY "+t.ident+" TO STDOUT (FORMAT binary)",
				"BENCH_IN=COPY "+t.ident+" FROM STDIN (FORMAT binary)",
			), "bash", "-c", pipe))
		})
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	if err := m.run(fmt.Sprintf("pg_restore --section=post-data -j %d", jobs), commandContext(ctx, bn.env(),
		"pg_restore", "--section=post-data", "-j", strconv.Itoa(jobs), "--exit-on-error", "-d", dst, archive)); err != nil {
		return "", err
	}
	return "", nil
}

// runDumpRestore is what people do today: a directory-format dump, restored in parallel.
func runDumpRestore(ctx context.Context, bn *bench, m *meter) (string, error) {
	dir := filepath.Join(bn.tmp, "dump")
	defer os.RemoveAll(dir)
	j := strconv.Itoa(jobs)
	if err := m.run("pg_dump -Fd -j "+j, commandContext(ctx, bn.env(),
		"pg_dump", "-Fd", "-j", j, "-f", dir, "-d", bn.dsn(bn.source))); err != nil {
		return "", err
	}
	size, err := dirSize(dir)
	if err != nil {
		return "", err
	}
	if err := m.run("pg_restore -j "+j, commandContext(ctx, bn.env(),
		"pg_restore", "-j", j, "--exit-on-error", "-d", bn.dsn(targetDB), dir)); err != nil {
		return "", err
	}
	return "dump directory " + mib(size) + " (pg_dump's default compression)", nil
}

// runSync runs understudy sync, with the rules of config (a file in the run's folder) or
// without any.
func runSync(config string) func(context.Context, *bench, *meter) (string, error) {
	return func(ctx context.Context, bn *bench, m *meter) (string, error) {
		args := []string{"sync", "--source", bn.dsn(bn.source), "--target", bn.dsn(targetDB), "--jobs", strconv.Itoa(jobs),
			"--allow-unmasked"} // these measure copying; the PII guard would ask for rules on every personal column
		label := "understudy sync"
		env := bn.env()
		if config != "" {
			args = append(args, "--config", filepath.Join(bn.tmp, config))
			env = append(env, "UNDERSTUDY_KEY="+benchKey)
			label += " --config " + config
		}
		return "", m.run(label, commandContext(ctx, env, bn.bin, args...))
	}
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}

// header describes the machine, the server and the fixture. What cannot be read is left
// as "?": the results are still worth writing.
func (bn *bench) header(ctx context.Context) header {
	h := header{rows: bn.rows, date: time.Now(), server: "?", tools: "?", jobs: jobs, command: benchCommand(), runs: benchRuns()}
	if conn, err := bn.connect(ctx, bn.source); err == nil {
		_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&h.server)
		_ = conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&h.sourceBytes)
		conn.Close(ctx)
	}
	if out, err := exec.CommandContext(ctx, "pg_dump", "--version").Output(); err == nil {
		h.tools = strings.TrimSpace(strings.TrimPrefix(string(out), "pg_dump (PostgreSQL) "))
	}
	h.machine = fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if model := procField("/proc/cpuinfo", "model name"); model != "" {
		h.machine += " (" + model + ")"
	}
	if mem := procField("/proc/meminfo", "MemTotal"); mem != "" {
		if kib, err := strconv.ParseInt(strings.TrimSuffix(mem, " kB"), 10, 64); err == nil {
			h.machine += fmt.Sprintf(", %.1f GiB memory", float64(kib)/(1<<20))
		}
	}
	if bn.load != "" {
		h.machine += ", 1-minute load average " + bn.load + " when the benchmark started"
	}
	return h
}

// procField returns the value of the first "key: value" line named key in a /proc file, or
// "" when there is none.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
