package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/fixtures/s3test"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/pipeline/store/s3store"
	"github.com/understudy-dev/understudy/transforms"
)

// The tests of this file run each case on a directory and on an S3 prefix of the real
// versitygw server: what a snapshot may touch is a contract of both stores.

// eachStore runs fn once per kind of store; fresh returns a new, empty location of that kind.
func eachStore(t *testing.T, fn func(t *testing.T, fresh func() store.Store)) {
	t.Run("dir", func(t *testing.T) {
		fn(t, func() store.Store { return dirStore(t, t.TempDir()) })
	})
	t.Run("s3", func(t *testing.T) {
		bucket := s3test.Bucket(t)
		var n atomic.Int64
		fn(t, func() store.Store {
			s, err := s3store.NewFromConfig(s3test.Config(t), fmt.Sprintf("s3://%s/snap-%d", bucket, n.Add(1)))
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

func putObject(t *testing.T, s store.Store, name, content string) {
	t.Helper()
	if _, err := snapshot.WriteFile(context.Background(), s, name, []byte(content)); err != nil {
		t.Fatal(err)
	}
}

func readObject(t *testing.T, s store.Store, name string) (string, bool) {
	t.Helper()
	r, err := s.Open(context.Background(), name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), true
}

func objectNames(t *testing.T, s store.Store) []string {
	t.Helper()
	objs, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.Name)
	}
	return out
}

// wantRefused checks that err is a refusal (exit 4) whose message holds every one of want.
func wantRefused(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	var ue *failure.UserError
	if !errors.As(err, &ue) || ue.Code != failure.ExitUnsafe {
		t.Errorf("%s: got %v; want a refusal (exit %d)", what, err, failure.ExitUnsafe)
		return
	}
	t.Logf("%s: %v (hint: %s)", what, err, ue.Hint)
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", what, err, w)
		}
	}
}

const foreignFile = "data/mine/notes.txt"

// A location that holds anything but an understudy snapshot is refused, whatever the flags,
// naming a file that is not understudy's; nothing there is deleted or added.
func TestSnapshotRefusesALocationHoldingOtherFiles(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 500, 7); err != nil {
		t.Fatal(err)
	}
	eachStore(t, func(t *testing.T, fresh func() store.Store) {
		for _, flags := range []string{"", "--resume", "--replace"} {
			to := fresh()
			putObject(t, to, foreignFile, "my notes")
			o := snapshotOpts(src, to)
			o.Resume, o.Replace = flags == "--resume", flags == "--replace"
			_, err := Snapshot(context.Background(), o)
			wantRefused(t, strings.TrimSpace("snapshot "+flags)+" into a location holding "+foreignFile, err, foreignFile)
			if got := objectNames(t, to); !slices.Equal(got, []string{foreignFile}) {
				t.Errorf("snapshot %s: the location holds %v; want only %s, untouched", flags, got, foreignFile)
			}
			if c, ok := readObject(t, to, foreignFile); !ok || c != "my notes" {
				t.Errorf("snapshot %s: %s is gone or changed (%q)", flags, foreignFile, c)
			}
		}

		// A finished snapshot with a file of someone else's beside it: --replace refuses too.
		to := fresh()
		if _, err := Snapshot(context.Background(), snapshotOpts(src, to)); err != nil {
			t.Fatal(err)
		}
		putObject(t, to, foreignFile, "my notes")
		o := snapshotOpts(src, to)
		o.Replace = true
		_, err := Snapshot(context.Background(), o)
		wantRefused(t, "snapshot --replace over a snapshot beside "+foreignFile, err, foreignFile)
		if c, ok := readObject(t, to, foreignFile); !ok || c != "my notes" {
			t.Errorf("--replace: %s is gone or changed (%q)", foreignFile, c)
		}
		if _, err := snapshot.ReadManifest(context.Background(), to); err != nil {
			t.Errorf("--replace refused, yet the snapshot is no longer finished: %v", err)
		}
	})
}

// hookStore is a real store that calls hook (once) when the first part is created: a
// moment inside a run, chosen on cue.
type hookStore struct {
	store.Store
	once sync.Once
	hook func()
}

func (h *hookStore) Create(ctx context.Context, name string) (store.Writer, error) {
	if strings.HasPrefix(name, "data/") {
		h.once.Do(h.hook)
	}
	return h.Store.Create(ctx, name)
}

// A file that appears while a snapshot runs (someone else's, written into data/) survives
// the clean-up that follows the manifest: understudy deletes only what it wrote.
func TestSnapshotCleanupDeletesOnlyWhatItWrote(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 500, 7); err != nil {
		t.Fatal(err)
	}
	eachStore(t, func(t *testing.T, fresh func() store.Store) {
		to := fresh()
		hs := &hookStore{Store: to}
		hs.hook = func() { putObject(t, to, foreignFile, "written meanwhile") }
		if _, err := Snapshot(context.Background(), snapshotOpts(src, hs)); err != nil {
			t.Fatal(err)
		}
		if c, ok := readObject(t, to, foreignFile); !ok || c != "written meanwhile" {
			t.Errorf("the snapshot's clean-up deleted %s, which it did not write", foreignFile)
		}
	})
}

// blockingStore is a real store whose first part waits until release is closed: a run held
// in the middle, so that another can be started beside it.
type blockingStore struct {
	store.Store
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func newBlockingStore(s store.Store) *blockingStore {
	return &blockingStore{Store: s, started: make(chan struct{}), release: make(chan struct{})}
}

func (b *blockingStore) Create(ctx context.Context, name string) (store.Writer, error) {
	if strings.HasPrefix(name, "data/") {
		b.once.Do(func() { close(b.started) })
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.Store.Create(ctx, name)
}

// Two snapshot runs on one location at once: the second is refused, with or without
// --resume or --replace, naming the run that holds the location; the first finishes and
// restores whole.
func TestSnapshotTwoRunsOnOneLocation(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 2000, 7); err != nil {
		t.Fatal(err)
	}
	eachStore(t, func(t *testing.T, fresh func() store.Store) {
		to := fresh()
		first := newBlockingStore(to)
		var firstErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, firstErr = Snapshot(context.Background(), snapshotOpts(src, first))
		}()
		released := false
		release := func() {
			if !released {
				released = true
				close(first.release)
			}
		}
		defer func() { release(); <-done }()
		select {
		case <-first.started:
		case <-done:
			t.Fatalf("the first run ended before writing a part: %v", firstErr)
		case <-time.After(2 * time.Minute):
			t.Fatal("the first run did not reach its first part")
		}
		for _, flags := range []string{"", "--resume", "--replace"} {
			o := snapshotOpts(src, to)
			o.Resume, o.Replace = flags == "--resume", flags == "--replace"
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			_, err := Snapshot(ctx, o)
			cancel()
			wantRefused(t, strings.TrimSpace("a second snapshot "+flags)+" while the first runs", err, "another snapshot run")
		}
		release()
		<-done
		if firstErr != nil {
			t.Fatalf("the first run: %v", firstErr)
		}
		dst := pgtest.NewDB(t)
		if err := Restore(context.Background(), restoreOpts(to, dst)); err != nil {
			t.Fatal(err)
		}
		pgtest.AssertSameRows(t, src, dst)
	})
}

// --resume proves it resumes the same thing: against another database (even one of the same
// name, recreated), another config or another key it is refused, naming what differs, and
// writes nothing; against the same source, config and key it finishes the snapshot.
func TestSnapshotResumeRefusesAnotherSource(t *testing.T) {
	admin := pgtest.DSN(t)
	name := fmt.Sprintf("t_resume_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	recreate := func() string {
		t.Helper()
		c := pgtest.Connect(t, admin)
		pgtest.Exec(t, c, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		pgtest.Exec(t, c, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'")
		dsn := pgtest.WithDatabase(t, admin, name)
		if err := fixtures.CreateShop(context.Background(), dsn, 20000, 7); err != nil {
			t.Fatal(err)
		}
		return dsn
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	src := recreate()
	other := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), other, 20000, 7); err != nil {
		t.Fatal(err)
	}
	rules := func(notes string) *config.Config {
		cfg, err := config.Parse("r.yaml", []byte("tables:\n  public.customers:\n    columns:\n      notes: "+notes+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	key, _ := transforms.NewKey("resume-identity-key-0123456789")
	otherKey, _ := transforms.NewKey("resume-identity-key-9876543210")

	eachStore(t, func(t *testing.T, fresh func() store.Store) {
		to := fresh()
		fs := &failingStore{Store: to, failAt: 6}
		o := snapshotOpts(src, fs)
		o.Running.Jobs = 1
		o.ChunkBytes = 256 << 10
		o.Config, o.Key = rules("null"), key
		if _, err := Snapshot(context.Background(), o); err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("snapshot did not fail as injected: %v", err)
		}
		before := objectNames(t, to)

		resume := func(mod func(o *SnapshotOptions)) (*snapshot.Manifest, error) {
			o := snapshotOpts(src, to)
			o.Running.Jobs = 1
			o.ChunkBytes = 256 << 10
			o.Config, o.Key, o.Resume = rules("null"), key, true
			mod(&o)
			return Snapshot(context.Background(), o)
		}
		_, err := resume(func(o *SnapshotOptions) { o.Source = config.DSN(other) })
		wantRefused(t, "--resume against another database", err, "database", name)
		_, err = resume(func(o *SnapshotOptions) { o.Config = rules(`{transform: constant, value: "x"}`) })
		wantRefused(t, "--resume under another config", err, "config")
		_, err = resume(func(o *SnapshotOptions) { o.Key = otherKey })
		wantRefused(t, "--resume under another key", err, "key", key.Fingerprint(), otherKey.Fingerprint())
		if got := objectNames(t, to); !slices.Equal(got, before) {
			t.Errorf("refused resumes changed the location:\nbefore %v\nafter  %v", before, got)
		}

		m, err := resume(func(*SnapshotOptions) {})
		if err != nil {
			t.Fatalf("--resume against the same source: %v", err)
		}
		if len(m.Resumed) != 1 {
			t.Errorf("the resumed snapshot records %d earlier runs, want 1", len(m.Resumed))
		}
		dst := pgtest.NewDB(t)
		if err := Restore(context.Background(), restoreOpts(to, dst)); err != nil {
			t.Fatal(err)
		}
		pgtest.AssertSameRows(t, src, dst, "public.customers")
	})

	// The database recreated under the same name (a backup restored into place): same name,
	// same rows, another database.
	to := dirStore(t, t.TempDir())
	fs := &failingStore{Store: to, failAt: 6}
	o := snapshotOpts(src, fs)
	o.Running.Jobs = 1
	o.ChunkBytes = 256 << 10
	if _, err := Snapshot(context.Background(), o); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("snapshot did not fail as injected: %v", err)
	}
	src = recreate()
	o = snapshotOpts(src, to)
	o.Running.Jobs = 1
	o.ChunkBytes = 256 << 10
	o.Resume = true
	_, err := Snapshot(context.Background(), o)
	wantRefused(t, "--resume against the database recreated under its name", err, "OID")
}

// putLock writes a lock as a run of info would have left it.
func putLock(t *testing.T, s store.Store, info snapshot.LockInfo) {
	t.Helper()
	data, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateExclusive(context.Background(), "_lock/0000000001.json", data); err != nil {
		t.Fatal(err)
	}
}

// A killed run's lock does not block the location for ever: once stale (no heartbeat for
// LockStaleAfter, or its process gone on this host) --resume or --replace take it over; a
// plain run is refused, and so is everything while the lock is live.
func TestSnapshotStaleLockIsTakenOverByResumeOrReplace(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 500, 7); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	ns, _ := os.Readlink("/proc/self/ns/pid")
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	eachStore(t, func(t *testing.T, fresh func() store.Store) {
		for _, tc := range []struct {
			name   string
			holder snapshot.LockInfo
			stale  bool
		}{
			{"live on another host", snapshot.LockInfo{Run: "a1", Command: "snapshot", Host: "elsewhere", PID: 1, Started: now.Add(-time.Hour), Refreshed: now}, false},
			{"silent for an hour", snapshot.LockInfo{Run: "b2", Command: "snapshot", Host: "elsewhere", PID: 1, Started: now.Add(-2 * time.Hour), Refreshed: now.Add(-time.Hour)}, true},
			{"process gone on this host", snapshot.LockInfo{Run: "c3", Command: "snapshot", Host: host, PID: gone.Process.Pid, PIDNS: ns, Started: now, Refreshed: now}, ns != ""},
		} {
			to := fresh()
			putLock(t, to, tc.holder)
			_, err := Snapshot(context.Background(), snapshotOpts(src, to))
			wantRefused(t, tc.name+": a plain run", err, "another snapshot run", tc.holder.Run)
			o := snapshotOpts(src, to)
			o.Resume = true
			_, err = Snapshot(context.Background(), o)
			if !tc.stale {
				wantRefused(t, tc.name+": --resume", err, "another snapshot run", tc.holder.Run)
				continue
			}
			if err != nil {
				t.Fatalf("%s: --resume did not take the stale lock over: %v", tc.name, err)
			}
			for _, n := range objectNames(t, to) {
				if strings.HasPrefix(n, "_lock/") || strings.HasPrefix(n, "_progress/") {
					t.Errorf("%s: the finished run left %s", tc.name, n)
				}
			}
			dst := pgtest.NewDB(t)
			if err := Restore(context.Background(), restoreOpts(to, dst)); err != nil {
				t.Fatal(err)
			}
			pgtest.AssertSameRows(t, src, dst)
		}
	})
}

// An unfinished snapshot is not started over by a plain run (it asks for --resume or
// --replace); --replace, cut differently, leaves exactly the new snapshot's files, having
// deleted the old attempt's.
func TestSnapshotReplaceLeavesOnlyTheNewSnapshot(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 20000, 7); err != nil {
		t.Fatal(err)
	}
	eachStore(t, func(t *testing.T, fresh func() store.Store) {
		to := fresh()
		o := snapshotOpts(src, &failingStore{Store: to, failAt: 6})
		o.Running.Jobs = 1
		o.ChunkBytes = 128 << 10
		if _, err := Snapshot(context.Background(), o); err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("snapshot did not fail as injected: %v", err)
		}
		_, err := Snapshot(context.Background(), snapshotOpts(src, to))
		wantRefused(t, "a plain run over an unfinished snapshot", err, "unfinished")
		o = snapshotOpts(src, to)
		o.Replace = true
		m, err := Snapshot(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{snapshot.ManifestName, snapshot.PostDataName, snapshot.PreDataName}
		for _, tb := range m.Tables {
			for _, p := range tb.Parts {
				want = append(want, p.Path)
			}
		}
		slices.Sort(want)
		if got := objectNames(t, to); !slices.Equal(got, want) {
			t.Errorf("after --replace the location holds\n%v\nwant exactly the snapshot's files\n%v", got, want)
		}
	})
}

// A run that stalled for so long that its lock was taken over (here: by hand, while it is
// held) does not write its manifest over the other run's work.
func TestSnapshotStopsWhenItsLockWasTakenOver(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 500, 7); err != nil {
		t.Fatal(err)
	}
	eachStore(t, func(t *testing.T, fresh func() store.Store) {
		to := fresh()
		held := newBlockingStore(to)
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err = Snapshot(context.Background(), snapshotOpts(src, held))
		}()
		select {
		case <-held.started:
		case <-done:
			t.Fatalf("the run ended before writing a part: %v", err)
		}
		taker := snapshot.LockInfo{Run: "taker", Command: "snapshot", Host: "elsewhere", PID: 1, Started: time.Now(), Refreshed: time.Now()}
		data, _ := json.Marshal(taker)
		if e := to.CreateExclusive(context.Background(), "_lock/0000000002.json", data); e != nil {
			t.Fatal(e)
		}
		close(held.release)
		<-done
		if err == nil || !strings.Contains(err.Error(), "taken over by snapshot run taker") {
			t.Errorf("a run whose lock was taken over ended with %v; want it stopped, naming the taker", err)
		}
		if _, ok := readObject(t, to, snapshot.ManifestName); ok {
			t.Error("a run whose lock was taken over wrote its manifest")
		}
		if _, ok := readObject(t, to, "_lock/0000000002.json"); !ok {
			t.Error("the run deleted the lock of the run that took it over")
		}
	})
}
