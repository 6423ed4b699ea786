package transforms

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// emailParse checks out is one plain address and returns its local part and domain.
func emailParse(t *testing.T, in, out string) (local, domain string) {
	t.Helper()
	a, err := mail.ParseAddress(out)
	if err != nil || a.Address != out || a.Name != "" {
		t.Errorf("%q → %q: not a plain address (%v)", in, out, err)
		return "", ""
	}
	at := strings.LastIndexByte(out, '@')
	return out[:at], out[at+1:]
}

func TestEmailIsAFakeAddressAtAReservedDomain(t *testing.T) {
	in := fakeInputs(1000, func(i int) string { return "person" + strconv.Itoa(i) + "@gmail.com" })
	distinct := map[string]bool{}
	for i, o := range identApply(t, fakeNew(t, "email", "", fakeText(false)), in...) {
		local, domain := emailParse(t, in[i], o)
		if !fakeIn(fakeEmailDomains, domain) || !usernameShape.MatchString(local) {
			t.Errorf("%q → %q: want a name-made local part at a reserved domain", in[i], o)
		}
		distinct[o] = true
	}
	if len(distinct) < 990 {
		t.Errorf("1000 addresses, %d distinct", len(distinct))
	}
	// keep_domain keeps what follows the last @; an input without one gets a reserved domain.
	kept := []string{"john.smith@acme.co.uk", `"odd@local"@Example.ORG`, "no-at-sign", "trailing@", "x@bücher.de"}
	out := identApply(t, fakeNew(t, "email", "{transform: email, keep_domain: true}", fakeText(false)), kept...)
	for i, want := range []string{"acme.co.uk", "Example.ORG", "", "", "bücher.de"} {
		_, domain, _ := strings.Cut(out[i], "@")
		if want == "" && !fakeIn(fakeEmailDomains, domain) || want != "" && domain != want {
			t.Errorf("keep_domain: %q → %q, want the domain %q", kept[i], out[i], want)
		}
	}
	// keep_domain changes the domain only.
	plain := identApply(t, fakeNew(t, "email", "", fakeText(false)), kept[0])
	if l1, _, _ := strings.Cut(plain[0], "@"); !strings.HasPrefix(out[0], l1+"@") {
		t.Errorf("keep_domain changed the local part: %q and %q", plain[0], out[0])
	}
	// A varchar(20) column gets whole addresses, the local part shortened.
	for i, o := range identApply(t, fakeNew(t, "email", "", fakeVarchar(20, false)), in[:300]...) {
		emailParse(t, in[i], o)
		if len(o) > 20 {
			t.Errorf("varchar(20): %q", o)
		}
	}
}

// On a unique column the local part ends with the input's 20-character discriminator, kept
// whole within varchar(n); the column must leave room for it.
func TestEmailOnAUniqueColumn(t *testing.T) {
	disc := regexp.MustCompile(`^(?:([a-z](?:[a-z0-9._]*[a-z0-9])?)\.)?([a-z2-7]{20})@`)
	in := fakeInputs(300, func(i int) string { return "person" + strconv.Itoa(i) + "@corp.example.com" })
	full := identApply(t, fakeNew(t, "email", "", fakeText(true)), in...)
	for i, o := range full {
		emailParse(t, in[i], o)
		if m := disc.FindStringSubmatch(o); m == nil || m[1] == "" || strings.ContainsAny(m[1], "0123456789") {
			t.Errorf("unique: %q → %q, want name parts, a dot and the discriminator", in[i], o)
		}
	}
	for _, n := range []int{32, 33, 36, 40, 64} {
		for i, o := range identApply(t, fakeNew(t, "email", "", fakeVarchar(n, true)), in...) {
			emailParse(t, in[i], o)
			m := disc.FindStringSubmatch(o)
			if m == nil || len([]rune(o)) > n || m[2] != disc.FindStringSubmatch(full[i])[2] {
				t.Errorf("unique varchar(%d): %q → %q (on text: %q)", n, in[i], o, full[i])
			}
		}
	}
	if _, err := fakeTry(t, "email", "", fakeVarchar(31, true), fakeTestKey); err == nil || !strings.Contains(err.Error(), "too few for the 20-character discriminator") {
		t.Errorf("unique varchar(31): %v", err)
	}
	// With keep_domain, a domain that leaves no room for the discriminator fails the batch
	// rather than cut it.
	kd := fakeNew(t, "email", "{transform: email, keep_domain: true}", fakeVarchar(40, true))
	if err := identApplyErr(t, kd, "a@a-rather-long-domain-name.example.com"); err == nil || !strings.Contains(err.Error(), "break uniqueness") {
		t.Errorf("unique varchar(40), long kept domain: %v", err)
	}
	for i, o := range identApply(t, kd, "a@b.de", "bob@corp.example.com") {
		if !strings.HasSuffix(o, []string{"@b.de", "@corp.example.com"}[i]) || len(o) > 40 {
			t.Errorf("unique varchar(40), keep_domain: %q", o)
		}
	}
	// keep_domain on a unique column: distinct inputs at many domains stay distinct.
	kept := fakeNew(t, "email", "{transform: email, keep_domain: true}", fakeText(true))
	seen := map[string]bool{}
	many := fakeInputs(20000, func(i int) string { return "p" + strconv.Itoa(i/7) + "@d" + strconv.Itoa(i%7) + ".example" })
	for _, o := range identApply(t, kept, many...) {
		if seen[o] {
			t.Fatalf("keep_domain, unique: %q twice", o)
		}
		seen[o] = true
	}
}

func TestEmailUniqueOverAMillionValues(t *testing.T) {
	tr := fakeNew(t, "email", "", fakeVarchar(40, true))
	identMillion(t, tr, func(i int) string { return "customer" + strconv.Itoa(i) + "@shop.example" }, func(_, out string) string {
		if len(out) > 40 {
			return "longer than the column"
		}
		if a, err := mail.ParseAddress(out); err != nil || a.Address != out {
			return "not a plain address"
		}
		return ""
	})
}

func TestEmailCommon(t *testing.T) {
	fakeCheckCommon(t, "email", "", true, "john.smith@gmail.com", "Mary@Example.org", "not an address", "", "élodie@bücher.de")
	fakeCheckCommon(t, "email", "{transform: email, keep_domain: true}", true, "john.smith@gmail.com", "mary@example.org", "x@y.z", "nobody")
}

func BenchmarkEmail(b *testing.B) {
	fakeBench(b, "email", "", true, func(i int) string { return "customer" + strconv.Itoa(i) + "@shop.example" })
}
