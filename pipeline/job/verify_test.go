package job

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
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

// The survivor thresholds hold at their edges, on targets written by hand with exact shares
// of the source's values left in place (100 people, paired by their untransformed id):
// email, an identifier rule, allows none, so one leaked address fails, with or without a key
// to pair the rows; first_name may match a real name by chance 20 % of the time, so 19 left
// in place pass and 21 fail.
func TestVerifySurvivorThresholdsAtTheirEdges(t *testing.T) {
	const schema = `
CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL, first_name text NOT NULL);
CREATE TABLE contacts (email text NOT NULL);
`
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), schema+`
INSERT INTO people SELECT g, 'person' || g || '@real-mail.org', 'Real' || g FROM generate_series(1, 100) g;
INSERT INTO contacts SELECT 'contact' || g || '@real-mail.org' FROM generate_series(1, 100) g;
`)
	cfg, err := config.Parse("edges.yaml", []byte(`tables:
  public.people:
    columns:
      email: email
      first_name: first_name
  public.contacts:
    columns:
      email: email
`))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("verify-edges-key-0123456789")
	// target writes a target whose first keptNames people keep their first name and where
	// person leakedPerson and contact leakedContact (0: none) keep their e-mail address.
	target := func(keptNames, leakedPerson, leakedContact int) string {
		dst := pgtest.NewDB(t)
		pgtest.Exec(t, pgtest.Connect(t, dst), schema+fmt.Sprintf(`
INSERT INTO people SELECT g,
	CASE WHEN g = %[2]d THEN 'person' || g || '@real-mail.org' ELSE 'fake' || g || '@example.net' END,
	CASE WHEN g <= %[1]d THEN 'Real' || g ELSE 'Fake' || g END
FROM generate_series(1, 100) g;
INSERT INTO contacts SELECT CASE WHEN g = %[3]d THEN 'contact' || g || '@real-mail.org' ELSE 'fake' || g || '@example.net' END
FROM generate_series(1, 100) g;
`, keptNames, leakedPerson, leakedContact))
		return dst
	}
	// verdict returns the survivors and the verdict verify printed for table.column.
	verdict := func(out, table, column string) (survived, result string) {
		t.Helper()
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) >= 7 && f[0] == table && f[1] == column {
				return f[4], f[6]
			}
		}
		t.Fatalf("verify printed no line for %s.%s:\n%s", table, column, out)
		return "", ""
	}
	for _, tc := range []struct {
		name                       string
		keptNames, person, contact int
		wantNames, wantPeopleEmail string
		wantContactEmail           string
		wantFailures               int
	}{
		{"19 % of first names kept", 19, 0, 0, "19 ok", "0 ok", "0 ok", 0},
		{"21 % of first names kept", 21, 0, 0, "21 FAIL", "0 ok", "0 ok", 1},
		{"one e-mail address leaked, rows paired by key", 0, 37, 0, "0 ok", "1 FAIL", "0 ok", 1},
		{"one e-mail address leaked, no key", 0, 0, 63, "0 ok", "0 ok", "1 FAIL", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := target(tc.keptNames, tc.person, tc.contact)
			var out strings.Builder
			res, err := Verify(context.Background(), VerifyOptions{Source: config.DSN(src), Target: config.DSN(dst), Rules: Rules{Config: cfg, Key: key}, Out: &out})
			for _, c := range []struct{ table, column, want string }{
				{"public.people", "first_name", tc.wantNames},
				{"public.people", "email", tc.wantPeopleEmail},
				{"public.contacts", "email", tc.wantContactEmail},
			} {
				if n, v := verdict(out.String(), c.table, c.column); n+" "+v != c.want {
					t.Errorf("%s.%s: %s survived, %s; want %s\n%s", c.table, c.column, n, v, c.want, out.String())
				}
			}
			if tc.wantFailures == 0 {
				if err != nil {
					t.Errorf("verify failed: %v\n%s", err, out.String())
				}
				return
			}
			assertCode(t, err, failure.ExitFailed, "check(s) failed")
			if res.Failures != tc.wantFailures {
				t.Errorf("%d failures, want %d\n%s", res.Failures, tc.wantFailures, out.String())
			}
		})
	}
}
