package transforms

// cityRule writes a city name, in the letter case of the input: half of the time a listed
// (American) city, else one made up the way towns are named: "Port Abbottville",
// "Kuhnburgh", "Lake Schmidtton". The made-up half keeps real names of a column from
// surviving by chance.
type cityRule struct {
	subkey []byte
	cities [][]byte
}

var _ TextRule = (*cityRule)(nil)

func newCity(env Env) (Transformer, error) {
	return fakeNewSimple(env, "city", func(sk []byte) TextRule {
		return &cityRule{subkey: sk, cities: fakeFit(fakeCities, fakeMaxChars(env.Column))}
	})
}

func (r *cityRule) Subkey() []byte { return r.subkey }

func (r *cityRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	c := fakeCase(in)
	if k.IntN(2) == 0 {
		return shapeAppendCase(dst, Pick(k, r.cities), c), nil
	}
	if k.IntN(3) == 0 {
		dst = shapeAppendCase(dst, Pick(k, fakeStreetPrefixes), c)
		dst = append(dst, ' ')
	}
	dst = shapeAppendCase(dst, Pick(k, fakeLastNames), c)
	return shapeAppendCase(dst, Pick(k, fakeNameEndings), c), nil
}
