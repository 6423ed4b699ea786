package schemas

import (
	"strings"
	"testing"
)

func TestSQLLinesKnowsWhatIsInsideALiteral(t *testing.T) {
	cases := []struct {
		sql     string
		outside []bool // per line
	}{
		{"a\n-- b\nc", []bool{true, true, true}},
		{"x = 'a\n-- Name: b\n'", []bool{true, false, false}},
		{"x = 'it''s\n-- b' || '\n'\nc", []bool{true, false, false, true}},
		{"x = E'it\\'s\n-- b\\\\'\nc", []bool{true, false, true}},
		{"x = E'\\\n-- b'\nc", []bool{true, false, true}},
		{"(E'\\'\n--'\nc", []bool{true, false, true}},
		{"note'\\'\n--'\nc", []bool{true, true, true}}, // not an E string: the backslash is a character
		{"AS $$\n-- a\n$$;\n-- b", []bool{true, false, false, true}},
		{"AS $f$ $$\n-- a\n$f$;\n-- b", []bool{true, false, false, true}},
		{"$1 = 'a' AND x$y = 1\n--", []bool{true, true}},
		{"a$b$\n--", []bool{true, true}}, // an identifier with dollar signs, not a quote
		{"\"a\n-- Name: \"\"x\n\"\n--", []bool{true, false, false, true}},
		{"/* a /* b */\n-- c */\n--", []bool{true, false, true}},
		{"-- it's\n--", []bool{true, true}}, // a quote in a comment opens nothing
		{"'a", []bool{true}},
	}
	for _, c := range cases {
		lines := sqlLines(c.sql)
		var got []bool
		var texts []string
		for _, l := range lines {
			got = append(got, l.outside)
			texts = append(texts, l.text)
		}
		if strings.Join(texts, "\n") != c.sql {
			t.Errorf("%q: lines %q do not give back the input", c.sql, texts)
		}
		if len(got) != len(c.outside) {
			t.Errorf("%q: %d lines, want %d", c.sql, len(got), len(c.outside))
			continue
		}
		for i := range got {
			if got[i] != c.outside[i] {
				t.Errorf("%q: line %d (%q) outside = %v, want %v", c.sql, i+1, texts[i], got[i], c.outside[i])
			}
		}
	}
}

// FuzzSplitEntriesKeepsLiterals puts arbitrary text into every kind of literal pg_dump writes
// (a string, an E” string, a dollar-quoted body, a quoted identifier, a block comment), frames
// the entries as pg_dump does, and checks that splitting gives back exactly those entries —
// whatever "-- Name:" headers, "--" lines or \restrict lines the text holds — both from
// pg_dump's layout and from PostDataSQL's.
func FuzzSplitEntriesKeepsLiterals(f *testing.F) {
	for _, s := range []string{
		"", "plain", "\n--\n-- Name: x; Type: TABLE; Schema: public; Owner: postgres\n--\n",
		"\n-- Name: x; Type: TABLE", "it's \\ \"q\" $$ $q$ */ /*", "\n\\restrict abc\n\\unrestrict abc\n",
		"\n--\n", "a\r\n-- Name: b; Type: INDEX; Schema: -; Owner: -",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag := "$q$"
		for i := 0; strings.Contains(s, tag); i++ {
			tag = "$q" + strings.Repeat("x", i) + "$"
		}
		comment := strings.NewReplacer("/*", "", "*/", "").Replace(s)
		for strings.Contains(comment, "/*") || strings.Contains(comment, "*/") {
			comment = strings.NewReplacer("/*", "", "*/", "").Replace(comment)
		}
		want := []Entry{
			{Name: Name{"public", "t i"}, Type: "INDEX",
				SQL: "CREATE INDEX i ON public.t USING btree (a) WHERE (b <> '" + strings.ReplaceAll(s, "'", "''") + "'::text);"},
			{Name: Name{"public", "INDEX i"}, Type: "COMMENT",
				SQL: "COMMENT ON INDEX public.i IS E'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "';"},
			{Name: Name{"public", "t p"}, Type: "POLICY",
				SQL: `CREATE POLICY "` + strings.ReplaceAll(s, `"`, `""`) + `" ON public.t USING (public.f(` + tag + s + tag + "));"},
			{Name: Name{"", "t r"}, Type: "RULE",
				SQL: "CREATE RULE r AS ON INSERT TO public.t DO INSTEAD NOTHING /* " + comment + " */;"},
		}
		for i := range want {
			want[i].Header = "-- Name: " + want[i].Name.Name + "; Type: " + want[i].Type + "; Schema: " +
				map[bool]string{true: "-", false: want[i].Name.Schema}[want[i].Name.Schema == ""] + "; Owner: postgres"
		}
		var dump strings.Builder
		dump.WriteString("--\n-- PostgreSQL database dump\n--\n\n\\restrict K3y\n\nSET standard_conforming_strings = on;\n")
		for _, e := range want {
			dump.WriteString("\n--\n" + e.Header + "\n--\n\n" + e.SQL + "\n\n")
		}
		dump.WriteString("--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict K3y\n\n")

		check := func(from string, ddl *DDL) {
			t.Helper()
			if ddl.Preamble != "SET standard_conforming_strings = on;\n" {
				t.Fatalf("%s: preamble %q", from, ddl.Preamble)
			}
			if len(ddl.PostData) != len(want) {
				t.Fatalf("%s: %d entries, want %d: %q", from, len(ddl.PostData), len(want), ddl.PostData)
			}
			for i, w := range want {
				if g := ddl.PostData[i]; g != w {
					t.Fatalf("%s: entry %d\n got %q\nwant %q", from, i, g, w)
				}
			}
		}
		ddl := ParseDDL("", dump.String())
		check("pg_dump's layout", ddl)
		check("PostDataSQL", ParseDDL("", ddl.PostDataSQL()))
	})
}
