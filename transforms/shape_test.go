package transforms

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/schemas/pgdate"
)

// shapeRegistry holds the shape family, null, and shape_upper (a text rule that upper-cases,
// unkeyed), for rules made of other rules. It is built fresh, so it does not depend on what
// Default registers.
func shapeRegistry() *Registry {
	r := NewRegistry()
	for _, e := range []Entry{
		{Name: "null", New: newNull},
		{Name: "numeric_noise", New: newNumericNoise},
		{Name: "random_range", New: newRandomRange},
		{Name: "round", New: newRound},
		{Name: "date_noise", New: newDateNoise},
		{Name: "truncate", New: newTruncate},
		{Name: "birthdate", New: newBirthdate},
		{Name: "weighted_choice", New: newWeightedChoice},
		{Name: "dictionary", New: newDictionary},
		{Name: "template", New: newTemplate},
		{Name: "json", New: newJSON},
		{Name: "array", New: newArray},
		{Name: "hash", New: newHash},
		{Name: "shape_upper", New: func(env Env) (Transformer, error) {
			if err := env.Params.Decode(&struct{}{}); err != nil {
				return nil, err
			}
			return TextBatch(shapeUpper{}, env.Column), nil
		}},
	} {
		r.Register(e)
	}
	return r
}

type shapeUpper struct{}

func (shapeUpper) Subkey() []byte { return nil }
func (shapeUpper) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	return append(dst, bytes.ToUpper(in)...), nil
}

// shapeNew builds a rule through shapeRegistry, failing the test on error.
func shapeNew(t testing.TB, name string, col Column, key *Key, p Params) Transformer {
	t.Helper()
	tr, err := shapeRegistry().New(name, Env{Column: col, Key: key, Params: p})
	if err != nil {
		t.Fatalf("%s on %s: %v", name, col.TypeName, err)
	}
	return tr
}

// shapeErr builds a rule that must fail, and returns the message.
func shapeErr(t *testing.T, name string, col Column, key *Key, p string) string {
	t.Helper()
	_, err := shapeRegistry().New(name, Env{Column: col, Key: key, Params: params(t, p)})
	if err == nil {
		t.Fatalf("%s %s on %s accepted", name, p, col.TypeName)
	}
	return err.Error()
}

func shapeCol(typeName string, oid uint32) Column {
	return Column{Table: "public.t", Name: "c", TypeName: typeName, BaseOID: oid, Typmod: -1}
}

// Columns of each native kind, and the Arrow type the pipeline decodes them to.
var (
	shapeInt2Col    = shapeCol("smallint", pgtype.Int2OID)
	shapeInt4Col    = shapeCol("integer", pgtype.Int4OID)
	shapeInt8Col    = shapeCol("bigint", pgtype.Int8OID)
	shapeFloat4Col  = shapeCol("real", pgtype.Float4OID)
	shapeFloat8Col  = shapeCol("double precision", pgtype.Float8OID)
	shapeNumericCol = shapeCol("numeric", pgtype.NumericOID)
	shapeDateCol    = shapeCol("date", pgtype.DateOID)
	shapeTSCol      = shapeCol("timestamp without time zone", pgtype.TimestampOID)
	shapeTSTZCol    = shapeCol("timestamp with time zone", pgtype.TimestamptzOID)
	shapeTextCol    = shapeCol("text", pgtype.TextOID)

	shapeTSType   = &arrow.TimestampType{Unit: arrow.Microsecond}
	shapeTSTZType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

func shapeNumericTypmodCol(p, s int) Column {
	c := shapeCol(fmt.Sprintf("numeric(%d,%d)", p, s), pgtype.NumericOID)
	c.Typmod = int32(p<<16|s&0x7ff) + 4
	return c
}

// shapeArray builds an array of dt from Go values (nil = NULL): int64 for integers, float64
// for floats, string for String/Binary, int64 days or µs for dates and timestamps.
func shapeArray(mem memory.Allocator, dt arrow.DataType, vals []any) arrow.Array {
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
			continue
		}
		switch b := b.(type) {
		case *array.Int16Builder:
			b.Append(int16(v.(int64)))
		case *array.Int32Builder:
			b.Append(int32(v.(int64)))
		case *array.Int64Builder:
			b.Append(v.(int64))
		case *array.Float32Builder:
			b.Append(float32(v.(float64)))
		case *array.Float64Builder:
			b.Append(v.(float64))
		case *array.Date32Builder:
			b.Append(arrow.Date32(v.(int64)))
		case *array.TimestampBuilder:
			b.Append(arrow.Timestamp(v.(int64)))
		case *array.StringBuilder:
			b.Append(v.(string))
		case *array.BinaryBuilder:
			b.Append([]byte(v.(string)))
		default:
			panic(fmt.Sprintf("shapeArray: %T", b))
		}
	}
	return b.NewArray()
}

// shapeValues reads an array back as Go values (nil = NULL), the way shapeArray takes them.
func shapeValues(a arrow.Array) []any {
	out := make([]any, a.Len())
	for i := range out {
		if a.IsNull(i) {
			continue
		}
		switch a := a.(type) {
		case *array.Int16:
			out[i] = int64(a.Value(i))
		case *array.Int32:
			out[i] = int64(a.Value(i))
		case *array.Int64:
			out[i] = a.Value(i)
		case *array.Float32:
			out[i] = float64(a.Value(i))
		case *array.Float64:
			out[i] = a.Value(i)
		case *array.Date32:
			out[i] = int64(a.Value(i))
		case *array.Timestamp:
			out[i] = int64(a.Value(i))
		case *array.String:
			out[i] = a.Value(i)
		case *array.Binary:
			out[i] = string(a.Value(i))
		default:
			panic(fmt.Sprintf("shapeValues: %T", a))
		}
	}
	return out
}

// shapeRec builds a record of named columns.
func shapeRec(names []string, cols []arrow.Array) arrow.Record {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: names[i], Type: c.DataType(), Nullable: true}
	}
	n := 0
	if len(cols) > 0 {
		n = cols[0].Len()
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(n))
}

// shapeRun transforms one column of values of Arrow type dt and returns the output values,
// checking the output's type and length.
func shapeRun(t testing.TB, tr Transformer, mem memory.Allocator, dt arrow.DataType, vals []any) []any {
	t.Helper()
	a := shapeArray(mem, dt, vals)
	rec := shapeRec([]string{"c"}, []arrow.Array{a})
	a.Release()
	defer rec.Release()
	out, err := tr.Transform(rec, 0, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.Len() != len(vals) || !arrow.TypeEqual(out.DataType(), dt) {
		t.Fatalf("output has %d values of %s, want %d of %s", out.Len(), out.DataType(), len(vals), dt)
	}
	return shapeValues(out)
}

// shapeRunErr is shapeRun for a transform that must fail.
func shapeRunErr(t testing.TB, tr Transformer, mem memory.Allocator, dt arrow.DataType, vals []any) error {
	t.Helper()
	a := shapeArray(mem, dt, vals)
	rec := shapeRec([]string{"c"}, []arrow.Array{a})
	a.Release()
	defer rec.Release()
	out, err := tr.Transform(rec, 0, mem)
	if err == nil {
		out.Release()
		t.Fatal("transform succeeded")
	}
	return err
}

func shapeDay(s string) int64 {
	tm, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return tm.Unix() / 86400
}

func shapeMicrosOf(s string) int64 {
	tm, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return tm.UnixMicro()
}

func shapeDateString(days int64) string {
	y, m, d := pgdate.Civil(days)
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

// shapeBench measures a rule over a batch of 8192 values, reporting ns/value.
func shapeBench(b *testing.B, tr Transformer, dt arrow.DataType, vals []any) {
	mem := memory.NewGoAllocator()
	a := shapeArray(mem, dt, vals)
	rec := shapeRec([]string{"c"}, []arrow.Array{a})
	a.Release()
	defer rec.Release()
	shapeBenchRec(b, tr, rec, 0)
}

func shapeBenchRec(b *testing.B, tr Transformer, rec arrow.Record, col int) {
	mem := memory.NewGoAllocator()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := tr.Transform(rec, col, mem)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*int(rec.NumRows())), "ns/value")
}

func TestShapeDiscriminator(t *testing.T) {
	d := bytes.Repeat([]byte{0xff}, 32)
	if got := string(shapeAppendDiscriminator(nil, d, 20)); got != strings.Repeat("7", 20) {
		t.Errorf("all-ones digest: %q", got)
	}
	if got := string(shapeAppendDiscriminator(nil, make([]byte, 32), 12)); got != strings.Repeat("a", 12) {
		t.Errorf("zero digest: %q", got)
	}
	if got := string(shapeAppendDiscriminator(nil, []byte{0x08, 0x42, 0, 0, 0, 0, 0, 0}, 3)); got != "bbb" {
		t.Errorf("got %q, want bbb", got)
	}
}
