package pipeline

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
	"github.com/understudy-dev/understudy/transforms"
)

// What runs per batch of a scaled table: copy i of a batch, with every remapped column moved
// (see scale_plan.go for how the plan chooses the remaps and the copies' rules).

// Remap moves one column's values in copies i > 0.
type Remap struct {
	Index  int // position in TablePlan.Columns
	Column schemas.Column
	// Domain names the key column whose values these are: the column itself, or the key it
	// references.
	Domain string
	kind   transforms.Kind
	span   int64  // integers
	max    int64  // integers: the domain's largest source value
	sep    string // text
	subkey []byte // uuid
}

// remapKindOf is c's kind when scaling can move its values (integers, uuid, text and
// varchar), else KindNone.
func remapKindOf(c schemas.Column) transforms.Kind {
	switch k := transforms.KindOf(c.BaseOID); {
	case k.IsInt(), k == transforms.KindUUID, k == transforms.KindText:
		return k
	}
	return transforms.KindNone
}

// rulesOf returns the rules of copy i.
func (t *TablePlan) rulesOf(i int) []ColumnRule {
	if i == 0 {
		return t.Rules
	}
	return t.copyRules[i-1]
}

// copies is the number of rows written per source row.
func (t *TablePlan) copies() int { return max(t.Copies, 1) }

// streamColumns describes the columns for the transform stage: ArrowColumns, with the
// columns a copy's jitter reads decoded natively too.
func streamColumns(t *TablePlan) []pgarrow.Column {
	cols := ArrowColumns(t)
	if len(t.copyRules) > 0 { // every copy has its rules on the same columns
		for _, r := range t.copyRules[0] {
			cols[r.Index].Native = cols[r.Index].Native || r.Native
		}
	}
	return cols
}

// remapBatch returns copy i of rec: every remapped column moved.
func (t *TablePlan) remapBatch(rec arrow.Record, i int, mem memory.Allocator) (arrow.Record, error) {
	cur := rec
	cur.Retain()
	for _, m := range t.Remaps {
		a, err := m.apply(cur.Column(m.Index), i, mem)
		if err != nil {
			cur.Release()
			return nil, fmt.Errorf("scale %s.%s: %w", t.Name, m.Column.Name, err)
		}
		next := withColumn(cur, m.Index, a)
		a.Release()
		cur.Release()
		cur = next
	}
	return cur, nil
}

// apply moves the values of a into copy i.
func (m *Remap) apply(a arrow.Array, i int, mem memory.Allocator) (arrow.Array, error) {
	off := int64(i) * m.span
	switch a := a.(type) {
	case *array.Int16:
		return shiftInts[int16](a, array.NewInt16Builder(mem), off), nil
	case *array.Int32:
		return shiftInts[int32](a, array.NewInt32Builder(mem), off), nil
	case *array.Int64:
		return shiftInts[int64](a, array.NewInt64Builder(mem), off), nil
	case *array.FixedSizeBinary:
		b := array.NewFixedSizeBinaryBuilder(mem, a.DataType().(*arrow.FixedSizeBinaryType))
		defer b.Release()
		for j := 0; j < a.Len(); j++ {
			if a.IsNull(j) {
				b.AppendNull()
			} else {
				b.Append(m.uuid(a.Value(j), i))
			}
		}
		return b.NewArray(), nil
	case *array.String:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		suffix := m.sep + strconv.Itoa(i)
		for j := 0; j < a.Len(); j++ {
			if a.IsNull(j) {
				b.AppendNull()
			} else {
				b.Append(a.Value(j) + suffix)
			}
		}
		return b.NewArray(), nil
	case *array.Binary: // raw wire bytes
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		defer b.Release()
		suffix := []byte(m.sep + strconv.Itoa(i))
		var buf []byte
		for j := 0; j < a.Len(); j++ {
			if a.IsNull(j) {
				b.AppendNull()
				continue
			}
			v := a.Value(j)
			buf = buf[:0]
			switch m.kind {
			case transforms.KindInt2:
				if len(v) != 2 {
					return nil, fmt.Errorf("a smallint of %d bytes", len(v))
				}
				buf = binary.BigEndian.AppendUint16(buf, uint16(int64(int16(binary.BigEndian.Uint16(v)))+off))
			case transforms.KindInt4:
				if len(v) != 4 {
					return nil, fmt.Errorf("an integer of %d bytes", len(v))
				}
				buf = binary.BigEndian.AppendUint32(buf, uint32(int64(int32(binary.BigEndian.Uint32(v)))+off))
			case transforms.KindInt8:
				if len(v) != 8 {
					return nil, fmt.Errorf("a bigint of %d bytes", len(v))
				}
				buf = binary.BigEndian.AppendUint64(buf, uint64(int64(binary.BigEndian.Uint64(v))+off))
			case transforms.KindUUID:
				if len(v) != 16 {
					return nil, fmt.Errorf("a uuid of %d bytes", len(v))
				}
				buf = append(buf, m.uuid(v, i)...)
			case transforms.KindText:
				buf = append(append(buf, v...), suffix...)
			}
			b.Append(buf)
		}
		return b.NewArray(), nil
	}
	return nil, fmt.Errorf("cannot move values held as %s", a.DataType())
}

type intArray[T int16 | int32 | int64] interface {
	Len() int
	IsNull(int) bool
	Value(int) T
}

type intBuilder[T int16 | int32 | int64] interface {
	array.Builder
	Append(T)
}

// shiftInts adds off to every value of a (the plan checked it cannot overflow).
func shiftInts[T int16 | int32 | int64](a intArray[T], b intBuilder[T], off int64) arrow.Array {
	defer b.Release()
	b.Reserve(a.Len())
	for j := 0; j < a.Len(); j++ {
		if a.IsNull(j) {
			b.AppendNull()
		} else {
			b.Append(T(int64(a.Value(j)) + off))
		}
	}
	return b.NewArray()
}

// uuid is copy i of a uuid key: the first 16 bytes of HMAC-SHA256(subkey, i ‖ v), marked as
// a version 4 (random) uuid.
func (m *Remap) uuid(v []byte, i int) []byte {
	h := hmac.New(sha256.New, m.subkey)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(i))
	h.Write(n[:])
	h.Write(v)
	out := h.Sum(nil)[:16]
	out[6] = out[6]&0x0f | 0x40
	out[8] = out[8]&0x3f | 0x80
	return out
}

// Describe says how the remap moves a value of copy i, for plan.
func (m Remap) Describe() string {
	switch m.kind {
	case transforms.KindUUID:
		return "keyed uuid of (copy, value)"
	case transforms.KindText:
		return fmt.Sprintf("value + %q + copy", m.sep)
	}
	return fmt.Sprintf("value + copy × %d", m.span)
}
