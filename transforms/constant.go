package transforms

import (
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// constantTransformer replaces every value with one fixed value.
type constantTransformer struct {
	wire     []byte // the value in the column type's binary wire form (raw columns)
	text     []byte // the value as written (native text columns)
	keepNull bool
}

var _ Transformer = (*constantTransformer)(nil)

type constantParams struct {
	Value    *string `yaml:"value"`
	KeepNull *bool   `yaml:"keep_null"`
}

func newConstant(env Env) (Transformer, error) {
	var p constantParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	if env.Column.Unique {
		return nil, errors.New("the column is unique: one constant value for every row would break the constraint")
	}
	if p.Value == nil {
		return nil, errors.New(`constant needs a value, e.g. {transform: constant, value: "US"}`)
	}
	t := &constantTransformer{text: []byte(*p.Value), keepNull: true}
	if p.KeepNull != nil {
		t.keepNull = *p.KeepNull
	}
	if env.Literal == nil {
		return nil, errors.New("constant: no way to check the value against the column type")
	}
	wire, err := env.Literal(*p.Value)
	if err != nil {
		return nil, fmt.Errorf("value %q is not a valid %s: %w", *p.Value, env.Column.TypeName, err)
	}
	t.wire = wire
	return t, nil
}

func (t *constantTransformer) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	in := rec.Column(col)
	v := t.wire
	if in.DataType().ID() == arrow.STRING {
		v = t.text
	} else if in.DataType().ID() != arrow.BINARY {
		return nil, fmt.Errorf("constant: %w %s", errUnsupportedArray, in.DataType())
	}
	n := in.Len()
	b := newByteBuilder(mem, in.DataType(), n, n*len(v))
	for i := 0; i < n; i++ {
		if t.keepNull && in.IsNull(i) {
			b.appendNull()
			continue
		}
		b.append(v)
	}
	return b.finish(), nil
}
