package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/pipeline/pgsink"
	"github.com/understudy-dev/understudy/pipeline/pii"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/fkgraph"
)

// Defaults for Options.
const (
	DefaultSampleAbove = 1_000_000
	DefaultSampleRows  = 100_000
	DefaultTopValues   = 20
)

// maxColumnsPerQuery and maxExprsPerQuery bound one SELECT's target list (PostgreSQL allows
// 1664 entries; a column takes up to five, a personal one up to twelve). A wider table is read
// in several scans.
const (
	maxColumnsPerQuery = 250
	maxExprsPerQuery   = 1600
)

// Options configure Collect. The zero value is the defaults.
type Options struct {
	// SampleAbove: a table with more rows than this gets its distinct counts and quantiles
	// from a row sample (TABLESAMPLE BERNOULLI) of about SampleRows rows, which saves a sort
	// of every column; row counts, null fractions, min, max, top values and fan-out stay exact.
	// 0 means DefaultSampleAbove; negative means never sample.
	SampleAbove int64
	// SampleRows is the sample's size; 0 means DefaultSampleRows.
	SampleRows int64
	// TopValues: a column with at most this many distinct non-null values gets them all
	// listed with their fractions; 0 means DefaultTopValues.
	TopValues int
	// Personal names the columns (schema.table.column) that hold personal data (see
	// FindPersonal): they get a Shape, and unless ShowValues, their values are left out of the
	// stats or masked (see ColumnStats.Personal). Collect itself decides nothing: a column not
	// named here is measured by its values.
	Personal map[string]bool
	// ShowValues keeps the values of personal columns in the stats, unmasked.
	ShowValues bool
}

func (o Options) withDefaults() Options {
	if o.SampleAbove == 0 {
		o.SampleAbove = DefaultSampleAbove
	}
	if o.SampleRows <= 0 {
		o.SampleRows = DefaultSampleRows
	}
	if o.TopValues <= 0 {
		o.TopValues = DefaultTopValues
	}
	return o
}

// Collect measures every table that stores rows (plain tables and leaf partitions) in the
// non-system schemas of conn's database, inside one REPEATABLE READ READ ONLY transaction so
// that all numbers describe one snapshot. Per table it makes one scan for the column
// aggregates (two, the second of a sample, for a table above Options.SampleAbove rows), one
// for the top values of low-cardinality columns, one (of the sample, if any) for the formats
// of personal columns, and per foreign key one grouping of the child table joined to a scan
// of the parent.
func Collect(ctx context.Context, conn *pgx.Conn, opts Options) (*Stats, error) {
	opts = opts.withDefaults()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // read only: nothing to commit
	// Values are compared as text between two servers: print them the same way on both,
	// whatever each server's defaults.
	if _, err := tx.Exec(ctx, `SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres';
SET LOCAL bytea_output = 'hex'; SET LOCAL extra_float_digits = 1`); err != nil {
		return nil, fmt.Errorf("set the output format: %w", err)
	}
	cat, err := schemas.LoadCatalog(ctx, tx)
	if err != nil {
		return nil, err
	}
	kinds, err := loadKinds(ctx, tx, cat)
	if err != nil {
		return nil, err
	}
	st := &Stats{SampleAbove: opts.SampleAbove, SampleRows: opts.SampleRows}
	if err := tx.QueryRow(ctx, "SELECT current_database()").Scan(&st.Database); err != nil {
		return nil, fmt.Errorf("read database name: %w", err)
	}
	g := fkgraph.New(cat.Tables, nil)
	for _, t := range g.Tables() {
		if t.Schema == pgsink.MarkerSchema {
			continue
		}
		ts, err := collectTable(ctx, tx, g, t, kinds, opts)
		if err != nil {
			return nil, fmt.Errorf("measure %s: %w", t.Name, err)
		}
		st.Tables = append(st.Tables, *ts)
	}
	return st, nil
}

// loadKinds classifies every column type by its base type's pg_type.typcategory.
func loadKinds(ctx context.Context, tx pgx.Tx, cat *schemas.Catalog) (map[uint32]Kind, error) {
	var oids []uint32
	seen := map[uint32]bool{}
	for _, t := range cat.Tables {
		for _, c := range t.Columns {
			if !seen[c.BaseOID] {
				seen[c.BaseOID] = true
				oids = append(oids, c.BaseOID)
			}
		}
	}
	rows, err := tx.Query(ctx, `SELECT oid, typcategory::text FROM pg_type WHERE oid = ANY($1)`, oids)
	if err != nil {
		return nil, fmt.Errorf("read column types: %w", err)
	}
	defer rows.Close()
	kinds := map[uint32]Kind{}
	for rows.Next() {
		var oid uint32
		var category string
		if err := rows.Scan(&oid, &category); err != nil {
			return nil, fmt.Errorf("read column types: %w", err)
		}
		kinds[oid] = kindOf(oid, category)
	}
	return kinds, rows.Err()
}

// kindOf decides by type OID and category. Only categories whose members all have a btree
// opclass count as discrete, so count(DISTINCT) and GROUP BY never fail on them.
func kindOf(oid uint32, category string) Kind {
	switch oid {
	case 20, 21, 23, 700, 701, 1700: // int8, int2, int4, float4, float8, numeric
		return KindNumber
	case 1082:
		return KindDate
	case 1114, 1184:
		return KindTimestamp
	case 114, 3802, 142, 4072: // json, jsonb, xml, jsonpath
		return KindOpaque
	case 17, 2950, 3220: // bytea, uuid, pg_lsn (category U, but with equality and order)
		return KindDiscrete
	}
	switch category {
	case "B", "D", "E", "I", "N", "S", "T", "V":
		return KindDiscrete
	}
	return KindOpaque
}

// colPlan is how one column is measured.
type colPlan struct {
	st    *ColumnStats
	ident string // quoted column name
	num   string // the column as float8, for ordered kinds
	text  string // the column as text in collation "C", for a Shape; "" for none
}

// weight is how many expressions aggregate may select for the column.
func (p colPlan) weight() int {
	if p.text != "" {
		return 12
	}
	return 5
}

// chunks cuts plans into runs that one SELECT can measure.
func chunks(plans []colPlan) [][]colPlan {
	var out [][]colPlan
	start, exprs := 0, 1
	for i, p := range plans {
		if i > start && (i-start >= maxColumnsPerQuery || exprs+p.weight() > maxExprsPerQuery) {
			out = append(out, plans[start:i])
			start, exprs = i, 1
		}
		exprs += p.weight()
	}
	return append(out, plans[start:]) // also for a table without columns: one count(*)
}

func collectTable(ctx context.Context, tx pgx.Tx, g *fkgraph.Graph, t *schemas.Table, kinds map[uint32]Kind, opts Options) (*TableStats, error) {
	ts := &TableStats{Name: t.Name.String()}
	if t.Parent != nil {
		ts.Parent = t.Root().Name.String()
	}
	fks := foreignKeys(g, t)
	refs := map[string]string{}
	for _, fk := range fks {
		for _, c := range fk.Columns {
			refs[c] = fk.Ref.String()
		}
	}
	ts.Columns = make([]ColumnStats, len(t.Columns))
	plans := make([]colPlan, len(t.Columns))
	for i, c := range t.Columns {
		kind, ok := kinds[c.BaseOID]
		if !ok {
			kind = KindOpaque
		}
		ts.Columns[i] = ColumnStats{Name: c.Name, Type: c.TypeName, Kind: kind, Key: inUnique(t, c.Name), References: refs[c.Name]}
		p := colPlan{st: &ts.Columns[i], ident: schemas.QuoteIdent(c.Name)}
		switch kind {
		case KindNumber:
			p.num = p.ident + "::float8"
			if c.BaseOID == 1700 {
				// A numeric beyond float8's range cannot be cast: such values stay out of
				// the quantiles (they still count in nulls and distincts).
				p.num = "CASE WHEN abs(" + p.ident + ") < 1e300 THEN " + p.ident + "::float8 END"
			}
		case KindDate, KindTimestamp:
			p.num = "extract(epoch FROM " + p.ident + ")::float8"
		}
		if opts.Personal[ts.Name+"."+c.Name] {
			cs := &ts.Columns[i]
			cs.Personal, cs.Shape = true, &Shape{}
			p.text = "(" + p.ident + ")::text COLLATE \"C\""
			if !opts.ShowValues {
				cs.Masked = true
				p.num = "" // no min, max or quantiles: they are values
			}
		}
		plans[i] = p
	}

	// Estimate before counting, so a small table is read once. A table never analyzed
	// (reltuples -1) is guessed at 100 rows a page.
	est := t.EstRows
	if est < 0 {
		est = t.Pages * 100
	}
	large := opts.SampleAbove >= 0 && est > opts.SampleAbove
	table := t.Name.Quoted()
	from := ""
	for _, chunk := range chunks(plans) {
		if !large {
			if err := aggregate(ctx, tx, table, "", chunk, &ts.Rows, passAll); err != nil {
				return nil, err
			}
			continue
		}
		if err := aggregate(ctx, tx, table, "", chunk, &ts.Rows, passExact); err != nil {
			return nil, err
		}
		from = ""
		if ts.Rows > opts.SampleAbove {
			pct := min(100, 100*float64(opts.SampleRows)/float64(ts.Rows))
			// REPEATABLE: the same data gives the same sample, so a report can be rerun.
			from = " TABLESAMPLE BERNOULLI (" + strconv.FormatFloat(pct, 'g', 6, 64) + ") REPEATABLE (0)"
			ts.Sampled = true
		}
		if err := aggregate(ctx, tx, table, from, chunk, &ts.SampleRows, passSampled); err != nil {
			return nil, err
		}
		if !ts.Sampled {
			ts.SampleRows = 0
		}
	}
	for i := range ts.Columns {
		c := &ts.Columns[i]
		if ts.Rows > 0 {
			c.NullFraction = float64(ts.Rows-c.NonNull) / float64(ts.Rows)
		}
	}
	if err := topValues(ctx, tx, table, plans, opts.TopValues); err != nil {
		return nil, err
	}
	if err := formats(ctx, tx, table+from, plans); err != nil {
		return nil, err
	}
	for _, fk := range fks {
		f, err := fanout(ctx, tx, t, fk)
		if err != nil {
			return nil, fmt.Errorf("fan-out of %s: %w", fk.FK, err)
		}
		ts.ForeignKeys = append(ts.ForeignKeys, *f)
	}
	return ts, nil
}

// pass says which aggregates one scan computes.
type pass int

const (
	passAll     pass = iota // everything, exactly
	passExact               // the cheap exact ones: non-null counts, min, max
	passSampled             // the sorting ones, on a sample: distinct, quantiles
)

// aggregate runs one SELECT over table (plus from, a TABLESAMPLE clause) computing the
// pass's aggregates for cols, and stores them; count(*) goes to rows.
func aggregate(ctx context.Context, tx pgx.Tx, table, from string, cols []colPlan, rows *int64, p pass) error {
	exprs := []string{"count(*)"}
	dst := []any{rows}
	var after []func()
	sampleNonNull := make([]int64, len(cols))
	for i := range cols {
		c := &cols[i]
		if p == passSampled {
			exprs = append(exprs, "count("+c.ident+")")
			dst = append(dst, &sampleNonNull[i])
		} else {
			exprs = append(exprs, "count("+c.ident+")")
			dst = append(dst, &c.st.NonNull)
		}
		if c.st.Kind != KindOpaque && p != passExact {
			exprs = append(exprs, "count(DISTINCT "+c.ident+")")
			dst = append(dst, &c.st.Distinct)
			nn := &c.st.NonNull
			if p == passSampled {
				nn = &sampleNonNull[i]
			}
			after = append(after, func() {
				if *nn > 0 {
					c.st.DistinctRatio = float64(c.st.Distinct) / float64(*nn)
				}
			})
		}
		if c.text != "" && p != passExact {
			exprs, dst, after = shapeExprs(c, exprs, dst, after, nonNullOf(c, p, sampleNonNull, i))
		}
		if c.num == "" {
			continue
		}
		finite := " FILTER (WHERE " + c.num + " < 'Infinity'::float8 AND " + c.num + " > '-Infinity'::float8)"
		if p != passSampled {
			exprs = append(exprs, "min("+c.num+")"+finite, "max("+c.num+")"+finite)
			dst = append(dst, &c.st.Min, &c.st.Max)
		}
		if p != passExact {
			exprs = append(exprs, "percentile_disc('{"+levels()+"}'::float8[]) WITHIN GROUP (ORDER BY "+c.num+")"+finite)
			dst = append(dst, &c.st.Quantiles)
		}
	}
	sql := "SELECT " + strings.Join(exprs, ", ") + " FROM " + table + from
	if err := tx.QueryRow(ctx, sql).Scan(dst...); err != nil {
		return err
	}
	for _, f := range after {
		f()
	}
	return nil
}

// nonNullOf is where the pass counts the column's non-null values.
func nonNullOf(c *colPlan, p pass, sampleNonNull []int64, i int) *int64 {
	if p == passSampled {
		return &sampleNonNull[i]
	}
	return &c.st.NonNull
}

// blank matches a value that is empty or only white space.
const blank = " ~ '^[[:space:]]*$'"

// shapeExprs adds the aggregates of c's Shape, and what turns them into it once scanned.
func shapeExprs(c *colPlan, exprs []string, dst []any, after []func(), values *int64) ([]string, []any, []func()) {
	sh := c.st.Shape
	var blanks int64
	var mean *float64
	var chars, digits, spaces, punct *int64
	count := func(re string) string {
		return "sum(char_length(regexp_replace(" + c.text + ", '" + re + "', '', 'g')))"
	}
	filter := " FILTER (WHERE NOT " + c.text + blank + ")"
	exprs = append(exprs,
		"count(*) FILTER (WHERE "+c.text+blank+")",
		"(avg(char_length("+c.text+"))"+filter+")::float8",
		"percentile_disc('{"+levels()+"}'::float8[]) WITHIN GROUP (ORDER BY char_length("+c.text+")::float8)"+filter,
		"sum(char_length("+c.text+"))"+filter,
		count("[^0-9]")+filter, count("[^[:space:]]")+filter, count("[^[:punct:]]")+filter)
	dst = append(dst, &blanks, &mean, &sh.Lengths, &chars, &digits, &spaces, &punct)
	after = append(after, func() {
		sh.Values = *values
		if sh.Values > 0 {
			sh.BlankFraction = float64(blanks) / float64(sh.Values)
		}
		if mean != nil {
			sh.LengthMean = *mean
		}
		if chars != nil && *chars > 0 {
			n := float64(*chars)
			sh.Digits, sh.Spaces, sh.Other = float64(*digits)/n, float64(*spaces)/n, float64(*punct)/n
			sh.Letters = max(0, 1-sh.Digits-sh.Spaces-sh.Other)
		}
	})
	return exprs, dst, after
}

func levels() string {
	s := make([]string, len(QuantileLevels))
	for i, l := range QuantileLevels {
		s[i] = strconv.FormatFloat(l, 'f', -1, 64)
	}
	return strings.Join(s, ",")
}

// topValues counts the values of every column with at most limit distinct values, in one
// scan: each row is unpivoted into (column, value) pairs and grouped. In a sampled table the
// sample may have missed rare values, so up to limit+1 are fetched per column and a column
// with more loses its top values. A masked personal column of an ordered kind (a number, a
// date) gets none; the values of other masked ones are masked (pii.Mask).
func topValues(ctx context.Context, tx pgx.Tx, table string, plans []colPlan, limit int) error {
	var values []string
	var which []*ColumnStats
	for _, p := range plans {
		if p.st.Kind == KindOpaque || p.st.Distinct == 0 || p.st.Distinct > int64(limit) || p.st.Masked && p.st.Kind.Ordered() {
			continue
		}
		// COLLATE "C": columns of other collations share the VALUES column, and both
		// servers then group and order the values byte by byte, alike.
		values = append(values, fmt.Sprintf("(%d, %s::text COLLATE \"C\")", len(which), p.ident))
		which = append(which, p.st)
	}
	if len(which) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
SELECT i, v, n FROM (
  SELECT x.i, x.v, count(*) AS n, row_number() OVER (PARTITION BY x.i ORDER BY count(*) DESC, x.v) AS rn
  FROM `+table+` CROSS JOIN LATERAL (VALUES `+strings.Join(values, ", ")+`) AS x(i, v)
  WHERE x.v IS NOT NULL
  GROUP BY x.i, x.v) s
WHERE rn <= $1
ORDER BY i, rn`, limit+1)
	if err != nil {
		return fmt.Errorf("top values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var vf ValueFraction
		if err := rows.Scan(&i, &vf.Value, &vf.Count); err != nil {
			return fmt.Errorf("top values: %w", err)
		}
		c := which[i]
		vf.Fraction = float64(vf.Count) / float64(c.NonNull)
		c.TopValues = append(c.TopValues, vf)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("top values: %w", err)
	}
	for _, c := range which {
		if len(c.TopValues) > limit {
			c.TopValues = nil // more than the sample showed: not low-cardinality after all
			continue
		}
		// The counts are exact, so are these (they differ from a sample's).
		c.Distinct = int64(len(c.TopValues))
		c.DistinctRatio = float64(c.Distinct) / float64(c.NonNull)
		if c.Masked {
			for i := range c.TopValues {
				c.TopValues[i].Value = pii.Mask(c.TopValues[i].Value)
			}
			// Ties in the order of the masks, not of the values they hide.
			slices.SortStableFunc(c.TopValues, func(a, b ValueFraction) int {
				if a.Count != b.Count {
					return cmp.Compare(b.Count, a.Count)
				}
				return strings.Compare(a.Value, b.Value)
			})
		}
	}
	return nil
}

// maxFormats is how many formats a Shape lists.
const maxFormats = 5

// formats finds the most common formats (Shape.Formats) of the personal columns, in one scan
// of from (the table, or its sample where the other shapes were measured from one).
func formats(ctx context.Context, tx pgx.Tx, from string, plans []colPlan) error {
	var values []string
	var which []*Shape
	for _, p := range plans {
		if p.text == "" {
			continue
		}
		values = append(values, fmt.Sprintf("(%d, CASE WHEN NOT %s%s THEN left(regexp_replace(%s, '[^@+():/]+', 'w', 'g'), 24) END)",
			len(which), p.text, blank, p.text))
		which = append(which, p.st.Shape)
	}
	if len(which) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
SELECT i, f, n, total FROM (
  SELECT x.i, x.f, count(*) AS n, sum(count(*)) OVER (PARTITION BY x.i)::bigint AS total,
    row_number() OVER (PARTITION BY x.i ORDER BY count(*) DESC, x.f) AS rn
  FROM `+from+` CROSS JOIN LATERAL (VALUES `+strings.Join(values, ", ")+`) AS x(i, f)
  WHERE x.f IS NOT NULL
  GROUP BY x.i, x.f) s
WHERE rn <= $1
ORDER BY i, rn`, maxFormats)
	if err != nil {
		return fmt.Errorf("formats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var total int64
		var vf ValueFraction
		if err := rows.Scan(&i, &vf.Value, &vf.Count, &total); err != nil {
			return fmt.Errorf("formats: %w", err)
		}
		vf.Fraction = float64(vf.Count) / float64(total)
		which[i].Formats = append(which[i].Formats, vf)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("formats: %w", err)
	}
	return nil
}

// fanout builds the histogram of children per parent row for fk of child table t: the child
// rows are grouped by key (rows with a null key column reference nothing), and every parent
// row is joined to its group, so parents without children count in bucket 0.
func fanout(ctx context.Context, tx pgx.Tx, t *schemas.Table, fk *fkgraph.Edge) (*FKStats, error) {
	f := &FKStats{Name: fk.FK, Columns: fk.Columns, Ref: fk.Ref.String(), RefColumns: fk.RefColumns}
	var keys, notNull, on []string
	for i, c := range fk.Columns {
		k := "k" + strconv.Itoa(i)
		keys = append(keys, schemas.QuoteIdent(c)+" AS "+k)
		notNull = append(notNull, schemas.QuoteIdent(c)+" IS NOT NULL")
		on = append(on, "c."+k+" = p."+schemas.QuoteIdent(fk.RefColumns[i]))
	}
	exprs := []string{"count(*)", "COALESCE(sum(c.n), 0)::bigint"}
	for _, b := range FanoutBuckets {
		switch {
		case b.Min == 0:
			exprs = append(exprs, "count(*) FILTER (WHERE c.n IS NULL)")
		case b.Max < 0:
			exprs = append(exprs, fmt.Sprintf("count(*) FILTER (WHERE c.n >= %d)", b.Min))
		default:
			exprs = append(exprs, fmt.Sprintf("count(*) FILTER (WHERE c.n BETWEEN %d AND %d)", b.Min, b.Max))
		}
	}
	groupBy := make([]string, len(fk.Columns))
	for i := range groupBy {
		groupBy[i] = strconv.Itoa(i + 1)
	}
	sql := "WITH c AS (SELECT " + strings.Join(keys, ", ") + ", count(*) AS n FROM " + t.Name.Quoted() +
		" WHERE " + strings.Join(notNull, " AND ") + " GROUP BY " + strings.Join(groupBy, ", ") + ")\n" +
		"SELECT " + strings.Join(exprs, ", ") + " FROM " + fk.Ref.Quoted() + " p LEFT JOIN c ON " + strings.Join(on, " AND ")
	counts := make([]int64, len(FanoutBuckets))
	dst := []any{&f.Parents, &f.Children}
	for i := range counts {
		dst = append(dst, &counts[i])
	}
	if err := tx.QueryRow(ctx, sql).Scan(dst...); err != nil {
		return nil, err
	}
	f.Histogram = make([]Bucket, len(FanoutBuckets))
	copy(f.Histogram, FanoutBuckets)
	if f.Parents > 0 {
		f.Mean = float64(f.Children) / float64(f.Parents)
		for i := range f.Histogram {
			f.Histogram[i].Fraction = float64(counts[i]) / float64(f.Parents)
		}
	}
	return f, nil
}

// foreignKeys returns the foreign keys t has in the catalog, once each (see fkgraph: a key
// to a partitioned table stands for its per-partition clones), in the catalog's order. Keys
// the graph spreads from a sibling partition are not t's constraints, so not measured here.
func foreignKeys(g *fkgraph.Graph, t *schemas.Table) []*fkgraph.Edge {
	var out []*fkgraph.Edge
	for _, e := range g.Out(t) {
		if e.FK != "" && e.Spread == nil {
			out = append(out, e)
		}
	}
	return out
}

func inUnique(t *schemas.Table, col string) bool {
	for _, u := range t.Uniques {
		for _, c := range u {
			if c == col {
				return true
			}
		}
	}
	return false
}
