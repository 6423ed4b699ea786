package transforms

import (
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

func TestCountryKeepsCodeLength(t *testing.T) {
	tr := fakeNew(t, "country", "", fakeText(false))
	in := []string{"DE", "fr", "USA", "gbr", "Germany", "FRANCE", "united kingdom", "Deutschland", "D", "DE1"}
	out := identApply(t, tr, in...)
	check := func(i int, ok bool, what string) {
		if !ok {
			t.Errorf("%q → %q, want %s", in[i], out[i], what)
		}
	}
	check(0, fakeIn(fakeCountryAlpha2, out[0]), "an alpha-2 code")
	check(1, fakeIn(fakeCountryAlpha2, strings.ToUpper(out[1])) && out[1] == strings.ToLower(out[1]), "a lower-case alpha-2 code")
	check(2, fakeIn(fakeCountryAlpha3, out[2]), "an alpha-3 code")
	check(3, fakeIn(fakeCountryAlpha3, strings.ToUpper(out[3])) && out[3] == strings.ToLower(out[3]), "a lower-case alpha-3 code")
	check(4, fakeIn(fakeCountries, out[4]), "a listed country name")
	check(5, out[5] == strings.ToUpper(out[5]) && len(out[5]) > 3, "an upper-case name")
	check(6, out[6] == strings.ToLower(out[6]) && len(out[6]) > 3, "a lower-case name")
	check(7, fakeIn(fakeCountries, out[7]), "a listed country name")
	check(8, fakeIn(fakeCountries, out[8]), "a listed country name")
	check(9, out[9] == strings.ToUpper(out[9]) && len(out[9]) > 3, "an upper-case name")

	// char(2) and char(3) columns hold codes, whatever the input looks like.
	for n, list := range map[int][][]byte{2: fakeCountryAlpha2, 3: fakeCountryAlpha3} {
		c := Column{Table: "public.people", Name: "country", TypeName: "character(" + strconv.Itoa(n) + ")", BaseOID: pgtype.BPCharOID, Typmod: int32(n + 4)}
		for _, o := range identApply(t, fakeNew(t, "country", "", c), "DE", "Germany", "x") {
			if !fakeIn(list, o) {
				t.Errorf("char(%d): %q is not a code of that length", n, o)
			}
		}
	}
	// A varchar(12) column gets whole names.
	for _, o := range identApply(t, fakeNew(t, "country", "", fakeVarchar(12, false)), fakeInputs(100, func(i int) string { return "Country " + strconv.Itoa(i) })...) {
		if !fakeIn(fakeCountries, o) || len([]rune(o)) > 12 {
			t.Errorf("varchar(12): %q", o)
		}
	}
}

func TestCountryCommon(t *testing.T) {
	fakeCheckCommon(t, "country", "", false, "DE", "USA", "Germany", "france", "", "Côte d'Ivoire", "FR", "ITA")
}

func BenchmarkCountry(b *testing.B) {
	fakeBench(b, "country", "", false, func(i int) string { return "Country " + strconv.Itoa(i) })
}
