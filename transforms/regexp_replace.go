package transforms

import (
	"errors"
	"fmt"
	"regexp"
)

// regexpReplaceRule replaces every match of a regular expression (Go RE2 syntax) in a text
// with a replacement that may name groups ($1, ${name}), as regexp.ReplaceAll does. Not
// keyed; refused on unique columns, where replaced values can collide.
type regexpReplaceRule struct {
	re   *regexp.Regexp
	repl []byte
}

var _ TextRule = (*regexpReplaceRule)(nil)

type regexpReplaceParams struct {
	Pattern     string `yaml:"pattern"`
	Replacement string `yaml:"replacement"`
}

func newRegexpReplace(env Env) (Transformer, error) {
	var p regexpReplaceParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	if err := identTextColumn(env, "regexp_replace"); err != nil {
		return nil, err
	}
	if err := identRefuseUnique(env, "regexp_replace"); err != nil {
		return nil, err
	}
	if p.Pattern == "" {
		return nil, errors.New(`regexp_replace needs a pattern, e.g. {transform: regexp_replace, pattern: '\d{4}$', replacement: "0000"}`)
	}
	re, err := regexp.Compile(p.Pattern)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p.Pattern, err)
	}
	return TextBatch(&regexpReplaceRule{re: re, repl: []byte(p.Replacement)}, env.Column), nil
}

// Subkey is nil: the rule is not keyed.
func (r *regexpReplaceRule) Subkey() []byte { return nil }

func (r *regexpReplaceRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	if !r.re.Match(in) {
		return append(dst, in...), nil // no allocation for a value the pattern leaves alone
	}
	return append(dst, r.re.ReplaceAll(in, r.repl)...), nil
}
