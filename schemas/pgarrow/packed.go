package pgarrow

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Values names the Go type a column's values are packed as in a Packed column.
type Values uint8

const (
	BoolValues    Values = iota + 1 // bool
	Int32Values                     // int2, int4, oid (its bits), date (Date32 days)
	Int64Values                     // int8, timestamp, timestamptz (µs), time (µs)
	Float32Values                   // float4
	Float64Values                   // float8
	BytesValues                     // text, json, jsonb, numeric text, bytea, wire bytes; uuid (16 bytes each)
)

// PackedValues returns the type c's values are packed as: that of its Arrow type (Field(c)),
// as Parquet stores it.
func PackedValues(c Column) Values {
	switch c.kind() {
	case kindBool:
		return BoolValues
	case kindInt2, kindInt4, kindOID, kindDate:
		return Int32Values
	case kindInt8, kindTimestamp, kindTimestamptz, kindTime:
		return Int64Values
	case kindFloat4:
		return Float32Values
	case kindFloat8:
		return Float64Values
	default:
		return BytesValues
	}
}

// Packed is one column of a batch of rows in the shape a Parquet column chunk reader gives
// it: which rows are NULL, and the values of the others, in order, in the one slice of the
// column's PackedValues type.
type Packed struct {
	Defs    []int16 // Defs[i] == 0: row i is NULL; nil: no row is
	Bool    []bool
	Int32   []int32
	Int64   []int64
	Float32 []float32
	Float64 []float64
	Bytes   [][]byte
}

// WritePacked encodes n rows given column by column (cols in the order of the Encoder's
// columns), writing the COPY header before the first, as Write does for a record batch. It
// reads the values and keeps no reference to them. The values are as Write would take them
// from the column's Arrow array; a column whose NULLs and values do not add up to n rows, or
// whose values are not of its PackedValues type, is an error.
func (e *Encoder) WritePacked(n int, cols []Packed) error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return &Error{Op: "encode", Err: errors.New("write after close")}
	}
	if len(cols) != len(e.encs) {
		e.err = &Error{Op: "encode", Err: fmt.Errorf("batch has %d columns, want %d", len(cols), len(e.encs))}
		return e.err
	}
	kinds := make([]kind, len(cols))
	for i := range cols {
		kinds[i] = e.cols[i].kind()
		if err := cols[i].check(n, PackedValues(e.cols[i])); err != nil {
			e.err = e.colErr(e.rows+1, i, err)
			return e.err
		}
	}
	next := make([]int, len(cols)) // each column's next value
	return e.writeRows(n, func(o *writer, r, i int) error {
		c := &cols[i]
		if c.Defs != nil && c.Defs[r] == 0 {
			o.null()
			return nil
		}
		v := next[i]
		next[i]++
		return putPacked(o, kinds[i], c, v, &e.num)
	})
}

// check reports whether c holds n rows of values of type want.
func (c *Packed) check(n int, want Values) error {
	values := n
	if c.Defs != nil {
		if len(c.Defs) < n {
			return fmt.Errorf("%d NULL flags for %d rows", len(c.Defs), n)
		}
		values = 0
		for _, d := range c.Defs[:n] {
			if d != 0 {
				values++
			}
		}
	}
	have := [...]int{BoolValues: len(c.Bool), Int32Values: len(c.Int32), Int64Values: len(c.Int64),
		Float32Values: len(c.Float32), Float64Values: len(c.Float64), BytesValues: len(c.Bytes)}
	for t, k := range have {
		if Values(t) != want && k > 0 {
			return errors.New("the values are of another type than the column's")
		}
	}
	if have[want] < values {
		return fmt.Errorf("%d values for %d rows that are not NULL", have[want], values)
	}
	return nil
}

// putPacked writes value v of column c, of kind k.
func putPacked(o *writer, k kind, c *Packed, v int, p *numParser) error {
	switch k {
	case kindBool:
		o.bool(c.Bool[v])
	case kindInt2:
		o.int2(int16(c.Int32[v]))
	case kindInt4, kindOID:
		o.int4(uint32(c.Int32[v]))
	case kindDate:
		return o.date(c.Int32[v])
	case kindInt8, kindTime:
		o.int8(uint64(c.Int64[v]))
	case kindTimestamp, kindTimestamptz:
		return o.timestamp(c.Int64[v])
	case kindFloat4:
		o.int4(math.Float32bits(c.Float32[v]))
	case kindFloat8:
		o.int8(math.Float64bits(c.Float64[v]))
	case kindText, kindJSON:
		o.bytes(c.Bytes[v])
	case kindJSONB:
		o.jsonb(bytesString(c.Bytes[v]))
	case kindNumeric:
		return o.numeric(p, bytesString(c.Bytes[v]))
	case kindUUID:
		if len(c.Bytes[v]) != 16 {
			return fmt.Errorf("uuid of %d bytes", len(c.Bytes[v]))
		}
		o.uuid(c.Bytes[v])
	default: // kindRaw, kindBytea
		o.bytes(c.Bytes[v])
	}
	return nil
}

// bytesString views b as a string, for the text parsers; they keep no reference to it.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
