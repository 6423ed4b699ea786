package transforms

// fullNameRule writes "First Last", in the letter case of the input.
type fullNameRule struct {
	subkey []byte
}

var _ TextRule = (*fullNameRule)(nil)

func newFullName(env Env) (Transformer, error) {
	return fakeNewSimple(env, "full_name", func(sk []byte) TextRule { return &fullNameRule{subkey: sk} })
}

func (r *fullNameRule) Subkey() []byte { return r.subkey }

func (r *fullNameRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	c := fakeCase(in)
	dst = shapeAppendCase(dst, Pick(k, fakeFirstNames), c)
	dst = append(dst, ' ')
	return shapeAppendCase(dst, Pick(k, fakeLastNames), c), nil
}
