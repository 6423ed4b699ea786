package transforms

import (
	"errors"
	"fmt"
)

// phoneE164Rule writes a phone number in E.164 form, "+" and 8 to 15 digits: the country
// calling code is kept (read from +CC or 00CC, or the country parameter for national
// numbers, whose trunk prefix is dropped), and the national number goes through the same
// FPE as phone's, so with domain: phone both rules give a number the same digits.
type phoneE164Rule struct {
	fpe        *identFPE
	keepPrefix int
	country    string // calling code of national numbers; "" if none was given
	trunk      string // their trunk prefix
	unique     bool
}

var _ TextRule = (*phoneE164Rule)(nil)

type phoneE164Params struct {
	Domain     string `yaml:"domain"`
	Country    string `yaml:"country"`
	KeepPrefix int    `yaml:"keep_prefix"`
}

// identTrunkPrefixes are national trunk prefixes other than "0" (none: the leading 0 is part
// of the number).
var identTrunkPrefixes = map[string]string{"1": "1", "7": "8", "36": "06", "39": "", "378": "", "379": ""}

var errPhoneE164NoCountry = errors.New("phone_e164: a value has no country calling code (+CC or 00CC); set country: to the code of national numbers")

func newPhoneE164(env Env) (Transformer, error) {
	var p phoneE164Params
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	fpe, err := identKeyedRule(env, "phone_e164", p.Domain)
	if err != nil {
		return nil, err
	}
	if err := identNotNegative("keep_prefix", p.KeepPrefix); err != nil {
		return nil, err
	}
	r := &phoneE164Rule{fpe: fpe, keepPrefix: p.KeepPrefix, unique: env.Column.Unique, trunk: "0"}
	if p.Country != "" {
		if r.country, err = identCallingCode(p.Country); err != nil {
			return nil, err
		}
		if t, ok := identTrunkPrefixes[r.country]; ok {
			r.trunk = t
		}
	}
	return TextBatch(r, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; its FPE is keyed with the
// domain's subkey.
func (r *phoneE164Rule) Subkey() []byte { return nil }

// UniqueSafe: as built for a unique column, which it checks takes E.164 values only: the
// calling code is kept and the national number is a bijection.
func (r *phoneE164Rule) UniqueSafe() bool { return r.unique }

// Text writes "+", then the calling code, then the national number. Reading a number
// written in another form loses its layout, so on a unique column the rule takes only
// values already in E.164 form: otherwise two spellings of one number, distinct values,
// would meet.
func (r *phoneE164Rule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	if len(in) == 0 {
		return dst, nil
	}
	if r.unique && !identIsE164(in) {
		return dst, errors.New("phone_e164: on a unique column every value must already be in E.164 form (+ and digits), or two spellings of one number would meet; use phone, which keeps the layout")
	}
	dst, s := identWork(dst, len(in)+8)
	start := len(dst)
	dst = append(dst, '+')
	code, _, _, _ := identPhoneSplit(in, 0)
	body := in
	if code == 0 {
		if r.country == "" {
			return dst[:start], errPhoneE164NoCountry
		}
		dst = append(dst, r.country...)
		// Drop the trunk prefix, when the number starts with it.
		at := identAfterDigits(in, len(r.trunk))
		if len(r.trunk) > 0 && identDigitsEqual(in[:at], r.trunk) {
			body = in[at:]
		}
	} else {
		from := 0
		if !identPlusFirst(in) {
			from = 2 // the 00 before the code
		}
		for _, c := range in[identAfterDigits(in, from):identAfterDigits(in, code)] {
			if identIsDigit(c) {
				dst = append(dst, c)
			}
		}
		body = in[identAfterDigits(in, code):]
		if i := identIndexTrunkZero(body); i >= 0 {
			// +44 (0)20…: the (0) is the trunk prefix, not part of the number.
			body = body[i+3:]
		}
	}
	national := len(dst)
	for _, c := range body {
		if identIsDigit(c) {
			dst = append(dst, c)
		}
	}
	if n := len(dst) - start - 1; n < 8 || n > 15 {
		return dst[:start], fmt.Errorf("phone_e164: a value makes a number of %d digits; E.164 numbers have 8 to 15", n)
	}
	// The national number splits as phone's does after the code: zeros, keep_prefix digits,
	// zeros, then the permuted rest.
	nat := dst[national:]
	zeros, prefix, rest := identNationalSplit(nat, 0, r.keepPrefix)
	var tb [32]byte
	t := r.fpe.tweak(s, identDigitTweak(tb[:], nat[zeros:prefix]))
	r.fpe.permuteDigits(s, nat[rest:], t, true)
	return dst, nil
}

// identIsE164 reports whether v is "+" and 1 to 15 digits.
func identIsE164(v []byte) bool {
	if len(v) < 2 || len(v) > 16 || v[0] != '+' {
		return false
	}
	for _, c := range v[1:] {
		if !identIsDigit(c) {
			return false
		}
	}
	return true
}

// identPlusFirst reports whether a + comes before the first digit of v.
func identPlusFirst(v []byte) bool {
	for _, c := range v {
		if c == '+' {
			return true
		}
		if identIsDigit(c) {
			return false
		}
	}
	return false
}

// identIndexTrunkZero finds "(0)" before any other digit of v, or returns -1.
func identIndexTrunkZero(v []byte) int {
	for i, c := range v {
		if identIsDigit(c) {
			return -1
		}
		if c == '(' && i+2 < len(v) && v[i+1] == '0' && v[i+2] == ')' {
			return i
		}
	}
	return -1
}

// identDigitsEqual reports whether the digits of v are exactly s.
func identDigitsEqual(v []byte, s string) bool {
	i := 0
	for _, c := range v {
		if identIsDigit(c) {
			if i >= len(s) || s[i] != c {
				return false
			}
			i++
		}
	}
	return i == len(s)
}
