package transforms

import (
	"strconv"
	"strings"
	"testing"
)

func TestFirstNameComesFromTheList(t *testing.T) {
	in := fakeInputs(500, func(i int) string { return "Name" + strconv.Itoa(i) })
	out := identApply(t, fakeNew(t, "first_name", "", fakeText(false)), in...)
	distinct := map[string]bool{}
	for i, o := range out {
		if !fakeIn(fakeFirstNames, o) {
			t.Errorf("%q → %q, not a listed first name", in[i], o)
		}
		distinct[o] = true
	}
	if len(distinct) < 400 {
		t.Errorf("500 inputs got only %d distinct first names", len(distinct))
	}
	// The letter case follows the input's.
	cased := identApply(t, fakeNew(t, "first_name", "", fakeText(false)), "JOHN", "john", "John")
	if cased[0] != strings.ToUpper(cased[0]) || !fakeIn(fakeFirstNames, fakeTitle(cased[0])) {
		t.Errorf("JOHN → %q", cased[0])
	}
	if cased[1] != strings.ToLower(cased[1]) || !fakeIn(fakeFirstNames, fakeTitle(cased[1])) {
		t.Errorf("john → %q", cased[1])
	}
	// A varchar(4) column gets whole names of at most 4 characters.
	for _, o := range identApply(t, fakeNew(t, "first_name", "", fakeVarchar(4, false)), in[:100]...) {
		if len(o) > 4 || !fakeIn(fakeFirstNames, o) {
			t.Errorf("varchar(4): %q", o)
		}
	}
}

// fakeTitle writes an ASCII word as the lists do: capital first, lower case after.
func fakeTitle(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

func TestFirstNameCommon(t *testing.T) {
	fakeCheckCommon(t, "first_name", "", false, "John", "Mary", "JOHN", "élodie", "", "Jean-Luc", "山田")
}

func BenchmarkFirstName(b *testing.B) {
	fakeBench(b, "first_name", "", false, func(i int) string { return "Name" + strconv.Itoa(i) })
}
