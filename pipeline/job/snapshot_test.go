package job

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/fixtures/s3test"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/pipeline/store/location"
	"github.com/understudy-dev/understudy/transforms"
)

func dirStore(t *testing.T, dir string) store.Store {
	t.Helper()
	s, err := location.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func snapshotOpts(src string, to store.Store) SnapshotOptions {
	return SnapshotOptions{Running: Running{Jobs: 2}, SourceOptions: SourceOptions{Source: config.DSN(src), AllowUnmasked: true, PgDump: pgtestPgDump}, To: to, Tool: "test"}
}

func restoreOpts(from store.Store, dst string) RestoreOptions {
	return RestoreOptions{Running: Running{Jobs: 2}, From: from, TargetOptions: TargetOptions{Target: config.DSN(dst)}}
}

// snapshot → restore gives the database back: every type and schema feature of the type
// zoo, every row, constraint, index, trigger, sequence; with small parts, so tables are
// spread over several files.
func TestSnapshotRestoreTypeZooIsLossless(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), fixtures.TypeZooSQL)
	// Decoded, the rows reach the snapshot as the transform stage's Arrow batches (as a table
	// with rules or scaled copies does) instead of as a COPY stream.
	for _, decode := range []bool{false, true} {
		t.Run(map[bool]string{false: "stream", true: "batches"}[decode], func(t *testing.T) {
			snap := dirStore(t, t.TempDir())
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			o := snapshotOpts(src, snap)
			o.ChunkBytes = 64 << 10
			o.Parts.PartBytes = 32 << 10
			o.DecodeAll, o.Mem, o.BatchRows = decode, mem, 3
			m, err := Snapshot(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			mem.AssertSize(t, 0)
			if m.Rows == 0 || len(m.Tables) < 10 {
				t.Fatalf("snapshot of %d tables, %d rows", len(m.Tables), m.Rows)
			}
			// zoo.temporal holds timestamps past what Arrow's native type holds: those chunks
			// carry the column as wire bytes, and say so.
			raw := false
			for _, tb := range m.Tables {
				for _, p := range tb.Parts {
					raw = raw || tb.Name.String() == "zoo.temporal" && slices.Contains(p.Raw, "ts")
				}
			}
			if !raw {
				t.Error("no part of zoo.temporal records its ts column as raw")
			}
			dst := pgtest.NewDB(t)
			if err := Restore(context.Background(), restoreOpts(snap, dst)); err != nil {
				t.Fatal(err)
			}
			assertSameDatabase(t, src, dst)
		})
	}
}

// A snapshot applies the rules exactly as sync does: restoring it gives the very target sync
// gives with the same config and key, and verify finds no survivor.
func TestSnapshotAppliesTheSameRulesAsSync(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 20000, 7); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("rules.yaml", []byte(`tables:
  public.customers:
    columns:
      id: permute
      first_name: first_name
      last_name: last_name
      email: email
      phone: phone
      birthdate: {transform: date_noise, max: 365d}
      notes: null
`))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("snapshot-rules-key-0123456789")
	viaSync := pgtest.NewDB(t)
	so := syncOpts(src, viaSync)
	so.Config, so.Key = cfg, key
	if _, err := Sync(context.Background(), so); err != nil {
		t.Fatal(err)
	}
	snap := dirStore(t, t.TempDir())
	o := snapshotOpts(src, snap)
	o.Config, o.Key = cfg, key
	m, err := Snapshot(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if m.KeyFingerprint != key.Fingerprint() {
		t.Errorf("manifest key fingerprint %q, want %q", m.KeyFingerprint, key.Fingerprint())
	}
	viaSnap := pgtest.NewDB(t)
	if err := Restore(context.Background(), restoreOpts(snap, viaSnap)); err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, viaSync, viaSnap)
	var out strings.Builder
	if _, err := Verify(context.Background(), VerifyOptions{Source: config.DSN(src), Target: config.DSN(viaSnap), Rules: Rules{Config: cfg, Key: key}, Out: &out}); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	// The key never reaches the snapshot.
	filepath.Walk(snap.String(), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if data, _ := os.ReadFile(p); strings.Contains(string(data), "snapshot-rules-key") {
				t.Errorf("%s holds the key", p)
			}
		}
		return nil
	})
}

// A damaged snapshot is refused, naming the file: a part changed, a part missing, no
// manifest (unfinished: restore refuses it, list ignores it). The target is left marked
// incomplete, never looking finished.
func TestRestoreRefusesDamagedSnapshots(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 3000, 7); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "good")
	m, err := Snapshot(context.Background(), snapshotOpts(src, dirStore(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	part := m.Tables[0].Parts[0].Path
	restoreErr := func(dir string) error {
		t.Helper()
		dst := pgtest.NewDB(t)
		err := Restore(context.Background(), restoreOpts(dirStore(t, dir), dst))
		if err == nil {
			t.Fatalf("restore of %s succeeded", dir)
		}
		if n := len(pgtest.TableDigests(t, dst)); n > 0 {
			var marker int
			pgtest.Scan(t, pgtest.Connect(t, dst).QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname = '_understudy_incomplete'"), &marker)
			if marker != 1 {
				t.Errorf("a failed restore left %d tables and no incomplete marker", n)
			}
		}
		return err
	}

	corrupt := copyDir(t, dir, filepath.Join(root, "corrupt"))
	data, _ := os.ReadFile(filepath.Join(corrupt, part))
	data[len(data)/2] ^= 0xff
	os.WriteFile(filepath.Join(corrupt, part), data, 0o644)
	if err := restoreErr(corrupt); !strings.Contains(err.Error(), part) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("corrupt part: %v", err)
	}

	missing := copyDir(t, dir, filepath.Join(root, "missing"))
	os.Remove(filepath.Join(missing, part))
	if err := restoreErr(missing); !strings.Contains(err.Error(), part) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing part: %v", err)
	}

	unfinished := copyDir(t, dir, filepath.Join(root, "unfinished"))
	os.Remove(filepath.Join(unfinished, snapshot.ManifestName))
	err = Restore(context.Background(), restoreOpts(dirStore(t, unfinished), pgtest.NewDB(t)))
	var ue *failure.UserError
	if !errors.As(err, &ue) || ue.Code != failure.ExitUnsafe || !strings.Contains(err.Error(), "no finished snapshot") {
		t.Errorf("unfinished snapshot: %v", err)
	}
	entries, err := ListSnapshots(context.Background(), dirStore(t, root), func(p string) (store.Store, error) {
		return location.Open(context.Background(), filepath.Join(root, p))
	})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, e := range entries {
		listed = append(listed, e.Prefix)
	}
	sort.Strings(listed)
	if strings.Join(listed, ",") != "corrupt,good,missing" {
		t.Errorf("list found %v; want the three with a manifest, not the unfinished one", listed)
	}
}

// failingStore is a real directory store that fails the n-th part it is asked to create:
// a stand-in for a dropped connection or a full disk at a chosen moment, which a real store
// cannot be made to show on cue.
type failingStore struct {
	store.Store
	failAt  int64
	creates atomic.Int64
}

func (f *failingStore) Create(ctx context.Context, name string) (store.Writer, error) {
	if strings.HasPrefix(name, "data/") && f.creates.Add(1) == f.failAt {
		return nil, errors.New("injected failure: disk full")
	}
	return f.Store.Create(ctx, name)
}

// A snapshot that fails part-way leaves no manifest; --resume finishes it without writing
// again the parts that were finished (and checked), and the result restores losslessly.
func TestSnapshotResumeKeepsFinishedParts(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 20000, 7); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fs := &failingStore{Store: dirStore(t, dir), failAt: 6}
	o := snapshotOpts(src, fs)
	o.Running.Jobs = 1 // parts finish in a known order
	o.ChunkBytes = 256 << 10
	_, err := Snapshot(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("snapshot did not fail as injected: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, snapshot.ManifestName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed snapshot left a manifest (%v)", err)
	}
	before := fs.creates.Load()

	again := &failingStore{Store: dirStore(t, dir)}
	o.To, o.Resume = again, true
	m, err := Snapshot(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	parts := 0
	for _, tb := range m.Tables {
		parts += len(tb.Parts)
	}
	if got := again.creates.Load(); got != int64(parts)-(before-1) {
		t.Errorf("resume wrote %d parts; %d of %d were finished before, so want %d", got, before-1, parts, int64(parts)-(before-1))
	}
	if len(m.Resumed) != 1 {
		t.Errorf("manifest records %d resumed runs, want 1", len(m.Resumed))
	}
	dst := pgtest.NewDB(t)
	if err := Restore(context.Background(), restoreOpts(dirStore(t, dir), dst)); err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, src, dst)
}

func copyDir(t *testing.T, from, to string) string {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

// The production-to-CI workflow over S3 (a real versitygw server): snapshot into a bucket
// prefix, find it with list, restore it. Configuration is the standard AWS environment.
func TestSnapshotToS3AndRestore(t *testing.T) {
	bucket := s3test.Bucket(t)
	s3test.Setenv(t)
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 20000, 7); err != nil {
		t.Fatal(err)
	}
	loc := "s3://" + bucket + "/nightly/2026-12-01"
	to, err := location.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	o := snapshotOpts(src, to)
	o.ChunkBytes = 512 << 10 // several parts per big table, uploaded in parallel
	m, err := Snapshot(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := location.Open(context.Background(), "s3://"+bucket)
	entries, err := ListSnapshots(context.Background(), root, func(p string) (store.Store, error) {
		return location.Open(context.Background(), "s3://"+bucket+"/"+p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Prefix != "nightly/2026-12-01" || entries[0].Manifest.Rows != m.Rows {
		t.Fatalf("list found %+v", entries)
	}
	dst := pgtest.NewDB(t)
	from, _ := location.Open(context.Background(), loc)
	if err := Restore(context.Background(), restoreOpts(from, dst)); err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, src, dst)
}
