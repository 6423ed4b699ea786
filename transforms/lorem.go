package transforms

import (
	"unicode"
	"unicode/utf8"
)

// loremRule writes lorem-ipsum words about as long as the input, in characters, and never
// longer: words are drawn while they fit, so the output falls short by at most one
// character. The first word is capitalised when the input starts with a capital, and an
// input ending with "." ends with one too. Nothing of the text survives but its length.
type loremRule struct {
	subkey []byte
}

var _ TextRule = (*loremRule)(nil)

func newLorem(env Env) (Transformer, error) {
	return fakeNewSimple(env, "lorem", func(sk []byte) TextRule { return &loremRule{subkey: sk} })
}

func (r *loremRule) Subkey() []byte { return r.subkey }

func (r *loremRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	room := utf8.RuneCount(in)
	if room == 0 {
		return dst, nil
	}
	first, _ := utf8.DecodeRune(in)
	capital := unicode.IsUpper(first)
	stop := in[len(in)-1] == '.'
	if stop {
		room--
	}
	start := len(dst)
	for {
		sep := 0
		if len(dst) > start {
			sep = 1
		}
		w := fakeLorem.pick(k, room-sep)
		if w == nil {
			break
		}
		if sep == 1 {
			dst = append(dst, ' ')
		}
		dst = append(dst, w...)
		room -= sep + len(w)
	}
	if capital && len(dst) > start && 'a' <= dst[start] && dst[start] <= 'z' {
		dst[start] -= 'a' - 'A'
	}
	if stop {
		dst = append(dst, '.')
	}
	return dst, nil
}
