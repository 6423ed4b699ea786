package when

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/understudy-dev/understudy/schemas/pgnumeric"
)

// Numeric values are compared exactly, in both forms a numeric column arrives in: the binary
// wire form (base-10000 digits, see schemas/pgarrow) and numeric_out's text ("-12.3400",
// "NaN", "Infinity"). PostgreSQL orders -Infinity < every number < Infinity < NaN, and NaN
// equals NaN.

// numClass orders the kinds of numeric value.
type numClass int8

const (
	numNegInf numClass = iota
	numNeg
	numZero
	numPos
	numPosInf
	numNaN
)

// numLit is a numeric literal in both comparison forms.
type numLit struct {
	class numClass
	// decimal form: integer digits without leading zeros, fraction digits without trailing
	// zeros; both empty for zero.
	intDigits, fracDigits []byte
	// base-10000 form: the first group is worth 10000^weight; no leading or trailing zero
	// groups.
	weight int
	groups []uint16
}

// parseNumLit reads a number literal as the lexer produced it: [-]digits[.digits], where
// either side of the point may be empty.
func parseNumLit(s string) numLit {
	var l numLit
	d, _, _, _ := pgnumeric.ParseInput(s)
	ip, fp := d.Int, strings.TrimRight(d.Frac, "0")
	l.intDigits, l.fracDigits = []byte(ip), []byte(fp)
	switch {
	case ip == "" && fp == "":
		l.class = numZero
		return l
	case d.Neg:
		l.class = numNeg
	default:
		l.class = numPos
	}
	// Pad to whole groups of four digits on both sides of the point.
	if r := len(ip) % 4; r != 0 {
		ip = strings.Repeat("0", 4-r) + ip
	}
	if r := len(fp) % 4; r != 0 {
		fp += strings.Repeat("0", 4-r)
	}
	all := ip + fp
	l.weight = len(ip)/4 - 1
	for i := 0; i < len(all); i += 4 {
		g := uint16(0)
		for _, c := range all[i : i+4] {
			g = g*10 + uint16(c-'0')
		}
		l.groups = append(l.groups, g)
	}
	for len(l.groups) > 0 && l.groups[0] == 0 {
		l.groups = l.groups[1:]
		l.weight--
	}
	for len(l.groups) > 0 && l.groups[len(l.groups)-1] == 0 {
		l.groups = l.groups[:len(l.groups)-1]
	}
	return l
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpNumWire compares the wire numeric v with l. ok is false when v is not a numeric.
func cmpNumWire(v []byte, l *numLit) (c int, ok bool) {
	if len(v) < 8 {
		return 0, false
	}
	nd := int(binary.BigEndian.Uint16(v))
	weight := int(int16(binary.BigEndian.Uint16(v[2:])))
	sign := binary.BigEndian.Uint16(v[4:])
	if len(v) != 8+2*nd {
		return 0, false
	}
	digits := v[8:]
	var class numClass
	switch sign {
	case 0x0000:
		class = numPos
	case 0x4000:
		class = numNeg
	case 0xC000:
		class = numNaN
	case 0xD000:
		class = numPosInf
	case 0xF000:
		class = numNegInf
	default:
		return 0, false
	}
	// PostgreSQL sends numerics stripped of zero groups; strip anyway, so any valid form
	// compares right.
	for nd > 0 && binary.BigEndian.Uint16(digits) == 0 {
		digits, nd, weight = digits[2:], nd-1, weight-1
	}
	for nd > 0 && binary.BigEndian.Uint16(digits[2*(nd-1):]) == 0 {
		nd--
	}
	if (class == numPos || class == numNeg) && nd == 0 {
		class = numZero
	}
	if class != l.class {
		return cmpInt(int(class), int(l.class)), true
	}
	if class != numPos && class != numNeg {
		return 0, true
	}
	// Same sign, both non-zero: compare magnitudes.
	m := cmpInt(weight, l.weight)
	for i := 0; m == 0 && (i < nd || i < len(l.groups)); i++ {
		switch {
		case i >= nd:
			m = -1 // l has more (non-zero) groups
		case i >= len(l.groups):
			m = 1
		default:
			m = cmpInt(int(binary.BigEndian.Uint16(digits[2*i:])), int(l.groups[i]))
		}
	}
	if class == numNeg {
		m = -m
	}
	return m, true
}

// cmpNumText compares numeric_out text v with l. ok is false when v is not a number.
func cmpNumText(v []byte, l *numLit) (c int, ok bool) {
	d, kind, err := pgnumeric.Parse(v)
	if err != nil {
		return 0, false
	}
	var class numClass
	ip, fp := d.Int, d.Frac
	for len(fp) > 0 && fp[len(fp)-1] == '0' {
		fp = fp[:len(fp)-1]
	}
	switch {
	case kind == pgnumeric.NaN:
		class = numNaN
	case kind == pgnumeric.Inf:
		class = numPosInf
	case kind == pgnumeric.NegInf:
		class = numNegInf
	case len(ip) == 0 && len(fp) == 0:
		class = numZero
	case d.Neg:
		class = numNeg
	default:
		class = numPos
	}
	if class != l.class {
		return cmpInt(int(class), int(l.class)), true
	}
	if class != numPos && class != numNeg {
		return 0, true
	}
	m := cmpInt(len(ip), len(l.intDigits))
	if m == 0 {
		m = bytes.Compare(ip, l.intDigits)
	}
	if m == 0 {
		// No trailing zeros on either side, so a proper prefix is the smaller fraction.
		m = bytes.Compare(fp, l.fracDigits)
	}
	if class == numNeg {
		m = -m
	}
	return m, true
}
