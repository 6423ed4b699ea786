package transforms

import (
	"strconv"
	"strings"
	"testing"
)

func TestLastNameComesFromTheList(t *testing.T) {
	in := fakeInputs(300, func(i int) string { return "Smith" + strconv.Itoa(i) })
	distinct := map[string]bool{}
	for i, o := range identApply(t, fakeNew(t, "last_name", "", fakeText(false)), in...) {
		if !fakeIn(fakeLastNames, o) {
			t.Errorf("%q → %q, not a listed last name", in[i], o)
		}
		distinct[o] = true
	}
	if len(distinct) < 150 {
		t.Errorf("300 inputs got only %d distinct last names", len(distinct))
	}
	if o := fakeOne(t, "last_name", "", "MÜLLER"); o != strings.ToUpper(o) || !fakeIn(fakeLastNames, fakeTitle(o)) {
		t.Errorf("MÜLLER → %q", o)
	}
}

func TestLastNameCommon(t *testing.T) {
	fakeCheckCommon(t, "last_name", "", false, "Smith", "Müller", "O'Brien", "DUPONT", "garcía", "")
}

func BenchmarkLastName(b *testing.B) {
	fakeBench(b, "last_name", "", false, func(i int) string { return "Smith" + strconv.Itoa(i) })
}
