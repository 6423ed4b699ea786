package job

import (
	"context"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/transforms"
)

const verifySchema = `
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
INSERT INTO countries VALUES ('DE', 'Germany'), ('FR', 'France'), ('AT', 'Austria');
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL, country text REFERENCES countries);
INSERT INTO customers (email, country)
SELECT 'person' || g || '@example.org', (ARRAY['DE', 'FR', 'AT'])[1 + g % 3] FROM generate_series(1, 200) g;
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, total numeric(10,2));
INSERT INTO orders (customer_id, total) SELECT 1 + g % 200, g * 1.5 FROM generate_series(0, 599) g;
`

// verifyAfter syncs src under the config's YAML into a fresh target and returns it.
func verifyAfter(t *testing.T, src, yaml string, key *transforms.Key) (string, *config.Config) {
	t.Helper()
	cfg, err := config.Parse("verify.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	dst := pgtest.NewDB(t)
	o := syncOpts(src, dst)
	o.Config, o.Key = cfg, key
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return dst, cfg
}

func runVerify(t *testing.T, src, dst string, cfg *config.Config, key *transforms.Key) (string, error) {
	t.Helper()
	var out strings.Builder
	_, err := Verify(context.Background(), VerifyOptions{Source: config.DSN(src), Target: config.DSN(dst), Rules: Rules{Config: cfg, Key: key}, Out: &out})
	return out.String(), err
}

// A subset sync verifies: each restricted table holds exactly the rows the subset plan keeps
// (the report says so), and a row deleted from the target is still caught.
func TestVerifySubset(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), verifySchema)
	key, _ := transforms.NewKey("verify-subset-key-0123456789")
	dst, cfg := verifyAfter(t, src, `tables:
  public.customers:
    where: "id % 4 = 0"
    include_children: true
    columns:
      email: email
`, key)
	out, err := runVerify(t, src, dst, cfg, key)
	if err != nil {
		t.Fatalf("verify after a subset sync: %v\n%s", err, out)
	}
	if !strings.Contains(out, "subset plan keeps 50 of 200") || !strings.Contains(out, "subset plan keeps 150 of 600") {
		t.Errorf("the report does not say the counts come from the subset plan:\n%s", out)
	}
	pgtest.Exec(t, pgtest.Connect(t, dst), "DELETE FROM orders WHERE id = (SELECT min(id) FROM orders)")
	out, err = runVerify(t, src, dst, cfg, key)
	if err == nil || !strings.Contains(out, "public.orders") || !strings.Contains(out, "149 in target") {
		t.Errorf("verify after deleting an order: %v\n%s", err, out)
	}
}

// A scaled sync verifies: scaled tables hold factor × the source's rows, shared ones the
// source's; a row missing from the target is still caught.
func TestVerifyScale(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), verifySchema)
	key, _ := transforms.NewKey("verify-scale-key-0123456789")
	dst, cfg := verifyAfter(t, src, `tables:
  public.customers:
    columns:
      email: email
scale:
  factor: 3
  shared: [public.countries]
`, key)
	out, err := runVerify(t, src, dst, cfg, key)
	if err != nil {
		t.Fatalf("verify after a scaled sync: %v\n%s", err, out)
	}
	if !strings.Contains(out, "3 × 600 source rows") {
		t.Errorf("the report does not say the counts come from the scale factor:\n%s", out)
	}
	pgtest.Exec(t, pgtest.Connect(t, dst), "DELETE FROM orders WHERE id = (SELECT max(id) FROM orders)")
	out, err = runVerify(t, src, dst, cfg, key)
	if err == nil || !strings.Contains(out, "1799 in target") {
		t.Errorf("verify after deleting an order: %v\n%s", err, out)
	}

	// sync --scale 2 overrides the config's factor; so does verify --scale 2.
	twice := pgtest.NewDB(t)
	o := syncOpts(src, twice)
	o.Config, o.Key, o.Scale = cfg, key, 2
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if _, err := Verify(context.Background(), VerifyOptions{Source: config.DSN(src), Target: config.DSN(twice), Rules: Rules{Config: cfg, Key: key, Scale: 2}, Out: &buf}); err != nil {
		t.Errorf("verify --scale 2 after sync --scale 2: %v\n%s", err, buf.String())
	}
	if out, err := runVerify(t, src, twice, cfg, key); err == nil {
		t.Errorf("verify by the config's factor 3 passed a target scaled ×2:\n%s", out)
	}
}

// Conditions on columns whose names SQL reserves (user, order) verify without a SQL error,
// on a table whose rows the key pairs and on one without a key.
func TestVerifyWhenOnReservedWords(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `
CREATE TABLE accounts (id int PRIMARY KEY, "user" text NOT NULL, "order" int NOT NULL, secret text);
INSERT INTO accounts SELECT g, CASE WHEN g % 5 = 0 THEN 'admin' ELSE 'u' || g END, g % 10, 'secret ' || g FROM generate_series(1, 300) g;
CREATE TABLE events ("user" text, "order" int, secret text);
INSERT INTO events SELECT 'u' || g, g % 10, 'event secret ' || g FROM generate_series(1, 300) g;
`)
	key, _ := transforms.NewKey("verify-when-key-0123456789")
	dst, cfg := verifyAfter(t, src, `tables:
  public.accounts:
    columns:
      secret: {transform: hash, when: "user <> 'admin' AND order > 3"}
  public.events:
    columns:
      secret: {transform: hash, when: "order IN (1, 2) OR user LIKE 'u1%'"}
`, key)
	out, err := runVerify(t, src, dst, cfg, key)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	for _, table := range []string{"public.accounts", "public.events"} {
		if !strings.Contains(out, table) {
			t.Errorf("no line for %s:\n%s", table, out)
		}
	}
}
