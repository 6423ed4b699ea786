package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Tolerances say how far the target may be from the source before a Finding fails. The
// zero value of a field means its default; docs/report.md has the same table.
//
//	check                     applies to                               passes when (s source, t target)
//	rows                      every table                              t = s × Scale (a shared table: t = s)
//	null_fraction             every column                             |t − s| ≤ NullFraction (0.02)
//	distinct_ratio            non-date columns with s > HighDistinct   t > DistinctRatio (0.9) × s
//	                          (0.9); a date column has at most one
//	                          value a day, so its ratio falls with size
//	top_values                columns with ≤ 20 distinct values        the same set of values
//	top_value                 each of those values                     |t − s| ≤ TopValueFraction (0.03)
//	p05 p25 p50 p75 p95       number, date and timestamp columns       |t − s| ≤ Quantile (0.05) × (s.p95 − s.p05)
//	fanout_mean               every foreign key                        |t − m| ≤ FanoutMean (0.05) × m, m = s × cf / pf
//	fanout[bucket]            every foreign key, if cf = pf            |t − s| ≤ FanoutBucket (0.03)
//
// A personal column (CompareOptions.Personal) is judged by its shape, never by its values: no
// top_values, top_value or quantile checks, but
//
//	null_fraction             as above
//	distinct_ratio            as above, unless a rule that can repeat values rewrites it
//	distinct                  rewritten by a rule that can repeat       t ≥ FakeDistinct (0.5) × min(s, 100)
//	                          values (a fake name from a list)         (distinct values)
//	length_mean               columns with non-blank values            s / Length (2) − 2 ≤ t ≤ Length × s + 2
//	chars[letters|digits|spaces|other]  the same                       |t − s| ≤ CharClass (0.25)
//	format                    the same: the source's commonest format  |t − s| ≤ Format (0.25)
//
// A personal column under a rule that sets the shape itself (null, constant, hash, mask, …:
// see reshaping) is not judged at all.
//
// cf and pf are the child's and the parent's copy factors (Scale, or 1 for a shared table):
// children of a shared parent multiply its fan-out by Scale, and the buckets of such a key
// are not comparable. Under Scale > 1 the quantiles and top values of key columns (in a
// unique constraint) and of references to scaled tables are not compared: scaling moves
// them to new values on purpose (docs/scaling.md). Null fractions and distinct ratios are.
type Tolerances struct {
	NullFraction     float64 `json:"null_fraction"`      // absolute
	HighDistinct     float64 `json:"high_distinct"`      // source ratio above which distinct_ratio is checked
	DistinctRatio    float64 `json:"distinct_ratio"`     // factor of the source's ratio
	TopValueFraction float64 `json:"top_value_fraction"` // absolute
	Quantile         float64 `json:"quantile"`           // fraction of the source's p95 − p05 (see quantileSpan)
	FanoutMean       float64 `json:"fanout_mean"`        // relative
	FanoutBucket     float64 `json:"fanout_bucket"`      // absolute
	FakeDistinct     float64 `json:"fake_distinct"`      // share of min(source distinct, 100)
	Length           float64 `json:"length"`             // factor, ± 2 characters
	CharClass        float64 `json:"char_class"`         // absolute
	Format           float64 `json:"format"`             // absolute
}

// DefaultTolerances are the tolerances Compare uses for fields left zero.
func DefaultTolerances() Tolerances {
	return Tolerances{NullFraction: 0.02, HighDistinct: 0.9, DistinctRatio: 0.9, TopValueFraction: 0.03,
		Quantile: 0.05, FanoutMean: 0.05, FanoutBucket: 0.03, FakeDistinct: 0.5, Length: 2, CharClass: 0.25, Format: 0.25}
}

func (t Tolerances) withDefaults() Tolerances {
	d := DefaultTolerances()
	for _, f := range []struct{ v, def *float64 }{
		{&t.NullFraction, &d.NullFraction}, {&t.HighDistinct, &d.HighDistinct}, {&t.DistinctRatio, &d.DistinctRatio},
		{&t.TopValueFraction, &d.TopValueFraction}, {&t.Quantile, &d.Quantile}, {&t.FanoutMean, &d.FanoutMean},
		{&t.FanoutBucket, &d.FanoutBucket}, {&t.FakeDistinct, &d.FakeDistinct}, {&t.Length, &d.Length},
		{&t.CharClass, &d.CharClass}, {&t.Format, &d.Format},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return t
}

// CompareOptions configure Compare.
type CompareOptions struct {
	// Scale is the factor the target was scaled up by; 0 and 1 mean not scaled.
	Scale int `json:"scale"`
	// Shared lists the tables (schema.table) copied once under scaling; a partitioned table
	// stands for its partitions.
	Shared []string `json:"shared,omitempty"`
	// Bounded lists columns (schema.table.column) whose values come from a small fixed set
	// (the last four digits of a card): their distinct ratio falls as the table grows, in
	// production as in a scaled copy, so it is not checked.
	Bounded []string `json:"bounded,omitempty"`
	// Personal lists the columns that hold personal data (FindPersonal; a partition is named
	// as itself): they are judged by their shape only.
	Personal   []PersonalColumn `json:"personal,omitempty"`
	Tolerances Tolerances       `json:"tolerances"`
}

// reshaping are the rules whose output takes its form from the rule, not from the value it
// replaces (NULL, one constant, a hex digest, stars, a choice from a list, a template, lorem
// ipsum, …): the shape of a column under one says nothing about a copy's faithfulness, so it
// is not judged. Every other rule makes values of the input's kind (names, addresses,
// numbers, keys), whose shape a faithful copy keeps.
var reshaping = map[string]bool{
	"null": true, "constant": true, "hash": true, "mask": true, "round": true, "truncate": true,
	"weighted_choice": true, "dictionary": true, "regexp_replace": true, "template": true,
	"random_range": true, "lorem": true, "user_agent": true, "json": true, "array": true,
}

// Validate says what is wrong with the options.
func (o CompareOptions) Validate() error {
	if o.Scale < 0 {
		return fmt.Errorf("scale: %d is negative", o.Scale)
	}
	for _, s := range o.Shared {
		if strings.Count(s, ".") != 1 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
			return fmt.Errorf("shared: %q is not schema.table", s)
		}
	}
	return nil
}

// Finding is one check of the target against the source.
type Finding struct {
	Table  string  `json:"table"`            // schema.table
	Column string  `json:"column,omitempty"` // for column checks
	FK     string  `json:"fk,omitempty"`     // for fan-out checks: the constraint's name
	Value  string  `json:"value,omitempty"`  // for top_value: which value
	Metric string  `json:"metric"`           // see Tolerances
	Kind   Kind    `json:"kind,omitempty"`   // for quantiles: how to read Source, Target, Lo and Hi
	Source float64 `json:"source"`
	Target float64 `json:"target"`
	// Lo and Hi bound the target values that pass; Allowed says the rule in words.
	Lo      float64 `json:"lo"`
	Hi      float64 `json:"hi"`
	Allowed string  `json:"allowed"`
	OK      bool    `json:"ok"`
	Note    string  `json:"note,omitempty"`
}

// Where names what the finding is about: table, table.column or table FK name.
func (f Finding) Where() string {
	switch {
	case f.Column != "":
		return f.Table + "." + f.Column
	case f.FK != "":
		return f.Table + " " + f.FK
	}
	return f.Table
}

// eps absorbs float rounding at a tolerance's edge (0.3 − 0.28 is 0.020000000000000018).
const eps = 1e-9

// Compare checks dst against src, table by table in src's order, and returns every check
// made, passed or failed. Tables, columns or keys missing from dst, or tables only in dst,
// are failed findings too; so is a Shared name that is no table of src, and a Bounded name
// that is no column of it.
func Compare(src, dst *Stats, opts CompareOptions) []Finding {
	c := comparer{src: src, scale: max(opts.Scale, 1), tol: opts.Tolerances.withDefaults(), shared: map[string]bool{}, bounded: map[string]bool{},
		personal: map[string]*PersonalColumn{}}
	for i, p := range opts.Personal {
		c.personal[p.Column] = &opts.Personal[i]
	}
	for _, b := range opts.Bounded {
		c.bounded[b] = true
		found := false
		for _, t := range src.Tables {
			for _, col := range t.Columns {
				found = found || t.Name+"."+col.Name == b || t.Parent != "" && t.Parent+"."+col.Name == b
			}
		}
		if !found {
			c.add(Finding{Table: b, Metric: "bounded", Allowed: "a column of the source", Note: "no such column in the source"})
		}
	}
	for _, s := range opts.Shared {
		c.shared[s] = true
		found := false
		for _, t := range src.Tables {
			found = found || t.Name == s || t.Parent == s
		}
		if !found {
			c.add(Finding{Table: s, Metric: "shared", Allowed: "a table of the source", Note: "no such table in the source"})
		}
	}
	for i := range src.Tables {
		s := &src.Tables[i]
		d := dst.Table(s.Name)
		if d == nil {
			c.add(Finding{Table: s.Name, Metric: "table", Source: 1, Lo: 1, Hi: 1, Allowed: "present", Note: "missing in the target"})
			continue
		}
		c.table(s, d)
	}
	for _, d := range dst.Tables {
		if src.Table(d.Name) == nil {
			c.add(Finding{Table: d.Name, Metric: "table", Target: 1, Allowed: "absent", Note: "only in the target"})
		}
	}
	return c.out
}

type comparer struct {
	src    *Stats
	scale  int
	tol    Tolerances
	shared map[string]bool
	// bounded: columns whose distinct ratio is not checked (CompareOptions.Bounded)
	bounded  map[string]bool
	personal map[string]*PersonalColumn
	out      []Finding
}

func (c *comparer) add(f Finding) { c.out = append(c.out, f) }

// factor is how many times the target holds each row of the named source table.
func (c *comparer) factor(name string) int {
	if c.shared[name] {
		return 1
	}
	if t := c.src.Table(name); t != nil && t.Parent != "" && c.shared[t.Parent] {
		return 1
	}
	return c.scale
}

// within adds a finding that passes when lo ≤ target ≤ hi.
func (c *comparer) within(f Finding, lo, hi float64, allowed string) {
	f.Lo, f.Hi, f.Allowed = lo, hi, allowed
	f.OK = f.Target >= lo-eps && f.Target <= hi+eps
	c.add(f)
}

func (c *comparer) table(s, d *TableStats) {
	cf := c.factor(s.Name)
	want := float64(s.Rows) * float64(cf)
	allowed := "= source"
	if cf > 1 {
		allowed = fmt.Sprintf("= %d × source", cf)
	}
	c.within(Finding{Table: s.Name, Metric: "rows", Source: float64(s.Rows), Target: float64(d.Rows)}, want, want, allowed)
	if s.Rows == 0 || d.Rows == 0 {
		return // nothing to compare the shape of; the row check says it
	}
	for i := range s.Columns {
		sc := &s.Columns[i]
		dc := d.Column(sc.Name)
		if dc == nil {
			c.add(Finding{Table: s.Name, Column: sc.Name, Metric: "column", Source: 1, Lo: 1, Hi: 1, Allowed: "present", Note: "missing in the target"})
			continue
		}
		if dc.Type != sc.Type {
			c.add(Finding{Table: s.Name, Column: sc.Name, Metric: "type", Allowed: "the same type", Note: sc.Type + " → " + dc.Type})
			continue
		}
		if p := c.personal[s.Name+"."+sc.Name]; p != nil {
			c.personalColumn(s, sc, dc, p)
			continue
		}
		moved := cf > 1 && (sc.Key || (sc.References != "" && c.factor(sc.References) > 1))
		c.column(s, sc, dc, moved)
	}
	for i := range s.ForeignKeys {
		sf := &s.ForeignKeys[i]
		df := d.FK(sf.Name)
		if df == nil {
			c.add(Finding{Table: s.Name, FK: sf.Name, Metric: "fk", Source: 1, Lo: 1, Hi: 1, Allowed: "present", Note: "missing in the target"})
			continue
		}
		c.fanout(s.Name, sf, df, cf, c.factor(sf.Ref))
	}
}

func (c *comparer) column(t *TableStats, s, d *ColumnStats, moved bool) {
	table := t.Name
	base := Finding{Table: table, Column: s.Name}
	f := base
	f.Metric, f.Source, f.Target = "null_fraction", s.NullFraction, d.NullFraction
	c.within(f, math.Max(0, s.NullFraction-c.tol.NullFraction), math.Min(1, s.NullFraction+c.tol.NullFraction),
		fmt.Sprintf("±%g", c.tol.NullFraction))
	if s.Kind == KindOpaque || s.NonNull == 0 || d.NonNull == 0 {
		return
	}
	c.distinctRatio(t, s, d)
	if moved {
		return
	}
	if s.TopValues != nil {
		c.topValues(base, s, d)
	}
	if len(s.Quantiles) == len(QuantileLevels) && s.Min != nil && s.Max != nil {
		tol := c.tol.Quantile * quantileSpan(s)
		for i, name := range QuantileNames {
			f := base
			f.Metric, f.Kind, f.Source = name, s.Kind, s.Quantiles[i]
			if len(d.Quantiles) != len(QuantileLevels) {
				f.Allowed, f.Note = "present", "no finite values in the target"
				c.add(f)
				continue
			}
			f.Target = d.Quantiles[i]
			c.within(f, s.Quantiles[i]-tol, s.Quantiles[i]+tol, fmt.Sprintf("±%g%% of the source's p95 − p05", 100*c.tol.Quantile))
		}
	}
}

func (c *comparer) distinctRatio(t *TableStats, s, d *ColumnStats) {
	if s.DistinctRatio > c.tol.HighDistinct && s.Kind != KindDate && !c.isBounded(t, s.Name) {
		f := Finding{Table: t.Name, Column: s.Name}
		f.Metric, f.Source, f.Target = "distinct_ratio", s.DistinctRatio, d.DistinctRatio
		lo := c.tol.DistinctRatio * s.DistinctRatio
		f.Lo, f.Hi, f.Allowed = lo, 1, fmt.Sprintf("> %g × source", c.tol.DistinctRatio)
		f.OK = d.DistinctRatio > lo
		c.add(f)
	}
}

func (c *comparer) isBounded(t *TableStats, col string) bool {
	return c.bounded[t.Name+"."+col] || t.Parent != "" && c.bounded[t.Parent+"."+col]
}

// fakeDistinctCap caps the source's distinct count that the distinct check expects a share
// of: a fake value drawn from a list (a few hundred last names) cannot keep more apart.
const fakeDistinctCap = 100

// personalColumn judges a personal column by its shape only (see Tolerances).
func (c *comparer) personalColumn(t *TableStats, s, d *ColumnStats, p *PersonalColumn) {
	if reshaping[p.Rule] {
		return
	}
	base := Finding{Table: t.Name, Column: s.Name}
	f := base
	f.Metric, f.Source, f.Target = "null_fraction", s.NullFraction, d.NullFraction
	c.within(f, math.Max(0, s.NullFraction-c.tol.NullFraction), math.Min(1, s.NullFraction+c.tol.NullFraction),
		fmt.Sprintf("±%g", c.tol.NullFraction))
	if s.NonNull == 0 || d.NonNull == 0 {
		return
	}
	switch {
	case s.Kind == KindOpaque:
	case p.Rule == "" || p.Unique:
		c.distinctRatio(t, s, d)
	case !c.isBounded(t, s.Name):
		f := base
		f.Metric, f.Source, f.Target = "distinct", float64(s.Distinct), float64(d.Distinct)
		lo := math.Ceil(c.tol.FakeDistinct * float64(min(s.Distinct, fakeDistinctCap)))
		c.within(f, lo, math.Max(f.Source, f.Target), fmt.Sprintf("≥ %g × min(source, %d)", c.tol.FakeDistinct, fakeDistinctCap))
	}
	ss, ds := s.Shape, d.Shape
	if ss == nil || ds == nil || ss.Values == 0 || ds.Values == 0 || ss.BlankFraction == 1 || ds.BlankFraction == 1 {
		return // no non-blank values to measure on one side
	}
	f = base
	f.Metric, f.Source, f.Target = "length_mean", ss.LengthMean, ds.LengthMean
	c.within(f, math.Max(0, ss.LengthMean/c.tol.Length-2), ss.LengthMean*c.tol.Length+2, fmt.Sprintf("×÷%g ±2", c.tol.Length))
	for _, cl := range []struct {
		name string
		s, t float64
	}{{"letters", ss.Letters, ds.Letters}, {"digits", ss.Digits, ds.Digits}, {"spaces", ss.Spaces, ds.Spaces}, {"other", ss.Other, ds.Other}} {
		f := base
		f.Metric, f.Source, f.Target = "chars["+cl.name+"]", cl.s, cl.t
		c.within(f, math.Max(0, cl.s-c.tol.CharClass), math.Min(1, cl.s+c.tol.CharClass), fmt.Sprintf("±%g", c.tol.CharClass))
	}
	if len(ss.Formats) > 0 {
		f := base
		top := ss.Formats[0]
		f.Metric, f.Value, f.Source, f.Target = "format", top.Value, top.Fraction, ds.Format(top.Value)
		c.within(f, math.Max(0, top.Fraction-c.tol.Format), math.Min(1, top.Fraction+c.tol.Format), fmt.Sprintf("±%g", c.tol.Format))
	}
}

// quantileSpan is what the quantile tolerance is a fraction of: the source's central 90 %
// (p95 − p05), so that one sentinel value (a date in 9999) cannot widen it to centuries;
// else its whole range; else, for a number that is one value throughout, that value's size,
// so that jitter of a few percent still passes.
func quantileSpan(s *ColumnStats) float64 {
	q := s.Quantiles
	if span := q[len(q)-1] - q[0]; span > 0 {
		return span
	}
	if span := *s.Max - *s.Min; span > 0 {
		return span
	}
	if s.Kind == KindNumber {
		return math.Abs(q[len(q)/2])
	}
	return 0
}

func (c *comparer) topValues(base Finding, s, d *ColumnStats) {
	f := base
	f.Metric, f.Source = "top_values", float64(len(s.TopValues))
	f.Lo, f.Hi, f.Allowed = f.Source, f.Source, "the same values"
	if d.TopValues == nil {
		f.Target = float64(d.Distinct)
		f.Note = fmt.Sprintf("the target has %d distinct values or more", d.Distinct)
		c.add(f)
		return
	}
	f.Target = float64(len(d.TopValues))
	sv, dv := fractions(s.TopValues), fractions(d.TopValues)
	var missing, extra []string
	for _, v := range s.TopValues {
		if _, ok := dv[v.Value]; !ok {
			missing = append(missing, v.Value)
		}
	}
	for _, v := range d.TopValues {
		if _, ok := sv[v.Value]; !ok {
			extra = append(extra, v.Value)
		}
	}
	f.OK = len(missing) == 0 && len(extra) == 0
	var notes []string
	if len(missing) > 0 {
		notes = append(notes, "missing in the target: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		notes = append(notes, "only in the target: "+strings.Join(extra, ", "))
	}
	f.Note = strings.Join(notes, "; ")
	c.add(f)
	values := make([]string, 0, len(s.TopValues)+len(extra))
	for _, v := range s.TopValues {
		values = append(values, v.Value)
	}
	values = append(values, extra...)
	for _, v := range values {
		f := base
		f.Metric, f.Value, f.Source, f.Target = "top_value", v, sv[v], dv[v]
		c.within(f, math.Max(0, f.Source-c.tol.TopValueFraction), math.Min(1, f.Source+c.tol.TopValueFraction),
			fmt.Sprintf("±%g", c.tol.TopValueFraction))
	}
}

func fractions(vs []ValueFraction) map[string]float64 {
	m := make(map[string]float64, len(vs))
	for _, v := range vs {
		m[v.Value] = v.Fraction
	}
	return m
}

func (c *comparer) fanout(table string, s, d *FKStats, cf, pf int) {
	if s.Parents == 0 || d.Parents == 0 {
		return
	}
	base := Finding{Table: table, FK: s.Name}
	f := base
	want := s.Mean * float64(cf) / float64(pf)
	f.Metric, f.Source, f.Target = "fanout_mean", s.Mean, d.Mean
	allowed := fmt.Sprintf("±%g%%", 100*c.tol.FanoutMean)
	if cf != pf {
		allowed += fmt.Sprintf(" of source × %d/%d", cf, pf)
		f.Note = "children and parent are copied a different number of times: buckets not compared"
	}
	c.within(f, want*(1-c.tol.FanoutMean), want*(1+c.tol.FanoutMean), allowed)
	if cf != pf {
		return
	}
	for i, b := range s.Histogram {
		f := base
		f.Metric, f.Source = "fanout["+b.Label+"]", b.Fraction
		if i < len(d.Histogram) {
			f.Target = d.Histogram[i].Fraction
		}
		c.within(f, math.Max(0, b.Fraction-c.tol.FanoutBucket), math.Min(1, b.Fraction+c.tol.FanoutBucket),
			fmt.Sprintf("±%g", c.tol.FanoutBucket))
	}
}

// Failed returns the findings that did not pass.
func Failed(fs []Finding) []Finding {
	return slices.DeleteFunc(slices.Clone(fs), func(f Finding) bool { return f.OK })
}
