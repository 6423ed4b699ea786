package pgnumeric

import (
	"math/big"
	"strconv"
)

// Scale is the number of fraction digits.
func (d Decimal[S]) Scale() int { return len(d.Frac) }

// IsZero says whether d is zero (of any scale, either sign).
func (d Decimal[S]) IsZero() bool {
	return len(d.Int) == 0 && len(trimLeadingZeros(d.Frac)) == 0
}

// Mantissa returns the value's digits (integer then fraction) as an integer when its
// significant digits fit in 19.
func (d Decimal[S]) Mantissa() (uint64, bool) {
	frac := d.Frac
	if len(d.Int) == 0 {
		frac = trimLeadingZeros(frac)
	}
	if len(d.Int)+len(frac) > 19 {
		return 0, false
	}
	var m uint64
	for i := 0; i < len(d.Int); i++ {
		m = m*10 + uint64(d.Int[i]-'0')
	}
	for i := 0; i < len(frac); i++ {
		m = m*10 + uint64(frac[i]-'0')
	}
	return m, true
}

// BigMantissa is the mantissa of any size.
func (d Decimal[S]) BigMantissa() *big.Int {
	m, _ := new(big.Int).SetString(string(d.Int)+string(d.Frac)+"0", 10)
	return m.Quo(m, big.NewInt(10))
}

// AppendDigits appends the integer and fraction digits, without the point.
func (d Decimal[S]) AppendDigits(dst []byte) []byte {
	return append(append(dst, d.Int...), d.Frac...)
}

// Append writes d back in numeric_out's form.
func (d Decimal[S]) Append(dst []byte) []byte {
	if d.Neg && !d.IsZero() {
		dst = append(dst, '-')
	}
	if len(d.Int) == 0 {
		dst = append(dst, '0')
	}
	dst = append(dst, d.Int...)
	if len(d.Frac) > 0 {
		dst = append(append(dst, '.'), d.Frac...)
	}
	return dst
}

// AppendScaled appends (-)digits×10^-scale as numeric_out prints it: leading zeros removed
// down to one integer digit, exactly scale fraction digits, no sign on zero.
func AppendScaled[S ~string | ~[]byte](dst []byte, neg bool, digits S, scale int) []byte {
	i := 0
	for i < len(digits) && digits[i] == '0' && len(digits)-i > scale {
		i++
	}
	digits = digits[i:]
	if neg && len(trimLeadingZeros(digits)) > 0 {
		dst = append(dst, '-')
	}
	intLen := len(digits) - scale
	if intLen <= 0 {
		dst = append(dst, '0')
	} else {
		dst = append(dst, digits[:intLen]...)
	}
	if scale > 0 {
		dst = append(dst, '.')
		for ; intLen < 0; intLen++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits[max(intLen, 0):]...)
	}
	return dst
}

// AppendMantissa appends (-)m×10^-scale in numeric_out's form.
func AppendMantissa(dst []byte, neg bool, m uint64, scale int) []byte {
	var buf [20]byte
	return AppendScaled(dst, neg, strconv.AppendUint(buf[:0], m, 10), scale)
}

// Typmod decodes a numeric(p, s) type modifier (the scale may be negative since PostgreSQL
// 15); ok is false for an unconstrained numeric.
func Typmod(typmod int32) (p, s int, ok bool) {
	if typmod < 4 {
		return 0, 0, false
	}
	tm := typmod - 4
	return int(tm>>16) & 0xffff, int((tm&0x7ff)^1024) - 1024, true
}

// AppendLimit appends the largest mantissa, at scale t, that numeric(p, s) keeps once
// PostgreSQL has rounded it to s: p nines then t-s zeros (fewer nines if t < s), as digits.
func AppendLimit(dst []byte, p, s, t int) []byte {
	nines, zeros := p, t-s
	if zeros < 0 {
		nines, zeros = p+zeros, 0
	}
	for i := 0; i < nines; i++ {
		dst = append(dst, '9')
	}
	for i := 0; i < zeros; i++ {
		dst = append(dst, '0')
	}
	return dst
}

// DigitsLess compares two digit strings without leading zeros as numbers: a < b.
func DigitsLess(a, b []byte) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return string(a) < string(b)
}

// TrimZeros removes leading zeros, leaving at least one digit.
func TrimZeros(d []byte) []byte {
	for len(d) > 1 && d[0] == '0' {
		d = d[1:]
	}
	return d
}

// RatScale is the number of decimals r needs (0 for an integer), or -1 if it is not a
// finite decimal.
func RatScale(r *big.Rat) int {
	den := new(big.Int).Set(r.Denom())
	ten, two, five := big.NewInt(10), big.NewInt(2), big.NewInt(5)
	n := 0
	for den.Cmp(big.NewInt(1)) != 0 {
		switch {
		case new(big.Int).Mod(den, ten).Sign() == 0:
			den.Quo(den, ten)
		case new(big.Int).Mod(den, two).Sign() == 0:
			den.Quo(den, two)
		case new(big.Int).Mod(den, five).Sign() == 0:
			den.Quo(den, five)
		default:
			return -1
		}
		n++
		if n > 100000 {
			return -1
		}
	}
	return n
}

// RatAt returns r × 10^t rounded down (floor) or up (ceil): r's mantissa at scale t.
func RatAt(r *big.Rat, t int, ceil bool) *big.Int {
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t)), nil)))
	q, m := new(big.Int).DivMod(x.Num(), x.Denom(), new(big.Int)) // Euclidean: floor for a positive denominator
	if ceil && m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}
