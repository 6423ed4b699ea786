package transforms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// ipv6Rule maps IPv6 addresses written as text through a keyed bijection of the 128-bit
// address: the first keep_subnet bits stay, the others are permuted (tweaked by the subnet),
// a "%zone" or "/nn" suffix stays, and the output is in the canonical form of RFC 5952.
type ipv6Rule struct {
	fpe    *identFPE
	keep   int // subnet bits kept
	dom    identDomain
	unique bool
}

var _ TextRule = (*ipv6Rule)(nil)

type ipv6Params struct {
	Domain     string `yaml:"domain"`
	KeepSubnet int    `yaml:"keep_subnet"`
}

var errIPv6Syntax = errors.New("ipv6: a value is not an IPv6 address (optionally with %zone and /nn)")

func newIPv6(env Env) (Transformer, error) {
	var p ipv6Params
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	fpe, err := identKeyedRule(env, "ipv6", p.Domain)
	if err != nil {
		return nil, err
	}
	if p.KeepSubnet < 0 || p.KeepSubnet > 128 {
		return nil, fmt.Errorf("keep_subnet must be between 0 and 128 bits (got %d)", p.KeepSubnet)
	}
	return TextBatch(&ipv6Rule{fpe: fpe, keep: p.KeepSubnet, dom: identBinaryDomain(128 - p.KeepSubnet),
		unique: env.Column.Unique}, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; its FPE is keyed with the
// domain's subkey.
func (r *ipv6Rule) Subkey() []byte { return nil }

// UniqueSafe: as built for a unique column, which it checks takes canonical addresses only:
// the address is a bijection.
func (r *ipv6Rule) UniqueSafe() bool { return r.unique }

// Text writes the canonical form, so on a unique column it takes only addresses already
// written so (two spellings of one address would meet).
func (r *ipv6Rule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	if len(in) == 0 {
		return dst, nil
	}
	ip, n, ok := identParseIPv6(in)
	if !ok || !identIPv6Suffix(in[n:]) {
		return dst, errIPv6Syntax
	}
	dst, s := identWork(dst, len(in)+48)
	start := len(dst)
	if r.unique {
		dst = netip.AddrFrom16(ip).AppendTo(dst)
		canonical := string(dst[start:]) == string(in[:n])
		dst = dst[:start]
		if !canonical {
			return dst, errors.New("ipv6: on a unique column every address must be in canonical form (RFC 5952: lower case, shortest), or two spellings of one address would meet")
		}
	}
	x := identU128{binary.BigEndian.Uint64(ip[:8]), binary.BigEndian.Uint64(ip[8:])}
	host := uint(128 - r.keep)
	net := identU128{x.hi &^ identMask(host-min(host, 64)), x.lo &^ identMask(host)}
	t := r.fpe.empty
	if r.keep > 0 {
		var tb [17]byte
		tb[0] = byte(r.keep)
		binary.BigEndian.PutUint64(tb[1:], net.hi)
		binary.BigEndian.PutUint64(tb[9:], net.lo)
		t = r.fpe.tweak(s, tb[:])
	}
	h := r.fpe.permute(s, &r.dom, t, 0, x.sub(net))
	x = net.add(h)
	binary.BigEndian.PutUint64(ip[:8], x.hi)
	binary.BigEndian.PutUint64(ip[8:], x.lo)
	dst = netip.AddrFrom16(ip).AppendTo(dst)
	return append(dst, in[n:]...), nil
}

// identIPv6Suffix reports whether v is empty, a zone "%name", a prefix "/n" (n ≤ 128), or a
// zone then a prefix.
func identIPv6Suffix(v []byte) bool {
	if len(v) > 0 && v[0] == '%' {
		i := 1
		for i < len(v) && v[i] != '/' {
			i++
		}
		if i == 1 {
			return false
		}
		v = v[i:]
	}
	return identPrefixSuffix(v, 128)
}

// identParseIPv6 reads an IPv6 address at the start of v (hex groups, at most one "::", an
// optional dotted IPv4 tail) up to the end, a '%' or a '/'; n is its length.
func identParseIPv6(v []byte) (ip [16]byte, n int, ok bool) {
	end := 0
	for end < len(v) && v[end] != '%' && v[end] != '/' {
		end++
	}
	a := v[:end]
	gap := -1 // the group index where "::" stands
	g := 0    // groups read
	i := 0
	if len(a) >= 2 && a[0] == ':' && a[1] == ':' {
		gap, i = 0, 2
	}
	for i < len(a) && g < 8 {
		// An IPv4 tail takes the last two groups.
		if g <= 6 {
			if x, m, _, ok4 := identParseIPv4(a[i:]); ok4 && i+m == len(a) {
				binary.BigEndian.PutUint32(ip[2*g:], x)
				g += 2
				i = len(a)
				break
			}
		}
		x, digits := 0, 0
		for i < len(a) && digits < 4 {
			h, okh := identHexValue(a[i])
			if !okh {
				break
			}
			x = x<<4 | int(h)
			i++
			digits++
		}
		if digits == 0 {
			return ip, 0, false
		}
		ip[2*g], ip[2*g+1] = byte(x>>8), byte(x)
		g++
		if i == len(a) {
			break
		}
		if a[i] != ':' || i+1 == len(a) {
			return ip, 0, false
		}
		i++
		if a[i] == ':' {
			if gap >= 0 {
				return ip, 0, false
			}
			gap = g
			i++
		}
	}
	if i != len(a) {
		return ip, 0, false
	}
	switch {
	case gap < 0 && g != 8, gap >= 0 && g == 8:
		return ip, 0, false
	case gap >= 0:
		// Move the groups after the gap to the end.
		tail := 2 * (g - gap)
		copy(ip[16-tail:], ip[2*gap:2*g])
		clear(ip[2*gap : 16-tail])
	}
	return ip, end, true
}

// identHexValue is the value of a hex digit.
func identHexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
