package report

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/transforms"
)

// people fills a table of 300 people from two word lists: the source gets real-looking
// values, the target fake ones of the same form, as a faithful anonymization writes them.
func people(first, last, domain, area string) string {
	return `
CREATE TABLE people (id int PRIMARY KEY, email text, full_name text, phone text, born date, notes text);
INSERT INTO people
SELECT i,
       lower(f) || '.' || lower(l) || i || '@` + domain + `',
       f || ' ' || l,
       '+1 (` + area + `) ' || lpad((i * 7919 % 1000)::text, 3, '0') || '-' || lpad((i * 104729 % 10000)::text, 4, '0'),
       DATE '1950-01-01' + i * 37,
       CASE WHEN i % 4 = 0 THEN 'called on ' || i END
FROM generate_series(1, 300) i,
     LATERAL (SELECT (ARRAY[` + first + `])[1 + i % 17] AS f, (ARRAY[` + last + `])[1 + (i * 7) % 23] AS l) n;
`
}

var (
	realPeople = people(`'Anna','Bruno','Clara','Dieter','Elena','Farid','Greta','Hugo','Ines','Jonas','Katja','Lars','Mira','Nils','Olga','Paul','Rosa'`,
		`'Schmidt','Kuhn','Weber','Fischer','Meyer','Wagner','Becker','Hoffmann','Koch','Richter','Klein','Wolf','Neumann','Schwarz','Braun','Zimmer','Hartmann','Lange','Werner','Krause','Lehmann','Walter','Peters'`,
		"corp.example", "555")
	fakePeople = people(`'Mara','Tobias','Lena','Felix','Sofia','Jakob','Emma','Noah','Lina','Elias','Hanna','Luca','Ella','Theo','Ida','Finn','Nora'`,
		`'Abbott','Quigley','Stanton','Corwin','Dietrich','Ernser','Feeney','Gleason','Hansen','Jacobi','Kessler','Lowe','Marvin','Nolan','Osinski','Pollich','Reilly','Schaefer','Torp','Upton','Volkman','Wiza','Yundt'`,
		"mailbox.test", "201")
)

const peopleConfig = `tables:
  public.people:
    columns:
      email: email
      full_name: full_name
      phone: phone
      born: birthdate
      notes: null
`

// report --check judges a rewritten column by its shape: fake values of the same form pass,
// and a target that strays in form fails — a column that became all NULL, lost its
// distinct values, whose lengths, characters or format changed — whatever its values.
func TestReportJudgesPersonalColumnsByShape(t *testing.T) {
	src, dst := pgtest.NewDB(t), pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), realPeople)
	dconn := pgtest.Connect(t, dst)
	cfg, err := config.Parse("people.yaml", []byte(peopleConfig))
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, opts ...Options) *Report {
		t.Helper()
		o := RunOptions{Source: config.DSN(src), Target: config.DSN(dst), Config: cfg}
		for _, c := range opts {
			o.Collect = c
		}
		r, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		stray  string
		column string
		fail   []string // the metrics that must fail, and only on column
	}{
		{name: "fake values of the same form"},
		{name: "all NULL", stray: "UPDATE people SET email = NULL", column: "email", fail: []string{"null_fraction"}},
		{name: "lost its distinct values", stray: "UPDATE people SET full_name = 'Pat Doe'", column: "full_name", fail: []string{"distinct"}},
		{name: "lengths changed wildly", stray: "UPDATE people SET full_name = repeat(full_name, 5)", column: "full_name", fail: []string{"length_mean"}},
		{name: "digits became letters", stray: "UPDATE people SET phone = translate(phone, '0123456789', 'abcdefghij')", column: "phone", fail: []string{"chars[digits]", "chars[letters]"}},
		{name: "format changed", stray: "UPDATE people SET email = replace(email, '@', '.at.')", column: "email", fail: []string{"format"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pgtest.Exec(t, dconn, "DROP TABLE IF EXISTS people;"+fakePeople+"UPDATE people SET notes = NULL;"+tc.stray)
			r := run(t)
			var failed []string
			for _, f := range Failed(r.Findings) {
				if f.Column != tc.column {
					t.Errorf("%s %s failed: source %v target %v allowed %s", f.Where(), f.Metric, f.Source, f.Target, f.allowedText())
				}
				failed = append(failed, f.Metric)
			}
			slices.Sort(failed)
			if !slices.Equal(failed, tc.fail) {
				t.Errorf("failed checks %v, want %v on %s%s", failed, tc.fail, tc.column, failedWhere(r.Findings))
			}
			// Only shapes: no check of a personal column compares its values, and none of the
			// rule that sets the shape itself (notes: null).
			for _, f := range r.Findings {
				if f.Column == "" || f.Column == "id" {
					continue
				}
				if strings.HasPrefix(f.Metric, "p") && f.Metric != "format" || strings.HasPrefix(f.Metric, "top_value") || f.Column == "notes" {
					t.Errorf("%s: check %s of a personal column", f.Where(), f.Metric)
				}
			}
			if tc.stray == "" {
				var judged []string
				for _, f := range r.Findings {
					if f.Column == "email" {
						judged = append(judged, f.Metric)
					}
				}
				if want := []string{"null_fraction", "distinct", "length_mean", "chars[letters]", "chars[digits]", "chars[spaces]", "chars[other]", "format"}; !slices.Equal(judged, want) {
					t.Errorf("email judged by %v, want %v", judged, want)
				}
			}
		})
	}
	// A sampled table measures the shapes of the sample, and judges them alike.
	t.Run("sampled", func(t *testing.T) {
		pgtest.Exec(t, dconn, "DROP TABLE IF EXISTS people;"+fakePeople+"UPDATE people SET notes = NULL; ANALYZE people")
		pgtest.Exec(t, pgtest.Connect(t, src), "ANALYZE people")
		r := run(t, Options{SampleAbove: 100, SampleRows: 150})
		// Two samples of 150 rows from differently laid out tables: the quantiles of id may
		// differ, the shapes of the personal columns must not.
		for _, f := range Failed(r.Findings) {
			if f.Column != "id" {
				t.Errorf("%s %s failed: source %v target %v allowed %s", f.Where(), f.Metric, f.Source, f.Target, f.allowedText())
			}
		}
		sh := r.Source.Table("public.people").Column("email").Shape
		if !r.Source.Table("public.people").Sampled || sh == nil || sh.Values == 0 || sh.Values == 300 || len(sh.Formats) == 0 {
			t.Errorf("email's shape of a sample: %+v", sh)
		}
	})
}

// Every rule the report does not judge by shape is a real rule.
func TestReshapingRulesAreRegistered(t *testing.T) {
	reg := transforms.Default()
	for name := range reshaping {
		if _, ok := reg.Lookup(name); !ok {
			t.Errorf("reshaping names %q, which is no transformer", name)
		}
	}
}
