// Package snapshotsource is the pipeline.Source that restores a snapshot: each unit is one
// Parquet part, read from the store, checked against the manifest's SHA-256, and written out
// as the COPY stream it was made from; a part that fails to arrive whole and unchanged is
// fetched once more before the restore fails. It plans the restore from the manifest; it knows
// nothing of the target.
package snapshotsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/schemas"
)

// Source reads the parts of a snapshot.
type Source struct {
	// Log, when set, gets a warning for each part fetched again.
	Log *slog.Logger

	store     store.Store
	opts      parquetpart.Options
	parts     map[*pipeline.TablePlan][]snapshot.Part
	refetched atomic.Int64
}

var _ pipeline.Source = (*Source)(nil)

// Plan builds the restore of m (a manifest that contradicts itself is a
// *snapshot.CorruptError; the others are about --tables): every table with rows, one unit per part, largest tables
// first. With only, just those tables get rows (the others are created empty); a
// partitioned table in only stands for all its partitions. A table in only whose foreign key
// points at a table outside it is refused, since the key could not be validated; a key to a
// partitioned table needs all of that table's partitions.
func Plan(m *snapshot.Manifest, s store.Store, only []string, o parquetpart.Options) (*pipeline.Plan, *Source, error) {
	have := map[string]bool{}
	// leaves lists, for each partitioned table, the partitions under it that have rows: only
	// those are tables of the manifest.
	leaves := map[string][]string{}
	for _, t := range m.Tables {
		have[t.Name.String()] = true
		if ct := m.Catalog.Table(t.Name); ct != nil {
			for anc := ct.Parent; anc != nil; anc = anc.Parent {
				leaves[anc.Name.String()] = append(leaves[anc.Name.String()], t.Name.String())
			}
		}
	}
	want, filter := map[string]bool{}, len(only) > 0 // a partitioned table may have no partitions with rows
	for _, n := range only {
		if !strings.Contains(n, ".") {
			n = "public." + n
		}
		if ct := m.Catalog.Table(parseName(n)); ct != nil && ct.Kind == 'p' {
			for _, l := range leaves[n] {
				want[l] = true
			}
			continue
		}
		want[n] = true
	}
	restored := func(n schemas.Name) bool {
		if want[n.String()] {
			return true
		}
		if t := m.Catalog.Table(n); t == nil || t.Kind != 'p' {
			return false
		}
		for _, l := range leaves[n.String()] {
			if !want[l] {
				return false
			}
		}
		return true
	}
	for n := range want {
		if !have[n] {
			var names []string
			for h := range have {
				names = append(names, h)
			}
			sort.Strings(names)
			return nil, nil, fmt.Errorf("--tables: %s is not in the snapshot (it has %s)", n, strings.Join(names, ", "))
		}
	}
	p := &pipeline.Plan{Catalog: m.Catalog}
	src := &Source{store: s, opts: o, parts: map[*pipeline.TablePlan][]snapshot.Part{}}
	for _, mt := range m.Tables {
		if filter && !want[mt.Name.String()] {
			continue
		}
		t := m.Catalog.Table(mt.Name)
		if t == nil {
			return nil, nil, &snapshot.CorruptError{Location: s.String(), Path: snapshot.ManifestName, Problem: fmt.Sprintf("table %s is not in the catalog", mt.Name)}
		}
		tp := &pipeline.TablePlan{Table: t, Columns: t.CopyColumns(), TextFormat: mt.TextFormat, Units: len(mt.Parts)}
		if err := sameColumns(tp.Columns, mt.Columns); err != nil {
			return nil, nil, &snapshot.CorruptError{Location: s.String(), Path: snapshot.ManifestName, Problem: fmt.Sprintf("table %s: %v", mt.Name, err)}
		}
		for _, fk := range t.ForeignKeys {
			if filter && !restored(fk.Ref) {
				return nil, nil, fmt.Errorf("--tables: %s references %s (foreign key %s), which is not restored; add it to --tables", mt.Name, fk.Ref, fk.Name)
			}
		}
		p.Tables = append(p.Tables, tp)
		src.parts[tp] = mt.Parts
		for i := range mt.Parts {
			p.Units = append(p.Units, pipeline.Unit{Table: tp, Seq: i, Of: len(mt.Parts), ToPage: -1})
		}
	}
	sort.SliceStable(p.Units, func(i, j int) bool { return p.Units[i].Table.TotalBytes > p.Units[j].Table.TotalBytes })
	return p, src, nil
}

// parseName splits schema.table at the first dot: schema names with dots cannot be named
// in --tables (table names can).
func parseName(n string) schemas.Name {
	sch, tab, _ := strings.Cut(n, ".")
	return schemas.Name{Schema: sch, Name: tab}
}

func sameColumns(cols []schemas.Column, mc []snapshot.Column) error {
	if len(cols) != len(mc) {
		return fmt.Errorf("%d columns in the parts, %d in the catalog", len(mc), len(cols))
	}
	for i, c := range cols {
		if c.Name != mc[i].Name {
			return fmt.Errorf("column %d is %q in the parts, %q in the catalog", i+1, mc[i].Name, c.Name)
		}
	}
	return nil
}

// NewReader returns a reader; it holds nothing but a buffer.
func (s *Source) NewReader(ctx context.Context) (pipeline.Reader, error) { return &reader{s: s}, nil }

type reader struct{ s *Source }

// CopyOut reads part u.Seq of u's table, whole (parts are bounded in size), checks it, and
// writes its rows as one COPY stream.
func (r *reader) CopyOut(ctx context.Context, u pipeline.Unit, w io.Writer) (int64, error) {
	part := r.s.parts[u.Table][u.Seq]
	data, err := r.s.fetch(ctx, part.File)
	if err != nil {
		return 0, err
	}
	n, err := parquetpart.ReadPart(bytes.NewReader(data), int64(len(data)), pipeline.ArrowColumns(u.Table), u.Table.TextFormat, w, r.s.opts)
	if err != nil {
		return 0, fmt.Errorf("%s/%s: %w", r.s.store, part.Path, err)
	}
	if n != part.Rows {
		return 0, &snapshot.CorruptError{Location: r.s.store.String(), Path: part.Path, Problem: fmt.Sprintf("%d rows, the manifest says %d", n, part.Rows)}
	}
	return n, nil
}

func (r *reader) Close() error { return nil }

// Refetched returns how many parts were fetched a second time.
func (s *Source) Refetched() int64 { return s.refetched.Load() }

// fetch reads and checks f; when that fails for any reason but the file's absence or the
// run's end (a connection cut mid-download, a byte damaged on the wire: the checksum
// mismatches), it reads it once more. A file damaged in the store fails twice.
func (s *Source) fetch(ctx context.Context, f snapshot.File) ([]byte, error) {
	data, err := snapshot.ReadFile(ctx, s.store, f)
	if ce := (*snapshot.CorruptError)(nil); err == nil || ctx.Err() != nil || errors.As(err, &ce) && ce.Missing() {
		return data, err
	}
	s.refetched.Add(1)
	if s.Log != nil {
		s.Log.Warn("fetching a part once more", "file", s.store.String()+"/"+f.Path, "error", err)
	}
	return snapshot.ReadFile(ctx, s.store, f)
}
