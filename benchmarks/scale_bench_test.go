//go:build unix

package benchmarks

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/parquet/file"
	"golang.org/x/sync/errgroup"
)

const (
	// envScaleRows is the scale benchmark's fixture size (scripts/bench.sh sets it to ROWS
	// when that is given). It is smaller than the others' by default: every step writes
	// scaleFactor times as many rows.
	envScaleRows     = "UNDERSTUDY_BENCH_SCALE_ROWS"
	defaultScaleRows = 200_000
	scaleFactor      = 10
	// scaleShared is the lookup table every scaled run copies once.
	scaleShared = "public.products"
	scaleYAML   = "scale: {factor: 10, shared: [public.products]}\n"
)

// scaleStep is one step of the scale benchmark, measured as a whole.
type scaleStep struct {
	name  string // sub-benchmark name
	label string // row in the table
	// prepare, untimed, makes the step's input and a fresh place to write to.
	prepare func(ctx context.Context, bn *bench, sr *scaleRun) error
	// run does the step, charging every subprocess to m, and returns the rows it wrote.
	run func(ctx context.Context, bn *bench, sr *scaleRun, m *meter) (rows int64, note string, err error)
	// check, untimed, verifies what the step wrote; it may add to r's note.
	check func(ctx context.Context, bn *bench, sr *scaleRun, r *scaleResult) error
}

// The sync runs first: the floor loads the rows it wrote.
var scaleSteps = []scaleStep{
	{name: nameScaleSync, label: fmt.Sprintf("understudy sync --scale %d", scaleFactor),
		prepare: func(ctx context.Context, bn *bench, _ *scaleRun) error { return bn.resetTarget(ctx) },
		run:     runScaleSync, check: checkScaleSync},
	{name: nameScaleFloor, label: "floor (binary COPY FROM, no indexes)",
		prepare: prepareScaleFloor, run: runScaleFloor, check: checkScaleFloor},
	{name: nameScaleSnapshot, label: fmt.Sprintf("understudy snapshot --scale %d", scaleFactor),
		prepare: func(_ context.Context, _ *bench, sr *scaleRun) error { return os.RemoveAll(sr.snapDir) },
		run:     runScaleSnapshot, check: checkScaleSnapshot},
}

// scaleRun is what the steps of one BenchmarkScale run share.
type scaleRun struct {
	config  string           // scale.yaml
	want    map[string]int64 // rows per table a scaled run writes
	written int64            // their sum
	snapDir string
	schema  string // pg_dump --schema-only -Fc of the source; "" until made
	// copies are the scaled target's tables as binary COPY files, biggest first; nil until
	// a scaled sync made them.
	copies []copyFile
}

// copyFile is one table's rows in COPY's binary format.
type copyFile struct {
	ident string
	path  string
	bytes int64
}

// BenchmarkScale writes the shop fixture ×10 (products shared) with understudy sync --scale
// into a fresh database and with understudy snapshot --scale into a fresh directory, and
// loads the same rows into a database holding only the pre-data schema with plain binary
// COPY, the ingest floor of the target; it compares the rows per second and writes
// RESULTS-scale.md when every step ran. -benchtime Nx runs N rounds of every step (see
// rounds).
func BenchmarkScale(b *testing.B) {
	ctx := b.Context()
	rows, err := scaleRows()
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv(envRows, strconv.FormatInt(rows, 10)) // newBench builds and reads bench_src_<rows>
	bn, err := newBench(ctx, b)
	if err != nil {
		b.Fatal(err)
	}
	sr, err := newScaleRun(bn)
	if err != nil {
		b.Fatal(err)
	}
	runs := rounds(b, scaleSteps, func(st scaleStep) (scaleResult, error) {
		if err := st.prepare(ctx, bn, sr); err != nil {
			return scaleResult{}, fmt.Errorf("%s: prepare: %w", st.label, err)
		}
		m := &meter{}
		start := time.Now()
		n, note, err := st.run(ctx, bn, sr, m)
		wall := time.Since(start)
		logSteps(b, m)
		if err != nil {
			return scaleResult{}, fmt.Errorf("%s: %w", st.label, err)
		}
		r := scaleResult{result: result{name: st.name, label: st.label, wall: wall, cpu: m.cpu, peakRSSKiB: m.maxRSSKiB, note: note}, rows: n}
		if err := st.check(ctx, bn, sr, &r); err != nil {
			return scaleResult{}, fmt.Errorf("%s: %w", st.label, err)
		}
		return r, nil
	})
	var results []scaleResult
	for i, st := range scaleSteps {
		b.Run(st.name, func(b *testing.B) {
			r := median(b, runs[i], func(r *scaleResult) *result { return &r.result })
			b.ReportMetric(r.rate(), "rows/s")
			results = standing(results, r, func(x scaleResult) string { return x.name })
		})
	}
	if err := bn.dropTarget(ctx); err != nil {
		b.Error(err)
	}
	if len(results) == 0 {
		return
	}
	var source int64
	for _, t := range bn.tables {
		source += t.rows
	}
	info := scaleInfo{factor: scaleFactor, shared: []string{scaleShared}, sourceRows: source, written: sr.written}
	page := renderScaleResults(bn.header(ctx), info, results)
	fmt.Print("\n" + page)
	if len(results) < len(scaleSteps) {
		b.Logf("only %d of %d steps ran: RESULTS-scale.md left as it was", len(results), len(scaleSteps))
		return
	}
	if err := os.WriteFile("RESULTS-scale.md", []byte(page), 0o644); err != nil {
		b.Error(err)
	}
}

// benchCommand is the go test command line of this run, as far as the results depend on it.
func benchCommand() string {
	cmd := "go test ./benchmarks -run '^$'"
	for _, f := range []string{"bench", "benchtime"} {
		if fl := flag.Lookup("test." + f); fl != nil {
			cmd += fmt.Sprintf(" -%s '%s'", f, fl.Value)
		}
	}
	return cmd
}

// benchRuns is how many times each step runs in a sub-benchmark's last call: n of
// -benchtime nx, else 1 (a duration runs it as often as fits).
func benchRuns() int {
	fl := flag.Lookup("test.benchtime")
	if fl == nil {
		return 1
	}
	n, err := strconv.Atoi(strings.TrimSuffix(fl.Value.String(), "x"))
	if err != nil || !strings.HasSuffix(fl.Value.String(), "x") || n < 1 {
		return 1
	}
	return n
}

// scaleRows is the fixture size: UNDERSTUDY_BENCH_SCALE_ROWS, else UNDERSTUDY_BENCH_ROWS,
// else defaultScaleRows.
func scaleRows() (int64, error) {
	for _, env := range []string{envScaleRows, envRows} {
		if s := os.Getenv(env); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%s=%q: want a positive number of rows", env, s)
			}
			return n, nil
		}
	}
	return defaultScaleRows, nil
}

func newScaleRun(bn *bench) (*scaleRun, error) {
	sr := &scaleRun{config: filepath.Join(bn.tmp, "scale.yaml"), want: map[string]int64{}, snapDir: filepath.Join(bn.tmp, "scale-snap")}
	if err := os.WriteFile(sr.config, []byte(scaleYAML), 0o644); err != nil {
		return nil, err
	}
	shared := false
	for _, t := range bn.tables {
		n := t.rows * scaleFactor
		if t.ident == scaleShared {
			n, shared = t.rows, true
		}
		sr.want[t.ident] = n
		sr.written += n
	}
	if !shared {
		return nil, fmt.Errorf("%s has no table %s to share", bn.source, scaleShared)
	}
	return sr, nil
}

// scaleArgs are the arguments common to the scaled sync and snapshot; report is the file
// their JSON run report goes to.
func scaleArgs(sr *scaleRun, report string) []string {
	return []string{"--scale", strconv.Itoa(scaleFactor), "--config", sr.config, "--jobs", strconv.Itoa(jobs),
		"--allow-unmasked", // this measures copying; the PII guard would ask for rules on every personal column
		"--progress-interval", "0", "--report", report}
}

func runScaleSync(ctx context.Context, bn *bench, sr *scaleRun, m *meter) (int64, string, error) {
	report := filepath.Join(bn.tmp, "scale-sync.json")
	args := append([]string{"sync", "--source", bn.dsn(bn.source), "--target", bn.dsn(targetDB)}, scaleArgs(sr, report)...)
	log, start, err := m.runLogged("understudy sync --scale", commandContext(ctx, bn.env(), bn.bin, args...))
	if err != nil {
		return 0, "", err
	}
	n, err := reportRows(report)
	return n, "phases, seconds from the start: " + phases(log, start), err
}

// checkScaleSync verifies the scaled target, then, the first time, writes its tables to the
// COPY files the floor loads.
func checkScaleSync(ctx context.Context, bn *bench, sr *scaleRun, r *scaleResult) error {
	if r.rows != sr.written {
		return fmt.Errorf("the run report says %d rows written, want %d", r.rows, sr.written)
	}
	if err := sr.verify(ctx, bn, true); err != nil {
		return err
	}
	if sr.copies == nil {
		return sr.export(ctx, bn)
	}
	return nil
}

// verify checks that every table of the target holds the scaled number of rows and, when
// objects is set, that the target has the source's indexes, constraints (validated),
// triggers and sequences (their values differ: the scaled rows have other keys).
func (sr *scaleRun) verify(ctx context.Context, bn *bench, objects bool) error {
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
		if n != sr.want[t.ident] {
			return fmt.Errorf("%s has %d rows, want %d (the source's %d × %d)", t.ident, n, sr.want[t.ident], t.rows, sr.want[t.ident]/t.rows)
		}
	}
	if objects {
		return bn.checkObjects(ctx, conn, false)
	}
	return nil
}

// export writes every table of the target to a file in COPY's binary format.
func (sr *scaleRun) export(ctx context.Context, bn *bench) error {
	dir := filepath.Join(bn.tmp, "scale-copies")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var copies []copyFile
	for i, t := range bn.tables {
		c := copyFile{ident: t.ident, path: filepath.Join(dir, fmt.Sprintf("%d.bin", i))}
		f, err := os.Create(c.path)
		if err != nil {
			return err
		}
		cmd := commandContext(ctx, bn.env(), "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", bn.dsn(targetDB),
			"-c", "COPY "+t.ident+" TO STDOUT (FORMAT binary)")
		cmd.Stdout = f
		err = (&meter{}).run("export "+t.ident, cmd)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		info, err := os.Stat(c.path)
		if err != nil {
			return err
		}
		c.bytes = info.Size()
		copies = append(copies, c)
	}
	slices.SortStableFunc(copies, func(x, y copyFile) int { return cmp.Compare(y.bytes, x.bytes) })
	sr.copies = copies
	return nil
}

// prepareScaleFloor makes the COPY files (with an untimed scaled sync) unless the sync step
// did, then a fresh target holding the source's pre-data schema only.
func prepareScaleFloor(ctx context.Context, bn *bench, sr *scaleRun) error {
	if sr.copies == nil {
		if err := bn.resetTarget(ctx); err != nil {
			return err
		}
		n, _, err := runScaleSync(ctx, bn, sr, &meter{})
		if err != nil {
			return err
		}
		if err := checkScaleSync(ctx, bn, sr, &scaleResult{rows: n}); err != nil {
			return err
		}
	}
	if sr.schema == "" {
		archive := filepath.Join(bn.tmp, "scale-schema.dump")
		if err := (&meter{}).run("pg_dump --schema-only -Fc", commandContext(ctx, bn.env(),
			"pg_dump", "--schema-only", "-Fc", "-f", archive, "-d", bn.dsn(bn.source))); err != nil {
			return err
		}
		sr.schema = archive
	}
	if err := bn.resetTarget(ctx); err != nil {
		return err
	}
	return (&meter{}).run("pg_restore --section=pre-data", commandContext(ctx, bn.env(),
		"pg_restore", "--section=pre-data", "--exit-on-error", "-d", bn.dsn(targetDB), sr.schema))
}

// runScaleFloor loads the COPY files into the target, jobs tables at a time, biggest first.
// Nothing is decoded, and no index is maintained: this is what taking the rows costs the
// target at all.
func runScaleFloor(ctx context.Context, bn *bench, sr *scaleRun, m *meter) (int64, string, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs) // g.Go waits for a free slot, so the tables start in order
	var bytes int64
	for _, c := range sr.copies {
		bytes += c.bytes
		g.Go(func() error {
			f, err := os.Open(c.path)
			if err != nil {
				return err
			}
			defer f.Close()
			cmd := commandContext(gctx, bn.env(), "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", bn.dsn(targetDB),
				"-c", "COPY "+c.ident+" FROM STDIN (FORMAT binary)")
			cmd.Stdin = f
			return m.run("copy "+c.ident, cmd)
		})
	}
	if err := g.Wait(); err != nil {
		return 0, "", err
	}
	return sr.written, "binary COPY files " + mib(bytes), nil
}

// checkScaleFloor verifies the loaded rows, then builds what the floor left out (indexes,
// keys, constraints, foreign keys) and notes how long that took, outside the floor's time:
// the sync's wall time includes it. Then the target must have the source's schema objects.
func checkScaleFloor(ctx context.Context, bn *bench, sr *scaleRun, r *scaleResult) error {
	if err := sr.verify(ctx, bn, false); err != nil {
		return err
	}
	start := time.Now()
	if err := (&meter{}).run("pg_restore --section=post-data", commandContext(ctx, bn.env(),
		"pg_restore", "--section=post-data", "-j", strconv.Itoa(jobs), "--exit-on-error", "-d", bn.dsn(targetDB), sr.schema)); err != nil {
		return fmt.Errorf("the post-data schema does not hold on the scaled rows: %w", err)
	}
	r.postData = time.Since(start)
	conn, err := bn.connect(ctx, targetDB)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return bn.checkObjects(ctx, conn, false)
}

func runScaleSnapshot(ctx context.Context, bn *bench, sr *scaleRun, m *meter) (int64, string, error) {
	report := filepath.Join(bn.tmp, "scale-snapshot.json")
	args := append([]string{"snapshot", "--source", bn.dsn(bn.source), "--to", sr.snapDir}, scaleArgs(sr, report)...)
	log, start, err := m.runLogged("understudy snapshot --scale", commandContext(ctx, bn.env(), bn.bin, args...))
	if err != nil {
		return 0, "", err
	}
	n, err := reportRows(report)
	return n, "phases, seconds from the start: " + phases(log, start), err
}

// checkScaleSnapshot verifies the scaled snapshot: its run report's row count, and every
// table's rows counted in the Parquet parts themselves.
func checkScaleSnapshot(_ context.Context, bn *bench, sr *scaleRun, r *scaleResult) error {
	if r.rows != sr.written {
		return fmt.Errorf("the run report says %d rows written, want %d", r.rows, sr.written)
	}
	if err := sr.verifyParquet(bn); err != nil {
		return err
	}
	size, err := dirSize(sr.snapDir)
	if err != nil {
		return err
	}
	r.note += "; snapshot " + mib(size)
	return nil
}

// verifyParquet counts the rows of the snapshot's Parquet parts per table, from each part's
// footer as Arrow's Parquet reader reads it (not understudy's code, nor its report or
// manifest), and checks every table holds the scaled number of rows. The parts of table
// schema.name are data/<schema>.<name>/*.parquet (docs/snapshot-format.md), the name with %,
// / and a dot in the schema percent-escaped.
func (sr *scaleRun) verifyParquet(bn *bench) error {
	parts, err := filepath.Glob(filepath.Join(sr.snapDir, "data", "*", "*.parquet"))
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%s holds no Parquet parts", sr.snapDir)
	}
	got := map[string]int64{}
	for _, p := range parts {
		name, err := url.PathUnescape(filepath.Base(filepath.Dir(p)))
		if err != nil {
			return fmt.Errorf("%s: table directory: %w", p, err)
		}
		f, err := file.OpenParquetFile(p, false)
		if err != nil {
			return fmt.Errorf("read the footer of %s: %w", p, err)
		}
		got[name] += f.NumRows()
		f.Close()
	}
	known := map[string]bool{}
	for _, t := range bn.tables {
		known[t.name] = true
		if got[t.name] != sr.want[t.ident] {
			return fmt.Errorf("the snapshot's Parquet parts of %s hold %d rows, want %d (the source's %d × %d)",
				t.name, got[t.name], sr.want[t.ident], t.rows, sr.want[t.ident]/max(t.rows, 1))
		}
	}
	for name := range got {
		if !known[name] {
			return fmt.Errorf("the snapshot has Parquet parts of %s, which the source does not have", name)
		}
	}
	return nil
}

// reportRows reads the rows written from a --report file. Only that field is decoded: the
// benchmarks talk to understudy as a user does, through its command line and its files.
func reportRows(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("run report: %w", err)
	}
	var r struct {
		Rows int64 `json:"rows"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, fmt.Errorf("run report %s: %w", path, err)
	}
	return r.Rows, nil
}

var logLine = regexp.MustCompile(`^time=(\S+) level=INFO msg=("[^"]*"|\S+)`)

// phases lists the INFO lines of an understudy text log as "msg at seconds", counted from
// start, so the results say where the time went.
func phases(log string, start time.Time) string {
	var out []string
	s := bufio.NewScanner(strings.NewReader(log))
	for s.Scan() {
		m := logLine.FindStringSubmatch(s.Text())
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		out = append(out, fmt.Sprintf("%s %.2f", strings.Trim(m[2], `"`), at.Sub(start).Seconds()))
	}
	if len(out) == 0 {
		return "none logged"
	}
	return strings.Join(out, ", ")
}
