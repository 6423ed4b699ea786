package transforms

import (
	"fmt"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgnumeric"
)

// numericNoise multiplies each number by a keyed factor 1+u, u uniform in [-ratio, +ratio].
// The factor is fixed point, (2^32 + r) / 2^32 with r a keyed integer, so integers and
// numerics are computed exactly and floats with one IEEE multiplication: the same result on
// every machine (no fused multiply-add can creep in).
type numericNoise struct {
	shapeIdentity
	kind   Kind
	subkey []byte
	r      int64 // floor(ratio × 2^32)
	// numeric(p, s) bounds, when the column has them
	p, s   int
	typmod bool
}

var (
	_ Transformer = (*numericNoise)(nil)
	_ NativeInput = (*numericNoise)(nil)
)

type numericNoiseParams struct {
	Ratio  *float64 `yaml:"ratio"`
	Domain string   `yaml:"domain"`
}

func newNumericNoise(env Env) (Transformer, error) {
	var p numericNoiseParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	t := &numericNoise{kind: KindOf(env.Column.BaseOID)}
	if !t.kind.IsNumber() {
		return nil, fmt.Errorf("numeric_noise changes numbers (smallint, integer, bigint, real, double precision, numeric); column type %s is not one", env.Column.TypeName)
	}
	ratio := 0.1
	if p.Ratio != nil {
		ratio = *p.Ratio
	}
	if !(ratio > 0 && ratio < 1) {
		return nil, fmt.Errorf("ratio %v: must be above 0 and below 1 (0.1 moves values by up to ±10%%)", ratio)
	}
	t.r = int64(ratio * (1 << 32))
	if t.r == 0 {
		return nil, fmt.Errorf("ratio %v is too small to move anything", ratio)
	}
	if err := shapeNotUnique("numeric_noise", env.Column, "use permute for integer keys"); err != nil {
		return nil, err
	}
	var err error
	if t.subkey, err = shapeKeyed("numeric_noise", env, p.Domain); err != nil {
		return nil, err
	}
	t.p, t.s, t.typmod = pgnumeric.Typmod(env.Column.Typmod)
	t.typmod = t.typmod && t.kind == KindNumeric
	return t, nil
}

// NativeInput: the rule reads numbers, not wire bytes.
func (t *numericNoise) NativeInput() bool { return true }

func (t *numericNoise) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	return shapeApply("numeric_noise", t, t.kind, t.subkey, rec, col, mem)
}

// factor draws the fixed-point factor 2^32 + r, in [2^32 - R, 2^32 + R]: always positive,
// so no value changes sign.
func (t *numericNoise) factor(k *Keyed) uint64 { return uint64(1<<32 + k.Range(-t.r, t.r)) }

func (t *numericNoise) shapeInt(k *Keyed, v int64) int64 {
	n := t.factor(k)
	lo, hi := t.kind.IntRange()
	mag, limit := uint64(v), uint64(hi)
	if v < 0 {
		mag, limit = -uint64(v), -uint64(lo)
	}
	res, ok := mulFix(mag, n)
	if !ok || res > limit {
		res = limit
	}
	if res == 0 && mag != 0 {
		res = 1 // keep the sign: a positive value stays positive
	}
	if v < 0 {
		return -int64(res)
	}
	return int64(res)
}

func (t *numericNoise) shapeFloat(k *Keyed, v float64) float64 {
	f := 1 + float64(int64(t.factor(k))-1<<32)/(1<<32) // exact: 33 significant bits
	out := v * f
	if out == 0 {
		return v // a subnormal that would flush to zero keeps its sign by staying put
	}
	return out
}

func (t *numericNoise) shapeNumeric(k *Keyed, dst []byte, d pgnumeric.Decimal[string]) ([]byte, error) {
	n := t.factor(k)
	var local [24]byte
	var digits []byte
	if m, ok := d.Mantissa(); ok {
		if res, ok := mulFix(m, n); ok {
			digits = strconv.AppendUint(local[:0], res, 10)
		}
	}
	if digits == nil { // beyond 19 digits: exact big arithmetic (rare, and allowed to allocate)
		x := d.BigMantissa()
		x.Mul(x, new(big.Int).SetUint64(n))
		x.Add(x, big.NewInt(1<<31))
		x.Rsh(x, 32)
		digits = x.Append(nil, 10)
	}
	if len(digits) == 1 && digits[0] == '0' && !d.IsZero() {
		digits[0] = '1' // one unit of the value's scale: the sign stays
	}
	if t.typmod {
		digits = shapeClampNumeric(digits, t.p, t.s, d.Scale())
	}
	return pgnumeric.AppendScaled(dst, d.Neg, digits, d.Scale()), nil
}

// shapeClampNumeric caps a mantissa (digits at scale t, no leading zeros) at the largest that
// numeric(p, s) holds.
func shapeClampNumeric(digits []byte, p, s, t int) []byte {
	nines, zeros := p, t-s
	if zeros < 0 {
		nines, zeros = p+zeros, 0
	}
	if len(digits) < nines+zeros {
		return digits
	}
	var local [40]byte
	limit := pgnumeric.AppendLimit(local[:0], p, s, t)
	if pgnumeric.DigitsLess(limit, digits) {
		return append(digits[:0], limit...)
	}
	return digits
}

// mulFix returns round(m × n / 2^32), or false when it does not fit in 64 bits.
func mulFix(m, n uint64) (uint64, bool) {
	hi, lo := bits.Mul64(m, n)
	lo, c := bits.Add64(lo, 1<<31, 0)
	hi += c
	if hi >= 1<<32 {
		return 0, false
	}
	return hi<<32 | lo>>32, true
}
