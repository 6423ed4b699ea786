package transforms

import (
	"fmt"
	"strings"
)

// Helpers shared by the identifier rules (phone, phone_e164, credit_card, iban, national_id,
// digits, ipv4, ipv6, mac, uuid, mask, regexp_replace).
//
// The keyed rules keep what identifies the format — separators, the country code, the
// issuer — and send the rest through identFPE. They stay collision-free on any input
// because what they keep, and how they decide what to keep, can be read back from their
// output: two outputs that are equal come from inputs that kept the same things, and the
// permuted rest is a bijection.

// identKeyedRule is the common part of a keyed identifier rule's constructor: the key, the
// column type, and the FPE of the rule's domain (default: the rule's name).
func identKeyedRule(env Env, name, domain string) (*identFPE, error) {
	if env.Key == nil {
		return nil, NoKeyError(name)
	}
	if err := identTextColumn(env, name); err != nil {
		return nil, err
	}
	if domain == "" {
		domain = name
	}
	return newIdentFPE(env.Key.Derive(domain)), nil
}

func identTextColumn(env Env, name string) error {
	if !IsTextType(env.Column) {
		return fmt.Errorf("%s writes text; column type %s does not take it", name, env.Column.TypeName)
	}
	return nil
}

// identRefuseUnique refuses a rule that can map distinct values to one on a unique column.
func identRefuseUnique(env Env, name string) error {
	if env.Column.Unique {
		return fmt.Errorf("%s can give distinct values the same output, and %s is unique; use a rule that keeps values distinct (digits, national_id, hash)",
			name, env.Column)
	}
	return nil
}

// identNotNegative checks an integer parameter.
func identNotNegative(name string, v int) error {
	if v < 0 {
		return fmt.Errorf("%s must not be negative (got %d)", name, v)
	}
	return nil
}

// identAfterDigits returns the index in b just past its k-th ASCII digit (0 for k = 0,
// len(b) when b has fewer).
func identAfterDigits(b []byte, k int) int {
	if k <= 0 {
		return 0
	}
	for i, c := range b {
		if identIsDigit(c) {
			if k--; k == 0 {
				return i + 1
			}
		}
	}
	return len(b)
}

// identCountDigits counts the ASCII digits of b.
func identCountDigits(b []byte) int {
	n := 0
	for _, c := range b {
		if identIsDigit(c) {
			n++
		}
	}
	return n
}

// identLastDigit is the index of the last ASCII digit of b, or -1.
func identLastDigit(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if identIsDigit(b[i]) {
			return i
		}
	}
	return -1
}

// identDigitTweak collects up to len(buf) of the digits of b, the tweak of what a rule keeps.
func identDigitTweak(buf []byte, b []byte) []byte {
	out := buf[:0]
	for _, c := range b {
		if identIsDigit(c) && len(out) < cap(out) {
			out = append(out, c)
		}
	}
	return out
}

// identLuhn returns the Luhn check digit of the digits of body (non-digits ignored): the
// digit that, appended, makes the Luhn sum a multiple of 10.
func identLuhn(body []byte) int {
	sum, double := 0, true
	for i := len(body) - 1; i >= 0; i-- {
		c := body[i]
		if !identIsDigit(c) {
			continue
		}
		d := int(c - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}

// identLuhnRecheck rewrites the check digit at b[last] after the body b[:last] changed,
// keeping its distance from the correct one: a valid number stays valid, and a wrong check
// digit stays wrong by the same amount, so no two inputs meet. before is the correct check
// digit of the body before the change.
func identLuhnRecheck(b []byte, last, before int) {
	off := (int(b[last]-'0') - before + 10) % 10
	b[last] = byte('0' + (identLuhn(b[:last])+off)%10)
}

// identCC2[n] says whether the two digits n are an assigned 2-digit calling code.
var identCC2 = func() (t [100]bool) {
	for _, c := range identCallingCodes {
		if len(c.code) == 2 {
			t[int(c.code[0]-'0')*10+int(c.code[1]-'0')] = true
		}
	}
	return t
}()

// identCallingCodeLen returns how many of the avail leading digits d0 d1 … form the country
// calling code: 1 in zones 1 and 7, 2 for an assigned 2-digit code, else 3 (the assigned
// 3-digit codes, and the spare ones). This is a complete prefix code decided by the first
// two digits, both kept, so reading the output finds the same code. Capped at avail.
func identCallingCodeLen(d0, d1 byte, avail int) int {
	n := 3
	switch {
	case d0 == '1' || d0 == '7':
		n = 1
	case identIsDigit(d0) && identIsDigit(d1) && identCC2[int(d0-'0')*10+int(d1-'0')]:
		n = 2
	}
	return max(min(n, avail), 0)
}

// identCallingCode turns a country given as a calling code ("49", "+49") or an ISO 3166
// code ("DE") into its calling code.
func identCallingCode(country string) (string, error) {
	c := strings.TrimPrefix(strings.TrimSpace(country), "+")
	for _, e := range identCallingCodes {
		if c == e.code {
			return c, nil
		}
		if len(c) == 2 && strings.Contains(" "+e.regions+" ", " "+strings.ToUpper(c)+" ") {
			return e.code, nil
		}
	}
	return "", fmt.Errorf("country %q is neither a calling code (49, +1) nor an ISO 3166 country code with one (DE, US)", country)
}

// identPhoneSplit finds, in the digits of a phone number, what the phone rules keep: digits
// [0, code) are the international prefix (+ or 00) and the country calling code, [code,
// zeros) the zeros after them (a national trunk prefix 0, or the 0 of +44 (0)20…), [zeros,
// prefix) the keepPrefix digits asked for, and [prefix, rest) zeros again; the digits from
// rest on are permuted, the first of them non-zero. Every boundary is decided by digits
// before it, all kept, so the output splits the same way. Indices count digits, not bytes.
func identPhoneSplit(value []byte, keepPrefix int) (code, zeros, prefix, rest int) {
	n, plus := 0, false
	var head [4]byte // the first digits, for the calling code
	for _, c := range value {
		if identIsDigit(c) {
			if n < len(head) {
				head[n] = c
			}
			n++
		} else if c == '+' && n == 0 {
			plus = true
		}
	}
	switch {
	case plus:
		code = identCallingCodeLen(head[0], head[1], n)
	case n >= 2 && head[0] == '0' && head[1] == '0':
		code = 2 + identCallingCodeLen(head[2], head[3], n-2)
	}
	zeros, prefix, rest = identNationalSplit(value, code, keepPrefix)
	return code, zeros, prefix, rest
}

// identNationalSplit places the boundaries of identPhoneSplit that follow the code digits.
func identNationalSplit(value []byte, code, keepPrefix int) (zeros, prefix, rest int) {
	zeros, prefix, rest = code, code, code
	i := 0
	for _, c := range value {
		if !identIsDigit(c) {
			continue
		}
		switch {
		case i < code:
		case i == zeros && c == '0':
			zeros, prefix, rest = i+1, i+1, i+1
		case i < zeros+keepPrefix:
			prefix, rest = i+1, i+1
		case i == rest && c == '0':
			rest = i + 1
		}
		i++
	}
	return zeros, prefix, rest
}
