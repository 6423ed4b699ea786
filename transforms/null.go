package transforms

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// nullTransformer replaces every value with NULL.
type nullTransformer struct{}

var _ Transformer = nullTransformer{}

func newNull(env Env) (Transformer, error) {
	if err := env.Params.Decode(&struct{}{}); err != nil {
		return nil, err
	}
	if env.Column.NotNull {
		return nil, fmt.Errorf("column is NOT NULL; use constant or another rule instead of null")
	}
	return nullTransformer{}, nil
}

func (nullTransformer) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	in := rec.Column(col)
	return array.MakeArrayOfNull(mem, in.DataType(), in.Len()), nil
}
