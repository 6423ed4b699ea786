package parquetpart_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// memWriter is a store.Writer over a bytes.Buffer that records how it ended.
type memWriter struct {
	bytes.Buffer
	closed, aborted bool
	failAfter       int   // fail the Write that would take the object past this many bytes; 0: never
	failErr         error // what it fails with
}

var _ store.Writer = (*memWriter)(nil)

func (w *memWriter) Write(p []byte) (int, error) {
	if w.closed || w.aborted {
		return 0, errors.New("memWriter: write after close")
	}
	if w.failAfter > 0 && w.Len()+len(p) > w.failAfter {
		n := w.failAfter - w.Len()
		w.Buffer.Write(p[:n])
		return n, w.failErr
	}
	return w.Buffer.Write(p)
}

func (w *memWriter) Close() error {
	if w.closed || w.aborted {
		return errors.New("memWriter: closed twice")
	}
	w.closed = true
	return nil
}

func (w *memWriter) Abort() error {
	if w.closed {
		return errors.New("memWriter: abort after close")
	}
	w.aborted = true
	return nil
}

// memStore hands out memWriters to WriteParts.
type memStore struct {
	writers []*memWriter
	// newWriter, when set, makes each writer (to inject faults).
	newWriter func(i int) (*memWriter, error)
}

func (s *memStore) next() (store.Writer, error) {
	w := &memWriter{}
	if s.newWriter != nil {
		var err error
		if w, err = s.newWriter(len(s.writers)); err != nil {
			return nil, err
		}
	}
	s.writers = append(s.writers, w)
	return w, nil
}

// checkedMem returns an allocator that fails the test if anything allocated from it is
// still held when the test ends.
func checkedMem(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// synthCols is a table of most native kinds and one raw column (interval), for tests that
// need no server.
var synthCols = []pgarrow.Column{
	{Name: "id", TypeOID: pgtype.Int8OID, TypeName: "bigint"},
	{Name: "n4", TypeOID: pgtype.Int4OID, TypeName: "integer"},
	{Name: "f8", TypeOID: pgtype.Float8OID, TypeName: "double precision"},
	{Name: "ok", TypeOID: pgtype.BoolOID, TypeName: "boolean"},
	{Name: "name", TypeOID: pgtype.TextOID, TypeName: "text"},
	{Name: "code", TypeOID: pgtype.VarcharOID, TypeName: "character varying(20)"},
	{Name: "blob", TypeOID: pgtype.ByteaOID, TypeName: "bytea"},
	{Name: "u", TypeOID: pgtype.UUIDOID, TypeName: "uuid"},
	{Name: "d", TypeOID: pgtype.DateOID, TypeName: "date"},
	{Name: "ts", TypeOID: pgtype.TimestampOID, TypeName: "timestamp without time zone"},
	{Name: "tstz", TypeOID: pgtype.TimestamptzOID, TypeName: "timestamp with time zone"},
	{Name: "amount", TypeOID: pgtype.NumericOID, TypeName: "numeric(12,2)"},
	{Name: "doc", TypeOID: pgtype.JSONBOID, TypeName: "jsonb"},
	{Name: "iv", TypeOID: pgtype.IntervalOID, TypeName: "interval"},
}

// synthStream returns a binary COPY stream of rows rows of synthCols, built with pgarrow's
// Encoder from values chosen by row number: every tenth row is NULL but for its id, and the
// first rows hold the edge values (infinities, NaN, -0, the extreme integers).
func synthStream(t testing.TB, rows int) []byte {
	return wideStream(t, rows, synthCols)
}

// wideColumns is synthCols repeated copies times (names suffixed): a wide table.
func wideColumns(copies int) []pgarrow.Column {
	var cols []pgarrow.Column
	for k := 0; k < copies; k++ {
		for _, c := range synthCols {
			if k > 0 {
				c.Name = fmt.Sprintf("%s_%d", c.Name, k)
			}
			cols = append(cols, c)
		}
	}
	return cols
}

// wideStream is synthStream for any of wideColumns.
func wideStream(t testing.TB, rows int, table []pgarrow.Column) []byte {
	t.Helper()
	mem := memory.NewGoAllocator()
	cols := make([]pgarrow.Column, len(table))
	for i, c := range table {
		c.Native = true
		cols[i] = c
	}
	schema := pgarrow.Schema(cols)
	var buf bytes.Buffer
	enc := pgarrow.NewEncoder(&buf, cols)
	const batch = 5000
	for start := 0; start < rows; start += batch {
		b := array.NewRecordBuilder(mem, schema)
		for r := start; r < min(rows, start+batch); r++ {
			for i := range cols {
				appendSynthValue(b.Field(i), i%len(synthCols), r)
			}
		}
		rec := b.NewRecord()
		b.Release()
		if err := enc.Write(rec); err != nil {
			t.Fatalf("encode the synthetic stream: %v", err)
		}
		rec.Release()
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("encode the synthetic stream: %v", err)
	}
	return buf.Bytes()
}

// appendSynthValue appends row r's value of column kind k (an index into synthCols).
func appendSynthValue(fb array.Builder, k, r int) {
	if k > 0 && r%10 == 9 {
		fb.AppendNull()
		return
	}
	edge := r < 3
	switch k {
	case 0:
		id := int64(r)
		switch r {
		case 0:
			id = math.MinInt64
		case 1:
			id = math.MaxInt64
		}
		fb.(*array.Int64Builder).Append(id)
	case 1:
		fb.(*array.Int32Builder).Append(int32(r * 7919))
	case 2:
		f := float64(r) / 7
		if edge {
			f = []float64{math.NaN(), math.Copysign(0, -1), math.Inf(-1)}[r]
		}
		fb.(*array.Float64Builder).Append(f)
	case 3:
		fb.(*array.BooleanBuilder).Append(r%3 == 0)
	case 4:
		fb.(*array.StringBuilder).Append(fmt.Sprintf("name %d é ☃ 🎉", r%500))
	case 5:
		fb.(*array.StringBuilder).Append([]string{"", "A", "BB", "CCC"}[r%4])
	case 6:
		blob := make([]byte, r%40)
		for i := range blob {
			blob[i] = byte(r + i)
		}
		fb.(*array.BinaryBuilder).Append(blob)
	case 7:
		var u [16]byte
		for i := range u {
			u[i] = byte(r >> (i % 4 * 8))
		}
		fb.(*array.FixedSizeBinaryBuilder).Append(u[:])
	case 8:
		d := arrow.Date32(10957 + r)
		if edge {
			d = []arrow.Date32{math.MaxInt32, math.MinInt32, 0}[r]
		}
		fb.(*array.Date32Builder).Append(d)
	case 9, 10:
		ts := arrow.Timestamp(946684800000000 + int64(r)*1_000_001)
		if edge {
			ts = []arrow.Timestamp{math.MaxInt64, math.MinInt64, 0}[r]
		}
		fb.(*array.TimestampBuilder).Append(ts)
	case 11:
		fb.(*array.StringBuilder).Append(fmt.Sprintf("%d.%02d", r-500, r%100))
	case 12:
		fb.(*array.StringBuilder).Append(fmt.Sprintf(`{"k": %d, "s": "v%d"}`, r%100, r%7))
	case 13:
		// interval's send form: microseconds, days, months.
		iv := make([]byte, 16)
		iv[7], iv[11], iv[15] = byte(r), byte(r%30), byte(r%12)
		fb.(*array.BinaryBuilder).Append(iv)
	}
}

// writeParts runs WriteParts into memory and fails the test on error.
func writeParts(t testing.TB, stream []byte, cols []pgarrow.Column, text bool, o parquetpart.Options) ([]parquetpart.Part, []*memWriter) {
	t.Helper()
	var s memStore
	parts, err := parquetpart.WriteParts(bytes.NewReader(stream), cols, text, s.next, o)
	if err != nil {
		t.Fatalf("WriteParts: %v", err)
	}
	if len(parts) != len(s.writers) {
		t.Fatalf("WriteParts reported %d parts, opened %d writers", len(parts), len(s.writers))
	}
	for i, w := range s.writers {
		if !w.closed || w.aborted {
			t.Fatalf("part %d: closed %v, aborted %v; want closed", i, w.closed, w.aborted)
		}
	}
	return parts, s.writers
}

// readPart runs ReadPart on one part and fails the test on error.
func readPart(t testing.TB, part []byte, cols []pgarrow.Column, text bool, o parquetpart.Options) ([]byte, int64) {
	t.Helper()
	var out bytes.Buffer
	n, err := parquetpart.ReadPart(bytes.NewReader(part), int64(len(part)), cols, text, &out, o)
	if err != nil {
		t.Fatalf("ReadPart: %v", err)
	}
	return out.Bytes(), n
}

// copyHeader and copyTrailer frame every binary COPY stream.
const (
	copyHeaderLen  = 19
	copyTrailerLen = 2
)

// joinStreams concatenates the rows of binary COPY streams into one stream.
func joinStreams(streams [][]byte) []byte {
	var out []byte
	for i, s := range streams {
		if i == 0 {
			out = append(out, s[:copyHeaderLen]...)
		}
		out = append(out, s[copyHeaderLen:len(s)-copyTrailerLen]...)
	}
	return append(out, 0xFF, 0xFF)
}
