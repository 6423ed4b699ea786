package transforms

import (
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"
)

// jsonRule rewrites values inside JSON documents: each path of a small JSONPath subset ($,
// .key, ["key"], [n], [*], .*) names the values a text rule rewrites. Only string values are
// rewritten (numbers, booleans, objects and arrays are left as they are), except by the rule
// null, which makes any value it reaches JSON null. Everything else stays byte for byte:
// whitespace, key order, duplicate keys, number spellings; only the replaced values are
// written anew. A value reached by several paths is rewritten by the first in the config
// that takes it (a text rule takes strings only, null takes anything).
type jsonRule struct {
	paths []jsonPath
	jsonb bool // raw jsonb wire bytes carry a version byte first
}

var (
	_ Transformer = (*jsonRule)(nil)
	_ NativeInput = (*jsonRule)(nil)
	_ Passthrough = (*jsonRule)(nil)
)

// Passthrough passes on the declaration of the first path rule that copies values as they
// are. (What no path reaches is kept by design, as the rule says.)
func (t *jsonRule) Passthrough() string {
	for _, p := range t.paths {
		if r, ok := p.rule.(Passthrough); ok && r.Passthrough() != "" {
			return "json's rule at " + p.text + ": " + r.Passthrough()
		}
	}
	return ""
}

type jsonParams struct {
	Paths yaml.Node `yaml:"paths"`
}

// jsonMaxPaths bounds the paths of one rule: the walker tracks them in a 64-bit mask.
const jsonMaxPaths = 64

func newJSON(env Env) (Transformer, error) {
	var p jsonParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	t := &jsonRule{jsonb: c.BaseOID == pgtype.JSONBOID}
	if c.BaseOID != pgtype.JSONOID && c.BaseOID != pgtype.JSONBOID && !IsTextType(c) {
		return nil, fmt.Errorf("json rewrites JSON documents in json, jsonb and text columns; column type %s is not one", c.TypeName)
	}
	n := &p.Paths
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil, errors.New(`json needs paths, a mapping of path to rule, e.g. {transform: json, paths: {"$.email": email, "$.tags[*]": {transform: hash, length: 8}}}`)
	}
	if len(n.Content)/2 > jsonMaxPaths {
		return nil, fmt.Errorf("json takes at most %d paths", jsonMaxPaths)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		segs, err := jsonPathParse(k.Value)
		if err != nil {
			return nil, fmt.Errorf("paths: line %d: %w", k.Line, err)
		}
		for _, q := range t.paths {
			if q.text == k.Value {
				return nil, fmt.Errorf("paths: line %d: %s is listed twice", k.Line, k.Value)
			}
		}
		sub := Column{Table: c.Table, Name: c.Name + " " + k.Value, TypeName: "text", BaseOID: pgtype.TextOID, Typmod: -1}
		maxChars := 0
		if like, ok := env.PathColumns[k.Value]; ok {
			sub = like
			maxChars = TextBatch(nil, like).(textBatch).maxChars
		}
		rule, _, _, err := subRule(env, n.Content[i+1], sub, "paths: "+k.Value)
		if err != nil {
			return nil, err
		}
		t.paths = append(t.paths, jsonPath{text: k.Value, segs: segs, rule: rule, maxChars: maxChars})
	}
	if err := shapeNotUnique("json", c, "rewriting parts of two documents can make them equal"); err != nil {
		return nil, err
	}
	return t, nil
}

// NativeInput: json and jsonb then arrive as their JSON text.
func (t *jsonRule) NativeInput() bool { return true }

func (t *jsonRule) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	arr := rec.Column(col)
	in, err := asBytes(arr)
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	_, raw := arr.(*array.Binary)
	w := &jsonWalker{paths: t.paths, keyed: make([]*Keyed, len(t.paths))}
	for i, p := range t.paths {
		if p.rule != nil {
			w.keyed[i] = keyedFor(p.rule)
		}
	}
	n := arr.Len()
	b := newByteBuilder(mem, arr.DataType(), n, dataLen(arr))
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.appendNull()
			continue
		}
		v := in.value(i)
		w.out = w.out[:0]
		if raw && t.jsonb {
			if len(v) == 0 || v[0] != 1 {
				b.finish().Release()
				return nil, fmt.Errorf("json: row %d of the batch: jsonb without its version byte 1", i)
			}
			w.out = append(w.out, 1)
			v = v[1:]
		}
		if err := w.document(v); err != nil {
			b.finish().Release()
			return nil, fmt.Errorf("json: row %d of the batch: %w", i, err)
		}
		b.append(w.out)
	}
	return b.finish(), nil
}
