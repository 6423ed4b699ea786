package transforms

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestUserAgentLooksLikeABrowser(t *testing.T) {
	shape := regexp.MustCompile(`^Mozilla/5\.0 \((?:[^()]|\([^()]*\))+\) (AppleWebKit/\d+\.\d+(\.\d+)? \(KHTML, like Gecko\) (Chrome/\d+\.0\.0\.0 (Mobile )?Safari/537\.36( Edg/\d+\.0\.\d+\.\d+)?|Version/\d+\.\d+ (Mobile/15E148 Safari/604\.1|Safari/605\.1\.15))|Gecko/20100101 Firefox/\d+\.0)$`)
	in := fakeInputs(2000, func(i int) string { return "curl/8." + strconv.Itoa(i) })
	families := map[string]int{}
	distinct := map[string]bool{}
	for i, o := range identApply(t, fakeNew(t, "user_agent", "", fakeText(false)), in...) {
		if !shape.MatchString(o) {
			t.Errorf("%q → %q: not a browser user agent", in[i], o)
		}
		for _, f := range []string{"Edg/", "Firefox/", "Chrome/", "Version/", "Android", "iPhone", "Windows", "Macintosh", "X11"} {
			if strings.Contains(o, f) {
				families[f]++
			}
		}
		distinct[o] = true
	}
	for f, n := range families {
		if n < 20 {
			t.Errorf("only %d of 2000 with %s", n, f)
		}
	}
	if len(families) != 9 || len(distinct) < 300 {
		t.Errorf("families %v, %d distinct", families, len(distinct))
	}
}

func TestUserAgentCommon(t *testing.T) {
	fakeCheckCommon(t, "user_agent", "", false, "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "curl/8.4.0", "", "Googlebot/2.1")
}

func BenchmarkUserAgent(b *testing.B) {
	fakeBench(b, "user_agent", "", false, func(i int) string { return "curl/8." + strconv.Itoa(i) })
}
