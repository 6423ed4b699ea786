package when

import (
	"fmt"
	"math/bits"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// A conditional rule runs its transformer on Mask(column) and keeps Merge(column, output):
// the transformer never sees the values of rows it is not to rewrite, and those rows keep
// their original values exactly.

// Mask returns arr with every row outside s turned NULL (rows past the end of s count as
// outside). It shares arr's value buffers and allocates only a validity bitmap, so it works
// for every Arrow type. The caller releases the result; arr is not released.
func (s Selection) Mask(mem memory.Allocator, arr arrow.Array) arrow.Array {
	d := arr.Data()
	n, off := d.Len(), d.Offset()
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(int(bitutil.BytesForBits(int64(off + n))))
	dst := buf.Bytes()
	clear(dst)
	var src []byte
	if arr.NullN() > 0 {
		src = arr.NullBitmapBytes()
	}
	valid := 0
	if off == 0 {
		for k := range dst {
			var b byte
			if k/8 < len(s) {
				b = byte(s[k/8] >> (8 * (k % 8)))
			}
			if src != nil {
				if k < len(src) {
					b &= src[k]
				} else {
					b = 0
				}
			}
			if r := n - 8*k; r < 8 {
				b &= 1<<r - 1 // no bits past the last row
			}
			dst[k] = b
			valid += bits.OnesCount8(b)
		}
	} else {
		for i := 0; i < n && i>>6 < len(s); i++ {
			if s.Has(i) && (src == nil || bitutil.BitIsSet(src, off+i)) {
				bitutil.SetBit(dst, off+i)
				valid++
			}
		}
	}
	bufs := append([]*memory.Buffer{buf}, d.Buffers()[1:]...)
	data := array.NewData(d.DataType(), n, bufs, d.Children(), n-valid, off)
	defer data.Release()
	return array.MakeFromData(data)
}

// Merge returns an array with out's value in every row s selects and orig's in every other
// row, bytes unchanged. orig and out must have the same type and length. It handles the
// types schemas/pgarrow produces: Boolean, fixed-width types, Binary and String. The caller
// releases the result; orig and out are not released.
func (s Selection) Merge(mem memory.Allocator, orig, out arrow.Array) (arrow.Array, error) {
	if !arrow.TypeEqual(orig.DataType(), out.DataType()) || orig.Len() != out.Len() {
		return nil, fmt.Errorf("merge %d values of %s with %d of %s", out.Len(), out.DataType(), orig.Len(), orig.DataType())
	}
	n := orig.Len()
	if len(s) < Words(n) {
		return nil, fmt.Errorf("merge: a selection of %d words for %d rows", len(s), n)
	}
	pick := func(i int) arrow.Array {
		if s.Has(i) {
			return out
		}
		return orig
	}
	validity := memory.NewResizableBuffer(mem)
	defer validity.Release()
	validity.Resize(int(bitutil.BytesForBits(int64(n))))
	vb := validity.Bytes()
	clear(vb)
	nulls := 0
	for i := 0; i < n; i++ {
		if pick(i).IsValid(i) {
			bitutil.SetBit(vb, i)
		} else {
			nulls++
		}
	}
	var bufs []*memory.Buffer
	newBuf := func(size int) []byte {
		b := memory.NewResizableBuffer(mem)
		b.Resize(size)
		bufs = append(bufs, b)
		return b.Bytes()
	}
	defer func() {
		for _, b := range bufs {
			b.Release()
		}
	}()
	dt := orig.DataType()
	switch t := dt.(type) {
	case *arrow.BooleanType:
		dst := newBuf(int(bitutil.BytesForBits(int64(n))))
		clear(dst)
		for i := 0; i < n; i++ {
			a := pick(i)
			if a.IsValid(i) && a.(*array.Boolean).Value(i) {
				bitutil.SetBit(dst, i)
			}
		}
	case *arrow.BinaryType, *arrow.StringType:
		ov, oo := varLayout(orig)
		nv, no := varLayout(out)
		size := 0
		for i := 0; i < n; i++ {
			if s.Has(i) {
				size += int(no[i+1] - no[i])
			} else {
				size += int(oo[i+1] - oo[i])
			}
		}
		offs := arrow.Int32Traits.CastFromBytes(newBuf(arrow.Int32Traits.BytesRequired(n + 1)))
		data := newBuf(size)
		pos := int32(0)
		for i := 0; i < n; i++ {
			offs[i] = pos
			if s.Has(i) {
				pos += int32(copy(data[pos:], nv[no[i]:no[i+1]]))
			} else {
				pos += int32(copy(data[pos:], ov[oo[i]:oo[i+1]]))
			}
		}
		offs[n] = pos
	case arrow.FixedWidthDataType:
		if t.BitWidth()%8 != 0 || len(orig.Data().Buffers()) != 2 {
			return nil, fmt.Errorf("merge: values of type %s are not supported", dt)
		}
		w := t.BitWidth() / 8
		ob, nb := fixedLayout(orig, w), fixedLayout(out, w)
		dst := newBuf(n * w)
		copy(dst, ob)
		forEach(s, func(i int) { copy(dst[i*w:(i+1)*w], nb[i*w:(i+1)*w]) })
	default:
		return nil, fmt.Errorf("merge: values of type %s are not supported", dt)
	}
	data := array.NewData(dt, n, append([]*memory.Buffer{validity}, bufs...), nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// varLayout returns a Binary or String array's value bytes and its n+1 offsets into them.
func varLayout(a arrow.Array) (values []byte, offsets []int32) {
	d := a.Data()
	b := d.Buffers()
	if b[1] != nil {
		offsets = arrow.Int32Traits.CastFromBytes(b[1].Bytes())[d.Offset() : d.Offset()+d.Len()+1]
	} else {
		offsets = make([]int32, d.Len()+1) // an empty array may have no offsets
	}
	if b[2] != nil {
		values = b[2].Bytes()
	}
	return values, offsets
}

// fixedLayout returns the n×w value bytes of a fixed-width array.
func fixedLayout(a arrow.Array, w int) []byte {
	d := a.Data()
	b := d.Buffers()[1]
	if b == nil {
		return make([]byte, d.Len()*w)
	}
	return b.Bytes()[d.Offset()*w : (d.Offset()+d.Len())*w]
}
