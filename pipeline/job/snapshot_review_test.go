package job

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/transforms"
)

// --resume never mixes chunks of two keys: chunks of another key (or of another --random
// run) would not agree with the new ones on any keyed value, references between tables
// included. A --random run draws a new key each time, so it is refused; --replace starts it
// over.
func TestSnapshotResumeOfARandomKeyRunIsRefused(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 5000, 7); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fs := &failingStore{Store: dirStore(t, dir), failAt: 6}
	o := snapshotOpts(src, fs)
	o.Running.Jobs = 1
	o.ChunkBytes = 256 << 10
	o.Key = transforms.NewRandomKey()
	if _, err := Snapshot(context.Background(), o); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("snapshot did not fail as injected: %v", err)
	}
	again := &failingStore{Store: dirStore(t, dir)}
	o.To, o.Resume, o.Key = again, true, transforms.NewRandomKey()
	_, err := Snapshot(context.Background(), o)
	wantRefused(t, "--resume with another random key", err, "key: fingerprint")
	if got := again.creates.Load(); got != 0 {
		t.Errorf("the refused resume wrote %d parts", got)
	}
	o.Resume, o.Replace = false, true
	m, err := Snapshot(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	parts := 0
	for _, tb := range m.Tables {
		parts += len(tb.Parts)
	}
	if got := again.creates.Load(); got != int64(parts) || len(m.Resumed) != 0 {
		t.Errorf("--replace wrote %d of %d parts and says it resumed %v; want every part written again", got, parts, m.Resumed)
	}
}

// snapshot --replace that cannot read its source leaves the snapshot it was to replace
// finished and restorable.
func TestSnapshotReplaceKeepsTheOldSnapshotWhenTheSourceFails(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 200, 7); err != nil {
		t.Fatal(err)
	}
	to := dirStore(t, t.TempDir())
	if _, err := Snapshot(context.Background(), snapshotOpts(src, to)); err != nil {
		t.Fatal(err)
	}
	o := snapshotOpts(src, to)
	o.Replace = true
	o.Source = config.DSN(strings.Replace(src, "/t_", "/no_such_db_t_", 1)) // pgtest names its databases t_…
	if o.Source.Value() == src {
		t.Fatalf("could not name a missing database after %s", o.Source)
	}
	if _, err := Snapshot(context.Background(), o); err == nil {
		t.Fatal("snapshot of a missing database succeeded")
	}
	if _, err := snapshot.ReadManifest(context.Background(), to); err != nil {
		t.Errorf("the old snapshot is gone: %v", err)
	}
}

// --resume of the same source, config and key still writes again the chunks of a table
// whose columns changed in between (its plan's fingerprint differs): no chunk of the old
// shape survives into the finished snapshot.
func TestSnapshotResumeRedoesUnitsOfAChangedTable(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 20000, 7); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fs := &failingStore{Store: dirStore(t, dir), failAt: 9}
	o := snapshotOpts(src, fs)
	o.Running.Jobs = 1
	o.ChunkBytes = 128 << 10
	if _, err := Snapshot(context.Background(), o); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("snapshot did not fail as injected: %v", err)
	}
	recs, _ := filepath.Glob(filepath.Join(dir, "_progress", "public.customers", "unit-*.json"))
	if len(recs) == 0 {
		t.Fatal("the interrupted run finished no chunk of customers: the test proves nothing")
	}
	pgtest.Exec(t, pgtest.Connect(t, src), "ALTER TABLE customers ADD COLUMN tier text NOT NULL DEFAULT 'gold'")
	o.To, o.Resume = dirStore(t, dir), true
	if _, err := Snapshot(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	dst := pgtest.NewDB(t)
	if err := Restore(context.Background(), restoreOpts(dirStore(t, dir), dst)); err != nil {
		t.Fatal(err)
	}
	pgtest.AssertSameRows(t, src, dst)
}
