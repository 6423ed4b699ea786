package transforms

// countryRule writes a country: an ISO 3166 alpha-2 code for an input of two letters ("DE",
// "fr") and an alpha-3 code for one of three ("USA"), in the input's case, else a country
// name in the letter case of the input. A char(2) or varchar(2) column always gets alpha-2
// codes, a 3-character one alpha-3: they hold nothing else.
type countryRule struct {
	subkey []byte
	names  [][]byte
	force  int // 2 or 3 when the column holds codes only
}

var _ TextRule = (*countryRule)(nil)

func newCountry(env Env) (Transformer, error) {
	n := fakeMaxChars(env.Column)
	return fakeNewSimple(env, "country", func(sk []byte) TextRule {
		r := &countryRule{subkey: sk, names: fakeFit(fakeCountries, n)}
		if n == 2 || n == 3 {
			r.force = n
		}
		return r
	})
}

func (r *countryRule) Subkey() []byte { return r.subkey }

func (r *countryRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	code := countryCodeLen(in)
	if r.force != 0 {
		code = r.force
	}
	c := fakeCase(in)
	switch code {
	case 2:
		if c == 0 {
			c = 'u'
		}
		return shapeAppendCase(dst, Pick(k, fakeCountryAlpha2), c), nil
	case 3:
		if c == 0 {
			c = 'u'
		}
		return shapeAppendCase(dst, Pick(k, fakeCountryAlpha3), c), nil
	}
	return shapeAppendCase(dst, Pick(k, r.names), c), nil
}

// countryCodeLen is 2 or 3 for an input of that many ASCII letters (char(n) padding
// ignored), else 0.
func countryCodeLen(in []byte) int {
	for len(in) > 0 && in[len(in)-1] == ' ' {
		in = in[:len(in)-1]
	}
	if len(in) != 2 && len(in) != 3 {
		return 0
	}
	for _, c := range in {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return 0
		}
	}
	return len(in)
}
