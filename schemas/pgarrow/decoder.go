package pgarrow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/arrio"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// signature opens every binary COPY stream.
var signature = []byte("PGCOPY\n\xff\r\n\x00")

const (
	headerLen = 11 + 4 + 4 // signature, flags, header extension length
	// maxField is the largest value PostgreSQL can send (MaxAllocSize). Refusing larger ones
	// keeps a batch's String and Binary data under Arrow's 2 GiB offset limit.
	maxField = 1<<30 - 1
	// maxBatchBytes caps DecoderOptions.BatchBytes for the same reason: a batch holds less
	// than maxBatchBytes before its last row, and that row adds at most maxField per column.
	maxBatchBytes = 1 << 30

	// pgEpochDays and pgEpochMicros are 2000-01-01, PostgreSQL's epoch, after Arrow's 1970-01-01.
	pgEpochDays   = 10957
	pgEpochMicros = 946684800000000
)

// DecoderOptions bound a Decoder's batches. A batch ends after BatchRows rows or once its
// field bytes reach BatchBytes, whichever comes first.
type DecoderOptions struct {
	BatchRows int // rows per batch; 0 means 8192
	// BatchBytes bounds the bytes of field values in a batch (as sent, or as text for
	// numeric); 0 means 4 MiB, and it is capped at 1 GiB. A row is never split, so a batch
	// exceeds it by at most one row.
	BatchBytes int
}

func (o DecoderOptions) withDefaults() DecoderOptions {
	if o.BatchRows <= 0 {
		o.BatchRows = 8192
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 4 << 20
	}
	o.BatchBytes = min(o.BatchBytes, maxBatchBytes)
	return o
}

// Decoder reads a binary COPY stream as Arrow record batches. It is not safe for concurrent use.
//
// Unlike an arrow/ipc reader, it hands each batch over: the caller releases it, and it stays
// valid after the next Read.
type Decoder struct {
	rd     reader
	cols   []Column
	schema *arrow.Schema
	decs   []colDecoder
	opts   DecoderOptions

	started  bool
	err      error // sticky; io.EOF after the trailer
	rows     int64 // rows in the batches returned so far
	lastRows int   // rows of the previous batch: what the next one reserves
}

var _ arrio.Reader = (*Decoder)(nil)

// NewDecoder returns a Decoder of the stream r whose rows hold cols, in order. Batches are
// allocated from mem and have the schema Schema(cols). Nothing is read until the first Read.
func NewDecoder(r io.Reader, cols []Column, mem memory.Allocator, opts DecoderOptions) *Decoder {
	d := &Decoder{
		rd:     newReader(r),
		cols:   cols,
		schema: Schema(cols),
		decs:   make([]colDecoder, len(cols)),
		opts:   opts.withDefaults(),
	}
	for i, c := range cols {
		d.decs[i] = newColDecoder(c.kind(), mem)
	}
	d.lastRows = d.opts.BatchRows
	return d
}

// Schema returns the schema of the batches, Schema(cols).
func (d *Decoder) Schema() *arrow.Schema { return d.schema }

// Rows returns the number of rows in the batches Read has returned.
func (d *Decoder) Rows() int64 { return d.rows }

// Read returns the next batch, which has at least one row; the caller owns it and must
// Release it. After the stream's trailer it returns io.EOF. A stream that is not binary COPY,
// ends without a trailer, has data after it, has a row with the wrong number of fields or a
// value that cannot be decoded losslessly gives an *Error naming the row and column. Errors
// are sticky: every later call returns the same one.
func (d *Decoder) Read() (arrow.Record, error) {
	if d.err != nil {
		return nil, d.err
	}
	if !d.started {
		if err := d.readHeader(); err != nil {
			d.err = err
			return nil, err
		}
		d.started = true
	}
	for _, dec := range d.decs {
		dec.reserve(d.lastRows)
	}
	n, err := d.readRows()
	if err != nil {
		d.err = err
		d.rd = reader{} // done with the stream: let the buffer go now
	}
	if err == nil || (err == io.EOF && n > 0) {
		return d.record(n), nil
	}
	for _, dec := range d.decs { // drop the partial batch
		dec.newArray().Release()
	}
	return nil, err
}

// readRows decodes rows into the builders until the batch is full; at the trailer it
// returns io.EOF with the rows it read before it.
func (d *Decoder) readRows() (int, error) {
	n, size := 0, 0
	for n < d.opts.BatchRows && size < d.opts.BatchBytes {
		row := d.rows + int64(n) + 1
		cnt, err := d.rd.uint16()
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = fmt.Errorf("stream ends without a trailer: %w", err)
			}
			return n, &Error{Op: "decode", Row: row, Err: err}
		}
		if int16(cnt) == -1 {
			return n, d.readEnd()
		}
		if int(cnt) != len(d.decs) {
			return n, &Error{Op: "decode", Row: row, Err: fmt.Errorf("row has %d fields, want %d", int16(cnt), len(d.decs))}
		}
		for i, dec := range d.decs {
			l, err := d.rd.uint32()
			if err != nil {
				return n, d.colErr(row, i, truncated(err))
			}
			if int32(l) == -1 {
				dec.null()
				continue
			}
			if l > maxField {
				return n, d.colErr(row, i, fmt.Errorf("field length %d is not valid", int32(l)))
			}
			v, err := d.rd.next(int(l))
			if err != nil {
				return n, d.colErr(row, i, truncated(err))
			}
			k, err := dec.value(v)
			if err != nil {
				return n, d.colErr(row, i, err)
			}
			size += k
		}
		n++
	}
	return n, nil
}

func truncated(err error) error {
	if err == io.ErrUnexpectedEOF {
		return fmt.Errorf("stream ends inside the field: %w", err)
	}
	return err
}

func (d *Decoder) colErr(row int64, i int, err error) error {
	return &Error{Op: "decode", Row: row, Column: d.cols[i].Name, Type: d.cols[i].TypeName, Err: err}
}

func (d *Decoder) record(n int) arrow.Record {
	arrs := make([]arrow.Array, len(d.decs))
	for i, dec := range d.decs {
		arrs[i] = dec.newArray()
	}
	rec := array.NewRecord(d.schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	d.rows += int64(n)
	d.lastRows = n
	return rec
}

func (d *Decoder) readHeader() error {
	h, err := d.rd.next(headerLen)
	if err != nil {
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("stream ends inside the COPY header: %w", err)
		}
		return &Error{Op: "decode", Err: err}
	}
	if !bytes.Equal(h[:len(signature)], signature) {
		return &Error{Op: "decode", Err: errors.New("not a binary COPY stream: bad signature")}
	}
	// PostgreSQL 12 and later write neither flags (bit 16 was WITH OIDS) nor a header
	// extension; accepting them would mean dropping them, and the round trip would not be exact.
	if flags := binary.BigEndian.Uint32(h[11:]); flags != 0 {
		return &Error{Op: "decode", Err: fmt.Errorf("COPY header flags 0x%08X are not supported", flags)}
	}
	if ext := binary.BigEndian.Uint32(h[15:]); ext != 0 {
		return &Error{Op: "decode", Err: fmt.Errorf("COPY header extension of %d bytes is not supported", ext)}
	}
	return nil
}

// readEnd checks that the trailer ends the stream and returns io.EOF if it does.
func (d *Decoder) readEnd() error {
	eof, err := d.rd.atEOF()
	switch {
	case err != nil:
		return &Error{Op: "decode", Err: err}
	case !eof:
		return &Error{Op: "decode", Err: errors.New("data after the COPY trailer")}
	}
	return io.EOF
}

// colDecoder appends one column's values to its builder.
type colDecoder interface {
	// value appends a non-NULL field and returns the bytes it adds to the batch.
	value(v []byte) (int, error)
	null()
	// reserve prepares the builder for a batch of about rows rows.
	reserve(rows int)
	// newArray returns the column built so far and resets the builder.
	newArray() arrow.Array
}

func newColDecoder(k kind, mem memory.Allocator) colDecoder {
	switch k {
	case kindBool:
		return &boolDec{b: array.NewBooleanBuilder(mem)}
	case kindInt2:
		return &int2Dec{b: array.NewInt16Builder(mem)}
	case kindInt4:
		return &int4Dec{b: array.NewInt32Builder(mem)}
	case kindInt8:
		return &int8Dec{b: array.NewInt64Builder(mem)}
	case kindOID:
		return &oidDec{b: array.NewUint32Builder(mem)}
	case kindFloat4:
		return &float4Dec{b: array.NewFloat32Builder(mem)}
	case kindFloat8:
		return &float8Dec{b: array.NewFloat64Builder(mem)}
	case kindText, kindJSON:
		return &varDec{b: stringBuilder{array.NewStringBuilder(mem)}}
	case kindJSONB:
		return &jsonbDec{varDec{b: stringBuilder{array.NewStringBuilder(mem)}}}
	case kindNumeric:
		return &numericDec{varDec: varDec{b: stringBuilder{array.NewStringBuilder(mem)}}}
	case kindUUID:
		return &uuidDec{b: array.NewFixedSizeBinaryBuilder(mem, uuidType)}
	case kindDate:
		return &dateDec{b: array.NewDate32Builder(mem)}
	case kindTimestamp:
		return &timestampDec{b: array.NewTimestampBuilder(mem, timestampType)}
	case kindTimestamptz:
		return &timestampDec{b: array.NewTimestampBuilder(mem, timestamptzType)}
	case kindTime:
		return &timeDec{b: array.NewTime64Builder(mem, arrow.FixedWidthTypes.Time64us.(*arrow.Time64Type))}
	default: // kindRaw, kindBytea
		return &varDec{b: array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)}
	}
}

func wantLen(v []byte, n int) error {
	if len(v) != n {
		return fmt.Errorf("field is %d bytes, want %d", len(v), n)
	}
	return nil
}

type boolDec struct{ b *array.BooleanBuilder }

func (d *boolDec) value(v []byte) (int, error) {
	if err := wantLen(v, 1); err != nil {
		return 0, err
	}
	if v[0] > 1 {
		// boolrecv reads any non-zero byte as true; only 1 would come back out.
		return 0, fmt.Errorf("bool byte 0x%02X: %w", v[0], ErrNonCanonical)
	}
	d.b.Append(v[0] == 1)
	return 1, nil
}
func (d *boolDec) null()                 { d.b.AppendNull() }
func (d *boolDec) reserve(n int)         { d.b.Reserve(n) }
func (d *boolDec) newArray() arrow.Array { return d.b.NewArray() }

type int2Dec struct{ b *array.Int16Builder }

func (d *int2Dec) value(v []byte) (int, error) {
	if err := wantLen(v, 2); err != nil {
		return 0, err
	}
	d.b.Append(int16(binary.BigEndian.Uint16(v)))
	return 2, nil
}
func (d *int2Dec) null()                 { d.b.AppendNull() }
func (d *int2Dec) reserve(n int)         { d.b.Reserve(n) }
func (d *int2Dec) newArray() arrow.Array { return d.b.NewArray() }

type int4Dec struct{ b *array.Int32Builder }

func (d *int4Dec) value(v []byte) (int, error) {
	if err := wantLen(v, 4); err != nil {
		return 0, err
	}
	d.b.Append(int32(binary.BigEndian.Uint32(v)))
	return 4, nil
}
func (d *int4Dec) null()                 { d.b.AppendNull() }
func (d *int4Dec) reserve(n int)         { d.b.Reserve(n) }
func (d *int4Dec) newArray() arrow.Array { return d.b.NewArray() }

type int8Dec struct{ b *array.Int64Builder }

func (d *int8Dec) value(v []byte) (int, error) {
	if err := wantLen(v, 8); err != nil {
		return 0, err
	}
	d.b.Append(int64(binary.BigEndian.Uint64(v)))
	return 8, nil
}
func (d *int8Dec) null()                 { d.b.AppendNull() }
func (d *int8Dec) reserve(n int)         { d.b.Reserve(n) }
func (d *int8Dec) newArray() arrow.Array { return d.b.NewArray() }

type oidDec struct{ b *array.Uint32Builder }

func (d *oidDec) value(v []byte) (int, error) {
	if err := wantLen(v, 4); err != nil {
		return 0, err
	}
	d.b.Append(binary.BigEndian.Uint32(v))
	return 4, nil
}
func (d *oidDec) null()                 { d.b.AppendNull() }
func (d *oidDec) reserve(n int)         { d.b.Reserve(n) }
func (d *oidDec) newArray() arrow.Array { return d.b.NewArray() }

type float4Dec struct{ b *array.Float32Builder }

func (d *float4Dec) value(v []byte) (int, error) {
	if err := wantLen(v, 4); err != nil {
		return 0, err
	}
	// Bits, not arithmetic: NaN payloads and -0 survive.
	d.b.Append(math.Float32frombits(binary.BigEndian.Uint32(v)))
	return 4, nil
}
func (d *float4Dec) null()                 { d.b.AppendNull() }
func (d *float4Dec) reserve(n int)         { d.b.Reserve(n) }
func (d *float4Dec) newArray() arrow.Array { return d.b.NewArray() }

type float8Dec struct{ b *array.Float64Builder }

func (d *float8Dec) value(v []byte) (int, error) {
	if err := wantLen(v, 8); err != nil {
		return 0, err
	}
	d.b.Append(math.Float64frombits(binary.BigEndian.Uint64(v)))
	return 8, nil
}
func (d *float8Dec) null()                 { d.b.AppendNull() }
func (d *float8Dec) reserve(n int)         { d.b.Reserve(n) }
func (d *float8Dec) newArray() arrow.Array { return d.b.NewArray() }

// varBuilder is what String and Binary builders share.
type varBuilder interface {
	array.Builder
	Append([]byte)
	ReserveData(int)
	DataLen() int
}

// stringBuilder lets a StringBuilder take []byte, as its BinaryBuilder does, without the
// string conversion StringBuilder.Append would need.
type stringBuilder struct{ *array.StringBuilder }

func (b stringBuilder) Append(v []byte) { b.BinaryBuilder.Append(v) }

// varDec carries the value's bytes unchanged: raw columns, bytea, text types and json.
type varDec struct {
	b        varBuilder
	lastData int // data bytes of the previous batch: what the next one reserves
}

func (d *varDec) value(v []byte) (int, error) {
	d.b.Append(v)
	return len(v), nil
}
func (d *varDec) null() { d.b.AppendNull() }
func (d *varDec) reserve(n int) {
	d.b.Reserve(n)
	d.b.ReserveData(d.lastData)
}
func (d *varDec) newArray() arrow.Array {
	if n := d.b.DataLen(); n > 0 {
		d.lastData = n
	}
	return d.b.NewArray()
}

type jsonbDec struct{ varDec }

func (d *jsonbDec) value(v []byte) (int, error) {
	if len(v) == 0 {
		return 0, errors.New("jsonb value has no version byte")
	}
	if v[0] != 1 {
		return 0, fmt.Errorf("jsonb version %d is not supported", v[0])
	}
	d.b.Append(v[1:])
	return len(v) - 1, nil
}

type numericDec struct {
	varDec
	text []byte
}

func (d *numericDec) value(v []byte) (int, error) {
	var err error
	d.text, err = appendNumericText(d.text[:0], v)
	if err != nil {
		return 0, err
	}
	d.b.Append(d.text)
	return len(d.text), nil
}

type uuidDec struct{ b *array.FixedSizeBinaryBuilder }

func (d *uuidDec) value(v []byte) (int, error) {
	if err := wantLen(v, 16); err != nil {
		return 0, err
	}
	d.b.Append(v)
	return 16, nil
}
func (d *uuidDec) null()                 { d.b.AppendNull() }
func (d *uuidDec) reserve(n int)         { d.b.Reserve(n) }
func (d *uuidDec) newArray() arrow.Array { return d.b.NewArray() }

type dateDec struct{ b *array.Date32Builder }

func (d *dateDec) value(v []byte) (int, error) {
	if err := wantLen(v, 4); err != nil {
		return 0, err
	}
	p := int32(binary.BigEndian.Uint32(v))
	a, ok := dateToArrow(p)
	if !ok {
		return 0, fmt.Errorf("date is beyond the range Arrow dates can hold: %w", ErrOutOfRange)
	}
	d.b.Append(arrow.Date32(a))
	return 4, nil
}
func (d *dateDec) null()                 { d.b.AppendNull() }
func (d *dateDec) reserve(n int)         { d.b.Reserve(n) }
func (d *dateDec) newArray() arrow.Array { return d.b.NewArray() }

// dateToArrow shifts PostgreSQL days (since 2000) to Arrow days (since 1970); ±infinity stay
// the extreme values. It fails for the few finite days that would overflow or land on an
// infinity; PostgreSQL's own date range is far narrower.
func dateToArrow(p int32) (int32, bool) {
	if p == math.MaxInt32 || p == math.MinInt32 {
		return p, true
	}
	if p >= math.MaxInt32-pgEpochDays {
		return 0, false
	}
	return p + pgEpochDays, true
}

func dateFromArrow(a int32) (int32, bool) {
	if a == math.MaxInt32 || a == math.MinInt32 {
		return a, true
	}
	if a <= math.MinInt32+pgEpochDays {
		return 0, false
	}
	return a - pgEpochDays, true
}

type timestampDec struct{ b *array.TimestampBuilder }

func (d *timestampDec) value(v []byte) (int, error) {
	if err := wantLen(v, 8); err != nil {
		return 0, err
	}
	p := int64(binary.BigEndian.Uint64(v))
	a, ok := timestampToArrow(p)
	if !ok {
		return 0, fmt.Errorf("timestamp is beyond the range Arrow timestamps can hold: %w", ErrOutOfRange)
	}
	d.b.Append(arrow.Timestamp(a))
	return 8, nil
}
func (d *timestampDec) null()                 { d.b.AppendNull() }
func (d *timestampDec) reserve(n int)         { d.b.Reserve(n) }
func (d *timestampDec) newArray() arrow.Array { return d.b.NewArray() }

// timestampToArrow shifts PostgreSQL microseconds (since 2000) to Arrow microseconds (since
// 1970); ±infinity stay the extreme values. Timestamps after about 294246 AD, which PostgreSQL
// allows up to 294276 AD, do not fit.
func timestampToArrow(p int64) (int64, bool) {
	if p == math.MaxInt64 || p == math.MinInt64 {
		return p, true
	}
	if p >= math.MaxInt64-pgEpochMicros {
		return 0, false
	}
	return p + pgEpochMicros, true
}

func timestampFromArrow(a int64) (int64, bool) {
	if a == math.MaxInt64 || a == math.MinInt64 {
		return a, true
	}
	if a <= math.MinInt64+pgEpochMicros {
		return 0, false
	}
	return a - pgEpochMicros, true
}

type timeDec struct{ b *array.Time64Builder }

func (d *timeDec) value(v []byte) (int, error) {
	if err := wantLen(v, 8); err != nil {
		return 0, err
	}
	d.b.Append(arrow.Time64(binary.BigEndian.Uint64(v)))
	return 8, nil
}
func (d *timeDec) null()                 { d.b.AppendNull() }
func (d *timeDec) reserve(n int)         { d.b.Reserve(n) }
func (d *timeDec) newArray() arrow.Array { return d.b.NewArray() }
