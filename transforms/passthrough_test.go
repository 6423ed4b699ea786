package transforms

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

// A rule declares whether it copies some values as they are (Passthrough): a dictionary
// whose default keeps what its map does not list does, and so do the array and json rules
// that apply one; a dictionary that replaces those values does not, nor do rules that
// rewrite every value.
func TestRulesDeclareWhetherTheyPassValuesThrough(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	text := dictCol("text", pgtype.TextOID, -1)
	uniq := text
	uniq.Unique = true
	for _, tc := range []struct {
		rule string
		col  Column
		p    string
		want string // "" for a rule that rewrites every value
	}{
		{"dictionary", text, "{map: {Paris: Lyon}}", "dictionary copies the values its map does not list as they are (default: keep)"},
		{"dictionary", text, "{map: {Paris: Lyon}, default: keep}", "default: null or a text"},
		{"dictionary", text, "{map: {Paris: ~}}", "dictionary copies"},
		{"dictionary", uniq, "{map: {Paris: Lyon, Lyon: Paris}}", "dictionary copies"},
		{"dictionary", text, "{map: {Paris: Lyon}, default: null}", ""},
		{"dictionary", text, "{map: {Paris: Lyon}, default: Springfield}", ""},
		{"dictionary", text, `{map: {Paris: Lyon}, default: "keep"}`, ""},
		{"array", arrTextCol, "{element: {transform: dictionary, map: {a: b}}}", "array's element rule dictionary copies"},
		{"array", arrTextCol, "{element: {transform: dictionary, map: {a: b}, default: x}}", ""},
		{"json", jsonbCol, `{paths: {"$.a": hash, "$.b": {transform: dictionary, map: {a: b}}}}`, "json's rule at $.b: dictionary copies"},
		{"json", jsonbCol, `{paths: {"$.a": hash}}`, ""},
		{"hash", text, "", ""},
		{"null", text, "", ""},
		{"mask", text, "{keep_last: 2}", ""},
		{"email", text, "", ""},
	} {
		tr, err := Default().New(tc.rule, Env{Column: tc.col, Key: key, Params: params(t, tc.p)})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.rule, tc.p, err)
		}
		got := ""
		if p, ok := tr.(Passthrough); ok {
			got = p.Passthrough()
		}
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: Passthrough() = %q, want %q", tc.rule, tc.p, got, tc.want)
		}
	}
}
