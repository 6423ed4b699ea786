// Package pgnumeric reads and writes PostgreSQL numeric values as decimal text, exactly: it
// takes the text apart into its digits without converting it to a binary number, so any
// precision works and, on the per-value paths, nothing is allocated.
//
// It reads the two grammars PostgreSQL has: numeric_out's (Parse), the only form a numeric
// column's text ever takes, and numeric_in's (ParseInput), what a literal may be written as.
// It is not the wire format: schemas/pgarrow turns the text into numeric_send's bytes and
// back.
package pgnumeric

import (
	"errors"
	"math"
)

// Kind says whether a numeric is a number or one of its special values.
type Kind uint8

const (
	Finite Kind = iota
	NaN
	Inf    // Infinity
	NegInf // -Infinity
)

// Decimal is a finite numeric taken apart: its sign, its integer digits without leading
// zeros ("" for a zero integer part) and its fraction digits, as many as its scale. The
// digits are substrings of the text it was parsed from.
type Decimal[S ~string | ~[]byte] struct {
	Neg       bool
	Int, Frac S
}

var (
	// ErrSyntax is returned for text that is not a numeric in the grammar asked for.
	ErrSyntax = errors.New("not a numeric in PostgreSQL's text form")
	// ErrExponent is returned by ParseInput for an exponent that numeric_in refuses.
	ErrExponent = errors.New("numeric exponent out of range")
)

// MaxExponent bounds the magnitude of a numeric literal's exponent, as numeric_in does.
const MaxExponent = math.MaxInt32 / 2

// Parse takes apart numeric_out's text: [-]digits[.digits] (at least one digit on either
// side of the point, and one after it if there is a point), NaN, Infinity or -Infinity.
func Parse[S ~string | ~[]byte](s S) (d Decimal[S], k Kind, err error) {
	switch string(s) {
	case "NaN":
		return d, NaN, nil
	case "Infinity":
		return d, Inf, nil
	case "-Infinity":
		return d, NegInf, nil
	}
	if len(s) > 0 && s[0] == '-' {
		d.Neg, s = true, s[1:]
	}
	d.Int = s
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			d.Int, d.Frac = s[:i], s[i+1:]
			if len(d.Frac) == 0 {
				return d, Finite, ErrSyntax
			}
			break
		}
	}
	if len(d.Int) == 0 && len(d.Frac) == 0 || !allDigits(d.Int) || !allDigits(d.Frac) {
		return d, Finite, ErrSyntax
	}
	d.Int = trimLeadingZeros(d.Int)
	return d, Finite, nil
}

// ParseInput takes apart numeric_in's text: surrounding white space, an optional sign,
// digits with an optional point (".5" and "5." too) and an optional exponent (e-3, E+7),
// or NaN, Infinity, inf in any case and with a sign. The value is d × 10^exp. It does not
// take the underscores or the hexadecimal, octal and binary integers that PostgreSQL 16
// also reads.
func ParseInput(s string) (d Decimal[string], exp int, k Kind, err error) {
	s = trimSpace(s)
	switch {
	case equalFold(s, "NaN"):
		return d, 0, NaN, nil
	case equalFold(s, "Infinity"), equalFold(s, "+Infinity"), equalFold(s, "inf"), equalFold(s, "+inf"):
		return d, 0, Inf, nil
	case equalFold(s, "-Infinity"), equalFold(s, "-inf"):
		return d, 0, NegInf, nil
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.Neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	d.Int = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		d.Frac = s[start:i]
	}
	if d.Int == "" && d.Frac == "" {
		return d, 0, Finite, ErrSyntax
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		start = i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp = exp*10 + int(s[i]-'0')
			if exp >= MaxExponent {
				return d, 0, Finite, ErrExponent
			}
		}
		if i == start {
			return d, 0, Finite, ErrSyntax
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return d, 0, Finite, ErrSyntax
	}
	d.Int = trimLeadingZeros(d.Int)
	return d, exp, Finite, nil
}

func allDigits[S ~string | ~[]byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func trimLeadingZeros[S ~string | ~[]byte](s S) S {
	for len(s) > 0 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// trimSpace trims the characters C's isspace accepts, as numeric_in does.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// equalFold is strings.EqualFold for ASCII words.
func equalFold(s, word string) bool {
	if len(s) != len(word) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], word[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
