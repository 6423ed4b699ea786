package transforms

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestDomainIsReserved(t *testing.T) {
	shape := regexp.MustCompile(`^(www\.)?[a-z]+(-[a-z]+)?\.[a-z.]+$`)
	in := fakeInputs(500, func(i int) string { return "acme" + strconv.Itoa(i) + ".com" })
	distinct := map[string]bool{}
	for i, o := range identApply(t, fakeNew(t, "domain", "", fakeText(false)), in...) {
		if !shape.MatchString(o) || !urlReserved(o) || strings.HasPrefix(o, "www.") {
			t.Errorf("%q → %q: not a fake domain under a reserved name", in[i], o)
		}
		distinct[o] = true
	}
	if len(distinct) < 450 {
		t.Errorf("500 inputs, %d distinct domains", len(distinct))
	}
	if o := fakeOne(t, "domain", "", "www.acme.com"); !strings.HasPrefix(o, "www.") || !urlReserved(o) {
		t.Errorf("www.acme.com → %q", o)
	}
}

func TestDomainCommon(t *testing.T) {
	fakeCheckCommon(t, "domain", "", false, "acme.com", "www.globex.de", "mail.initech.co.uk", "", "bücher.de")
}

func BenchmarkDomain(b *testing.B) {
	fakeBench(b, "domain", "", false, func(i int) string { return "acme" + strconv.Itoa(i) + ".com" })
}
