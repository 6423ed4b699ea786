package pgarrow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/jackc/pgx/v5/pgtype"
)

func mustHex(s string) []byte {
	var b []byte
	if _, err := fmt.Sscanf(s, "%x", &b); err != nil {
		panic(err)
	}
	return b
}

// typeCases hold, per native type, wire values and the Arrow values they decode to. The
// numeric, date, timestamp, uuid and jsonb wire values were taken from PostgreSQL 15
// (numeric_send, date_send, ...).
var typeCases = []struct {
	name   string
	col    Column
	typ    arrow.DataType
	fields [][]byte // nil is NULL
	want   []any    // nil is NULL
}{
	{
		name:   "bool",
		col:    Column{TypeOID: pgtype.BoolOID, TypeName: "boolean"},
		typ:    arrow.FixedWidthTypes.Boolean,
		fields: [][]byte{{1}, {0}, nil},
		want:   []any{true, false, nil},
	},
	{
		name:   "int2",
		col:    Column{TypeOID: pgtype.Int2OID, TypeName: "smallint"},
		typ:    arrow.PrimitiveTypes.Int16,
		fields: [][]byte{be16(0), be16(-1), be16(math.MaxInt16), be16(math.MinInt16), nil},
		want:   []any{int16(0), int16(-1), int16(math.MaxInt16), int16(math.MinInt16), nil},
	},
	{
		name:   "int4",
		col:    Column{TypeOID: pgtype.Int4OID, TypeName: "integer"},
		typ:    arrow.PrimitiveTypes.Int32,
		fields: [][]byte{be32(0), be32(-1), be32(math.MaxInt32), be32(math.MinInt32), nil},
		want:   []any{int32(0), int32(-1), int32(math.MaxInt32), int32(math.MinInt32), nil},
	},
	{
		name:   "int8",
		col:    Column{TypeOID: pgtype.Int8OID, TypeName: "bigint"},
		typ:    arrow.PrimitiveTypes.Int64,
		fields: [][]byte{be64(0), be64(-1), be64(math.MaxInt64), be64(math.MinInt64), nil},
		want:   []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), nil},
	},
	{
		name:   "oid",
		col:    Column{TypeOID: pgtype.OIDOID, TypeName: "oid"},
		typ:    arrow.PrimitiveTypes.Uint32,
		fields: [][]byte{be32(0), be32(-1), nil},
		want:   []any{uint32(0), uint32(math.MaxUint32), nil},
	},
	{
		name: "float4",
		col:  Column{TypeOID: pgtype.Float4OID, TypeName: "real"},
		typ:  arrow.PrimitiveTypes.Float32,
		fields: [][]byte{f32(1.5), f32(float32(math.NaN())), f32(float32(math.Inf(1))), f32(float32(math.Inf(-1))),
			f32(float32(math.Copysign(0, -1))), be32(1), be32(0x7FC00001), nil},
		want: []any{bits32(math.Float32bits(1.5)), bits32(math.Float32bits(float32(math.NaN()))), bits32(0x7F800000), bits32(0xFF800000),
			bits32(0x80000000), bits32(1), bits32(0x7FC00001), nil},
	},
	{
		name: "float8",
		col:  Column{TypeOID: pgtype.Float8OID, TypeName: "double precision"},
		typ:  arrow.PrimitiveTypes.Float64,
		fields: [][]byte{f64(1.5), f64(math.NaN()), f64(math.Inf(1)), f64(math.Inf(-1)), f64(math.Copysign(0, -1)),
			be64(1), be64(0x7FF8000000000ABC), f64(math.MaxFloat64), nil},
		want: []any{bits64(math.Float64bits(1.5)), bits64(math.Float64bits(math.NaN())), bits64(0x7FF0000000000000), bits64(0xFFF0000000000000),
			bits64(0x8000000000000000), bits64(1), bits64(0x7FF8000000000ABC), bits64(math.Float64bits(math.MaxFloat64)), nil},
	},
	{
		name:   "text",
		col:    Column{TypeOID: pgtype.TextOID, TypeName: "text"},
		typ:    arrow.BinaryTypes.String,
		fields: [][]byte{[]byte(""), []byte("héllo ☃ 🎉"), []byte("line\nbreak\ttab\\"), nil},
		want:   []any{"", "héllo ☃ 🎉", "line\nbreak\ttab\\", nil},
	},
	{
		name:   "varchar",
		col:    Column{TypeOID: pgtype.VarcharOID, TypeName: "character varying(50)"},
		typ:    arrow.BinaryTypes.String,
		fields: [][]byte{[]byte("abc"), []byte(""), nil},
		want:   []any{"abc", "", nil},
	},
	{
		name:   "bpchar keeps padding",
		col:    Column{TypeOID: pgtype.BPCharOID, TypeName: "character(5)"},
		typ:    arrow.BinaryTypes.String,
		fields: [][]byte{[]byte("ab   "), []byte("     "), nil},
		want:   []any{"ab   ", "     ", nil},
	},
	{
		name:   "name",
		col:    Column{TypeOID: pgtype.NameOID, TypeName: "name"},
		typ:    arrow.BinaryTypes.String,
		fields: [][]byte{[]byte("pg_catalog"), nil},
		want:   []any{"pg_catalog", nil},
	},
	{
		name:   "bytea",
		col:    Column{TypeOID: pgtype.ByteaOID, TypeName: "bytea"},
		typ:    arrow.BinaryTypes.Binary,
		fields: [][]byte{{}, {0, 0xFF, '\\'}, nil},
		want:   []any{"", "\x00\xff\\", nil},
	},
	{
		name:   "uuid",
		col:    Column{TypeOID: pgtype.UUIDOID, TypeName: "uuid"},
		typ:    uuidType,
		fields: [][]byte{mustHex("a0eebc999c0b4ef8bb6d6bb9bd380a11"), make([]byte, 16), nil},
		want:   []any{string(mustHex("a0eebc999c0b4ef8bb6d6bb9bd380a11")), string(make([]byte, 16)), nil},
	},
	{
		name: "date",
		col:  Column{TypeOID: pgtype.DateOID, TypeName: "date"},
		typ:  arrow.FixedWidthTypes.Date32,
		fields: [][]byte{be32(0), be32(-pgEpochDays), be32(2145031948) /* 5874897-12-31 */, be32(-2451507), /* 4713-01-01 BC */
			be32(math.MaxInt32), be32(math.MinInt32), be32(math.MaxInt32 - pgEpochDays - 1), nil},
		want: []any{arrow.Date32(10957), arrow.Date32(0), arrow.Date32(2145031948 + 10957), arrow.Date32(-2451507 + 10957),
			arrow.Date32(math.MaxInt32), arrow.Date32(math.MinInt32), arrow.Date32(math.MaxInt32 - 1), nil},
	},
	{
		name: "timestamp",
		col:  Column{TypeOID: pgtype.TimestampOID, TypeName: "timestamp without time zone"},
		typ:  timestampType,
		fields: [][]byte{be64(0), be64(-pgEpochMicros), mustHex("fd0f7fbdaf17e000") /* 4713-01-01 BC */, be64(math.MaxInt64), be64(math.MinInt64),
			be64(math.MaxInt64 - pgEpochMicros - 1), be64(math.MinInt64 + 1), nil},
		want: []any{arrow.Timestamp(pgEpochMicros), arrow.Timestamp(0), arrow.Timestamp(-210863520000000000) /* -2440550 days */, arrow.Timestamp(math.MaxInt64), arrow.Timestamp(math.MinInt64),
			arrow.Timestamp(math.MaxInt64 - 1), arrow.Timestamp(math.MinInt64 + 1 + pgEpochMicros), nil},
	},
	{
		name:   "timestamptz",
		col:    Column{TypeOID: pgtype.TimestamptzOID, TypeName: "timestamp with time zone"},
		typ:    timestamptzType,
		fields: [][]byte{be64(1), be64(math.MaxInt64), be64(math.MinInt64), nil},
		want:   []any{arrow.Timestamp(pgEpochMicros + 1), arrow.Timestamp(math.MaxInt64), arrow.Timestamp(math.MinInt64), nil},
	},
	{
		name:   "time",
		col:    Column{TypeOID: pgtype.TimeOID, TypeName: "time without time zone"},
		typ:    arrow.FixedWidthTypes.Time64us,
		fields: [][]byte{be64(0), be64(86400000000), be64(45296789012), nil},
		want:   []any{arrow.Time64(0), arrow.Time64(86400000000), arrow.Time64(45296789012), nil},
	},
	{
		name:   "json",
		col:    Column{TypeOID: pgtype.JSONOID, TypeName: "json"},
		typ:    arrow.BinaryTypes.String,
		fields: [][]byte{[]byte(`{"a" : [1,2]}`), []byte(`"☃"`), nil},
		want:   []any{`{"a" : [1,2]}`, `"☃"`, nil},
	},
	{
		name:   "jsonb",
		col:    Column{TypeOID: pgtype.JSONBOID, TypeName: "jsonb"},
		typ:    arrow.BinaryTypes.String,
		fields: [][]byte{mustHex("017b2261223a205b312c20325d7d"), []byte("\x01"), []byte("\x01null"), nil},
		want:   []any{`{"a": [1, 2]}`, "", "null", nil},
	},
	{
		name: "numeric",
		col:  Column{TypeOID: pgtype.NumericOID, TypeName: "numeric"},
		typ:  arrow.BinaryTypes.String,
		fields: [][]byte{
			num(0, numNaN, 0), num(0, numPInf, 32), num(0, numNInf, 32), num(0, numPos, 0), num(0, numPos, 3),
			mustHex("0001fffb000000140001"), mustHex("0002000000000004000c0d48"), num(0, numNeg, 0, 1),
			num(1, numPos, 0, 1), num(-1, numPos, 4, 1), num(0, numPos, 0, 1500), num(-1, numNeg, 1, 5000),
			mustHex("000b000700000009000c0d801ed204d2162e23340d801ed204d2162e2328"), num(2, numPos, 0, 1),
			num(0, numPos, 2, 12, 3400), num(-3, numPos, 18, 7, 1200), num(0, numPos, 6, 9999, 9999, 9900), nil,
		},
		want: []any{
			"NaN", "Infinity", "-Infinity", "0", "0.000",
			"0.00000000000000000001", "12.3400", "-1",
			"10000", "0.0001", "1500", "-0.5",
			"123456789012345678901234567890.123456789", "100000000",
			"12.34", "0.000000000007120000", "9999.999999", nil,
		},
	},
	{
		name:   "domain over int4",
		col:    Column{TypeOID: 99999, BaseOID: pgtype.Int4OID, TypeName: "posint"},
		typ:    arrow.PrimitiveTypes.Int32,
		fields: [][]byte{be32(7), nil},
		want:   []any{int32(7), nil},
	},
	{
		name:   "interval stays raw",
		col:    Column{TypeOID: 1186, TypeName: "interval"},
		typ:    arrow.BinaryTypes.Binary,
		fields: [][]byte{mustHex("00000000000f42400000000100000002"), nil},
		want:   []any{string(mustHex("00000000000f42400000000100000002")), nil},
	},
}

// TestTypes decodes every native type, edge values and NULL included, checks the Arrow type and
// values, and encodes back to the same bytes; then does the same with the column carried raw.
func TestTypes(t *testing.T) {
	for _, tc := range typeCases {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedMem(t)
			s := newStream()
			for _, f := range tc.fields {
				s.row(f)
			}
			data := s.end()

			col := tc.col
			col.Name = "c"
			col.Native = true
			recs := roundTrip(t, data, []Column{col}, mem, DecoderOptions{})
			defer releaseAll(recs)
			if len(recs) != 1 {
				t.Fatalf("got %d batches, want 1", len(recs))
			}
			arr := recs[0].Column(0)
			if !arrow.TypeEqual(arr.DataType(), tc.typ) {
				t.Fatalf("type %s, want %s", arr.DataType(), tc.typ)
			}
			if arr.Len() != len(tc.want) {
				t.Fatalf("%d values, want %d", arr.Len(), len(tc.want))
			}
			for i, want := range tc.want {
				if got := valueAt(t, arr, i); got != want {
					t.Errorf("row %d: got %#v, want %#v", i+1, got, want)
				}
			}

			col.Native = false
			raw := roundTrip(t, data, []Column{col}, mem, DecoderOptions{})
			defer releaseAll(raw)
			rarr := raw[0].Column(0).(*array.Binary)
			for i, f := range tc.fields {
				if (f == nil) != rarr.IsNull(i) || !bytes.Equal(rarr.Value(i), f) {
					t.Errorf("raw row %d: got %x (null %v), want %x", i+1, rarr.Value(i), rarr.IsNull(i), f)
				}
			}
		})
	}
}

// allTypesColumns is one column of each type in typeCases.
func allTypesColumns(native bool) []Column {
	cols := make([]Column, len(typeCases))
	for i, tc := range typeCases {
		cols[i] = tc.col
		cols[i].Name = fmt.Sprintf("c%d_%s", i, strings.ReplaceAll(tc.name, " ", "_"))
		cols[i].Native = native
	}
	return cols
}

// allTypesStream has rows of every type at once: row r takes value r (cycling) of each type.
func allTypesStream(rows int) []byte {
	s := newStream()
	fields := make([][]byte, len(typeCases))
	for r := 0; r < rows; r++ {
		for i, tc := range typeCases {
			fields[i] = tc.fields[r%len(tc.fields)]
		}
		s.row(fields...)
	}
	return s.end()
}

func TestBatchSplitting(t *testing.T) {
	text := Column{Name: "t", TypeOID: pgtype.TextOID, TypeName: "text", Native: true}
	id := Column{Name: "id", TypeOID: pgtype.Int4OID, TypeName: "integer", Native: true}
	s := newStream()
	for i := 0; i < 10; i++ {
		s.row(be32(int32(i)), []byte("abcd"))
	}
	data := s.end()

	tests := []struct {
		name string
		opts DecoderOptions
		want []int64 // rows per batch
	}{
		{"defaults", DecoderOptions{}, []int64{10}},
		{"by rows", DecoderOptions{BatchRows: 3}, []int64{3, 3, 3, 1}},
		{"rows divide evenly", DecoderOptions{BatchRows: 5}, []int64{5, 5}},
		{"one row each", DecoderOptions{BatchRows: 1}, []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		// 8 bytes a row: a batch ends once it holds 20.
		{"by bytes", DecoderOptions{BatchBytes: 20}, []int64{3, 3, 3, 1}},
		{"row bigger than the limit", DecoderOptions{BatchBytes: 1}, []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{"rows first", DecoderOptions{BatchRows: 2, BatchBytes: 20}, []int64{2, 2, 2, 2, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedMem(t)
			recs := roundTrip(t, data, []Column{id, text}, mem, tc.opts)
			defer releaseAll(recs)
			var got []int64
			next := int32(0)
			for _, r := range recs {
				got = append(got, r.NumRows())
				ids := r.Column(0).(*array.Int32)
				for i := 0; i < ids.Len(); i++ {
					if ids.Value(i) != next {
						t.Errorf("id %d, want %d", ids.Value(i), next)
					}
					next++
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("batch sizes %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAllTypesTogether runs rows holding every type through small batches, fed a byte at a time
// and in uneven chunks, so values straddle buffer refills.
func TestAllTypesTogether(t *testing.T) {
	data := allTypesStream(100)
	readers := map[string]func([]byte) io.Reader{
		"whole":    func(b []byte) io.Reader { return bytes.NewReader(b) },
		"one byte": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"half":     func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"data+EOF": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
	}
	for _, native := range []bool{true, false} {
		for name, mk := range readers {
			t.Run(fmt.Sprintf("native=%v/%s", native, name), func(t *testing.T) {
				mem := checkedMem(t)
				cols := allTypesColumns(native)
				d := NewDecoder(mk(data), cols, mem, DecoderOptions{BatchRows: 7})
				var buf bytes.Buffer
				e := NewEncoder(&buf, cols)
				for {
					rec, err := d.Read()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					err = e.Write(rec)
					rec.Release()
					if err != nil {
						t.Fatal(err)
					}
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if d.Rows() != 100 || e.Rows() != 100 {
					t.Errorf("decoded %d rows, encoded %d, want 100", d.Rows(), e.Rows())
				}
				if !bytes.Equal(buf.Bytes(), data) {
					t.Errorf("round trip changed the stream")
				}
				if _, err := d.Read(); err != io.EOF {
					t.Errorf("Read after EOF: %v, want io.EOF", err)
				}
			})
		}
	}
}

// TestLargeValues carries values larger than the I/O buffer (and than the encoder's direct-write
// threshold) in every variable-length column type.
func TestLargeValues(t *testing.T) {
	mem := checkedMem(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	cols := []Column{
		{Name: "t", TypeOID: pgtype.TextOID, TypeName: "text", Native: true},
		{Name: "b", TypeOID: pgtype.ByteaOID, TypeName: "bytea", Native: true},
		{Name: "j", TypeOID: pgtype.JSONBOID, TypeName: "jsonb", Native: true},
		{Name: "r", TypeOID: 1186, TypeName: "interval", Native: false},
		{Name: "n", TypeOID: pgtype.NumericOID, TypeName: "numeric", Native: true},
	}
	nines := make([]int16, 2000)
	for i := range nines {
		nines[i] = 9999
	}
	bigNum := num(1999, numPos, 0, nines...)
	data := newStream().
		row(big, big, append([]byte{1}, big...), big, bigNum).
		row([]byte("x"), nil, []byte("\x01{}"), nil, nil).
		row(big[:bigValue], big[:bigValue-1], append([]byte{1}, big[:bigValue-1]...), big[:bigValue+1], num(0, numPos, 0, 1)).
		end()
	for _, r := range []func([]byte) io.Reader{
		func(b []byte) io.Reader { return bytes.NewReader(b) },
		func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
	} {
		d := NewDecoder(r(data), cols, mem, DecoderOptions{BatchBytes: 1})
		var recs []arrow.Record
		for {
			rec, err := d.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
		if got := recs[0].Column(0).(*array.String).Value(0); got != string(big) {
			t.Errorf("1 MiB text came back %d bytes", len(got))
		}
		if got := recs[0].Column(4).(*array.String).Value(0); got != strings.Repeat("9", 8000) {
			t.Errorf("8000-digit numeric came back %d bytes", len(got))
		}
		out, err := encodeAll(cols, recs)
		releaseAll(recs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, data) {
			t.Errorf("round trip changed the stream")
		}
	}
}

func TestEmptyStreams(t *testing.T) {
	mem := checkedMem(t)
	cols := []Column{{Name: "a", TypeOID: pgtype.Int4OID, Native: true}}
	// No rows: header and trailer only, as the Encoder writes them on Close alone.
	var buf bytes.Buffer
	if err := NewEncoder(&buf, cols).Close(); err != nil {
		t.Fatal(err)
	}
	if want := newStream().end(); !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("empty stream %x, want %x", buf.Bytes(), want)
	}
	recs := roundTrip(t, buf.Bytes(), cols, mem, DecoderOptions{})
	if len(recs) != 0 {
		t.Errorf("got %d batches from an empty table", len(recs))
	}
	releaseAll(recs)

	// A table without columns still has rows.
	data := newStream().row().row().row().end()
	recs = roundTrip(t, data, nil, mem, DecoderOptions{BatchRows: 2})
	if n := rowsOf(recs); n != 3 || len(recs) != 2 {
		t.Errorf("zero-column stream: %d rows in %d batches, want 3 in 2", n, len(recs))
	}
	releaseAll(recs)
}

func TestDecodeErrors(t *testing.T) {
	cols := []Column{
		{Name: "id", TypeOID: pgtype.Int4OID, TypeName: "integer", Native: true},
		{Name: "doc", TypeOID: pgtype.JSONBOID, TypeName: "jsonb", Native: true},
		{Name: "at", TypeOID: pgtype.TimestamptzOID, TypeName: "timestamp with time zone", Native: true},
	}
	good := newStream().row(be32(1), []byte("\x01{}"), be64(0)).row(be32(2), nil, nil).end()
	header := newStream().b
	row1 := newStream().row(be32(1), []byte("\x01{}"), be64(0)).b

	tests := []struct {
		name   string
		data   []byte
		row    int64
		column string
		msg    string
		native bool // the error needs native decoding; raw decoding accepts the stream
	}{
		{"empty", nil, 0, "", "stream ends inside the COPY header", false},
		{"short header", header[:12], 0, "", "stream ends inside the COPY header", false},
		{"bad signature", append([]byte("PGCOPY\n\xff\r\n\x01"), header[11:]...), 0, "", "bad signature", false},
		{"text COPY", []byte("1\t{}\t2000-01-01 00:00:00+00\n\\.\n"), 0, "", "bad signature", false},
		{"OIDs flag", append(append([]byte{}, header[:11]...), 0, 1, 0, 0, 0, 0, 0, 0), 0, "", "flags 0x00010000", false},
		{"header extension", append(append(append([]byte{}, header[:15]...), 0, 0, 0, 2), 'h', 'i'), 0, "", "header extension of 2 bytes", false},
		{"no rows, no trailer", header, 1, "", "without a trailer", false},
		{"no trailer", good[:len(good)-2], 3, "", "without a trailer", false},
		{"half trailer", good[:len(good)-1], 3, "", "without a trailer", false},
		{"ends in a length", row1[:len(row1)-10], 1, "at", "stream ends inside the field", false},
		{"ends in a value", row1[:len(row1)-3], 1, "at", "stream ends inside the field", false},
		{"too few fields", newStream().row(be32(1), nil).end(), 1, "", "row has 2 fields, want 3", false},
		{"too many fields", newStream().row(be32(1), nil, nil).row(be32(1), nil, nil, nil).end(), 2, "", "row has 4 fields, want 3", false},
		{"negative length", append(newStream().row(be32(1), nil, nil).b[:len(header)+2+8], 0xFF, 0xFF, 0xFF, 0xFE), 1, "doc", "field length -2 is not valid", false},
		{"data after trailer", append(good, 0), 0, "", "data after the COPY trailer", false},
		{"jsonb version", newStream().row(be32(1), []byte("\x02{}"), nil).end(), 1, "doc", "jsonb version 2", true},
		{"jsonb empty", newStream().row(be32(1), nil, nil).row(be32(1), []byte{}, nil).end(), 2, "doc", "no version byte", true},
		{"int4 length", newStream().row(be16(1), nil, nil).end(), 1, "id", "field is 2 bytes, want 4", true},
		{"timestamp overflow", newStream().row(nil, nil, be64(math.MaxInt64-1)).end(), 1, "at", "beyond the range Arrow timestamps can hold", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedMem(t)
			for _, native := range []bool{true, false} {
				cs := make([]Column, len(cols))
				for i, c := range cols {
					c.Native = native
					cs[i] = c
				}
				d := NewDecoder(bytes.NewReader(tc.data), cs, mem, DecoderOptions{BatchRows: 1})
				var err error
				for err == nil {
					var rec arrow.Record
					rec, err = d.Read()
					if rec != nil {
						rec.Release()
					}
				}
				if !native && tc.native {
					if err != io.EOF {
						t.Errorf("raw decode: %v, want io.EOF", err)
					}
					continue
				}
				if err == io.EOF {
					t.Fatalf("native=%v: decoded without error", native)
				}
				pe := asError(t, err)
				if pe.Row != tc.row || pe.Column != tc.column || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("native=%v: got %q (row %d, column %q), want row %d, column %q, message containing %q",
						native, err, pe.Row, pe.Column, tc.row, tc.column, tc.msg)
				}
				if tc.column != "" && !strings.Contains(err.Error(), fmt.Sprintf("column %q", tc.column)) {
					t.Errorf("message %q does not name column %q", err, tc.column)
				}
				if _, again := d.Read(); again != err {
					t.Errorf("second Read: %v, want the same error", again)
				}
			}
		})
	}
}

// TestDecodeRejectsWhatCannotRoundTrip: values that are well-formed for PostgreSQL but that
// would not come back out byte for byte are errors, not silent changes.
func TestDecodeRejectsWhatCannotRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		oid   uint32
		field []byte
		msg   string
	}{
		{"bool 2", pgtype.BoolOID, []byte{2}, "bool byte 0x02"},
		{"date on the infinity", pgtype.DateOID, be32(math.MaxInt32 - pgEpochDays), "beyond the range Arrow dates can hold"},
		{"timestamp on the infinity", pgtype.TimestampOID, be64(math.MaxInt64 - pgEpochMicros), "beyond the range"},
		{"numeric leading zero digit", pgtype.NumericOID, num(1, numPos, 0, 0, 1), "leading or trailing zero"},
		{"numeric trailing zero digit", pgtype.NumericOID, num(1, numPos, 0, 1, 0), "leading or trailing zero"},
		{"numeric negative zero", pgtype.NumericOID, num(0, numNeg, 3), "zero with weight 0, sign 0x4000"},
		{"numeric zero weight", pgtype.NumericOID, num(2, numPos, 0), "zero with weight 2"},
		{"numeric NaN dscale", pgtype.NumericOID, num(0, numNaN, 2), "NaN with 0 digits, weight 0, dscale 2"},
		{"numeric Infinity dscale 0", pgtype.NumericOID, num(0, numPInf, 0), "Infinity with 0 digits"},
		{"numeric hidden digits", pgtype.NumericOID, num(-1, numPos, 3, 1234), "digits below its dscale 3"},
		{"numeric bad digit", pgtype.NumericOID, num(0, numPos, 0, 10000), "digit 10000"},
		{"numeric bad sign", pgtype.NumericOID, num(0, 0x8000, 0, 1), "sign 0x8000"},
		{"numeric dscale", pgtype.NumericOID, num(0, numPos, 0x4000, 1), "dscale 16384"},
		{"numeric short", pgtype.NumericOID, []byte{0, 1, 0, 0, 0, 0, 0, 0}, "8 bytes but has 1 digits"},
		{"numeric tiny", pgtype.NumericOID, []byte{0, 0}, "2 bytes"},
		{"uuid length", pgtype.UUIDOID, make([]byte, 15), "field is 15 bytes, want 16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedMem(t)
			cols := []Column{{Name: "v", TypeOID: tc.oid, TypeName: "t", Native: true}}
			_, err := decodeAll(t, newStream().row(tc.field).end(), cols, mem, DecoderOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), `column "v"`) {
				t.Errorf("got %v, want an error naming column v and containing %q", err, tc.msg)
			}
			cols[0].Native = false
			recs := roundTrip(t, newStream().row(tc.field).end(), cols, mem, DecoderOptions{})
			releaseAll(recs)
		})
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestDecodeReadError(t *testing.T) {
	mem := checkedMem(t)
	boom := errors.New("connection reset")
	data := newStream().row(be32(1)).row(be32(2)).b
	cols := []Column{{Name: "id", TypeOID: pgtype.Int4OID, Native: true}}
	_, err := decodeAll(t, data, cols, mem, DecoderOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	d := NewDecoder(&failingReader{data: data, err: boom}, cols, mem, DecoderOptions{})
	if _, err := d.Read(); !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
}
