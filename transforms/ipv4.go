package transforms

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ipv4Rule maps IPv4 addresses written as text through a keyed bijection of the 32-bit
// address: the first keep_subnet bits stay, the host bits are permuted (tweaked by the
// subnet, so each subnet has its own permutation), and a "/nn" suffix stays.
type ipv4Rule struct {
	fpe    *identFPE
	keep   int // subnet bits kept
	dom    identDomain
	unique bool
}

var _ TextRule = (*ipv4Rule)(nil)

type ipv4Params struct {
	Domain     string `yaml:"domain"`
	KeepSubnet int    `yaml:"keep_subnet"`
}

var errIPv4Syntax = errors.New("ipv4: a value is not an IPv4 address (a.b.c.d, optionally /nn)")

func newIPv4(env Env) (Transformer, error) {
	var p ipv4Params
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	fpe, err := identKeyedRule(env, "ipv4", p.Domain)
	if err != nil {
		return nil, err
	}
	if p.KeepSubnet < 0 || p.KeepSubnet > 32 {
		return nil, fmt.Errorf("keep_subnet must be between 0 and 32 bits (got %d)", p.KeepSubnet)
	}
	return TextBatch(&ipv4Rule{fpe: fpe, keep: p.KeepSubnet, dom: identBinaryDomain(32 - p.KeepSubnet),
		unique: env.Column.Unique}, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; its FPE is keyed with the
// domain's subkey.
func (r *ipv4Rule) Subkey() []byte { return nil }

// UniqueSafe: as built for a unique column, which it checks takes canonical addresses only:
// the address is a bijection.
func (r *ipv4Rule) UniqueSafe() bool { return r.unique }

// Text writes the address in dotted decimal without leading zeros. On a unique column it
// takes only addresses already written so (two spellings of one address would meet).
func (r *ipv4Rule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	if len(in) == 0 {
		return dst, nil
	}
	a, n, canonical, ok := identParseIPv4(in)
	if !ok || !identPrefixSuffix(in[n:], 32) {
		return dst, errIPv4Syntax
	}
	if r.unique && !canonical {
		return dst, errors.New("ipv4: on a unique column every address must be written without leading zeros, or two spellings of one address would meet")
	}
	dst, s := identWork(dst, len(in)+16)
	host := 32 - r.keep
	t := r.fpe.empty
	if r.keep > 0 {
		var tb [5]byte
		tb[0] = byte(r.keep)
		binary.BigEndian.PutUint32(tb[1:], a&^uint32(identMask(uint(host))))
		t = r.fpe.tweak(s, tb[:])
	}
	h := r.fpe.permute(s, &r.dom, t, 0, identU128{lo: uint64(a) & identMask(uint(host))})
	a = a&^uint32(identMask(uint(host))) | uint32(h.lo)
	dst = identAppendIPv4(dst, a)
	return append(dst, in[n:]...), nil
}

// identParseIPv4 reads a dotted-quad address at the start of v; n is its length, canonical
// whether it has no leading zeros.
func identParseIPv4(v []byte) (a uint32, n int, canonical, ok bool) {
	canonical = true
	for part := 0; part < 4; part++ {
		if part > 0 {
			if n >= len(v) || v[n] != '.' {
				return 0, 0, false, false
			}
			n++
		}
		x, digits := 0, 0
		for n < len(v) && identIsDigit(v[n]) && digits < 3 {
			x = x*10 + int(v[n]-'0')
			n++
			digits++
		}
		if digits == 0 || x > 255 {
			return 0, 0, false, false
		}
		if digits > 1 && v[n-digits] == '0' {
			canonical = false
		}
		a = a<<8 | uint32(x)
	}
	return a, n, canonical, true
}

// identPrefixSuffix reports whether v is empty or "/n" with n at most max, no leading zero.
func identPrefixSuffix(v []byte, max int) bool {
	if len(v) == 0 {
		return true
	}
	if len(v) < 2 || len(v) > 4 || v[0] != '/' || len(v) > 2 && v[1] == '0' {
		return false
	}
	x := 0
	for _, c := range v[1:] {
		if !identIsDigit(c) {
			return false
		}
		x = x*10 + int(c-'0')
	}
	return x <= max
}

func identAppendIPv4(dst []byte, a uint32) []byte {
	for i := 3; i >= 0; i-- {
		x := byte(a >> (8 * i))
		if x >= 100 {
			dst = append(dst, '0'+x/100)
		}
		if x >= 10 {
			dst = append(dst, '0'+x/10%10)
		}
		dst = append(dst, '0'+x%10)
		if i > 0 {
			dst = append(dst, '.')
		}
	}
	return dst
}
