package transforms

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"
)

// dictionary replaces text values found in a fixed map (exact match; in a char(n) column
// without the trailing spaces that pad the value, as PostgreSQL compares them), and does with
// the others what default says: keep them, make them NULL, or write one fixed value. It draws
// nothing, so it needs no key. Without NULL outcomes it is a TextRule (usable inside json
// and array); with them it builds the batch itself.
type dictionary struct {
	m    map[string]dictionaryOut
	def  dictionaryOut
	null bool // some outcome is NULL
	max  int  // varchar(n)/char(n) length, 0 if none
	trim bool // char(n): values arrive padded with spaces
}

type dictionaryOut struct {
	val  []byte
	keep bool
	null bool
}

var (
	_ TextRule    = (*dictionary)(nil)
	_ Transformer = (*dictionary)(nil)
	_ UniqueSafe  = (*dictionary)(nil)
	_ Passthrough = (*dictionary)(nil)
)

type dictionaryParams struct {
	Map     yaml.Node `yaml:"map"`
	Default yaml.Node `yaml:"default"`
}

func newDictionary(env Env) (Transformer, error) {
	var p dictionaryParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	if !IsTextType(c) {
		return nil, fmt.Errorf("dictionary maps text; column type %s does not take it", c.TypeName)
	}
	n := &p.Map
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil, errors.New(`dictionary needs map, e.g. {transform: dictionary, map: {Paris: Lyon, Berlin: Hamburg}, default: keep}`)
	}
	t := &dictionary{m: map[string]dictionaryOut{}, trim: c.BaseOID == pgtype.BPCharOID}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			return nil, fmt.Errorf("map: line %d: a key is a text value (NULL stays NULL anyway)", k.Line)
		}
		key := k.Value
		if t.trim {
			key = strings.TrimRight(key, " ")
		}
		if _, dup := t.m[key]; dup {
			return nil, fmt.Errorf("map: line %d: %q is mapped twice", k.Line, k.Value)
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("map: line %d: %q maps to a text value or null", v.Line, k.Value)
		}
		o := dictionaryOut{val: []byte(v.Value), null: v.Tag == "!!null"}
		t.null = t.null || o.null
		t.m[key] = o
	}
	switch d := &p.Default; {
	case d.Kind == 0 || d.Kind == yaml.ScalarNode && d.Style == 0 && d.Value == "keep":
		t.def.keep = true
	case d.Kind == yaml.ScalarNode && d.Tag == "!!null":
		t.def.null, t.null = true, true
	case d.Kind == yaml.ScalarNode:
		t.def.val = []byte(d.Value)
	default:
		return nil, fmt.Errorf(`default: line %d: use keep, null or a text value ("keep" in quotes for the word itself)`, d.Line)
	}
	if t.null && c.NotNull {
		return nil, fmt.Errorf("column %s is NOT NULL, but the dictionary maps some values to NULL", c.Name)
	}
	if (c.BaseOID == pgtype.VarcharOID || c.BaseOID == pgtype.BPCharOID) && c.Typmod > 4 {
		t.max = int(c.Typmod - 4)
	}
	if c.Unique && !t.UniqueSafe() {
		if long := t.longValue(); long != "" {
			return nil, fmt.Errorf("dictionary maps to %q, longer than the %d characters of column %s; cut to fit, it could equal another value, and the column is unique", long, t.max, c.Name)
		}
		return nil, fmt.Errorf("dictionary can give two rows the same value, and column %s is unique; only a map that permutes its own keys with default: keep is safe there", c.Name)
	}
	if t.null || c.Unique {
		// Builds its batches itself: NULL outcomes, or a unique column, where the pipeline
		// asks the transformer itself whether it is UniqueSafe.
		return t, nil
	}
	return TextBatch(t, c), nil
}

// UniqueSafe: a map that permutes its own keys, unmapped values kept, is a bijection, as long
// as no value is cut to the column's length (which could make it equal a kept value).
func (t *dictionary) UniqueSafe() bool {
	if !t.def.keep || t.null || t.longValue() != "" {
		return false
	}
	to := map[string]bool{}
	for _, o := range t.m {
		v := string(o.val)
		if t.trim {
			v = strings.TrimRight(v, " ")
		}
		to[v] = true
	}
	if len(to) != len(t.m) {
		return false
	}
	for k := range t.m {
		if !to[k] {
			return false
		}
	}
	return true
}

// Passthrough: with default keep (also when default is left out), the values the map does
// not list are copied as they are.
func (t *dictionary) Passthrough() string {
	if !t.def.keep {
		return ""
	}
	return "dictionary copies the values its map does not list as they are (default: keep); give it default: null or a text to replace them"
}

// longValue is a mapped value longer than the column's varchar(n)/char(n), or "".
func (t *dictionary) longValue() string {
	if t.max == 0 {
		return ""
	}
	for _, o := range t.m {
		if !o.null && utf8.RuneCount(o.val) > t.max {
			return string(o.val)
		}
	}
	return ""
}

func (t *dictionary) Subkey() []byte { return nil }

func (t *dictionary) out(in []byte) dictionaryOut {
	if t.trim {
		in = bytes.TrimRight(in, " ")
	}
	if o, ok := t.m[string(in)]; ok {
		return o
	}
	return t.def
}

func (t *dictionary) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	o := t.out(in)
	if o.keep {
		return append(dst, in...), nil
	}
	return append(dst, o.val...), nil // a NULL outcome never gets here: see Transform
}

// Transform serves a dictionary with NULL outcomes or on a unique column; the others go
// through TextBatch.
func (t *dictionary) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	arr := rec.Column(col)
	in, err := asBytes(arr)
	if err != nil {
		return nil, fmt.Errorf("dictionary: %w", err)
	}
	n := arr.Len()
	b := newByteBuilder(mem, arr.DataType(), n, dataLen(arr))
	var buf []byte
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.appendNull()
			continue
		}
		v := in.value(i)
		o := t.out(v)
		switch {
		case o.null:
			b.appendNull()
		case o.keep:
			b.append(v)
		default:
			buf = append(buf[:0], o.val...)
			if t.max > 0 {
				buf = cutChars(buf, t.max)
			}
			b.append(buf)
		}
	}
	return b.finish(), nil
}
