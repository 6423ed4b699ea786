package transforms

import (
	"errors"
	"unicode/utf8"
)

// maskRule hides a text but for its first keep_first and last keep_last characters (runes,
// not bytes), writing char in place of each other one: "4111111111111111" with keep_last: 4
// becomes "************1111". It never shows a whole value: one no longer than
// keep_first + keep_last is masked entirely. Not keyed; refused on unique columns, where
// masked values would collide.
type maskRule struct {
	first, last int
	char        []byte
}

var _ TextRule = (*maskRule)(nil)

type maskParams struct {
	KeepFirst int    `yaml:"keep_first"`
	KeepLast  int    `yaml:"keep_last"`
	Char      string `yaml:"char"`
}

func newMask(env Env) (Transformer, error) {
	p := maskParams{Char: "*"}
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	if err := identTextColumn(env, "mask"); err != nil {
		return nil, err
	}
	if err := identRefuseUnique(env, "mask"); err != nil {
		return nil, err
	}
	for _, e := range []error{identNotNegative("keep_first", p.KeepFirst), identNotNegative("keep_last", p.KeepLast)} {
		if e != nil {
			return nil, e
		}
	}
	if utf8.RuneCountInString(p.Char) != 1 || !utf8.ValidString(p.Char) {
		return nil, errors.New(`char must be exactly one character, e.g. "*" or "•"`)
	}
	return TextBatch(&maskRule{first: p.KeepFirst, last: p.KeepLast, char: []byte(p.Char)}, env.Column), nil
}

// Subkey is nil: the rule is not keyed.
func (r *maskRule) Subkey() []byte { return nil }

func (r *maskRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	n := utf8.RuneCount(in)
	first, last := r.first, r.last
	if first >= n-last { // first+last >= n, written so that huge parameters cannot overflow
		first, last = 0, 0
	}
	i := 0
	for at := 0; at < len(in); i++ {
		_, size := utf8.DecodeRune(in[at:])
		if i < first || i >= n-last {
			dst = append(dst, in[at:at+size]...)
		} else {
			dst = append(dst, r.char...)
		}
		at += size
	}
	return dst, nil
}
