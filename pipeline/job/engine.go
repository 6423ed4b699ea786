package job

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/pipeline"
)

// Running is what every command that moves rows shares: parallelism, batch bounds, and
// how progress is shown and reported.
type Running struct {
	Jobs       int
	BatchRows  int
	BatchBytes int
	Mem        memory.Allocator
	DecodeAll  bool // see pipeline.RunOptions

	Log              *slog.Logger
	ProgressTo       *os.File      // live progress (a terminal) or nil
	ProgressInterval time.Duration // log line interval without a terminal; 0: none
	SummaryTo        io.Writer     // final summary table, or nil
	ReportPath       string        // JSON run report, or ""
	progress         *pipeline.Progress
}

func (r *Running) defaults() {
	if r.Log == nil {
		r.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.Jobs < 1 {
		r.Jobs = 1
	}
}

// run moves every unit of plan from src to dst, showing progress as configured.
func (r *Running) run(ctx context.Context, plan *pipeline.Plan, src pipeline.Source, dst pipeline.Sink) error {
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
		BatchRows: r.BatchRows, BatchBytes: r.BatchBytes, DecodeAll: r.DecodeAll})
	stop()
	<-done
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
		return werr
	}
	return err
}

// summary prints the final table.
func (r *Running) summary() {
	if r.SummaryTo != nil && r.progress != nil {
		r.progress.Summary(r.SummaryTo)
	}
}
