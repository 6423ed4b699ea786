package transforms

import (
	"strconv"
	"strings"
	"testing"
)

func TestCityIsListedOrMadeUp(t *testing.T) {
	in := fakeInputs(400, func(i int) string { return "Springfield " + strconv.Itoa(i) })
	listed, distinct := 0, map[string]bool{}
	for i, o := range identApply(t, fakeNew(t, "city", "", fakeText(false)), in...) {
		distinct[o] = true
		if fakeIn(fakeCities, o) {
			listed++
			continue
		}
		words := strings.Fields(o)
		town := words[len(words)-1]
		ok := false
		for _, e := range fakeNameEndings {
			if base, found := strings.CutSuffix(town, string(e)); found && fakeIn(fakeLastNames, base) {
				ok = true
			}
		}
		if !ok || len(words) > 2 || len(words) == 2 && !fakeIn(fakeStreetPrefixes, words[0]) {
			t.Errorf("%q → %q, neither a listed city nor a made-up town", in[i], o)
		}
	}
	if listed < 120 || listed > 280 || len(distinct) < 200 {
		t.Errorf("%d of 400 listed, %d distinct: want about half listed, and variety", listed, len(distinct))
	}
	if o := fakeOne(t, "city", "", "BERLIN"); o != strings.ToUpper(o) {
		t.Errorf("BERLIN → %q", o)
	}
	// A varchar(8) column gets listed cities that fit (made-up ones may be cut).
	for _, o := range identApply(t, fakeNew(t, "city", "", fakeVarchar(8, false)), in[:50]...) {
		if len([]rune(o)) > 8 {
			t.Errorf("varchar(8): %q", o)
		}
	}
}

func TestCityCommon(t *testing.T) {
	fakeCheckCommon(t, "city", "", false, "Berlin", "Paris", "New York", "MÜNCHEN", "", "São Paulo", "Köln", "Lyon")
}

func BenchmarkCity(b *testing.B) {
	fakeBench(b, "city", "", false, func(i int) string { return "Springfield " + strconv.Itoa(i) })
}
