package transforms

import (
	"strconv"
	"strings"
	"testing"
)

func TestStreetAddressIsNumberNameType(t *testing.T) {
	in := fakeInputs(300, func(i int) string { return strconv.Itoa(i) + " Main Street" })
	distinct := map[string]bool{}
	for i, o := range identApply(t, fakeNew(t, "street_address", "", fakeText(false)), in...) {
		distinct[o] = true
		w := strings.Fields(o)
		n, err := strconv.Atoi(w[0])
		bad := err != nil || n < 1 || n > 9999 || w[0][0] == '0' || len(w) < 3 || len(w) > 4 || !fakeIn(fakeStreetTypes, w[len(w)-1])
		if len(w) == 4 && !fakeIn(fakeStreetPrefixes, w[1]) {
			bad = true
		}
		if !bad {
			name, found := w[len(w)-2], false
			for _, e := range append([][]byte{nil}, fakeNameEndings...) {
				if base, ok := strings.CutSuffix(name, string(e)); ok && fakeIn(fakeLastNames, base) {
					found = true
				}
			}
			bad = !found
		}
		if bad {
			t.Errorf("%q → %q, not number, [direction,] name and street type", in[i], o)
		}
	}
	if len(distinct) < 295 {
		t.Errorf("300 inputs, %d distinct addresses", len(distinct))
	}
	if o := fakeOne(t, "street_address", "", "12 ROSE LANE"); o != strings.ToUpper(o) {
		t.Errorf("12 ROSE LANE → %q", o)
	}
}

func TestStreetAddressCommon(t *testing.T) {
	fakeCheckCommon(t, "street_address", "", false, "12 Main Street", "Hauptstraße 5", "221B Baker Street", "", "1600 PENNSYLVANIA AVENUE NW")
}

func BenchmarkStreetAddress(b *testing.B) {
	fakeBench(b, "street_address", "", false, func(i int) string { return strconv.Itoa(i) + " Main Street" })
}
