package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/schemas"
)

// The engine's scheduling is tested with in-memory stages: they stand in for PostgreSQL
// only to record the order of events, which a real server does not expose. Copying itself is
// tested against a real server in package job.

type memSource struct {
	fail string // unit name whose read fails
}

// copyStream is an empty binary COPY stream: header and trailer, no rows.
var copyStream = append([]byte("PGCOPY\n\xff\r\n\x00"), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff)

func (s *memSource) NewReader(context.Context) (Reader, error) { return s, nil }
func (s *memSource) Close() error                              { return nil }
func (s *memSource) CopyOut(_ context.Context, u Unit, w io.Writer) (int64, error) {
	if u.String() == s.fail {
		return 0, errors.New("connection reset")
	}
	_, err := w.Write(copyStream)
	return 0, err
}

type memSink struct {
	mu     sync.Mutex
	events []string
}

func (s *memSink) record(e string) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}
func (s *memSink) NewWriter(context.Context) (Writer, error) { return s, nil }
func (s *memSink) Close() error                              { return nil }
func (s *memSink) CopyIn(_ context.Context, u Unit, r io.Reader) (int64, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(data, copyStream) {
		return 0, fmt.Errorf("stream changed on the way: %q", data)
	}
	s.record("copy " + u.String())
	return 0, nil
}
func (s *memSink) TableLoaded(t *TablePlan) []Task {
	return []Task{{Name: "index " + t.Name.Name, Run: func(context.Context, Writer) ([]Task, error) {
		s.record("index " + t.Name.Name)
		return nil, nil
	}}}
}

func testPlan(t *testing.T, pages map[string]int64) *Plan {
	t.Helper()
	cat := &schemas.Catalog{}
	for name, p := range pages {
		cat.Tables = append(cat.Tables, &schemas.Table{Name: schemas.Name{Schema: "public", Name: name}, Kind: 'r',
			Pages: p, TotalBytes: p * pageSize, Columns: []schemas.Column{{Name: "id", TypeOID: 23, BaseOID: 23}}})
	}
	plan, err := BuildPlan(cat, &config.Config{}, PlanOptions{ChunkBytes: 10 * pageSize})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestPlanCutsBigTablesIntoChunks(t *testing.T) {
	plan := testPlan(t, map[string]int64{"big": 35, "small": 3, "empty": 0})
	var got []string
	for _, u := range plan.Units {
		got = append(got, fmt.Sprintf("%s[%d,%d)", u, u.FromPage, u.ToPage))
	}
	want := "public.big (chunk 1/4)[0,10) public.big (chunk 2/4)[10,20) public.big (chunk 3/4)[20,30) public.big (chunk 4/4)[30,-1) public.small[0,-1) public.empty[0,-1)"
	if strings.Join(got, " ") != want {
		t.Errorf("units:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

// With the copy shared among workers, only a table bigger than its share is cut: here the
// share of 2 workers is 26 pages, so small (20) stays whole although it is two chunks long.
func TestPlanCutsOnlyTablesBiggerThanTheirShare(t *testing.T) {
	cat := &schemas.Catalog{}
	for name, p := range map[string]int64{"big": 30, "small": 20, "tiny": 3} {
		cat.Tables = append(cat.Tables, &schemas.Table{Name: schemas.Name{Schema: "public", Name: name}, Kind: 'r',
			Pages: p, TotalBytes: p * pageSize, Columns: []schemas.Column{{Name: "id", TypeOID: 23, BaseOID: 23}}})
	}
	for _, c := range []struct {
		share int
		want  string
	}{
		{0, "big:3 small:2 tiny:1"},
		{2, "big:3 small:1 tiny:1"},
		{1, "big:1 small:1 tiny:1"}, // one worker: nothing to balance
	} {
		plan, err := BuildPlan(cat, &config.Config{}, PlanOptions{ChunkBytes: 10 * pageSize, Share: c.share})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tp := range plan.Tables {
			got = append(got, fmt.Sprintf("%s:%d", tp.Name.Name, tp.Units))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("share %d: units %s, want %s", c.share, strings.Join(got, " "), c.want)
		}
	}
}

// A table's follow-up work (its indexes) runs as soon as its own rows have landed, before
// the next table's copy starts on the same worker.
func TestIndexesBuildWhileOtherTablesCopy(t *testing.T) {
	plan := testPlan(t, map[string]int64{"big": 25, "small": 3})
	sink := &memSink{}
	if err := Run(context.Background(), plan, &memSource{}, sink, RunOptions{Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(sink.events, ", ")
	want := "copy public.big (chunk 1/3), copy public.big (chunk 2/3), copy public.big (chunk 3/3), index big, copy public.small, index small"
	if got != want {
		t.Errorf("events:\n%s\nwant\n%s", got, want)
	}
}

func TestEveryUnitAndTaskRunsOnceAcrossWorkers(t *testing.T) {
	pages := map[string]int64{}
	for i := 0; i < 30; i++ {
		pages[fmt.Sprintf("t%02d", i)] = int64(i * 3)
	}
	plan := testPlan(t, pages)
	sink := &memSink{}
	if err := Run(context.Background(), plan, &memSource{}, sink, RunOptions{Jobs: 4, DecodeAll: true}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range sink.events {
		seen[e]++
	}
	if len(sink.events) != len(plan.Units)+len(plan.Tables) {
		t.Errorf("%d events for %d units and %d tables", len(sink.events), len(plan.Units), len(plan.Tables))
	}
	for e, n := range seen {
		if n != 1 {
			t.Errorf("%s ran %d times", e, n)
		}
	}
}

func TestFirstErrorStopsTheRun(t *testing.T) {
	plan := testPlan(t, map[string]int64{"a": 4, "b": 3, "c": 2, "d": 1}) // copied in this order
	sink := &memSink{}
	err := Run(context.Background(), plan, &memSource{fail: "public.b"}, sink, RunOptions{Jobs: 1})
	if err == nil || !strings.Contains(err.Error(), "copy public.b: connection reset") {
		t.Fatalf("error %v, want one naming public.b", err)
	}
	for _, e := range sink.events {
		if strings.Contains(e, "public.c") || strings.Contains(e, "public.d") {
			t.Errorf("work went on after the failure: %v", sink.events)
		}
	}
}

// Two workers load two different tables at a time, as long as there are two tables left.
func TestWorkersPreferDifferentTables(t *testing.T) {
	plan := testPlan(t, map[string]int64{"big": 40, "mid": 15, "small": 5})
	s := newScheduler(plan.Units, nil)
	a, _ := s.next()
	b, _ := s.next()
	if a.unit.Table == b.unit.Table {
		t.Fatalf("both workers got %s while other tables waited", a.unit.Table.Name)
	}
	if a.unit.String() != "public.big (chunk 1/4)" || b.unit.String() != "public.mid (chunk 1/2)" {
		t.Errorf("picked %s and %s; want the two biggest tables first", a.unit, b.unit)
	}
}

// lockSink gives each loaded table a key build that locks it exclusively and two index
// builds that lock it shared, and records what ran at the same time as what.
type lockSink struct {
	memSink
	mu      sync.Mutex
	running map[string][]string // per table, the tasks on it running now
	clashes []string
	met     map[string]bool // per table: its two index builds ran at the same time
	meet    map[string]chan struct{}
}

func (s *lockSink) TableLoaded(t *TablePlan) []Task {
	name := t.Name.Name
	task := func(kind string, shared bool) Task {
		return Task{Name: kind + " " + name, Locks: []string{name}, Shared: shared,
			Run: func(context.Context, Writer) ([]Task, error) {
				s.mu.Lock()
				for _, other := range s.running[name] {
					if !shared || !strings.HasPrefix(other, "index") {
						s.clashes = append(s.clashes, kind+" "+name+" with "+other)
					}
				}
				s.running[name] = append(s.running[name], kind)
				meet := s.meet[name]
				s.mu.Unlock()
				if shared {
					// The two index builds wait for each other, briefly: with enough idle
					// workers the scheduler runs them side by side.
					select {
					case meet <- struct{}{}:
						s.mu.Lock()
						s.met[name] = true
						s.mu.Unlock()
					case <-meet:
					case <-time.After(2 * time.Second):
					}
				} else {
					time.Sleep(20 * time.Millisecond) // long enough for another worker to try
				}
				s.mu.Lock()
				i := slices.Index(s.running[name], kind)
				s.running[name] = slices.Delete(s.running[name], i, i+1)
				s.mu.Unlock()
				return nil, nil
			}}
	}
	s.mu.Lock()
	s.meet[name] = make(chan struct{})
	s.mu.Unlock()
	return []Task{task("key", false), task("index", true), task("index", true)}
}

// A worker never starts a task that would wait for another's lock on the same table (an
// index build while ALTER TABLE adds the primary key), but index builds of one table, whose
// locks do not conflict, run side by side.
func TestTasksThatWouldWaitForALockDoNotRunTogether(t *testing.T) {
	plan := testPlan(t, map[string]int64{"a": 3, "b": 2, "c": 1})
	sink := &lockSink{running: map[string][]string{}, met: map[string]bool{}, meet: map[string]chan struct{}{}}
	if err := Run(context.Background(), plan, &memSource{}, sink, RunOptions{Jobs: 4}); err != nil {
		t.Fatal(err)
	}
	if len(sink.clashes) > 0 {
		t.Errorf("tasks ran while another held a conflicting lock: %v", sink.clashes)
	}
	for _, name := range []string{"a", "b", "c"} {
		if !sink.met[name] {
			t.Errorf("the index builds of %s did not run side by side", name)
		}
	}
}

// Tasks that wait for each other's tables are handed out as pg_restore -j does: the first in
// order whose tables no running task holds in a conflicting way.
func TestTheFirstTaskWhoseTablesAreFreeStarts(t *testing.T) {
	fk := func(name string, tables ...string) Task { return Task{Name: name, Locks: tables} }
	tasks := []Task{
		fk("payment customer_fkey", "payment", "customer"),
		fk("payment rental_fkey", "payment", "rental"),
		fk("rental customer_fkey", "rental", "customer"),
		fk("staff store_fkey", "staff", "store"),
	}
	for _, c := range []struct {
		busy   []string // held by a running task that locks them exclusively
		shared []string // held by a running index build
		want   string
	}{
		{nil, nil, "payment customer_fkey"},
		{[]string{"payment"}, nil, "rental customer_fkey"},
		{[]string{"payment", "rental"}, nil, "staff store_fkey"},
		{[]string{"customer"}, nil, "payment rental_fkey"},
		{[]string{"payment", "staff"}, nil, "rental customer_fkey"},
		{[]string{"payment", "customer", "store"}, nil, ""},
		{nil, []string{"payment", "customer"}, "staff store_fkey"},
	} {
		s := newScheduler(nil, tasks)
		for _, b := range c.busy {
			s.locked[b] = -1
		}
		for _, b := range c.shared {
			s.locked[b] = 1
		}
		got := ""
		if task := s.startTask(); task != nil {
			got = task.Name
		}
		if got != c.want {
			t.Errorf("with %v busy and %v shared: took %q, want %q", c.busy, c.shared, got, c.want)
		}
	}
}

// holdWriter is a worker's writer in TestCancelWakesTasksWaitingForLocks: closed when its
// worker has returned.
type holdWriter struct{ closed chan struct{} }

func (w *holdWriter) CopyIn(context.Context, Unit, io.Reader) (int64, error) { return 0, nil }
func (w *holdWriter) Close() error                                           { close(w.closed); return nil }

// A cancelled run stops at once: the workers waiting for a table another task holds return
// without waiting for that task to end (a task may take seconds to let go of its connection
// after a cancel: CopyIn's rollback is given five), and nothing is left running.
func TestCancelWakesTasksWaitingForLocks(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	holding := make(chan struct{})
	letGo := make(chan struct{})
	var mu sync.Mutex
	var ran []string
	task := func(name string, tables ...string) Task {
		return Task{Name: name, Locks: tables, Run: func(ctx context.Context, _ Writer) ([]Task, error) {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			if name == "a" {
				close(holding)
				<-ctx.Done()
				<-letGo // still cleaning up after the cancel
				return nil, ctx.Err()
			}
			return nil, nil
		}}
	}
	var writers []*holdWriter
	open := func(context.Context) (Writer, error) {
		mu.Lock()
		defer mu.Unlock()
		w := &holdWriter{closed: make(chan struct{})}
		writers = append(writers, w)
		return w, nil
	}
	done := make(chan error, 1)
	go func() {
		done <- RunTasks(ctx, []Task{task("a", "x", "y"), task("b", "x"), task("c", "y"), task("d", "y", "x")}, 4, open)
	}()
	<-holding
	time.Sleep(50 * time.Millisecond) // the other three workers are waiting for x or y now
	cancel()
	mu.Lock()
	if len(writers) != 4 {
		t.Fatalf("%d workers opened a writer, want 4", len(writers))
	}
	returned := func() int { // workers whose writer is closed
		n := 0
		for _, w := range writers {
			select {
			case <-w.closed:
				n++
			default:
			}
		}
		return n
	}
	if n := returned(); n > 0 {
		t.Errorf("%d workers returned before the cancel", n)
	}
	mu.Unlock()
	for end := time.Now().Add(2 * time.Second); returned() < 3 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := returned(); n != 3 {
		t.Errorf("%d of the 3 workers waiting for a lock returned within 2s of the cancel", n)
	}
	close(letGo)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("RunTasks returned %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("RunTasks did not return within 2s of its last task ending")
	}
	if !slices.Equal(ran, []string{"a"}) {
		t.Errorf("ran %v after the cancel, want only a (which ran before it)", ran)
	}
	for end := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left running after RunTasks returned (%d before)", n-before, before)
	}
}

// copyUnit takes one of three paths: the source's stream as it is; decoded, transformed and
// encoded again; or decoded into batches for a writer that takes them.
func TestEachUnitTakesOneOfThreePaths(t *testing.T) {
	plan := testPlan(t, map[string]int64{"a": 1})
	u := plan.Units[0]
	text, copies := *u.Table, *u.Table
	text.TextFormat = true
	copies.Copies = 2
	for _, c := range []struct {
		name   string
		table  *TablePlan
		writer Writer
		opts   RunOptions
		want   copyPath
	}{
		{"no rules", u.Table, &memSink{}, RunOptions{}, passthrough},
		{"no rules, to a batch writer", u.Table, &batchSink{}, RunOptions{}, passthrough},
		{"decoded", u.Table, &memSink{}, RunOptions{DecodeAll: true}, viaTransform},
		{"decoded, to a batch writer", u.Table, &batchSink{}, RunOptions{DecodeAll: true}, viaBatches},
		{"text format", &text, &batchSink{}, RunOptions{DecodeAll: true}, passthrough},
		{"copies", &copies, &memSink{}, RunOptions{}, viaTransform},
	} {
		u.Table = c.table
		if _, got := unitPath(c.writer, u, c.opts); got != c.want {
			t.Errorf("%s: path %d, want %d", c.name, got, c.want)
		}
	}
}
