package pipeline

import (
	"slices"

	"github.com/understudy-dev/understudy/schemas"
)

// ColumnSpan is the smallest and largest value an integer column holds, or will hold, in the
// target.
type ColumnSpan struct{ Min, Max int64 }

// Widen returns the span that covers both s and o.
func (s ColumnSpan) Widen(o ColumnSpan) ColumnSpan {
	return ColumnSpan{Min: min(s.Min, o.Min), Max: max(s.Max, o.Max)}
}

// SequencesPast moves every sequence that feeds a column of spans (schema.table.column; defs
// say, for the target, which columns a sequence feeds and which way it counts) past the
// column's values: an ascending sequence past its largest, a descending one below its
// smallest, so that the next nextval() returns no value the column holds. A sequence
// already past keeps its value. One that has no room left past the values is set to its
// bound: its next nextval() fails ("reached maximum value") rather than returning a key
// that is taken. It is how scaling and rules that rewrite keys keep a staging database's
// inserts working.
func SequencesPast(seqs []SequenceValue, defs map[schemas.Name]schemas.SequenceDef, spans map[string]ColumnSpan) []SequenceValue {
	out := slices.Clone(seqs)
	for i := range out {
		sv := &out[i]
		def, ok := defs[sv.Name]
		if !ok {
			continue
		}
		for _, col := range def.Feeds {
			span, ok := spans[col]
			if !ok {
				continue
			}
			switch {
			case def.Increment > 0 && (sv.LastValue < span.Max || sv.LastValue == span.Max && !sv.IsCalled):
				sv.LastValue, sv.IsCalled = min(span.Max, def.Max), true
			case def.Increment < 0 && (sv.LastValue > span.Min || sv.LastValue == span.Min && !sv.IsCalled):
				sv.LastValue, sv.IsCalled = max(span.Min, def.Min), true
			}
		}
	}
	return out
}

// SequenceValue is a sequence's state, read from the source and set on the target.
type SequenceValue struct {
	Name      schemas.Name
	LastValue int64
	IsCalled  bool
}
