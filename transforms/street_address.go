package transforms

// streetAddressRule writes a street address, in the letter case of the input: a house
// number (1 to 4 digits), a street name made from a last name, sometimes with a direction
// or an ending, and a street type: "4821 Abbott Avenue", "17 North Kuhnville Crossing".
type streetAddressRule struct {
	subkey []byte
}

var _ TextRule = (*streetAddressRule)(nil)

func newStreetAddress(env Env) (Transformer, error) {
	return fakeNewSimple(env, "street_address", func(sk []byte) TextRule { return &streetAddressRule{subkey: sk} })
}

func (r *streetAddressRule) Subkey() []byte { return r.subkey }

var streetAddressNumberMax = [...]int64{9, 99, 999, 9999}

func (r *streetAddressRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	c := fakeCase(in)
	dst = fakeAppendNumber(dst, k, 1, Pick(k, streetAddressNumberMax[:]))
	dst = append(dst, ' ')
	if k.IntN(4) == 0 {
		dst = shapeAppendCase(dst, Pick(k, fakeStreetPrefixes), c)
		dst = append(dst, ' ')
	}
	dst = shapeAppendCase(dst, Pick(k, fakeLastNames), c)
	if k.IntN(4) == 0 {
		dst = shapeAppendCase(dst, Pick(k, fakeNameEndings), c)
	}
	dst = append(dst, ' ')
	return shapeAppendCase(dst, Pick(k, fakeStreetTypes), c), nil
}
