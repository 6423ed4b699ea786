package when

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

// likeRegexp is the meaning of a LIKE pattern, spelt as a regular expression.
func likeRegexp(pat string, fold bool) *regexp.Regexp {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("^(?s:")
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '\\':
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		}
	}
	b.WriteString(")$")
	return regexp.MustCompile(b.String())
}

// LIKE matches what the same pattern as a regular expression matches, with and without
// case folding, on random patterns and values.
func TestLikeMatchesRegexp(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pick := func(alphabet []string, n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		return b.String()
	}
	patChars := []string{"a", "b", "A", "é", "É", "%", "%", "_", `\%`, `\_`, `\\`, `\a`, "."}
	valChars := []string{"a", "b", "A", "é", "É", "%", "_", `\`, ".", "\n"}
	for i := 0; i < 20000; i++ {
		pat := pick(patChars, rng.Intn(7))
		val := pick(valChars, rng.Intn(8))
		for _, fold := range []bool{false, true} {
			p, err := compileLike(pat, fold)
			if err != nil {
				t.Fatalf("compile %q: %v", pat, err)
			}
			if got, want := p.match([]byte(val)), likeRegexp(pat, fold).MatchString(val); got != want {
				t.Fatalf("%q LIKE %q (fold %v) = %v, want %v", val, pat, fold, got, want)
			}
		}
	}
}
