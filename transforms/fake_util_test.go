package transforms

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// Test helpers of the fake-value rules.

const fakeTestKey = "0123456789abcdef-fake"

// fakeText is a text column, unique or not.
func fakeText(unique bool) Column {
	return Column{Table: "public.people", Name: "v", TypeName: "text", BaseOID: pgtype.TextOID, Typmod: -1, Unique: unique}
}

// fakeVarchar is a varchar(n) column, unique or not.
func fakeVarchar(n int, unique bool) Column {
	return Column{Table: "public.people", Name: "v", TypeName: fmt.Sprintf("character varying(%d)", n),
		BaseOID: pgtype.VarcharOID, Typmod: int32(n + 4), Unique: unique}
}

// fakeNew builds a registered rule with the test key.
func fakeNew(tb testing.TB, name, p string, c Column) Transformer {
	tb.Helper()
	tr, err := fakeTry(tb, name, p, c, fakeTestKey)
	if err != nil {
		tb.Fatalf("%s %s on %s: %v", name, p, c.TypeName, err)
	}
	return tr
}

// fakeTry builds a registered rule with key (none if "").
func fakeTry(tb testing.TB, name, p string, c Column, key string) (Transformer, error) {
	tb.Helper()
	env := Env{Column: c, Params: identParams(tb, p)}
	if key != "" {
		k, err := NewKey(key)
		if err != nil {
			tb.Fatal(err)
		}
		env.Key = k
	}
	return Default().New(name, env)
}

// fakeOne runs one value through a rule built on a text column.
func fakeOne(t *testing.T, name, p, in string) string {
	t.Helper()
	return identApply(t, fakeNew(t, name, p, fakeText(false)), in)[0]
}

// fakeCheckCommon checks what every fake-value rule promises beyond the conformance suite
// (transformtest: NULLs, determinism across processes, another key or domain, refusal
// without a key or with a misspelt parameter): String and raw Binary columns give the same
// outputs; a non-text column and a unique column (unless uniqueOK) are refused; no value
// allocates; and the rule works inside json and array rules, giving there what it gives on
// a column.
func fakeCheckCommon(t *testing.T, name, p string, uniqueOK bool, in ...string) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	vals := [][]byte{nil}
	for _, s := range in {
		vals = append(vals, []byte(s))
	}
	col := fakeText(false)
	a := run(t, fakeNew(t, name, p, col), mem, arrow.BinaryTypes.String, vals)
	b := run(t, fakeNew(t, name, p, col), mem, arrow.BinaryTypes.Binary, vals)
	if a[0] != nil || b[0] != nil {
		t.Errorf("NULL became %q", a[0])
	}
	for i := 1; i < len(vals); i++ {
		if a[i] == nil || string(a[i]) != string(b[i]) {
			t.Errorf("%q: %q, then %q", vals[i], a[i], b[i])
		}
	}
	integer := Column{Table: "public.people", Name: "n", TypeName: "integer", BaseOID: pgtype.Int4OID}
	if _, err := fakeTry(t, name, p, integer, fakeTestKey); err == nil || !strings.Contains(err.Error(), name+" writes text; column type integer does not take it") {
		t.Errorf("integer column: %v", err)
	}
	uniq, err := fakeTry(t, name, p, fakeText(true), fakeTestKey)
	switch {
	case !uniqueOK && (err == nil || !strings.Contains(err.Error(), "is unique; use hash, or a template with {#}")):
		t.Errorf("unique column: %v", err)
	case uniqueOK && err != nil:
		t.Errorf("unique column: %v", err)
	case uniqueOK:
		r, _ := AsTextRule(uniq)
		if u, ok := r.(UniqueSafe); !ok || !u.UniqueSafe() {
			t.Errorf("%s on a unique column does not claim uniqueness", name)
		}
		if u, ok := uniq.(UniqueSafe); ok && !u.UniqueSafe() {
			t.Errorf("%s on a unique column does not claim uniqueness", name)
		}
	}
	if r, ok := AsTextRule(fakeNew(t, name, p, col)); ok {
		if u, ok := r.(UniqueSafe); ok && u.UniqueSafe() {
			t.Errorf("%s on a column that is not unique claims uniqueness", name)
		}
	}

	// No allocation per value once the buffer has grown.
	r, ok := AsTextRule(fakeNew(t, name, p, col))
	if !ok {
		t.Fatal("not a TextRule")
	}
	k := NewKeyed(r.Subkey())
	buf := make([]byte, 0, 1024)
	for _, s := range in {
		v := []byte(s)
		if allocs := testing.AllocsPerRun(20, func() { k.Seed(v); buf, _ = r.Text(k, buf[:0], v) }); allocs != 0 {
			t.Errorf("%q: %v allocations per value", s, allocs)
		}
	}

	// Inside a json document the rule gives what it gives on a column.
	spec := name
	if p != "" {
		spec = p
	}
	js := fakeNew(t, "json", `{transform: json, paths: {"$.v": `+spec+`}}`, col)
	docs := make([][]byte, len(in))
	for i, s := range in {
		docs[i], _ = json.Marshal(map[string]string{"v": s})
	}
	for i, o := range run(t, js, mem, arrow.BinaryTypes.String, docs) {
		var got map[string]string
		if err := json.Unmarshal(o, &got); err != nil || got["v"] != string(a[i+1]) {
			t.Errorf("json: %s → %s (%v), want %q as on a column", docs[i], o, err, a[i+1])
		}
	}
	arr := Column{Table: "public.people", Name: "tags", TypeName: "text[]", BaseOID: pgtype.TextArrayOID, Typmod: -1}
	fakeNew(t, "array", "{transform: array, element: "+spec+"}", arr)
}

// fakeBench measures a rule over 8192 values on a text column (unique or not), reporting
// ns/value and allocations per batch. The column is raw wire bytes (Binary), the form the
// pipeline hands a text rule by default; the allocations per batch are then the builder's,
// none per value.
func fakeBench(b *testing.B, name, p string, unique bool, gen func(i int) string) {
	mem := memory.NewGoAllocator()
	tr := fakeNew(b, name, p, fakeText(unique))
	vals := make([][]byte, 8192)
	for i := range vals {
		vals[i] = []byte(gen(i))
	}
	rec := batch(mem, arrow.BinaryTypes.Binary, vals)
	defer rec.Release()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := tr.Transform(rec, 0, mem)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
}

// fakeInputs are n distinct inputs built by f.
func fakeInputs(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// fakeIn reports whether w is one of list.
func fakeIn(list [][]byte, w string) bool {
	for _, x := range list {
		if string(x) == w {
			return true
		}
	}
	return false
}

// The word lists are those of the pinned gofakeit release: a release that edits them
// changes every fake value, which should be a decision, not a side effect of an upgrade.
func TestFakeWordListsArePinned(t *testing.T) {
	h := sha256.New()
	for _, l := range [][][]byte{fakeFirstNames, fakeLastNames, fakeFirstSlugs, fakeLastSlugs, fakeCities,
		fakeStreetPrefixes, fakeStreetTypes, fakeNameEndings, fakeCountries, fakeCountryAlpha2, fakeCountryAlpha3,
		fakeCompanySuffixes, fakeJobDescriptors, fakeJobLevels, fakeJobTitles, fakeNouns, fakeLinuxCPUs,
		fakeLorem.words, fakeEmailDomains, fakeHostSuffixes, fakeWindowsPlatforms, fakeAndroidDevices} {
		fmt.Fprintf(h, "%d\n", len(l))
		for _, w := range l {
			h.Write(w)
			h.Write([]byte{0})
		}
	}
	const want = "38f2d883f5697154fd943fac9a92bd3ca161ee9538edee1d2f5511e5aa3d3631"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("the word lists changed (digest %s, want %s): fake values change with them; if that is intended, update the digest and say so in the release notes", got, want)
	}
	if len(fakeCountries) != len(fakeCountryAlpha2) || len(fakeCountryAlpha2) != len(fakeCountryAlpha3) {
		t.Errorf("%d countries, %d alpha-2 and %d alpha-3 codes", len(fakeCountries), len(fakeCountryAlpha2), len(fakeCountryAlpha3))
	}
	for _, l := range [][][]byte{fakeFirstSlugs, fakeLastSlugs, fakeNouns} {
		for _, w := range l {
			if len(w) == 0 || strings.Trim(string(w), "abcdefghijklmnopqrstuvwxyz") != "" {
				t.Errorf("slug %q is not lower-case ASCII letters", w)
			}
		}
	}
}

func TestFakeCase(t *testing.T) {
	for in, want := range map[string]byte{"JOHN": 'u', "john": 'l', "John": 0, "J": 0, "j": 0, "": 0,
		"O'BRIEN-SMITH": 'u', "ÉLODIE": 'u', "élodie": 'l', "42": 0, "J.": 0} {
		if got := fakeCase([]byte(in)); got != want {
			t.Errorf("fakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
