package transforms

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// regexpReplaceRule replaces every match of a regular expression (Go RE2 syntax) in a text
// with a replacement that may name groups ($1, ${name}), as regexp.ReplaceAll does. Not
// keyed; refused on unique columns, where replaced values can collide.
type regexpReplaceRule struct {
	re     *regexp.Regexp
	repl   []byte
	expand bool // repl has a $ (a group, or $$); else it is written as is
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
	if err := regexpCheckReplacement(re, p.Replacement); err != nil {
		return nil, err
	}
	return TextBatch(&regexpReplaceRule{re: re, repl: []byte(p.Replacement),
		expand: strings.Contains(p.Replacement, "$")}, env.Column), nil
}

// Subkey is nil: the rule is not keyed.
func (r *regexpReplaceRule) Subkey() []byte { return nil }

// Text writes straight into dst what ReplaceAll would return: FindAllSubmatchIndex finds
// the same matches (no empty match right after another), and Expand reads the replacement
// the same way. A value the pattern leaves alone allocates nothing; a matching one
// allocates its match indices (one slice per match, and their list), as package regexp
// has no call that fills a caller's slice — ReplaceAll allocated those and more, and its
// result was then copied.
func (r *regexpReplaceRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	last := 0
	for _, m := range r.re.FindAllSubmatchIndex(in, -1) {
		dst = append(dst, in[last:m[0]]...)
		if r.expand {
			dst = r.re.Expand(dst, r.repl, in, m)
		} else {
			dst = append(dst, r.repl...)
		}
		last = m[1]
	}
	return append(dst, in[last:]...), nil
}

// regexpCheckReplacement refuses a replacement that names a group the pattern does not
// have. regexp writes nothing in its place, silently — and "$1_x" names the group "1_x",
// not group 1 then "_x" — so such a rule would quietly delete text.
func regexpCheckReplacement(re *regexp.Regexp, repl string) error {
	for t := repl; ; {
		i := strings.IndexByte(t, '$')
		if i < 0 {
			return nil
		}
		t = t[i+1:]
		if strings.HasPrefix(t, "$") { // $$ is a literal $
			t = t[1:]
			continue
		}
		name, braced, rest, ok := regexpGroupRef(t)
		if !ok {
			continue // a $ not followed by a name is written as is
		}
		t = rest
		if regexpHasGroup(re, name) {
			continue
		}
		ref := "$" + name
		if braced {
			ref = "${" + name + "}"
		}
		msg := fmt.Sprintf("replacement %q: %s names no group of pattern %q", repl, ref, re.String())
		if n := re.NumSubexp(); n == 0 {
			msg += " (it has none)"
		} else {
			msg += fmt.Sprintf(" (it has %d)", n)
		}
		for k := len(name) - 1; k > 0 && !braced; k-- {
			if regexpHasGroup(re, name[:k]) {
				return fmt.Errorf("%s; a $name takes every letter, digit and _ after the $: write ${%s}%s", msg, name[:k], name[k:])
			}
		}
		return fmt.Errorf("%s; write $$ for a literal $", msg)
	}
}

// regexpGroupRef reads a group reference after a $, as regexp.Expand does: a name of
// letters, digits and _, or one in braces.
func regexpGroupRef(t string) (name string, braced bool, rest string, ok bool) {
	if braced = strings.HasPrefix(t, "{"); braced {
		t = t[1:]
	}
	i := 0
	for i < len(t) {
		c, size := utf8.DecodeRuneInString(t[i:])
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '_' {
			break
		}
		i += size
	}
	if i == 0 || braced && (i == len(t) || t[i] != '}') {
		return "", false, "", false
	}
	name, rest = t[:i], t[i:]
	if braced {
		rest = rest[1:]
	}
	return name, braced, rest, true
}

// regexpHasGroup reports whether name is a group of re. As regexp.Expand reads it, a name
// of at most 9 ASCII digits without a leading zero is a group number; any other is a name.
func regexpHasGroup(re *regexp.Regexp, name string) bool {
	number := len(name) <= 9 && (name[0] != '0' || len(name) == 1)
	for i := 0; i < len(name) && number; i++ {
		number = name[i] >= '0' && name[i] <= '9'
	}
	if number {
		n, _ := strconv.Atoi(name)
		return n <= re.NumSubexp()
	}
	return re.SubexpIndex(name) >= 0
}
