package transforms

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgdate"
)

// birthdate replaces a date of birth with a keyed date of the same age band: the age on
// as_of (full years, a birthday counted on its day; 29 February on 28 February in other
// years) stays in [band·k, band·(k+1)). The new date is uniform over the days of that band.
// as_of defaults to the fixed date birthdateAsOf, never to today, so a run next year gives
// the same dates. Timestamps keep their time of day.
type birthdate struct {
	shapeIdentity
	kind    Kind
	subkey  []byte
	band    int64
	y, m, d int64 // as_of
}

var (
	_ Transformer = (*birthdate)(nil)
	_ NativeInput = (*birthdate)(nil)
)

const birthdateAsOf = "2025-01-01"

type birthdateParams struct {
	Band   *int   `yaml:"band"`
	AsOf   string `yaml:"as_of"`
	Domain string `yaml:"domain"`
}

func newBirthdate(env Env) (Transformer, error) {
	var p birthdateParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	t := &birthdate{kind: KindOf(c.BaseOID), band: 5}
	if !t.kind.IsTime() {
		return nil, fmt.Errorf("birthdate writes dates; column type %s is not a date or timestamp", c.TypeName)
	}
	if p.Band != nil {
		if *p.Band < 1 || *p.Band > 200 {
			return nil, fmt.Errorf("band %d: must be between 1 and 200 years", *p.Band)
		}
		t.band = int64(*p.Band)
	}
	if p.AsOf == "" {
		p.AsOf = birthdateAsOf
	}
	day, err := shapeParseDate("as_of", p.AsOf)
	if err != nil {
		return nil, err
	}
	t.y, t.m, t.d = pgdate.Civil(day)
	if err := shapeNotUnique("birthdate", c, "two people can get the same date"); err != nil {
		return nil, err
	}
	if t.subkey, err = shapeKeyed("birthdate", env, p.Domain); err != nil {
		return nil, err
	}
	return t, nil
}

// NativeInput: the rule reads dates and timestamps, not wire bytes.
func (t *birthdate) NativeInput() bool { return true }

func (t *birthdate) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	return shapeApply("birthdate", t, t.kind, t.subkey, rec, col, mem)
}

// age is the number of full years, on as_of, of someone born on day v.
func (t *birthdate) age(v int64) int64 {
	y, m, d := pgdate.Civil(v)
	if m == 2 && d == 29 && !pgdate.IsLeap(t.y) {
		d = 28 // the birthday of 29 February falls on 28 February in other years
	}
	a := t.y - y
	if m > t.m || m == t.m && d > t.d {
		a--
	}
	return a
}

// lastBorn is the last day of birth with an age of at least a: the as_of day a years back
// (28 February for a 29 February that year lacks; 29 February for an as_of of 28 February
// outside a leap year, since that birthday then falls on the 28th).
func (t *birthdate) lastBorn(a int64) int64 {
	y, d := t.y-a, t.d
	switch {
	case t.m == 2 && d == 29 && !pgdate.IsLeap(y):
		d = 28
	case t.m == 2 && d == 28 && !pgdate.IsLeap(t.y) && pgdate.IsLeap(y):
		d = 29
	}
	return pgdate.DaysFromCivil(y, t.m, d)
}

func (t *birthdate) shapeDay(k *Keyed, v int64) int64 {
	lo := floorDiv(t.age(v), t.band) * t.band
	// Ages in [lo, lo+band) are the days after lastBorn(lo+band) up to lastBorn(lo).
	return k.Range(t.lastBorn(lo+t.band)+1, t.lastBorn(lo))
}

func (t *birthdate) shapeMicros(k *Keyed, v int64) int64 {
	day := pgdate.Day(v)
	return t.shapeDay(k, day)*pgdate.DayMicros + (v - day*pgdate.DayMicros)
}
