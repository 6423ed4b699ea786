package pgarrow

import (
	"bytes"
	"errors"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestWritePackedEqualsWrite: every native kind and the wire bytes, with NULLs, given column
// by column as a Parquet reader gives them, encode to the very stream they were decoded from.
func TestWritePackedEqualsWrite(t *testing.T) {
	for _, native := range []bool{true, false} {
		cols := allTypesColumns(native)
		const rows = 40
		data := allTypesStream(rows)
		recs, err := decodeAll(t, data, cols, checkedMem(t), DecoderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		e := NewEncoder(&buf, cols)
		for _, rec := range recs {
			packed := make([]Packed, rec.NumCols())
			for i, a := range rec.Columns() {
				packed[i] = packColumn(t, a)
			}
			if err := e.WritePacked(int(rec.NumRows()), packed); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		releaseAll(recs)
		if !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("native=%t: WritePacked wrote another stream than the one decoded", native)
		}
	}
}

// packColumn gives a's values in packed form, as Parquet stores them.
func packColumn(t *testing.T, a arrow.Array) Packed {
	var p Packed
	if a.NullN() > 0 {
		p.Defs = make([]int16, a.Len())
	}
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			continue
		}
		if p.Defs != nil {
			p.Defs[i] = 1
		}
		switch a := a.(type) {
		case *array.Boolean:
			p.Bool = append(p.Bool, a.Value(i))
		case *array.Int16:
			p.Int32 = append(p.Int32, int32(a.Value(i)))
		case *array.Int32:
			p.Int32 = append(p.Int32, a.Value(i))
		case *array.Uint32:
			p.Int32 = append(p.Int32, int32(a.Value(i)))
		case *array.Date32:
			p.Int32 = append(p.Int32, int32(a.Value(i)))
		case *array.Int64:
			p.Int64 = append(p.Int64, a.Value(i))
		case *array.Timestamp:
			p.Int64 = append(p.Int64, int64(a.Value(i)))
		case *array.Time64:
			p.Int64 = append(p.Int64, int64(a.Value(i)))
		case *array.Float32:
			p.Float32 = append(p.Float32, a.Value(i))
		case *array.Float64:
			p.Float64 = append(p.Float64, a.Value(i))
		case *array.String:
			p.Bytes = append(p.Bytes, []byte(a.Value(i)))
		case *array.Binary:
			p.Bytes = append(p.Bytes, a.Value(i))
		case *array.FixedSizeBinary:
			p.Bytes = append(p.Bytes, a.Value(i))
		default:
			t.Fatalf("no packed form for %s", a.DataType())
		}
	}
	return p
}

// Packed columns that do not add up, as a damaged part might give them, are an error naming
// the column, never a panic or a stream of wrong rows.
func TestWritePackedRefusesColumnsThatDoNotAddUp(t *testing.T) {
	cols := []Column{{Name: "id", TypeOID: pgtype.Int4OID, TypeName: "integer", Native: true},
		{Name: "name", TypeOID: pgtype.TextOID, TypeName: "text", Native: true}}
	cases := map[string][]Packed{
		"too few values":       {{Int32: []int32{1, 2, 3}}, {Bytes: [][]byte{[]byte("a")}}},
		"too few NULL flags":   {{Int32: []int32{1, 2, 3}}, {Defs: []int16{1}, Bytes: [][]byte{[]byte("a")}}},
		"values of wrong type": {{Int32: []int32{1, 2, 3}}, {Int64: []int64{1, 2, 3}}},
		"values not NULL-flagged": {{Int32: []int32{1, 2, 3}},
			{Defs: []int16{1, 0, 1}, Bytes: [][]byte{[]byte("a")}}},
	}
	for name, packed := range cases {
		var buf bytes.Buffer
		err := NewEncoder(&buf, cols).WritePacked(3, packed)
		var pe *Error
		if !errors.As(err, &pe) || pe.Column != "name" {
			t.Errorf("%s: got %v, want an error naming column name", name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes were written before the error", name, buf.Len())
		}
	}
}
