package pgarrow

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"
)

// TestNumericParse checks text → binary for the inputs a transformer may produce, against what
// PostgreSQL 15's numeric_send gives for the same literal.
func TestNumericParse(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
	}{
		{"0", num(0, numPos, 0)},
		{"-0.000", num(0, numPos, 3)},
		{"+0", num(0, numPos, 0)},
		{"000.0", num(0, numPos, 1)},
		{"NaN", num(0, numNaN, 0)},
		{"nan", num(0, numNaN, 0)},
		{"Infinity", num(0, numPInf, 32)},
		{"+inf", num(0, numPInf, 32)},
		{"-Infinity", num(0, numNInf, 32)},
		{"-INF", num(0, numNInf, 32)},
		{"12.3400", mustHex("0002000000000004000c0d48")},
		{" 12.3400\n", mustHex("0002000000000004000c0d48")},
		{"1e-20", mustHex("0001fffb000000140001")},
		{"1.5e3", mustHex("000100000000000005dc")},
		{"1.5E+3", mustHex("000100000000000005dc")},
		{"-1", mustHex("00010000400000000001")},
		{"10000", mustHex("00010001000000000001")},
		{"0.0001", mustHex("0001ffff000000040001")},
		{"-.5", mustHex("0001ffff400000011388")},
		{"5.", num(0, numPos, 0, 5)},
		{"123456789012345678901234567890.123456789", mustHex("000b000700000009000c0d801ed204d2162e23340d801ed204d2162e2328")},
		{"1e131071", num(32767, numPos, 0, 1000)},
		{"1e-16383", num(-4096, numPos, 16383, 10)},
	}
	var p numParser
	for _, tc := range tests {
		got, err := p.appendBinary(nil, tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%q: got %x, want %x", tc.in, got, tc.want)
		}
	}
}

func TestNumericParseErrors(t *testing.T) {
	var p numParser
	for _, in := range []string{
		"", " ", "abc", ".", "-", "+-1", "1e", "1e+", "1.2.3", "1_000", "0x1F", "1 2", "NaNa", "infinit",
		"1e131072", "1e-16384", "1e99999999999", "0." + strings.Repeat("0", 16384),
	} {
		if got, err := p.appendBinary(nil, in); err == nil {
			t.Errorf("%q: got %x, want an error", in, got)
		}
	}
}

// TestNumericRoundTripRandom: for canonical binary numerics of random shape, binary → text →
// binary is the identity, and the text has the digits the binary says.
func TestNumericRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var p numParser
	for i := 0; i < 20000; i++ {
		nd := rng.Intn(12)
		weight := rng.Intn(40) - 20
		if rng.Intn(50) == 0 {
			weight = 32767 - rng.Intn(3)
		}
		digits := make([]int16, nd)
		for j := range digits {
			digits[j] = int16(rng.Intn(10000))
		}
		if nd > 0 {
			for digits[0] == 0 {
				digits[0] = int16(rng.Intn(10000))
			}
			for digits[nd-1] == 0 {
				digits[nd-1] = int16(rng.Intn(10000))
			}
		}
		sign := uint16(numPos)
		if nd > 0 && rng.Intn(2) == 0 {
			sign = numNeg
		}
		if nd == 0 {
			weight = 0
		}
		// The smallest dscale that shows every digit, plus some.
		dscale := 0
		if last := weight - (nd - 1); nd > 0 && last < 0 {
			dscale = -4 * last
			for g := digits[nd-1]; g%10 == 0; g /= 10 {
				dscale--
			}
		}
		dscale += rng.Intn(6)
		bin := num(int16(weight), sign, uint16(dscale), digits...)
		text, err := appendNumericText(nil, bin)
		if err != nil {
			t.Fatalf("%x: %v", bin, err)
		}
		back, err := p.appendBinary(nil, string(text))
		if err != nil {
			t.Fatalf("%x → %q: %v", bin, text, err)
		}
		if !bytes.Equal(back, bin) {
			t.Fatalf("%x → %q → %x", bin, text, back)
		}
	}
}
