package pipeline

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// ArrowColumns describes a table's COPY columns for the codec. Columns without a rule are
// carried as raw wire bytes: they are never decoded, so they cannot change.
func ArrowColumns(cols []schemas.Column) []pgarrow.Column {
	out := make([]pgarrow.Column, len(cols))
	for i, c := range cols {
		out[i] = pgarrow.Column{Name: c.Name, TypeOID: c.TypeOID, BaseOID: c.BaseOID, TypeName: c.TypeName}
	}
	return out
}

// transformStream decodes a binary COPY stream into Arrow batches, applies the table's
// rules column by column and encodes the batches back. It holds one input batch and its
// transformed copy at a time.
func transformStream(r io.Reader, w io.Writer, t *TablePlan, opts RunOptions) error {
	cols := ArrowColumns(t.Columns)
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

// applyRules returns a new record with every ruled column replaced. Rules see the original
// row values, so a rule never reads another rule's output.
func applyRules(rec arrow.Record, t *TablePlan, opts RunOptions) (arrow.Record, error) {
	cols := make([]arrow.Array, rec.NumCols())
	copy(cols, rec.Columns())
	var made []arrow.Array
	defer func() {
		for _, a := range made {
			a.Release()
		}
	}()
	for _, r := range t.Rules {
		a, err := r.Transformer.Transform(rec, r.Index, opts.Mem)
		if err != nil {
			return nil, fmt.Errorf("transform %s.%s (%s): %w", t.Name.String(), r.Column.Name, r.Rule, err)
		}
		if a.Len() != int(rec.NumRows()) || !arrow.TypeEqual(a.DataType(), cols[r.Index].DataType()) {
			a.Release()
			return nil, fmt.Errorf("transform %s.%s (%s): returned %d values of %s for %d of %s",
				t.Name.String(), r.Column.Name, r.Rule, a.Len(), a.DataType(), rec.NumRows(), cols[r.Index].DataType())
		}
		made = append(made, a)
		cols[r.Index] = a
	}
	return array.NewRecord(rec.Schema(), cols, rec.NumRows()), nil
}
