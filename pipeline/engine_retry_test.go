package pipeline

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

// retrySink fails each unit's first copy with a RetryUnit error, after reading the stream, as
// the snapshot sink does when a value does not fit a column's native type. These
// stages are in memory: a real sink cannot be made to ask for a retry on cue.
type retrySink struct {
	mu    sync.Mutex
	tried map[string]bool
}

type retryErr struct{}

func (retryErr) Error() string   { return "value out of range: write the column raw" }
func (retryErr) RetryUnit() bool { return true }

func (s *retrySink) NewWriter(context.Context) (Writer, error) { return s, nil }
func (s *retrySink) Close() error                              { return nil }
func (s *retrySink) TableLoaded(*TablePlan) []Task             { return nil }
func (s *retrySink) CopyIn(_ context.Context, u Unit, r io.Reader) (int64, error) {
	s.mu.Lock()
	first := !s.tried[u.String()]
	s.tried[u.String()] = true
	s.mu.Unlock()
	if first {
		io.ReadAll(r) // the value that does not fit is the last one
		return 0, retryErr{}
	}
	_, err := io.Copy(io.Discard, r)
	return 0, err
}

// reopenSource counts its readers; from the failAt-th on, NewReader fails (a lost source
// connection).
type reopenSource struct {
	mu           sync.Mutex
	opened, fail int
	closed       int
	failAt       int // 0: never
	closedTwice  bool
	live         map[*countedReader]bool
}

type countedReader struct{ s *reopenSource }

func (s *reopenSource) NewReader(context.Context) (Reader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened++
	if s.failAt > 0 && s.opened >= s.failAt {
		return nil, errors.New("connection refused")
	}
	r := &countedReader{s}
	if s.live == nil {
		s.live = map[*countedReader]bool{}
	}
	s.live[r] = true
	return r, nil
}

func (r *countedReader) Close() error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if !r.s.live[r] {
		r.s.closedTwice = true
	}
	delete(r.s.live, r)
	return nil
}

func (r *countedReader) CopyOut(_ context.Context, u Unit, w io.Writer) (int64, error) {
	_, err := w.Write(copyStream)
	return 0, err
}

// A retried unit whose fresh source connection cannot be opened ends the run with that
// error; it does not panic closing a reader that was never opened.
func TestUnitRetryWithoutASourceConnectionFails(t *testing.T) {
	plan := testPlan(t, map[string]int64{"a": 3})
	src := &reopenSource{failAt: 2}
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("Run panicked: %v", p)
			}
		}()
		err = Run(context.Background(), plan, src, &retrySink{tried: map[string]bool{}}, RunOptions{Jobs: 1})
	}()
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "public.a") {
		t.Errorf("error %v, want the failed reconnect, naming the unit", err)
	}
	if len(src.live) != 0 || src.closedTwice {
		t.Errorf("readers left open: %d, one closed twice: %v", len(src.live), src.closedTwice)
	}
}

// A unit copied twice counts its bytes once: the progress and the run report say what was
// copied, not what was attempted.
func TestUnitRetryCountsBytesOnce(t *testing.T) {
	plan := testPlan(t, map[string]int64{"a": 25, "b": 3})
	src := &reopenSource{}
	pr := NewProgress(plan)
	if err := Run(context.Background(), plan, src, &retrySink{tried: map[string]bool{}}, RunOptions{Jobs: 2, Progress: pr}); err != nil {
		t.Fatal(err)
	}
	_, bytes := pr.Totals()
	if want := int64(len(plan.Units) * len(copyStream)); bytes != want {
		t.Errorf("progress counts %d bytes, want %d (%d units of %d bytes)", bytes, want, len(plan.Units), len(copyStream))
	}
	if len(src.live) != 0 || src.closedTwice {
		t.Errorf("readers left open: %d, one closed twice: %v", len(src.live), src.closedTwice)
	}
}
