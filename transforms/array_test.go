package transforms

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// arrWire writes a PostgreSQL binary array (array_send): ndim, has-NULL flag, element oid,
// (length, lower bound) per dimension, then each element as int32 length (-1 for NULL) and
// bytes. nil elements are NULL.
func arrWire(elemOID uint32, lens, lbounds []int32, elems ...[]byte) []byte {
	flags := uint32(0)
	for _, e := range elems {
		if e == nil {
			flags = 1
		}
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(len(lens)))
	b = binary.BigEndian.AppendUint32(b, flags)
	b = binary.BigEndian.AppendUint32(b, elemOID)
	for i := range lens {
		b = binary.BigEndian.AppendUint32(b, uint32(lens[i]))
		b = binary.BigEndian.AppendUint32(b, uint32(lbounds[i]))
	}
	for _, e := range elems {
		if e == nil {
			b = binary.BigEndian.AppendUint32(b, 0xFFFFFFFF)
			continue
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

func arrCol(typeName string, oid uint32, typmod int32) Column {
	return Column{Table: "public.t", Name: "tags", TypeName: typeName, BaseOID: oid, Typmod: typmod}
}

var arrTextCol = arrCol("text[]", pgtype.TextArrayOID, -1)

func arrBytes(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// Every element is rewritten; the number of dimensions, their lengths and lower bounds, the
// element type, the NULL flag and the NULL elements come out as they went in.
func TestArrayKeepsDimensionsBoundsAndNulls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const text, varchar = uint32(pgtype.TextOID), uint32(pgtype.VarcharOID)
	in := [][]byte{
		arrWire(text, []int32{3}, []int32{1}, []byte("a"), nil, []byte("bc")),
		arrWire(text, []int32{2, 2}, []int32{0, -3}, []byte("w"), []byte("x"), []byte("y"), []byte("zé")),
		arrWire(text, []int32{2, 1, 2}, []int32{1, 5, 1}, nil, []byte("p"), []byte(""), nil),
		arrWire(text, nil, nil), // '{}'
		arrWire(varchar, []int32{1}, []int32{-2147483648}, []byte("low")),
		arrWire(text, []int32{2}, []int32{1}, nil, nil),
		nil,
		arrWire(text, []int32{6, 1, 1, 1, 1, 1}, []int32{1, 1, 1, 1, 1, 1}, arrBytes("a", "b", "c", "d", "e", "f")...),
	}
	want := [][]byte{
		arrWire(text, []int32{3}, []int32{1}, []byte("A"), nil, []byte("BC")),
		arrWire(text, []int32{2, 2}, []int32{0, -3}, []byte("W"), []byte("X"), []byte("Y"), []byte("ZÉ")),
		arrWire(text, []int32{2, 1, 2}, []int32{1, 5, 1}, nil, []byte("P"), []byte(""), nil),
		arrWire(text, nil, nil),
		arrWire(varchar, []int32{1}, []int32{-2147483648}, []byte("LOW")),
		arrWire(text, []int32{2}, []int32{1}, nil, nil),
		nil,
		arrWire(text, []int32{6, 1, 1, 1, 1, 1}, []int32{1, 1, 1, 1, 1, 1}, arrBytes("A", "B", "C", "D", "E", "F")...),
	}
	got := run(t, shapeNew(t, "array", arrTextCol, nil, params(t, "{element: shape_upper}")), mem, arrow.BinaryTypes.Binary, in)
	for i := range want {
		if !bytes.Equal(got[i], want[i]) || (got[i] == nil) != (want[i] == nil) {
			t.Errorf("row %d:\n got %x\nwant %x", i, got[i], want[i])
		}
	}

	// element: null makes every element NULL and sets the flag; the shape stays.
	got = run(t, shapeNew(t, "array", arrTextCol, nil, params(t, "{element: null}")), mem, arrow.BinaryTypes.Binary, in)
	nulls := [][]byte{
		arrWire(text, []int32{3}, []int32{1}, nil, nil, nil),
		arrWire(text, []int32{2, 2}, []int32{0, -3}, nil, nil, nil, nil),
		arrWire(text, []int32{2, 1, 2}, []int32{1, 5, 1}, nil, nil, nil, nil),
		arrWire(text, nil, nil),
		arrWire(varchar, []int32{1}, []int32{-2147483648}, nil),
		arrWire(text, []int32{2}, []int32{1}, nil, nil),
		nil,
		arrWire(text, []int32{6, 1, 1, 1, 1, 1}, []int32{1, 1, 1, 1, 1, 1}, nil, nil, nil, nil, nil, nil),
	}
	for i := range nulls {
		if !bytes.Equal(got[i], nulls[i]) || (got[i] == nil) != (nulls[i] == nil) {
			t.Errorf("element: null, row %d:\n got %x\nwant %x", i, got[i], nulls[i])
		}
	}
}

// varchar(n)[] and char(n)[] elements are cut to n characters, like the column's own values.
func TestArrayCutsElementsToTheirLength(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	p := "{element: {transform: dictionary, map: {Paris: Zürich, Rome: Hamburg}, default: keep}}"
	for _, tc := range []struct {
		col Column
		oid uint32
	}{
		{arrCol("character varying(3)[]", pgtype.VarcharArrayOID, 7), pgtype.VarcharOID},
		{arrCol("character(3)[]", pgtype.BPCharArrayOID, 7), pgtype.BPCharOID},
	} {
		in := arrWire(tc.oid, []int32{3}, []int32{1}, []byte("Paris"), []byte("Rome"), []byte("Oslo"))
		want := arrWire(tc.oid, []int32{3}, []int32{1}, []byte("Zür"), []byte("Ham"), []byte("Osl"))
		if got := run(t, shapeNew(t, "array", tc.col, nil, params(t, p)), mem, arrow.BinaryTypes.Binary, [][]byte{in}); !bytes.Equal(got[0], want) {
			t.Errorf("%s:\n got %x\nwant %x", tc.col.TypeName, got[0], want)
		}
	}
	// text[] has no length: nothing is cut.
	in := arrWire(pgtype.TextOID, []int32{1}, []int32{1}, []byte("Rome"))
	if got := run(t, shapeNew(t, "array", arrTextCol, nil, params(t, p)), mem, arrow.BinaryTypes.Binary, [][]byte{in}); !bytes.Equal(got[0], arrWire(pgtype.TextOID, []int32{1}, []int32{1}, []byte("Hamburg"))) {
		t.Errorf("text[]: %x", got[0])
	}
}

// A keyed element rule gives each element what it would give the same text in a text column;
// another key gives other values.
func TestArrayKeyedElementsMatchTheirTextColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var choices []string
	for i := 0; i < 1000; i++ {
		choices = append(choices, "c"+strconv.Itoa(i)+": 1")
	}
	rule := "{transform: weighted_choice, choices: {" + strings.Join(choices, ", ") + "}}"
	key1, key2 := testKey(t, "0123456789abcdef-one"), testKey(t, "0123456789abcdef-two")
	elems := arrBytes("red", "green", "blue", "red")
	plain := run(t, shapeNew(t, "weighted_choice", shapeTextCol, key1, params(t, rule)), mem, arrow.BinaryTypes.Binary, elems)
	in := [][]byte{arrWire(pgtype.TextOID, []int32{2, 2}, []int32{1, 1}, elems...)}
	a := run(t, shapeNew(t, "array", arrTextCol, key1, params(t, "{element: "+rule+"}")), mem, arrow.BinaryTypes.Binary, in)
	b := run(t, shapeNew(t, "array", arrTextCol, key2, params(t, "{element: "+rule+"}")), mem, arrow.BinaryTypes.Binary, in)
	if want := arrWire(pgtype.TextOID, []int32{2, 2}, []int32{1, 1}, plain...); !bytes.Equal(a[0], want) {
		t.Errorf("array elements %x, want %x (the text column's outputs %q)", a[0], want, plain)
	}
	if bytes.Equal(a[0], b[0]) {
		t.Error("another key gave the same array")
	}
	// citext[] and name[] take a text rule too.
	for _, c := range []Column{arrCol("citext[]", 91234, -1), arrCol("name[]", pgtype.NameArrayOID, -1)} {
		got := run(t, shapeNew(t, "array", c, nil, params(t, "{element: shape_upper}")), mem, arrow.BinaryTypes.Binary,
			[][]byte{arrWire(91234, []int32{1}, []int32{1}, []byte("x"))})
		if !bytes.Equal(got[0], arrWire(91234, []int32{1}, []int32{1}, []byte("X"))) {
			t.Errorf("%s: %x", c.TypeName, got[0])
		}
	}
}

// A malformed binary array is an error naming the row and what is wrong.
func TestArrayMalformedValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tr := shapeNew(t, "array", arrTextCol, nil, params(t, "{element: shape_upper}"))
	good := arrWire(pgtype.TextOID, []int32{2}, []int32{1}, []byte("a"), []byte("b"))
	set := func(v []byte, off int, x uint32) []byte {
		v = append([]byte{}, v...)
		binary.BigEndian.PutUint32(v[off:], x)
		return v
	}
	for _, tc := range []struct {
		name string
		v    []byte
		want string
	}{
		{"empty", []byte{}, "binary array ends early"},
		{"short header", good[:11], "binary array ends early"},
		{"7 dimensions", set(good, 0, 7), "binary array with 7 dimensions"},
		{"negative dimensions", set(good, 0, 0xFFFFFFFF), "binary array with -1 dimensions"},
		{"bad flags", set(good, 4, 2), "binary array flags 2"},
		{"dimensions cut off", good[:16], "binary array ends early"},
		{"negative length", set(good, 12, 0xFFFFFFFE), "binary array dimension of length -2"},
		{"more elements than bytes", set(good, 12, 1<<30), "binary array ends early"},
		{"element length -2", set(good, 20, 0xFFFFFFFE), "binary array element of length -2"},
		{"element past the end", set(good, 20, 100), "binary array ends early"},
		{"element cut off", good[:len(good)-1], "binary array ends early"},
		{"bytes after the last element", append(append([]byte{}, good...), 0), "binary array has 1 bytes after its last element"},
	} {
		rec := batch(mem, arrow.BinaryTypes.Binary, [][]byte{good, tc.v})
		out, err := tr.Transform(rec, 0, mem)
		rec.Release()
		if err == nil {
			out.Release()
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), "row 1 of the batch") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, err, tc.want)
		}
	}
}

func TestArrayRefusals(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	uniq := arrTextCol
	uniq.Unique = true
	for _, tc := range []struct {
		col  Column
		key  *Key
		p    string
		want string
	}{
		{arrCol("integer", pgtype.Int4OID, -1), key, "{element: shape_upper}", "column type integer is not one"},
		{arrCol("text", pgtype.TextOID, -1), key, "{element: shape_upper}", "column type text is not one"},
		{arrCol("integer[]", pgtype.Int4ArrayOID, -1), key, "{element: shape_upper}", "column type integer[] is not one"},
		{arrCol("citext", 91234, -1), key, "{element: shape_upper}", "column type citext is not one"},
		{arrTextCol, key, "", "array needs element"},
		{arrTextCol, key, "{element: emial}", `element: unknown transformer "emial"`},
		{arrTextCol, key, "{element: round}", "round changes numbers"},
		{arrTextCol, key, "{element: {transform: dictionary, map: {a: ~}}}", "dictionary does not rewrite text values one by one"},
		{arrTextCol, nil, "{element: {transform: weighted_choice, choices: {a: 1}}}", "UNDERSTUDY_KEY"},
		{uniq, key, "{element: shape_upper}", "column tags is unique"},
		{arrTextCol, key, "{element: shape_upper, elements: x}", `did you mean "element"`},
	} {
		if got := shapeErr(t, "array", tc.col, tc.key, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

// Any bytes: an error or, with a rule that keeps every element, the same bytes back; with
// element: null, the same header and as many elements, all NULL.
func FuzzArray(f *testing.F) {
	f.Add(arrWire(pgtype.TextOID, []int32{3}, []int32{1}, []byte("a"), nil, []byte("bc")))
	f.Add(arrWire(pgtype.TextOID, []int32{2, 2}, []int32{0, -3}, arrBytes("w", "x", "y", "z")...))
	f.Add(arrWire(pgtype.TextOID, nil, nil))
	f.Add(arrWire(pgtype.TextOID, []int32{1 << 20}, []int32{1}, []byte("a")))
	keep := shapeNew(f, "array", arrTextCol, nil, shapeParamsTB(f, `{element: {transform: dictionary, map: {"\u0000never": x}}}`))
	null := shapeNew(f, "array", arrTextCol, nil, shapeParamsTB(f, "{element: null}"))
	f.Fuzz(func(t *testing.T, v []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		rec := batch(mem, arrow.BinaryTypes.Binary, [][]byte{v})
		defer rec.Release()
		out, err := keep.Transform(rec, 0, mem)
		if err != nil {
			return
		}
		got := append([]byte{}, out.(*array.Binary).Value(0)...)
		out.Release()
		if !bytes.Equal(got, v) {
			t.Fatalf("%x came back as %x", v, got)
		}
		out, err = null.Transform(rec, 0, mem)
		if err != nil {
			t.Fatalf("%x: keep took it, null did not: %v", v, err)
		}
		defer out.Release()
		n := out.(*array.Binary).Value(0)
		if _, elems, err := arrayParse(n, nil); err != nil || len(n) < 12 || !bytes.Equal(n[8:12], v[8:12]) {
			t.Fatalf("%x became %x under null (%v)", v, n, err)
		} else {
			for _, e := range elems {
				if e.n != -1 {
					t.Fatalf("%x became %x under null: an element is not NULL", v, n)
				}
			}
		}
	})
}

func BenchmarkArray(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		tag := []byte("tag" + strconv.Itoa(i))
		vals[i] = string(arrWire(pgtype.TextOID, []int32{4}, []int32{1}, tag, []byte("vip"), nil, []byte("newsletter")))
	}
	tr := shapeNew(b, "array", arrTextCol, key, shapeParamsTB(b, "{element: {transform: weighted_choice, choices: {a: 1, b: 2, c: 3}}}"))
	shapeBench(b, tr, arrow.BinaryTypes.Binary, vals)
}
