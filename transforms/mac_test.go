package transforms

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// macParse reads a MAC address with net.ParseMAC (bare or space-separated hex is given
// colons first, as ParseMAC takes only : - . forms), and returns it with its layout: the
// text with every hex digit replaced by '#'.
func macParse(s string) (net.HardwareAddr, string, error) {
	layout := []byte(s)
	var hex []byte
	bare := true // hex digits and spaces only
	for i, c := range layout {
		switch {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hex = append(hex, c)
			layout[i] = '#'
		case c != ' ':
			bare = false
		}
	}
	text := s
	if bare && len(hex) == 12 {
		text = string([]byte{hex[0], hex[1], ':', hex[2], hex[3], ':', hex[4], hex[5], ':', hex[6], hex[7], ':', hex[8], hex[9], ':', hex[10], hex[11]})
	}
	hw, err := net.ParseMAC(text)
	if err == nil && len(hw) != 6 {
		err = fmt.Errorf("%q is not a 48-bit MAC address", s)
	}
	return hw, string(layout), err
}

// macLetters says which case the hex letters of s are in: "upper", "lower", "mixed" or "".
func macLetters(s string) string {
	upper, lower := strings.ContainsAny(s, "ABCDEF"), strings.ContainsAny(s, "abcdef")
	switch {
	case upper && lower:
		return "mixed"
	case upper:
		return "upper"
	case lower:
		return "lower"
	}
	return ""
}

// macCheck vets one input/output pair: a MAC address of the same layout, with the input's
// letter case (lower for mixed case), whose first keep bytes are the input's and whose
// multicast and locally-administered bits (the low two of the first byte) are the input's.
func macCheck(in, out string, keep int) string {
	a, la, err := macParse(in)
	if err != nil {
		return "test input: " + err.Error()
	}
	b, lb, err := macParse(out)
	switch {
	case err != nil:
		return err.Error()
	case lb != la:
		return "the separators changed"
	case macLetters(in) == "upper" && macLetters(out) == "lower", macLetters(in) != "upper" && strings.ContainsAny(out, "ABCDEF"):
		return "the letter case changed"
	case b[0]&3 != a[0]&3:
		return "the multicast or locally-administered bit changed"
	case string(b[:keep]) != string(a[:keep]):
		return "the OUI changed"
	case string(b[keep:]) == string(a[keep:]):
		return "unchanged"
	}
	return ""
}

func TestMACKeepsSeparatorsCaseAndFlagBits(t *testing.T) {
	in := []string{"00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001a.2b3c.4d5e", "001A2B3C4D5E", "01:00:5e:00:00:fb",
		"02:42:ac:11:00:02", "03:00:00:00:00:01", "FF:FF:FF:FF:FF:FF", "00:00:00:00:00:00", "00 1a 2b 3c 4d 5e",
		"00:11:22:33:44:55", "aA:bB:cC:dD:eE:fF"}
	for _, tc := range []struct {
		params string
		keep   int
	}{{"", 0}, {"{transform: mac, keep_oui: true}", 3}} {
		out := identApply(t, identNew(t, newMAC, tc.params, false), in...)
		for i := range in {
			if msg := macCheck(in[i], out[i], tc.keep); msg != "" {
				t.Errorf("%s: %q → %q: %s", tc.params, in[i], out[i], msg)
			}
		}
	}
	// One address in two cases or layouts gets one image, in the case and layout of each.
	tr := identNew(t, newMAC, "", false)
	out := identApply(t, tr, "00:1A:2B:3C:4D:5E", "00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5E", "001a.2b3c.4d5e", "")
	hex := func(s string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(":-.", r) {
				return -1
			}
			return r
		}, strings.ToLower(s))
	}
	for i := 1; i < 4; i++ {
		if hex(out[i]) != hex(out[0]) {
			t.Errorf("one address, two images: %q, %q", out[0], out[i])
		}
	}
	if out[4] != "" {
		t.Errorf("empty value → %q", out[4])
	}
	if !identUniqueClaim(tr) {
		t.Error("mac does not claim uniqueness")
	}
}

// With keep_oui the 24 bits after the vendor's are a permutation of their own, one for
// each OUI: 100,000 of them under one OUI stay distinct, and two OUIs permute differently.
func TestMACKeepOUI(t *testing.T) {
	tr := identNew(t, newMAC, "{transform: mac, keep_oui: true}", true)
	in := make([]string, 100_000)
	for i := range in {
		n := uint32(i) * 2654435761 % (1 << 24)
		in[i] = fmt.Sprintf("ac:de:48:%02x:%02x:%02x", n>>16, n>>8&255, n&255)
	}
	seen := map[string]bool{}
	for i, o := range identApply(t, tr, in...) {
		if seen[o] || !strings.HasPrefix(o, "ac:de:48:") {
			t.Fatalf("%q → %q: not a new address of the OUI", in[i], o)
		}
		seen[o] = true
	}
	out := identApply(t, tr, "ac:de:48:00:00:01", "00:1b:63:00:00:01")
	if out[0][9:] == out[1][9:] {
		t.Errorf("two OUIs, one permutation: %q, %q", out[0], out[1])
	}
}

func TestMACRefusesWhatIsNotAnAddress(t *testing.T) {
	tr := identNew(t, newMAC, "", false)
	for _, v := range []string{"00:1A:2B:3C:4D", "00:1A:2B:3C:4D:5E:6F", "00:1G:2B:3C:4D:5E", "00_1A_2B_3C_4D_5E",
		"not a mac", "0x001A2B3C4D5E", "00:1A:2B:3C:4D:5", "00:1A:2B:3C:4D:5E\n"} {
		err := identApplyErr(t, tr, v)
		if err == nil || !strings.Contains(err.Error(), "row 0 of the batch: mac: a value is not a MAC address (12 hex digits, separated by : - . or nothing)") {
			t.Errorf("%q: error %v", v, err)
		}
	}
}

func TestMACCommonContract(t *testing.T) {
	identCheckCommon(t, newMAC, "mac", "", "00:1A:2B:3C:4D:5E", "02-42-ac-11-00-02", "001a.2b3c.4d5e")
	identCheckCommon(t, newMAC, "mac", "{transform: mac, keep_oui: true}", "00:1A:2B:3C:4D:5E", "02-42-ac-11-00-02")
	identCheckRefusals(t, newMAC, "mac", map[string]string{"{transform: mac, keep_oui: sometimes}": "cannot unmarshal"})
}

func TestMACMillionUnique(t *testing.T) {
	tr := identNew(t, newMAC, "", true)
	identMillion(t, tr, func(i int) string {
		// i scattered over the 48 bits (a bijection), so every flag combination, in four
		// layouts and both cases.
		v := uint64(i) * 0x9e3779b97f4a7c15 & (1<<48 - 1)
		b := []any{v >> 40, v >> 32 & 255, v >> 24 & 255, v >> 16 & 255, v >> 8 & 255, v & 255}
		switch i % 4 {
		case 0:
			return fmt.Sprintf("%02X:%02X:%02X:%02X:%02X:%02X", b...)
		case 1:
			return fmt.Sprintf("%02x-%02x-%02x-%02x-%02x-%02x", b...)
		case 2:
			return fmt.Sprintf("%02x%02x.%02x%02x.%02x%02x", b...)
		}
		return fmt.Sprintf("%02X%02X%02X%02X%02X%02X", b...)
	}, func(in, out string) string {
		if msg := macCheck(in, out, 0); msg != "unchanged" { // one in 2^46 may be
			return msg
		}
		return ""
	})
}

func BenchmarkMAC(b *testing.B) {
	identBench(b, newMAC, "", func(i int) string {
		return fmt.Sprintf("00:1a:2b:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255)
	})
}
