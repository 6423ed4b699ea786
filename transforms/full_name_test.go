package transforms

import (
	"strconv"
	"strings"
	"testing"
)

func TestFullNameIsFirstSpaceLast(t *testing.T) {
	in := fakeInputs(300, func(i int) string { return "John Smith " + strconv.Itoa(i) })
	for i, o := range identApply(t, fakeNew(t, "full_name", "", fakeText(false)), in...) {
		first, last, ok := strings.Cut(o, " ")
		if !ok || !fakeIn(fakeFirstNames, first) || !fakeIn(fakeLastNames, last) {
			t.Errorf("%q → %q, not a listed first name, a space and a listed last name", in[i], o)
		}
	}
	if o := fakeOne(t, "full_name", "", "JOHN SMITH"); o != strings.ToUpper(o) || strings.Count(o, " ") != 1 {
		t.Errorf("JOHN SMITH → %q", o)
	}
}

func TestFullNameCommon(t *testing.T) {
	fakeCheckCommon(t, "full_name", "", false, "John Smith", "Mary-Ann O'Neil", "JOHN SMITH", "", "Élodie Dupont")
}

func BenchmarkFullName(b *testing.B) {
	fakeBench(b, "full_name", "", false, func(i int) string { return "John Smith " + strconv.Itoa(i) })
}
