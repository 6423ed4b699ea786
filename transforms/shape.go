package transforms

// The shape family's engine: rules over native numbers, numerics, dates and timestamps
// (numeric_noise, random_range, round, date_noise, truncate, birthdate) implement shapeRule,
// and shapeApply runs one over a column of the Kind KindOf found (kind.go).

import (
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgdate"
	"github.com/understudy-dev/understudy/schemas/pgnumeric"
)

// shapeRule is a rule over native numbers, numerics, dates and timestamps. shapeApply calls,
// for each non-NULL finite value, the method of the column's type, with k (nil for an
// unkeyed rule) seeded with the value. A method is only called for the types the rule's
// constructor accepted.
type shapeRule interface {
	shapeInt(k *Keyed, v int64) int64
	shapeFloat(k *Keyed, v float64) float64
	// KindNumeric appends the text of the new value; d is the input, finite.
	shapeNumeric(k *Keyed, dst []byte, d pgnumeric.Decimal[string]) ([]byte, error)
	shapeDay(k *Keyed, days int64) int64
	shapeMicros(k *Keyed, us int64) int64
}

// shapeIdentity gives a shapeRule the methods of the types it does not take.
type shapeIdentity struct{}

func (shapeIdentity) shapeInt(_ *Keyed, v int64) int64       { return v }
func (shapeIdentity) shapeFloat(_ *Keyed, v float64) float64 { return v }
func (shapeIdentity) shapeNumeric(_ *Keyed, dst []byte, d pgnumeric.Decimal[string]) ([]byte, error) {
	return d.Append(dst), nil
}
func (shapeIdentity) shapeDay(_ *Keyed, v int64) int64    { return v }
func (shapeIdentity) shapeMicros(_ *Keyed, v int64) int64 { return v }

// shapeApply runs r over column col of rec. Values are keyed by their canonical text:
// integers in decimal, floats in their shortest form ('g'), numerics as PostgreSQL prints
// them, dates as days and timestamps as microseconds since 1970-01-01 (in decimal). NULL
// stays NULL; NaN, ±Infinity and the ±infinity sentinels of dates and timestamps pass
// unchanged. Results are clamped to the column type's range (PostgreSQL's, for dates and
// timestamps), so the load never fails on range.
func shapeApply(name string, r shapeRule, kind Kind, subkey []byte, rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	arr := rec.Column(col)
	var k *Keyed
	if subkey != nil {
		k = NewKeyed(subkey)
	}
	seed := make([]byte, 0, 32)
	lo, hi := kind.IntRange()
	ints := func(v int64) int64 {
		if k != nil {
			seed = strconv.AppendInt(seed[:0], v, 10)
			k.Seed(seed)
		}
		return min(max(r.shapeInt(k, v), lo), hi)
	}
	floats := func(v float64, bitSize int, top float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return v
		}
		if k != nil {
			seed = strconv.AppendFloat(seed[:0], v, 'g', -1, bitSize)
			k.Seed(seed)
		}
		out := r.shapeFloat(k, v)
		if math.IsNaN(out) {
			return v
		}
		return min(max(out, -top), top)
	}
	switch a := arr.(type) {
	case *array.Int16:
		if kind.IsInt() {
			return shapeMapFixed(mem, a, a.Int16Values(), func(v int16) int16 { return int16(ints(int64(v))) }), nil
		}
	case *array.Int32:
		if kind.IsInt() {
			return shapeMapFixed(mem, a, a.Int32Values(), func(v int32) int32 { return int32(ints(int64(v))) }), nil
		}
	case *array.Int64:
		if kind.IsInt() {
			return shapeMapFixed(mem, a, a.Int64Values(), func(v int64) int64 { return ints(v) }), nil
		}
	case *array.Float32:
		if kind.IsFloat() {
			return shapeMapFixed(mem, a, a.Float32Values(), func(v float32) float32 {
				return float32(floats(float64(v), 32, math.MaxFloat32))
			}), nil
		}
	case *array.Float64:
		if kind.IsFloat() {
			return shapeMapFixed(mem, a, a.Float64Values(), func(v float64) float64 {
				return floats(v, 64, math.MaxFloat64)
			}), nil
		}
	case *array.Date32:
		if kind == KindDate {
			return shapeMapFixed(mem, a, a.Date32Values(), func(v arrow.Date32) arrow.Date32 {
				if v == math.MaxInt32 || v == math.MinInt32 {
					return v
				}
				if k != nil {
					seed = strconv.AppendInt(seed[:0], int64(v), 10)
					k.Seed(seed)
				}
				return arrow.Date32(min(max(r.shapeDay(k, int64(v)), pgdate.MinDay), pgdate.MaxDay))
			}), nil
		}
	case *array.Timestamp:
		if kind == KindTimestamp || kind == KindTimestamptz {
			return shapeMapFixed(mem, a, a.TimestampValues(), func(v arrow.Timestamp) arrow.Timestamp {
				if v == math.MaxInt64 || v == math.MinInt64 {
					return v
				}
				if k != nil {
					seed = strconv.AppendInt(seed[:0], int64(v), 10)
					k.Seed(seed)
				}
				return arrow.Timestamp(min(max(r.shapeMicros(k, int64(v)), pgdate.MinMicros), pgdate.MaxMicros))
			}), nil
		}
	case *array.String:
		if kind == KindNumeric {
			return shapeMapNumeric(name, r, k, a, mem)
		}
	}
	return nil, fmt.Errorf("%s: %w %s (the rule asks for the column decoded natively)", name, errUnsupportedArray, arr.DataType())
}

// shapeMapFixed builds an array of in's type whose valid slots are f of the input's; NULL
// slots stay NULL.
func shapeMapFixed[T ~int16 | ~int32 | ~int64 | ~float32 | ~float64](mem memory.Allocator, in arrow.Array, vals []T, f func(T) T) arrow.Array {
	n := in.Len()
	var zero T
	out := memory.NewResizableBuffer(mem)
	out.Resize(n * len(arrow.GetBytes([]T{zero})))
	res := arrow.GetData[T](out.Bytes())[:n]
	var bm *memory.Buffer
	if in.NullN() > 0 {
		d := in.Data()
		bm = memory.NewResizableBuffer(mem)
		bm.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(d.Buffers()[0].Bytes(), d.Offset(), n, bm.Bytes(), 0)
	}
	for i, v := range vals {
		if in.IsNull(i) {
			res[i] = zero
			continue
		}
		res[i] = f(v)
	}
	data := array.NewData(in.DataType(), n, []*memory.Buffer{bm, out}, nil, in.NullN(), 0)
	out.Release()
	if bm != nil {
		bm.Release()
	}
	defer data.Release()
	return array.MakeFromData(data)
}

func shapeMapNumeric(name string, r shapeRule, k *Keyed, a *array.String, mem memory.Allocator) (arrow.Array, error) {
	n := a.Len()
	b := newByteBuilder(mem, a.DataType(), n, dataLen(a)+n)
	var buf []byte
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			b.appendNull()
			continue
		}
		v := a.Value(i)
		d, kind, err := pgnumeric.Parse(v)
		if err != nil {
			b.finish().Release()
			// The value is production's: the error says where, never what.
			return nil, fmt.Errorf("%s: row %d of the batch: a value of %d bytes: %w", name, i, len(v), err)
		}
		if kind != pgnumeric.Finite {
			buf = append(buf[:0], v...)
			b.append(buf)
			continue
		}
		if k != nil {
			k.SeedString(v)
		}
		buf, err = r.shapeNumeric(k, buf[:0], d)
		if err != nil {
			b.finish().Release()
			return nil, fmt.Errorf("%s: row %d of the batch: %w", name, i, err)
		}
		b.append(buf)
	}
	return b.finish(), nil
}

// floorDiv is a / b rounded down (Go's / rounds toward zero).
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
