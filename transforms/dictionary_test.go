package transforms

import (
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

func dictCol(typeName string, oid uint32, typmod int32) Column {
	return Column{Table: "public.t", Name: "city", TypeName: typeName, BaseOID: oid, Typmod: typmod}
}

// Mapped texts are replaced (exact match: case and spaces count); the others are kept, made
// NULL or set to the default; NULL stays NULL; a varchar(n) column gets values cut to n
// characters. String and raw columns agree.
func TestDictionaryMapsAndDefaults(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	text := dictCol("text", pgtype.TextOID, -1)
	const null = "\xffNULL" // a NULL, in the lists below
	withNull := []string{"Paris", "Berlin", "Rome", "paris", "Paris ", "", "\x00", "keep", "Zürich", null}
	for _, tc := range []struct {
		name string
		col  Column
		p    string
		want []string // null for NULL
	}{
		{"default keep", text, "{map: {Paris: Lyon, Berlin: Hamburg}}",
			[]string{"Lyon", "Hamburg", "Rome", "paris", "Paris ", "", "\x00", "keep", "Zürich", null}},
		{"explicit keep", text, "{map: {Paris: Lyon}, default: keep}",
			[]string{"Lyon", "Berlin", "Rome", "paris", "Paris ", "", "\x00", "keep", "Zürich", null}},
		{"default null", text, "{map: {Paris: Lyon, Rome: Rome}, default: null}",
			[]string{"Lyon", null, "Rome", null, null, null, null, null, null, null}},
		{"default ~", text, "{map: {Paris: Lyon}, default: ~}",
			[]string{"Lyon", null, null, null, null, null, null, null, null, null}},
		{"default value", text, "{map: {Paris: Lyon}, default: Elsewhere}",
			[]string{"Lyon", "Elsewhere", "Elsewhere", "Elsewhere", "Elsewhere", "Elsewhere", "Elsewhere", "Elsewhere", "Elsewhere", null}},
		{"the word keep, quoted", text, `{map: {Paris: Lyon}, default: "keep"}`,
			[]string{"Lyon", "keep", "keep", "keep", "keep", "keep", "keep", "keep", "keep", null}},
		{"empty default", text, `{map: {Paris: Lyon}, default: ""}`,
			[]string{"Lyon", "", "", "", "", "", "", "", "", null}},
		{"mapped to NULL", text, "{map: {Paris: ~, Berlin: null, Rome: Milan}}",
			[]string{null, null, "Milan", "paris", "Paris ", "", "\x00", "keep", "Zürich", null}},
		{"non-ASCII and odd keys", text, `{map: {"Zürich": "Genève", "": empty, "Paris ": spaced}}`,
			[]string{"Paris", "Berlin", "Rome", "paris", "spaced", "empty", "\x00", "keep", "Genève", null}},
		// varchar(4): mapped and default values are cut to 4 characters, kept ones are
		// already short enough.
		{"varchar(4)", dictCol("character varying(4)", pgtype.VarcharOID, 8), "{map: {Paris: Lyon, Berlin: Hamburg, Rome: Zürich}}",
			[]string{"Lyon", "Hamb", "Züri", "pari", "Pari", "", "\x00", "keep", "Züri", null}},
		{"varchar(4) with NULLs", dictCol("character varying(4)", pgtype.VarcharOID, 8), "{map: {Paris: ~, Berlin: Hamburg}, default: Elsewhere}",
			[]string{null, "Hamb", "Else", "Else", "Else", "Else", "Else", "Else", "Else", null}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := shapeNew(t, "dictionary", tc.col, nil, params(t, tc.p))
			vals := make([][]byte, len(withNull))
			for i, s := range withNull {
				if s != null {
					vals[i] = []byte(s)
				}
			}
			for _, dt := range []arrow.BinaryDataType{arrow.BinaryTypes.String, arrow.BinaryTypes.Binary} {
				got := run(t, tr, mem, dt, vals)
				for i, w := range tc.want {
					if w == null {
						if got[i] != nil {
							t.Errorf("%s: %q became %q, want NULL", dt, withNull[i], got[i])
						}
						continue
					}
					if got[i] == nil || string(got[i]) != w {
						t.Errorf("%s: %q became %q, want %q", dt, withNull[i], got[i], w)
					}
				}
			}
		})
	}
}

// A char(n) value arrives padded with spaces to n; it still matches its key, as it does in
// PostgreSQL ('Paris'::char(10) = 'Paris'), and an unmatched value is kept padded.
func TestDictionaryMatchesPaddedChar(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	char10 := dictCol("character(10)", pgtype.BPCharOID, 14)
	in := [][]byte{[]byte("Paris     "), []byte("Rome      "), []byte("Berlin    "), nil, []byte("          ")}
	for _, tc := range []struct {
		p    string
		want []any // nil for NULL
	}{
		{"{map: {Paris: Lyon, Berlin: Hamburg}}", []any{"Lyon", "Rome      ", "Hamburg", nil, "          "}},
		{`{map: {"Paris  ": Lyon, Rome: ~, "": blank}}`, []any{"Lyon", nil, "Berlin    ", nil, "blank"}},
	} {
		got := run(t, shapeNew(t, "dictionary", char10, nil, params(t, tc.p)), mem, arrow.BinaryTypes.Binary, in)
		for i, w := range tc.want {
			if w == nil && got[i] != nil || w != nil && (got[i] == nil || string(got[i]) != w) {
				t.Errorf("%s: %q became %q, want %v", tc.p, in[i], got[i], w)
			}
		}
	}
	// Keys equal but for trailing spaces are the same key in char(n).
	if got := shapeErr(t, "dictionary", char10, nil, `{map: {a: x, "a ": y}}`); !strings.Contains(got, `"a " is mapped twice`) {
		t.Errorf("got %q", got)
	}
	// A permutation stays one when its values carry the padding.
	uniq := char10
	uniq.Unique = true
	shapeNew(t, "dictionary", uniq, nil, params(t, `{map: {a: "b ", b: a}}`))
}

// Without NULL outcomes the dictionary is a text rule, usable inside json and array; with
// them it is not, and says so.
func TestDictionaryAsATextRule(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tr := shapeNew(t, "json", shapeCol("jsonb", pgtype.JSONBOID), nil, params(t, `{paths: {"$.city": {transform: dictionary, map: {Paris: Lyon}, default: Other}}}`))
	got := run(t, tr, mem, arrow.BinaryTypes.String, [][]byte{[]byte(`{"city": "Paris"}`), []byte(`{"city": "Rome"}`)})
	if string(got[0]) != `{"city": "Lyon"}` || string(got[1]) != `{"city": "Other"}` {
		t.Errorf("dictionary in json: %q", got)
	}
	_, err := shapeRegistry().New("json", Env{Column: shapeCol("jsonb", pgtype.JSONBOID), Params: params(t, `{paths: {"$.city": {transform: dictionary, map: {Paris: ~}}}}`)})
	if err == nil || !strings.Contains(err.Error(), "does not rewrite text values one by one") {
		t.Errorf("a dictionary with NULL outcomes in json: %v", err)
	}
}

// On a unique column only a map that permutes its own keys, the rest kept, is accepted, and
// it then says it keeps values unique.
func TestDictionaryOnUniqueColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	uniq := dictCol("text", pgtype.TextOID, -1)
	uniq.Unique = true
	tr := shapeNew(t, "dictionary", uniq, nil, params(t, "{map: {a: b, b: c, c: a}}"))
	if u, ok := tr.(UniqueSafe); !ok || !u.UniqueSafe() {
		t.Fatal("a permutation of its own keys does not claim uniqueness")
	}
	in := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), nil}
	got := run(t, tr, mem, arrow.BinaryTypes.Binary, in)
	if string(got[0]) != "b" || string(got[1]) != "c" || string(got[2]) != "a" || string(got[3]) != "d" || got[4] != nil {
		t.Errorf("permutation gave %q", got)
	}
	// Accepted on a varchar(3) too, when every value fits.
	vc := dictCol("character varying(3)", pgtype.VarcharOID, 7)
	vc.Unique = true
	shapeNew(t, "dictionary", vc, nil, params(t, "{map: {abc: xyz, xyz: abc}}"))

	for _, tc := range []struct {
		col  Column
		p    string
		want string
	}{
		{uniq, "{map: {a: b}}", "column city is unique"},                                 // b then appears twice
		{uniq, "{map: {a: b, b: a}, default: x}", "column city is unique"},               // everything else becomes x
		{uniq, "{map: {a: b, b: a}, default: ~}", "column city is unique"},               // NULL outcomes
		{uniq, "{map: {a: c, b: c, c: a}}", "column city is unique"},                     // two keys to one value
		{uniq, "{map: {a: b, b: a, c: ~}}", "column city is unique"},                     // a NULL outcome
		{vc, "{map: {a: abcd, abcd: a}}", "longer than the 3 characters of column city"}, // cut to "abc", which may be kept
	} {
		if got := shapeErr(t, "dictionary", tc.col, nil, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

func TestDictionaryRefusals(t *testing.T) {
	text := dictCol("text", pgtype.TextOID, -1)
	notNull := text
	notNull.NotNull = true
	for _, tc := range []struct {
		col  Column
		p    string
		want string
	}{
		{shapeInt4Col, "{map: {a: b}}", "column type integer does not take it"},
		{text, "", "dictionary needs map"},
		{text, "{map: {}}", "dictionary needs map"},
		{text, "{map: [a, b]}", "dictionary needs map"},
		{text, "{map: {~: b}}", "a key is a text value"},
		{text, "{map: {a: [b]}}", `"a" maps to a text value or null`},
		{text, "{map: {a: b, a: c}}", `"a" is mapped twice`},
		{text, "{map: {a: b}, default: [x]}", "default: line 1: use keep, null or a text value"},
		{notNull, "{map: {a: ~}}", "column city is NOT NULL"},
		{notNull, "{map: {a: b}, default: null}", "column city is NOT NULL"},
		{text, "{map: {a: b}, defualt: keep}", `did you mean "default"`},
	} {
		if got := shapeErr(t, "dictionary", tc.col, nil, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

func dictBenchValues() []any {
	cities := []string{"Paris", "Berlin", "Rome", "Madrid", "Lisbon", "Vienna", "Prague", "Warsaw", "Oslo", "Dublin", "Nowhere"}
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = cities[i%len(cities)]
	}
	return vals
}

const dictBenchMap = "{map: {Paris: Lyon, Berlin: Hamburg, Rome: Milan, Madrid: Seville, Lisbon: Porto, Vienna: Graz, Prague: Brno, Warsaw: Krakow, Oslo: Bergen, Dublin: Cork}"

func BenchmarkDictionary(b *testing.B) {
	tr := shapeNew(b, "dictionary", dictCol("text", pgtype.TextOID, -1), nil, shapeParamsTB(b, dictBenchMap+"}"))
	shapeBench(b, tr, arrow.BinaryTypes.Binary, dictBenchValues())
}

func BenchmarkDictionaryWithNulls(b *testing.B) {
	tr := shapeNew(b, "dictionary", dictCol("character varying(5)", pgtype.VarcharOID, 9), nil, shapeParamsTB(b, dictBenchMap+", default: null}"))
	shapeBench(b, tr, arrow.BinaryTypes.Binary, dictBenchValues())
}
