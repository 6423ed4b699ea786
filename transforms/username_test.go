package transforms

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var usernameShape = regexp.MustCompile(`^[a-z][a-z0-9._]*[a-z0-9]$`)

func TestUsernameIsMadeOfNameParts(t *testing.T) {
	in := fakeInputs(1000, func(i int) string { return "user" + strconv.Itoa(i) })
	distinct, digits := map[string]bool{}, 0
	for i, o := range identApply(t, fakeNew(t, "username", "", fakeText(false)), in...) {
		if !usernameShape.MatchString(o) || strings.Contains(o, "..") {
			t.Errorf("%q → %q: not a user name", in[i], o)
		}
		if strings.ContainsAny(o, "0123456789") {
			digits++
		}
		distinct[o] = true
	}
	if len(distinct) < 990 || digits < 200 || digits > 800 {
		t.Errorf("1000 names: %d distinct, %d with digits", len(distinct), digits)
	}
	// A varchar(8) column gets names cut to 8, never ending with a separator.
	for _, o := range identApply(t, fakeNew(t, "username", "", fakeVarchar(8, false)), in[:200]...) {
		if len(o) > 8 || !usernameShape.MatchString(o) && len(o) > 1 {
			t.Errorf("varchar(8): %q", o)
		}
	}
}

// On a unique column a user name ends with the input's 20-character discriminator, kept
// whole within varchar(n).
func TestUsernameOnAUniqueColumn(t *testing.T) {
	disc := regexp.MustCompile(`^(?:([a-z](?:[a-z0-9._]*[a-z0-9])?)_)?([a-z2-7]{20})$`)
	in := fakeInputs(200, func(i int) string { return "user" + strconv.Itoa(i) })
	full := identApply(t, fakeNew(t, "username", "", fakeText(true)), in...)
	for _, n := range []int{20, 21, 22, 24, 32} {
		short := identApply(t, fakeNew(t, "username", "", fakeVarchar(n, true)), in...)
		for i, o := range short {
			m := disc.FindStringSubmatch(o)
			if m == nil || len(o) > n || m[2] != full[i][len(full[i])-20:] || n <= 21 && m[1] != "" {
				t.Errorf("unique varchar(%d): %q → %q (on text: %q)", n, in[i], o, full[i])
			}
		}
	}
	for i, o := range full {
		if m := disc.FindStringSubmatch(o); m == nil || m[1] == "" || strings.ContainsAny(m[1], "0123456789") {
			t.Errorf("unique: %q → %q, want name parts, _ and the discriminator", in[i], o)
		}
	}
	if _, err := fakeTry(t, "username", "", fakeVarchar(19, true), fakeTestKey); err == nil || !strings.Contains(err.Error(), "too few for the 20-character discriminator") {
		t.Errorf("unique varchar(19): %v", err)
	}
}

func TestUsernameUniqueOverAMillionValues(t *testing.T) {
	tr := fakeNew(t, "username", "", fakeVarchar(24, true))
	identMillion(t, tr, func(i int) string { return "user" + strconv.Itoa(i) }, func(_, out string) string {
		if len(out) > 24 {
			return "longer than the column"
		}
		return ""
	})
}

func TestUsernameCommon(t *testing.T) {
	fakeCheckCommon(t, "username", "", true, "jsmith", "mary.kuhn", "admin", "", "Élodie_75")
}

func BenchmarkUsername(b *testing.B) {
	fakeBench(b, "username", "", true, func(i int) string { return "user" + strconv.Itoa(i) })
}
