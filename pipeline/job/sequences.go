package job

import (
	"context"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/pgsink"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/schemas"
)

// Where a copy's sequences end. Each starts at the source's value, read when the rows were
// (a snapshot records it in its manifest). A sequence that feeds a key scaling moved is
// moved past the last copy, from the plan alone (sourceSequences, and targetSequences again
// for a restore that scales). A sequence that feeds a column a rule rewrote (permute on a
// serial key, say) is moved past the values the column holds once loaded, read from the
// target (targetSequences): a keyed rule spreads the values over the type's whole range,
// and only the loaded rows tell where they end. Both go through pipeline.SequencesPast.

// sourceSequences reads the source's sequences, those behind scaled keys moved past the
// last copy.
func sourceSequences(ctx context.Context, src *pgsource.Source, plan *pipeline.Plan) ([]pipeline.SequenceValue, error) {
	seqs, err := src.Sequences(ctx)
	if err != nil || plan.Scale <= 1 {
		return seqs, err
	}
	defs, err := schemas.SequenceDefs(ctx, src.Querier())
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	return pipeline.SequencesPast(seqs, defs, plan.ScaleSpans()), nil
}

// targetSequences moves the sequences of a loaded target past what its columns now hold:
// past the last scaled copy of a key, and past the loaded values of every integer column
// that a rule rewrote (ruled: per table, the columns) and a sequence feeds. Run it after the
// rows are in and before the sink's Finish sets the sequences.
func targetSequences(ctx context.Context, dst *pgsink.Sink, plan *pipeline.Plan, seqs []pipeline.SequenceValue, ruled map[schemas.Name][]string) ([]pipeline.SequenceValue, error) {
	defs, err := schemas.SequenceDefs(ctx, dst.Querier())
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	fed := map[string]bool{}
	for _, d := range defs {
		for _, col := range d.Feeds {
			fed[col] = true
		}
	}
	stats := pipeline.SQLStats{Q: dst.Querier(), Side: "target"}
	loaded := map[string]pipeline.ColumnSpan{}
	for _, tp := range plan.Tables {
		for _, name := range ruled[tp.Name] {
			// A sequence feeds a partitioned table's column; its leaves hold the rows.
			col := tp.Root().Name.String() + "." + name
			c := tp.Table.Column(name)
			if !fed[col] || c == nil || !integer(c.BaseOID) {
				continue
			}
			lo, hi, ok, err := stats.IntRange(ctx, tp.Table, name)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue // no rows: nothing to pass
			}
			span := pipeline.ColumnSpan{Min: lo, Max: hi}
			if s, seen := loaded[col]; seen {
				span = span.Widen(s)
			}
			loaded[col] = span
		}
	}
	spans := plan.ScaleSpans()
	maps.Copy(spans, loaded) // a rule ran after the move: the loaded values are the truth
	return pipeline.SequencesPast(seqs, defs, spans), nil
}

func integer(oid uint32) bool {
	return oid == pgtype.Int2OID || oid == pgtype.Int4OID || oid == pgtype.Int8OID
}

// ruledColumns lists, per table of a plan of the source, the columns its rules rewrite.
func ruledColumns(plan *pipeline.Plan) map[schemas.Name][]string {
	out := map[schemas.Name][]string{}
	for _, tp := range plan.Tables {
		for _, r := range tp.Rules {
			out[tp.Name] = append(out[tp.Name], r.Column.Name)
		}
	}
	return out
}

// snapshotSequences is where a restore's sequences end: the values the snapshot recorded,
// moved past what the snapshot's rules (its manifest names them per column) and the
// restore's scaling wrote.
func snapshotSequences(ctx context.Context, dst *pgsink.Sink, plan *pipeline.Plan, m *snapshot.Manifest) ([]pipeline.SequenceValue, error) {
	seqs := make([]pipeline.SequenceValue, len(m.Sequences))
	for i, s := range m.Sequences {
		seqs[i] = pipeline.SequenceValue{Name: s.Name, LastValue: s.LastValue, IsCalled: s.IsCalled}
	}
	ruled := map[schemas.Name][]string{}
	for _, t := range m.Tables {
		for col := range t.Rules {
			ruled[t.Name] = append(ruled[t.Name], col)
		}
	}
	return targetSequences(ctx, dst, plan, seqs, ruled)
}
