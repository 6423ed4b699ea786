package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/transforms"
)

// begin readies r for a run (defaults, the clock) and returns what, deferred with the run's
// error, writes rep, the run's JSON report, if one is asked for.
func (r *Running) begin(rep pipeline.RunReport) (started time.Time, end func(*error)) {
	r.defaults()
	started = time.Now()
	return started, func(err *error) {
		rep.Status, rep.Started, rep.Seconds = "ok", started, time.Since(started).Seconds()
		for _, count := range r.counters {
			count(&rep)
		}
		*err = r.report(rep, *err)
	}
}

func (r *Running) defaults() {
	if r.Log == nil {
		r.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.Jobs < 1 {
		r.Jobs = 1
	}
}

// run moves every unit of plan from src to dst, showing progress as configured; then, if
// finish is not nil and the rows are in, it runs finish (a sink's last steps) while progress
// is still shown.
func (r *Running) run(ctx context.Context, plan *pipeline.Plan, src pipeline.Source, dst pipeline.Sink, finish func(context.Context) error) error {
	r.progress = pipeline.NewProgress(plan)
	repCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if r.ProgressTo != nil || r.ProgressInterval > 0 {
			out := r.ProgressTo
			if out == nil {
				out = os.Stderr
			}
			r.progress.Report(repCtx, out, r.Log, r.ProgressInterval)
		}
	}()
	err := pipeline.Run(ctx, plan, src, dst, pipeline.RunOptions{Jobs: r.Jobs, Mem: r.Mem, Progress: r.progress,
		BatchRows: r.BatchRows, BatchBytes: r.BatchBytes, DecodeAll: r.DecodeAll, Log: r.Log})
	if err == nil && finish != nil {
		err = finish(ctx)
	}
	stop()
	<-done
	return err
}

// runInSnapshot is run for a copy read from src's exported snapshot. The workers'
// connections hold the snapshot they imported, but a worker that must reconnect (a retry)
// imports it from the coordinator's: while rows copy, the coordinator is watched, and its
// loss stops the run at once; and every row was read in the snapshot only if it lived to the
// end, which is checked before finish. A lost snapshot is the error returned, with what it
// broke.
func (r *Running) runInSnapshot(ctx context.Context, plan *pipeline.Plan, src *pgsource.Source, dst pipeline.Sink, finish func(context.Context) error) error {
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	unwatch := src.Watch(500*time.Millisecond, stopRun)
	err := r.run(runCtx, plan, src, dst, func(ctx context.Context) error {
		unwatch() // the coordinator is the finish step's to use
		if err := src.Check(ctx); err != nil {
			return err
		}
		if finish == nil {
			return nil
		}
		return finish(ctx)
	})
	unwatch() // again, if the copy failed
	if err == nil {
		return nil
	}
	if lost := context.Cause(runCtx); lost != nil && !errors.Is(lost, context.Canceled) {
		return lost
	}
	if lost := src.Lost(); lost != nil && !errors.As(err, new(*pgsource.SnapshotLostError)) {
		return fmt.Errorf("%w (%w)", lost, err)
	}
	return err
}

// report writes the JSON run report, if asked for, with what progress saw.
func (r *Running) report(rep pipeline.RunReport, err error) error {
	if r.ReportPath == "" {
		return err
	}
	rep.Jobs, rep.Tables = r.Jobs, []pipeline.TableStats{}
	if err != nil {
		rep.Status, rep.Error = "failed", err.Error()
	}
	if r.progress != nil {
		rep.Tables = r.progress.Stats()
		rep.Rows, rep.Bytes = r.progress.Totals()
	}
	if werr := pipeline.WriteReport(r.ReportPath, rep); werr != nil && err == nil {
		return fmt.Errorf("write report %s: %w", r.ReportPath, werr)
	}
	return err
}

// countRetries makes the run count, log and report the requests to s that were sent again,
// from now on, when s is a store that retries (S3).
func (r *Running) countRetries(s store.Store) {
	rs, ok := s.(interface{ Retries() int64 })
	if !ok {
		return
	}
	base := rs.Retries()
	r.counters = append(r.counters, func(rep *pipeline.RunReport) {
		n := rs.Retries() - base
		rep.S3Retries = &n
		if n > 0 {
			r.Log.Info("S3 requests retried", "store", s.String(), "retries", n)
		}
	})
}

// summary prints the final table.
func (r *Running) summary() {
	if r.SummaryTo != nil && r.progress != nil {
		r.progress.Summary(r.SummaryTo)
	}
}

// fingerprint is the key's fingerprint for a report or manifest, "" without a key.
func fingerprint(k *transforms.Key) string {
	if k == nil {
		return ""
	}
	return k.Fingerprint()
}
