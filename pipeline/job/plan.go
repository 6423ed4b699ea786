package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
	"github.com/understudy-dev/understudy/pipeline/pii"
	"github.com/understudy-dev/understudy/pipeline/postgres"
	"github.com/understudy-dev/understudy/pipeline/when"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
	"github.com/understudy-dev/understudy/transforms"
)

// PlanOptions configure Plan.
type PlanOptions struct {
	Source config.DSN
	// Rules as a sync or snapshot would apply them (Scale above 0 overrides the config's
	// factor, as their --scale does).
	Rules
	Samples int  // rows shown before → after per table with rules
	Strict  bool // any warning fails
	// ShowValues prints the samples' production values as they are: the "before" of every
	// rule, and the rows a rule's condition leaves alone. Without it they are masked
	// (pii.Mask), so that plan output in a CI log holds none. The CLI sets it on a terminal
	// or with --show-values.
	ShowValues bool
	Out        io.Writer
}

// Plan shows, without writing anything anywhere, what a sync or snapshot with this config
// would do: per table and column the type, the rule, the columns it follows or that follow
// it, and sample rows before → after, transformed exactly as a run would (the production
// values before masked unless ShowValues). Warnings: columns
// that look personal and have no rule, and unique columns under a rule that does not keep
// them unique. With Strict, a warning is an error (exit code 4).
func Plan(ctx context.Context, o PlanOptions) (warnings int, err error) {
	src, err := pgsource.Open(ctx, o.Source.Value())
	if err != nil {
		return 0, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	plan, err := pipeline.BuildPlan(src.Catalog(), o.Config, pipeline.PlanOptions{Registry: o.Registry, Key: o.Key,
		Literal: func(col schemas.Column, text string) ([]byte, error) { return src.Literal(ctx, col, text) }})
	if err != nil {
		return 0, err
	}
	// What a sync would be refused for, plan is refused for.
	if err := checkSource(ctx, src, plan); err != nil {
		return 0, err
	}
	if err := shapeRows(ctx, src, plan, o.Rules); err != nil {
		return 0, err
	}
	var warn []string
	byName := map[schemas.Name]*pipeline.TablePlan{}
	var tables []*schemas.Table
	for _, tp := range plan.Tables {
		byName[tp.Name] = tp
		tables = append(tables, tp.Table)
		for _, r := range tp.Rules {
			if tp.Table.IsUnique(r.Column.Name) {
				if u, ok := r.Transformer.(transforms.UniqueSafe); !ok || !u.UniqueSafe() {
					warn = append(warn, fmt.Sprintf("%s.%s is unique, and rule %s does not guarantee unique output", tp.Name, r.Column.Name, r.Rule))
				} else if r.When != nil {
					// Unique output among the rewritten rows says nothing about the rows the
					// condition leaves as they are: a new value can equal one of theirs.
					warn = append(warn, fmt.Sprintf("%s.%s is unique, and rule %s rewrites only the rows where %s: a new value can collide with a row left unchanged", tp.Name, r.Column.Name, r.Rule, r.When))
				}
			}
		}
	}
	// The same judgement as sync's guard: a rule that copies some values as they are (a
	// dictionary that keeps unlisted values) does not cover a personal column.
	found, err := pii.Detect(ctx, src.Querier(), tables, func(t schemas.Name, col string) bool { return byName[t].Masked(col) })
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	for _, f := range found {
		if p := byName[f.Table].Passthrough(f.Column); p != "" {
			warn = append(warn, fmt.Sprintf("%s.%s looks like %s (%s), but its rule does not cover it: %s; suggested: %s", f.Table, f.Column, f.Category, f.Reason, p, f.Suggest))
			continue
		}
		warn = append(warn, fmt.Sprintf("%s.%s looks like %s (%s) and has no rule; suggested: %s", f.Table, f.Column, f.Category, f.Reason, f.Suggest))
	}
	// A personal column whose rule has a condition is copied as it is in the other rows: the
	// guard lets it pass (somebody decided so), plan says it.
	conditional := func(t schemas.Name, col string) bool {
		for _, r := range byName[t].Rules {
			if r.Column.Name == col {
				return r.When != nil
			}
		}
		return false
	}
	partly, err := pii.Detect(ctx, src.Querier(), tables, func(t schemas.Name, col string) bool { return !conditional(t, col) })
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	for _, f := range partly {
		var cond string
		for _, r := range byName[f.Table].Rules {
			if r.Column.Name == f.Column {
				cond = r.When.String()
			}
		}
		warn = append(warn, fmt.Sprintf("%s.%s looks like %s (%s), and its rule rewrites only the rows where %s: the others are copied as they are", f.Table, f.Column, f.Category, f.Reason, cond))
	}

	followers := map[string][]string{}
	for _, tp := range plan.Tables {
		for _, r := range tp.Rules {
			if r.Follows != "" {
				followers[r.Follows] = append(followers[r.Follows], tp.Name.String()+"."+r.Column.Name)
			}
		}
	}
	w := o.Out
	fmt.Fprintf(w, "%d tables to copy, %d skipped; rules on %d columns.\n", len(plan.Tables), len(plan.Skipped), countRules(plan))
	for _, tp := range plan.Tables {
		if len(tp.Rules) == 0 && len(tp.Kept) == 0 {
			continue
		}
		if tp.EstRows > 0 {
			fmt.Fprintf(w, "\n%s (about %d rows)\n", tp.Name, tp.EstRows)
		} else {
			fmt.Fprintf(w, "\n%s\n", tp.Name)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		// A WHEN column appears only in tables with a conditional rule.
		conditional := false
		for _, r := range tp.Rules {
			conditional = conditional || r.When != nil
		}
		if conditional {
			fmt.Fprintln(tw, "  COLUMN\tTYPE\tRULE\tWHEN\tKEYS")
		} else {
			fmt.Fprintln(tw, "  COLUMN\tTYPE\tRULE\tKEYS")
		}
		for _, c := range tp.Columns {
			rule, cond, keys := "", "", ""
			if tp.Kept[c.Name] {
				rule = "keep"
			}
			for _, r := range tp.Rules {
				if r.Column.Name == c.Name {
					rule = r.Rule
					if r.When != nil {
						cond = r.When.String()
					}
					if r.Follows != "" {
						keys = "follows " + r.Follows
					}
				}
			}
			if f := followers[tp.Name.String()+"."+c.Name]; len(f) > 0 {
				sort.Strings(f)
				keys = strings.TrimSpace(keys + " followed by " + strings.Join(f, ", "))
			}
			switch {
			case rule == "":
			case conditional:
				if cond == "" && rule != "keep" {
					cond = "(all rows)"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Name, c.TypeName, rule, cond, keys)
			default:
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Name, c.TypeName, rule, keys)
			}
		}
		tw.Flush()
		if len(tp.Rules) > 0 && o.Samples > 0 && !tp.TextFormat {
			if err := showSamples(ctx, w, src, tp, o.Samples, o.ShowValues); err != nil {
				return 0, err
			}
		}
	}
	showSubset(w, plan)
	showScale(w, plan)
	if len(warn) > 0 {
		fmt.Fprintf(w, "\n%d warning(s):\n", len(warn))
		for _, m := range warn {
			fmt.Fprintf(w, "  - %s\n", m)
		}
	}
	if o.Strict && len(warn) > 0 {
		return len(warn), failure.Errorf(failure.ExitUnsafe, "fix them, or run plan without --strict", "%d warning(s) under --strict", len(warn))
	}
	return len(warn), nil
}

// showSubset lists, for a subset, how many rows of each restricted table are kept.
func showSubset(w io.Writer, plan *pipeline.Plan) {
	var restricted []*pipeline.TablePlan
	for _, tp := range plan.Tables {
		if tp.Subset {
			restricted = append(restricted, tp)
		}
	}
	if len(restricted) == 0 {
		return
	}
	sort.Slice(restricted, func(i, j int) bool { return restricted[i].Name.String() < restricted[j].Name.String() })
	fmt.Fprintf(w, "\nSubset: %d table(s) restricted to the rows the seeds and their foreign keys need; the others are copied whole.\n", len(restricted))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TABLE\tROWS KEPT\tOF ABOUT")
	for _, tp := range restricted {
		fmt.Fprintf(tw, "  %s\t%d\t%d\n", tp.Name, tp.KeptRows, max(tp.EstRows, 0))
	}
	tw.Flush()
}

// showScale lists, for a scaled plan, the tables copied once and how each scaled table's
// keys move in copies 1 and up.
func showScale(w io.Writer, plan *pipeline.Plan) {
	if plan.Scale <= 1 {
		return
	}
	var shared []string
	for _, tp := range plan.Tables {
		if tp.Copies <= 1 {
			shared = append(shared, tp.Name.String())
		}
	}
	fmt.Fprintf(w, "\nScaled ×%d: every table but %d shared (%s) gets %d copies of each row.\n", plan.Scale, len(shared), strings.Join(shared, ", "), plan.Scale)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TABLE\tCOLUMN\tKEY\tCOPY i")
	for _, tp := range plan.Tables {
		for _, m := range tp.Remaps {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", tp.Name, m.Column.Name, m.Domain, m.Describe())
		}
	}
	tw.Flush()
}

func countRules(p *pipeline.Plan) int {
	n := 0
	for _, tp := range p.Tables {
		n += len(tp.Rules)
	}
	return n
}

// showSamples runs the table's first rows through the transform stage, as a run would, and
// prints each ruled column before → after, as the server writes the values: the "before"
// values, production's, masked unless show.
func showSamples(ctx context.Context, w io.Writer, src *pgsource.Source, tp *pipeline.TablePlan, n int, show bool) error {
	var in, out bytes.Buffer
	q := fmt.Sprintf("COPY (SELECT %s FROM ONLY %s LIMIT %d) TO STDOUT (FORMAT binary)", postgres.QuotedColumns(tp.Columns), tp.Name.Quoted(), n)
	if _, err := src.PgConn().CopyTo(ctx, &in, q); err != nil {
		return fmt.Errorf("sample %s: %w", tp.Name, err)
	}
	mem := memory.NewGoAllocator()
	if err := pipeline.TransformStream(bytes.NewReader(in.Bytes()), &out, tp, pipeline.RunOptions{Mem: mem}); err != nil {
		return fmt.Errorf("sample %s: %w", tp.Name, err)
	}
	raw := make([]pgarrow.Column, len(tp.Columns))
	for i, c := range tp.Columns {
		raw[i] = pgarrow.Column{Name: c.Name, TypeOID: c.TypeOID, BaseOID: c.BaseOID, TypeName: c.TypeName}
	}
	before, err := readAll(in.Bytes(), raw, mem)
	if err != nil {
		return err
	}
	after, err := readAll(out.Bytes(), raw, mem)
	if err != nil {
		return err
	}
	selected, err := selectedRows(in.Bytes(), raw, tp, mem)
	if err != nil {
		return fmt.Errorf("sample %s: %w", tp.Name, err)
	}
	fmt.Fprintf(w, "  sample, before → after:\n")
	for row := range before {
		for i, r := range tp.Rules {
			b, err := asText(ctx, src, r.Column, before[row][r.Index])
			if err != nil {
				return err
			}
			if !show && before[row][r.Index] != nil {
				b = pii.Mask(b)
			}
			if selected[i] != nil && !selected[i][row] {
				fmt.Fprintf(w, "    %-20s %s (kept: the condition is not true)\n", r.Column.Name, b)
				continue
			}
			a, err := asText(ctx, src, r.Column, after[row][r.Index])
			if err != nil {
				return err
			}
			// A rule may copy a value as it is (a dictionary's unlisted value, a regexp that
			// did not match): then the "after" is production's value too.
			if !show && after[row][r.Index] != nil && bytes.Equal(after[row][r.Index], before[row][r.Index]) {
				a = pii.Mask(a) + " (unchanged)"
			}
			fmt.Fprintf(w, "    %-20s %s → %s\n", r.Column.Name, b, a)
		}
		if row < len(before)-1 {
			fmt.Fprintln(w, "    ·")
		}
	}
	return nil
}

// selectedRows evaluates, for each of tp's rules with a condition, which rows of a small binary
// COPY stream it rewrites (nil for a rule without one).
func selectedRows(stream []byte, cols []pgarrow.Column, tp *pipeline.TablePlan, mem memory.Allocator) ([][]bool, error) {
	out := make([][]bool, len(tp.Rules))
	dec := pgarrow.NewDecoder(bytes.NewReader(stream), cols, mem, pgarrow.DecoderOptions{})
	var sel when.Selection
	for {
		rec, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for i, r := range tp.Rules {
			if r.When == nil {
				continue
			}
			if sel, err = r.When.Select(rec, sel); err != nil {
				rec.Release()
				return nil, err
			}
			for row := 0; row < int(rec.NumRows()); row++ {
				out[i] = append(out[i], sel.Has(row))
			}
		}
		rec.Release()
	}
}

// readAll decodes a small binary COPY stream into rows of raw wire values (nil: NULL).
func readAll(stream []byte, cols []pgarrow.Column, mem memory.Allocator) ([][][]byte, error) {
	dec := pgarrow.NewDecoder(bytes.NewReader(stream), cols, mem, pgarrow.DecoderOptions{})
	var rows [][][]byte
	for {
		rec, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([][]byte, rec.NumCols())
			for c := range row {
				if a := rec.Column(c).(*array.Binary); !a.IsNull(i) {
					row[c] = append([]byte{}, a.Value(i)...)
				}
			}
			rows = append(rows, row)
		}
		rec.Release()
	}
}

// asText asks the server for the text form of a wire value of the column's type.
func asText(ctx context.Context, src *pgsource.Source, c schemas.Column, wire []byte) (string, error) {
	if wire == nil {
		return "NULL", nil
	}
	res := src.PgConn().ExecParams(ctx, "SELECT $1::text", [][]byte{wire}, []uint32{c.TypeOID}, []int16{1}, []int16{0}).Read()
	if res.Err != nil {
		return "", fmt.Errorf("show %s: %w", c.Name, res.Err)
	}
	s := string(res.Rows[0][0])
	if r := []rune(s); len(r) > 60 {
		s = string(r[:57]) + "…"
	}
	return s, nil
}
