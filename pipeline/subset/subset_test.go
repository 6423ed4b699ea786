package subset

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// A self-reference: the parents of a row are its whole chain of managers (depth 5), and no
// one else; with children, everyone below a manager and no one outside that tree.
func TestSelfReferenceChain(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `
CREATE TABLE staff (id int PRIMARY KEY, reports_to int REFERENCES staff);
-- Two trees: 1 ← 2 ← 3 ← 4 ← 5 (and 6 under 3), and 10 ← 11 ← 12.
INSERT INTO staff VALUES (1, NULL), (2, 1), (3, 2), (4, 3), (5, 4), (6, 3), (10, NULL), (11, 10), (12, 11);`)
	tx, cat := snapshot(t, src)
	res := compute(t, tx, cat, nil, Seed{Table: name("public.staff"), Where: "id = 5"})
	wantIDs(t, "public.staff", ids(t, tx, res, "public.staff", "id"), []int64{1, 2, 3, 4, 5})

	res = compute(t, tx, cat, nil, Seed{Table: name("public.staff"), Where: "id = 3", IncludeChildren: true})
	wantIDs(t, "public.staff", ids(t, tx, res, "public.staff", "id"), []int64{1, 2, 3, 4, 5, 6})
}

// A cycle of nullable foreign keys (a → b → a) closes to a fixpoint and stops.
func TestCycle(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `
CREATE TABLE a (id int PRIMARY KEY, b_id int);
CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);
ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;
INSERT INTO a VALUES (1, NULL), (2, NULL), (3, NULL), (4, NULL);
INSERT INTO b VALUES (1, 2), (2, NULL), (3, 3), (4, 4);
UPDATE a SET b_id = 1 WHERE id = 1;  -- a1 → b1 → a2 → b2 → NULL
UPDATE a SET b_id = 2 WHERE id = 2;
UPDATE a SET b_id = 3 WHERE id = 3;  -- a3 ⇄ b3`)
	tx, cat := snapshot(t, src)
	res := compute(t, tx, cat, nil, Seed{Table: name("public.a"), Where: "id = 1"})
	wantIDs(t, "public.a", ids(t, tx, res, "public.a", "id"), []int64{1, 2})
	wantIDs(t, "public.b", ids(t, tx, res, "public.b", "id"), []int64{1, 2})
	res = compute(t, tx, cat, nil, Seed{Table: name("public.b"), Where: "id = 3"})
	wantIDs(t, "public.a", ids(t, tx, res, "public.a", "id"), []int64{3})
	wantIDs(t, "public.b", ids(t, tx, res, "public.b", "id"), []int64{3})
}

// A composite foreign key; children only from seed rows, never from rows added as parents;
// a table that only references a restricted one keeps the rows that reference kept rows
// and the rows whose key has a NULL (MATCH SIMPLE).
func TestCompositeKeyAndDirections(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `
CREATE TABLE customers (id int PRIMARY KEY);
CREATE TABLE orders (region text, id int, customer_id int NOT NULL REFERENCES customers, PRIMARY KEY (region, id));
CREATE TABLE items (id int PRIMARY KEY, region text, order_id int, FOREIGN KEY (region, order_id) REFERENCES orders);
CREATE TABLE notes (id int PRIMARY KEY, customer_id int REFERENCES customers);
CREATE TABLE settings (k text PRIMARY KEY);
INSERT INTO customers VALUES (1), (2);
INSERT INTO orders VALUES ('eu', 1, 1), ('us', 1, 1), ('eu', 2, 2);
INSERT INTO items VALUES (1, 'eu', 1), (2, 'us', 1), (3, 'eu', 2), (4, NULL, 1), (5, 'eu', 1);
INSERT INTO notes VALUES (1, 1), (2, 2), (3, NULL);
INSERT INTO settings VALUES ('x');`)
	tx, cat := snapshot(t, src)
	res := compute(t, tx, cat, nil, Seed{Table: name("public.orders"), Where: "region = 'eu' AND orders.id = 1", IncludeChildren: true})
	// ('eu', 1)'s items (not ('us', 1)'s, not the NULL one); its customer, but not that
	// customer's other order ('us', 1): children come from seed rows only.
	wantIDs(t, "public.items", ids(t, tx, res, "public.items", "id"), []int64{1, 5})
	wantIDs(t, "public.orders", ids(t, tx, res, "public.orders", "id"), []int64{1})
	wantIDs(t, "public.customers", ids(t, tx, res, "public.customers", "id"), []int64{1})
	wantIDs(t, "public.notes", ids(t, tx, res, "public.notes", "id"), []int64{1, 3})
	if _, restricted := res.Rows(name("public.settings")); restricted {
		t.Error("settings is restricted; it is unrelated to the seed")
	}
	if got := res.Counts(); got["public.notes"] != 2 || got["public.orders"] != 1 || len(got) != 4 {
		t.Errorf("counts %v", got)
	}
}

// A partitioned table referencing a seed loses the rows of customers not kept, in every
// partition, and that cascades to a table referencing the partitioned one. A seed on the
// partitioned table applies to every partition.
func TestPartitionedCascade(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `
CREATE TABLE accounts (id int PRIMARY KEY);
CREATE TABLE events (id int, day int, account_id int REFERENCES accounts, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (10);
CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (10) TO (20);
CREATE TABLE tags (id int PRIMARY KEY, event_id int, event_day int, FOREIGN KEY (event_id, event_day) REFERENCES events);
INSERT INTO accounts SELECT generate_series(1, 6);
INSERT INTO events SELECT g, g % 20, 1 + g % 6 FROM generate_series(1, 60) g;
INSERT INTO tags SELECT g, g, g % 20 FROM generate_series(1, 60) g;
INSERT INTO tags VALUES (100, NULL, NULL);`)
	tx, cat := snapshot(t, src)
	res := compute(t, tx, cat, nil, Seed{Table: name("public.accounts"), Where: "id <= 2"})
	want := query(t, tx, "SELECT id FROM events WHERE account_id <= 2")
	got := append(ids(t, tx, res, "public.events_1", "id"), ids(t, tx, res, "public.events_2", "id")...)
	slices.Sort(got)
	wantIDs(t, "public.events", got, want)
	wantIDs(t, "public.tags", ids(t, tx, res, "public.tags", "id"), append(slices.Clone(want), 100))

	res = compute(t, tx, cat, nil, Seed{Table: name("public.events"), Where: "account_id = 3"})
	wantIDs(t, "public.accounts", ids(t, tx, res, "public.accounts", "id"), []int64{3})
	for _, p := range []string{"public.events_1", "public.events_2"} {
		if _, restricted := res.Rows(name(p)); !restricted {
			t.Errorf("%s is not restricted by a seed on its partitioned table", p)
		}
	}
	wantIDs(t, "public.tags", ids(t, tx, res, "public.tags", "id"),
		append(query(t, tx, "SELECT id FROM events WHERE account_id = 3"), 100))
}

// A where the server rejects is a SeedError carrying the server's message, and the
// transaction goes on; so does a seed on a table that is not copied.
func TestBadSeed(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10);`)
	tx, cat := snapshot(t, src)
	ctx := context.Background()
	for _, c := range []struct {
		seeds []Seed
		index int
		msg   string
	}{
		{[]Seed{{Table: name("public.t"), Where: "id < 3"}, {Table: name("public.t"), Where: "nope = 1"}}, 1, `column "nope" does not exist`},
		{[]Seed{{Table: name("public.t"), Where: "1 / (id - 7) > 0"}}, 0, "division by zero"},
		{[]Seed{{Table: name("public.t"), Where: "id = 1 -- a comment"}, {Table: name("public.missing")}}, 1, "not among the copied tables"},
		{[]Seed{{Table: name("public.t"), Percent: 120}}, 0, "percent"},
	} {
		_, err := Compute(ctx, tx, cat.Tables, c.seeds, nil)
		var se *SeedError
		if !errors.As(err, &se) || se.Index != c.index || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%v: got %v, want seed %d: %s", c.seeds, err, c.index, c.msg)
		}
	}
	res := compute(t, tx, cat, nil, Seed{Table: name("public.t"), Where: "id = 1 -- a comment"})
	wantIDs(t, "public.t", ids(t, tx, res, "public.t", "id"), []int64{1})
}
