package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/pipeline/pgsink"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/snapshotsink"
	"github.com/understudy-dev/understudy/pipeline/snapshotsource"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/transforms"
)

// SnapshotOptions configure a snapshot.
type SnapshotOptions struct {
	Running
	Source        config.DSN
	To            store.Store
	Config        *config.Config // nil: no rules
	AllowUnmasked bool
	Resume        bool // reuse the finished units of an unfinished snapshot at To
	Replace       bool // overwrite a finished snapshot at To
	NoOwner       bool
	NoPrivileges  bool
	PgDump        string
	Key           *transforms.Key
	Registry      *transforms.Registry
	ChunkBytes    int64
	Parts         parquetpart.Options
	Tool          string // understudy's version, for the manifest
	Scale         int    // overrides the config's scale factor when above 0
}

// Snapshot writes the source database, under the config's rules, as a snapshot into o.To:
// schema files, Parquet parts, and last the manifest. A run that fails leaves no manifest,
// so the prefix is recognisably unfinished; with Resume a later run reuses what was finished.
func Snapshot(ctx context.Context, o SnapshotOptions) (m *snapshot.Manifest, err error) {
	o.defaults()
	started := time.Now()
	defer func() {
		rep := pipeline.Report{Command: "snapshot", Status: "ok", Started: started, Seconds: time.Since(started).Seconds(),
			Source: o.Source.String(), Target: o.To.String()}
		if o.Key != nil {
			rep.KeyFingerprint = o.Key.Fingerprint()
		}
		err = o.report(rep, err)
	}()

	pgDump := findPgDump(o.PgDump)
	replacing := false
	if _, err := snapshot.ReadManifest(ctx, o.To); err == nil {
		if !o.Replace {
			return nil, pipeline.Errorf(pipeline.ExitUnsafe, "choose another prefix, or pass --replace to overwrite it",
				"%s already holds a finished snapshot", o.To)
		}
		replacing = true
	} else if ue := (*snapshot.UnfinishedError)(nil); !errors.As(err, &ue) {
		return nil, err
	}

	src, err := pgsource.Open(ctx, o.Source.Value())
	if err != nil {
		return nil, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	plan, ddl, err := planSource(ctx, src, sourcePlan{PgDump: pgDump, Config: o.Config, ChunkBytes: o.ChunkBytes,
		Registry: o.Registry, Key: o.Key, AllowUnmasked: o.AllowUnmasked, Scale: o.Scale,
		DSN: o.Source.Value(), Dump: schemas.DumpOptions{NoOwner: o.NoOwner, NoPrivileges: o.NoPrivileges}})
	if err != nil {
		return nil, err
	}
	m = &snapshot.Manifest{Format: snapshot.Format, Version: snapshot.Version, Tool: o.Tool, Catalog: src.Catalog(),
		Source: snapshot.Source{ServerVersion: serverVersion(src.ServerVersionNum), Database: src.Identity.Database, Snapshot: src.Snapshot()}}
	if o.Key != nil {
		m.KeyFingerprint = o.Key.Fingerprint()
	}
	m.Shape = &snapshot.Shape{Scale: max(1, o.Scale)}
	if o.Config != nil {
		if sc := scaleOf(o.Config, o.Scale); sc != nil && sc.Factor > 1 {
			m.Shape.Scale = sc.Factor
		}
		for _, tr := range o.Config.Tables {
			m.Shape.Subset = m.Shape.Subset || tr.Seed()
		}
	}
	if replacing {
		// Unfinished from here on; not before, so that a run that cannot even read the source
		// leaves the old snapshot whole.
		if err := o.To.Delete(ctx, snapshot.ManifestName); err != nil {
			return nil, unfinished(o.To, err)
		}
	}
	if m.Schema.PreData, err = snapshot.WriteFile(ctx, o.To, snapshot.PreDataName, []byte(ddl.PreData)); err != nil {
		return nil, unfinished(o.To, err)
	}
	if m.Schema.PostData, err = snapshot.WriteFile(ctx, o.To, snapshot.PostDataName, []byte(ddl.PostDataSQL())); err != nil {
		return nil, unfinished(o.To, err)
	}

	sink := snapshotsink.New(o.To, started, m.KeyFingerprint, o.Parts)
	if o.Resume {
		if m.Resumed, err = adoptFinished(ctx, o, plan, sink, m.KeyFingerprint); err != nil {
			return nil, unfinished(o.To, err)
		}
	} else if err := snapshot.ClearProgress(ctx, o.To); err != nil {
		return nil, unfinished(o.To, err)
	}
	o.Log.Info("planned", "tables", len(plan.Tables), "units", len(plan.Units), "skipped", len(plan.Skipped), "jobs", o.Jobs, "to", o.To.String())
	if err := o.run(ctx, plan, src, sink); err != nil {
		return nil, unfinished(o.To, err)
	}
	seqs, err := sourceSequences(ctx, src, plan)
	if err != nil {
		return nil, unfinished(o.To, err)
	}
	for _, s := range seqs {
		m.Sequences = append(m.Sequences, snapshot.Sequence{Name: s.Name, LastValue: s.LastValue, IsCalled: s.IsCalled})
	}
	for _, tp := range plan.Tables {
		mt := snapshot.Table{Name: tp.Name, TextFormat: tp.TextFormat, Parts: sink.Parts(tp.Name)}
		for _, f := range parquetpart.Schema(pipeline.ArrowColumns(tp), tp.TextFormat).Fields() {
			enc, _ := f.Metadata.GetValue("pg.encoding")
			mt.Columns = append(mt.Columns, snapshot.Column{Name: f.Name, Encoding: enc})
		}
		if tp.TextFormat {
			mt.Columns = nil
		}
		for i, c := range tp.Columns {
			if tp.TextFormat {
				mt.Columns = append(mt.Columns, snapshot.Column{Name: c.Name, Encoding: "text"})
			}
			mt.Columns[i].Type, mt.Columns[i].OID = c.TypeName, c.TypeOID
		}
		for _, r := range tp.Rules {
			if mt.Rules == nil {
				mt.Rules = map[string]string{}
			}
			mt.Rules[r.Column.Name] = r.Rule
			if r.Follows != "" {
				continue
			}
			spec, err := r.Source.Spec()
			if err != nil {
				return nil, unfinished(o.To, fmt.Errorf("manifest: %s: %w", tp.Name, err))
			}
			if mt.RuleSpecs == nil {
				mt.RuleSpecs = map[string]string{}
			}
			mt.RuleSpecs[r.Column.Name] = spec
		}
		for _, p := range mt.Parts {
			mt.Rows += p.Rows
			mt.Bytes += p.Bytes
		}
		m.Rows += mt.Rows
		m.Bytes += mt.Bytes
		m.Tables = append(m.Tables, mt)
	}
	m.Created = time.Now().UTC()
	if err := snapshot.WriteManifest(ctx, o.To, m); err != nil {
		return nil, unfinished(o.To, err)
	}
	// Finished: what no longer belongs (progress records, parts of an earlier attempt that
	// this run cut differently) goes; a failure here leaves a complete snapshot with clutter.
	if err := removeStray(ctx, o.To, m); err != nil {
		o.Log.Warn("could not remove leftovers of earlier attempts", "error", err)
	}
	o.summary()
	o.Log.Info("snapshot complete", "tables", len(m.Tables), "rows", m.Rows, "bytes", m.Bytes, "to", o.To.String(), "seconds", since(started))
	return m, nil
}

// adoptFinished takes the units an earlier, unfinished run of this snapshot finished: a unit
// whose record matches the plan's cut of its table and this run's key, and whose parts are
// all present with their checksums. Those units leave the plan; the rest are done again.
func adoptFinished(ctx context.Context, o SnapshotOptions, plan *pipeline.Plan, sink *snapshotsink.Sink, keyFP string) ([]time.Time, error) {
	recs, err := snapshot.FinishedUnits(ctx, o.To)
	if err != nil {
		return nil, err
	}
	type key struct {
		t        schemas.Name
		seq, of  int
		from, to int64
	}
	done := map[key]snapshot.UnitRecord{}
	for _, r := range recs {
		done[key{r.Table, r.Seq, r.Of, r.FromPage, r.ToPage}] = r
	}
	var runs []time.Time
	seen := map[time.Time]bool{}
	var left []pipeline.Unit
	for _, u := range plan.Units {
		r, ok := done[key{u.Table.Name, u.Seq, u.Of, u.FromPage, u.ToPage}]
		if ok && r.KeyFingerprint != keyFP {
			o.Log.Info("a finished unit was anonymized with another key: it is done again", "unit", u.String())
			ok = false
		}
		if ok && r.Plan != u.Table.Fingerprint() {
			o.Log.Info("a finished unit was written under other rules or columns: it is done again", "unit", u.String())
			ok = false
		}
		if ok {
			for _, p := range r.Parts {
				if _, err := snapshot.ReadFile(ctx, o.To, p.File); err != nil {
					o.Log.Info("a finished part does not check out: its unit is done again", "part", p.Path, "error", err)
					ok = false
					break
				}
			}
		}
		if !ok {
			left = append(left, u)
			continue
		}
		sink.Adopt(u.Table.Name, r.Parts)
		if !seen[r.Started] {
			seen[r.Started] = true
			runs = append(runs, r.Started.UTC())
		}
	}
	o.Log.Info("resuming", "units finished before", len(plan.Units)-len(left), "units left", len(left))
	plan.Units = left
	return runs, nil
}

// removeStray deletes what a finished snapshot does not list.
func removeStray(ctx context.Context, s store.Store, m *snapshot.Manifest) error {
	if err := snapshot.ClearProgress(ctx, s); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, t := range m.Tables {
		for _, p := range t.Parts {
			keep[p.Path] = true
		}
	}
	objs, err := s.List(ctx, "data/")
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if !keep[obj.Name] {
			if err := s.Delete(ctx, obj.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func serverVersion(num int) string {
	return fmt.Sprintf("%d.%d", num/10000, num%10000)
}

// unfinished marks err as a failed snapshot run, which leaves no manifest.
func unfinished(s store.Store, err error) error {
	hint := "the snapshot at " + s.String() + " is unfinished (no manifest); fix the cause and run again with --resume to keep the finished parts"
	if errors.Is(err, context.Canceled) {
		return pipeline.WithCode(pipeline.ExitInterrupted, hint, err)
	}
	return pipeline.WithCode(pipeline.ExitFailed, hint, err)
}

// freshCopies gives a scaled restore's new copies fresh values: the rules the snapshot was
// taken with, as its manifest records them, run again on the snapshot's (anonymized) values
// with each copy's key. A snapshot that records no rule specs (written before they were kept)
// has its values repeated in every copy, as does a column whose rule cannot be built here.
func freshCopies(m *snapshot.Manifest, plan *pipeline.Plan, o RestoreOptions) error {
	specs := map[string]map[string]string{}
	for _, t := range m.Tables {
		if len(t.RuleSpecs) > 0 {
			specs[t.Name.Quoted()] = t.RuleSpecs
		}
	}
	if len(specs) == 0 {
		return nil
	}
	rules, err := config.FromSpecs(snapshot.ManifestName+" (rule_specs)", specs)
	if err != nil {
		return pipeline.WithCode(pipeline.ExitFailed, "", err)
	}
	for _, msg := range plan.AddCopyRules(rules, pipeline.PlanOptions{Key: o.Key}) {
		o.Log.Warn("the scaled copies repeat the snapshot's values of a column", "why", msg)
	}
	return nil
}

// RestoreOptions configure a restore.
type RestoreOptions struct {
	Running
	From    store.Store
	Target  config.DSN
	Replace bool
	Tables  []string // only these tables' rows; empty: all
	Parts   parquetpart.Options
	// Scale multiplies the restored rows (see pipeline.Plan.ApplyScale); Config gives the
	// shared tables and the jitter (its scale section; its rules are not read: the snapshot's
	// own, from its manifest, give the new copies fresh values), Key keys uuid keys, jitter
	// and those fresh values. Scale above 0 overrides the config's factor.
	Scale  int
	Config *config.Config
	Key    *transforms.Key
}

// Restore loads a finished snapshot into the empty target, exactly as sync would have left
// it: schema, rows, indexes and constraints (validated), sequences. The target is marked
// incomplete until the end, as by sync.
func Restore(ctx context.Context, o RestoreOptions) (err error) {
	o.defaults()
	started := time.Now()
	defer func() {
		err = o.report(pipeline.Report{Command: "restore", Status: "ok", Started: started, Seconds: time.Since(started).Seconds(),
			Source: o.From.String(), Target: o.Target.String()}, err)
	}()
	m, err := snapshot.ReadManifest(ctx, o.From)
	if ue := (*snapshot.UnfinishedError)(nil); errors.As(err, &ue) {
		return pipeline.WithCode(pipeline.ExitUnsafe, "finish it with 'understudy snapshot --resume', or restore another snapshot ('understudy snapshots list')", err)
	}
	if err != nil {
		return err
	}
	if m.KeyFingerprint != "" {
		o.Log.Info("snapshot", "created", m.Created, "key fingerprint", m.KeyFingerprint)
	}
	pre, err := snapshot.ReadFile(ctx, o.From, m.Schema.PreData)
	if err != nil {
		return pipeline.WithCode(pipeline.ExitFailed, "", err)
	}
	post, err := snapshot.ReadFile(ctx, o.From, m.Schema.PostData)
	if err != nil {
		return pipeline.WithCode(pipeline.ExitFailed, "", err)
	}
	ddl := schemas.ParseDDL(string(pre), string(post))
	plan, src, err := snapshotsource.Plan(m, o.From, o.Tables, o.Parts)
	if ce := (*snapshot.CorruptError)(nil); errors.As(err, &ce) {
		return pipeline.WithCode(pipeline.ExitFailed, "", err)
	} else if err != nil {
		return pipeline.WithCode(pipeline.ExitUsage, "", err) // --tables
	}
	cfg := o.Config
	if cfg == nil {
		cfg = &config.Config{}
	}
	if sc := scaleOf(cfg, o.Scale); sc != nil && sc.Factor > 1 {
		if err := plan.ApplyScale(ctx, pipeline.StreamStats{Src: src, Plan: plan}, cfg, sc, pipeline.PlanOptions{Key: o.Key}); err != nil {
			return err
		}
		if err := freshCopies(m, plan, o); err != nil {
			return err
		}
	}
	dst, err := pgsink.Open(ctx, o.Target.Value(), pgsink.Options{Replace: o.Replace, Jobs: o.Jobs, SourceInfo: o.From.String()})
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := prepareTarget(ctx, dst, ddl, m.Catalog); err != nil {
		return err
	}
	o.Log.Info("planned", "tables", len(plan.Tables), "parts", len(plan.Units), "jobs", o.Jobs, "from", o.From.String())
	if err := o.run(ctx, plan, src, dst); err != nil {
		return incomplete(err)
	}
	seqs := make([]pipeline.SequenceValue, len(m.Sequences))
	for i, s := range m.Sequences {
		seqs[i] = pipeline.SequenceValue{Name: s.Name, LastValue: s.LastValue, IsCalled: s.IsCalled}
	}
	if plan.Scale > 1 {
		owners, err := dst.SequenceOwners(ctx)
		if err != nil {
			return incomplete(err)
		}
		seqs = plan.ScaleSequences(seqs, owners)
	}
	if err := dst.Finish(ctx, seqs); err != nil {
		return incomplete(err)
	}
	o.summary()
	o.Log.Info("restore complete", "tables", len(plan.Tables), "from", o.From.String(), "seconds", since(started))
	return nil
}

// ShowSnapshot reads the manifest of the snapshot at s; an unfinished one is refused.
func ShowSnapshot(ctx context.Context, s store.Store) (*snapshot.Manifest, error) {
	m, err := snapshot.ReadManifest(ctx, s)
	if ue := (*snapshot.UnfinishedError)(nil); errors.As(err, &ue) {
		return nil, pipeline.WithCode(pipeline.ExitUnsafe, "'understudy snapshots list' shows the finished ones", err)
	}
	return m, err
}

// ListSnapshots finds the finished snapshots under a location.
func ListSnapshots(ctx context.Context, s store.Store, open func(prefix string) (store.Store, error)) ([]snapshot.Entry, error) {
	return snapshot.List(ctx, s, open)
}

// prepareTarget creates the schema in the target, refusing one that is not empty.
func prepareTarget(ctx context.Context, dst *pgsink.Sink, ddl *schemas.DDL, cat *schemas.Catalog) error {
	if err := dst.Prepare(ctx, ddl, cat); err != nil {
		var ne *pgsink.NotEmptyError
		if errors.As(err, &ne) {
			return pipeline.WithCode(pipeline.ExitUnsafe, "pass --replace to drop what understudy manages and load again", err)
		}
		return incomplete(err)
	}
	return nil
}
