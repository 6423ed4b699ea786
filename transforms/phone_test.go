package transforms

import (
	"strconv"
	"strings"
	"testing"
)

// identSkeleton replaces every digit of s by '#': what a digit-keeping rule must not change.
func identSkeleton(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '#'
		}
		return r
	}, s)
}

func TestPhoneKeepsLayoutCountryCodeAndPrefix(t *testing.T) {
	tr := identNew(t, newPhone, "", false)
	in := []string{"+44 20 7946 0958", "0044 20-7946-0958", "020 7946 0958", "+44 (0)20 7946 0958",
		"+1 (212) 555-0100", "(212) 555.0100", "+49 30 12345678", "+352 621 123 456", "+7 495 123-45-67",
		"tel: +33 1 23 45 67 89 ext. 12", "", "unknown", "+"}
	out := identApply(t, tr, in...)
	keep := []string{"+44 ", "0044 ", "0", "+44 (0)", "+1 (", "(", "+49 ", "+352 ", "+7 ", "tel: +33 ", "", "unknown", "+"}
	for i := range in {
		if identSkeleton(out[i]) != identSkeleton(in[i]) {
			t.Errorf("%q → %q: the layout changed", in[i], out[i])
		}
		if !strings.HasPrefix(out[i], keep[i]) {
			t.Errorf("%q → %q: %q not kept", in[i], out[i], keep[i])
		}
		if identCountDigits([]byte(in[i])) > 4 && out[i] == in[i] {
			t.Errorf("%q unchanged", in[i])
		}
	}
	// One number in several layouts gets the same national digits.
	national := func(s string, skip int) string {
		d := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
		return d[skip:]
	}
	if a, b, c, d := national(out[0], 2), national(out[1], 4), national(out[2], 1), national(out[3], 3); a != b || a != c || a != d {
		t.Errorf("one number, different digits: %q %q %q %q", out[0], out[1], out[2], out[3])
	}
	if national(out[4], 1) != national(out[5], 0) {
		t.Errorf("one NANP number, different digits: %q %q", out[4], out[5])
	}
	// The digit after the kept part stays non-zero (a national number never starts 00).
	for i := 0; i < 2000; i++ {
		v := "0" + strconv.Itoa(100000000+i*7919)
		if o := identApply(t, tr, v)[0]; o[1] == '0' {
			t.Fatalf("%q → %q", v, o)
		}
	}

	kp := identApply(t, identNew(t, newPhone, "{transform: phone, keep_prefix: 3}", false),
		"+1 212 555 0100", "020 7946 0958", "+44 (0)20 7946 0958")
	for i, want := range []string{"+1 212 ", "020 7", "+44 (0)20 7"} {
		if !strings.HasPrefix(kp[i], want) {
			t.Errorf("keep_prefix 3: %q does not start %q", kp[i], want)
		}
	}
}

func TestPhoneCommonContract(t *testing.T) {
	identCheckCommon(t, newPhone, "phone", "", "+44 20 7946 0958", "(212) 555-0100", "+49 30 12345678", "0033 1 23 45 67 89")
	identCheckRefusals(t, newPhone, "phone", map[string]string{"{transform: phone, keep_prefix: -1}": "keep_prefix must not be negative"})
}

func BenchmarkPhone(b *testing.B) {
	identBench(b, newPhone, "", func(i int) string { return "+44 20 7946 " + strconv.Itoa(1000+i) })
}
