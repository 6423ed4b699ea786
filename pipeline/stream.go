package pipeline

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// ArrowColumns describes a table's COPY columns for the codec. Columns without a rule are
// carried as raw wire bytes: they are never decoded, so they cannot change. A ruled column
// is decoded to its native Arrow type when its transformer asks for it.
func ArrowColumns(t *TablePlan) []pgarrow.Column {
	out := make([]pgarrow.Column, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = pgarrow.Column{Name: c.Name, TypeOID: c.TypeOID, BaseOID: c.BaseOID, TypeName: c.TypeName}
	}
	for _, r := range t.Rules {
		out[r.Index].Native = r.Native
	}
	return out
}

// TransformStream decodes a binary COPY stream into Arrow batches, applies the table's
// rules column by column and encodes the batches back. It holds one input batch and its
// transformed copy at a time.
func TransformStream(r io.Reader, w io.Writer, t *TablePlan, opts RunOptions) error {
	cols := ArrowColumns(t)
	dec := pgarrow.NewDecoder(r, cols, opts.Mem, pgarrow.DecoderOptions{BatchRows: opts.BatchRows, BatchBytes: opts.BatchBytes})
	enc := pgarrow.NewEncoder(w, cols)
	for {
		rec, err := dec.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		out, err := applyRules(rec, t, opts)
		rec.Release()
		if err != nil {
			return err
		}
		err = enc.Write(out)
		out.Release()
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
	}
	return enc.Close()
}

// applyRules returns a new record with every ruled column replaced. Rules run in plan
// order; each sees the batch with the earlier rules' outputs in place, so a template reads
// the faked names, never the real ones.
func applyRules(rec arrow.Record, t *TablePlan, opts RunOptions) (arrow.Record, error) {
	cur := rec
	cur.Retain()
	for _, r := range t.Rules {
		a, err := r.Transformer.Transform(cur, r.Index, opts.Mem)
		if err != nil {
			cur.Release()
			return nil, fmt.Errorf("transform %s.%s (%s): %w", t.Name.String(), r.Column.Name, r.Rule, err)
		}
		old := cur.Column(r.Index)
		if a.Len() != int(cur.NumRows()) || !arrow.TypeEqual(a.DataType(), old.DataType()) {
			a.Release()
			cur.Release()
			return nil, fmt.Errorf("transform %s.%s (%s): returned %d values of %s for %d of %s",
				t.Name.String(), r.Column.Name, r.Rule, a.Len(), a.DataType(), cur.NumRows(), old.DataType())
		}
		cols := make([]arrow.Array, cur.NumCols())
		copy(cols, cur.Columns())
		cols[r.Index] = a
		next := array.NewRecord(cur.Schema(), cols, cur.NumRows())
		a.Release()
		cur.Release()
		cur = next
	}
	return cur, nil
}
