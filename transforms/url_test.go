package transforms

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// urlReserved reports whether host ends with a reserved suffix.
func urlReserved(host string) bool {
	for _, s := range fakeHostSuffixes {
		if strings.HasSuffix(host, "."+string(s)) {
			return true
		}
	}
	return false
}

func TestURLKeepsSchemeAndPathDepth(t *testing.T) {
	cases := []struct {
		in, scheme string
		segs       int
		slash      bool
	}{
		{"https://www.acme.com/users/42?token=secret#top", "https", 2, false},
		{"http://acme.com/", "http", 0, true},
		{"ftp://files.acme.com", "ftp", 0, false},
		{"HTTPS://ACME.COM/a/b/c/d/e", "HTTPS", 3, false},
		{"https://user:pw@acme.com:8443/x", "https", 1, false},
		{"www.acme.com/profile", "", 1, false},
		{"//cdn.acme.com/lib.js", "", 1, false},
		{"", "", 0, false},
	}
	tr := fakeNew(t, "url", "", fakeText(false))
	for _, c := range cases {
		o := identApply(t, tr, c.in)[0]
		parse := o
		if c.scheme == "" && !strings.HasPrefix(o, "//") {
			parse = "//" + o
		}
		u, err := url.Parse(parse)
		if err != nil {
			t.Errorf("%q → %q: %v", c.in, o, err)
			continue
		}
		segs := 0
		for _, s := range strings.Split(u.Path, "/") {
			if s != "" {
				segs++
			}
		}
		if !strings.HasPrefix(o, c.scheme) || !strings.EqualFold(u.Scheme, c.scheme) || !urlReserved(u.Host) ||
			segs != c.segs || (u.Path == "/") != c.slash || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Port() != "" {
			t.Errorf("%q → %q: want scheme %q, a reserved host, %d path segments and nothing else", c.in, o, c.scheme, c.segs)
		}
	}
}

func TestURLCommon(t *testing.T) {
	fakeCheckCommon(t, "url", "", false, "https://www.acme.com/users/42", "http://example.org", "", "acme.com", "https://bücher.de/ä")
}

func BenchmarkURL(b *testing.B) {
	fakeBench(b, "url", "", false, func(i int) string { return "https://www.acme.com/users/" + strconv.Itoa(i) })
}
