package report

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// handMade is a schema whose every measure can be worked out by hand (see the test).
const handMade = `
CREATE TABLE parent (
  id    int PRIMARY KEY,
  grp   text,
  score int,
  born  date,
  doc   jsonb
);
INSERT INTO parent
SELECT i,
       CASE WHEN i <= 5 THEN 'a' WHEN i <= 8 THEN 'b' END,
       i,
       DATE '2020-01-01' + i,
       CASE WHEN i <= 7 THEN jsonb_build_object('i', i) END
FROM generate_series(1, 10) i;

CREATE TABLE child (
  id        serial PRIMARY KEY,
  parent_id int REFERENCES parent (id)
);
-- children per parent 1..10: 0, 1, 2, 3, 6, 11, 25, 60, 0, 1; and two orphans without a parent
INSERT INTO child (parent_id)
SELECT p FROM (VALUES (2, 1), (3, 2), (4, 3), (5, 6), (6, 11), (7, 25), (8, 60), (10, 1)) AS v(p, n), generate_series(1, n);
INSERT INTO child (parent_id) VALUES (NULL), (NULL);

CREATE TABLE pair (a int, b int, PRIMARY KEY (a, b));
INSERT INTO pair VALUES (1, 1), (1, 2), (2, 1);
CREATE TABLE pair_child (a int, b int, FOREIGN KEY (a, b) REFERENCES pair (a, b));
INSERT INTO pair_child VALUES (1, 1), (1, 1), (2, 1), (NULL, 1);
ANALYZE;
`

func collectDSN(t *testing.T, dsn string, opts Options) *Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := Collect(ctx, pgtest.Connect(t, dsn), opts)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	return st
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestReportCollectHandMade(t *testing.T) {
	dsn := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, dsn), handMade)
	for _, opts := range []struct {
		name string
		o    Options
	}{{"exact", Options{}}, {"sampled", Options{SampleAbove: 5, SampleRows: 1_000_000}}} {
		t.Run(opts.name, func(t *testing.T) {
			st := collectDSN(t, dsn, opts.o)
			p := st.Table("public.parent")
			if p == nil || p.Rows != 10 {
				t.Fatalf("public.parent: %+v", p)
			}
			// A sample of 1e6 rows out of 10 is 100%: the sampled path must give the same numbers.
			if p.Sampled != (opts.name == "sampled") {
				t.Errorf("sampled = %v", p.Sampled)
			}
			grp := p.Column("grp")
			if grp.Kind != KindDiscrete || !near(grp.NullFraction, 0.2) || grp.Distinct != 2 || !near(grp.DistinctRatio, 0.25) {
				t.Errorf("grp: %+v", grp)
			}
			wantTop := []ValueFraction{{"a", 5, 5.0 / 8}, {"b", 3, 3.0 / 8}}
			if !reflect.DeepEqual(grp.TopValues, wantTop) {
				t.Errorf("grp top values %+v, want %+v", grp.TopValues, wantTop)
			}
			score := p.Column("score")
			// percentile_disc over 1..10: the first value whose cumulative fraction reaches the level.
			if score.Kind != KindNumber || score.NullFraction != 0 || score.Distinct != 10 || score.DistinctRatio != 1 ||
				*score.Min != 1 || *score.Max != 10 || !reflect.DeepEqual(score.Quantiles, []float64{1, 3, 5, 8, 10}) {
				t.Errorf("score: %+v min %v max %v", score, *score.Min, *score.Max)
			}
			if score.TopValues == nil || len(score.TopValues) != 10 || score.TopValues[0].Fraction != 0.1 {
				t.Errorf("score top values: %+v", score.TopValues)
			}
			born := p.Column("born")
			day := func(d string) float64 {
				tm, _ := time.Parse("2006-01-02", d)
				return float64(tm.Unix())
			}
			want := []float64{day("2020-01-02"), day("2020-01-04"), day("2020-01-06"), day("2020-01-09"), day("2020-01-11")}
			if born.Kind != KindDate || !reflect.DeepEqual(born.Quantiles, want) || *born.Min != day("2020-01-02") {
				t.Errorf("born: %+v, want quantiles %v", born, want)
			}
			if got := formatValue(KindDate, born.Quantiles[2]); got != "2020-01-06" {
				t.Errorf("born p50 prints as %s", got)
			}
			doc := p.Column("doc")
			if doc.Kind != KindOpaque || !near(doc.NullFraction, 0.3) || doc.Distinct != 0 || doc.TopValues != nil || doc.Quantiles != nil {
				t.Errorf("doc: %+v", doc)
			}
			if id := p.Column("id"); !id.Key || id.DistinctRatio != 1 || id.TopValues != nil && len(id.TopValues) != 10 {
				t.Errorf("id: %+v", id)
			}

			c := st.Table("public.child")
			if c.Rows != 111 || !near(c.Column("parent_id").NullFraction, 2.0/111) || c.Column("parent_id").References != "public.parent" {
				t.Errorf("child: rows %d, parent_id %+v", c.Rows, c.Column("parent_id"))
			}
			if len(c.ForeignKeys) != 1 {
				t.Fatalf("child foreign keys: %+v", c.ForeignKeys)
			}
			fk := c.ForeignKeys[0]
			if fk.Parents != 10 || fk.Children != 109 || !near(fk.Mean, 10.9) || fk.Ref != "public.parent" {
				t.Errorf("fan-out: %+v", fk)
			}
			wantHist := []float64{0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}
			for i, b := range fk.Histogram {
				if !near(b.Fraction, wantHist[i]) || b.Label != FanoutBuckets[i].Label {
					t.Errorf("bucket %s: %v, want %v", b.Label, b.Fraction, wantHist[i])
				}
			}

			pc := st.Table("public.pair_child")
			if len(pc.ForeignKeys) != 1 {
				t.Fatalf("pair_child foreign keys: %+v", pc.ForeignKeys)
			}
			cfk := pc.ForeignKeys[0]
			if !reflect.DeepEqual(cfk.Columns, []string{"a", "b"}) || cfk.Parents != 3 || cfk.Children != 3 || !near(cfk.Mean, 1) {
				t.Errorf("composite fan-out: %+v", cfk)
			}
			third := 1.0 / 3
			for i, want := range []float64{third, third, third, 0, 0, 0, 0, 0} {
				if !near(cfk.Histogram[i].Fraction, want) {
					t.Errorf("composite bucket %s: %v, want %v", cfk.Histogram[i].Label, cfk.Histogram[i].Fraction, want)
				}
			}
		})
	}
}

// Values read the same on two servers whatever their settings, columns of different
// collations share the top-values scan, and a numeric beyond float8 does not stop a report.
func TestReportCollectIsPortable(t *testing.T) {
	const schema = `
CREATE TABLE t (
  a  text COLLATE "C",
  b  text COLLATE "POSIX",
  ts timestamptz,
  n  numeric
);
INSERT INTO t SELECT CASE WHEN i % 2 = 0 THEN 'x' ELSE 'y' END, CASE WHEN i % 3 = 0 THEN 'p' ELSE 'q' END,
  TIMESTAMPTZ '2024-01-01 12:00:00+00' + (i % 3) * interval '1 hour', i
FROM generate_series(1, 30) i;
INSERT INTO t (n) VALUES (1e400);
`
	src, dst := pgtest.NewDB(t), pgtest.NewDB(t)
	for _, db := range []string{src, dst} {
		pgtest.Exec(t, pgtest.Connect(t, db), schema)
	}
	// The target's server shows times in another zone and dates in another style.
	pgtest.Exec(t, pgtest.Connect(t, dst), `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), 'Asia/Kolkata');
EXECUTE format('ALTER DATABASE %I SET DateStyle = %L', current_database(), 'SQL, DMY'); END $$`)
	s, d := collectDSN(t, src, Options{}), collectDSN(t, dst, Options{})
	ts := s.Table("public.t").Column("ts")
	if ts == nil || len(ts.TopValues) != 3 || ts.TopValues[0].Value != "2024-01-01 12:00:00+00" && ts.TopValues[0].Value != "2024-01-01 13:00:00+00" && ts.TopValues[0].Value != "2024-01-01 14:00:00+00" {
		t.Fatalf("top values of ts: %+v", ts)
	}
	if n := s.Table("public.t").Column("n"); n == nil || n.Max == nil || *n.Max != 30 {
		t.Errorf("n: %+v, want its quantiles over the values float8 holds (max 30)", n)
	}
	if failed := Failed(Compare(s, d, CompareOptions{})); len(failed) > 0 {
		t.Errorf("the same data on a server with other settings fails %d checks: %+v", len(failed), failed)
	}
}

// A foreign key to a partitioned table inside a partition tree is measured once, against
// every row of that table, under the constraint's own name: not as one of the per-partition
// clones PostgreSQL adds beside it (named notes_event_id_y_m_fkey, …1, …2, so sorting before
// it here), each of which sees one partition's rows.
func TestReportFanOutToASubPartitionedTable(t *testing.T) {
	dsn := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, dsn), `
CREATE TABLE events (id int, y int, m int, PRIMARY KEY (id, y, m)) PARTITION BY LIST (y);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES IN (2023);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES IN (2024) PARTITION BY LIST (m);
CREATE TABLE events_2024_1 PARTITION OF events_2024 FOR VALUES IN (1);
CREATE TABLE events_2024_2 PARTITION OF events_2024 FOR VALUES IN (2);
INSERT INTO events SELECT i, 2023 + i % 2, 1 + i % 4 / 2 FROM generate_series(1, 40) i;
CREATE TABLE notes (event_id int, y int, m int, CONSTRAINT zz_note_event FOREIGN KEY (event_id, y, m) REFERENCES events_2024);
INSERT INTO notes SELECT id, y, m FROM events WHERE y = 2024 AND id <= 10;`)
	notes := collectDSN(t, dsn, Options{}).Table("public.notes")
	if notes == nil || len(notes.ForeignKeys) != 1 {
		t.Fatalf("public.notes: %+v, want its one foreign key", notes)
	}
	fk := notes.ForeignKeys[0]
	if fk.Name != "zz_note_event" || fk.Ref != "public.events_2024" || fk.Parents != 20 || fk.Children != 5 || !near(fk.Mean, 0.25) {
		t.Errorf("fan-out %s → %s: %d parents, %d children, mean %v; want zz_note_event → public.events_2024: 20, 5, 0.25",
			fk.Name, fk.Ref, fk.Parents, fk.Children, fk.Mean)
	}
}
