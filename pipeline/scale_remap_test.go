package pipeline

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/transforms"
)

// A key moves the same way whether its column is decoded or carried as wire bytes: a rule
// may ask for either, and a reference must land on its key in both cases.
func TestRemapNativeAndRawAgree(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ints := Remap{kind: transforms.KindInt8, span: 1000}
	nb := array.NewInt64Builder(mem)
	nb.AppendValues([]int64{1, 999, -5}, nil)
	nb.AppendNull()
	native := nb.NewArray()
	nb.Release()
	rb := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	for _, v := range []int64{1, 999, -5} {
		rb.Append(binary.BigEndian.AppendUint64(nil, uint64(v)))
	}
	rb.AppendNull()
	raw := rb.NewArray()
	rb.Release()
	defer native.Release()
	defer raw.Release()
	for i := 1; i <= 3; i++ {
		a, err := ints.apply(native, i, mem)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ints.apply(raw, i, mem)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range []int64{1, 999, -5} {
			want := v + int64(i)*1000
			if got := a.(*array.Int64).Value(j); got != want {
				t.Errorf("copy %d of %d: native %d, want %d", i, v, got, want)
			}
			if got := int64(binary.BigEndian.Uint64(b.(*array.Binary).Value(j))); got != want {
				t.Errorf("copy %d of %d: raw %d, want %d", i, v, got, want)
			}
		}
		if !a.IsNull(3) || !b.IsNull(3) {
			t.Errorf("copy %d: a NULL key did not stay NULL", i)
		}
		a.Release()
		b.Release()
	}

	u := Remap{kind: transforms.KindUUID, subkey: []byte("k")}
	in := bytes.Repeat([]byte{7}, 16)
	ub := array.NewFixedSizeBinaryBuilder(mem, &arrow.FixedSizeBinaryType{ByteWidth: 16})
	ub.Append(in)
	fixed := ub.NewArray()
	ub.Release()
	defer fixed.Release()
	rb = array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	rb.Append(in)
	rawUUID := rb.NewArray()
	rb.Release()
	defer rawUUID.Release()
	seen := map[string]bool{string(in): true}
	for i := 1; i <= 3; i++ {
		a, _ := u.apply(fixed, i, mem)
		b, _ := u.apply(rawUUID, i, mem)
		got := a.(*array.FixedSizeBinary).Value(0)
		if !bytes.Equal(got, b.(*array.Binary).Value(0)) {
			t.Errorf("copy %d: native and raw uuids differ", i)
		}
		if got[6]>>4 != 4 || got[8]>>6 != 2 {
			t.Errorf("copy %d: %x is not a version 4 uuid", i, got)
		}
		if seen[string(got)] {
			t.Errorf("copy %d repeats a uuid", i)
		}
		seen[string(got)] = true
		a.Release()
		b.Release()
	}
}
