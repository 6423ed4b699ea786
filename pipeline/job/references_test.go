package job

import (
	"context"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/transforms"
)

// A key's rule follows through a foreign key and, with a path, into json documents: the e-mail address
// quoted inside each event becomes exactly the customer's new address, and the rest of the
// document stays as it was.
func TestReferenceFollowsKeyIntoJSON(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `
CREATE TABLE customers (id int PRIMARY KEY, email text UNIQUE NOT NULL);
CREATE TABLE events (id int PRIMARY KEY, customer_id int REFERENCES customers, payload jsonb, raw json);
INSERT INTO customers SELECT g, 'c' || g || '@real-mail.org' FROM generate_series(1, 300) g;
CREATE TABLE orders (id int PRIMARY KEY, customer_email text REFERENCES customers (email));
INSERT INTO orders SELECT g, 'c' || (1 + g % 300) || '@real-mail.org' FROM generate_series(1, 900) g;
INSERT INTO events SELECT g, 1 + g % 300,
  jsonb_build_object('kind', 'login', 'n', g, 'customer', jsonb_build_object('email', 'c' || (1 + g % 300) || '@real-mail.org', 'vip', g % 2 = 0)),
  json_build_object('to', 'c' || (1 + g % 300) || '@real-mail.org', 'cc', json_build_array('c1@real-mail.org'))
FROM generate_series(1, 1000) g;`)
	dst := pgtest.NewDB(t)
	cfg, err := config.Parse("refs.yaml", []byte(`tables:
  public.customers:
    columns:
      email: email
references:
  - {from: public.events.payload, path: "$.customer.email", to: public.customers.email}
  - {from: public.events.raw, path: "$.to", to: public.customers.email}
  - {from: public.events.raw, path: "$.cc[*]", to: public.customers.email}
`))
	if err != nil {
		t.Fatal(err)
	}
	o := syncOpts(src, dst)
	o.Config = cfg
	o.Key, _ = transforms.NewKey("json-reference-key-0123456789")
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, dst)
	var events, joined, survived int
	if err := conn.QueryRow(context.Background(), `
SELECT count(*),
  count(*) FILTER (WHERE e.payload->'customer'->>'email' = c.email AND e.raw->>'to' = c.email
                     AND e.raw->'cc'->>0 = (SELECT email FROM customers WHERE id = 1)),
  count(*) FILTER (WHERE e.payload::text LIKE '%real-mail%' OR e.raw::text LIKE '%real-mail%')
FROM events e JOIN customers c ON c.id = e.customer_id`).Scan(&events, &joined, &survived); err != nil {
		t.Fatal(err)
	}
	if events != 1000 || joined != 1000 || survived != 0 {
		t.Errorf("%d events: %d quote their customer's new address, %d still hold a real one", events, joined, survived)
	}
	// Through the foreign key too: email adds a discriminator on the unique key column, and
	// the (not unique) referencing column must get the very same addresses.
	var orders, matched int
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(c.id) FROM orders o LEFT JOIN customers c ON c.email = o.customer_email`).Scan(&orders, &matched); err != nil {
		t.Fatal(err)
	}
	if orders != 900 || matched != 900 {
		t.Errorf("%d of %d orders still find their customer by e-mail", matched, orders)
	}
	// Everything but the followed values is unchanged.
	rest := func(dsn string) map[int]string {
		rows, err := pgtest.Connect(t, dsn).Query(context.Background(), `SELECT id, (payload #- '{customer,email}')::text FROM events`)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]string{}
		for rows.Next() {
			var id int
			var s string
			if err := rows.Scan(&id, &s); err != nil {
				t.Fatal(err)
			}
			out[id] = s
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before, after := rest(src), rest(dst)
	for id, b := range before {
		if after[id] != b {
			t.Fatalf("event %d: the rest of the document changed: %s → %s", id, b, after[id])
		}
	}
}

// The key's rule written out by hand on a referencing column is built as the key's too: the
// referencing rows get the key's values, so the foreign key still validates.
func TestSameRuleWrittenOnAReferenceFollowsTheKey(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `
CREATE TABLE customers (id int PRIMARY KEY, email varchar(60) UNIQUE NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer_email text REFERENCES customers (email));
INSERT INTO customers SELECT g, 'c' || g || '@real-mail.org' FROM generate_series(1, 200) g;
INSERT INTO orders SELECT g, 'c' || (1 + g % 200) || '@real-mail.org' FROM generate_series(1, 600) g;`)
	cfg, err := config.Parse("refs.yaml", []byte("tables:\n  public.customers:\n    columns:\n      email: email\n  public.orders:\n    columns:\n      customer_email: email\n"))
	if err != nil {
		t.Fatal(err)
	}
	dst := pgtest.NewDB(t)
	o := syncOpts(src, dst)
	o.Config = cfg
	o.Key, _ = transforms.NewKey("explicit-follow-key-0123456789")
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var matched int
	pgtest.Scan(t, pgtest.Connect(t, dst).QueryRow(context.Background(), `SELECT count(c.id) FROM orders o JOIN customers c ON c.email = o.customer_email`), &matched)
	if matched != 600 {
		t.Errorf("%d of 600 orders still find their customer by e-mail", matched)
	}
}
