package pipeline

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"golang.org/x/sync/errgroup"
)

// Source streams the rows of units.
type Source interface {
	// NewReader opens a reader for one worker (its own connection, in the run's snapshot).
	NewReader(ctx context.Context) (Reader, error)
}

// Reader reads units for one worker; it is not safe for concurrent use.
type Reader interface {
	// CopyOut writes unit u's rows, columns u.Table.Columns, to w as one COPY stream (binary
	// format with header and trailer, or text format when u.Table.TextFormat) and returns the
	// number of rows. On error the reader is unusable.
	CopyOut(ctx context.Context, u Unit, w io.Writer) (int64, error)
	Close() error
}

// Sink receives units.
type Sink interface {
	// NewWriter opens a writer for one worker.
	NewWriter(ctx context.Context) (Writer, error)
	// TableLoaded is called once, from a worker, when every unit of t has landed. The tasks
	// it returns run on workers (with priority over copying) before the run finishes.
	TableLoaded(t *TablePlan) []Task
}

// Writer writes units for one worker; it is not safe for concurrent use.
type Writer interface {
	// CopyIn loads one COPY stream (in the format CopyOut wrote) read from r into unit u's
	// table and returns the number of rows. It reads r to the end or fails.
	CopyIn(ctx context.Context, u Unit, r io.Reader) (int64, error)
	Close() error
}

// Task is follow-up work on a writer's connection, such as building an index. Run may
// return further tasks that its completion made ready (a foreign key once both of its
// tables are indexed).
type Task struct {
	Name string
	Run  func(ctx context.Context, w Writer) ([]Task, error)
	// Locks names the tables Run locks (by any key the sink likes, such as their names), and
	// Shared says it locks them in a mode that does not conflict with itself: CREATE INDEX
	// takes SHARE, while ALTER TABLE … ADD PRIMARY KEY takes ACCESS EXCLUSIVE and a foreign
	// key SHARE ROW EXCLUSIVE on both its tables. The scheduler does not start a task while
	// another that locks one of its tables runs, unless both are Shared: the second would
	// wait for the lock with its worker idle, where another task or a unit can use the
	// worker (pg_restore -j schedules by the same rule).
	Locks  []string
	Shared bool
}

// RunOptions tune Run.
type RunOptions struct {
	Jobs     int              // parallel workers; at least 1
	Mem      memory.Allocator // for Arrow batches; nil means the Go allocator
	Progress *Progress        // optional
	// BatchRows and BatchBytes bound one Arrow batch on the transform path. The memory a
	// run holds in batches is at most Jobs × (BatchBytes of input + BatchBytes of output),
	// plus Jobs × 3 × PipeBuffer of stream buffers.
	BatchRows, BatchBytes int
	// DecodeAll sends every table through decode → transform → encode, even one without
	// rules (tests use it to prove that path lossless).
	DecodeAll bool
	// Log receives a warning for every unit copied again after a transient fault; nil
	// logs nothing.
	Log *slog.Logger
}

// PipeBuffer is the size of each buffer between a source, the transform stage and a sink.
const PipeBuffer = 256 << 10

// Run copies every unit of the plan from src to dst on opts.Jobs workers. On the first
// error every worker stops and Run returns that error; the sink's data is then incomplete
// and it is the caller's job to leave it marked so.
func Run(ctx context.Context, plan *Plan, src Source, dst Sink, opts RunOptions) error {
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
	if opts.Mem == nil {
		opts.Mem = memory.NewGoAllocator()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := newScheduler(plan.Units, nil)
	return s.work(ctx, opts.Jobs, func(ctx context.Context) (*worker, error) {
		r, err := src.NewReader(ctx)
		if err != nil {
			return nil, err
		}
		w, err := dst.NewWriter(ctx)
		if err != nil {
			r.Close()
			return nil, err
		}
		wk := &worker{w: w}
		wk.copy = func(ctx context.Context, u Unit) ([]Task, error) {
			err := copyUnit(ctx, r, wk.w, u, opts)
			for fixes, faults := 0, 0; err != nil; {
				switch {
				case retryable(err) && fixes < maxUnitRetries:
					// The sink will write the unit another way, on the same writer.
					fixes++
				case Transient(err) && faults < maxFaultRetries && ctx.Err() == nil:
					// A connection died under the unit (or its transaction lost to another):
					// the target side rolled back, so copy it again from the start, on fresh
					// connections at both ends.
					faults++
					opts.Progress.retried(u.Table.Name)
					wait := faultBackoff(faults)
					opts.Log.Warn("copying a unit again after a transient fault", "unit", u.String(), "retry", faults, "of", maxFaultRetries, "wait", wait.Round(time.Millisecond), "error", err)
					wk.w.Close()
					wk.w = nil
					if serr := sleepCtx(ctx, wait); serr != nil {
						return nil, err
					}
					nw, werr := dst.NewWriter(ctx)
					if werr != nil {
						return nil, fmt.Errorf("copy %s again: %w (after %w)", u, werr, err)
					}
					wk.w = nw
				default:
					return nil, err
				}
				// Read the unit again on a fresh connection (the failed read left the old one
				// unusable), in the same snapshot of the source.
				r.Close()
				r = nil
				nr, rerr := src.NewReader(ctx)
				if rerr != nil {
					return nil, fmt.Errorf("copy %s again: %w", u, rerr)
				}
				r = nr
				err = copyUnit(ctx, r, wk.w, u, opts)
			}
			if t := s.lastOfTable(u); t != nil {
				opts.Progress.tableDone(t.Name)
				return dst.TableLoaded(t), nil
			}
			return nil, nil
		}
		wk.close = func() {
			if wk.w != nil { // nil if reopening it for a retry failed
				wk.w.Close()
			}
			if r != nil { // likewise
				r.Close()
			}
		}
		return wk, nil
	})
}

// RunTasks runs tasks, and the tasks they return, on up to jobs writers that open opens (one
// per worker), by the lock rule Run runs a sink's tasks by (Task.Locks). On the first error,
// or when ctx is cancelled, every worker stops and RunTasks returns the error. A sink uses it
// for the work that waits for all rows, such as foreign keys between partitioned tables.
func RunTasks(ctx context.Context, tasks []Task, jobs int, open func(context.Context) (Writer, error)) error {
	if len(tasks) == 0 {
		return nil
	}
	s := newScheduler(nil, tasks)
	return s.work(ctx, max(min(jobs, len(tasks)), 1), func(ctx context.Context) (*worker, error) {
		w, err := open(ctx)
		if err != nil {
			return nil, err
		}
		return &worker{w: w, close: func() { w.Close() }}, nil
	})
}

// worker is what one of the scheduler's workers runs items with.
type worker struct {
	w Writer // runs tasks
	// copy copies a unit and returns the tasks its completion made ready (nil where the
	// scheduler has no units).
	copy  func(ctx context.Context, u Unit) ([]Task, error)
	close func()
}

// RetryUnit is implemented by a sink's error after which the unit can be copied again from
// the start, because the sink has changed how it writes it (a snapshot sink that met a value
// beyond a column's native type, and now carries that column raw).
type RetryUnit interface {
	RetryUnit() bool
}

// maxUnitRetries bounds the copies of one unit a sink may ask for (one per column it gives up
// a native type for).
const maxUnitRetries = 8

func retryable(err error) bool {
	var ru RetryUnit
	return errors.As(err, &ru) && ru.RetryUnit()
}

// copyUnit streams one unit: source → (transform) → sink, each stage in its own goroutine,
// joined by pipes with PipeBuffer-sized buffers.
func copyUnit(ctx context.Context, r Reader, w Writer, u Unit, opts RunOptions) error {
	g, gctx := errgroup.WithContext(ctx)
	outR, outW := io.Pipe()
	var srcRows, dstRows int64
	tracker := opts.Progress.table(u.Table.Name)
	var sent int64 // bytes this attempt counted in progress; taken back if it fails
	g.Go(func() error {
		bw := bufio.NewWriterSize(countingWriter{outW, tracker, &sent}, PipeBuffer)
		n, err := r.CopyOut(gctx, u, bw)
		if err == nil {
			err = bw.Flush()
		}
		srcRows = n
		outW.CloseWithError(err)
		return err
	})
	bp, path := unitPath(w, u, opts)
	var in *io.PipeReader // what the writer reads a COPY stream from
	switch path {
	case viaBatches:
		// The writer takes batches: hand it the transformed ones, with no COPY in between.
		p := newBatchPipe()
		g.Go(func() error {
			// The writer returns this error, wrapped, or has returned already (errWriterGone),
			// and it stops the source: the unit fails with the writer's error, so that one the
			// writer means to be retried (a value beyond a native type) is.
			p.close(transformBatches(outR, bp.decode, u.Table, opts, func(rec arrow.Record) error {
				return p.send(bp.convert(rec))
			}))
			return nil
		})
		g.Go(func() error {
			n, err := w.(BatchWriter).WriteBatches(gctx, u, bp.want, p)
			dstRows = n
			close(p.stop)
			// The source has finished if the writer read to the end; if not, this stops it,
			// and the transform stage reading from it.
			outR.CloseWithError(cmp.Or(err, errWriterGone))
			return err
		})
	case viaTransform:
		tr, tw := io.Pipe()
		g.Go(func() error {
			bw := bufio.NewWriterSize(tw, PipeBuffer)
			err := TransformStream(outR, bw, u.Table, opts)
			if err == nil {
				err = bw.Flush()
			}
			outR.CloseWithError(err)
			tw.CloseWithError(err)
			return err
		})
		in = tr
	case passthrough:
		in = outR
	}
	if in != nil {
		g.Go(func() error {
			n, err := w.CopyIn(gctx, u, in)
			dstRows = n
			if err != nil {
				in.CloseWithError(err)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		uncount(tracker, sent) // a retry counts them again
		return fmt.Errorf("copy %s: %w", u, err)
	}
	if want := srcRows * int64(u.Table.copies()); want != dstRows {
		uncount(tracker, sent)
		if u.Table.copies() > 1 {
			return fmt.Errorf("copy %s: read %d rows, so %d copies are %d rows, but wrote %d", u, srcRows, u.Table.copies(), want, dstRows)
		}
		return fmt.Errorf("copy %s: read %d rows but wrote %d", u, srcRows, dstRows)
	}
	tracker.addRows(dstRows)
	return nil
}

// copyPath is how a unit's rows go from the source's COPY stream to the writer.
type copyPath int

const (
	passthrough  copyPath = iota // the source's COPY stream, as it is, into the writer's COPY
	viaTransform                 // decoded, transformed and encoded again as a COPY stream
	viaBatches                   // decoded and transformed into Arrow batches the writer takes
)

// unitPath chooses unit u's path: a table in text format (which the decoder does not read)
// passes through, as does one with no rules and one copy unless opts.DecodeAll; the others
// are transformed, into batches when the writer takes them for every column of u.
func unitPath(w Writer, u Unit, opts RunOptions) (batchPlan, copyPath) {
	if u.Table.TextFormat || (len(u.Table.Rules) == 0 && !opts.DecodeAll && u.Table.copies() <= 1) {
		return batchPlan{}, passthrough
	}
	if bp, ok := planBatches(w, u); ok {
		return bp, viaBatches
	}
	return batchPlan{}, viaTransform
}

// uncount takes back the bytes of a failed attempt.
func uncount(t *tableProgress, n int64) {
	if n > 0 {
		t.addBytes(-n)
	}
}

type countingWriter struct {
	w    io.Writer
	t    *tableProgress
	sent *int64 // written by the one goroutine that writes, read after it ends
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.t.addBytes(int64(n))
	*c.sent += int64(n)
	return n, err
}

// scheduler hands out work: tasks (index builds of tables already loaded) first, then units.
type scheduler struct {
	mu        sync.Mutex
	cond      *sync.Cond
	units     []Unit
	tasks     []Task
	remaining map[*TablePlan]int
	copying   map[*TablePlan]int // units of the table being copied now
	locked    map[string]int     // per lock of a running task: how many Shared tasks hold it, or -1
	inFlight  int                // units and tasks handed out and not yet done
	stopped   bool
}

type item struct {
	unit Unit
	task *Task
}

func newScheduler(units []Unit, tasks []Task) *scheduler {
	s := &scheduler{units: append([]Unit(nil), units...), tasks: append([]Task(nil), tasks...), remaining: map[*TablePlan]int{}, copying: map[*TablePlan]int{},
		locked: map[string]int{}}
	s.cond = sync.NewCond(&s.mu)
	for _, u := range units {
		s.remaining[u.Table]++
	}
	return s
}

// work runs the scheduler's items on jobs workers, each set up by start, until none is left,
// one fails or ctx is cancelled, and returns the first error. A cancel wakes every worker
// waiting for work or for a lock at once: none waits for the running tasks to end.
func (s *scheduler) work(ctx context.Context, jobs int, start func(context.Context) (*worker, error)) error {
	g, ctx := errgroup.WithContext(ctx)
	stop := context.AfterFunc(ctx, s.stop)
	defer stop()
	for range jobs {
		g.Go(func() error {
			wk, err := start(ctx)
			if err != nil {
				return err
			}
			defer wk.close()
			for {
				it, ok := s.next()
				if !ok {
					return ctx.Err()
				}
				if it.task != nil {
					more, err := it.task.Run(ctx, wk.w)
					if err != nil {
						return fmt.Errorf("%s: %w", it.task.Name, err)
					}
					s.taskDone(it.task, more)
					continue
				}
				more, err := wk.copy(ctx, it.unit)
				if err != nil {
					return err
				}
				s.done(more)
			}
		})
	}
	return g.Wait()
}

// next blocks until there is work, or returns false when there is none left (or the run
// stopped).
func (s *scheduler) next() (item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.stopped {
			return item{}, false
		}
		if t := s.startTask(); t != nil {
			return item{task: t}, true
		}
		if len(s.units) > 0 {
			// Prefer a table no other worker is loading: concurrent COPYs into one table
			// contend for its extension lock. A big table still gets every worker once it is
			// the only one left.
			pick := 0
			for i, u := range s.units {
				if s.copying[u.Table] == 0 {
					pick = i
					break
				}
			}
			u := s.units[pick]
			s.units = append(s.units[:pick], s.units[pick+1:]...)
			s.copying[u.Table]++
			s.inFlight++
			return item{unit: u}, true
		}
		if s.inFlight == 0 {
			return item{}, false
		}
		// Units in flight may still add tasks, and running tasks release their locks.
		s.cond.Wait()
	}
}

// startTask takes the first queued task whose locks no running task holds in a conflicting
// way, takes its locks and returns it, or returns nil. Call with s.mu held.
func (s *scheduler) startTask() *Task {
	for i, t := range s.tasks {
		if !s.lockable(t) {
			continue
		}
		s.tasks = slices.Delete(s.tasks, i, i+1)
		for _, l := range t.Locks {
			if t.Shared {
				s.locked[l]++
			} else {
				s.locked[l] = -1
			}
		}
		s.inFlight++
		return &t
	}
	return nil
}

// lockable is the lock rule, for Run's tasks and RunTasks' alike: t may start unless a
// running task holds one of its locks and the two are not both Shared. Call with s.mu held.
func (s *scheduler) lockable(t Task) bool {
	for _, l := range t.Locks {
		if n := s.locked[l]; n < 0 || (n > 0 && !t.Shared) {
			return false
		}
	}
	return true
}

// taskDone releases a finished task's locks and records it as done.
func (s *scheduler) taskDone(t *Task, more []Task) {
	s.mu.Lock()
	for _, l := range t.Locks {
		if s.locked[l] > 1 {
			s.locked[l]--
		} else {
			delete(s.locked, l)
		}
	}
	s.mu.Unlock()
	s.done(more)
}

// lastOfTable counts a finished unit against its table and returns the table if that was
// its last unit.
func (s *scheduler) lastOfTable(u Unit) *TablePlan {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remaining[u.Table]--
	s.copying[u.Table]--
	if s.remaining[u.Table] == 0 {
		return u.Table
	}
	return nil
}

// done records a finished unit or task and queues the follow-up tasks it unlocked, in one
// step so that no worker sees an idle scheduler in between and quits early.
func (s *scheduler) done(tasks []Task) {
	s.mu.Lock()
	s.inFlight--
	s.tasks = append(s.tasks, tasks...)
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *scheduler) stop() {
	s.mu.Lock()
	s.stopped = true
	s.cond.Broadcast()
	s.mu.Unlock()
}
