package pipeline

import (
	"math"
	"testing"

	"github.com/understudy-dev/understudy/schemas"
)

// SequencesPast leaves the next nextval() outside the column's values, whichever way the
// sequence counts and whether or not it was ever called; it never moves a sequence back,
// never past its bound, and never one that feeds no column it is told about.
func TestSequencesPast(t *testing.T) {
	up := schemas.SequenceDef{Increment: 1, Min: 1, Max: math.MaxInt32, Feeds: []string{"public.t.id"}}
	down := schemas.SequenceDef{Increment: -1, Min: math.MinInt32, Max: -1, Feeds: []string{"public.t.id"}}
	other := schemas.SequenceDef{Increment: 1, Min: 1, Max: math.MaxInt64, Feeds: []string{"public.u.id"}}
	span := map[string]ColumnSpan{"public.t.id": {Min: -2_000_000_000, Max: 2_000_000_000}}
	for _, c := range []struct {
		name       string
		def        schemas.SequenceDef
		in, want   SequenceValue
		spanMaxTop bool
	}{
		{"ascending, behind", up, SequenceValue{LastValue: 200, IsCalled: true}, SequenceValue{LastValue: 2_000_000_000, IsCalled: true}, false},
		{"ascending, at the max but never called", up, SequenceValue{LastValue: 2_000_000_000}, SequenceValue{LastValue: 2_000_000_000, IsCalled: true}, false},
		{"ascending, already past", up, SequenceValue{LastValue: 2_100_000_000}, SequenceValue{LastValue: 2_100_000_000}, false},
		{"descending, behind", down, SequenceValue{LastValue: -200, IsCalled: true}, SequenceValue{LastValue: -2_000_000_000, IsCalled: true}, false},
		{"descending, already past", down, SequenceValue{LastValue: -2_100_000_000, IsCalled: true}, SequenceValue{LastValue: -2_100_000_000, IsCalled: true}, false},
		{"feeds another column", other, SequenceValue{LastValue: 5, IsCalled: true}, SequenceValue{LastValue: 5, IsCalled: true}, false},
		{"no room left: at the bound", up, SequenceValue{LastValue: 5, IsCalled: true}, SequenceValue{LastValue: math.MaxInt32, IsCalled: true}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := schemas.Name{Schema: "public", Name: "t_id_seq"}
			c.in.Name, c.want.Name = n, n
			spans := span
			if c.spanMaxTop {
				spans = map[string]ColumnSpan{"public.t.id": {Min: 0, Max: math.MaxInt64}}
			}
			got := SequencesPast([]SequenceValue{c.in}, map[schemas.Name]schemas.SequenceDef{n: c.def}, spans)
			if got[0] != c.want {
				t.Errorf("got %+v, want %+v", got[0], c.want)
			}
		})
	}
}
