package transforms

// newLastName builds last_name: a last name from the list, in the letter case of the input.
// On a varchar(n) column only names of at most n characters are drawn.
func newLastName(env Env) (Transformer, error) {
	return fakeNewSimple(env, "last_name", func(sk []byte) TextRule {
		return &fakeListRule{subkey: sk, list: fakeFit(fakeLastNames, fakeMaxChars(env.Column))}
	})
}
