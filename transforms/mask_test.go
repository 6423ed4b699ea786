package transforms

import (
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// maskNew builds mask on a text column without a key: the rule is not keyed.
func maskNew(t *testing.T, p string) Transformer {
	t.Helper()
	tr, err := newMask(Env{Column: identCol(false), Params: identParams(t, p)})
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return tr
}

func TestMaskShowsOnlyKeepFirstAndKeepLast(t *testing.T) {
	cases := []struct {
		params, in, want string
	}{
		{"", "secret", "******"},
		{"{transform: mask, keep_last: 4}", "4111111111111111", "************1111"},
		{"{transform: mask, keep_first: 1, keep_last: 1}", "secret", "s****t"},
		{"{transform: mask, keep_first: 2, keep_last: 2}", "abcde", "ab*de"},
		// No longer than keep_first + keep_last: hidden whole, never shown.
		{"{transform: mask, keep_first: 2, keep_last: 2}", "abcd", "****"},
		{"{transform: mask, keep_first: 2, keep_last: 2}", "abc", "***"},
		{"{transform: mask, keep_first: 4}", "abcd", "****"},
		{"{transform: mask, keep_last: 9}", "short", "*****"},
		// Parameters so large that their sum overflows an int still hide the value.
		{"{transform: mask, keep_first: 9223372036854775807, keep_last: 1}", "secret", "******"},
		{"{transform: mask, keep_first: 9223372036854775807, keep_last: 9223372036854775807}", "secret", "******"},
		// Characters are runes, not bytes: a kept or hidden character is never cut.
		{"{transform: mask, keep_first: 3, keep_last: 2}", "Zoë Ünal", "Zoë***al"},
		{"{transform: mask, keep_last: 3}", "Grüße", "**üße"},
		{"{transform: mask, keep_first: 1}", "東京都", "東**"},
		{`{transform: mask, keep_last: 2, char: "•"}`, "日本語テキスト", "•••••スト"},
		{`{transform: mask, keep_first: 1, char: "é"}`, "naïve", "néééé"},
		{"{transform: mask, keep_last: 1}", "👍🏽ok", "***k"},
		// Bytes that are not UTF-8 count as one character each.
		{"{transform: mask, keep_last: 1}", "\xff\xfeab", "***b"},
		{"{transform: mask, keep_first: 1}", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.params+" "+tc.in, func(t *testing.T) {
			got := identApply(t, maskNew(t, tc.params), tc.in)[0]
			if got != tc.want {
				t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Over every split of a few values, the output has as many characters as the input, shows
// exactly the first keep_first and last keep_last of them when the value is longer than
// both, and never the whole value.
func TestMaskNeverShowsAWholeValue(t *testing.T) {
	values := []string{"a", "ab", "alice@example.com", "Zoë Ünal", "日本語", "4111 1111 1111 1111"}
	for first := 0; first <= 5; first++ {
		for last := 0; last <= 5; last++ {
			p := "{transform: mask, keep_first: " + strconv.Itoa(first) + ", keep_last: " + strconv.Itoa(last) + ", char: \"#\"}"
			out := identApply(t, maskNew(t, p), values...)
			for i, in := range values {
				rin, rout := []rune(in), []rune(out[i])
				if len(rout) != len(rin) {
					t.Errorf("%s: %q → %q: %d characters, want %d", p, in, out[i], len(rout), len(rin))
					continue
				}
				shownFirst, shownLast := first, last
				if len(rin) <= first+last {
					shownFirst, shownLast = 0, 0
				}
				for j := range rin {
					shown := j < shownFirst || j >= len(rin)-shownLast
					if shown && rout[j] != rin[j] || !shown && rout[j] != '#' {
						t.Errorf("%s: %q → %q: character %d wrong", p, in, out[i], j)
						break
					}
				}
				if out[i] == in {
					t.Errorf("%s: %q shown whole", p, in)
				}
			}
		}
	}
}

func TestMaskKeepsNullAndDoesNotAllocate(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tr := maskNew(t, "{transform: mask, keep_last: 4}")
	out := run(t, tr, mem, arrow.BinaryTypes.String, [][]byte{nil, []byte("4111111111111111"), nil})
	if out[0] != nil || out[2] != nil || string(out[1]) != "************1111" {
		t.Errorf("NULL, card, NULL → %q", out)
	}
	r, _ := AsTextRule(tr)
	buf := make([]byte, 0, 64)
	for _, s := range []string{"4111111111111111", "Zoë Ünal", ""} {
		v := []byte(s)
		if allocs := testing.AllocsPerRun(20, func() { buf, _ = r.Text(nil, buf[:0], v) }); allocs != 0 {
			t.Errorf("%q: %v allocations per value", s, allocs)
		}
	}
	// On a varchar(6) column six characters fit, though each "•" takes three bytes.
	vc := Column{Table: "public.people", Name: "card", TypeName: "character varying(6)", BaseOID: pgtype.VarcharOID, Typmod: 10}
	tr, err := newMask(Env{Column: vc, Params: identParams(t, `{transform: mask, keep_first: 1, char: "•"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := run(t, tr, mem, arrow.BinaryTypes.String, [][]byte{[]byte("abcdef")}); string(got[0]) != "a•••••" {
		t.Errorf("varchar(6): %q", got[0])
	}
}

func TestMaskRefusals(t *testing.T) {
	identCheckRefusals(t, newMask, "mask", map[string]string{
		"{transform: mask, keep_first: -1}": "keep_first must not be negative",
		"{transform: mask, keep_last: -3}":  "keep_last must not be negative",
		`{transform: mask, char: ""}`:       "exactly one character",
		`{transform: mask, char: "**"}`:     "exactly one character",
	})
	_, err := newMask(Env{Column: identCol(true), Params: identParams(t, "{transform: mask, keep_last: 4}")})
	if err == nil || !strings.Contains(err.Error(), "public.people.ident is unique") {
		t.Errorf("unique column: %v", err)
	}
}

func BenchmarkMask(b *testing.B) {
	identBench(b, newMask, "{transform: mask, keep_last: 4}", func(i int) string { return "4111 1111 1111 " + strconv.Itoa(i%10) + "234" })
}
