package transforms

// newFirstName builds first_name: a first name from the list, in the letter case of the input
// ("JOHN" → "MARY", "john" → "mary"). On a varchar(n) column only names of at most n
// characters are drawn.
func newFirstName(env Env) (Transformer, error) {
	return fakeNewSimple(env, "first_name", func(sk []byte) TextRule {
		return &fakeListRule{subkey: sk, list: fakeFit(fakeFirstNames, fakeMaxChars(env.Column))}
	})
}
