package transforms

import (
	"strconv"
	"strings"
	"testing"
)

// nationalIDLuhnValid is the Luhn check written out: from the right, every second digit is
// doubled, less 9 when that is over 9, and the sum of all is a multiple of 10.
func nationalIDLuhnValid(s string) bool {
	var d []int
	for _, c := range s {
		if c >= '0' && c <= '9' {
			d = append(d, int(c-'0'))
		}
	}
	sum := 0
	for i := range d {
		x := d[len(d)-1-i]
		if i%2 == 1 {
			if x *= 2; x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return len(d) >= 2 && sum%10 == 0
}

// nationalIDWithLuhn appends to the digits body the digit that makes them Luhn-valid: the
// one that brings the sum to a multiple of 10, the last of body now being doubled.
func nationalIDWithLuhn(body string) string {
	sum := 0
	for i := range len(body) {
		x := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			if x *= 2; x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return body + string(rune('0'+(10-sum%10)%10))
}

// nationalIDDigits is the ASCII digits of s.
func nationalIDDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func TestNationalIDKeepsLayoutAndPrefix(t *testing.T) {
	cases := []struct {
		params string
		keep   int
		in     []string
	}{
		{"", 0, []string{"123-45-6789", "AB123456C", "12 345 678 901", "1 85 05 78 006 084 36", "X-1", "", "n/a"}},
		{"{transform: national_id, keep_prefix: 3}", 3, []string{"123-45-6789", "AB123456C", "12 345 678 901", "12", "n/a"}},
		{"{transform: national_id, keep_prefix: 6}", 6, []string{"811228-9874", "19811228-9874", "850578 00608436"}},
		{"{transform: national_id, keep_prefix: 1, luhn: true}", 1, []string{"1 85 05 78 006 084 36", "046 454 286", "7"}},
	}
	for _, tc := range cases {
		out := identApply(t, identNew(t, newNationalID, tc.params, false), tc.in...)
		for i, in := range tc.in {
			_, la := digitsRuns(in)
			_, lb := digitsRuns(out[i])
			din, dout := nationalIDDigits(in), nationalIDDigits(out[i])
			kept := min(tc.keep, len(din))
			switch {
			case lb != la:
				t.Errorf("%s: %q → %q: the layout changed", tc.params, in, out[i])
			case dout[:kept] != din[:kept]:
				t.Errorf("%s: %q → %q: the first %d digits changed", tc.params, in, out[i], tc.keep)
			case len(din)-kept >= 4 && dout[kept:] == din[kept:]:
				t.Errorf("%s: %q unchanged", tc.params, in)
			}
		}
	}
	// One identifier in two layouts gets the same digits.
	for _, p := range []string{"", "{transform: national_id, keep_prefix: 3, luhn: true}"} {
		out := identApply(t, identNew(t, newNationalID, p, false), "123-45-6789", "123456789", "123 45 6789")
		if nationalIDDigits(out[0]) != nationalIDDigits(out[1]) || nationalIDDigits(out[0]) != nationalIDDigits(out[2]) {
			t.Errorf("%s: one identifier, other digits: %q", p, out)
		}
	}
}

func TestNationalIDLuhn(t *testing.T) {
	valid := []string{"046 454 286", "811228-9874", "79927398713", "4992739871-6", nationalIDWithLuhn("12345678")}
	for _, v := range valid {
		if !nationalIDLuhnValid(v) {
			t.Fatalf("test input %q is not Luhn-valid", v)
		}
	}
	for _, p := range []string{"{transform: national_id, luhn: true}", "{transform: national_id, keep_prefix: 6, luhn: true}"} {
		out := identApply(t, identNew(t, newNationalID, p, false), valid...)
		for i, o := range out {
			if !nationalIDLuhnValid(o) || o == valid[i] {
				t.Errorf("%s: %q → %q: not a new Luhn-valid number", p, valid[i], o)
			}
		}
	}
	tr := identNew(t, newNationalID, "{transform: national_id, luhn: true}", false)
	// A wrong check digit stays wrong, so it cannot meet the valid number's image.
	out := identApply(t, tr, "046 454 287", "046 454 286")
	if nationalIDLuhnValid(out[0]) || out[0] == out[1] {
		t.Errorf("invalid number → %q, valid one → %q", out[0], out[1])
	}
	// Nothing but kept digits: the value stays as it is, check digit and all.
	kept := identApply(t, identNew(t, newNationalID, "{transform: national_id, keep_prefix: 9, luhn: true}", false),
		"046 454 286", "046 454 28", "no digits")
	if kept[0] != "046 454 286" || kept[1] != "046 454 28" || kept[2] != "no digits" {
		t.Errorf("kept digits only → %q", kept)
	}
	// Without luhn: true the last digit is an ordinary digit.
	plain := identApply(t, identNew(t, newNationalID, "", false), valid...)
	validOut := 0
	for _, o := range plain {
		if nationalIDLuhnValid(o) {
			validOut++
		}
	}
	if validOut == len(valid) {
		t.Errorf("without luhn every output is Luhn-valid: %q", plain)
	}
}

func TestNationalIDCommonContract(t *testing.T) {
	identCheckCommon(t, newNationalID, "national_id", "", "123-45-6789", "AB123456C", "811228-9874")
	identCheckCommon(t, newNationalID, "national_id", "{transform: national_id, keep_prefix: 3, luhn: true}", "123-45-6789", "046 454 286",
		strings.Repeat("1234567890", 6))
	identCheckRefusals(t, newNationalID, "national_id", map[string]string{
		"{transform: national_id, keep_prefix: -1}": "keep_prefix must not be negative",
		"{transform: national_id, luhn: maybe}":     "cannot unmarshal",
	})
	if !identUniqueClaim(identNew(t, newNationalID, "", true)) {
		t.Error("national_id does not claim uniqueness")
	}
}

func TestNationalIDMillionUnique(t *testing.T) {
	tr := identNew(t, newNationalID, "{transform: national_id, keep_prefix: 2, luhn: true}", true)
	pad := func(n, w int) string { s := strconv.Itoa(n); return strings.Repeat("0", w-len(s)) + s }
	identMillion(t, tr, func(i int) string {
		// SSNs, Luhn-valid 10-digit numbers, and 6+4 numbers of which one in ten is valid.
		switch i % 3 {
		case 0:
			d := pad(i*7919%1_000_000_000, 9)
			return d[:3] + "-" + d[3:5] + "-" + d[5:]
		case 1:
			return nationalIDWithLuhn(pad(i*7919%1_000_000_000, 9))
		}
		d := pad(i*104729%10_000_000_000, 10)
		return d[:6] + "-" + d[6:]
	}, func(in, out string) string {
		_, la := digitsRuns(in)
		_, lb := digitsRuns(out)
		switch {
		case la != lb:
			return "layout changed"
		case nationalIDDigits(in)[:2] != nationalIDDigits(out)[:2]:
			return "prefix changed"
		case nationalIDLuhnValid(in) != nationalIDLuhnValid(out):
			return "Luhn validity changed"
		}
		return ""
	})
}

func BenchmarkNationalID(b *testing.B) {
	identBench(b, newNationalID, "{transform: national_id, keep_prefix: 3, luhn: true}", func(i int) string {
		d := strconv.Itoa(100000000 + i*7919)
		return d[:3] + "-" + d[3:5] + "-" + d[5:9]
	})
}
