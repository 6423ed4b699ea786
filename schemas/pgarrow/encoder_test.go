package pgarrow

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestEncodeSlices: a transformer may hand back any array of the field's type, including slices
// with an offset and nulls. Each column of a decoded batch is replaced by a slice of a bigger
// array built independently; the encoded stream must be the one those values describe.
func TestEncodeSlices(t *testing.T) {
	mem := checkedMem(t)
	cols := allTypesColumns(true)
	const rows = 40
	data := allTypesStream(rows)
	recs, err := decodeAll(t, data, cols, mem, DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(recs)
	rec := recs[0]

	// Rebuild every column with 3 junk rows before and after, then slice them away.
	arrs := make([]arrow.Array, len(cols))
	for i := range cols {
		padded := padColumn(t, mem, rec.Column(i), 3)
		arrs[i] = array.NewSlice(padded, 3, int64(3+rows))
		padded.Release()
	}
	sliced := array.NewRecord(rec.Schema(), arrs, rows)
	for _, a := range arrs {
		a.Release()
	}
	defer sliced.Release()
	if sliced.Column(0).Data().Offset() != 3 {
		t.Fatalf("slice offset %d, want 3", sliced.Column(0).Data().Offset())
	}
	out, err := encodeAll(cols, []arrow.Record{sliced})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, data) {
		t.Errorf("encoding sliced arrays changed the stream")
	}

	// Record-level slices, one row at a time, across several Writes.
	var buf bytes.Buffer
	e := NewEncoder(&buf, cols)
	for i := int64(0); i < rows; i++ {
		one := rec.NewSlice(i, i+1)
		err := e.Write(one)
		one.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("encoding one-row slices changed the stream")
	}
}

// padColumn returns a with pad values of other rows before and after it, so that reading the
// slice without its offset would give wrong values.
func padColumn(t *testing.T, mem memory.Allocator, a arrow.Array, pad int) arrow.Array {
	t.Helper()
	before := array.NewSlice(a, 5, int64(5+pad))
	defer before.Release()
	after := array.NewSlice(a, 1, int64(1+pad))
	defer after.Release()
	out, err := array.Concatenate([]arrow.Array{before, a, after}, mem)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEncodeTransformed builds batches the way a transformer would (from scratch, with nulls)
// and checks the encoded stream decodes back to the same values, through several Writes.
func TestEncodeTransformed(t *testing.T) {
	mem := checkedMem(t)
	cols := []Column{
		{Name: "id", TypeOID: pgtype.Int8OID, TypeName: "bigint", Native: true},
		{Name: "email", TypeOID: pgtype.VarcharOID, TypeName: "character varying(100)", Native: true},
		{Name: "balance", TypeOID: pgtype.NumericOID, TypeName: "numeric(12,2)", Native: true},
		{Name: "born", TypeOID: pgtype.DateOID, TypeName: "date", Native: true},
		{Name: "seen", TypeOID: pgtype.TimestamptzOID, TypeName: "timestamp with time zone", Native: true},
	}
	schema := Schema(cols)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"a@example.com", "", ""}, []bool{true, true, false})
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"12.50", " -1e2 ", "NaN"}, nil)
	b.Field(3).(*array.Date32Builder).AppendValues([]arrow.Date32{0, math.MaxInt32, math.MinInt32}, nil)
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{pgEpochMicros, 0, math.MaxInt64}, []bool{true, false, true})
	rec := b.NewRecord()
	defer rec.Release()

	var buf bytes.Buffer
	e := NewEncoder(&buf, cols)
	for i := 0; i < 2; i++ {
		if err := e.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := newStream()
	for i := 0; i < 2; i++ {
		want.row(be64(1), []byte("a@example.com"), num(0, numPos, 2, 12, 5000), be32(-pgEpochDays), be64(0))
		want.row(be64(2), []byte(""), num(0, numNeg, 0, 100), be32(math.MaxInt32), nil)
		want.row(be64(3), nil, num(0, numNaN, 0), be32(math.MinInt32), be64(math.MaxInt64))
	}
	if !bytes.Equal(buf.Bytes(), want.end()) {
		t.Errorf("got  %x\nwant %x", buf.Bytes(), want.end())
	}
}

func TestEncodeErrors(t *testing.T) {
	mem := checkedMem(t)
	cols := []Column{
		{Name: "n", TypeOID: pgtype.NumericOID, TypeName: "numeric", Native: true},
		{Name: "d", TypeOID: pgtype.DateOID, TypeName: "date", Native: true},
	}
	build := func(n string, d arrow.Date32) arrow.Record {
		b := array.NewRecordBuilder(mem, Schema(cols))
		defer b.Release()
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"1", n}, nil)
		b.Field(1).(*array.Date32Builder).AppendValues([]arrow.Date32{0, d}, nil)
		return b.NewRecord()
	}
	tests := []struct {
		name   string
		rec    func() arrow.Record
		row    int64
		column string
		msg    string
	}{
		{"numeric text", func() arrow.Record { return build("12,5", 0) }, 2, "n", "numeric text of 4 bytes: invalid numeric text"},
		{"numeric overflow", func() arrow.Record { return build("1e200000", 0) }, 2, "n", "out of range"},
		{"date", func() arrow.Record { return build("1", math.MinInt32+1) }, 2, "d", "beyond the range PostgreSQL dates can hold"},
		{"column count", func() arrow.Record {
			r := build("1", 0)
			defer r.Release()
			s := array.NewRecord(arrow.NewSchema(r.Schema().Fields()[:1], nil), r.Columns()[:1], r.NumRows())
			return s
		}, 0, "", "batch has 1 columns, want 2"},
		{"column type", func() arrow.Record {
			b := array.NewInt32Builder(mem)
			defer b.Release()
			b.AppendValues([]int32{1, 2}, nil)
			n := b.NewArray()
			defer n.Release()
			r := build("1", 0)
			defer r.Release()
			fs := r.Schema().Fields()
			fs[1] = arrow.Field{Name: "d", Type: arrow.PrimitiveTypes.Int32}
			return array.NewRecord(arrow.NewSchema(fs, nil), []arrow.Array{r.Column(0), n}, 2)
		}, 0, "d", "batch column is int32, want date32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.rec()
			defer rec.Release()
			var buf bytes.Buffer
			e := NewEncoder(&buf, cols)
			err := e.Write(rec)
			if err == nil {
				t.Fatal("no error")
			}
			pe := asError(t, err)
			if pe.Row != tc.row || pe.Column != tc.column || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %q (row %d, column %q), want row %d, column %q, containing %q", err, pe.Row, pe.Column, tc.row, tc.column, tc.msg)
			}
			if err2 := e.Close(); err2 != err {
				t.Errorf("Close after error: %v, want %v", err2, err)
			}
		})
	}
}

type failWriter struct{ err error }

func (w failWriter) Write(p []byte) (int, error) { return 0, w.err }

func TestEncodeWriterError(t *testing.T) {
	boom := errors.New("broken pipe")
	e := NewEncoder(failWriter{boom}, nil)
	if err := e.Close(); !errors.Is(err, boom) {
		t.Errorf("Close: %v, want %v", err, boom)
	}
	var buf bytes.Buffer
	e = NewEncoder(&buf, nil)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	rec := array.NewRecord(arrow.NewSchema(nil, nil), nil, 1)
	defer rec.Release()
	if err := e.Write(rec); err == nil {
		t.Errorf("Write after Close succeeded")
	}
}
