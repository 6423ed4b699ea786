package when

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// FuzzParse: no input makes the parser, the binder or the evaluator panic; whatever parses
// prints in a canonical form that parses back to itself, and in a SQL form that parses back
// to the same condition.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"country = 'DE'",
		"status IN ('closed', 'banned') AND notes IS NOT NULL",
		`"Mixed Case" LIKE 'a\_b%' OR NOT (age >= -18.5 AND active = TRUE)`,
		"amount > 12.5001 AND born < '2000-01-01' AND seentz = '2024-01-01 10:00Z'",
		"id IN ('01010101-0101-0101-0101-010101010101') OR at <= '24:00' OR code <> 'DE  '",
		"email NOT LIKE '%@X.ORG' AND mood NOT IN ('sad') AND score <> 0.1 AND ratio > .5",
		"user = 'x' AND order > 3 OR \"select\" IS NULL",
		"((a)", "a = 'it''s'", `"a""b" IS NULL`, "x = 1e5", "a != !", "1.2.3", "'unterminated",
	} {
		f.Add(s)
	}
	mem := memory.NewGoAllocator()
	native, wire := testRecords(f, mem)
	cols := bindCols()
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q): error %T, want *Error", s, err)
			}
			return
		}
		canon := e.String()
		e2, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if e2.String() != canon {
			t.Fatalf("canonical form %q of %q reads back as %q", canon, s, e2.String())
		}
		if e3, err := Parse(e.SQL()); err != nil || e3.String() != canon {
			t.Fatalf("SQL form %q of %q does not read back as %q: %v", e.SQL(), s, canon, err)
		}
		c, err := e.Bind(cols)
		if err != nil {
			return
		}
		selN, errN := c.Select(native, nil)
		selW, errW := c.Select(wire, nil)
		if errN != nil || errW != nil {
			t.Fatalf("%q: Select: %v / %v", s, errN, errW)
		}
		for i := 0; i < int(native.NumRows()); i++ {
			if selN.Has(i) != selW.Has(i) {
				t.Fatalf("%q: row %d is %v on native columns but %v on wire bytes", s, i, selN.Has(i), selW.Has(i))
			}
		}
	})
}
