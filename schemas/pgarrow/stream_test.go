package pgarrow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Helpers that build binary COPY streams by hand, and run them through a Decoder and an Encoder.

type stream struct{ b []byte }

func newStream() *stream {
	s := &stream{}
	s.b = append(s.b, signature...)
	s.b = append(s.b, 0, 0, 0, 0, 0, 0, 0, 0)
	return s
}

// row appends a row; a nil field is NULL.
func (s *stream) row(fields ...[]byte) *stream {
	s.b = binary.BigEndian.AppendUint16(s.b, uint16(len(fields)))
	for _, f := range fields {
		if f == nil {
			s.b = binary.BigEndian.AppendUint32(s.b, math.MaxUint32)
			continue
		}
		s.b = binary.BigEndian.AppendUint32(s.b, uint32(len(f)))
		s.b = append(s.b, f...)
	}
	return s
}

func (s *stream) end() []byte { return binary.BigEndian.AppendUint16(s.b, 0xFFFF) }

func be16(v int16) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
func be32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
func f32(v float32) []byte {
	return binary.BigEndian.AppendUint32(nil, math.Float32bits(v))
}
func f64(v float64) []byte {
	return binary.BigEndian.AppendUint64(nil, math.Float64bits(v))
}

// num builds a binary numeric.
func num(weight int16, sign uint16, dscale uint16, digits ...int16) []byte {
	b := appendNumHeader(nil, len(digits), int(weight), sign, int(dscale))
	for _, d := range digits {
		b = binary.BigEndian.AppendUint16(b, uint16(d))
	}
	return b
}

// bits32 and bits64 stand for float values in expectations, so NaN compares equal to itself.
type (
	bits32 uint32
	bits64 uint64
)

// valueAt returns row i of a as a comparable Go value; nil for NULL.
func valueAt(t testing.TB, a arrow.Array, i int) any {
	t.Helper()
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int16:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Uint32:
		return a.Value(i)
	case *array.Float32:
		return bits32(math.Float32bits(a.Value(i)))
	case *array.Float64:
		return bits64(math.Float64bits(a.Value(i)))
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.FixedSizeBinary:
		return string(a.Value(i))
	case *array.Date32:
		return a.Value(i)
	case *array.Timestamp:
		return a.Value(i)
	case *array.Time64:
		return a.Value(i)
	}
	t.Fatalf("valueAt: unexpected array %T", a)
	return nil
}

// decodeAll decodes the whole stream and returns its batches; the caller releases them.
func decodeAll(t testing.TB, data []byte, cols []Column, mem memory.Allocator, opts DecoderOptions) ([]arrow.Record, error) {
	t.Helper()
	d := NewDecoder(bytes.NewReader(data), cols, mem, opts)
	var recs []arrow.Record
	for {
		rec, err := d.Read()
		if err == io.EOF {
			if n := rowsOf(recs); d.Rows() != n {
				t.Errorf("Rows() = %d after EOF, batches hold %d", d.Rows(), n)
			}
			return recs, nil
		}
		if err != nil {
			if rec != nil {
				t.Errorf("Read returned a batch with error %v", err)
			}
			releaseAll(recs)
			return nil, err
		}
		if rec.NumRows() == 0 {
			t.Errorf("Read returned an empty batch")
		}
		if !rec.Schema().Equal(d.Schema()) {
			t.Errorf("batch schema %v, want %v", rec.Schema(), d.Schema())
		}
		recs = append(recs, rec)
	}
}

func rowsOf(recs []arrow.Record) int64 {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	return n
}

func releaseAll(recs []arrow.Record) {
	for _, r := range recs {
		r.Release()
	}
}

func encodeAll(cols []Column, recs []arrow.Record) ([]byte, error) {
	var buf bytes.Buffer
	e := NewEncoder(&buf, cols)
	for _, r := range recs {
		if err := e.Write(r); err != nil {
			return nil, err
		}
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// roundTrip decodes data, encodes the batches and fails unless the bytes come back unchanged.
// It returns the batches; the caller releases them.
func roundTrip(t testing.TB, data []byte, cols []Column, mem memory.Allocator, opts DecoderOptions) []arrow.Record {
	t.Helper()
	recs, err := decodeAll(t, data, cols, mem, opts)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	out, err := encodeAll(cols, recs)
	if err != nil {
		releaseAll(recs)
		t.Fatalf("encode: %v", err)
	}
	if !bytes.Equal(out, data) {
		releaseAll(recs)
		t.Fatalf("round trip changed the stream:\n got %x\nwant %x", out, data)
	}
	return recs
}

func checkedMem(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func asError(t testing.TB, err error) *Error {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *pgarrow.Error", err, err)
	}
	return pe
}
