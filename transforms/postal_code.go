package transforms

// postalCodeRule keeps the shape of a postal code: each ASCII digit becomes a keyed digit,
// each ASCII letter a keyed letter of the same case, every other character stays. "SW1A
// 1AA", "10115", "75008" and "K1A 0B1" keep their format, so do the codes of any country.
type postalCodeRule struct {
	subkey []byte
}

var _ TextRule = (*postalCodeRule)(nil)

func newPostalCode(env Env) (Transformer, error) {
	return fakeNewSimple(env, "postal_code", func(sk []byte) TextRule { return &postalCodeRule{subkey: sk} })
}

func (r *postalCodeRule) Subkey() []byte { return r.subkey }

func (r *postalCodeRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	for _, c := range in {
		switch {
		case '0' <= c && c <= '9':
			c = byte('0' + k.IntN(10))
		case 'A' <= c && c <= 'Z':
			c = byte('A' + k.IntN(26))
		case 'a' <= c && c <= 'z':
			c = byte('a' + k.IntN(26))
		}
		dst = append(dst, c)
	}
	return dst, nil
}
