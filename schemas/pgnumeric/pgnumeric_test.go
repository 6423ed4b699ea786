package pgnumeric

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, back string
		kind     Kind
		err      bool
	}{
		{"-12.3400", "-12.3400", Finite, false},
		{"0.05", "0.05", Finite, false},
		{"007", "7", Finite, false},
		{"0", "0", Finite, false},
		{"NaN", "", NaN, false},
		{"Infinity", "", Inf, false},
		{"-Infinity", "", NegInf, false},
		{"", "", Finite, true},
		{"1.", "", Finite, true},
		{"-", "", Finite, true},
		{"1e5", "", Finite, true},
		{"1.2.3", "", Finite, true},
		{" 1", "", Finite, true},
		{"inf", "", Finite, true},
	} {
		for _, asBytes := range []bool{false, true} {
			var d Decimal[string]
			var kind Kind
			var err error
			if asBytes {
				var b Decimal[[]byte]
				b, kind, err = Parse([]byte(tc.in))
				d = Decimal[string]{Neg: b.Neg, Int: string(b.Int), Frac: string(b.Frac)}
			} else {
				d, kind, err = Parse(tc.in)
			}
			if (err != nil) != tc.err || kind != tc.kind {
				t.Errorf("%q (bytes %v): kind %v err %v", tc.in, asBytes, kind, err)
				continue
			}
			if !tc.err && kind == Finite {
				if got := string(d.Append(nil)); got != tc.back {
					t.Errorf("%q came back as %q", tc.in, got)
				}
			}
		}
	}
	if got := string(AppendScaled(nil, true, "000", 2)); got != "0.00" {
		t.Errorf("negative zero printed %q", got)
	}
	if got := string(AppendMantissa(nil, true, 5, 3)); got != "-0.005" {
		t.Errorf("got %q", got)
	}
	if m, ok := (Decimal[string]{Int: "", Frac: "000000000000000000000123"}).Mantissa(); !ok || m != 123 {
		t.Errorf("small fraction mantissa %d %v", m, ok)
	}
}

// ParseInput reads what numeric_in reads; the digits it gives, at the exponent, are the value.
func TestParseInput(t *testing.T) {
	for _, tc := range []struct {
		in      string
		neg     bool
		int     string
		frac    string
		exp     int
		kind    Kind
		wantErr error
	}{
		{" -012.340\n", true, "12", "340", 0, Finite, nil},
		{"+.5", false, "", "5", 0, Finite, nil},
		{"5.", false, "5", "", 0, Finite, nil},
		{"1.5E+3", false, "1", "5", 3, Finite, nil},
		{"1e-20", false, "1", "", -20, Finite, nil},
		{"-INF", false, "", "", 0, NegInf, nil},
		{"nan", false, "", "", 0, NaN, nil},
		{"+Infinity", false, "", "", 0, Inf, nil},
		{".", false, "", "", 0, Finite, ErrSyntax},
		{"1e", false, "", "", 0, Finite, ErrSyntax},
		{"1 2", false, "", "", 0, Finite, ErrSyntax},
		{"1_000", false, "", "", 0, Finite, ErrSyntax},
		{"1e99999999999", false, "", "", 0, Finite, ErrExponent},
	} {
		d, exp, kind, err := ParseInput(tc.in)
		if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Errorf("%q: err %v, want %v", tc.in, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if kind != tc.kind || d.Neg != tc.neg || d.Int != tc.int || d.Frac != tc.frac || exp != tc.exp {
			t.Errorf("%q: %v %+v e%d, want %v {%v %q %q} e%d", tc.in, kind, d, exp, tc.kind, tc.neg, tc.int, tc.frac, tc.exp)
		}
	}
}

// Parsing numeric_out's text allocates nothing, in either form: it runs once per value.
func TestParseDoesNotAllocate(t *testing.T) {
	s, b := "-12345.6789", []byte("-Infinity")
	if n := testing.AllocsPerRun(100, func() {
		_, _, _ = Parse(s)
		_, _, _ = Parse(b)
		_, _, _, _ = ParseInput(s)
	}); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}
