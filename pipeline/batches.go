package pipeline

import (
	"context"
	"errors"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/understudy-dev/understudy/schemas/pgarrow"
	"github.com/understudy-dev/understudy/transforms"
)

// BatchReader yields a unit's rows as Arrow batches, each the caller's to release, and
// io.EOF after the last.
type BatchReader interface {
	Read() (arrow.Record, error)
}

// BatchWriter is implemented by a Writer that stores Arrow batches rather than a COPY stream
// (a snapshot's Parquet). For a unit whose rows the transform stage decodes anyway (rules, or
// scaled copies), the engine then hands it the transformed batches instead of encoding them
// to COPY for the writer to decode again.
type BatchWriter interface {
	Writer
	// BatchColumns returns how the writer would decode unit u's COPY stream, or false if it
	// takes only the stream.
	BatchColumns(u Unit) ([]pgarrow.Column, bool)
	// WriteBatches stores unit u's rows, batches of cols (as BatchColumns returned them) read
	// from r until io.EOF, and returns the number of rows. An error r returns is returned
	// wrapped, so that what it says (a value out of a native type's range) reaches the caller.
	WriteBatches(ctx context.Context, u Unit, cols []pgarrow.Column, r BatchReader) (int64, error)
}

// batchPlan is how the transform stage feeds a BatchWriter one unit: it decodes the rows as
// decode, and before handing a batch over turns the columns in retype (text read raw by a
// rule) into the writer's representation, want.
type batchPlan struct {
	decode, want []pgarrow.Column
	out          *arrow.Schema // of want
	retype       []int
}

// planBatches returns how to feed w unit u as batches, or false when the transform stage
// must encode COPY for it: w is no BatchWriter, or a column that a rule, a condition or a key
// move reads would arrive in another representation than the one it was planned for, and
// cannot be turned into the writer's without decoding it.
func planBatches(w Writer, u Unit) (batchPlan, bool) {
	bw, ok := w.(BatchWriter)
	if !ok {
		return batchPlan{}, false
	}
	want, ok := bw.BatchColumns(u)
	t := u.Table
	if !ok || len(want) != len(t.Columns) {
		return batchPlan{}, false
	}
	have := streamColumns(t)
	index := make(map[string]int, len(t.Columns))
	for i, c := range t.Columns {
		index[c.Name] = i
	}
	decode := append([]pgarrow.Column(nil), want...)
	read := make([]bool, len(want)) // read by a rule or a condition: decoded as planned
	for i := 0; i < t.copies(); i++ {
		for _, r := range t.rulesOf(i) {
			read[r.Index] = true
			var names []string
			if r.When != nil {
				names = append(names, r.When.Columns()...)
			}
			if rr, ok := r.Transformer.(transforms.RowReader); ok {
				names = append(names, rr.Reads()...)
			}
			for _, n := range names {
				j, ok := index[n]
				if !ok {
					return batchPlan{}, false
				}
				read[j] = true
			}
		}
	}
	var retype []int
	for i := range read {
		if !read[i] || pgarrow.IsNative(have[i]) == pgarrow.IsNative(want[i]) {
			continue
		}
		if pgarrow.IsNative(have[i]) || !pgarrow.SameBytes(want[i]) {
			return batchPlan{}, false
		}
		decode[i] = have[i]
		retype = append(retype, i)
	}
	for _, m := range t.Remaps { // a key move takes native integers, uuids and text, or wire bytes
		switch pgarrow.Field(decode[m.Index]).Type.ID() {
		case arrow.INT16, arrow.INT32, arrow.INT64, arrow.FIXED_SIZE_BINARY, arrow.STRING, arrow.BINARY:
		default:
			return batchPlan{}, false
		}
	}
	return batchPlan{decode: decode, want: want, out: pgarrow.Schema(want), retype: retype}, true
}

// convert returns rec in the writer's representation, and releases rec.
func (b batchPlan) convert(rec arrow.Record) arrow.Record {
	if len(b.retype) == 0 {
		return rec
	}
	cols := append([]arrow.Array(nil), rec.Columns()...)
	for _, i := range b.retype {
		d := cols[i].Data()
		s := array.NewData(arrow.BinaryTypes.String, d.Len(), d.Buffers(), nil, d.NullN(), d.Offset())
		cols[i] = array.MakeFromData(s)
		s.Release()
		defer cols[i].Release()
	}
	out := array.NewRecord(b.out, cols, rec.NumRows())
	rec.Release()
	return out
}

// errWriterGone stops the transform stage when the batch writer has returned.
var errWriterGone = errors.New("the writer stopped reading")

// batchPipe carries batches from the transform stage to a BatchWriter, one at a time: a
// batch is either taken by the writer (and then its to release) or released by the sender.
type batchPipe struct {
	ch   chan arrow.Record
	stop chan struct{} // closed when the writer returns
	err  error         // the sender's error; written before ch is closed
}

func newBatchPipe() *batchPipe {
	return &batchPipe{ch: make(chan arrow.Record), stop: make(chan struct{})}
}

// Read implements BatchReader.
func (p *batchPipe) Read() (arrow.Record, error) {
	rec, ok := <-p.ch
	if ok {
		return rec, nil
	}
	if p.err != nil {
		return nil, p.err
	}
	return nil, io.EOF
}

// send hands rec to the writer, or releases it if the writer has returned.
func (p *batchPipe) send(rec arrow.Record) error {
	select {
	case p.ch <- rec:
		return nil
	case <-p.stop:
		rec.Release()
		return errWriterGone
	}
}

// close ends the stream with err (nil: io.EOF).
func (p *batchPipe) close(err error) {
	p.err = err
	close(p.ch)
}
