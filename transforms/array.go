package transforms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"
)

// arrayRule applies a text rule to every non-NULL element of text[], varchar[], char[],
// name[] or citext[] values. Dimensions, lower bounds and NULL elements are kept byte for
// byte; only the elements' bytes change (cut to n characters for varchar(n)[] and
// char(n)[]). The rule null makes every element NULL, keeping the dimensions.
type arrayRule struct {
	elem    TextRule // nil for null
	maxChar int
}

var (
	_ Transformer = (*arrayRule)(nil)
	_ Passthrough = (*arrayRule)(nil)
)

// Passthrough passes on the element rule's declaration.
func (t *arrayRule) Passthrough() string {
	if p, ok := t.elem.(Passthrough); ok && p.Passthrough() != "" {
		return "array's element rule " + p.Passthrough()
	}
	return ""
}

type arrayParams struct {
	Element yaml.Node `yaml:"element"`
}

func newArray(env Env) (Transformer, error) {
	var p arrayParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	elem := Column{Table: c.Table, Name: c.Name + "[]", TypeName: strings.TrimSuffix(c.TypeName, "[]"), Typmod: c.Typmod}
	switch c.BaseOID {
	case pgtype.TextArrayOID:
		elem.BaseOID = pgtype.TextOID
	case pgtype.VarcharArrayOID:
		elem.BaseOID = pgtype.VarcharOID
	case pgtype.BPCharArrayOID:
		elem.BaseOID = pgtype.BPCharOID
	case pgtype.NameArrayOID:
		elem.BaseOID = pgtype.NameOID
	default:
		if !isCitext(elem.TypeName) || !strings.HasSuffix(c.TypeName, "[]") {
			return nil, fmt.Errorf("array rewrites the elements of text arrays (text[], varchar[], char[], name[], citext[]); column type %s is not one", c.TypeName)
		}
	}
	if p.Element.Kind == 0 {
		return nil, errors.New("array needs element, the rule for each element, e.g. {transform: array, element: email} or element: {transform: hash, length: 12}")
	}
	t := &arrayRule{}
	var err error
	if t.elem, _, _, err = subRule(env, &p.Element, elem, "element"); err != nil {
		return nil, err
	}
	if (elem.BaseOID == pgtype.VarcharOID || elem.BaseOID == pgtype.BPCharOID) && c.Typmod > 4 {
		t.maxChar = int(c.Typmod - 4)
	}
	if err := shapeNotUnique("array", c, "rewriting elements can make two arrays equal"); err != nil {
		return nil, err
	}
	return t, nil
}

// PostgreSQL's binary array (array_send / array_recv), all integers big-endian:
//
//	int32  ndim            number of dimensions, 0 (an empty array) to 6
//	int32  flags           1 if some element is NULL, else 0
//	uint32 element type    oid
//	ndim × (int32 length, int32 lower bound)
//	for each element, in row-major order, as many as the product of the lengths:
//	  int32 byte length, -1 for NULL
//	  that many bytes: the element's own binary form (for text, its UTF-8 bytes)
const (
	arrayMaxDim    = 6
	arrayHeaderLen = 12
)

var errArrayShort = errors.New("binary array ends early")

// arrayElem locates an element in the input: n bytes at off, or n = -1 for NULL.
type arrayElem struct{ off, n int }

// arrayParse checks v and returns the length of its header (everything before the first
// element) and its elements, appended to elems.
func arrayParse(v []byte, elems []arrayElem) (int, []arrayElem, error) {
	if len(v) < arrayHeaderLen {
		return 0, elems, errArrayShort
	}
	ndim := int32(binary.BigEndian.Uint32(v))
	if ndim < 0 || ndim > arrayMaxDim {
		return 0, elems, fmt.Errorf("binary array with %d dimensions", ndim)
	}
	if f := binary.BigEndian.Uint32(v[4:]); f > 1 {
		return 0, elems, fmt.Errorf("binary array flags %d", f)
	}
	head := arrayHeaderLen + 8*int(ndim)
	if len(v) < head {
		return 0, elems, errArrayShort
	}
	// Every element takes at least 4 bytes, which bounds the count without overflow.
	room := (len(v) - head) / 4
	n := 1
	if ndim == 0 {
		n = 0
	}
	for d := 0; d < int(ndim); d++ {
		l := int32(binary.BigEndian.Uint32(v[arrayHeaderLen+8*d:]))
		if l < 0 {
			return 0, elems, fmt.Errorf("binary array dimension of length %d", l)
		}
		if l == 0 {
			n = 0
		} else if n > 0 && int(l) > room/n {
			return 0, elems, errArrayShort
		} else {
			n *= int(l)
		}
	}
	pos := head
	for i := 0; i < n; i++ {
		if len(v)-pos < 4 {
			return 0, elems, errArrayShort
		}
		l := int32(binary.BigEndian.Uint32(v[pos:]))
		pos += 4
		switch {
		case l == -1:
			elems = append(elems, arrayElem{off: pos, n: -1})
		case l < 0:
			return 0, elems, fmt.Errorf("binary array element of length %d", l)
		case int(l) > len(v)-pos:
			return 0, elems, errArrayShort
		default:
			elems = append(elems, arrayElem{off: pos, n: int(l)})
			pos += int(l)
		}
	}
	if pos != len(v) {
		return 0, elems, fmt.Errorf("binary array has %d bytes after its last element", len(v)-pos)
	}
	return head, elems, nil
}

// arrayAppendElem appends one element (nil for NULL) in the binary array's form.
func arrayAppendElem(dst, e []byte) []byte {
	if e == nil {
		return binary.BigEndian.AppendUint32(dst, 0xFFFFFFFF)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(e)))
	return append(dst, e...)
}

// arraySetNullFlag marks an emitted array as holding NULLs.
func arraySetNullFlag(out []byte) { binary.BigEndian.PutUint32(out[4:], 1) }

func (t *arrayRule) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	arr := rec.Column(col)
	in, err := asBytes(arr)
	if err != nil {
		return nil, fmt.Errorf("array: %w", err)
	}
	var k *Keyed
	if t.elem != nil {
		k = keyedFor(t.elem)
	}
	n := arr.Len()
	b := newByteBuilder(mem, arr.DataType(), n, dataLen(arr))
	var elems []arrayElem
	var out, buf []byte
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.appendNull()
			continue
		}
		v := in.value(i)
		var head int
		if head, elems, err = arrayParse(v, elems[:0]); err != nil {
			b.finish().Release()
			return nil, fmt.Errorf("array: row %d of the batch: %w", i, err)
		}
		out = append(out[:0], v[:head]...)
		for _, e := range elems {
			if e.n < 0 || t.elem == nil {
				out = arrayAppendElem(out, nil)
				continue
			}
			ev := v[e.off : e.off+e.n]
			if k != nil {
				k.Seed(ev)
			}
			if buf, err = t.elem.Text(k, buf[:0], ev); err != nil {
				b.finish().Release()
				return nil, fmt.Errorf("array: row %d of the batch: %w", i, err)
			}
			if t.maxChar > 0 {
				buf = cutChars(buf, t.maxChar)
			}
			if buf == nil {
				buf = []byte{}
			}
			out = arrayAppendElem(out, buf)
		}
		if t.elem == nil && len(elems) > 0 {
			arraySetNullFlag(out)
		}
		b.append(out)
	}
	return b.finish(), nil
}
