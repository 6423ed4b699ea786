package report

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/schemas"
)

// Report is a comparison: both databases' stats, the options, and every check made.
type Report struct {
	Source   *Stats         `json:"source"`
	Target   *Stats         `json:"target"`
	Options  CompareOptions `json:"options"`
	Findings []Finding      `json:"findings"`
}

// New compares src and dst into a Report.
func New(src, dst *Stats, opts CompareOptions) *Report {
	opts.Tolerances = opts.Tolerances.withDefaults()
	opts.Scale = max(opts.Scale, 1)
	return &Report{Source: src, Target: dst, Options: opts, Findings: Compare(src, dst, opts)}
}

// Failed counts the findings that did not pass.
func (r *Report) Failed() int { return len(Failed(r.Findings)) }

// RunOptions configure Run.
type RunOptions struct {
	Source, Target config.DSN
	Collect        Options
	Compare        CompareOptions
}

// Run connects to both databases, collects their stats at the same time (each in its own
// snapshot) and compares them. Failed findings are not an error: the caller decides.
func Run(ctx context.Context, o RunOptions) (*Report, error) {
	if err := o.Compare.Validate(); err != nil {
		return nil, pipeline.WithCode(pipeline.ExitUsage, "", err)
	}
	var src, dst *Stats
	g, gctx := errgroup.WithContext(ctx)
	collect := func(dsn config.DSN, role string, out **Stats) func() error {
		return func() error {
			conn, err := pipeline.Connect(gctx, dsn.Value(), role)
			if err != nil {
				return err
			}
			defer conn.Close(context.WithoutCancel(gctx))
			if role == "source" {
				if err := checkSource(gctx, conn); err != nil {
					return err
				}
			}
			st, err := Collect(gctx, conn, o.Collect)
			if err != nil {
				return fmt.Errorf("%s: %w", role, err)
			}
			*out = st
			return nil
		}
	}
	g.Go(collect(o.Source, "source", &src))
	g.Go(collect(o.Target, "target", &dst))
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return New(src, dst, o.Compare), nil
}

// checkSource checks, before Collect reads a row, that the source role may read every table's
// rows (see pipeline.CheckSource).
func checkSource(ctx context.Context, conn *pgx.Conn) error {
	cat, err := schemas.LoadCatalog(ctx, conn)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	var read []*schemas.Table
	for _, t := range cat.Tables {
		if t.Kind == 'r' {
			read = append(read, t)
		}
	}
	return pipeline.CheckSource(ctx, conn, pipeline.SourceNeeds{Read: read})
}
