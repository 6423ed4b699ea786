package transforms

import (
	"strconv"
	"strings"
	"testing"
)

func TestJobTitleIsDescriptorAreaRole(t *testing.T) {
	in := fakeInputs(300, func(i int) string { return "Engineer " + strconv.Itoa(i) })
	for i, o := range identApply(t, fakeNew(t, "job_title", "", fakeText(false)), in...) {
		w := strings.Fields(o)
		if len(w) != 3 || !fakeIn(fakeJobDescriptors, w[0]) || !fakeIn(fakeJobLevels, w[1]) || !fakeIn(fakeJobTitles, w[2]) {
			t.Errorf("%q → %q: not descriptor, area and role", in[i], o)
		}
	}
	if o := fakeOne(t, "job_title", "", "cto"); o != strings.ToLower(o) {
		t.Errorf("cto → %q", o)
	}
}

func TestJobTitleCommon(t *testing.T) {
	fakeCheckCommon(t, "job_title", "", false, "Software Engineer", "CEO", "Head of Sales", "", "Directeur général")
}

func BenchmarkJobTitle(b *testing.B) {
	fakeBench(b, "job_title", "", false, func(i int) string { return "Engineer " + strconv.Itoa(i) })
}
