package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/pipeline/pgsink"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/snapshotsink"
	"github.com/understudy-dev/understudy/pipeline/snapshotsource"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/schemas"
)

// SnapshotOptions configure a snapshot: a source, the store it is written to, and a run.
type SnapshotOptions struct {
	Running
	SourceOptions
	To      store.Store
	Resume  bool // reuse the finished units of an unfinished snapshot at To
	Replace bool // overwrite a finished snapshot at To
	Parts   parquetpart.Options
	Tool    string // understudy's version, for the manifest
	// SignKey, when set, signs the manifest (manifest.json.sig, written before it).
	SignKey *snapshot.SignKey
}

// Snapshot writes the source database, under the config's rules, as a snapshot into o.To:
// schema files, Parquet parts, and last the manifest (signed with o.SignKey, if given). A run
// that fails leaves no manifest, so the prefix is recognisably unfinished; with Resume a later
// run reuses what was finished, once it has proved it reads the same source under the same
// config and key.
//
// It writes only into a location that is empty or holds an understudy snapshot, holds the
// location's lock while it runs, and deletes only what it, or the run or snapshot it takes
// over, wrote (see docs/snapshot-format.md).
func Snapshot(ctx context.Context, o SnapshotOptions) (m *snapshot.Manifest, err error) {
	started, end := o.begin(pipeline.RunReport{Command: "snapshot", Source: o.Source.String(), Target: o.To.String(), KeyFingerprint: fingerprint(o.Key)})
	defer end(&err)
	o.countRetries(o.To)

	pgDump := findPgDump(o.PgDump)
	// Nothing is written into a location that is not understudy's: not even the lock.
	if _, err := snapshotContents(ctx, o.To); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lock, err := snapshot.AcquireLock(ctx, o.To, snapshot.LockOptions{Command: "snapshot", Started: started,
		TakeOver: o.Resume || o.Replace, OnLost: cancel,
		OnError: func(err error) { o.Log.Warn("could not refresh the lock", "error", err) }})
	if err != nil {
		return nil, lockRefusal(err)
	}
	defer func() {
		if err := lock.Release(ctx); err != nil {
			o.Log.Warn("could not release the lock", "location", o.To.String(), "error", err)
		}
	}()
	// Under the lock, what is there decides what may be done.
	contents, err := snapshotContents(ctx, o.To)
	if err != nil {
		return nil, err
	}
	var old *snapshot.Manifest
	switch {
	case contents.Finished && !o.Replace:
		return nil, failure.Errorf(failure.ExitUnsafe, "choose another prefix, or pass --replace to overwrite it",
			"%s already holds a finished snapshot", o.To)
	case contents.Finished:
		if old, err = snapshot.ReadManifest(ctx, o.To); err != nil {
			return nil, failure.WithCode(failure.ExitUnsafe, "remove it yourself, or choose another prefix", fmt.Errorf("--replace: %w", err))
		}
	case len(contents.Own) > 0 && !o.Resume && !o.Replace:
		return nil, failure.Errorf(failure.ExitUnsafe, "pass --resume to finish it (keeping its finished chunks), or --replace to start over",
			"%s holds an unfinished snapshot", o.To)
	}
	progress, err := snapshot.ReadProgress(ctx, o.To)
	if err != nil {
		return nil, err
	}
	resuming := o.Resume && !contents.Finished

	src, err := pgsource.Open(ctx, o.Source.Value())
	if err != nil {
		return nil, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	plan, ddl, err := planSource(ctx, src, pgDump, o.SourceOptions, o.Jobs)
	if err != nil {
		return nil, err
	}
	m = &snapshot.Manifest{Format: snapshot.Format, Version: snapshot.Version, Tool: o.Tool, Catalog: src.Catalog(),
		Source:         snapshot.Source{ServerVersion: serverVersion(src.ServerVersionNum), Database: src.Identity.Database, Snapshot: src.Snapshot()},
		KeyFingerprint: fingerprint(o.Key)}
	run, err := runRecord(ctx, o, src, lock.Run(), started, m.KeyFingerprint)
	if err != nil {
		return nil, err
	}
	var sameRuns map[string]bool
	if resuming {
		if sameRuns, err = provenSameRun(o.To, progress, run); err != nil {
			return nil, err
		}
	}
	// This run may write every planned table's parts, and takes over those of the runs and
	// the snapshot it continues or replaces: recorded before anything is written, so that a
	// later run knows them, and clean-up touches no other directory.
	tables := map[string]bool{}
	for _, t := range plan.Tables {
		tables[snapshot.Dir(t.Name)] = true
	}
	for _, t := range progress.Tables() {
		tables[t] = true
	}
	if old != nil {
		for _, t := range snapshot.ManifestTables(old) {
			tables[t] = true
		}
	}
	run.Tables = sortedTables(tables)
	if err := snapshot.WriteRunRecord(ctx, o.To, run); err != nil {
		return nil, unfinished(o.To, err)
	}
	if !resuming {
		// Starting over: the records of what came before must not be taken for this run's.
		if err := snapshot.ClearProgress(ctx, o.To, run.Run); err != nil {
			return nil, unfinished(o.To, err)
		}
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
	if old != nil {
		// Unfinished from here on; not before, so that a run that cannot even read the source
		// leaves the old snapshot whole.
		if err := o.To.Delete(ctx, snapshot.ManifestName); err != nil {
			return nil, unfinished(o.To, err)
		}
		if err := o.To.Delete(ctx, snapshot.SignatureName); err != nil {
			return nil, unfinished(o.To, err)
		}
	}
	if m.Schema.PreData, err = snapshot.WriteFile(ctx, o.To, snapshot.PreDataName, []byte(ddl.PreData)); err != nil {
		return nil, unfinished(o.To, err)
	}
	if m.Schema.PostData, err = snapshot.WriteFile(ctx, o.To, snapshot.PostDataName, []byte(ddl.PostDataSQL())); err != nil {
		return nil, unfinished(o.To, err)
	}

	sink := snapshotsink.New(o.To, run.Run, started, m.KeyFingerprint, o.Parts)
	if resuming {
		if m.Resumed, err = adoptFinished(ctx, o, plan, sink, progress, sameRuns, m.KeyFingerprint); err != nil {
			return nil, unfinished(o.To, err)
		}
	}
	o.Log.Info("planned", "tables", len(plan.Tables), "units", len(plan.Units), "skipped", len(plan.Skipped), "jobs", o.Jobs, "to", o.To.String())
	if err := o.runInSnapshot(ctx, plan, src, sink, nil); err != nil {
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
	// A run whose lock was taken over while it stalled must not finish over the other's work.
	if err := lock.Check(ctx); err != nil {
		return nil, unfinished(o.To, err)
	}
	if err := snapshot.WriteManifest(ctx, o.To, m, o.SignKey); err != nil {
		return nil, unfinished(o.To, err)
	}
	// Finished: what no longer belongs (progress records, parts of an earlier attempt that
	// this run cut differently) goes; a failure here leaves a complete snapshot with clutter.
	if err := snapshot.RemoveStray(ctx, o.To, m, run.Tables); err != nil {
		o.Log.Warn("could not remove leftovers of earlier attempts", "error", err)
	}
	o.summary()
	o.Log.Info("snapshot complete", "tables", len(m.Tables), "rows", m.Rows, "bytes", m.Bytes, "signed", o.SignKey != nil, "to", o.To.String(), "seconds", since(started))
	return m, nil
}

// adoptFinished takes the units an earlier, unfinished run of this snapshot finished: a unit
// whose record matches the plan's cut of its table and this run's key, and whose parts are
// all present with their checksums. Those units leave the plan; the rest are done again.
func adoptFinished(ctx context.Context, o SnapshotOptions, plan *pipeline.Plan, sink *snapshotsink.Sink, progress *snapshot.Progress, sameRuns map[string]bool, keyFP string) ([]time.Time, error) {
	var recs []snapshot.UnitRecord
	for _, r := range progress.Units {
		if sameRuns[r.Run] { // a unit of a run whose record was not checked is done again
			recs = append(recs, r)
		}
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

func serverVersion(num int) string {
	return fmt.Sprintf("%d.%d", num/10000, num%10000)
}

// unfinished marks err as a failed snapshot run, which leaves no manifest.
func unfinished(s store.Store, err error) error {
	hint := "the snapshot at " + s.String() + " is unfinished (no manifest); fix the cause and run again with --resume to keep the finished parts"
	if errors.Is(err, context.Canceled) {
		return failure.WithCode(failure.ExitInterrupted, hint, err)
	}
	return failure.WithCode(failure.ExitFailed, hint, err)
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
		return failure.WithCode(failure.ExitFailed, "", err)
	}
	for _, msg := range plan.AddCopyRules(rules, pipeline.PlanOptions{Key: o.Key}) {
		o.Log.Warn("the scaled copies repeat the snapshot's values of a column", "why", msg)
	}
	return nil
}

// RestoreOptions configure a restore: a snapshot, a target database, and a run.
type RestoreOptions struct {
	Running
	TargetOptions
	From   store.Store
	Tables []string // only these tables' rows; empty: all
	Parts  parquetpart.Options
	// Rules, with Scale (or the config's factor) above 1, multiply the restored rows (see
	// pipeline.Plan.ApplyScale): the config gives the shared tables and the jitter (its scale
	// section; its rules are not read: the snapshot's own, from its manifest, give the new
	// copies fresh values), Key keys uuid keys, jitter and those fresh values.
	Rules
	// SignKey, when set, makes restore refuse a snapshot that is not signed with it.
	SignKey *snapshot.SignKey
}

// Restore loads a finished snapshot into the empty target, exactly as sync would have left
// it: schema, rows, indexes and constraints (validated), sequences. The target is marked
// incomplete until the end, as by sync.
func Restore(ctx context.Context, o RestoreOptions) (err error) {
	started, end := o.begin(pipeline.RunReport{Command: "restore", Source: o.From.String(), Target: o.Target.String()})
	defer end(&err)
	o.countRetries(o.From)
	m, err := snapshot.ReadSignedManifest(ctx, o.From, o.SignKey)
	if ue := (*snapshot.UnfinishedError)(nil); errors.As(err, &ue) {
		return failure.WithCode(failure.ExitUnsafe, "finish it with 'understudy snapshot --resume', or restore another snapshot ('understudy snapshots list')", err)
	}
	if se := (*snapshot.SignatureError)(nil); errors.As(err, &se) {
		return failure.WithCode(failure.ExitUnsafe, "restore only snapshots signed with your key: its SQL runs on the target", err)
	}
	if err != nil {
		return err
	}
	if m.KeyFingerprint != "" {
		o.Log.Info("snapshot", "created", m.Created, "key fingerprint", m.KeyFingerprint)
	}
	if o.SignKey != nil {
		o.Log.Info("the snapshot's signature verifies", "sign key fingerprint", o.SignKey.Fingerprint())
	} else if sig, err := snapshot.ReadSignature(ctx, o.From); err == nil && sig != nil {
		o.Log.Info("the snapshot is signed, but no sign key was given: its signature was not checked", "sign key fingerprint", sig.KeyFingerprint)
	}
	// The schema is SQL the target will run: a file that is not what the manifest recorded
	// is refused before the target is touched.
	pre, err := readSchemaFile(ctx, o.From, m.Schema.PreData)
	if err != nil {
		return err
	}
	post, err := readSchemaFile(ctx, o.From, m.Schema.PostData)
	if err != nil {
		return err
	}
	ddl := schemas.ParseDDL(string(pre), string(post))
	plan, src, err := snapshotsource.Plan(m, o.From, o.Tables, o.Parts)
	if ce := (*snapshot.CorruptError)(nil); errors.As(err, &ce) {
		return failure.WithCode(failure.ExitFailed, "", err)
	} else if err != nil {
		return failure.WithCode(failure.ExitUsage, "", err) // --tables
	}
	src.Log = o.Log
	o.counters = append(o.counters, func(rep *pipeline.RunReport) { rep.PartsRefetched = src.Refetched() })
	if sc := o.scale(); sc != nil && sc.Factor > 1 {
		if err := plan.ApplyScale(ctx, pipeline.StreamStats{Src: src, Plan: plan}, o.config(), sc, pipeline.PlanOptions{Key: o.Key}); err != nil {
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
	err = o.run(ctx, plan, src, dst, func(ctx context.Context) error {
		o.progress.SetPhase("all rows loaded; adding foreign keys, triggers, sequences, materialized views")
		seqs, err := snapshotSequences(ctx, dst, plan, m)
		if err != nil {
			return err
		}
		return dst.Finish(ctx, seqs)
	})
	if err != nil {
		return incomplete(err)
	}
	o.summary()
	o.Log.Info("restore complete", "tables", len(plan.Tables), "from", o.From.String(), "seconds", since(started))
	return nil
}

// readSchemaFile reads a schema file, refusing one that is not what the manifest recorded.
func readSchemaFile(ctx context.Context, s store.Store, f snapshot.File) ([]byte, error) {
	data, err := snapshot.ReadFile(ctx, s, f)
	if ce := (*snapshot.CorruptError)(nil); errors.As(err, &ce) {
		return nil, failure.WithCode(failure.ExitUnsafe, "restore another snapshot, or take it again",
			fmt.Errorf("refusing to run a schema file that is not what the manifest recorded: %w", err))
	}
	if err != nil {
		return nil, failure.WithCode(failure.ExitFailed, "", err)
	}
	return data, nil
}

// ShowSnapshot reads the manifest of the snapshot at s, and its signature (nil when unsigned);
// an unfinished snapshot is refused, and with a sign key so is one not signed with it.
func ShowSnapshot(ctx context.Context, s store.Store, key *snapshot.SignKey) (*snapshot.Manifest, *snapshot.Signature, error) {
	m, err := snapshot.ReadSignedManifest(ctx, s, key)
	if ue := (*snapshot.UnfinishedError)(nil); errors.As(err, &ue) {
		return nil, nil, failure.WithCode(failure.ExitUnsafe, "'understudy snapshots list' shows the finished ones", err)
	}
	if se := (*snapshot.SignatureError)(nil); errors.As(err, &se) {
		return nil, nil, failure.WithCode(failure.ExitUnsafe, "", err)
	}
	if err != nil {
		return nil, nil, err
	}
	sig, err := snapshot.ReadSignature(ctx, s)
	return m, sig, err
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
			return failure.WithCode(failure.ExitUnsafe, "pass --replace to drop what understudy manages and load again", err)
		}
		return incomplete(err)
	}
	return nil
}
