package transforms

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgdate"
)

// truncateRule cuts dates and timestamps down to the start of their year, month, day or hour
// (timestamptz in UTC). It draws nothing, so it needs no key.
type truncateRule struct {
	shapeIdentity
	kind Kind
	to   string
}

var (
	_ Transformer = (*truncateRule)(nil)
	_ NativeInput = (*truncateRule)(nil)
)

type truncateParams struct {
	To string `yaml:"to"`
}

func newTruncate(env Env) (Transformer, error) {
	var p truncateParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	t := &truncateRule{kind: KindOf(c.BaseOID), to: p.To}
	if !t.kind.IsTime() {
		return nil, fmt.Errorf("truncate cuts dates and timestamps; column type %s is not one", c.TypeName)
	}
	if t.to == "" {
		t.to = "month"
	}
	switch t.to {
	case "year", "month":
	case "day", "hour":
		if t.kind == KindDate {
			return nil, fmt.Errorf("to: %s changes nothing on a date; use month or year", t.to)
		}
	default:
		return nil, fmt.Errorf("to: %q: use year, month, day or hour", t.to)
	}
	if err := shapeNotUnique("truncate", c, "truncate maps many values to one"); err != nil {
		return nil, err
	}
	return t, nil
}

// NativeInput: the rule reads dates and timestamps, not wire bytes.
func (t *truncateRule) NativeInput() bool { return true }

func (t *truncateRule) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	return shapeApply("truncate", t, t.kind, nil, rec, col, mem)
}

func (t *truncateRule) shapeDay(_ *Keyed, v int64) int64 {
	y, m, _ := pgdate.Civil(v)
	if t.to == "year" {
		m = 1
	}
	return pgdate.DaysFromCivil(y, m, 1)
}

func (t *truncateRule) shapeMicros(_ *Keyed, v int64) int64 {
	switch t.to {
	case "hour":
		return floorDiv(v, 3600*1000000) * 3600 * 1000000
	case "day":
		return pgdate.Day(v) * pgdate.DayMicros
	}
	return t.shapeDay(nil, pgdate.Day(v)) * pgdate.DayMicros
}
