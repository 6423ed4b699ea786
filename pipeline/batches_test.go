package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// streamSource serves one fixed binary COPY stream of rows rows for every unit.
type streamSource struct {
	data []byte
	rows int64
}

func (s *streamSource) NewReader(context.Context) (Reader, error) { return s, nil }
func (s *streamSource) Close() error                              { return nil }
func (s *streamSource) CopyOut(_ context.Context, _ Unit, w io.Writer) (int64, error) {
	_, err := w.Write(s.data)
	return s.rows, err
}

// batchSink stores what it is given as wire values, and records whether a unit came as
// batches or as a COPY stream. With streamOnly it offers no batches.
type batchSink struct {
	streamOnly bool
	mu         sync.Mutex
	how        []string
	streams    [][]byte // what each unit's rows came to, as a binary COPY stream
}

func (s *batchSink) NewWriter(context.Context) (Writer, error) {
	if s.streamOnly {
		return streamWriter{s}, nil
	}
	return s, nil
}
func (s *batchSink) Close() error                  { return nil }
func (s *batchSink) TableLoaded(*TablePlan) []Task { return nil }

func (s *batchSink) CopyIn(_ context.Context, u Unit, r io.Reader) (int64, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	return s.store(u, "stream", data)
}

func (s *batchSink) store(u Unit, how string, stream []byte) (int64, error) {
	rows, err := countRows(stream, len(u.Table.Columns))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.how = append(s.how, how)
	s.streams = append(s.streams, stream)
	return rows, err
}

// countRows counts the rows of a binary COPY stream of n columns.
func countRows(stream []byte, n int) (int64, error) {
	cols := make([]pgarrow.Column, n)
	dec := pgarrow.NewDecoder(bytes.NewReader(stream), cols, memory.NewGoAllocator(), pgarrow.DecoderOptions{})
	var rows int64
	for {
		rec, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows += rec.NumRows()
		rec.Release()
	}
}

// BatchColumns: every column native, as the snapshot sink decodes them.
func (s *batchSink) BatchColumns(u Unit) ([]pgarrow.Column, bool) {
	cols := ArrowColumns(u.Table)
	for i := range cols {
		cols[i].Native = true
	}
	return cols, true
}

func (s *batchSink) WriteBatches(_ context.Context, u Unit, cols []pgarrow.Column, r BatchReader) (int64, error) {
	var buf bytes.Buffer
	enc := pgarrow.NewEncoder(&buf, cols)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		err = enc.Write(rec)
		rec.Release()
		if err != nil {
			return 0, err
		}
	}
	if err := enc.Close(); err != nil {
		return 0, err
	}
	return s.store(u, "batches", buf.Bytes())
}

type streamWriter struct{ s *batchSink }

func (w streamWriter) CopyIn(ctx context.Context, u Unit, r io.Reader) (int64, error) {
	return w.s.CopyIn(ctx, u, r)
}
func (w streamWriter) Close() error { return nil }

// A table whose rows are decoded anyway reaches a batch writer as the transform stage's
// batches, with the very values the COPY path gives; a rule, a condition or a template that
// reads a column the writer would decode otherwise (and not just as text) keeps the COPY path.
func TestBatchWriterTakesTransformedBatches(t *testing.T) {
	for _, c := range []struct {
		name, rules string
		want        string
	}{
		{"rules on their own columns", "      email: hash\n      age: {transform: numeric_noise, ratio: 0.5}\n", "batches"},
		// name is carried raw for the template, and handed over as text.
		{"a template reads a text column", "      notes: {transform: template, template: 'about {name}'}\n", "batches"},
		{"a template reads an integer column", "      notes: {transform: template, template: 'customer {id}'}\n", "stream"},
		{"a condition reads a raw column", "      email: {transform: hash, when: \"age >= 18\"}\n", "stream"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp, err := whenPlan(t, "tables:\n  public.customers:\n    columns:\n"+c.rules)
			if err != nil {
				t.Fatal(err)
			}
			plan := &Plan{Tables: []*TablePlan{tp}, Units: []Unit{{Table: tp, Of: 1, ToPage: -1}}}
			src := &streamSource{data: whenStream(t, tp), rows: int64(len(whenRows))}
			run := func(s *batchSink) [][][]byte {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				if err := Run(context.Background(), plan, src, s, RunOptions{Jobs: 1, Mem: mem, BatchRows: 2}); err != nil {
					t.Fatal(err)
				}
				mem.AssertSize(t, 0)
				if len(s.streams) != 1 {
					t.Fatalf("%d units written, want 1", len(s.streams))
				}
				return wireRows(t, tp, s.streams[0])
			}
			batches, stream := &batchSink{}, &batchSink{streamOnly: true}
			got, want := run(batches), run(stream)
			if batches.how[0] != c.want {
				t.Errorf("the unit came as %s, want %s", batches.how[0], c.want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the batch writer got other rows than the COPY path gives:\n%q\nwant\n%q", got, want)
			}
			if reflect.DeepEqual(got, wireRows(t, tp, src.data)) {
				t.Error("no rule changed anything")
			}
		})
	}
}
