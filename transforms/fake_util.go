package transforms

// Helpers shared by the fake-value rules (first_name, last_name, full_name, username, email,
// street_address, city, postal_code, country, company, job_title, url, domain, user_agent,
// lorem).
//
// Each is a TextRule: TextBatch seeds the keyed stream of the rule's domain with the input,
// and the rule draws words from the lists of fake_words.go, so the same input gets the same
// fake value in every table, run and machine. Fake values repeat (there are only so many
// first names), so the rules are refused on unique columns — except username and email,
// which there end with a 100-bit keyed discriminator of the input.

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// fakeParams are the parameters of the fake-value rules that take no others.
type fakeParams struct {
	Domain string `yaml:"domain"`
}

// fakeKeyed is the common part of a fake-value rule's constructor: the key, a text column,
// no unique column unless the rule can keep one unique, and the sub-key of the domain
// (default: the rule's name).
func fakeKeyed(env Env, name, domain string, uniqueOK bool) ([]byte, error) {
	sk, err := shapeKeyed(name, env, domain)
	if err != nil {
		return nil, err
	}
	if err := identTextColumn(env, name); err != nil {
		return nil, err
	}
	if env.Column.Unique && !uniqueOK {
		return nil, fmt.Errorf("%s can give two rows the same value, and %s is unique; use hash, or a template with {#}, a keyed discriminator that keeps values unique",
			name, env.Column)
	}
	return sk, nil
}

// fakeNewSimple builds a rule that takes only domain:.
func fakeNewSimple(env Env, name string, build func(subkey []byte) TextRule) (Transformer, error) {
	var p fakeParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	sk, err := fakeKeyed(env, name, p.Domain, false)
	if err != nil {
		return nil, err
	}
	return TextBatch(build(sk), env.Column), nil
}

// fakeMaxChars is the length limit of a varchar(n) or char(n) column, 0 for none: the one
// TextBatch cuts to.
func fakeMaxChars(c Column) int {
	if (c.BaseOID == pgtype.VarcharOID || c.BaseOID == pgtype.BPCharOID) && c.Typmod > 4 {
		return int(c.Typmod - 4)
	}
	return 0
}

// fakeChars counts the characters of b.
func fakeChars(b []byte) int { return utf8.RuneCount(b) }

// fakeCase reads the letter case of an input: 'u' if it has two letters or more, all upper
// case ("JOHN"), 'l' if they are all lower case ("john"), else 0 (write words as listed). A
// fake name then looks like the names around it.
func fakeCase(in []byte) byte {
	upper, lower := 0, 0
	for len(in) > 0 {
		r, n := rune(in[0]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(in)
		}
		in = in[n:]
		switch {
		case 'A' <= r && r <= 'Z' || r >= utf8.RuneSelf && unicode.IsUpper(r):
			upper++
		case 'a' <= r && r <= 'z' || r >= utf8.RuneSelf && unicode.IsLower(r):
			lower++
		}
		if upper > 0 && lower > 0 {
			return 0
		}
	}
	switch {
	case upper >= 2:
		return 'u'
	case lower >= 2:
		return 'l'
	}
	return 0
}

// fakeAppendNumber appends a decimal number drawn from [lo, hi].
func fakeAppendNumber(dst []byte, k *Keyed, lo, hi int64) []byte {
	return strconv.AppendInt(dst, k.Range(lo, hi), 10)
}

// fakeUniqueDiscLen is the discriminator of username and email on a unique column: 20
// base32 characters, 100 bits, as template's {#}.
const fakeUniqueDiscLen = templateUniqueDiscLen

// fakeAppendDiscriminator appends the keyed discriminator of the input k was seeded with. It
// reads the second half of the digest: the first seeds the draws that chose the name, and the
// two stay independent.
func fakeAppendDiscriminator(dst []byte, k *Keyed) []byte {
	return shapeAppendDiscriminator(dst, k.Digest()[16:], fakeUniqueDiscLen)
}

// fakeTrimSeparators removes the separators a cut can leave at the end of a user name or an
// e-mail local part ("john." from "john.smith").
func fakeTrimSeparators(dst []byte, start int) []byte {
	for len(dst) > start {
		switch dst[len(dst)-1] {
		case '.', '_', '-':
			dst = dst[:len(dst)-1]
			continue
		}
		break
	}
	return dst
}

// fakeAppendHandle appends a handle made of fake name parts, lower case ASCII: the local
// part of an e-mail address, or a user name. digits adds, half of the time, two digits or a
// year of birth, the way people tell their handles apart.
func fakeAppendHandle(dst []byte, k *Keyed, digits bool) []byte {
	first, last := Pick(k, fakeFirstSlugs), Pick(k, fakeLastSlugs)
	switch k.IntN(6) {
	case 0:
		dst = append(append(append(dst, first...), '.'), last...)
	case 1:
		dst = append(append(append(dst, first...), '_'), last...)
	case 2:
		dst = append(append(dst, first[0]), last...)
	case 3:
		dst = append(append(dst, first...), last...)
	case 4:
		dst = append(append(dst, last...), first[0])
	case 5:
		dst = append(dst, first...)
		if digits {
			return fakeAppendNumber(dst, k, 1, 9999)
		}
		return dst
	}
	if digits {
		switch k.IntN(4) {
		case 0:
			dst = fakeAppendNumber(dst, k, 10, 99)
		case 1:
			dst = fakeAppendNumber(dst, k, 1950, 2010)
		}
	}
	return dst
}

// fakeAppendHost appends a fake host name under a reserved suffix: "kuhn.example.com",
// "abbott-schmidt.test", "lamp-river.example".
func fakeAppendHost(dst []byte, k *Keyed) []byte {
	switch k.IntN(3) {
	case 0:
		dst = append(dst, Pick(k, fakeLastSlugs)...)
	case 1:
		dst = append(append(append(dst, Pick(k, fakeLastSlugs)...), '-'), Pick(k, fakeLastSlugs)...)
	case 2:
		dst = append(append(append(dst, Pick(k, fakeNouns)...), '-'), Pick(k, fakeNouns)...)
	}
	return append(append(dst, '.'), Pick(k, fakeHostSuffixes)...)
}

// fakeListRule writes one word of a list, in the letter case of the input.
type fakeListRule struct {
	subkey []byte
	list   [][]byte
}

var _ TextRule = (*fakeListRule)(nil)

func (r *fakeListRule) Subkey() []byte { return r.subkey }

func (r *fakeListRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	return shapeAppendCase(dst, Pick(k, r.list), fakeCase(in)), nil
}

// shapeBase32 is RFC 4648 base32 in lower case: discriminators read well inside e-mail
// addresses and user names.
const shapeBase32 = "abcdefghijklmnopqrstuvwxyz234567"

// shapeAppendDiscriminator appends n base32 characters (5n bits) of digest.
func shapeAppendDiscriminator(dst, digest []byte, n int) []byte {
	var acc uint64
	nb := 0
	j := 0
	for i := 0; i < n; i++ {
		if nb < 5 {
			acc = acc<<8 | uint64(digest[j])
			j++
			nb += 8
		}
		nb -= 5
		dst = append(dst, shapeBase32[(acc>>nb)&31])
	}
	return dst
}
