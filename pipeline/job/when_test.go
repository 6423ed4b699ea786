package job

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/transforms"
)

const whenSchema = `
CREATE TYPE tier AS ENUM ('free', 'pro', 'vip');
CREATE TABLE customers (
  id int PRIMARY KEY,
  name text NOT NULL,
  country varchar(2),
  age int,
  tier tier,
  phone text,
  notes text
);
INSERT INTO customers
SELECT i, 'name ' || i,
  CASE WHEN i % 10 = 0 THEN NULL WHEN i % 3 = 0 THEN 'DE' WHEN i % 3 = 1 THEN 'FR' ELSE 'AT' END,
  CASE WHEN i % 7 = 0 THEN NULL ELSE i % 90 END,
  (ARRAY['free', 'pro', 'vip'])[1 + i % 3]::tier,
  CASE WHEN i % 11 = 0 THEN NULL ELSE '+49 30 ' || (1000000 + i) END,
  CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || i || ' é ''quoted''' END
FROM generate_series(1, 5000) i;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers);
INSERT INTO orders SELECT i, 1 + i % 5000 FROM generate_series(1, 100) i;
`

type whenRow struct {
	country, phone, notes *string
	age                   *int
	digest                string // md5 of the whole row's text form
}

func readWhenRows(t *testing.T, dsn string) map[int]whenRow {
	t.Helper()
	rows, err := pgtest.Connect(t, dsn).Query(context.Background(),
		"SELECT id, country, age, phone, notes, md5(c::text) FROM customers c")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]whenRow{}
	for rows.Next() {
		var id int
		var r whenRow
		if err := rows.Scan(&id, &r.country, &r.age, &r.phone, &r.notes, &r.digest); err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

func eqPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// Rules with conditions on a text column and on an integer column rewrite exactly the rows
// the conditions select; every other row arrives byte for byte as it was.
func TestSyncWhenRewritesOnlySelectedRows(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), whenSchema)
	dst := pgtest.NewDB(t)
	cfg, err := config.Parse("when.yaml", []byte(`tables:
  public.customers:
    columns:
      phone: {transform: hash, when: "country = 'DE'"}
      notes: {transform: "null", when: "age >= 65 AND tier IN ('pro', 'vip')"}
`))
	if err != nil {
		t.Fatal(err)
	}
	o := syncOpts(src, dst)
	o.Config = cfg
	o.Key, _ = transforms.NewKey("when-sync-test-key-0123456789")
	o.BatchRows = 1000 // several batches per chunk
	res, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows < 5000 {
		t.Fatalf("copied %d rows", res.Rows)
	}
	before, after := readWhenRows(t, src), readWhenRows(t, dst)
	if len(after) != len(before) {
		t.Fatalf("%d rows in the source, %d in the target", len(before), len(after))
	}
	tiers := map[int]string{}
	rows, err := pgtest.Connect(t, src).Query(context.Background(), "SELECT id, tier::text FROM customers")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int
		var tier string
		if err := rows.Scan(&id, &tier); err != nil {
			t.Fatal(err)
		}
		tiers[id] = tier
	}
	var phones, notes, untouched int
	for id, b := range before {
		a := after[id]
		phoneSel := b.country != nil && *b.country == "DE"
		notesSel := b.age != nil && *b.age >= 65 && tiers[id] != "free"
		switch {
		case phoneSel && b.phone != nil:
			phones++
			if eqPtr(a.phone, b.phone) || a.phone == nil {
				t.Errorf("customer %d (DE): phone %v was not rewritten", id, *b.phone)
			}
		case !eqPtr(a.phone, b.phone):
			t.Errorf("customer %d (%v): phone changed %v → %v", id, b.country, b.phone, a.phone)
		}
		switch {
		case notesSel && b.notes != nil:
			notes++
			if a.notes != nil {
				t.Errorf("customer %d (age %d): notes kept", id, *b.age)
			}
		case !eqPtr(a.notes, b.notes):
			t.Errorf("customer %d: notes changed %v → %v", id, b.notes, a.notes)
		}
		if !phoneSel && !notesSel {
			untouched++
			if a.digest != b.digest {
				t.Errorf("customer %d: no condition selects it, yet the row changed", id)
			}
		}
	}
	if phones < 1000 || notes < 100 || untouched < 2000 {
		t.Errorf("the data does not exercise the conditions: %d phones, %d notes rewritten, %d rows untouched", phones, notes, untouched)
	}
	// The table with no rules, and the join, are intact.
	pgtest.AssertSameRows(t, src, dst, "public.customers")

	// verify judges a conditional rule on the rows it selects: the phones of the rows the
	// condition left alone are not survivors, those it selected are all compared.
	var out strings.Builder
	if _, err := Verify(context.Background(), VerifyOptions{Source: config.DSN(src), Target: config.DSN(dst), Rules: Rules{Config: cfg, Key: o.Key}, Out: &out}); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	if want := fmt.Sprintf("phone   hash  %d", phones); !strings.Contains(strings.Join(strings.Fields(out.String()), " "), strings.Join(strings.Fields(want), " ")) {
		t.Errorf("verify did not compare exactly the %d selected phones:\n%s", phones, out.String())
	}
}

// Conditions that cannot work are refused before anything is written.
func TestSyncWhenConfigErrors(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), whenSchema)
	for _, tc := range []struct{ rules, want string }{
		{`      id: {transform: permute, when: "country = 'DE'"}`,
			`when.yaml:4: tables.public.customers.columns.id: when: public.orders.customer_id references this column (foreign key orders_customer_id_fkey), so its rule must rewrite every row to keep the join; remove the condition`},
		{`      phone: {transform: hash, when: "tier = 'gold'"}`,
			`when.yaml:4: tables.public.customers.columns.phone: when: at character 8: column "tier" (tier): invalid input value for enum tier: "gold"`},
		{`      phone: {transform: hash, when: "contry = 'DE'"}`,
			`when.yaml:4: tables.public.customers.columns.phone: when: at character 1: unknown column "contry" (did you mean "country"?)`},
		{`      phone: {transform: hash, when: "age > '18'"}`,
			`when.yaml:4: tables.public.customers.columns.phone: when: at character 7: column "age" is of type integer; compare it with an integer, not the string '18'`},
	} {
		cfg, err := config.Parse("when.yaml", []byte("tables:\n  public.customers:\n    columns:\n"+tc.rules+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		dst := pgtest.NewDB(t)
		o := syncOpts(src, dst)
		o.Config = cfg
		o.Key, _ = transforms.NewKey("when-sync-test-key-0123456789")
		_, err = Sync(context.Background(), o)
		assertCode(t, err, failure.ExitUsage, tc.want)
		if n := len(pgtest.TableDigests(t, dst)); n != 0 {
			t.Errorf("a config error still created %d tables in the target", n)
		}
	}
}

// understudy plan shows each rule's condition, and in the samples which rows it keeps.
func TestPlanShowsWhen(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), whenSchema)
	cfg, err := config.Parse("when.yaml", []byte(`tables:
  public.customers:
    columns:
      phone: {transform: hash, when: "country='DE' and age>=18"}
      name: keep
`))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("when-sync-test-key-0123456789")
	var out bytes.Buffer
	if _, err := Plan(context.Background(), PlanOptions{Source: config.DSN(src), Rules: Rules{Config: cfg, Key: key}, Samples: 20, ShowValues: true, Out: &out}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	// Customer 18 is the first German adult.
	for _, want := range []string{"WHEN", "country = 'DE' AND age >= 18", "+49 30 1000017 (kept: the condition is not true)", "+49 30 1000018 → ",
		"public.customers.phone looks like phone (its name), and its rule rewrites only the rows where country = 'DE' AND age >= 18: the others are copied as they are"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan output lacks %q:\n%s", want, text)
		}
	}
}
