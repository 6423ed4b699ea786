//go:build unix

package benchmarks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/understudy-dev/understudy/fixtures/s3test"
)

// envS3 names the env file of the S3 server the S3 steps write to, as scripts/s3.sh writes
// it (scripts/bench.sh starts one and sets it). Without it those steps are skipped.
const envS3 = "UNDERSTUDY_BENCH_S3"

// snapStep is one step of the snapshot benchmark, measured as a whole.
type snapStep struct {
	name  string // sub-benchmark name
	label string // row in the table
	s3    bool   // needs the S3 server
	// prepare, untimed, clears what an earlier iteration wrote, or makes the input a restore
	// needs when no earlier step made it.
	prepare func(ctx context.Context, bn *bench, sr *snapRun) error
	// run does the step, charging every subprocess to m.
	run func(ctx context.Context, bn *bench, sr *snapRun, m *meter) error
	// size, for a step that writes a dump or snapshot, measures it (untimed).
	size func(ctx context.Context, sr *snapRun) (int64, error)
	// restore says the step loads bn's target: it is made fresh before and verified after.
	restore bool
}

var snapSteps = []snapStep{
	{name: namePgDump, label: "pg_dump -Fd -j 2", prepare: clearDump, run: runPgDump,
		size: func(_ context.Context, sr *snapRun) (int64, error) { return dirSize(sr.dump) }},
	{name: namePgRestore, label: "pg_restore -j 2", prepare: ensureDump, run: runPgRestore, restore: true},
	{name: nameSnapshotDir, label: "snapshot (dir)", prepare: clearSnapshotDir, run: runSnapshotDir,
		size: func(_ context.Context, sr *snapRun) (int64, error) { return dirSize(sr.dir) }},
	{name: nameRestoreDir, label: "restore (dir)", prepare: ensureSnapshotDir, run: runRestoreDir, restore: true},
	{name: nameSnapshotS3, label: "snapshot (S3)", s3: true, prepare: nextSnapshotS3, run: runSnapshotS3,
		size: func(ctx context.Context, sr *snapRun) (int64, error) { return sr.s3.size(ctx, sr.s3URL) }},
	{name: nameRestoreS3, label: "restore (S3)", s3: true, prepare: ensureSnapshotS3, run: runRestoreS3, restore: true},
}

// snapRun is what the steps of one BenchmarkSnapshot run share: the dump and the snapshots
// the restores load, once made.
type snapRun struct {
	dump, dir   string // pg_dump's directory, the directory snapshot; "" until made
	s3          *s3Server
	s3URL       string // the S3 snapshot; "" until made
	s3Snapshots int    // S3 snapshots begun, for a fresh prefix each
}

// BenchmarkSnapshot dumps and snapshots the shop fixture database, and restores the dump and
// the snapshots into a fresh empty database each, with pg_dump/pg_restore and understudy
// snapshot/restore side by side, and writes the comparison to RESULTS-snapshot.md when every
// step ran. -benchtime Nx runs N rounds of every step (see rounds).
func BenchmarkSnapshot(b *testing.B) {
	ctx := b.Context()
	bn, err := newBench(ctx, b)
	if err != nil {
		b.Fatal(err)
	}
	sr := &snapRun{}
	var s3Skip string
	if sr.s3, s3Skip = newS3Server(b); sr.s3 == nil {
		b.Logf("the S3 steps are skipped: %s", s3Skip)
	}
	runs := rounds(b, snapSteps, func(st snapStep) (snapResult, error) {
		if st.s3 && sr.s3 == nil {
			return snapResult{}, errSkipStep
		}
		if err := st.prepare(ctx, bn, sr); err != nil {
			return snapResult{}, fmt.Errorf("%s: prepare: %w", st.label, err)
		}
		if st.restore {
			if err := bn.resetTarget(ctx); err != nil {
				return snapResult{}, err
			}
		}
		m := &meter{}
		start := time.Now()
		err := st.run(ctx, bn, sr, m)
		wall := time.Since(start)
		logSteps(b, m)
		if err != nil {
			return snapResult{}, fmt.Errorf("%s: %w", st.label, err)
		}
		r := snapResult{result: result{name: st.name, label: st.label, wall: wall, cpu: m.cpu, peakRSSKiB: m.maxRSSKiB}}
		if st.size != nil {
			if r.bytes, err = st.size(ctx, sr); err != nil {
				return snapResult{}, fmt.Errorf("%s: size of the output: %w", st.label, err)
			}
		}
		if st.restore {
			if err := bn.verify(ctx, true, nil); err != nil {
				return snapResult{}, fmt.Errorf("%s: the target is not a copy of the source: %w", st.label, err)
			}
		}
		return r, nil
	})
	var results []snapResult
	for i, st := range snapSteps {
		b.Run(st.name, func(b *testing.B) {
			if len(runs[i]) == 0 {
				b.Skip(s3Skip)
			}
			r := median(b, runs[i], func(r *snapResult) *result { return &r.result })
			if st.size != nil {
				b.ReportMetric(float64(r.bytes)/(1<<20), "output-MiB")
			}
			results = standing(results, r, func(x snapResult) string { return x.name })
		})
	}
	if err := bn.dropTarget(ctx); err != nil {
		b.Error(err)
	}
	if len(results) == 0 {
		return
	}
	var s3 string
	if sr.s3 != nil {
		s3 = "the server of " + envS3 + " (make bench: versitygw, scripts/s3.sh, posix backend, on the same machine)"
	}
	page := renderSnapshotResults(bn.header(ctx), s3, results)
	fmt.Print("\n" + page)
	if len(results) < len(snapSteps) {
		b.Logf("only %d of %d steps ran: RESULTS-snapshot.md left as it was", len(results), len(snapSteps))
		return
	}
	if err := os.WriteFile("RESULTS-snapshot.md", []byte(page), 0o644); err != nil {
		b.Error(err)
	}
}

func clearDump(_ context.Context, bn *bench, sr *snapRun) error {
	sr.dump = ""
	return os.RemoveAll(filepath.Join(bn.tmp, "dump"))
}

// ensureDump makes the dump pg_restore loads, unless pg_dump's step left one.
func ensureDump(ctx context.Context, bn *bench, sr *snapRun) error {
	if sr.dump != "" {
		return nil
	}
	if err := clearDump(ctx, bn, sr); err != nil {
		return err
	}
	return runPgDump(ctx, bn, sr, &meter{})
}

func runPgDump(ctx context.Context, bn *bench, sr *snapRun, m *meter) error {
	dir := filepath.Join(bn.tmp, "dump")
	j := strconv.Itoa(jobs)
	if err := m.run("pg_dump -Fd -j "+j, commandContext(ctx, bn.env(),
		"pg_dump", "-Fd", "-j", j, "-f", dir, "-d", bn.dsn(bn.source))); err != nil {
		return err
	}
	sr.dump = dir
	return nil
}

func runPgRestore(ctx context.Context, bn *bench, sr *snapRun, m *meter) error {
	j := strconv.Itoa(jobs)
	return m.run("pg_restore -j "+j, commandContext(ctx, bn.env(),
		"pg_restore", "-j", j, "--exit-on-error", "-d", bn.dsn(targetDB), sr.dump))
}

func clearSnapshotDir(_ context.Context, bn *bench, sr *snapRun) error {
	sr.dir = ""
	return os.RemoveAll(filepath.Join(bn.tmp, "snap"))
}

// ensureSnapshotDir makes the directory snapshot restore loads, unless the snapshot step
// left one.
func ensureSnapshotDir(ctx context.Context, bn *bench, sr *snapRun) error {
	if sr.dir != "" {
		return nil
	}
	if err := clearSnapshotDir(ctx, bn, sr); err != nil {
		return err
	}
	return runSnapshotDir(ctx, bn, sr, &meter{})
}

// snapshotArgs are the arguments of understudy snapshot to location to.
func snapshotArgs(bn *bench, to string) []string {
	return []string{"snapshot", "--source", bn.dsn(bn.source), "--to", to, "--jobs", strconv.Itoa(jobs),
		"--allow-unmasked"} // this measures copying; the PII guard would ask for rules on every personal column
}

// restoreArgs are the arguments of understudy restore from location from.
func restoreArgs(bn *bench, from string) []string {
	return []string{"restore", "--from", from, "--target", bn.dsn(targetDB), "--jobs", strconv.Itoa(jobs)}
}

func runSnapshotDir(ctx context.Context, bn *bench, sr *snapRun, m *meter) error {
	dir := filepath.Join(bn.tmp, "snap")
	if err := m.run("understudy snapshot --to DIR", commandContext(ctx, bn.env(), bn.bin, snapshotArgs(bn, dir)...)); err != nil {
		return err
	}
	sr.dir = dir
	return nil
}

func runRestoreDir(ctx context.Context, bn *bench, sr *snapRun, m *meter) error {
	return m.run("understudy restore --from DIR", commandContext(ctx, bn.env(), bn.bin, restoreArgs(bn, sr.dir)...))
}

// nextSnapshotS3 picks a fresh prefix for the next S3 snapshot, so that no iteration
// overwrites another's.
func nextSnapshotS3(_ context.Context, _ *bench, sr *snapRun) error {
	sr.s3URL = ""
	sr.s3Snapshots++
	return nil
}

// ensureSnapshotS3 makes the S3 snapshot restore loads, unless the snapshot step left one.
func ensureSnapshotS3(ctx context.Context, bn *bench, sr *snapRun) error {
	if sr.s3URL != "" {
		return nil
	}
	if err := nextSnapshotS3(ctx, bn, sr); err != nil {
		return err
	}
	return runSnapshotS3(ctx, bn, sr, &meter{})
}

func runSnapshotS3(ctx context.Context, bn *bench, sr *snapRun, m *meter) error {
	u := fmt.Sprintf("s3://%s/snap-%d", sr.s3.bucket, sr.s3Snapshots)
	if err := m.run("understudy snapshot --to s3://…", sr.s3.command(ctx, bn, bn.bin, snapshotArgs(bn, u)...)); err != nil {
		return err
	}
	sr.s3URL = u
	return nil
}

func runRestoreS3(ctx context.Context, bn *bench, sr *snapRun, m *meter) error {
	return m.run("understudy restore --from s3://…", sr.s3.command(ctx, bn, bn.bin, restoreArgs(bn, sr.s3URL)...))
}

// s3Server is the S3 server of the S3 steps, with the bucket they write to.
type s3Server struct {
	env    []string // AWS_* for understudy: this server's endpoint, region and keys, nothing else
	client *s3.Client
	bucket string // emptied and removed when the benchmark ends
}

// newS3Server returns the server named by UNDERSTUDY_BENCH_S3 with a fresh bucket on it, or
// nil and the reason there is none. A server that is named but does not answer fails b.
func newS3Server(b *testing.B) (*s3Server, string) {
	file := os.Getenv(envS3)
	if file == "" {
		return nil, envS3 + " is not set: run 'make bench' (it starts an S3 server), or set it to the env file scripts/s3.sh start writes"
	}
	// s3test reads the same env file and makes (and afterwards removes) the bucket, failing
	// the benchmark if a multipart upload was left behind.
	b.Setenv(s3test.EnvFile, file)
	srv := s3test.Get(b)
	empty := filepath.Join(b.TempDir(), "aws-empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return &s3Server{
		env: []string{
			"AWS_ACCESS_KEY_ID=" + srv.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY=" + srv.SecretAccessKey,
			"AWS_REGION=" + srv.Region,
			"AWS_ENDPOINT_URL_S3=" + srv.Endpoint,
			// Not the developer's ~/.aws: the snapshot must not reach a real account.
			"AWS_CONFIG_FILE=" + empty,
			"AWS_SHARED_CREDENTIALS_FILE=" + empty,
			"AWS_EC2_METADATA_DISABLED=true",
		},
		client: s3test.Client(b),
		bucket: s3test.Bucket(b),
	}, ""
}

// command is commandContext for a process that talks to the server: the inherited AWS_*
// variables (and UNDERSTUDY_S3_PATH_STYLE) are replaced by the server's.
func (s *s3Server) command(ctx context.Context, bn *bench, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	var env []string
	for _, kv := range cmd.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "UNDERSTUDY_S3_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, bn.env(s.env...)...)
	return cmd
}

// size adds up the sizes of the objects under the prefix of location u (s3://bucket/prefix).
func (s *s3Server) size(ctx context.Context, u string) (int64, error) {
	prefix := strings.TrimPrefix(u, "s3://"+s.bucket+"/") + "/"
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	var n int64
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", u, err)
		}
		for _, o := range page.Contents {
			n += aws.ToInt64(o.Size)
		}
	}
	return n, nil
}
