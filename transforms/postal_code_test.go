package transforms

import (
	"strconv"
	"testing"
)

// postalShape classes each byte: 9 for a digit, A and a for letters, itself otherwise.
func postalShape(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case '0' <= c && c <= '9':
			b[i] = '9'
		case 'A' <= c && c <= 'Z':
			b[i] = 'A'
		case 'a' <= c && c <= 'z':
			b[i] = 'a'
		}
	}
	return string(b)
}

func TestPostalCodeKeepsTheShape(t *testing.T) {
	in := []string{"SW1A 1AA", "10115", "75008", "K1A 0B1", "1234-567", "sw1a 1aa", "01-234", "D02 X285", "", "  ", "100-0001", "Ö-1234"}
	out := identApply(t, fakeNew(t, "postal_code", "", fakeText(false)), in...)
	changed := 0
	for i, o := range out {
		if postalShape(o) != postalShape(in[i]) {
			t.Errorf("%q → %q: shape %q, want %q", in[i], o, postalShape(o), postalShape(in[i]))
		}
		if o != in[i] {
			changed++
		}
	}
	if changed < len(in)-2 {
		t.Errorf("only %d of %d codes changed: %q", changed, len(in), out)
	}
	// Many inputs, many outputs.
	many := fakeInputs(1000, func(i int) string { return strconv.Itoa(10000 + i) })
	distinct := map[string]bool{}
	for _, o := range identApply(t, fakeNew(t, "postal_code", "", fakeText(false)), many...) {
		distinct[o] = true
	}
	if len(distinct) < 990 {
		t.Errorf("1000 codes, %d distinct outputs", len(distinct))
	}
}

func TestPostalCodeCommon(t *testing.T) {
	fakeCheckCommon(t, "postal_code", "", false, "SW1A 1AA", "10115", "75008", "K1A 0B1", "90210-1234", "")
}

func BenchmarkPostalCode(b *testing.B) {
	fakeBench(b, "postal_code", "", false, func(i int) string { return strconv.Itoa(10000 + i) })
}
