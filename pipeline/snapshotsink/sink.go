// Package snapshotsink is the pipeline.Sink that writes a snapshot: every unit's COPY stream
// becomes Parquet parts in a store, each recorded as finished when it is complete so that an
// interrupted snapshot can be resumed. It writes no manifest: the job does, last, from what
// the sink reports (see pipeline/snapshot).
package snapshotsink

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// Sink writes units as Parquet parts into a store.
type Sink struct {
	store   store.Store
	started time.Time
	run     string // the run's id, for progress records
	keyFP   string // the run's key fingerprint, for progress records
	opts    parquetpart.Options

	mu    sync.Mutex
	parts map[schemas.Name][]snapshot.Part
	// raw lists, per table, the columns carried as wire bytes although they have a native
	// type, because a value did not fit it; decided on the way, kept for the table's later
	// units.
	raw map[schemas.Name][]string
}

var (
	_ pipeline.Sink        = (*Sink)(nil)
	_ pipeline.BatchWriter = (*writer)(nil)
)

// New returns a sink writing into s; run and started identify the run in progress records
// (snapshot.RunRecord), and keyFingerprint (snapshot.Manifest.KeyFingerprint) the key its
// rules use.
func New(s store.Store, run string, started time.Time, keyFingerprint string, o parquetpart.Options) *Sink {
	return &Sink{store: s, run: run, started: started, keyFP: keyFingerprint, opts: o, parts: map[schemas.Name][]snapshot.Part{}, raw: map[schemas.Name][]string{}}
}

// Adopt counts parts finished by an earlier run (--resume) as written by this one.
func (s *Sink) Adopt(t schemas.Name, parts []snapshot.Part) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.parts[t] = append(s.parts[t], parts...)
}

// Parts returns a table's parts, in unit and piece order.
func (s *Sink) Parts(t schemas.Name) []snapshot.Part {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]snapshot.Part(nil), s.parts[t]...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Unit != out[j].Unit {
			return out[i].Unit < out[j].Unit
		}
		return out[i].Piece < out[j].Piece
	})
	return out
}

// NewWriter returns a writer; it holds no connection.
func (s *Sink) NewWriter(ctx context.Context) (pipeline.Writer, error) { return &writer{s: s}, nil }

// TableLoaded: a snapshot has no indexes to build.
func (s *Sink) TableLoaded(*pipeline.TablePlan) []pipeline.Task { return nil }

type writer struct{ s *Sink }

// CopyIn writes unit u's stream as parts data/<table>/part-<unit>-<piece>.parquet, then
// records the unit as finished.
func (w *writer) CopyIn(ctx context.Context, u pipeline.Unit, r io.Reader) (int64, error) {
	o := w.s.opts
	o.Raw = w.s.rawOf(u.Table.Name)
	return w.write(ctx, u, o, func(next func() (store.Writer, error)) ([]parquetpart.Part, error) {
		return parquetpart.WriteParts(r, pipeline.ArrowColumns(u.Table), u.Table.TextFormat, next, o)
	})
}

// BatchColumns: the columns decoded as CopyIn would decode them, for a binary-format table.
func (w *writer) BatchColumns(u pipeline.Unit) ([]pgarrow.Column, bool) {
	if u.Table.TextFormat {
		return nil, false
	}
	o := w.s.opts
	o.Raw = w.s.rawOf(u.Table.Name)
	return parquetpart.DecodeColumns(pipeline.ArrowColumns(u.Table), o), true
}

// WriteBatches writes unit u's batches, of columns cols from BatchColumns, as CopyIn writes
// its stream.
func (w *writer) WriteBatches(ctx context.Context, u pipeline.Unit, cols []pgarrow.Column, r pipeline.BatchReader) (int64, error) {
	o := w.s.opts
	for _, c := range cols {
		if !c.Native { // carried raw, as the table's later units will be
			o.Raw = append(o.Raw, c.Name)
		}
	}
	return w.write(ctx, u, o, func(next func() (store.Writer, error)) ([]parquetpart.Part, error) {
		return parquetpart.WriteBatches(r, cols, next, o)
	})
}

// rawOf returns the columns of table t carried as wire bytes so far.
func (s *Sink) rawOf(t schemas.Name) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.raw[t]...)
}

// write writes unit u's parts with parts, then records the unit as finished. o.Raw are the
// columns parts carries raw.
func (w *writer) write(ctx context.Context, u pipeline.Unit, o parquetpart.Options, parts func(next func() (store.Writer, error)) ([]parquetpart.Part, error)) (int64, error) {
	s := w.s
	name := u.Table.Name
	piece := 0
	var names []string
	next := func() (store.Writer, error) {
		n := snapshot.PartName(name, u.Seq, piece)
		piece++
		names = append(names, n)
		return s.store.Create(ctx, n)
	}
	written, err := parts(next)
	if err != nil {
		for _, n := range names[:len(written)] { // closed pieces of this attempt: not kept
			s.store.Delete(context.WithoutCancel(ctx), n)
		}
		if col, ok := parquetpart.OutOfRange(err); ok && !slices.Contains(o.Raw, col) {
			s.mu.Lock()
			if !slices.Contains(s.raw[name], col) {
				s.raw[name] = append(s.raw[name], col)
			}
			s.mu.Unlock()
			return 0, &retryRaw{fmt.Errorf("snapshot %s: column %s: %w; writing it as wire bytes instead", u, col, err)}
		}
		return 0, fmt.Errorf("snapshot %s: %w", u, err)
	}
	done := make([]snapshot.Part, len(written))
	var rows int64
	for i, p := range written {
		done[i] = snapshot.Part{File: snapshot.File{Path: names[i], Bytes: p.Bytes, SHA256: p.SHA256}, Unit: u.Seq, Piece: i, Rows: p.Rows, Raw: o.Raw}
		rows += p.Rows
	}
	if err := snapshot.RecordUnit(ctx, s.store, snapshot.UnitRecord{Run: s.run, Started: s.started, Table: name, Seq: u.Seq, Of: u.Of,
		FromPage: u.FromPage, ToPage: u.ToPage, KeyFingerprint: s.keyFP, Plan: u.Table.Fingerprint(), Parts: done}); err != nil {
		return 0, fmt.Errorf("snapshot %s: record progress: %w", u, err)
	}
	s.Adopt(name, done)
	return rows, nil
}

func (w *writer) Close() error { return nil }

// retryRaw asks the engine to copy the unit again: the sink now carries a column raw.
type retryRaw struct{ err error }

func (e *retryRaw) Error() string   { return e.err.Error() }
func (e *retryRaw) Unwrap() error   { return e.err }
func (e *retryRaw) RetryUnit() bool { return true }

var _ pipeline.RetryUnit = (*retryRaw)(nil)
