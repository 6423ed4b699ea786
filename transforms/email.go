package transforms

import (
	"bytes"
	"fmt"
)

// emailRule writes an e-mail address whose local part is made of fake name parts
// ("john.smith", "jsmith42") at a domain reserved for examples (example.com, acme.example,
// mailbox.test…), or with keep_domain: true at the input's own domain (the part after its
// last @; an input without one gets a reserved domain).
//
// On a unique column the local part carries no digits but ends with "." and a 100-bit keyed
// discriminator of the input (20 base32 characters): it is always the 20 characters before
// the last @, so distinct inputs get distinct addresses. On a varchar(n) column the local
// part is shortened so that the address fits whole, discriminator included.
type emailRule struct {
	subkey     []byte
	keepDomain bool
	unique     bool
	max        int      // varchar(n)/char(n) length, 0 if none
	domains    [][]byte // the reserved domains that fit
}

var (
	_ TextRule   = (*emailRule)(nil)
	_ UniqueSafe = (*emailRule)(nil)
)

type emailParams struct {
	Domain     string `yaml:"domain"`
	KeepDomain bool   `yaml:"keep_domain"`
}

// emailMinLocal is the shortest local part a varchar(n) limit leaves on a column that is
// not unique, when choosing the domains that fit.
const emailMinLocal = 6

func newEmail(env Env) (Transformer, error) {
	var p emailParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	sk, err := fakeKeyed(env, "email", p.Domain, true)
	if err != nil {
		return nil, err
	}
	c := env.Column
	r := &emailRule{subkey: sk, keepDomain: p.KeepDomain, unique: c.Unique, max: fakeMaxChars(c), domains: fakeEmailDomains}
	if r.max > 0 {
		local := emailMinLocal
		if r.unique {
			local = fakeUniqueDiscLen
		}
		r.domains = fakeFit(fakeEmailDomains, r.max-local-1)
		if r.unique && fakeChars(r.domains[0]) > r.max-local-1 {
			return nil, fmt.Errorf("email: column %s is unique and holds %d characters, too few for the %d-character discriminator that keeps it unique, an @ and a domain (use hash)",
				c, r.max, fakeUniqueDiscLen)
		}
	}
	return TextBatch(r, c), nil
}

func (r *emailRule) Subkey() []byte { return r.subkey }

// UniqueSafe: on a unique column every local part ends with the input's 100-bit
// discriminator, which the last @ finds again in the output.
func (r *emailRule) UniqueSafe() bool { return r.unique }

func (r *emailRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	// Draw the domain after the local part, so that keep_domain changes nothing else.
	start := len(dst)
	dst = fakeAppendHandle(dst, k, !r.unique)
	var domain []byte
	if r.keepDomain {
		domain = emailDomainOf(in)
	}
	if domain == nil {
		domain = Pick(k, r.domains)
	}
	if r.max > 0 {
		room := r.max - 1 - fakeChars(domain) // characters for the local part; it is ASCII
		if r.unique {
			room -= fakeUniqueDiscLen
			if room < 0 {
				return dst[:start], fmt.Errorf("email: the domain of this value leaves fewer than the %d characters of the discriminator in the column's %d; cutting it would break uniqueness (use hash)",
					fakeUniqueDiscLen, r.max)
			}
			room-- // the dot before the discriminator
		}
		// A kept domain that leaves no room on a column that is not unique: TextBatch cuts
		// the address, as it cuts any value too long for its column.
		switch {
		case room < 1 && r.unique:
			dst = dst[:start]
		case room >= 1 && len(dst)-start > room:
			dst = fakeTrimSeparators(dst[:start+room], start)
		}
	}
	if r.unique {
		if len(dst) > start {
			dst = append(dst, '.')
		}
		dst = fakeAppendDiscriminator(dst, k)
	}
	dst = append(dst, '@')
	return append(dst, domain...), nil
}

// emailDomainOf returns what follows the last @ of an address (char(n) padding dropped), or
// nil if there is nothing.
func emailDomainOf(in []byte) []byte {
	in = bytes.TrimRight(in, " ")
	at := bytes.LastIndexByte(in, '@')
	if at < 0 || at == len(in)-1 {
		return nil
	}
	return in[at+1:]
}
