package transforms

// ibanRule replaces the account digits of an IBAN: the country code, the length, the
// letters of the BBAN (bank codes such as NWBK) and the spaces stay; the BBAN's digits go
// through the FPE as one number (tweaked by the country and letters), and the two check
// digits are recomputed (ISO 7064 mod 97-10), so the output passes IBAN validation. A value
// that is not an IBAN of a known country and length has its digit runs replaced as by digits.
type ibanRule struct {
	fpe *identFPE
}

var _ TextRule = (*ibanRule)(nil)

type ibanParams struct {
	Domain string `yaml:"domain"`
}

// identIBANLen[a][b] is the IBAN length of country AB (0: none), from identIBANLengths.
var identIBANLen = func() (t [26][26]uint8) {
	for cc, n := range identIBANLengths {
		t[cc[0]-'A'][cc[1]-'A'] = uint8(n)
	}
	return t
}()

func newIBAN(env Env) (Transformer, error) {
	var p ibanParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	fpe, err := identKeyedRule(env, "iban", p.Domain)
	if err != nil {
		return nil, err
	}
	return TextBatch(&ibanRule{fpe: fpe}, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; its FPE is keyed with the
// domain's subkey.
func (r *ibanRule) Subkey() []byte { return nil }

// UniqueSafe: the country, letters and layout are kept, the digits are a bijection, and the
// check digits keep their distance from the correct ones.
func (r *ibanRule) UniqueSafe() bool { return true }

// Text keeps the check digits' distance from the correct ones, like credit_card's Luhn
// digit, so a valid IBAN stays valid and the rule stays a bijection on every input.
func (r *ibanRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	dst, s := identWork(dst, len(in))
	start := len(dst)
	dst = append(dst, in...)
	out := dst[start:]
	c1, c2, ok := identIBANShape(out)
	if !ok {
		identPermuteRuns(r.fpe, s, out)
		return dst, nil
	}
	// out[0:2] is the country, out[c1] and out[c2] the check digits, the BBAN follows c2.
	bban := out[c2+1:]
	before := identIBANCheck(out[:2], bban)
	var tb [36]byte
	tw := append(tb[:0], out[0], out[1])
	for _, c := range bban {
		if identIsLetter(c) {
			tw = append(tw, c)
		}
	}
	r.fpe.permuteDigits(s, bban, r.fpe.tweak(s, tw), false)
	off := (int(out[c1]-'0')*10 + int(out[c2]-'0') - before + 100) % 100
	check := (identIBANCheck(out[:2], bban) + off) % 100
	out[c1], out[c2] = byte('0'+check/10), byte('0'+check%10)
	return dst, nil
}

// identIBANShape reports whether v is an IBAN of a known country and length, possibly with
// spaces: two letters, two digits, then letters and digits. It returns the positions of the
// check digits. The answer depends only on what ibanRule keeps, so its output answers the
// same.
func identIBANShape(v []byte) (c1, c2 int, ok bool) {
	if len(v) < 4 || !identIsLetter(v[0]) || !identIsLetter(v[1]) {
		return 0, 0, false
	}
	n := 0
	for i, c := range v {
		switch {
		case c == ' ':
			continue
		case n == 2 || n == 3:
			if !identIsDigit(c) {
				return 0, 0, false
			}
			if n == 2 {
				c1 = i
			} else {
				c2 = i
			}
		case !identIsDigit(c) && !identIsLetter(c):
			return 0, 0, false
		}
		n++
	}
	want := identIBANLen[(v[0]|0x20)-'a'][(v[1]|0x20)-'a']
	return c1, c2, n >= 5 && n == int(want)
}

// identIBANCheck returns the correct check digits of an IBAN of country cc and bban
// (spaces ignored, letters in either case): 98 - (bban cc "00" mod 97).
func identIBANCheck(cc, bban []byte) int {
	m := 0
	add := func(c byte) {
		switch {
		case identIsDigit(c):
			m = (m*10 + int(c-'0')) % 97
		case identIsLetter(c):
			m = (m*100 + int(c|0x20-'a') + 10) % 97
		}
	}
	for _, c := range bban {
		add(c)
	}
	add(cc[0])
	add(cc[1])
	return 98 - m*100%97
}

func identIsLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
