package report

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/pii"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/transforms"
)

// PersonalColumn is a column that holds personal data, and why. A report prints none of its
// values unless asked to, and judges it by its Shape only (see Tolerances).
type PersonalColumn struct {
	Column string `json:"column"` // schema.table.column
	// Rule is the rule that rewrites it: its own, or the one of the key it follows (Follows);
	// "" for a column that only the PII detector flags.
	Rule    string `json:"rule,omitempty"`
	Follows string `json:"follows,omitempty"`
	// Unique: the rule's output is collision-free (transforms.UniqueSafe), so distinct values
	// stay distinct.
	Unique bool `json:"unique,omitempty"`
	// When is the rule's condition, if it has one: the other rows keep their real values.
	When string `json:"when,omitempty"`
	// Detected says why the PII detector flags the column ("email: its name"), if it does.
	Detected string `json:"detected,omitempty"`
}

// FindPersonal returns the personal columns of the database on conn, sorted: every column a
// rule of cfg rewrites — its own rule, or one it follows through a foreign key or a declared
// reference, exactly as a sync's plan follows them (pipeline.BuildPlan) — and every column the
// PII detector flags by its name or a sample of its values, with or without a rule, marked
// keep or not. cfg may be nil: then the detector alone decides. It reads the catalog and at
// most pii.SampleRows rows per table.
func FindPersonal(ctx context.Context, conn *pgx.Conn, cfg *config.Config) ([]PersonalColumn, error) {
	cat, err := schemas.LoadCatalog(ctx, conn)
	if err != nil {
		return nil, err
	}
	byName := map[string]*PersonalColumn{}
	get := func(t schemas.Name, col string) *PersonalColumn {
		name := t.String() + "." + col
		if byName[name] == nil {
			byName[name] = &PersonalColumn{Column: name}
		}
		return byName[name]
	}
	if cfg != nil {
		// The rules are bound only to learn which columns they cover: no value is rewritten,
		// so a throwaway key does (the report never needs the real one).
		plan, err := pipeline.BuildPlan(cat, cfg, pipeline.PlanOptions{Key: transforms.NewRandomKey(),
			Literal: func(col schemas.Column, text string) ([]byte, error) { return literal(ctx, conn, col, text) }})
		if err != nil {
			return nil, err
		}
		for _, tp := range plan.Tables {
			for _, r := range tp.Rules {
				p := get(tp.Name, r.Column.Name)
				p.Rule, p.Follows = r.Rule, r.Follows
				if u, ok := r.Transformer.(transforms.UniqueSafe); ok && u.UniqueSafe() {
					p.Unique = true
				}
				if r.When != nil {
					p.When = r.When.String()
				}
			}
		}
	}
	found, err := pii.Detect(ctx, conn, cat.Tables, nil)
	if err != nil {
		return nil, err
	}
	for _, f := range found {
		get(f.Table, f.Column).Detected = f.Category + ": " + f.Reason
	}
	out := make([]PersonalColumn, 0, len(byName))
	for _, p := range byName {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Column < out[j].Column })
	return out, nil
}

// literal encodes a config value as the column type's binary form, as the server reads it.
func literal(ctx context.Context, conn *pgx.Conn, col schemas.Column, text string) ([]byte, error) {
	res := conn.PgConn().ExecParams(ctx, "SELECT $1", [][]byte{[]byte(text)}, []uint32{col.TypeOID}, []int16{0}, []int16{1}).Read()
	if res.Err != nil {
		return nil, res.Err
	}
	if len(res.Rows) != 1 || res.Rows[0][0] == nil {
		return nil, fmt.Errorf("the value is NULL")
	}
	return append([]byte(nil), res.Rows[0][0]...), nil
}

// mergePersonal joins the source's list (rules and detector) with the target's (detector
// only): a column either side flags is personal on both.
func mergePersonal(src, dst []PersonalColumn) []PersonalColumn {
	out := append([]PersonalColumn(nil), src...)
	have := map[string]int{}
	for i, p := range out {
		have[p.Column] = i
	}
	for _, p := range dst {
		if i, ok := have[p.Column]; ok {
			if out[i].Detected == "" {
				out[i].Detected = p.Detected + " (in the target)"
			}
			continue
		}
		p.Detected += " (in the target)"
		have[p.Column] = len(out)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Column < out[j].Column })
	return out
}
