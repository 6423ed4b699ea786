package pgarrow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/understudy-dev/understudy/schemas/pgnumeric"
)

// PostgreSQL's binary numeric (numeric_send/numeric_recv) is a sequence of 16-bit big-endian
// words: ndigits, weight, sign, dscale, then ndigits base-10000 digits, the first of which is
// worth 10000^weight. PostgreSQL stores, and so sends, numerics stripped of leading and trailing
// zero digits; a zero has no digits, weight 0 and a positive sign.
const (
	numPos  = 0x0000
	numNeg  = 0x4000
	numNaN  = 0xC000
	numPInf = 0xD000
	numNInf = 0xF000

	numDscaleMax = 0x3FFF // NUMERIC_DSCALE_MAX
	numNBase     = 10000
	// numInfDscale is the dscale PostgreSQL (14 and later) sends with ±Infinity: numeric_send
	// reads the special value's header through the short-format dscale mask, which yields 32.
	numInfDscale = 32
)

var errNumericSyntax = errors.New("invalid numeric text")

// appendNumericText appends the text form (numeric_out) of the binary numeric v to dst. It
// refuses any v that is not exactly what numeric_send produces, so parseNumeric of the text
// gives v back.
func appendNumericText(dst, v []byte) ([]byte, error) {
	if len(v) < 8 {
		return dst, fmt.Errorf("numeric is %d bytes, want at least 8", len(v))
	}
	nd := int(int16(binary.BigEndian.Uint16(v)))
	weight := int(int16(binary.BigEndian.Uint16(v[2:])))
	sign := binary.BigEndian.Uint16(v[4:])
	dscale := int(binary.BigEndian.Uint16(v[6:]))
	if nd < 0 || len(v) != 8+2*nd {
		return dst, fmt.Errorf("numeric is %d bytes but has %d digits", len(v), nd)
	}
	switch sign {
	case numNaN, numPInf, numNInf:
		want, text := 0, "NaN"
		if sign == numPInf {
			want, text = numInfDscale, "Infinity"
		} else if sign == numNInf {
			want, text = numInfDscale, "-Infinity"
		}
		if nd != 0 || weight != 0 || dscale != want {
			return dst, fmt.Errorf("%s with %d digits, weight %d, dscale %d: %w", text, nd, weight, dscale, ErrNonCanonical)
		}
		return append(dst, text...), nil
	case numPos, numNeg:
	default:
		return dst, fmt.Errorf("numeric sign 0x%04X is not valid", sign)
	}
	if dscale > numDscaleMax {
		return dst, fmt.Errorf("numeric dscale %d is over %d", dscale, numDscaleMax)
	}
	digits := v[8:]
	digit := func(i int) int {
		if i < 0 || i >= nd {
			return 0
		}
		return int(binary.BigEndian.Uint16(digits[2*i:]))
	}
	for i := 0; i < nd; i++ {
		if digit(i) >= numNBase {
			return dst, fmt.Errorf("numeric digit %d is over 9999", digit(i))
		}
	}
	if nd == 0 {
		if weight != 0 || sign != numPos {
			return dst, fmt.Errorf("zero with weight %d, sign 0x%04X: %w", weight, sign, ErrNonCanonical)
		}
	} else {
		if digit(0) == 0 || digit(nd-1) == 0 {
			return dst, fmt.Errorf("numeric with leading or trailing zero digits: %w", ErrNonCanonical)
		}
		// Digits below dscale would not show in the text: numeric_recv truncates them away.
		if last := weight - (nd - 1); last < 0 {
			tz, g := 0, digit(nd-1)
			for g%10 == 0 {
				g /= 10
				tz++
			}
			if dscale < -4*last-tz {
				return dst, fmt.Errorf("numeric has digits below its dscale %d: %w", dscale, ErrNonCanonical)
			}
		}
	}

	if sign == numNeg {
		dst = append(dst, '-')
	}
	if weight < 0 {
		dst = append(dst, '0')
	} else {
		dst = appendUint(dst, digit(0))
		for i := 1; i <= weight; i++ {
			dst = append4(dst, digit(i))
		}
	}
	if dscale > 0 {
		dst = append(dst, '.')
		end := len(dst) + dscale
		for i := weight + 1; len(dst) < end; i++ {
			dst = append4(dst, digit(i))
		}
		dst = dst[:end]
	}
	return dst, nil
}

func appendUint(dst []byte, d int) []byte {
	switch {
	case d >= 1000:
		return append4(dst, d)
	case d >= 100:
		return append(dst, byte('0'+d/100), byte('0'+d/10%10), byte('0'+d%10))
	case d >= 10:
		return append(dst, byte('0'+d/10), byte('0'+d%10))
	}
	return append(dst, byte('0'+d))
}

func append4(dst []byte, d int) []byte {
	return append(dst, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
}

// numParser turns numeric text into the binary form numeric_send would give for it. It keeps
// its scratch space between calls, so parsing allocates nothing once warm.
type numParser struct {
	dec    []byte  // decimal digits, 0-9
	groups []int16 // base-10000 digits
}

var pow10 = [4]int16{1, 10, 100, 1000}

// appendBinary parses s as numeric_in does (surrounding spaces, an optional sign, digits with
// an optional point and exponent, or NaN/Infinity/inf in any case) and appends the binary form
// PostgreSQL would send for the value it stores: leading and trailing zero digits stripped and
// dscale the number of digits after the point. It does not take the underscores or the
// hexadecimal, octal and binary integers that PostgreSQL 16 also reads.
func (p *numParser) appendBinary(dst []byte, s string) ([]byte, error) {
	d, exp, kind, err := pgnumeric.ParseInput(s)
	switch {
	case errors.Is(err, pgnumeric.ErrExponent):
		return dst, fmt.Errorf("numeric exponent: %w", ErrOutOfRange)
	case err != nil:
		return dst, errNumericSyntax
	case kind == pgnumeric.NaN:
		return appendNumHeader(dst, 0, 0, numNaN, 0), nil
	case kind == pgnumeric.Inf:
		return appendNumHeader(dst, 0, 0, numPInf, numInfDscale), nil
	case kind == pgnumeric.NegInf:
		return appendNumHeader(dst, 0, 0, numNInf, numInfDscale), nil
	}
	neg, intDigits, fracDigits := d.Neg, len(d.Int), len(d.Frac)
	p.dec = p.dec[:0]
	for _, part := range [2]string{d.Int, d.Frac} {
		for i := 0; i < len(part); i++ {
			p.dec = append(p.dec, part[i]-'0')
		}
	}
	dscale := fracDigits - exp
	if dscale < 0 {
		dscale = 0
	}
	if dscale > numDscaleMax {
		return dst, fmt.Errorf("numeric dscale %d: %w", dscale, ErrOutOfRange)
	}

	// dweight is the decimal exponent of the first digit of dec.
	dec, dweight := p.dec, intDigits-1+exp
	for len(dec) > 0 && dec[0] == 0 {
		dec = dec[1:]
		dweight--
	}
	for len(dec) > 0 && dec[len(dec)-1] == 0 {
		dec = dec[:len(dec)-1]
	}
	if len(dec) == 0 {
		return appendNumHeader(dst, 0, 0, numPos, dscale), nil
	}
	weight := floorDiv4(dweight)
	lastWeight := floorDiv4(dweight - (len(dec) - 1))
	if weight > math.MaxInt16 || weight < math.MinInt16 {
		return dst, fmt.Errorf("numeric value overflows numeric format: %w", ErrOutOfRange)
	}
	nd := weight - lastWeight + 1
	if nd > math.MaxInt16 {
		return dst, fmt.Errorf("numeric has %d digits: %w", nd, ErrOutOfRange)
	}
	if cap(p.groups) < nd {
		p.groups = make([]int16, nd, 2*nd)
	}
	g := p.groups[:nd]
	clear(g)
	for j, d := range dec {
		e := dweight - j
		gw := floorDiv4(e)
		g[weight-gw] += int16(d) * pow10[e-4*gw]
	}
	sign := uint16(numPos)
	if neg {
		sign = numNeg
	}
	dst = appendNumHeader(dst, nd, weight, sign, dscale)
	for _, d := range g {
		dst = binary.BigEndian.AppendUint16(dst, uint16(d))
	}
	return dst, nil
}

func appendNumHeader(dst []byte, nd, weight int, sign uint16, dscale int) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(nd))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(weight)))
	dst = binary.BigEndian.AppendUint16(dst, sign)
	return binary.BigEndian.AppendUint16(dst, uint16(dscale))
}

func floorDiv4(x int) int {
	if x >= 0 {
		return x / 4
	}
	return -((-x + 3) / 4)
}
