// Package storetest is the conformance suite every store.Store passes: what the snapshot
// writer and restore rely on, checked against the real thing (a directory, an S3 server).
// A new store is one file plus one line:
//
//	func TestStore(t *testing.T) { storetest.Run(t, func(t *testing.T) store.Store { … }) }
//
// It is not a place for a store's own quirks (temporary files, multipart uploads): those
// belong in the store's own tests.
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/pipeline/store"
)

// LargeSize is bigger than two S3 multipart parts (8 MiB each), so that a store that uploads
// in parts uploads several before Close.
const LargeSize = 20 << 20

// Run runs the suite. newStore returns an empty store, private to the calling (sub)test;
// subtests run in parallel, each with its own store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"InvisibleUntilClose", testInvisibleUntilClose},
		{"ReplaceKeepsOldUntilClose", testReplaceKeepsOldUntilClose},
		{"Abort", testAbort},
		{"AbortAfterCancel", testAbortAfterCancel},
		{"AbortAfterClose", testAbortAfterClose},
		{"Overwrite", testOverwrite},
		{"List", testList},
		{"Delete", testDelete},
		{"Missing", testMissing},
		{"InvalidNames", testInvalidNames},
		{"ConcurrentWriters", testConcurrentWriters},
		{"CreateExclusive", testCreateExclusive},
		{"CreateExclusiveRace", testCreateExclusiveRace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			if s.String() == "" {
				t.Fatal("String() is empty")
			}
			tt.fn(t, s)
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// content is size deterministic pseudo-random bytes, different for each seed.
type content struct {
	seed uint64
	size int64
}

func (c content) reader() io.Reader {
	return io.LimitReader(&randReader{r: rand.New(rand.NewPCG(c.seed, c.seed^0x9e3779b97f4a7c15))}, c.size)
}

func (c content) sum() [sha256.Size]byte {
	h := sha256.New()
	io.Copy(h, c.reader())
	return [sha256.Size]byte(h.Sum(nil))
}

type randReader struct{ r *rand.Rand }

func (r *randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.r.Uint32())
	}
	return len(p), nil
}

// write streams c into a new object name in writes of 32 KiB, the way a Parquet writer does.
func write(t *testing.T, s store.Store, name string, c content) {
	t.Helper()
	w, err := s.Create(ctxFor(t), name)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	if err := copyIn(w, c); err != nil {
		w.Abort()
		t.Fatalf("write %q: %v", name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close %q: %v", name, err)
	}
}

func copyIn(w io.Writer, c content) error {
	_, err := io.CopyBuffer(struct{ io.Writer }{w}, c.reader(), make([]byte, 32<<10))
	return err
}

// check reads name and compares it with c.
func check(t *testing.T, s store.Store, name string, c content) {
	t.Helper()
	r, err := s.Open(ctxFor(t), name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	if n != c.size {
		t.Fatalf("%q: read %d bytes, want %d", name, n, c.size)
	}
	if got := [sha256.Size]byte(h.Sum(nil)); got != c.sum() {
		t.Fatalf("%q: content differs from what was written", name)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("close %q: %v", name, err)
	}
}

func names(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	objs, err := s.List(ctxFor(t), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	out := []string{}
	for _, o := range objs {
		out = append(out, o.Name)
	}
	return out
}

func wantMissing(t *testing.T, s store.Store, name string) {
	t.Helper()
	r, err := s.Open(ctxFor(t), name)
	if err == nil {
		r.Close()
		t.Fatalf("Open(%q) succeeded; want fs.ErrNotExist", name)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(%q) = %v; want an error that is fs.ErrNotExist", name, err)
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	cases := []struct {
		name string
		c    content
	}{
		{"empty", content{1, 0}},
		{"small.parquet", content{2, 1234}},
		{"data/public.t/part-00000.parquet", content{3, LargeSize + 12345}},
	}
	for _, tc := range cases {
		write(t, s, tc.name, tc.c)
	}
	for _, tc := range cases {
		check(t, s, tc.name, tc.c)
	}
	objs, err := s.List(ctxFor(t), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Object{
		{Name: "data/public.t/part-00000.parquet", Size: LargeSize + 12345},
		{Name: "empty", Size: 0},
		{Name: "small.parquet", Size: 1234},
	}
	if !slices.Equal(objs, want) {
		t.Fatalf("List = %v, want %v", objs, want)
	}
}

func testInvisibleUntilClose(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	c := content{4, LargeSize}
	w, err := s.Create(ctx, "a/new")
	if err != nil {
		t.Fatal(err)
	}
	if err := copyIn(w, c); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	if got := names(t, s, ""); len(got) != 0 {
		t.Errorf("before Close, List = %v; want nothing", got)
	}
	wantMissing(t, s, "a/new")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := names(t, s, ""); !slices.Equal(got, []string{"a/new"}) {
		t.Errorf("after Close, List = %v; want [a/new]", got)
	}
	check(t, s, "a/new", c)
}

func testReplaceKeepsOldUntilClose(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	old, repl := content{5, 100}, content{6, LargeSize}
	write(t, s, "obj", old)
	w, err := s.Create(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	if err := copyIn(w, repl); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	check(t, s, "obj", old)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check(t, s, "obj", repl)
}

func testAbort(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	old := content{7, 10}
	write(t, s, "kept", old)
	for _, tc := range []struct {
		name string
		c    content
	}{
		{"nothing", content{0, 0}},
		{"small", content{8, 1000}},
		{"large", content{9, LargeSize}},
		{"kept", content{10, LargeSize}}, // aborting a replacement keeps the old object
	} {
		w, err := s.Create(ctx, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := copyIn(w, tc.c); err != nil {
			t.Fatalf("write %s: %v", tc.name, err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort %s: %v", tc.name, err)
		}
	}
	if got := names(t, s, ""); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("after aborts, List = %v; want [kept]", got)
	}
	wantMissing(t, s, "small")
	wantMissing(t, s, "large")
	check(t, s, "kept", old)
}

// testAbortAfterCancel is the pipeline's failure path: a stage fails, the context is
// cancelled, and the sink aborts what it was writing. Nothing may be left.
func testAbortAfterCancel(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	w, err := s.Create(ctx, "cancelled")
	if err != nil {
		t.Fatal(err)
	}
	copyIn(w, content{11, LargeSize}) // may fail once the upload sees the cancel
	cancel()
	w.Write(make([]byte, 1000)) // nor does a write after it matter
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort after cancel: %v", err)
	}
	if got := names(t, s, ""); len(got) != 0 {
		t.Errorf("after Abort, List = %v; want nothing", got)
	}
	wantMissing(t, s, "cancelled")
}

func testAbortAfterClose(t *testing.T, s store.Store) {
	c := content{12, 500}
	w, err := s.Create(ctxFor(t), "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := copyIn(w, c); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil { // the "defer w.Abort()" pattern
		t.Fatalf("Abort after Close: %v", err)
	}
	check(t, s, "x", c)
}

func testOverwrite(t *testing.T, s store.Store) {
	write(t, s, "dir/o", content{13, 5000})
	v2 := content{14, 300}
	write(t, s, "dir/o", v2)
	check(t, s, "dir/o", v2)
	objs, err := s.List(ctxFor(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Object{{Name: "dir/o", Size: 300}}; !slices.Equal(objs, want) {
		t.Fatalf("List = %v, want %v", objs, want)
	}
}

func testList(t *testing.T, s store.Store) {
	all := []string{
		"b", "a", "data/x/1", "data/x/2", "data/x/10", "data/y", "data-z", "datax",
		"data/xy/1", "schema/pre-data.sql", "manifest.json",
	}
	for i, n := range all {
		write(t, s, n, content{uint64(100 + i), int64(i)})
	}
	sorted := slices.Sorted(slices.Values(all))
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", sorted},
		{"data/", []string{"data/x/1", "data/x/10", "data/x/2", "data/xy/1", "data/y"}},
		{"data/x/", []string{"data/x/1", "data/x/10", "data/x/2"}},
		{"data/x", []string{"data/x/1", "data/x/10", "data/x/2", "data/xy/1"}},
		{"data", []string{"data-z", "data/x/1", "data/x/10", "data/x/2", "data/xy/1", "data/y", "datax"}},
		{"data/x/1", []string{"data/x/1", "data/x/10"}},
		{"manifest.json", []string{"manifest.json"}},
		{"nope", []string{}},
		{"nope/", []string{}},
		{"data/nope/deeper/", []string{}},
	} {
		if got := names(t, s, tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	objs, err := s.List(ctxFor(t), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if want := int64(slices.Index(all, o.Name)); o.Size != want {
			t.Errorf("List: %s has size %d, want %d", o.Name, o.Size, want)
		}
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	write(t, s, "d/1", content{20, 10})
	write(t, s, "d/2", content{21, 10})
	if err := s.Delete(ctx, "d/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, "d/1")
	if got := names(t, s, ""); !slices.Equal(got, []string{"d/2"}) {
		t.Errorf("after Delete, List = %v; want [d/2]", got)
	}
	if err := s.Delete(ctx, "d/1"); err != nil {
		t.Errorf("second Delete: %v; want nil", err)
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Errorf("Delete of a missing object: %v; want nil", err)
	}
	if err := s.Delete(ctx, "d/2/below"); err != nil {
		t.Errorf("Delete of a name under an object: %v; want nil", err)
	}
	check(t, s, "d/2", content{21, 10})
}

func testMissing(t *testing.T, s store.Store) {
	wantMissing(t, s, "missing")
	wantMissing(t, s, "no/such/dir/missing")
	write(t, s, "dir/present", content{30, 1})
	wantMissing(t, s, "dir") // a name's parent is not an object
	wantMissing(t, s, "dir/present2")
	wantMissing(t, s, "dir/present/below") // nor is anything under an object
}

// testInvalidNames: names are relative slash paths, the same for every store, so that a
// snapshot written to one store can be restored from another.
func testInvalidNames(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	for _, name := range []string{"", "/abs", "a/", "a//b", "../up", "a/../b", "./a", "a/."} {
		if w, err := s.Create(ctx, name); err == nil {
			w.Abort()
			t.Errorf("Create(%q) succeeded; want an error", name)
		}
		if r, err := s.Open(ctx, name); err == nil {
			r.Close()
			t.Errorf("Open(%q) succeeded; want an error", name)
		}
		if err := s.Delete(ctx, name); err == nil {
			t.Errorf("Delete(%q) succeeded; want an error", name)
		}
		if err := s.CreateExclusive(ctx, name, []byte("x")); err == nil {
			t.Errorf("CreateExclusive(%q) succeeded; want an error", name)
		}
	}
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const distinct, same = 6, 4
	var wg sync.WaitGroup
	errs := make(chan error, distinct+same)
	run := func(name string, c content) {
		defer wg.Done()
		w, err := s.Create(ctx, name)
		if err != nil {
			errs <- err
			return
		}
		// Interleave with the other writers: many small writes.
		r := c.reader()
		buf := make([]byte, 4<<10)
		for {
			n, rerr := r.Read(buf)
			if n > 0 {
				if _, err := w.Write(buf[:n]); err != nil {
					w.Abort()
					errs <- fmt.Errorf("write %s: %w", name, err)
					return
				}
			}
			if rerr == io.EOF {
				break
			}
		}
		if err := w.Close(); err != nil {
			errs <- fmt.Errorf("close %s: %w", name, err)
		}
	}
	for i := range distinct {
		wg.Add(1)
		go run(fmt.Sprintf("c/%d", i), content{uint64(200 + i), 256 << 10})
	}
	for i := range same {
		wg.Add(1)
		go run("c/same", content{uint64(300 + i), 256 << 10})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range distinct {
		check(t, s, fmt.Sprintf("c/%d", i), content{uint64(200 + i), 256 << 10})
	}
	// The same name written four times at once holds exactly one of the four, whole.
	r, err := s.Open(ctx, "c/same")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(got)
	found := false
	for i := range same {
		if c := (content{uint64(300 + i), 256 << 10}); c.sum() == sum {
			found = true
		}
	}
	if !found {
		t.Errorf("c/same (%d bytes) is none of the objects written to it: writes mixed", len(got))
	}
	if got := names(t, s, "c/"); len(got) != distinct+1 {
		t.Errorf("List(c/) = %v; want %d names", got, distinct+1)
	}
}

// testCreateExclusive: what a snapshot run's lock relies on. The first CreateExclusive of a
// name writes it; any later one fails with fs.ErrExist and leaves the object as it was,
// whether the object came from CreateExclusive or from an ordinary Create.
func testCreateExclusive(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	first := []byte(`{"run":"first"}`)
	if err := s.CreateExclusive(ctx, "_lock/0000000001.json", first); err != nil {
		t.Fatalf("CreateExclusive of a new name: %v", err)
	}
	err := s.CreateExclusive(ctx, "_lock/0000000001.json", []byte(`{"run":"second"}`))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateExclusive of an existing name = %v; want an error that is fs.ErrExist", err)
	}
	r, err := s.Open(ctx, "_lock/0000000001.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != string(first) {
		t.Fatalf("after a refused CreateExclusive the object holds %q (%v); want the first, %q", got, err, first)
	}
	write(t, s, "plain", content{40, 100})
	if err := s.CreateExclusive(ctx, "plain", []byte("x")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateExclusive over an object written by Create = %v; want fs.ErrExist", err)
	}
	check(t, s, "plain", content{40, 100})
	if got := names(t, s, ""); !slices.Equal(got, []string{"_lock/0000000001.json", "plain"}) {
		t.Errorf("List = %v; want [_lock/0000000001.json plain]", got)
	}
}

// testCreateExclusiveRace: many callers at once, one name: exactly one wins, and the object
// holds the winner's bytes.
func testCreateExclusiveRace(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const callers = 8
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateExclusive(ctx, "race", []byte(fmt.Sprintf("caller %d", i)))
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("callers %d and %d both created the object", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("caller %d: %v; want success or fs.ErrExist", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no caller created the object")
	}
	r, err := s.Open(ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if want := fmt.Sprintf("caller %d", winner); string(got) != want {
		t.Errorf("the object holds %q; want the winner's %q", got, want)
	}
}
