package report

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/schemas"
)

const (
	shopRows = 4000
	shopSeed = 7
)

func newShop(t *testing.T) string {
	t.Helper()
	dsn := pgtest.NewDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := fixtures.CreateShop(ctx, dsn, shopRows, shopSeed); err != nil {
		t.Fatalf("create shop: %v", err)
	}
	return dsn
}

func failedWhere(fs []Finding) string {
	var b strings.Builder
	for _, f := range Failed(fs) {
		fmt.Fprintf(&b, "\n  %s %s %s: source %v target %v allowed %s %s", f.Where(), f.Metric, f.Value, f.Source, f.Target, f.allowedText(), f.Note)
	}
	return b.String()
}

// partitioned adds a partitioned table that references parent and is referenced itself.
const partitioned = `
CREATE TABLE events (id int, at date, parent_id int REFERENCES parent (id), PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO events SELECT i, DATE '2023-06-01' + i * 30, 1 + i % 10 FROM generate_series(1, 12) i;
CREATE TABLE tags (event_id int, event_at date, tag text, FOREIGN KEY (event_id, event_at) REFERENCES events (id, at));
INSERT INTO tags SELECT id, at, 'x' FROM events WHERE id <= 4;
`

func TestReportCompareWithItself(t *testing.T) {
	for _, name := range []string{"hand-made", "shop", "shop sampled", "partitioned"} {
		t.Run(name, func(t *testing.T) {
			var dsn string
			opts := Options{}
			switch name {
			case "shop":
				dsn = newShop(t)
			case "shop sampled":
				dsn = newShop(t)
				opts = Options{SampleAbove: 100, SampleRows: 200}
			case "partitioned":
				dsn = pgtest.NewDB(t)
				pgtest.Exec(t, pgtest.Connect(t, dsn), handMade+partitioned)
			default:
				dsn = pgtest.NewDB(t)
				pgtest.Exec(t, pgtest.Connect(t, dsn), handMade)
			}
			a, b := collectDSN(t, dsn, opts), collectDSN(t, dsn, opts)
			if name == "shop sampled" && (!a.Table("public.order_items").Sampled || a.Table("public.products").Sampled) {
				t.Errorf("order_items sampled %v, products sampled %v", a.Table("public.order_items").Sampled, a.Table("public.products").Sampled)
			}
			if name == "partitioned" {
				for _, leaf := range []string{"public.events_2023", "public.events_2024"} {
					e := a.Table(leaf)
					if e == nil || e.Parent != "public.events" || len(e.ForeignKeys) != 1 || e.ForeignKeys[0].Ref != "public.parent" {
						t.Errorf("%s: %+v", leaf, e)
					}
				}
				if a.Table("public.events") != nil {
					t.Error("the partitioned parent, which stores no rows, is measured")
				}
				tags := a.Table("public.tags")
				if tags == nil || len(tags.ForeignKeys) != 1 || tags.ForeignKeys[0].Ref != "public.events" || tags.ForeignKeys[0].Children != 4 {
					t.Errorf("public.tags: %+v", tags)
				}
			}
			fs := Compare(a, b, CompareOptions{})
			if failed := Failed(fs); len(failed) > 0 {
				t.Fatalf("%d findings failed comparing a database with itself:%s", len(failed), failedWhere(fs))
			}
			// Every kind of check was made.
			seen := map[string]bool{}
			for _, f := range fs {
				seen[strings.SplitN(f.Metric, "[", 2)[0]] = true
			}
			for _, m := range []string{"rows", "null_fraction", "distinct_ratio", "top_values", "top_value", "p05", "p95", "fanout_mean", "fanout"} {
				if !seen[m] {
					t.Errorf("no %s check among %d findings", m, len(fs))
				}
			}
		})
	}
}

// duplicate writes a second copy of every row of every table but shared ones into the
// database, the way scaling does (docs/scaling.md): integer keys and references to copied
// tables move by offset, unique text gets a suffix, and columns whose values are nearly
// all distinct are nudged (jitter), so the copy is not an exact repeat of them.
func duplicate(t *testing.T, dsn string, src *Stats, shared map[string]bool) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Connect(t, dsn)
	cat, err := schemas.LoadCatalog(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	const offset = 1_000_000_000
	for _, name := range fixtures.ShopTables {
		tab := cat.Table(schemas.Name{Schema: "public", Name: name})
		if shared[tab.Name.String()] {
			continue
		}
		refs := map[string]string{}
		for _, fk := range tab.ForeignKeys {
			for _, c := range fk.Columns {
				refs[c] = fk.Ref.String()
			}
		}
		st := src.Table(tab.Name.String())
		var cols, exprs []string
		for _, c := range tab.Columns {
			q := schemas.QuoteIdent(c.Name)
			cols = append(cols, q)
			integer := c.TypeName == "bigint" || c.TypeName == "integer"
			moves := tab.IsUnique(c.Name) || (refs[c.Name] != "" && !shared[refs[c.Name]])
			cs := st.Column(c.Name)
			switch {
			case moves && integer:
				q = fmt.Sprintf("%s + %d", q, offset)
			case moves:
				q += " || '~1'"
			case cs.Kind != KindOpaque && cs.DistinctRatio > 0.9 && cs.Kind == KindNumber:
				q += " + 0.01"
			case cs.Kind != KindOpaque && cs.DistinctRatio > 0.9 && cs.Kind == KindTimestamp:
				q += " + interval '1 second'"
			case cs.Kind != KindOpaque && cs.DistinctRatio > 0.9 && cs.Kind == KindDate:
				q += " + 1"
			case cs.Kind != KindOpaque && cs.DistinctRatio > 0.9:
				q += " || '~1'"
			}
			exprs = append(exprs, q)
		}
		pgtest.Exec(t, conn, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", tab.Name.Quoted(),
			strings.Join(cols, ", "), strings.Join(exprs, ", "), tab.Name.Quoted()))
	}
	pgtest.Exec(t, conn, "ANALYZE")
}

func TestReportCompareScaled(t *testing.T) {
	srcDSN := newShop(t)
	src := collectDSN(t, srcDSN, Options{})
	opts := CompareOptions{Scale: 2, Shared: []string{"public.products"}}
	shared := map[string]bool{"public.products": true}

	scaled := func(t *testing.T, change string) (*Stats, []Finding) {
		t.Helper()
		dsn := newShop(t)
		duplicate(t, dsn, src, shared)
		if change != "" {
			pgtest.Exec(t, pgtest.Connect(t, dsn), change)
		}
		dst := collectDSN(t, dsn, Options{})
		return dst, Compare(src, dst, opts)
	}

	t.Run("twice the rows", func(t *testing.T) {
		dst, fs := scaled(t, "")
		if failed := Failed(fs); len(failed) > 0 {
			t.Fatalf("%d of %d findings failed:%s", len(failed), len(fs), failedWhere(fs))
		}
		if got, want := dst.Table("public.orders").Rows, 2*src.Table("public.orders").Rows; got != want {
			t.Errorf("orders: %d rows, want %d", got, want)
		}
		// The same target, compared unscaled, is wrong on every row count but the shared table's.
		for _, f := range Failed(Compare(src, dst, CompareOptions{})) {
			if f.Metric == "rows" && f.Table == "public.products" {
				t.Errorf("products failed unscaled: %+v", f)
			}
		}
	})

	t.Run("nulls changed", func(t *testing.T) {
		_, fs := scaled(t, "UPDATE customers SET phone = NULL WHERE id % 10 = 0")
		failed := Failed(fs)
		if !has(failed, "public.customers", "phone", "", "null_fraction") {
			t.Fatalf("no failed null_fraction for customers.phone:%s", failedWhere(fs))
		}
		for _, f := range failed {
			if f.Table != "public.customers" || f.Column != "phone" {
				t.Errorf("unexpected failure: %s %s", f.Where(), f.Metric)
			}
		}
	})

	t.Run("children deleted", func(t *testing.T) {
		_, fs := scaled(t, "DELETE FROM order_items WHERE order_id % 3 = 0")
		failed := Failed(fs)
		for _, want := range []struct{ fk, metric string }{
			{"", "rows"}, {"order_items_order_id_fkey", "fanout_mean"}, {"order_items_order_id_fkey", "fanout[0]"},
		} {
			if !has(failed, "public.order_items", "", want.fk, want.metric) {
				t.Errorf("no failed %s %s for public.order_items:%s", want.fk, want.metric, failedWhere(fs))
			}
		}
		for _, f := range failed {
			if f.Table != "public.order_items" {
				t.Errorf("unexpected failure: %s %s", f.Where(), f.Metric)
			}
		}
	})
}

func has(fs []Finding, table, column, fk, metric string) bool {
	for _, f := range fs {
		if f.Table == table && f.Column == column && f.FK == fk && f.Metric == metric {
			return true
		}
	}
	return false
}

// TestReportCompareTolerances checks the edges of each tolerance on hand-built stats.
func TestReportCompareTolerances(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	base := func() *Stats {
		return &Stats{Tables: []TableStats{{
			Name: "public.t", Rows: 100,
			Columns: []ColumnStats{
				{Name: "n", Kind: KindNumber, NonNull: 90, NullFraction: 0.1, Distinct: 90, DistinctRatio: 1,
					Min: f(0), Max: f(100), Quantiles: []float64{5, 25, 50, 75, 95}},
				{Name: "s", Kind: KindDiscrete, NonNull: 100, Distinct: 2, DistinctRatio: 0.02,
					TopValues: []ValueFraction{{"x", 70, 0.7}, {"y", 30, 0.3}}},
			},
			ForeignKeys: []FKStats{{Name: "fk", Ref: "public.p", Parents: 10, Children: 20, Mean: 2,
				Histogram: hist(0.5, 0, 0, 0.5, 0, 0, 0, 0)}},
		}}}
	}
	cases := []struct {
		name   string
		change func(*TableStats)
		scale  int
		failed []string // metric of each failed finding
	}{
		{"same", func(*TableStats) {}, 1, nil},
		{"rows off by one", func(t *TableStats) { t.Rows = 101 }, 1, []string{"rows"}},
		{"scaled rows", func(t *TableStats) { t.Rows = 300 }, 3, nil},
		{"scaled rows short", func(t *TableStats) { t.Rows = 299 }, 3, []string{"rows"}},
		{"nulls at the edge", func(t *TableStats) { t.Columns[0].NullFraction = 0.12 }, 1, nil},
		{"nulls past the edge", func(t *TableStats) { t.Columns[0].NullFraction = 0.125 }, 1, []string{"null_fraction"}},
		{"distinct ratio drops", func(t *TableStats) { t.Columns[0].DistinctRatio = 0.9 }, 1, []string{"distinct_ratio"}},
		{"distinct ratio holds", func(t *TableStats) { t.Columns[0].DistinctRatio = 0.91 }, 1, nil},
		// The source's p05–p95 is 5–95: 5 % of it is 4.5.
		{"quantile within 5% of p95 − p05", func(t *TableStats) { t.Columns[0].Quantiles[2] = 54.4 }, 1, nil},
		{"quantile beyond", func(t *TableStats) { t.Columns[0].Quantiles[2] = 54.6 }, 1, []string{"p50"}},
		{"top value fraction", func(t *TableStats) {
			t.Columns[1].TopValues = []ValueFraction{{"x", 66, 0.66}, {"y", 34, 0.34}}
		}, 1, []string{"top_value", "top_value"}},
		{"new top value", func(t *TableStats) {
			t.Columns[1].TopValues = []ValueFraction{{"x", 70, 0.7}, {"y", 29, 0.29}, {"z", 1, 0.01}}
		}, 1, []string{"top_values"}},
		{"fan-out mean", func(t *TableStats) { t.ForeignKeys[0].Mean = 2.11 }, 1, []string{"fanout_mean"}},
		{"fan-out bucket", func(t *TableStats) { t.ForeignKeys[0].Histogram = hist(0.46, 0.04, 0, 0.5, 0, 0, 0, 0) }, 1,
			[]string{"fanout[0]", "fanout[1]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := base()
			tc.change(&dst.Tables[0])
			var got []string
			for _, f := range Failed(Compare(base(), dst, CompareOptions{Scale: tc.scale})) {
				got = append(got, f.Metric)
			}
			if strings.Join(got, " ") != strings.Join(tc.failed, " ") {
				t.Errorf("failed %v, want %v", got, tc.failed)
			}
		})
	}
}

func hist(fs ...float64) []Bucket {
	out := make([]Bucket, len(FanoutBuckets))
	copy(out, FanoutBuckets)
	for i, f := range fs {
		out[i].Fraction = f
	}
	return out
}

// The quantile tolerance is a fraction of the source's central 90 %: a sentinel maximum does
// not widen it, and a column of one value still lets a few percent of jitter through.
func TestQuantileToleranceSpan(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	col := func(min, max float64, q ...float64) *ColumnStats {
		return &ColumnStats{Name: "c", Kind: KindNumber, NonNull: 100, Min: f(min), Max: f(max), Quantiles: q}
	}
	for _, c := range []struct {
		name     string
		src, dst *ColumnStats
		fail     bool
	}{
		{"a sentinel maximum", col(0, 1e9, 5, 25, 50, 75, 95), col(0, 1e9, 5, 25, 60, 75, 95), true},
		{"one value, jittered 4 %", col(9.99, 9.99, 9.99, 9.99, 9.99, 9.99, 9.99), col(9.6, 10.4, 9.6, 9.8, 10, 10.2, 10.39), false},
		{"one value, moved 10 %", col(9.99, 9.99, 9.99, 9.99, 9.99, 9.99, 9.99), col(11, 11, 11, 11, 11, 11, 11), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := &Stats{Tables: []TableStats{{Name: "public.t", Rows: 100, Columns: []ColumnStats{*c.src}}}}
			dst := &Stats{Tables: []TableStats{{Name: "public.t", Rows: 100, Columns: []ColumnStats{*c.dst}}}}
			var failed []string
			for _, fd := range Failed(Compare(src, dst, CompareOptions{})) {
				failed = append(failed, fd.Metric)
			}
			if (len(failed) > 0) != c.fail {
				t.Errorf("failed %v, want failing: %v", failed, c.fail)
			}
		})
	}
}

// A value from the database cannot break the text report's layout or reach the terminal as
// an escape sequence; long values are cut.
func TestShortenEscapesControlCharacters(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"plain", 20, "plain"},
		{"a\tb\nc", 20, `a\u0009b\u000ac`},
		{"\x1b[31mred", 20, `\u001b[31mred`},
		{"a very long value", 7, "a very…"},
	} {
		if got := shorten(c.in, c.n); got != c.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
