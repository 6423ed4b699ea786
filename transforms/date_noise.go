package transforms

import (
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgdate"
)

// dateNoise moves each date or timestamp by a keyed amount in [-max, +max]: dates by whole
// days, timestamps by whole microseconds. With keep_year the draw is repeated (up to
// dateNoiseTries times, each a further draw of the same keyed stream, so still a pure
// function of the value) until the year stays, and the last draw is then clamped into the
// year. Years of timestamptz values are counted in UTC.
type dateNoise struct {
	shapeIdentity
	kind      Kind
	subkey    []byte
	maxDays   int64
	maxMicros int64
	keepYear  bool
}

var (
	_ Transformer = (*dateNoise)(nil)
	_ NativeInput = (*dateNoise)(nil)
)

const dateNoiseTries = 8

type dateNoiseParams struct {
	Max      string `yaml:"max"`
	KeepYear bool   `yaml:"keep_year"`
	Domain   string `yaml:"domain"`
}

func newDateNoise(env Env) (Transformer, error) {
	var p dateNoiseParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	t := &dateNoise{kind: KindOf(c.BaseOID), keepYear: p.KeepYear}
	if !t.kind.IsTime() {
		return nil, fmt.Errorf("date_noise moves dates and timestamps; column type %s is not one", c.TypeName)
	}
	if p.Max == "" {
		return nil, errors.New("date_noise needs max, the largest move, e.g. {transform: date_noise, max: 30d} (units d, h, m, s)")
	}
	us, err := shapeParseDuration(p.Max)
	if err != nil {
		return nil, fmt.Errorf("max: %w", err)
	}
	if us == 0 {
		return nil, errors.New("max must be more than 0")
	}
	t.maxMicros, t.maxDays = us, us/pgdate.DayMicros
	if t.kind == KindDate && t.maxDays == 0 {
		return nil, fmt.Errorf("max %s: a date moves by whole days, so max must be at least 1d", p.Max)
	}
	if err := shapeNotUnique("date_noise", c, "two dates can land on the same day"); err != nil {
		return nil, err
	}
	if t.subkey, err = shapeKeyed("date_noise", env, p.Domain); err != nil {
		return nil, err
	}
	return t, nil
}

// NativeInput: the rule reads dates and timestamps, not wire bytes.
func (t *dateNoise) NativeInput() bool { return true }

func (t *dateNoise) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	return shapeApply("date_noise", t, t.kind, t.subkey, rec, col, mem)
}

func (t *dateNoise) shapeDay(k *Keyed, v int64) int64 {
	out := v + k.Range(-t.maxDays, t.maxDays)
	if !t.keepYear {
		return out
	}
	y, _, _ := pgdate.Civil(v)
	for try := 1; try < dateNoiseTries; try++ {
		if oy, _, _ := pgdate.Civil(out); oy == y {
			return out
		}
		out = v + k.Range(-t.maxDays, t.maxDays)
	}
	return min(max(out, pgdate.DaysFromCivil(y, 1, 1)), pgdate.DaysFromCivil(y+1, 1, 1)-1)
}

func (t *dateNoise) shapeMicros(k *Keyed, v int64) int64 {
	out := addSat(v, k.Range(-t.maxMicros, t.maxMicros))
	if !t.keepYear {
		return out
	}
	y, _, _ := pgdate.Civil(pgdate.Day(v))
	for try := 1; try < dateNoiseTries; try++ {
		if oy, _, _ := pgdate.Civil(pgdate.Day(out)); oy == y {
			return out
		}
		out = addSat(v, k.Range(-t.maxMicros, t.maxMicros))
	}
	first := pgdate.DaysFromCivil(y, 1, 1) * pgdate.DayMicros
	last := pgdate.DaysFromCivil(y+1, 1, 1)*pgdate.DayMicros - 1
	return min(max(out, first), last)
}

// addSat is a + b, saturated at the int64 range.
func addSat(a, b int64) int64 {
	s := a + b
	if (s > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}
