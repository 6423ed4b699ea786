package transforms

// companyRule writes a company name made of fake last names, in the letter case of the
// input: "Abbott LLC", "Kuhn and Sons", "Abbott-Schmidt", "Kuhn, Abbott and Schmidt".
// (gofakeit's list of company names holds real companies, which a copy should not name.)
type companyRule struct {
	subkey []byte
}

var _ TextRule = (*companyRule)(nil)

func newCompany(env Env) (Transformer, error) {
	return fakeNewSimple(env, "company", func(sk []byte) TextRule { return &companyRule{subkey: sk} })
}

var companyAnd = []byte(" and ")

func (r *companyRule) Subkey() []byte { return r.subkey }

func (r *companyRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	c := fakeCase(in)
	dst = shapeAppendCase(dst, Pick(k, fakeLastNames), c)
	switch k.IntN(3) {
	case 0:
		dst = append(dst, ' ')
		dst = shapeAppendCase(dst, Pick(k, fakeCompanySuffixes), c)
	case 1:
		dst = append(dst, '-')
		dst = shapeAppendCase(dst, Pick(k, fakeLastNames), c)
	case 2:
		dst = append(dst, ", "...)
		dst = shapeAppendCase(dst, Pick(k, fakeLastNames), c)
		dst = shapeAppendCase(dst, companyAnd, c)
		dst = shapeAppendCase(dst, Pick(k, fakeLastNames), c)
	}
	return dst, nil
}
