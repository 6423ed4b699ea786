package transforms

import "errors"

// macRule maps MAC addresses through a keyed bijection of their 48 bits, keeping the
// separators (colon, dash, dot, none) and the letter case of the input. By default the two
// flag bits of the first byte (multicast, locally administered) stay and the other 46 bits
// are permuted; keep_oui: true keeps the first 3 bytes, the vendor's, and permutes the
// other 24 (tweaked by the OUI).
type macRule struct {
	fpe     *identFPE
	keepOUI bool
	dom     identDomain
}

var _ TextRule = (*macRule)(nil)

type macParams struct {
	Domain  string `yaml:"domain"`
	KeepOUI bool   `yaml:"keep_oui"`
}

var errMACSyntax = errors.New("mac: a value is not a MAC address (12 hex digits, separated by : - . or nothing)")

func newMAC(env Env) (Transformer, error) {
	var p macParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	fpe, err := identKeyedRule(env, "mac", p.Domain)
	if err != nil {
		return nil, err
	}
	r := &macRule{fpe: fpe, keepOUI: p.KeepOUI, dom: identBinaryDomain(46)}
	if p.KeepOUI {
		r.dom = identBinaryDomain(24)
	}
	return TextBatch(r, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; its FPE is keyed with the
// domain's subkey.
func (r *macRule) Subkey() []byte { return nil }

// UniqueSafe: a bijection of the address; the layout is kept. (One address spelled in two
// letter cases counts as one: the case follows the input's.)
func (r *macRule) UniqueSafe() bool { return true }

func (r *macRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	if len(in) == 0 {
		return dst, nil
	}
	v, upper, ok := identParseHex(in, 12, ":-. ")
	if !ok {
		return dst, errMACSyntax
	}
	dst, s := identWork(dst, len(in))
	if r.keepOUI {
		var tb [3]byte
		tb[0], tb[1], tb[2] = byte(v>>40), byte(v>>32), byte(v>>24)
		h := r.fpe.permute(s, &r.dom, r.fpe.tweak(s, tb[:]), 0, identU128{lo: v & (1<<24 - 1)})
		v = v&^(1<<24-1) | h.lo
	} else {
		// The 46 bits around the flags (bits 40 and 41: the low bits of the first byte).
		flags := v & (3 << 40)
		rest := v>>42<<40 | v&(1<<40-1)
		h := r.fpe.permute(s, &r.dom, r.fpe.empty, 0, identU128{lo: rest}).lo
		v = h>>40<<42 | flags | h&(1<<40-1)
	}
	return identAppendHex(dst, in, v, upper), nil
}

// identParseHex reads v as n hex digits separated by any of seps; upper reports an
// upper-case hex letter (and no lower-case one).
func identParseHex(in []byte, n int, seps string) (v uint64, upper, ok bool) {
	got, lower := 0, false
	for _, c := range in {
		h, isHex := identHexValue(c)
		if !isHex {
			if !identIn(c, seps) {
				return 0, false, false
			}
			continue
		}
		if got == n {
			return 0, false, false
		}
		v = v<<4 | uint64(h)
		got++
		upper = upper || c >= 'A' && c <= 'F'
		lower = lower || c >= 'a' && c <= 'f'
	}
	return v, upper && !lower, got == n
}

// identAppendHex writes the hex digits of v over the hex digits of layout, keeping its
// other characters, and appends the result to dst.
func identAppendHex(dst, layout []byte, v uint64, upper bool) []byte {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	start := len(dst)
	dst = append(dst, layout...)
	out := dst[start:]
	for i := len(out) - 1; i >= 0; i-- {
		if _, isHex := identHexValue(out[i]); isHex {
			out[i] = digits[v&15]
			v >>= 4
		}
	}
	return dst
}

func identIn(c byte, set string) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == c {
			return true
		}
	}
	return false
}
