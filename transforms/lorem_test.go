package transforms

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLoremHasAboutTheInputsLength(t *testing.T) {
	var in []string
	for n := 0; n <= 300; n++ {
		in = append(in, strings.Repeat("x", n))
	}
	in = append(in, "Dear John, your order 42 has shipped.", "ünïcødé", "山田太郎", ".", "A.", "Confidential: salary review\nfor 2024")
	for i, o := range identApply(t, fakeNew(t, "lorem", "", fakeText(false)), in...) {
		n := utf8.RuneCountInString(in[i])
		if len(o) > n || len(o) < n-1 {
			t.Errorf("%q (%d characters) → %q (%d)", in[i], n, o, len(o))
		}
		for _, w := range strings.Fields(strings.TrimSuffix(o, ".")) {
			if !fakeIn(fakeLorem.words, strings.ToLower(w)) {
				t.Errorf("%q → %q: %q is not a lorem word", in[i], o, w)
			}
		}
		if strings.Contains(o, "  ") || strings.HasPrefix(o, " ") || strings.HasSuffix(o, " ") {
			t.Errorf("%q → %q: stray spaces", in[i], o)
		}
	}
	o := fakeOne(t, "lorem", "", "Dear John, your order 42 has shipped.")
	if !strings.HasSuffix(o, ".") || o[0] < 'A' || o[0] > 'Z' {
		t.Errorf("a sentence → %q, want a capital and a period", o)
	}
	if o := fakeOne(t, "lorem", "", "lower case text"); o[0] < 'a' || o[0] > 'z' {
		t.Errorf("lower case text → %q", o)
	}
}

func TestLoremCommon(t *testing.T) {
	fakeCheckCommon(t, "lorem", "", false, "Dear John, your order has shipped.", "a note", "", "x", "Ünïcødé text of some length", "Call me back", "Delivered to the neighbour at number 12")
}

func BenchmarkLorem(b *testing.B) {
	fakeBench(b, "lorem", "", false, func(i int) string {
		return "Customer called about order " + strconv.Itoa(i) + " and asked for a refund."
	})
}
