package transforms

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgnumeric"
)

// randomRange replaces each value with a keyed value drawn uniformly from [min, max], in the
// column's type: an integer, a float, a numeric with the input value's scale, a date or a
// timestamp.
type randomRange struct {
	shapeIdentity
	kind     Kind
	subkey   []byte
	lo, hi   int64   // integers; days for dates; µs for timestamps
	flo, fhi float64 // floats
	// numerics: the bounds as mantissas at scale t (0..18), where they fit in an int64
	nlo, nhi [19]int64
	nok      [19]bool
	min, max string
}

var (
	_ Transformer = (*randomRange)(nil)
	_ NativeInput = (*randomRange)(nil)
)

type randomRangeParams struct {
	Min    string `yaml:"min"`
	Max    string `yaml:"max"`
	Domain string `yaml:"domain"`
}

func newRandomRange(env Env) (Transformer, error) {
	var p randomRangeParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	t := &randomRange{kind: KindOf(c.BaseOID), min: p.Min, max: p.Max}
	if !t.kind.IsNumber() && !t.kind.IsTime() {
		return nil, fmt.Errorf("random_range draws numbers, dates and timestamps; column type %s is not one", c.TypeName)
	}
	if p.Min == "" || p.Max == "" {
		return nil, errors.New("random_range needs min and max, e.g. {transform: random_range, min: 18, max: 99} or {min: 2020-01-01, max: 2024-12-31} on a date")
	}
	if err := t.bounds(c); err != nil {
		return nil, err
	}
	if err := shapeNotUnique("random_range", c, "use permute for integer keys"); err != nil {
		return nil, err
	}
	var err error
	if t.subkey, err = shapeKeyed("random_range", env, p.Domain); err != nil {
		return nil, err
	}
	return t, nil
}

// bounds parses min and max for the column's type.
func (t *randomRange) bounds(c Column) error {
	order := func(ok bool) error {
		if !ok {
			return fmt.Errorf("min %s is above max %s", t.min, t.max)
		}
		return nil
	}
	switch k := t.kind; {
	case k.IsInt():
		lo, hi := k.IntRange()
		var v [2]int64
		for i, s := range [2]string{t.min, t.max} {
			what := [2]string{"min", "max"}[i]
			r, err := shapeRat(what, s)
			if err != nil {
				return err
			}
			if !r.IsInt() {
				return fmt.Errorf("%s %s: column type %s holds integers", what, s, c.TypeName)
			}
			if !r.Num().IsInt64() || r.Num().Int64() < lo || r.Num().Int64() > hi {
				return fmt.Errorf("%s %s is outside the range of %s (%d to %d)", what, s, c.TypeName, lo, hi)
			}
			v[i] = r.Num().Int64()
		}
		t.lo, t.hi = v[0], v[1]
		return order(t.lo <= t.hi)
	case k.IsFloat():
		top := math.MaxFloat64
		if k == KindFloat4 {
			top = math.MaxFloat32
		}
		var v [2]float64
		for i, s := range [2]string{t.min, t.max} {
			what := [2]string{"min", "max"}[i]
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("%s %q is not a finite number", what, s)
			}
			if math.Abs(f) > top {
				return fmt.Errorf("%s %s is outside the range of %s", what, s, c.TypeName)
			}
			v[i] = f
		}
		if k == KindFloat4 {
			if err := order(v[0] <= v[1]); err != nil {
				return err
			}
			// Bounds a float32 can hold, inside [min, max], so the draw rounds within them.
			lo, hi := float32(v[0]), float32(v[1])
			if float64(lo) < v[0] {
				lo = math.Nextafter32(lo, math.MaxFloat32)
			}
			if float64(hi) > v[1] {
				hi = math.Nextafter32(hi, -math.MaxFloat32)
			}
			v[0], v[1] = float64(lo), float64(hi)
			if lo > hi {
				return fmt.Errorf("no %s value lies between min %s and max %s", c.TypeName, t.min, t.max)
			}
		}
		t.flo, t.fhi = v[0], v[1]
		return order(t.flo <= t.fhi)
	case k == KindNumeric:
		lo, err := shapeRat("min", t.min)
		if err != nil {
			return err
		}
		hi, err := shapeRat("max", t.max)
		if err != nil {
			return err
		}
		if lo.Cmp(hi) > 0 {
			return order(false)
		}
		for s := 0; s < len(t.nlo); s++ {
			l, h := pgnumeric.RatAt(lo, s, true), pgnumeric.RatAt(hi, s, false)
			if !l.IsInt64() || !h.IsInt64() {
				break
			}
			t.nlo[s], t.nhi[s], t.nok[s] = l.Int64(), h.Int64(), true
		}
		if !t.nok[0] {
			return fmt.Errorf("random_range on numeric takes min and max within ±9223372036854775807")
		}
		if p, s, ok := pgnumeric.Typmod(c.Typmod); ok {
			limit := new(big.Rat).SetFrac(new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil), big.NewInt(1)),
				new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(s, 0))), nil))
			if s < 0 {
				limit.Mul(limit, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-s)), nil)))
			}
			for i, r := range [2]*big.Rat{lo, hi} {
				if new(big.Rat).Abs(r).Cmp(limit) > 0 {
					return fmt.Errorf("%s %s does not fit %s", [2]string{"min", "max"}[i], [2]string{t.min, t.max}[i], c.TypeName)
				}
			}
			if s >= 0 && s < len(t.nlo) && t.nok[s] && t.nlo[s] > t.nhi[s] {
				return fmt.Errorf("no %s value lies between min %s and max %s", c.TypeName, t.min, t.max)
			}
		}
		return nil
	case k == KindDate:
		var err error
		if t.lo, err = shapeParseDate("min", t.min); err != nil {
			return err
		}
		if t.hi, err = shapeParseDate("max", t.max); err != nil {
			return err
		}
		return order(t.lo <= t.hi)
	default: // timestamps
		var err error
		if t.lo, err = shapeParseTimestamp("min", t.min); err != nil {
			return err
		}
		if t.hi, err = shapeParseTimestamp("max", t.max); err != nil {
			return err
		}
		return order(t.lo <= t.hi)
	}
}

// NativeInput: the rule reads numbers and dates, not wire bytes.
func (t *randomRange) NativeInput() bool { return true }

func (t *randomRange) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	return shapeApply("random_range", t, t.kind, t.subkey, rec, col, mem)
}

func (t *randomRange) shapeInt(k *Keyed, _ int64) int64    { return k.Range(t.lo, t.hi) }
func (t *randomRange) shapeDay(k *Keyed, _ int64) int64    { return k.Range(t.lo, t.hi) }
func (t *randomRange) shapeMicros(k *Keyed, _ int64) int64 { return k.Range(t.lo, t.hi) }

func (t *randomRange) shapeFloat(k *Keyed, _ float64) float64 {
	f := k.Float64()
	// Each product is rounded on its own (the conversions forbid a fused multiply-add), so
	// every machine computes the same value; and min·(1-f) + max·f cannot overflow.
	v := float64(t.flo*float64(1-f)) + float64(t.fhi*f)
	return min(max(v, t.flo), t.fhi)
}

// KindNumeric draws a mantissa at the value's scale. Past 18 decimals it draws at the
// largest scale whose bounds fit in 64 bits and pads with zeros, keeping the scale.
func (t *randomRange) shapeNumeric(k *Keyed, dst []byte, d pgnumeric.Decimal[string]) ([]byte, error) {
	scale := d.Scale()
	s := min(scale, len(t.nok)-1)
	for !t.nok[s] {
		s--
	}
	lo, hi := t.nlo[s], t.nhi[s]
	if lo > hi {
		return dst, fmt.Errorf("no numeric with %d decimals lies between min %s and max %s", scale, t.min, t.max)
	}
	m := k.Range(lo, hi)
	mag := uint64(m)
	if m < 0 {
		mag = -uint64(m)
	}
	dst = pgnumeric.AppendMantissa(dst, m < 0, mag, s)
	if s < scale {
		if s == 0 {
			dst = append(dst, '.')
		}
		for i := s; i < scale; i++ {
			dst = append(dst, '0')
		}
	}
	return dst, nil
}
