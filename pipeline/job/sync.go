// Package job runs understudy's commands end to end by wiring the pipeline's parts: a source,
// a plan, the engine and a sink. It is the library entry point the CLI calls; it holds no
// copy logic of its own.
//
// What is stable, for programs that import it: the job functions (Sync, Snapshot, Restore,
// Plan, Verify, Init), what they promise (exit codes through pipeline's error type, a failed
// run never left looking complete) and the meaning of each option field. An options struct
// may gain fields or gather them into embedded groups, so set fields by name on a variable,
// as the example does, rather than in a composite literal.
package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/pgsink"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
	"github.com/understudy-dev/understudy/pipeline/pii"
	"github.com/understudy-dev/understudy/pipeline/postgres"
	"github.com/understudy-dev/understudy/pipeline/subset"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/transforms"
)

// SyncOptions configure a sync: a source, a target database, and a run.
type SyncOptions struct {
	SourceOptions
	TargetOptions
	Running
}

// Result is what a sync did.
type Result struct {
	Plan   *pipeline.Plan
	Tables []pipeline.TableStats
	Rows   int64
	Bytes  int64
}

// Sync copies the source database into the empty target, applying the config's rules.
// On failure the target keeps its incomplete marker and the error says so.
func Sync(ctx context.Context, o SyncOptions) (res *Result, err error) {
	started, end := o.begin(pipeline.RunReport{Command: "sync", Source: o.Source.String(), Target: o.Target.String(), KeyFingerprint: fingerprint(o.Key)})
	defer end(&err)

	pgDump := findPgDump(o.PgDump)
	// The two databases are opened side by side (a connection each, and the source's catalog).
	openTarget := inBackground(func() (*pgsink.Sink, error) {
		return pgsink.Open(ctx, o.Target.Value(), pgsink.Options{Replace: o.Replace, Jobs: o.Jobs, SourceInfo: o.Source.String()})
	})
	src, err := pgsource.Open(ctx, o.Source.Value())
	dst, dstErr := openTarget()
	if dstErr == nil {
		defer dst.Close()
	}
	if err != nil {
		return nil, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	if dstErr != nil {
		return nil, dstErr
	}
	dstID, err := dst.Identity(ctx)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if src.Identity.Same(dstID) {
		return nil, failure.Errorf(failure.ExitUnsafe, "point --target at another database",
			"source and target are the same database (%s)", dstID.Database)
	}

	plan, ddl, err := planSource(ctx, src, pgDump, o.SourceOptions, o.Jobs)
	if err != nil {
		return nil, err
	}
	o.Log.Info("planned", "tables", len(plan.Tables), "units", len(plan.Units), "skipped", len(plan.Skipped), "jobs", o.Jobs, "snapshot", src.Snapshot())
	o.Log.Info("schema dumped", "seconds", since(started))
	if err := prepareTarget(ctx, dst, ddl, src.Catalog()); err != nil {
		return nil, err
	}

	o.Log.Info("target prepared", "seconds", since(started))
	err = o.runInSnapshot(ctx, plan, src, dst, func(ctx context.Context) error {
		o.Log.Info("rows copied", "seconds", since(started))
		o.progress.SetPhase("all rows copied; adding foreign keys, triggers, sequences, materialized views")
		seqs, err := sourceSequences(ctx, src, plan)
		if err == nil {
			seqs, err = targetSequences(ctx, dst, plan, seqs, ruledColumns(plan))
		}
		if err != nil {
			return err
		}
		return dst.Finish(ctx, seqs)
	})
	if err != nil {
		return nil, incomplete(err)
	}
	res = &Result{Plan: plan, Tables: o.progress.Stats()}
	res.Rows, res.Bytes = o.progress.Totals()
	o.summary()
	o.Log.Info("sync complete", "tables", len(plan.Tables), "rows", res.Rows, "bytes", res.Bytes, "seconds", since(started))
	return res, nil
}

// findPgDump starts looking for a pg_dump (path, or the newest installed: running each
// candidate's --version takes some 20 ms), so that the look overlaps opening the databases;
// the function it returns waits for the answer.
func findPgDump(path string) func() (schemas.PgDump, error) {
	return inBackground(func() (schemas.PgDump, error) { return schemas.FindPgDump(path) })
}

// inBackground starts f and returns what waits for its results (as often as it is called).
func inBackground[T any](f func() (T, error)) func() (T, error) {
	var (
		v    T
		err  error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		v, err = f()
	}()
	return func() (T, error) {
		<-done
		return v, err
	}
}

// planSource finds a pg_dump fit for the source and starts it on the source's schema, in
// the source's snapshot; meanwhile it plans the copy under the config, locks the tables
// and, unless AllowUnmasked, runs the PII guard: what sync and snapshot do first, for a run
// with jobs workers; pgDump is from findPgDump. It returns the plan and the schema, or an
// error, with pg_dump finished either way.
func planSource(ctx context.Context, src *pgsource.Source, pgDump func() (schemas.PgDump, error), o SourceOptions, jobs int) (*pipeline.Plan, *schemas.DDL, error) {
	dump, err := pgDump()
	if err != nil {
		return nil, nil, failure.WithCode(failure.ExitTooling, "install the PostgreSQL client (Debian: apt-get install postgresql-client-15 or newer) or pass --pg-dump PATH", err)
	}
	if err := dump.CheckServer(src.ServerVersionNum); err != nil {
		return nil, nil, failure.WithCode(failure.ExitTooling, "install a pg_dump at least as new as the source server and pass --pg-dump PATH", err)
	}
	// pg_dump reads the catalog while the plan is made: both only read, in one snapshot.
	dumpCtx, cancelDump := context.WithCancel(ctx)
	defer cancelDump()
	opts := o.dump()
	opts.Snapshot = src.Snapshot()
	if o.Config != nil {
		opts.HideEnv = o.Config.Env
	}
	schema := inBackground(func() (*schemas.DDL, error) { return dump.Dump(dumpCtx, postgres.PgDumpDSN(o.Source.Value()), opts) })
	plan, err := planRows(ctx, src, o, jobs)
	if err != nil {
		cancelDump()
		schema()
		return nil, nil, err
	}
	ddl, err := schema()
	var dsnErr *schemas.DSNError
	if errors.As(err, &dsnErr) {
		return nil, nil, failure.WithCode(failure.ExitUsage, "", err)
	}
	if err != nil {
		return nil, nil, failure.WithCode(failure.ExitTooling, "", err)
	}
	return plan, ddl, nil
}

// planRows plans the copy under the config, locks the tables and, unless AllowUnmasked,
// runs the PII guard.
func planRows(ctx context.Context, src *pgsource.Source, o SourceOptions, jobs int) (*pipeline.Plan, error) {
	plan, err := pipeline.BuildPlan(src.Catalog(), o.Config, pipeline.PlanOptions{
		ChunkBytes: o.ChunkBytes, Share: o.share(jobs), Registry: o.Registry, Key: o.Key,
		Literal: func(col schemas.Column, text string) ([]byte, error) { return src.Literal(ctx, col, text) },
	})
	if err != nil {
		return nil, err
	}
	if err := checkSource(ctx, src, plan); err != nil {
		return nil, err
	}
	if err := src.Lock(ctx, plan.Tables); err != nil {
		return nil, err
	}
	if !o.AllowUnmasked {
		if err := guard(ctx, src, plan); err != nil {
			return nil, err
		}
	}
	if err := shapeRows(ctx, src, plan, o.Rules); err != nil {
		return nil, err
	}
	return plan, nil
}

// checkSource checks, before any row is read, that the source role may do all that a sync
// or snapshot of plan does: lock every table (pg_dump locks even those the plan skips), read
// the rows of those it copies with no row-level security applying, read every sequence.
func checkSource(ctx context.Context, src *pgsource.Source, plan *pipeline.Plan) error {
	return postgres.CheckSource(ctx, src.Querier(), postgres.SourceNeeds{
		Locked: src.Catalog().Tables, Read: planned(plan), Sequences: src.Catalog().Sequences})
}

// planned lists the tables whose rows plan reads.
func planned(plan *pipeline.Plan) []*schemas.Table {
	tables := make([]*schemas.Table, len(plan.Tables))
	for i, tp := range plan.Tables {
		tables[i] = tp.Table
	}
	return tables
}

// shapeRows applies the rules' subset, then their scale, to a plan of the source.
func shapeRows(ctx context.Context, src *pgsource.Source, plan *pipeline.Plan, r Rules) error {
	cfg := r.config()
	if err := applySubset(ctx, src, plan, cfg, r.Key); err != nil {
		return err
	}
	return plan.ApplyScale(ctx, pipeline.SQLStats{Q: src.Querier()}, cfg, r.scale(), pipeline.PlanOptions{Registry: r.Registry, Key: r.Key})
}

// applySubset restricts the plan to the rows the config's seeds (where, percent) and their
// foreign-key closure keep; a config without seeds changes nothing.
func applySubset(ctx context.Context, src *pgsource.Source, plan *pipeline.Plan, cfg *config.Config, key *transforms.Key) error {
	var seeds []subset.Seed
	var from []config.TableRules
	for _, tr := range cfg.Tables {
		if tr.Seed() {
			seeds = append(seeds, subset.Seed{Table: schemas.Name{Schema: tr.Schema, Name: tr.Name}, Where: tr.Where, Percent: tr.Percent, IncludeChildren: tr.IncludeChildren})
			from = append(from, tr)
		}
	}
	if len(seeds) == 0 {
		return nil
	}
	tables := make([]*schemas.Table, len(plan.Tables))
	for i, tp := range plan.Tables {
		tables[i] = tp.Table
	}
	res, err := subset.Compute(ctx, src.Querier(), tables, seeds, key)
	if se := (*subset.SeedError)(nil); errors.As(err, &se) {
		tr := from[se.Index]
		return &failure.UserError{Code: failure.ExitUsage, Err: &config.Error{File: cfg.File, Line: tr.SeedLine, Path: tr.Path(), Msg: se.Msg}}
	}
	if err != nil {
		return fmt.Errorf("source: subset: %w", err)
	}
	plan.ApplySubset(res)
	return nil
}

// scaleOf is the config's scale section with the factor a command line gave (above 0).
func scaleOf(cfg *config.Config, factor int) *config.Scale {
	sc := cfg.Scale
	if factor > 0 {
		over := config.Scale{Factor: factor}
		if sc != nil {
			over = *sc
			over.Factor = factor
		}
		sc = &over
	}
	return sc
}

// guard refuses a plan that would copy columns that look personal and have no rule, or a
// rule that copies some of their values as they are (TablePlan.Masked).
func guard(ctx context.Context, src *pgsource.Source, plan *pipeline.Plan) error {
	byName := map[schemas.Name]*pipeline.TablePlan{}
	var tables []*schemas.Table
	for _, tp := range plan.Tables {
		byName[tp.Name] = tp
		tables = append(tables, tp.Table)
	}
	found, err := pii.Detect(ctx, src.Querier(), tables, func(t schemas.Name, col string) bool {
		return byName[t].Masked(col)
	})
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if len(found) == 0 {
		return nil
	}
	passing := 0
	for i, f := range found {
		if found[i].Passthrough = byName[f.Table].Passthrough(f.Column); found[i].Passthrough != "" {
			passing++
		}
	}
	what := "have no rule"
	switch {
	case passing == len(found):
		what = "have a rule that copies some values as they are"
	case passing > 0:
		what = "have no rule, or one that copies some values as they are"
	}
	return failure.Errorf(failure.ExitUnsafe,
		"give each a rule (or 'keep' if it is not personal) in the config — the lines below can be pasted — or pass --allow-unmasked to copy them as they are\n"+pii.ConfigSnippet(found),
		"%d column(s) look like personal data and %s:\n%s", len(found), what, pii.List(found))
}

func since(t time.Time) float64 { return float64(time.Since(t).Milliseconds()) / 1000 }

// incomplete marks err as a failed run that left the target marked unfinished.
func incomplete(err error) error {
	if errors.Is(err, context.Canceled) {
		return failure.WithCode(failure.ExitInterrupted, "the target is marked incomplete; run again with --replace", err)
	}
	var lost *pgsource.SnapshotLostError
	if errors.As(err, &lost) {
		return failure.WithCode(failure.ExitFailed, "the target is marked incomplete (schema "+pgsink.MarkerSchema+
			"); the copy cannot continue in a new snapshot, so run again with --replace (sync --resume will continue such a run)", err)
	}
	return failure.WithCode(failure.ExitFailed, "the target is marked incomplete (schema "+pgsink.MarkerSchema+"); fix the cause and run again with --replace", err)
}
