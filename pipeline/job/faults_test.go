package job

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/pgsink"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
)

// faultSource makes a source whose big table takes a while to COPY (a few hundred thousand
// rows), and a small one beside it.
func faultSource(t *testing.T) string {
	t.Helper()
	src := pgtest.NewDB(t)
	conn := pgtest.Connect(t, src)
	pgtest.Exec(t, conn, `
		CREATE TABLE big (id int PRIMARY KEY, v text NOT NULL);
		INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 300000) g;
		CREATE TABLE small (id int PRIMARY KEY, big_id int REFERENCES big);
		INSERT INTO small SELECT g, g FROM generate_series(1, 100) g;
		ANALYZE`)
	return src
}

// terminateMidCopy starts terminating, once, the backend of dsn's database that understudy
// runs a statement LIKE pattern on, after it has run for a moment, and returns what waits
// for the terminated pid (0 if none was found before ctx ended). Only backends of that
// database are looked at: the server is shared.
func terminateMidCopy(t *testing.T, ctx context.Context, dsn, pattern string, coordinator bool) func() int {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	db := pgtest.DBName(t, dsn)
	done := make(chan int, 1)
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var pid int
			q := `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'understudy'
				AND state = 'active' AND query LIKE $2 AND query_start < now() - interval '50 ms' LIMIT 1`
			if coordinator {
				// The coordinator is understudy's first connection to the source, idle in
				// its snapshot transaction while a worker copies.
				q = `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'understudy'
					AND EXISTS (SELECT FROM pg_stat_activity WHERE datname = $1 AND application_name = 'understudy'
						AND state = 'active' AND query LIKE $2 AND query_start < now() - interval '50 ms')
					ORDER BY backend_start LIMIT 1`
			}
			err := conn.QueryRow(ctx, q, db, pattern).Scan(&pid)
			if err == nil {
				var ok bool
				if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err == nil && ok {
					done <- pid
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() int { return <-done }
}

// readReport reads a JSON run report.
func readReport(t *testing.T, path string) pipeline.RunReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep pipeline.RunReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// A worker's backend terminated mid-COPY, on the source or on the target, costs a retry of
// that unit on fresh connections in the same snapshot: the run finishes, identical, and the
// report counts the retry.
func TestSyncRetriesTerminatedCopy(t *testing.T) {
	src := faultSource(t)
	for _, tc := range []struct {
		name, side, pattern string
		chunk               int64
	}{
		{"source, chunks", "source", "COPY%TO STDOUT%", 16 << 20},
		{"target, frozen load", "target", "COPY%FROM STDIN%", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := pgtest.NewDB(t)
			o := syncOpts(src, dst)
			o.ChunkBytes = tc.chunk
			o.ReportPath = filepath.Join(t.TempDir(), "report.json")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			killCtx, stopKill := context.WithCancel(ctx)
			victim := src
			if tc.side == "target" {
				victim = dst
			}
			killed := terminateMidCopy(t, killCtx, victim, tc.pattern, false)
			_, err := Sync(ctx, o)
			stopKill()
			pid := killed()
			if pid == 0 {
				t.Fatal("the test terminated no backend: the COPY was over before it was seen")
			}
			if err != nil {
				t.Fatalf("the %s's COPY backend %d was terminated and the sync failed: %v", tc.side, pid, err)
			}
			assertSameDatabase(t, src, dst)
			rep := readReport(t, o.ReportPath)
			var retries int
			for _, ts := range rep.Tables {
				if ts.Table == "public.big" {
					retries = ts.Retries
				}
			}
			if retries < 1 {
				t.Errorf("the report counts %d retries of public.big; want at least 1: %+v", retries, rep.Tables)
			}
		})
	}
}

// The coordinator holds the exported snapshot: once it is gone no worker can join the
// snapshot again, so the run stops, the target stays marked incomplete, and the error says
// why and what to do.
func TestSyncLostCoordinatorFails(t *testing.T) {
	src := faultSource(t)
	dst := pgtest.NewDB(t)
	o := syncOpts(src, dst)
	o.Jobs = 1
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	killCtx, stopKill := context.WithCancel(ctx)
	killed := terminateMidCopy(t, killCtx, src, "COPY%TO STDOUT%", true)
	_, err := Sync(ctx, o)
	stopKill()
	if killed() == 0 {
		t.Fatal("the test terminated no backend")
	}
	if err == nil {
		t.Fatal("the sync finished though the connection holding its snapshot was terminated")
	}
	var ue *failure.UserError
	if !errors.As(err, &ue) || ue.Code != failure.ExitFailed {
		t.Errorf("exit code: want %d, got %v", failure.ExitFailed, err)
	}
	t.Log(err, "; hint: ", ue.Hint)
	msg := err.Error() + " " + ue.Hint
	for _, want := range []string{"snapshot", "--replace", pgsink.MarkerSchema} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %s", want, msg)
		}
	}
	var n int
	if err := pgtest.Connect(t, dst).QueryRow(context.Background(),
		"SELECT count(*) FROM pg_namespace WHERE nspname = $1", pgsink.MarkerSchema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Error("the failed sync left the target without its incomplete marker")
	}
}

// A snapshot whose source connection holding the exported snapshot is lost stops too: no
// manifest, so nothing looks finished, and the error says the snapshot is gone.
func TestSnapshotLostCoordinatorFails(t *testing.T) {
	src := faultSource(t)
	dir := t.TempDir()
	o := snapshotOpts(src, dirStore(t, dir))
	o.Jobs = 1
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	killCtx, stopKill := context.WithCancel(ctx)
	killed := terminateMidCopy(t, killCtx, src, "COPY%TO STDOUT%", true)
	_, err := Snapshot(ctx, o)
	stopKill()
	if killed() == 0 {
		t.Fatal("the test terminated no backend")
	}
	if err == nil {
		t.Fatal("the snapshot finished though the connection holding its snapshot was terminated")
	}
	if !strings.Contains(err.Error(), "snapshot") || !errors.As(err, new(*pgsource.SnapshotLostError)) {
		t.Errorf("the error does not say the snapshot was lost: %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "manifest.json")); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("a failed snapshot left a manifest (%v)", statErr)
	}
}
