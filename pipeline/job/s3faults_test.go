package job

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/fixtures/s3test"
	"github.com/understudy-dev/understudy/pipeline/store/location"
	"github.com/understudy-dev/understudy/pipeline/store/s3store"
)

// readRunReport reads a --report file as the JSON a user's script would see.
func readRunReport(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}

func reportCount(rep map[string]any, field string) int {
	n, _ := rep[field].(float64)
	return int(n)
}

// A snapshot and a restore through an S3 endpoint that throttles (503 SlowDown), fails
// (500), drops connections and cuts object downloads half way, every few requests, finish
// identical to the source; each run's report counts the requests the SDK retried, and the
// restore's the parts it fetched again.
func TestSnapshotAndRestoreThroughFaultyS3(t *testing.T) {
	bucket := s3test.Bucket(t)
	proxy := s3test.StartFaultProxy(t, s3test.Faults{SlowDownEvery: 5, InternalEvery: 7, DropEvery: 11, CutEvery: 3, BodyKeys: "/data/"})
	proxy.Setenv(t)
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 5000, 7); err != nil {
		t.Fatal(err)
	}
	loc := "s3://" + bucket + "/faulty"
	to, err := location.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	o := snapshotOpts(src, to)
	o.ChunkBytes = 128 << 10 // many parts, so many requests
	o.ReportPath = filepath.Join(t.TempDir(), "snapshot.json")
	m, err := Snapshot(context.Background(), o)
	if err != nil {
		t.Fatalf("snapshot through faults %+v: %v", proxy.Counts(), err)
	}
	written := proxy.Counts()
	if written.SlowDown == 0 || written.Internal == 0 || written.Dropped == 0 {
		t.Fatalf("the snapshot met no fault of some kind: %+v", written)
	}
	rep := readRunReport(t, o.ReportPath)
	// Every 503 and 500 is retried by the SDK; a dropped connection may be retried by Go's
	// HTTP transport itself, unseen by the SDK.
	if got := reportCount(rep, "s3_retries"); got < written.SlowDown+written.Internal || got > written.Faulted() {
		t.Errorf("snapshot report: s3_retries = %d, want the %d errors answered and at most the %d faults dealt (%+v)", got, written.SlowDown+written.Internal, written.Faulted(), written)
	}

	dst := pgtest.NewDB(t)
	ro := restoreOpts(to, dst)
	ro.ReportPath = filepath.Join(t.TempDir(), "restore.json")
	if err := Restore(context.Background(), ro); err != nil {
		t.Fatalf("restore through faults %+v: %v", proxy.Counts(), err)
	}
	assertSameDatabase(t, src, dst)
	read := proxy.Counts()
	read.Requests -= written.Requests
	read.SlowDown -= written.SlowDown
	read.Internal -= written.Internal
	read.Dropped -= written.Dropped
	if read.Cut == 0 || read.SlowDown+read.Internal+read.Dropped == 0 {
		t.Fatalf("the restore met too few faults: %+v", read)
	}
	rep = readRunReport(t, ro.ReportPath)
	if got := reportCount(rep, "s3_retries"); got < read.SlowDown+read.Internal || got > read.SlowDown+read.Internal+read.Dropped {
		t.Errorf("restore report: s3_retries = %d, want between %d and %d (%+v)", got, read.SlowDown+read.Internal, read.SlowDown+read.Internal+read.Dropped, read)
	}
	if got := reportCount(rep, "parts_refetched"); got != read.Cut {
		t.Errorf("restore report: parts_refetched = %d, want the %d cut downloads", got, read.Cut)
	}
	if rep["rows"].(float64) != float64(m.Rows) {
		t.Errorf("restore report: %v rows, the snapshot has %d", rep["rows"], m.Rows)
	}
}

// A part whose download is damaged on the wire (one byte flipped) fails its SHA-256 check
// and is fetched once more: the restore succeeds and says so. A part damaged in the store
// fails the restore on its second fetch too, naming the file; the target is left marked
// incomplete.
func TestRestoreFetchesADamagedPartOnceMore(t *testing.T) {
	bucket := s3test.Bucket(t)
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 3000, 7); err != nil {
		t.Fatal(err)
	}
	loc := "s3://" + bucket + "/snap"
	direct, err := s3store.NewFromConfig(s3test.Config(t), loc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Snapshot(context.Background(), snapshotOpts(src, direct))
	if err != nil {
		t.Fatal(err)
	}
	parts := 0
	for _, tb := range m.Tables {
		parts += len(tb.Parts)
	}

	// Every part's first download has a byte flipped; the second is intact.
	proxy := s3test.StartFaultProxy(t, s3test.Faults{FlipEvery: 1, BodyKeys: "/data/"})
	flaky, err := s3store.NewFromConfig(proxy.Config(t), loc)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	dst := pgtest.NewDB(t)
	ro := restoreOpts(flaky, dst)
	ro.Log = slog.New(slog.NewTextHandler(&logs, nil))
	ro.ReportPath = filepath.Join(t.TempDir(), "restore.json")
	if err := Restore(context.Background(), ro); err != nil {
		t.Fatalf("restore with every part flipped once: %v", err)
	}
	assertSameDatabase(t, src, dst)
	if got := proxy.Counts().Flipped; got != parts {
		t.Fatalf("the proxy flipped %d downloads, want all %d parts", got, parts)
	}
	if got := reportCount(readRunReport(t, ro.ReportPath), "parts_refetched"); got != parts {
		t.Errorf("report: parts_refetched = %d, want %d", got, parts)
	}
	if n := strings.Count(logs.String(), "checksum mismatch"); n != parts {
		t.Errorf("log names %d checksum mismatches, want %d:\n%s", n, parts, logs.String())
	}

	// Damage one part in the store itself.
	part := m.Tables[0].Parts[0].Path
	client := s3test.Client(t)
	key := "snap/" + part
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	var data bytes.Buffer
	data.ReadFrom(out.Body)
	out.Body.Close()
	b := data.Bytes()
	b[len(b)/2] ^= 0xff
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b)))}); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	dst = pgtest.NewDB(t)
	ro = restoreOpts(direct, dst)
	ro.Log = slog.New(slog.NewTextHandler(&logs, nil))
	ro.ReportPath = filepath.Join(t.TempDir(), "restore.json")
	err = Restore(context.Background(), ro)
	if err == nil || !strings.Contains(err.Error(), part) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("restore of a part damaged in the store: %v", err)
	}
	var marker int
	pgtest.Scan(t, pgtest.Connect(t, dst).QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname = '_understudy_incomplete'"), &marker)
	if marker != 1 {
		t.Error("the failed restore left no incomplete marker")
	}
	if !strings.Contains(logs.String(), part) {
		t.Errorf("the log does not name %s as fetched again:\n%s", part, logs.String())
	}
	if got := reportCount(readRunReport(t, ro.ReportPath), "parts_refetched"); got != 1 {
		t.Errorf("report: parts_refetched = %d, want 1", got)
	}
}
