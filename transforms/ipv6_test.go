package transforms

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// ipv6RFC5952 writes an address as RFC 5952 says, on its own: lower-case hex groups without
// leading zeros, the longest run of two or more zero groups (the first of equals) as "::",
// and an IPv4-mapped address (::ffff:0:0/96) with a dotted quad.
func ipv6RFC5952(b [16]byte) string {
	if [10]byte(b[:10]) == [10]byte{} && b[10] == 0xff && b[11] == 0xff {
		return fmt.Sprintf("::ffff:%d.%d.%d.%d", b[12], b[13], b[14], b[15])
	}
	var g [8]uint64
	for i := range g {
		g[i] = uint64(binary.BigEndian.Uint16(b[2*i:]))
	}
	best, bestLen := -1, 1
	for i := 0; i < 8; i++ {
		j := i
		for j < 8 && g[j] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
	}
	hex := func(gs []uint64) string {
		parts := make([]string, len(gs))
		for i, x := range gs {
			parts[i] = strconv.FormatUint(x, 16)
		}
		return strings.Join(parts, ":")
	}
	if best < 0 {
		return hex(g[:])
	}
	return hex(g[:best]) + "::" + hex(g[best+bestLen:])
}

// ipv6Split parses an output of ipv6 with net/netip: the 16 bytes, and the %zone and /nn
// suffix; an error if the address is not written as RFC 5952 says.
func ipv6Split(s string) ([16]byte, string, error) {
	end := strings.IndexAny(s, "%/")
	if end < 0 {
		end = len(s)
	}
	a, err := netip.ParseAddr(s[:end])
	if err != nil || a.Is4() {
		return [16]byte{}, "", fmt.Errorf("%q is not an IPv6 address (%v)", s[:end], err)
	}
	b := a.As16()
	if c := ipv6RFC5952(b); c != s[:end] {
		return b, "", fmt.Errorf("%q is not in RFC 5952 form %q", s[:end], c)
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		if _, err := netip.ParsePrefix(netip.AddrFrom16(b).String() + s[i:]); err != nil {
			return b, "", err
		}
	}
	return b, s[end:], nil
}

// ipv6SameBits reports whether a and b agree on their first n bits.
func ipv6SameBits(a, b [16]byte, n int) bool {
	for i := 0; i < n; i++ {
		if a[i/8]>>(7-i%8)&1 != b[i/8]>>(7-i%8)&1 {
			return false
		}
	}
	return true
}

func TestIPv6KeepsSubnetBitsAndWritesRFC5952(t *testing.T) {
	in := []string{"2001:db8::1", "2001:0DB8:0000:0000:0000:0000:0000:0001", "fe80::1%eth0", "fe80::abcd:1%eth0/64",
		"::", "::1", "::ffff:192.0.2.1", "2001:db8:85a3::8a2e:370:7334/48", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"2001:db8:0:0:1:0:0:1", "1::", "::1.2.3.4", "FE80::1%Wi-Fi/10"}
	for _, keep := range []int{0, 1, 16, 48, 56, 63, 64, 65, 96, 100, 127, 128} {
		t.Run("keep_subnet "+strconv.Itoa(keep), func(t *testing.T) {
			tr := identNew(t, newIPv6, "{transform: ipv6, keep_subnet: "+strconv.Itoa(keep)+"}", false)
			out := identApply(t, tr, in...)
			unchanged := 0
			for i := range in {
				end := strings.IndexAny(in[i], "%/")
				if end < 0 {
					end = len(in[i])
				}
				a, err := netip.ParseAddr(in[i][:end])
				if err != nil {
					t.Fatalf("test input %q: %v", in[i], err)
				}
				b, suffix, err := ipv6Split(out[i])
				switch {
				case err != nil:
					t.Errorf("%q → %q: %v", in[i], out[i], err)
				case !ipv6SameBits(a.As16(), b, keep):
					t.Errorf("%q → %q: the first %d bits changed", in[i], out[i], keep)
				case suffix != in[i][end:]:
					t.Errorf("%q → %q: suffix %q became %q", in[i], out[i], in[i][end:], suffix)
				case keep == 128 && b != a.As16():
					t.Errorf("%q → %q with every bit kept", in[i], out[i])
				}
				if b == a.As16() {
					unchanged++
				}
			}
			if keep <= 120 && unchanged > 0 || keep < 128 && unchanged == len(in) {
				t.Errorf("%d of %d addresses unchanged", unchanged, len(in))
			}
		})
	}
}

func TestIPv6SpellingsAndSubnets(t *testing.T) {
	tr := identNew(t, newIPv6, "{transform: ipv6, keep_subnet: 64}", false)
	out := identApply(t, tr, "2001:db8::1", "2001:0DB8:0:0::0001", "2001:db8:0:0:0:0:0:1/128", "")
	if out[1] != out[0] || out[2] != out[0]+"/128" {
		t.Errorf("one address in three spellings: %q", out)
	}
	if out[3] != "" {
		t.Errorf("empty value → %q", out[3])
	}
	// Each /64 has its own permutation of the interface identifier.
	var hosts []string
	for h := 1; h <= 20; h++ {
		hosts = append(hosts, "2001:db8:0:1::"+strconv.Itoa(h), "2001:db8:0:2::"+strconv.Itoa(h))
	}
	out = identApply(t, tr, hosts...)
	for i := 0; i < len(out); i += 2 {
		a, _, _ := ipv6Split(out[i])
		b, _, _ := ipv6Split(out[i+1])
		if [8]byte(a[8:]) == [8]byte(b[8:]) {
			t.Errorf("%s and %s: one interface identifier %q, %q", hosts[i], hosts[i+1], out[i], out[i+1])
		}
	}
}

func TestIPv6RefusesWhatIsNotAnAddress(t *testing.T) {
	tr := identNew(t, newIPv6, "{transform: ipv6, keep_subnet: 48}", false)
	for _, v := range []string{"1.2.3.4", "2001:db8::1::2", "12345::", "2001:db8:::1", "g::1", "::1/129", "::1/01", "::1%",
		"::1/", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", " ::1", "::1 ", ":1", "1:", "::ffff:1.2.3", "::1.2.3.4:5", "2001:db8::1/64%eth0"} {
		err := identApplyErr(t, tr, v)
		if err == nil || !strings.Contains(err.Error(), "row 0 of the batch: ipv6: a value is not an IPv6 address (optionally with %zone and /nn)") {
			t.Errorf("%q: error %v", v, err)
		}
	}
}

func TestIPv6OnAUniqueColumn(t *testing.T) {
	tr := identNew(t, newIPv6, "{transform: ipv6, keep_subnet: 48}", true)
	if !identUniqueClaim(tr) {
		t.Error("ipv6 on a unique column does not claim uniqueness")
	}
	for _, v := range []string{"2001:DB8::1", "2001:db8:0::1", "2001:0db8::1", "::1.2.3.4"} {
		if err := identApplyErr(t, tr, v); err == nil || !strings.Contains(err.Error(), "unique column") {
			t.Errorf("%q: error %v", v, err)
		}
	}
	out := identApply(t, tr, "2001:db8::1", "::ffff:192.0.2.1", "fe80::1%eth0/64")
	if !strings.HasPrefix(out[0], "2001:db8:0:") || !strings.HasSuffix(out[2], "%eth0/64") {
		t.Errorf("canonical addresses → %q", out)
	}
}

func TestIPv6CommonContract(t *testing.T) {
	identCheckCommon(t, newIPv6, "ipv6", "", "2001:db8::1", "fe80::1%eth0", "::ffff:192.0.2.1", "2001:DB8:0:0:0:0:0:1/64")
	identCheckCommon(t, newIPv6, "ipv6", "{transform: ipv6, keep_subnet: 56}", "2001:db8::1", "fe80::1%eth0/64")
	identCheckRefusals(t, newIPv6, "ipv6", map[string]string{
		"{transform: ipv6, keep_subnet: 129}": "keep_subnet must be between 0 and 128 bits (got 129)",
		"{transform: ipv6, keep_subnet: -8}":  "keep_subnet must be between 0 and 128 bits (got -8)",
	})
}

func TestIPv6MillionUnique(t *testing.T) {
	tr := identNew(t, newIPv6, "{transform: ipv6, keep_subnet: 56}", true)
	identMillion(t, tr, func(i int) string {
		// 24 /56s under 2001:db8::/32. The low 64 bits are i scattered (a bijection) for even
		// i, i itself (zero groups, so "::") for odd i, whose /56s differ from the even ones'.
		var b [16]byte
		binary.BigEndian.PutUint32(b[:], 0x20010db8)
		binary.BigEndian.PutUint16(b[4:], uint16(i%8))
		b[6] = byte(i % 3)
		low := uint64(i)
		if i%2 == 0 {
			low *= 0x9e3779b97f4a7c15
		}
		binary.BigEndian.PutUint64(b[8:], low)
		s := netip.AddrFrom16(b).String()
		if i%7 == 0 {
			s += "/64"
		}
		return s
	}, func(in, out string) string {
		// netip's own form, to keep a million checks fast; the RFC 5952 form is checked
		// above.
		ain, _, _ := strings.Cut(in, "/")
		aout, _, _ := strings.Cut(out, "/")
		a, _ := netip.ParseAddr(ain)
		b, err := netip.ParseAddr(aout)
		if err != nil || b.String() != aout || !ipv6SameBits(a.As16(), b.As16(), 56) || out[len(aout):] != in[len(ain):] {
			return "the /56 or the suffix changed, or not a canonical address"
		}
		return ""
	})
}

func BenchmarkIPv6(b *testing.B) {
	identBench(b, newIPv6, "{transform: ipv6, keep_subnet: 48}", func(i int) string {
		return "2001:db8:85a3::" + strconv.FormatUint(uint64(i), 16) + ":7334"
	})
}
