package transforms

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// ipv4Split parses an output of ipv4 with net/netip: the address as a number and the
// "/nn" suffix, or an error if it is not a canonical dotted quad.
func ipv4Split(s string) (uint32, string, error) {
	addr, suffix, _ := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is4() || a.String() != addr {
		return 0, "", fmt.Errorf("%q is not a canonical IPv4 address (%v)", addr, err)
	}
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err != nil {
			return 0, "", err
		}
		suffix = "/" + suffix
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:]), suffix, nil
}

// ipv4High is the first n bits of a.
func ipv4High(a uint32, n int) uint32 {
	if n == 0 {
		return 0
	}
	return a >> (32 - n)
}

func TestIPv4KeepsSubnetBitsAndSuffix(t *testing.T) {
	in := []string{"192.168.1.10", "10.0.0.1/8", "255.255.255.255", "0.0.0.0", "172.16.254.3/32", "8.8.4.4/0",
		"100.64.17.200", "203.0.113.77/24"}
	for _, keep := range []int{0, 1, 8, 16, 20, 24, 31, 32} {
		t.Run("keep_subnet "+strconv.Itoa(keep), func(t *testing.T) {
			tr := identNew(t, newIPv4, "{transform: ipv4, keep_subnet: "+strconv.Itoa(keep)+"}", false)
			out := identApply(t, tr, in...)
			unchanged := 0
			for i := range in {
				a, sa, err := ipv4Split(in[i])
				if err != nil {
					t.Fatalf("test input: %v", err)
				}
				b, sb, err := ipv4Split(out[i])
				switch {
				case err != nil:
					t.Errorf("%q → %q: %v", in[i], out[i], err)
				case ipv4High(a, keep) != ipv4High(b, keep):
					t.Errorf("%q → %q: the first %d bits changed", in[i], out[i], keep)
				case sa != sb:
					t.Errorf("%q → %q: suffix %q became %q", in[i], out[i], sa, sb)
				case keep == 32 && out[i] != in[i]:
					t.Errorf("%q → %q with every bit kept", in[i], out[i])
				}
				if out[i] == in[i] {
					unchanged++
				}
			}
			if keep <= 24 && unchanged > 1 || keep < 32 && unchanged == len(in) {
				t.Errorf("%d of %d addresses unchanged", unchanged, len(in))
			}
		})
	}
}

func TestIPv4SpellingsAndSubnets(t *testing.T) {
	tr := identNew(t, newIPv4, "{transform: ipv4, keep_subnet: 16}", false)
	// One address written with leading zeros gets the image of its canonical form.
	out := identApply(t, tr, "10.1.2.3", "010.001.002.003", "10.01.2.03/24", "")
	if out[1] != out[0] || out[2] != out[0]+"/24" {
		t.Errorf("one address in three spellings: %q", out)
	}
	if out[3] != "" {
		t.Errorf("empty value → %q", out[3])
	}
	// Each subnet has its own permutation of the host bits.
	hosts := []string{}
	for h := 1; h <= 20; h++ {
		hosts = append(hosts, "10.1.0."+strconv.Itoa(h), "10.2.0."+strconv.Itoa(h))
	}
	out = identApply(t, tr, hosts...)
	same := 0
	for i := 0; i < len(out); i += 2 {
		a, _, _ := ipv4Split(out[i])
		b, _, _ := ipv4Split(out[i+1])
		if a&0xffff == b&0xffff {
			same++
		}
	}
	if same > 1 {
		t.Errorf("%d of 20 hosts have one image in 10.1/16 and 10.2/16", same)
	}
	// Without keep_subnet the whole address is permuted: the network changes too.
	all := identApply(t, identNew(t, newIPv4, "", false), "10.1.2.3", "10.1.2.4", "10.1.2.5")
	for _, o := range all {
		if strings.HasPrefix(o, "10.1.") {
			t.Errorf("keep_subnet 0 kept the /16: %q", all)
		}
	}
}

func TestIPv4RefusesWhatIsNotAnAddress(t *testing.T) {
	tr := identNew(t, newIPv4, "{transform: ipv4, keep_subnet: 8}", false)
	for _, v := range []string{"1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.1234", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/024",
		"1.2.3.4/x", "w.x.y.z", " 1.2.3.4", "1.2.3.4 ", "1..2.3", "::1", "1.2.3.-4", "localhost"} {
		err := identApplyErr(t, tr, v)
		if err == nil || !strings.Contains(err.Error(), "row 0 of the batch: ipv4: a value is not an IPv4 address (a.b.c.d, optionally /nn)") {
			t.Errorf("%q: error %v", v, err)
		}
		if err != nil && strings.Contains(err.Error(), v) && len(v) > 3 {
			t.Errorf("%q: the error shows the value: %v", v, err)
		}
	}
}

func TestIPv4OnAUniqueColumn(t *testing.T) {
	tr := identNew(t, newIPv4, "{transform: ipv4, keep_subnet: 24}", true)
	if !identUniqueClaim(tr) {
		t.Error("ipv4 on a unique column does not claim uniqueness")
	}
	// Two spellings of one address would meet, so only the canonical one is taken.
	for _, v := range []string{"10.01.2.3", "010.1.2.3/8"} {
		if err := identApplyErr(t, tr, v); err == nil || !strings.Contains(err.Error(), "unique column") {
			t.Errorf("%q: error %v", v, err)
		}
	}
	if got := identApply(t, tr, "10.1.2.3", "0.0.0.0/0")[0]; !strings.HasPrefix(got, "10.1.2.") {
		t.Errorf("10.1.2.3 → %q", got)
	}
}

func TestIPv4CommonContract(t *testing.T) {
	identCheckCommon(t, newIPv4, "ipv4", "", "192.168.1.10", "10.0.0.1/8", "8.8.8.8", "010.000.000.001")
	identCheckCommon(t, newIPv4, "ipv4", "{transform: ipv4, keep_subnet: 16}", "192.168.1.10", "10.0.0.1/8", "8.8.8.8")
	identCheckRefusals(t, newIPv4, "ipv4", map[string]string{
		"{transform: ipv4, keep_subnet: 33}": "keep_subnet must be between 0 and 32 bits (got 33)",
		"{transform: ipv4, keep_subnet: -1}": "keep_subnet must be between 0 and 32 bits (got -1)",
	})
}

func BenchmarkIPv4(b *testing.B) {
	identBench(b, newIPv4, "{transform: ipv4, keep_subnet: 16}", func(i int) string {
		return "10." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
	})
}
