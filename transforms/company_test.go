package transforms

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestCompanyIsMadeOfLastNames(t *testing.T) {
	suffixes := []string{}
	for _, s := range fakeCompanySuffixes {
		suffixes = append(suffixes, regexp.QuoteMeta(string(s)))
	}
	shape := regexp.MustCompile(`^(\w+) (` + strings.Join(suffixes, "|") + `)$|^(\w+)-(\w+)$|^(\w+), (\w+) and (\w+)$`)
	in := fakeInputs(300, func(i int) string { return "Acme Corp " + strconv.Itoa(i) })
	for i, o := range identApply(t, fakeNew(t, "company", "", fakeText(false)), in...) {
		m := shape.FindStringSubmatch(o)
		if m == nil {
			t.Errorf("%q → %q: not Name Suffix, Name-Name or Name, Name and Name", in[i], o)
			continue
		}
		for j, part := range m[1:] {
			if part != "" && j != 1 && !fakeIn(fakeLastNames, part) {
				t.Errorf("%q → %q: %q is not a listed last name", in[i], o, part)
			}
		}
	}
	if o := fakeOne(t, "company", "", "ACME GMBH"); o != strings.ToUpper(o) {
		t.Errorf("ACME GMBH → %q", o)
	}
}

func TestCompanyCommon(t *testing.T) {
	fakeCheckCommon(t, "company", "", false, "Acme Corp", "Globex GmbH", "Initech", "", "SOCIÉTÉ GÉNÉRALE")
}

func BenchmarkCompany(b *testing.B) {
	fakeBench(b, "company", "", false, func(i int) string { return "Acme Corp " + strconv.Itoa(i) })
}
