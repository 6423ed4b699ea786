package pipeline

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/pipeline/when"
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
// transformed copy at a time; a conditional rule adds, while it runs, one column's worth: its
// transformer's output, before it is merged into the batch.
//
// A scaled table (TablePlan.Copies > 1) writes each batch once per copy: copy i with its keys
// moved (remapBatch) and copy i's rules.
func TransformStream(r io.Reader, w io.Writer, t *TablePlan, opts RunOptions) error {
	cols := streamColumns(t)
	enc := pgarrow.NewEncoder(w, cols)
	err := transformBatches(r, cols, t, opts, func(out arrow.Record) error {
		err := enc.Write(out)
		out.Release()
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return enc.Close()
}

// transformBatches decodes the binary COPY stream r as cols and hands emit every copy of
// every batch with the table's rules applied; emit owns what it is given.
func transformBatches(r io.Reader, cols []pgarrow.Column, t *TablePlan, opts RunOptions, emit func(arrow.Record) error) error {
	dec := pgarrow.NewDecoder(r, cols, opts.Mem, pgarrow.DecoderOptions{BatchRows: opts.BatchRows, BatchBytes: opts.BatchBytes})
	for {
		rec, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		err = writeCopies(rec, emit, t, opts)
		rec.Release()
		if err != nil {
			return err
		}
	}
}

// writeCopies hands emit every copy of one batch.
func writeCopies(rec arrow.Record, emit func(arrow.Record) error, t *TablePlan, opts RunOptions) error {
	for i := 0; i < t.copies(); i++ {
		cur := rec
		if i == 0 {
			cur.Retain()
		} else {
			var err error
			if cur, err = t.remapBatch(rec, i, opts.Mem); err != nil {
				return err
			}
		}
		out, err := applyRules(rec, cur, t.Name.String(), t.rulesOf(i), opts)
		if err != nil {
			return err
		}
		if err := emit(out); err != nil {
			return err
		}
	}
	return nil
}

// applyRules returns cur with every ruled column replaced, and releases cur. Rules run in
// plan order; each sees the batch with the earlier rules' outputs in place, so a template
// reads the faked names, never the real ones. A rule's condition (ColumnRule.When), though,
// reads rec: the row as it arrived, before any rule ran (and before a scaled copy's keys
// moved).
func applyRules(rec, cur arrow.Record, table string, rules []ColumnRule, opts RunOptions) (arrow.Record, error) {
	var sel when.Selection
	for _, r := range rules {
		var a arrow.Array
		var err error
		if r.When == nil {
			a, err = r.Transformer.Transform(cur, r.Index, opts.Mem)
		} else {
			a, err = applyWhen(rec, cur, r, &sel, opts.Mem)
		}
		if err != nil {
			cur.Release()
			return nil, fmt.Errorf("transform %s.%s (%s): %w", table, r.Column.Name, r.Rule, err)
		}
		old := cur.Column(r.Index)
		if a.Len() != int(cur.NumRows()) || !arrow.TypeEqual(a.DataType(), old.DataType()) {
			a.Release()
			cur.Release()
			return nil, fmt.Errorf("transform %s.%s (%s): returned %d values of %s for %d of %s",
				table, r.Column.Name, r.Rule, a.Len(), a.DataType(), cur.NumRows(), old.DataType())
		}
		next := withColumn(cur, r.Index, a)
		a.Release()
		cur.Release()
		cur = next
	}
	return cur, nil
}

// withColumn returns rec with column i replaced by a; both stay the caller's to release.
func withColumn(rec arrow.Record, i int, a arrow.Array) arrow.Record {
	cols := make([]arrow.Array, rec.NumCols())
	copy(cols, rec.Columns())
	cols[i] = a
	return array.NewRecord(rec.Schema(), cols, rec.NumRows())
}

// applyWhen runs a conditional rule: it selects the rows of orig (the batch as it arrived)
// where the condition holds, hands the transformer cur with the column NULL in every other
// row, so it never reads (or fails on) a value it is not to rewrite, and returns the
// transformer's values in the selected rows and cur's own elsewhere. sel is scratch space
// kept between the rules of a batch.
func applyWhen(orig, cur arrow.Record, r ColumnRule, sel *when.Selection, mem memory.Allocator) (arrow.Array, error) {
	var err error
	if *sel, err = r.When.Select(orig, *sel); err != nil {
		return nil, fmt.Errorf("when: %w", err)
	}
	col := cur.Column(r.Index)
	switch sel.Count() {
	case 0:
		col.Retain()
		return col, nil
	case int(cur.NumRows()):
		return r.Transformer.Transform(cur, r.Index, mem)
	}
	masked := sel.Mask(mem, col)
	in := withColumn(cur, r.Index, masked)
	masked.Release()
	out, err := r.Transformer.Transform(in, r.Index, mem)
	in.Release()
	if err != nil {
		return nil, err
	}
	defer out.Release()
	if out.Len() != col.Len() || !arrow.TypeEqual(out.DataType(), col.DataType()) {
		return nil, fmt.Errorf("returned %d values of %s for %d of %s", out.Len(), out.DataType(), col.Len(), col.DataType())
	}
	return sel.Merge(mem, col, out)
}
