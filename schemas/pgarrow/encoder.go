package pgarrow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/arrio"
)

// bigValue is the size from which a value is written straight to the writer rather than
// copied into the buffer first.
const bigValue = 64 << 10

// Encoder writes Arrow record batches as a binary COPY stream. It is not safe for concurrent use.
type Encoder struct {
	out    writer
	cols   []Column
	fields []arrow.Field
	encs   []colEncoder
	num    numParser // for WritePacked's numeric columns

	header bool
	closed bool
	err    error // sticky
	rows   int64
}

var _ arrio.Writer = (*Encoder)(nil)

// NewEncoder returns an Encoder writing to w the rows of batches whose schema is Schema(cols)
// (field names and metadata are not checked; column count and types are). Output is buffered
// and written in chunks of about 256 KiB; values of 64 KiB or more are written directly.
func NewEncoder(w io.Writer, cols []Column) *Encoder {
	e := &Encoder{
		out:    writer{w: w},
		cols:   cols,
		fields: make([]arrow.Field, len(cols)),
		encs:   make([]colEncoder, len(cols)),
	}
	for i, c := range cols {
		e.fields[i] = Field(c)
		e.encs[i] = newColEncoder(c.kind())
	}
	return e
}

// Rows returns the number of rows written so far.
func (e *Encoder) Rows() int64 { return e.rows }

// Write encodes rec's rows, writing the COPY header before the first. rec's columns must have
// the types of Schema(cols); they may be sliced and hold nulls. Write does not release rec and
// keeps no reference to it.
//
// A value that cannot be encoded (a numeric string that is not a number, a date Arrow holds
// but PostgreSQL cannot) gives an *Error naming the row and column. Rows before it may already
// have been written, so the stream is unusable: the caller must abort the COPY it feeds. Errors
// are sticky.
func (e *Encoder) Write(rec arrow.Record) error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return &Error{Op: "encode", Err: errors.New("write after close")}
	}
	if len(e.encs) > math.MaxInt16 {
		e.err = &Error{Op: "encode", Err: fmt.Errorf("%d columns is more than a COPY row can hold", len(e.encs))}
		return e.err
	}
	if int(rec.NumCols()) != len(e.encs) {
		e.err = &Error{Op: "encode", Err: fmt.Errorf("batch has %d columns, want %d", rec.NumCols(), len(e.encs))}
		return e.err
	}
	for i, f := range e.fields {
		if t := rec.Column(i).DataType(); !arrow.TypeEqual(t, f.Type) {
			e.err = e.colErr(0, i, fmt.Errorf("batch column is %s, want %s", t, f.Type))
			return e.err
		}
	}
	for i, enc := range e.encs {
		enc.bind(rec.Column(i))
	}
	err := e.writeRows(int(rec.NumRows()), func(o *writer, r, i int) error { return e.encs[i].put(o, r) })
	for _, enc := range e.encs {
		enc.bind(nil) // hold no reference to rec
	}
	return err
}

// writeRows writes n rows, the header first if no row was, each field i of row r by put,
// and flushes the buffer whenever it is full. A field that put cannot encode fails the row
// (what was flushed stays written) and, stickily, the Encoder.
func (e *Encoder) writeRows(n int, put func(o *writer, r, i int) error) error {
	if !e.header {
		e.writeHeader()
	}
	o := &e.out
	ncols := uint16(len(e.encs))
	for r := 0; r < n && o.err == nil; r++ {
		start, flushes := len(o.b), o.flushes
		o.b = binary.BigEndian.AppendUint16(o.b, ncols)
		for i := range e.encs {
			if err := put(o, r, i); err != nil {
				if o.flushes == flushes {
					o.b = o.b[:start] // drop the half row; what was written stays written
				}
				e.err = e.colErr(e.rows+1, i, err)
				break
			}
		}
		if e.err != nil {
			break
		}
		e.rows++
		if len(o.b) >= bufSize {
			o.flush()
		}
	}
	if o.err != nil && e.err == nil {
		e.err = &Error{Op: "encode", Err: o.err}
	}
	return e.err
}

// Close writes the header if no row was written, then the trailer, and flushes. It does not
// close the underlying writer. A second Close does nothing.
func (e *Encoder) Close() error {
	if e.err != nil || e.closed {
		return e.err
	}
	e.closed = true
	if !e.header {
		e.writeHeader()
	}
	e.out.b = binary.BigEndian.AppendUint16(e.out.b, 0xFFFF)
	e.out.flush()
	if e.out.err != nil {
		e.err = &Error{Op: "encode", Err: e.out.err}
	}
	return e.err
}

func (e *Encoder) writeHeader() {
	e.header = true
	e.out.b = append(e.out.b, signature...)
	e.out.b = append(e.out.b, 0, 0, 0, 0, 0, 0, 0, 0) // flags, header extension length
}

func (e *Encoder) colErr(row int64, i int, err error) error {
	return &Error{Op: "encode", Row: row, Column: e.cols[i].Name, Type: e.cols[i].TypeName, Err: err}
}

// writer buffers the stream; values of bigValue bytes or more bypass the buffer.
type writer struct {
	w       io.Writer
	b       []byte
	err     error
	flushes int
}

func (o *writer) flush() {
	if len(o.b) == 0 || o.err != nil {
		return
	}
	o.flushes++
	_, o.err = o.w.Write(o.b)
	o.b = o.b[:0]
}

func (o *writer) null() { o.b = append(o.b, 0xFF, 0xFF, 0xFF, 0xFF) }

func (o *writer) len(n int) { o.b = binary.BigEndian.AppendUint32(o.b, uint32(n)) }

func (o *writer) bytes(v []byte) {
	o.len(len(v))
	if len(v) < bigValue {
		o.b = append(o.b, v...)
		return
	}
	o.flush()
	if o.err == nil {
		_, o.err = o.w.Write(v)
	}
}

func (o *writer) string(s string) {
	if len(s) < bigValue {
		o.len(len(s))
		o.b = append(o.b, s...)
		return
	}
	// io.Writer must not modify or retain what it is given, so it may see the string's bytes.
	o.bytes(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// The fields of the native kinds, from their Arrow (and Parquet) values.

func (o *writer) bool(v bool) {
	var b byte
	if v {
		b = 1
	}
	o.b = append(o.b, 0, 0, 0, 1, b)
}

func (o *writer) int2(v int16) {
	o.b = append(o.b, 0, 0, 0, 2)
	o.b = binary.BigEndian.AppendUint16(o.b, uint16(v))
}

// int4 writes int4, oid and float4 (its bits).
func (o *writer) int4(v uint32) {
	o.b = append(o.b, 0, 0, 0, 4)
	o.b = binary.BigEndian.AppendUint32(o.b, v)
}

// int8 writes int8, time and float8 (its bits).
func (o *writer) int8(v uint64) {
	o.b = append(o.b, 0, 0, 0, 8)
	o.b = binary.BigEndian.AppendUint64(o.b, v)
}

func (o *writer) uuid(v []byte) {
	o.b = append(o.b, 0, 0, 0, 16)
	o.b = append(o.b, v...)
}

func (o *writer) jsonb(s string) {
	o.len(len(s) + 1)
	o.b = append(o.b, 1) // jsonb binary format version
	if len(s)+1 < bigValue {
		o.b = append(o.b, s...)
		return
	}
	o.flush()
	if o.err == nil {
		_, o.err = o.w.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
	}
}

func (o *writer) numeric(p *numParser, s string) error {
	at := len(o.b)
	o.b = append(o.b, 0, 0, 0, 0) // length, filled in below
	b, err := p.appendBinary(o.b, s)
	if err != nil {
		o.b = o.b[:at]
		return fmt.Errorf("numeric text of %d bytes: %w", len(s), err)
	}
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	o.b = b
	return nil
}

func (o *writer) date(a int32) error {
	p, ok := dateFromArrow(a)
	if !ok {
		return fmt.Errorf("date is beyond the range PostgreSQL dates can hold: %w", ErrOutOfRange)
	}
	o.int4(uint32(p))
	return nil
}

func (o *writer) timestamp(a int64) error {
	p, ok := timestampFromArrow(a)
	if !ok {
		return fmt.Errorf("timestamp is beyond the range PostgreSQL timestamps can hold: %w", ErrOutOfRange)
	}
	o.int8(uint64(p))
	return nil
}

// colEncoder writes one column's values.
type colEncoder interface {
	// bind makes the encoder read a (of the column's type), or nothing if a is nil.
	bind(a arrow.Array)
	// put writes the field of row i: its length and bytes, or the NULL marker.
	put(o *writer, i int) error
}

func newColEncoder(k kind) colEncoder {
	switch k {
	case kindBool:
		return &boolEnc{}
	case kindInt2:
		return &int2Enc{}
	case kindInt4:
		return &int4Enc{}
	case kindInt8:
		return &int8Enc{}
	case kindOID:
		return &oidEnc{}
	case kindFloat4:
		return &float4Enc{}
	case kindFloat8:
		return &float8Enc{}
	case kindText, kindJSON:
		return &stringEnc{}
	case kindJSONB:
		return &jsonbEnc{}
	case kindNumeric:
		return &numericEnc{}
	case kindUUID:
		return &uuidEnc{}
	case kindDate:
		return &dateEnc{}
	case kindTimestamp, kindTimestamptz:
		return &timestampEnc{}
	case kindTime:
		return &timeEnc{}
	default: // kindRaw, kindBytea
		return &binaryEnc{}
	}
}

// as is a type assertion that lets bind(nil) clear the reference.
func as[T any](a arrow.Array) T {
	t, _ := a.(T)
	return t
}

type boolEnc struct{ a *array.Boolean }

func (e *boolEnc) bind(a arrow.Array) { e.a = as[*array.Boolean](a) }
func (e *boolEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.bool(e.a.Value(i))
	return nil
}

type int2Enc struct{ a *array.Int16 }

func (e *int2Enc) bind(a arrow.Array) { e.a = as[*array.Int16](a) }
func (e *int2Enc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.int2(e.a.Value(i))
	return nil
}

type int4Enc struct{ a *array.Int32 }

func (e *int4Enc) bind(a arrow.Array) { e.a = as[*array.Int32](a) }
func (e *int4Enc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.int4(uint32(e.a.Value(i)))
	return nil
}

type int8Enc struct{ a *array.Int64 }

func (e *int8Enc) bind(a arrow.Array) { e.a = as[*array.Int64](a) }
func (e *int8Enc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.int8(uint64(e.a.Value(i)))
	return nil
}

type oidEnc struct{ a *array.Uint32 }

func (e *oidEnc) bind(a arrow.Array) { e.a = as[*array.Uint32](a) }
func (e *oidEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.int4(e.a.Value(i))
	return nil
}

type float4Enc struct{ a *array.Float32 }

func (e *float4Enc) bind(a arrow.Array) { e.a = as[*array.Float32](a) }
func (e *float4Enc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.int4(math.Float32bits(e.a.Value(i)))
	return nil
}

type float8Enc struct{ a *array.Float64 }

func (e *float8Enc) bind(a arrow.Array) { e.a = as[*array.Float64](a) }
func (e *float8Enc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.int8(math.Float64bits(e.a.Value(i)))
	return nil
}

type binaryEnc struct{ a *array.Binary }

func (e *binaryEnc) bind(a arrow.Array) { e.a = as[*array.Binary](a) }
func (e *binaryEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.bytes(e.a.Value(i))
	return nil
}

type stringEnc struct{ a *array.String }

func (e *stringEnc) bind(a arrow.Array) { e.a = as[*array.String](a) }
func (e *stringEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.string(e.a.Value(i))
	return nil
}

type jsonbEnc struct{ a *array.String }

func (e *jsonbEnc) bind(a arrow.Array) { e.a = as[*array.String](a) }
func (e *jsonbEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.jsonb(e.a.Value(i))
	return nil
}

type numericEnc struct {
	a *array.String
	p numParser
}

func (e *numericEnc) bind(a arrow.Array) { e.a = as[*array.String](a) }
func (e *numericEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	return o.numeric(&e.p, e.a.Value(i))
}

type uuidEnc struct{ a *array.FixedSizeBinary }

func (e *uuidEnc) bind(a arrow.Array) { e.a = as[*array.FixedSizeBinary](a) }
func (e *uuidEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.uuid(e.a.Value(i))
	return nil
}

type dateEnc struct{ a *array.Date32 }

func (e *dateEnc) bind(a arrow.Array) { e.a = as[*array.Date32](a) }
func (e *dateEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	return o.date(int32(e.a.Value(i)))
}

type timestampEnc struct{ a *array.Timestamp }

func (e *timestampEnc) bind(a arrow.Array) { e.a = as[*array.Timestamp](a) }
func (e *timestampEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	return o.timestamp(int64(e.a.Value(i)))
}

type timeEnc struct{ a *array.Time64 }

func (e *timeEnc) bind(a arrow.Array) { e.a = as[*array.Time64](a) }
func (e *timeEnc) put(o *writer, i int) error {
	if e.a.IsNull(i) {
		o.null()
		return nil
	}
	o.int8(uint64(e.a.Value(i)))
	return nil
}
