package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/fkgraph"
	"github.com/understudy-dev/understudy/transforms"
)

// Scaling writes every row of a scaled table Copies times. Copy 0 is the row as a plain run
// writes it. Copy i > 0 is the row with its keys moved into a range of their own, computed
// from i, so that the copies never collide and each is a self-consistent sub-graph:
//
//   - A key domain is a column of a scaled table that some unique constraint (the primary
//     key included) needs to differ between copies. Integer keys are offset by i × span,
//     where span = max − min + 1 over the source column, so copy i holds exactly
//     [min + i·span, max + i·span]; uuid keys become a keyed HMAC of (i, value) (version 4
//     bits set); text keys get the suffix sep + i, with a separator no source value ends
//     with followed by digits (checked), so no suffixed value equals a source value.
//   - Every column that references a key domain (foreign key or declared reference) is
//     moved by the same function, so a reference in copy i points at copy i of its row.
//     References to shared tables are left alone: those tables are copied once.
//   - Rules run after the move. Rules on keys, unique columns and references keep the run's
//     key and see the moved input, so a unique rule (a bijection or a long keyed hash) stays
//     collision-free across copies and references still follow their key; every other rule
//     is built again with copy i's key (transforms.Key.ForCopy), so personal columns get
//     fresh keyed values in every copy.
//   - With jitter, copies i > 0 move their dates and timestamps (date_noise) and their real
//     and numeric values (numeric_noise) by keyed amounts, except in keys, references,
//     unique columns, ruled columns and partitions (whose rows must stay in their partition).
//
// Nothing is held per row: every move is a pure function of (key, i, value).

// scaleSeps are the text separators tried in order: the first that no source value of the
// domain uses before trailing digits is taken.
var scaleSeps = []string{"~", "#", "^", "|", "~~"}

// domain is one key domain while planning.
type domain struct {
	name  string // schema.table.column
	table *schemas.Table
	col   *schemas.Column
	kind  transforms.Kind
	span  int64
	max   int64
	sep   string
	ruled bool // the column has a rule, whose output need not fit the suffixed input
}

type colRef struct {
	table *TablePlan
	col   string
}

// ApplyScale makes every table of the plan but the shared ones scaled ×sc.Factor. It reads
// the key domains' ranges from stats (the source's snapshot, or the snapshot being
// restored). A factor of 1 changes nothing.
func (p *Plan) ApplyScale(ctx context.Context, stats ScaleStats, cfg *config.Config, sc *config.Scale, opts PlanOptions) error {
	if sc == nil || sc.Factor <= 1 {
		return nil
	}
	if opts.Registry == nil {
		opts.Registry = transforms.Default()
	}
	p.Scale = sc.Factor
	shared := map[string]bool{}
	for _, s := range sc.Shared {
		n := schemas.Name{Schema: s.Schema, Name: s.Name}
		if p.Catalog.Table(n) == nil {
			var names []string
			for _, t := range p.Tables {
				names = append(names, t.Name.String())
			}
			return cfgErr(cfg, s.Line, "scale.shared", "no such table %s%s", n, didYouMean(n.String(), names))
		}
		shared[n.String()] = true
	}
	isShared := func(t *schemas.Table) bool {
		for ; t != nil; t = t.Parent {
			if shared[t.Name.String()] {
				return true
			}
		}
		return false
	}
	of := map[*schemas.Table]*TablePlan{}
	var scaled []*TablePlan
	for _, tp := range p.Tables {
		of[tp.Table] = tp
		if isShared(tp.Table) {
			continue
		}
		if tp.TextFormat {
			return cfgErr(cfg, sc.Line, "scale", "%s moves as text COPY (it has an xml or tsquery column), so it cannot be scaled; list it under scale.shared", tp.Name)
		}
		tp.Copies = sc.Factor
		scaled = append(scaled, tp)
	}
	remapped := map[colRef]*domain{}
	g := p.foreignKeyGraph(cfg)
	type edge struct {
		child       *TablePlan
		col, refCol string
		parents     []*TablePlan
	}
	var edges []edge
	follow := func(e *fkgraph.Edge) {
		parents := make([]*TablePlan, len(e.Targets))
		for i, t := range e.Targets {
			parents[i] = of[t]
		}
		for i := range e.Columns {
			edges = append(edges, edge{of[e.Child], e.Columns[i], e.RefColumns[i], parents})
		}
	}
	for _, tp := range scaled {
		for _, e := range g.Out(tp.Table) {
			if !e.Declared {
				follow(e)
			}
		}
	}
	for _, e := range g.Edges() {
		if !e.Declared || of[e.Child].Copies <= 1 || slices.ContainsFunc(e.Targets, func(t *schemas.Table) bool { return of[t].Copies <= 1 }) {
			continue // a reference from or to a shared table: nothing moves
		}
		if e.Path != "" {
			return cfgErr(cfg, cfg.References[e.Index].Line, fmt.Sprintf("references[%d]", e.Index), "a reference into a json document cannot be followed by scaling yet: list %s or %s under scale.shared", e.Child.Name, e.Ref)
		}
		follow(e)
	}
	newDomain := func(tp *TablePlan, col string) (*domain, error) {
		c := tp.Table.Column(col)
		k := remapKindOf(*c)
		root := tp.Root()
		name := root.Name.String() + "." + col
		// Leaves of one partitioned table share their domains: a key is unique across them.
		for _, leaf := range g.Leaves(root.Name) {
			if d := remapped[colRef{of[leaf], col}]; d != nil {
				return d, nil
			}
		}
		d := &domain{name: name, table: root, col: c, kind: k, ruled: tp.Covered(col) && !tp.Kept[col]}
		return d, d.measure(ctx, stats, sc.Factor)
	}
	// A column that references another table takes its values from there: it follows a
	// scaled key (refs), or keeps pointing at a table copied once (fixed).
	refs, fixed := map[colRef]bool{}, map[colRef]bool{}
	for _, e := range edges {
		if slices.ContainsFunc(e.parents, func(p *TablePlan) bool { return p.Copies > 1 }) {
			refs[colRef{e.child, e.col}] = true
		} else {
			fixed[colRef{e.child, e.col}] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, e := range edges {
			if remapped[colRef{e.child, e.col}] != nil {
				continue
			}
			for _, parent := range e.parents {
				if d := remapped[colRef{parent, e.refCol}]; d != nil {
					remapped[colRef{e.child, e.col}] = d
					changed = true
					break
				}
			}
		}
		if changed {
			continue // follow every reference before giving any column a domain of its own
		}
		for _, tp := range scaled {
			for _, u := range tp.Uniques {
				if slices.ContainsFunc(u, func(c string) bool { return remapped[colRef{tp, c}] != nil }) {
					continue
				}
				if slices.ContainsFunc(u, func(c string) bool { return refs[colRef{tp, c}] }) {
					continue // satisfied once the key it references has a domain
				}
				pick := ""
				for _, c := range u {
					if col := tp.Table.Column(c); col != nil && !fixed[colRef{tp, c}] && !col.Generated && remapKindOf(*col) != transforms.KindNone {
						pick = c
						break
					}
				}
				if pick == "" {
					return cfgErr(cfg, sc.Line, "scale", "%s: unique key (%s) has no column scaling can give new values per copy (integer, uuid, text or varchar); list %s under scale.shared",
						tp.Name, strings.Join(u, ", "), tp.Name)
				}
				d, err := newDomain(tp, pick)
				if err != nil {
					return err
				}
				remapped[colRef{tp, pick}] = d
				changed = true
				break
			}
			if changed {
				break
			}
		}
	}
	for _, tp := range scaled {
		for _, u := range tp.Uniques {
			if !slices.ContainsFunc(u, func(c string) bool { return remapped[colRef{tp, c}] != nil }) {
				return cfgErr(cfg, sc.Line, "scale", "%s: unique key (%s) only references keys that are never remapped; list %s under scale.shared", tp.Name, strings.Join(u, ", "), tp.Name)
			}
		}
	}
	// Jitter and per-copy rules.
	var jitter []jitterRule
	if sc.JitterDates != "" {
		jitter = append(jitter, jitterRule{"date_noise", "max", sc.JitterDates, "!!str", func(c schemas.Column) bool {
			return transforms.KindOf(c.BaseOID).IsTime()
		}})
	}
	if sc.JitterNumbers > 0 {
		jitter = append(jitter, jitterRule{"numeric_noise", "ratio", strconv.FormatFloat(sc.JitterNumbers, 'g', -1, 64), "!!float", func(c schemas.Column) bool {
			k := transforms.KindOf(c.BaseOID)
			return k.IsFloat() || k == transforms.KindNumeric
		}})
	}
	key := transforms.ScaleKey(opts.Key)
	for _, tp := range scaled {
		for i, c := range tp.Columns {
			d := remapped[colRef{tp, c.Name}]
			if d == nil {
				continue
			}
			m := Remap{Index: i, Column: c, Domain: d.name, kind: remapKindOf(c), span: d.span, max: d.max, sep: d.sep}
			if m.kind == transforms.KindNone {
				return cfgErr(cfg, sc.Line, "scale", "%s.%s (%s) references %s, but scaling cannot move values of type %s; list %s under scale.shared",
					tp.Name, c.Name, c.TypeName, d.name, c.TypeName, tp.Name)
			}
			if m.kind != d.kind && (m.kind == transforms.KindUUID || d.kind == transforms.KindUUID || m.kind == transforms.KindText || d.kind == transforms.KindText) {
				return cfgErr(cfg, sc.Line, "scale", "%s.%s (%s) references %s of another kind of type; list %s under scale.shared", tp.Name, c.Name, c.TypeName, d.name, tp.Name)
			}
			if _, hi := m.kind.IntRange(); m.kind.IsInt() && d.max > hi-int64(sc.Factor-1)*d.span {
				return cfgErr(cfg, sc.Line, "scale", "×%d moves %s.%s up to %s + %d × %d, beyond the largest %s; scale less, or list %s under scale.shared",
					sc.Factor, tp.Name, c.Name, strconv.FormatInt(d.max, 10), sc.Factor-1, d.span, c.TypeName, tp.Name)
			}
			if m.kind == transforms.KindUUID {
				m.subkey = key.Derive("scale/uuid/" + d.name)
			}
			tp.Remaps = append(tp.Remaps, m)
		}
		if err := tp.buildCopyRules(cfg, sc, opts, jitter); err != nil {
			return err
		}
	}
	return nil
}

// measure reads what moving the domain's values needs: an integer key's range, a text key's
// separator.
func (d *domain) measure(ctx context.Context, stats ScaleStats, factor int) error {
	switch d.kind {
	case transforms.KindInt2, transforms.KindInt4, transforms.KindInt8:
		lo, hi, ok, err := stats.IntRange(ctx, d.table, d.col.Name)
		if err != nil {
			return err
		}
		d.span, d.max = 1, 0
		if ok {
			d.span, d.max = hi-lo+1, hi
		}
	case transforms.KindText:
		clash, longest, err := stats.TextStats(ctx, d.table, d.col.Name, scaleSeps)
		if err != nil {
			return err
		}
		for i, sep := range scaleSeps {
			if clash[i] {
				continue
			}
			d.sep = sep
			if n := d.col.Typmod - 4; d.col.BaseOID == pgtype.VarcharOID && d.col.Typmod >= 4 && !d.ruled {
				suffix := len(sep) + len(strconv.Itoa(factor-1))
				if longest+suffix > int(n) {
					return &failure.UserError{Code: failure.ExitUsage, Err: fmt.Errorf("scale ×%d: %s is %s and holds values of %d characters, with no room for the copy suffix %q; list %s under scale.shared",
						factor, d.name, d.col.TypeName, longest, sep+strconv.Itoa(factor-1), d.table.Name)}
				}
			}
			return nil
		}
		return &failure.UserError{Code: failure.ExitUsage, Err: fmt.Errorf("scale: %s holds values ending in each of %s followed by digits, so no copy suffix is safe; list %s under scale.shared",
			d.name, strings.Join(scaleSeps, " "), d.table.Name)}
	}
	return nil
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$#~`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

type jitterRule struct {
	transform, param, value, tag string
	fits                         func(schemas.Column) bool
}

// buildCopyRules builds the rules of copies 1 and up: the plan's rules, those on columns that
// are not keys, unique or references built again with the copy's key, then the jitter rules.
func (t *TablePlan) buildCopyRules(cfg *config.Config, sc *config.Scale, opts PlanOptions, jitter []jitterRule) error {
	keep := map[string]bool{} // columns that must map as in copy 0 (after their move)
	for _, m := range t.Remaps {
		keep[m.Column.Name] = true
	}
	inKey := map[string]bool{}
	for _, u := range t.Uniques {
		for _, c := range u {
			inKey[c] = true
		}
	}
	for _, fk := range t.ForeignKeys {
		for _, c := range fk.Columns {
			inKey[c] = true
		}
	}
	ruled := map[string]bool{}
	for _, r := range t.Rules {
		ruled[r.Column.Name] = true
	}
	key := transforms.ScaleKey(opts.Key)
	t.copyRules = make([][]ColumnRule, sc.Factor-1)
	for i := 1; i < sc.Factor; i++ {
		rules := make([]ColumnRule, 0, len(t.Rules))
		for _, r := range t.Rules {
			if r.Follows == "" && !keep[r.Column.Name] && !t.Table.IsUnique(r.Column.Name) && r.build != nil && opts.Key != nil {
				tr, err := r.build(opts.Key.ForCopy(i))
				if err != nil {
					return cfgErr(cfg, r.Source.Line, "tables."+t.Name.String()+".columns."+r.Column.Name, "copy %d: %v", i, err)
				}
				r.Transformer = tr
			}
			rules = append(rules, r)
		}
		for _, j := range jitter {
			if t.Parent != nil {
				break // a moved date could leave its partition's bounds
			}
			for idx, c := range t.Columns {
				if ruled[c.Name] || inKey[c.Name] || !j.fits(c) {
					continue
				}
				params := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
					{Kind: yaml.ScalarNode, Tag: "!!str", Value: j.param}, {Kind: yaml.ScalarNode, Tag: j.tag, Value: j.value},
					{Kind: yaml.ScalarNode, Tag: "!!str", Value: "domain"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: "scale/jitter"},
				}}
				tr, err := opts.Registry.New(j.transform, transforms.Env{Column: ruleColumn(t, &t.Columns[idx]), Params: transforms.YAMLParams(params), Key: key.ForCopy(i)})
				if err != nil {
					return cfgErr(cfg, sc.Line, "scale.jitter", "%s.%s: %v", t.Name, c.Name, err)
				}
				rules = append(rules, ColumnRule{Index: idx, Column: c, Rule: j.transform, Transformer: tr, Native: true})
			}
		}
		t.copyRules[i-1] = rules
	}
	return nil
}

// ScaleSpans gives, for every integer key domain that scaling moves (schema.table.column of
// the key), the values its copies hold together: copy 0's smallest to the last copy's
// largest. SequencesPast moves the sequences that feed them past the last copy.
func (p *Plan) ScaleSpans() map[string]ColumnSpan {
	spans := map[string]ColumnSpan{}
	if p.Scale <= 1 {
		return spans
	}
	for _, tp := range p.Tables {
		for _, m := range tp.Remaps {
			if m.kind.IsInt() {
				spans[m.Domain] = ColumnSpan{Min: m.max - m.span + 1, Max: m.max + int64(tp.Copies-1)*m.span}
			}
		}
	}
	return spans
}

// AddCopyRules gives the scaled copies 1 and up of the plan's tables the rules cfg sets, each
// built with its copy's key (base: opts.Key, else the published scale key), and leaves copy 0
// as it is read. A restore uses it with the rules the snapshot was taken with: its rows are
// anonymized already, so running a rule again on copy i's values gives fresh values derived
// from them, never from the source's. Rules on columns that are keys, unique, references or
// moved are not added: those values are the snapshot's, moved. A rule that cannot be built
// here (it needs what only a source connection gives) is left out; the messages say which,
// and those columns repeat copy 0's values.
func (p *Plan) AddCopyRules(cfg *config.Config, opts PlanOptions) (left []string) {
	if opts.Registry == nil {
		opts.Registry = transforms.Default()
	}
	key := transforms.ScaleKey(opts.Key)
	opts.Key = key
	rules := map[schemas.Name]config.TableRules{}
	for _, tr := range cfg.Tables {
		rules[schemas.Name{Schema: tr.Schema, Name: tr.Name}] = tr
	}
	for _, t := range p.Tables {
		tr, ok := rules[t.Name]
		if !ok || t.copies() < 2 {
			continue
		}
		fixed := map[string]bool{} // columns whose values are the snapshot's, moved
		for _, m := range t.Remaps {
			fixed[m.Column.Name] = true
		}
		for _, fk := range t.ForeignKeys {
			for _, c := range fk.Columns {
				fixed[c] = true
			}
		}
		scratch := &TablePlan{Table: t.Table, Columns: t.Columns}
		for _, cr := range tr.Columns {
			// null and constant write copy 0's values again: nothing to build.
			if fixed[cr.Column] || t.Table.IsUnique(cr.Column) || cr.Transform == "null" || cr.Transform == "constant" {
				continue
			}
			if err := bindRule(cfg, scratch, tr, cr, opts); err != nil {
				left = append(left, err.Error())
			}
		}
		if err := orderRules(cfg, scratch, tr); err != nil {
			left = append(left, err.Error())
			continue
		}
		// Every copy gets the same rules, or a rule is left out of all of them.
		fresh := make([][]ColumnRule, t.copies()-1)
	next:
		for _, r := range scratch.Rules {
			built := make([]ColumnRule, len(fresh))
			for i := range built {
				tf, err := r.build(key.ForCopy(i + 1))
				if err != nil {
					left = append(left, fmt.Sprintf("%s.%s (%s): copy %d: %v", t.Name, r.Column.Name, r.Rule, i+1, err))
					continue next
				}
				built[i] = r
				built[i].Transformer = tf
			}
			for i := range fresh {
				fresh[i] = append(fresh[i], built[i])
			}
		}
		for i := range fresh {
			t.copyRules[i] = append(fresh[i], t.copyRules[i]...)
		}
	}
	return left
}
