package transforms

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var identE164 = regexp.MustCompile(`^\+[0-9]{8,15}$`)

func TestPhoneE164WritesE164AndKeepsTheCountryCode(t *testing.T) {
	tr := identNew(t, newPhoneE164, "{transform: phone_e164, country: GB}", false)
	in := []string{"+44 20 7946 0958", "0044 20-7946-0958", "020 7946 0958", "+44 (0)20 7946 0958", "+442079460958",
		"+1 (212) 555-0100", "+49 30 12345678", "+39 06 1234 5678", ""}
	out := identApply(t, tr, in...)
	for i, o := range out[:len(out)-1] {
		if !identE164.MatchString(o) {
			t.Errorf("%q → %q: not E.164", in[i], o)
		}
	}
	for i := 1; i < 5; i++ {
		if out[i] != out[0] {
			t.Errorf("one number, two outputs: %q → %q, %q → %q", in[0], out[0], in[i], out[i])
		}
	}
	for i, cc := range map[int]string{0: "+44", 5: "+1", 6: "+49", 7: "+390"} {
		if !strings.HasPrefix(out[i], cc) {
			t.Errorf("%q → %q: country code %s lost", in[i], out[i], cc)
		}
	}
	if out[len(out)-1] != "" {
		t.Errorf("empty value → %q", out[len(out)-1])
	}
	// With domain: phone, the digits are those phone gives.
	ph := identApply(t, identNew(t, newPhone, "{transform: phone, domain: phone}", false), "+44 20 7946 0958")[0]
	e := identApply(t, identNew(t, newPhoneE164, "{transform: phone_e164, domain: phone}", false), "+44 20 7946 0958")[0]
	if strings.ReplaceAll(ph, " ", "") != e {
		t.Errorf("phone gave %q, phone_e164 %q", ph, e)
	}
	// National numbers need a country; the NANP trunk prefix is 1.
	us := identApply(t, identNew(t, newPhoneE164, "{transform: phone_e164, country: US}", false), "1-212-555-0100", "(212) 555-0100")
	if us[0] != us[1] || !strings.HasPrefix(us[0], "+1") || len(us[0]) != 12 {
		t.Errorf("US national numbers: %q", us)
	}
	noCountry := identNew(t, newPhoneE164, "", false)
	if err := identApplyErr(t, noCountry, "020 7946 0958"); err == nil || !strings.Contains(err.Error(), "country:") {
		t.Errorf("national number without country: %v", err)
	}
	if err := identApplyErr(t, noCountry, "+44 1234"); err == nil || !strings.Contains(err.Error(), "8 to 15") {
		t.Errorf("6 digits: %v", err)
	}
	// On a unique column only E.164 values are taken: two spellings of one number would meet.
	uniq := identNew(t, newPhoneE164, "", true)
	if err := identApplyErr(t, uniq, "+44 20 7946 0958"); err == nil || !strings.Contains(err.Error(), "unique") {
		t.Errorf("unique column, spaced number: %v", err)
	}
	if u, ok := uniq.(UniqueSafe); ok && !u.UniqueSafe() {
		t.Error("phone_e164 on a unique column does not claim uniqueness")
	}
}

func TestPhoneE164CommonContract(t *testing.T) {
	identCheckCommon(t, newPhoneE164, "phone_e164", "", "+442079460958", "+12125550100", "0049 30 12345678")
	identCheckRefusals(t, newPhoneE164, "phone_e164", map[string]string{
		"{transform: phone_e164, country: Narnia}": "neither a calling code",
		"{transform: phone_e164, keep_prefix: -2}": "keep_prefix must not be negative",
	})
}

func BenchmarkPhoneE164(b *testing.B) {
	identBench(b, newPhoneE164, "", func(i int) string { return "+44 20 7946 " + strconv.Itoa(1000+i) })
}
