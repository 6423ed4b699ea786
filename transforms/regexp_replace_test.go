package transforms

import (
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// regexpNew builds regexp_replace on a text column without a key: the rule is not keyed.
func regexpNew(tb testing.TB, pattern, replacement string) Transformer {
	tb.Helper()
	p := identParams(tb, "{transform: regexp_replace, pattern: "+regexpYAMLQuote(pattern)+", replacement: "+regexpYAMLQuote(replacement)+"}")
	tr, err := newRegexpReplace(Env{Column: identCol(false), Params: p})
	if err != nil {
		tb.Fatalf("pattern %q, replacement %q: %v", pattern, replacement, err)
	}
	return tr
}

// regexpYAMLQuote writes s as a single-quoted YAML scalar, which takes backslashes as they are.
func regexpYAMLQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func TestRegexpReplaceExpandsGroups(t *testing.T) {
	cases := []struct {
		pattern, replacement, in, want string
	}{
		{`[0-9]{4,}`, "####", "call 0123456789 or 555-1234", "call #### or 555-####"},
		{`(\w+)@(\w+)\.com`, "$1 at ${2}", "mail bob@example.com today", "mail bob at example today"},
		{`(?P<user>[^@\s]+)@(?P<host>[^\s,]+)`, "${user}@example.invalid", "alice@corp.test, carol@x.org",
			"alice@example.invalid, carol@example.invalid"},
		{`(?P<user>[^@\s]+)@\S+`, "$user@example.invalid", "alice@corp.test", "alice@example.invalid"},
		{`(a)`, "${1}x", "banana", "baxnaxnax"},
		{`\d+`, "$$", "cost 100 or 20", "cost $ or $"},
		{`\d+`, "US$ 0", "cost 100", "cost US$ 0"}, // a $ before no name is written as is
		{`secret`, "xxx", "nothing to hide", "nothing to hide"},
		{`x*`, "-", "abc", "-a-b-c-"},
		{`^\s+|\s+$`, "", "  trim me  ", "trim me"},
		{`(a)?b`, "[$1]", "b ab", "[] [a]"},
		{`ü`, "ue", "Müller Grüße", "Mueller Grueße"},
		{`(?i)m(ü)ller`, "M${1}LLER", "müller MÜLLER", "MüLLER MÜLLER"},
		{`\b(\d{3})-(\d{2})-(\d{4})\b`, "XXX-XX-$3", "ssn 123-45-6789.", "ssn XXX-XX-6789."},
		{`.`, "*", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.pattern+" → "+tc.replacement, func(t *testing.T) {
			got := identApply(t, regexpNew(t, tc.pattern, tc.replacement), tc.in)[0]
			if got != tc.want {
				t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// The rule promises what regexp.ReplaceAll does; it writes its output another way, so
// compare the two over patterns that match empty strings, anchors, groups that do not
// take part, and bytes that are not UTF-8.
func TestRegexpReplaceAgreesWithReplaceAll(t *testing.T) {
	patterns := []struct{ pattern, replacement string }{
		{`a*`, "<$0>"}, {`a*?`, "."}, {`^`, "^"}, {`$`, "$$"}, {`\b`, "|"}, {`(a)|(b)`, "[$1$2]"},
		{`(?P<d>\d)(?P<d2>\d)?`, "${d2}${d}"}, {`(?m)^\s*`, ""}, {`\pL+`, "<$0>"}, {`[^a]`, ""},
		{`(x)(y)?`, "$2$1"}, {`é|e`, "E"}, {`\d{2,3}`, "${0}_"},
	}
	inputs := []string{"", "a", "aaa", "baaac", "abcabc", "ab ba\nb a", "x xy yx", "12 345 6789",
		"été e", "\xffa\xfeb", "Grüße, 日本"}
	for _, p := range patterns {
		re := regexp.MustCompile(p.pattern)
		out := identApply(t, regexpNew(t, p.pattern, p.replacement), inputs...)
		for i, in := range inputs {
			if want := string(re.ReplaceAll([]byte(in), []byte(p.replacement))); out[i] != want {
				t.Errorf("%q → %q on %q: %q, ReplaceAll gives %q", p.pattern, p.replacement, in, out[i], want)
			}
		}
	}
}

func TestRegexpReplaceNullAndAllocations(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tr := regexpNew(t, `\d{4,}`, "####")
	out := run(t, tr, mem, arrow.BinaryTypes.Binary, [][]byte{nil, []byte("order 12345"), nil})
	if out[0] != nil || out[2] != nil || string(out[1]) != "order ####" {
		t.Errorf("NULL, value, NULL → %q", out)
	}
	// A value the pattern leaves alone costs nothing; a matching one allocates its match
	// indices (package regexp has no call that fills a caller's slice), one per match and
	// their list.
	r, _ := AsTextRule(tr)
	buf := make([]byte, 0, 64)
	for _, tc := range []struct {
		in  string
		max float64
	}{{"no digits here", 0}, {"", 0}, {"order 12345", 2}, {"12345 and 67890", 3}} {
		v := []byte(tc.in)
		if allocs := testing.AllocsPerRun(20, func() { buf, _ = r.Text(nil, buf[:0], v) }); allocs > tc.max {
			t.Errorf("%q: %v allocations, want at most %v", tc.in, allocs, tc.max)
		}
	}
}

func TestRegexpReplaceRefusals(t *testing.T) {
	identCheckRefusals(t, newRegexpReplace, "regexp_replace", map[string]string{
		"{transform: regexp_replace, replacement: x}":                                    "needs a pattern",
		`{transform: regexp_replace, pattern: "(", replacement: x}`:                      "pattern \"(\": error parsing regexp: missing closing )",
		`{transform: regexp_replace, pattern: "a{2,1}", replacement: x}`:                 "invalid repeat count",
		`{transform: regexp_replace, pattern: "(a)", replacement: "$2"}`:                 "$2 names no group of pattern \"(a)\" (it has 1)",
		`{transform: regexp_replace, pattern: "a", replacement: "$1"}`:                   "(it has none); write $$ for a literal $",
		`{transform: regexp_replace, pattern: "(?P<user>.)", replacement: "${usr}"}`:     "${usr} names no group",
		`{transform: regexp_replace, pattern: "(\\d+)", replacement: "$1_masked"}`:       "write ${1}_masked",
		`{transform: regexp_replace, pattern: "(?P<u>\\w)", replacement: "$u.$uu"}`:      "$uu names no group",
		`{transform: regexp_replace, pattern: "(?P<u>\\w)", replacement: "cost: $5.00"}`: "$5 names no group",
	})
	// Replacements regexp reads as groups that exist, or as literal text, are taken.
	for _, p := range []string{`{pattern: "(a)(b)", replacement: "$0$1${2}"}`, `{pattern: "a", replacement: "$$1 US$ $"}`,
		`{pattern: "(?P<u>a)", replacement: "${u}$u-"}`, `{pattern: "a", replacement: "${unclosed"}`} {
		if _, err := newRegexpReplace(Env{Column: identCol(false), Params: identParams(t, p)}); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	_, err := newRegexpReplace(Env{Column: identCol(true), Params: identParams(t, `{pattern: "\\d", replacement: "0"}`)})
	if err == nil || !strings.Contains(err.Error(), "public.people.ident is unique") {
		t.Errorf("unique column: %v", err)
	}
}

func BenchmarkRegexpReplace(b *testing.B) {
	b.Run("no match", func(b *testing.B) {
		identBench(b, newRegexpReplace, `{transform: regexp_replace, pattern: "[0-9]{4,}", replacement: "####"}`,
			func(i int) string { return "order shipped to customer " + strings.Repeat("x", i%8) })
	})
	b.Run("match", func(b *testing.B) {
		identBench(b, newRegexpReplace, `{transform: regexp_replace, pattern: "(\\w+)@(\\w+)", replacement: "$1 at $2"}`,
			func(i int) string { return "write to bob" + strings.Repeat("x", i%8) + "@example.com" })
	})
}
