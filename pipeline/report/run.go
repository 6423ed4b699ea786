package report

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/postgres"
	"github.com/understudy-dev/understudy/schemas"
)

// Report is a comparison: both databases' stats, the options, and every check made.
type Report struct {
	Source   *Stats         `json:"source"`
	Target   *Stats         `json:"target"`
	Options  CompareOptions `json:"options"`
	Findings []Finding      `json:"findings"`
	// ShowValues: the stats hold the values of personal columns, unmasked.
	ShowValues bool `json:"show_values"`
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
	// Config is the config the target was made with, for its rules; nil: none.
	Config *config.Config
	// ShowValues prints the values of personal columns; by default they are masked or left
	// out (see ColumnStats.Personal).
	ShowValues bool
	Collect    Options
	Compare    CompareOptions
}

// Run connects to both databases, finds their personal columns (FindPersonal: the rules of
// Config, and the PII detector on either side), collects their stats at the same time (each
// in its own snapshot) with those columns' values masked unless ShowValues, and compares
// them, judging personal columns by their shape. Failed findings are not an error: the caller
// decides.
func Run(ctx context.Context, o RunOptions) (*Report, error) {
	if err := o.Compare.Validate(); err != nil {
		return nil, failure.WithCode(failure.ExitUsage, "", err)
	}
	var conns [2]*pgx.Conn
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	var personal [2][]PersonalColumn
	g, gctx := errgroup.WithContext(ctx)
	for i, side := range []struct {
		dsn  config.DSN
		role string
		cfg  *config.Config
	}{{o.Source, "source", o.Config}, {o.Target, "target", nil}} {
		g.Go(func() error {
			conn, err := postgres.Connect(gctx, side.dsn.Value(), side.role)
			if err != nil {
				return err
			}
			conns[i] = conn
			if side.role == "source" {
				if err := checkSource(gctx, conn); err != nil {
					return err
				}
			}
			if personal[i], err = FindPersonal(gctx, conn, side.cfg); err != nil {
				return fmt.Errorf("%s: %w", side.role, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	o.Compare.Personal = mergePersonal(personal[0], personal[1])
	o.Collect.Personal = map[string]bool{}
	for _, p := range o.Compare.Personal {
		o.Collect.Personal[p.Column] = true
	}
	o.Collect.ShowValues = o.ShowValues

	var stats [2]*Stats
	g, gctx = errgroup.WithContext(ctx)
	for i, role := range []string{"source", "target"} {
		g.Go(func() error {
			st, err := Collect(gctx, conns[i], o.Collect)
			if err != nil {
				return fmt.Errorf("%s: %w", role, err)
			}
			stats[i] = st
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r := New(stats[0], stats[1], o.Compare)
	r.ShowValues = o.ShowValues
	return r, nil
}

// checkSource checks, before Collect reads a row, that the source role may read every table's
// rows (see postgres.CheckSource).
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
	return postgres.CheckSource(ctx, conn, postgres.SourceNeeds{Read: read})
}
