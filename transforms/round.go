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

// roundRule coarsens numbers: to a number of decimal places (half away from zero, as
// PostgreSQL's round does; negative places round to tens, hundreds...), or down to a
// multiple of a step (buckets: floor(v / step) × step). It draws nothing, so it needs no key.
// Numerics keep their scale, and a result the column's type cannot hold (an int2 of 32767
// rounded to hundreds, 999.99 in numeric(5,2) rounded to units) moves one step towards zero.
type roundRule struct {
	shapeIdentity
	kind      Kind
	useDigits bool
	digits    int
	// integers
	pow   uint64 // 10^-digits for negative digits ≤ 19; 0 when everything rounds to 0
	istep int64
	imin  int64 // the smallest multiple of istep the type holds
	// floats
	fpow, fstep float64
	// numerics
	step      *big.Rat
	stepScale int
	nstep     [19]int64 // the step's mantissa at scale t, where it fits
	p, s      int
	typmod    bool
}

var (
	_ Transformer = (*roundRule)(nil)
	_ NativeInput = (*roundRule)(nil)
)

type roundParams struct {
	Digits *int   `yaml:"digits"`
	Step   string `yaml:"step"`
}

func newRound(env Env) (Transformer, error) {
	var p roundParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	t := &roundRule{kind: KindOf(c.BaseOID)}
	if !t.kind.IsNumber() {
		return nil, fmt.Errorf("round changes numbers (smallint, integer, bigint, real, double precision, numeric); column type %s is not one", c.TypeName)
	}
	switch {
	case p.Digits != nil && p.Step != "":
		return nil, errors.New("round takes digits or step, not both")
	case p.Digits == nil && p.Step == "":
		return nil, errors.New("round needs digits (decimal places; -2 rounds to hundreds) or step (round down to a multiple, e.g. 1000)")
	}
	t.p, t.s, t.typmod = pgnumeric.Typmod(c.Typmod)
	t.typmod = t.typmod && t.kind == KindNumeric
	if p.Digits != nil {
		if err := t.setDigits(*p.Digits); err != nil {
			return nil, err
		}
	} else if err := t.setStep(p.Step, c); err != nil {
		return nil, err
	}
	if err := shapeNotUnique("round", c, "round maps many values to one"); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *roundRule) setDigits(d int) error {
	if d < -1000 || d > 1000 {
		return fmt.Errorf("digits %d: must be between -1000 and 1000", d)
	}
	t.useDigits, t.digits = true, d
	if d < 0 && d >= -19 {
		t.pow = 1
		for i := 0; i < -d; i++ {
			t.pow *= 10
		}
	}
	t.fpow, _ = strconv.ParseFloat("1e"+strconv.Itoa(max(d, -d)), 64) // correctly rounded; +Inf past 1e308
	return nil
}

func (t *roundRule) setStep(s string, c Column) error {
	r, err := shapeRat("step", s)
	if err != nil {
		return err
	}
	if r.Sign() <= 0 {
		return fmt.Errorf("step %s must be positive", s)
	}
	switch k := t.kind; {
	case k.IsInt():
		lo, hi := k.IntRange()
		if !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() > hi {
			return fmt.Errorf("step %s: column type %s needs a whole step of at most %d", s, c.TypeName, hi)
		}
		t.istep = r.Num().Int64()
		// ceil(lo / step) × step, exactly
		q := new(big.Int).Neg(new(big.Int).Div(new(big.Int).Neg(big.NewInt(lo)), big.NewInt(t.istep)))
		t.imin = q.Mul(q, big.NewInt(t.istep)).Int64()
	case k.IsFloat():
		t.fstep, _ = r.Float64()
		if math.IsInf(t.fstep, 0) || t.fstep == 0 {
			return fmt.Errorf("step %s is out of range", s)
		}
	default:
		t.step = r
		t.stepScale = pgnumeric.RatScale(r)
		if t.stepScale < 0 || t.stepScale > 1000 {
			return fmt.Errorf("step %s is not a decimal number", s)
		}
		if t.typmod && t.s >= 0 && t.stepScale > t.s {
			return fmt.Errorf("step %s has more decimals than %s keeps", s, c.TypeName)
		}
		for sc := t.stepScale; sc < len(t.nstep); sc++ {
			if m := pgnumeric.RatAt(r, sc, false); m.IsInt64() && m.Int64() < 1<<62 {
				t.nstep[sc] = m.Int64()
			}
		}
	}
	return nil
}

// NativeInput: the rule reads numbers, not wire bytes.
func (t *roundRule) NativeInput() bool { return true }

func (t *roundRule) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	return shapeApply("round", t, t.kind, nil, rec, col, mem)
}

func (t *roundRule) shapeInt(_ *Keyed, v int64) int64 {
	if !t.useDigits {
		if v < t.imin {
			return t.imin
		}
		return floorDiv(v, t.istep) * t.istep
	}
	if t.digits >= 0 {
		return v
	}
	if t.pow == 0 {
		return 0
	}
	lo, hi := t.kind.IntRange()
	mag, limit := uint64(v), uint64(hi)
	if v < 0 {
		mag, limit = -uint64(v), -uint64(lo)
	}
	res := (mag + t.pow/2) / t.pow * t.pow // no overflow: mag ≤ 2^63 and pow/2 ≤ 5·10^18
	if res > limit {
		res -= t.pow
	}
	if v < 0 {
		return -int64(res)
	}
	return int64(res)
}

func (t *roundRule) shapeFloat(_ *Keyed, v float64) float64 {
	top := math.MaxFloat64
	if t.kind == KindFloat4 {
		top = math.MaxFloat32
	}
	if !t.useDigits {
		q := math.Floor(v / t.fstep)
		if r := q * t.fstep; r >= -top {
			return r
		}
		// The bucket below the type's range (-2e308 for -1.7e308 by 1e308): one step up,
		// as for the other types, rather than a value no bucket starts at.
		return (q + 1) * t.fstep
	}
	if t.digits >= 0 {
		x := v * t.fpow
		if math.IsInf(x, 0) || math.Abs(x) >= 1<<52 {
			return v // already no finer than the digits asked for
		}
		return math.Round(x) / t.fpow
	}
	if math.IsInf(t.fpow, 0) {
		return 0
	}
	q := math.Round(v / t.fpow)
	if r := q * t.fpow; math.Abs(r) <= top {
		return r
	}
	// Rounded past the type's range (1.7e308 to 2e308): one step towards zero.
	return (q - math.Copysign(1, q)) * t.fpow
}

func (t *roundRule) shapeNumeric(_ *Keyed, dst []byte, d pgnumeric.Decimal[string]) ([]byte, error) {
	if t.useDigits {
		return t.numericDigits(dst, d), nil
	}
	return t.numericStep(dst, d), nil
}

// numericDigits rounds the digit string itself: any size, no arithmetic.
func (t *roundRule) numericDigits(dst []byte, d pgnumeric.Decimal[string]) []byte {
	scale := d.Scale()
	if t.digits >= scale {
		return d.Append(dst)
	}
	var local [48]byte
	ds := shapeRoundDigits(d.AppendDigits(local[:0]), len(d.Int)+t.digits, true)
	if t.typmod {
		var lim [40]byte
		if pgnumeric.DigitsLess(pgnumeric.AppendLimit(lim[:0], t.p, t.s, scale), pgnumeric.TrimZeros(ds)) {
			ds = shapeRoundDigits(d.AppendDigits(ds[:0]), len(d.Int)+t.digits, false)
		}
	}
	return pgnumeric.AppendScaled(dst, d.Neg, ds, scale)
}

// shapeRoundDigits keeps the first cut digits of ds, zeroes the rest, and, when half is set,
// rounds half away from zero (a carry past the first digit lengthens ds by one).
func shapeRoundDigits(ds []byte, cut int, half bool) []byte {
	up := half && cut >= 0 && cut < len(ds) && ds[cut] >= '5'
	cut = max(cut, 0)
	for i := cut; i < len(ds); i++ {
		ds[i] = '0'
	}
	if !up {
		return ds
	}
	i := cut - 1
	for i >= 0 && ds[i] == '9' {
		ds[i] = '0'
		i--
	}
	if i >= 0 {
		ds[i]++
		return ds
	}
	// All nines: 1 followed by zeros, one digit longer.
	if len(ds) > 0 {
		ds[0] = '1'
		return append(ds, '0')
	}
	return append(ds, '1')
}

// numericStep floors the value to a multiple of the step, at scale max(value's, step's).
func (t *roundRule) numericStep(dst []byte, d pgnumeric.Decimal[string]) []byte {
	scale := max(d.Scale(), t.stepScale)
	grow := scale - d.Scale()
	if m, ok := d.Mantissa(); ok && scale < len(t.nstep) && t.nstep[scale] > 0 {
		mul := uint64(1)
		for i := 0; i < grow; i++ {
			mul *= 10
		}
		if m <= (1<<62)/mul {
			v := int64(m * mul)
			if d.Neg {
				v = -v
			}
			st := t.nstep[scale]
			r := floorDiv(v, st) * st
			if r < 0 && t.typmod {
				var buf [24]byte
				var lim [40]byte
				if pgnumeric.DigitsLess(pgnumeric.AppendLimit(lim[:0], t.p, t.s, scale), strconv.AppendUint(buf[:0], uint64(-r), 10)) {
					r += st
				}
			}
			if r < 0 {
				return pgnumeric.AppendMantissa(dst, true, uint64(-r), scale)
			}
			return pgnumeric.AppendMantissa(dst, false, uint64(r), scale)
		}
	}
	// Any size: big arithmetic (allocates; values past 18 digits are rare).
	v := d.BigMantissa()
	v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(grow)), nil))
	if d.Neg {
		v.Neg(v)
	}
	st := pgnumeric.RatAt(t.step, scale, false)
	q := new(big.Int).Div(v, st) // Euclidean division: floor for a positive divisor
	r := q.Mul(q, st)
	if r.Sign() < 0 && t.typmod {
		lim := pgnumeric.AppendLimit(nil, t.p, t.s, scale)
		if pgnumeric.DigitsLess(lim, new(big.Int).Abs(r).Append(nil, 10)) {
			r.Add(r, st)
		}
	}
	return pgnumeric.AppendScaled(dst, r.Sign() < 0, new(big.Int).Abs(r).Append(nil, 10), scale)
}
