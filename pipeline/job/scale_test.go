package job

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/report"
	"github.com/understudy-dev/understudy/transforms"
)

// pagilaScaleConfig is the config init writes for Pagila (a rule on every personal column),
// scaled ×factor with films, stores and staff shared.
func pagilaScaleConfig(t *testing.T, src string, extra string) (*config.Config, *transforms.Key) {
	t.Helper()
	var text strings.Builder
	if err := Init(context.Background(), InitOptions{Source: config.DSN(src), Out: &text}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("UNDERSTUDY_KEY", "scale-test-key-0123456789abcdef")
	cfg, err := config.Parse("scale.yaml", []byte(text.String()+extra))
	if err != nil {
		t.Fatalf("%v\n%s", err, text.String())
	}
	key, err := transforms.NewKey(cfg.Key.Value())
	if err != nil {
		t.Fatal(err)
	}
	return cfg, key
}

func counts(t *testing.T, dsn string) map[string]int64 {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	rows, err := conn.Query(context.Background(), `SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, n := range names {
		var c int64
		parts := strings.SplitN(n, ".", 2)
		if err := conn.QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*) FROM ONLY %q.%q`, parts[0], parts[1])).Scan(&c); err != nil {
			t.Fatal(err)
		}
		out[n] = c
	}
	return out
}

// Pagila ×5 with films, stores and staff shared: every other table holds exactly five times
// its rows, every constraint is valid, copy 0 is what a plain sync writes, the other copies
// carry fresh fake values and keys of their own, and sequences end past the new keys.
func TestScalePagila(t *testing.T) {
	src := pgtest.LoadDataset(t, "pagila")
	const factor = 5
	cfg, key := pagilaScaleConfig(t, src, "\nscale:\n  factor: 5\n  shared: [public.film, public.store, public.staff]\n  jitter: {dates: 30d, numbers: 0.05}\n")
	plain, scaled := pgtest.NewDB(t), pgtest.NewDB(t)
	o := syncOpts(src, plain)
	o.Config, o.Key, o.AllowUnmasked = cfg, key, false
	o.Scale = 1
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatalf("plain sync: %v", err)
	}
	o = syncOpts(src, scaled)
	o.Config, o.Key, o.AllowUnmasked = cfg, key, false
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatalf("scaled sync: %v", err)
	}

	want, got := counts(t, src), counts(t, scaled)
	shared := map[string]bool{"public.film": true, "public.store": true, "public.staff": true}
	for name, n := range want {
		w := n * factor
		if shared[name] {
			w = n
		}
		if got[name] != w {
			t.Errorf("%s: %d rows, want %d (source %d)", name, got[name], w, n)
		}
	}
	conn := pgtest.Connect(t, scaled)
	ctx := context.Background()
	var invalid int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_constraint WHERE NOT convalidated`).Scan(&invalid); err != nil || invalid != 0 {
		t.Errorf("%d constraints not validated (%v)", invalid, err)
	}
	var fks int
	pgtest.Scan(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`), &fks)
	if fks < 10 {
		t.Errorf("only %d foreign keys in the scaled target", fks)
	}

	// Copy 0 is the plain sync: the customers with source ids are the plain run's rows.
	digest := func(dsn, q string) string {
		var s string
		if err := pgtest.Connect(t, dsn).QueryRow(ctx, q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	var maxID int64
	if err := pgtest.Connect(t, src).QueryRow(ctx, `SELECT max(customer_id) FROM customer`).Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf(`SELECT md5(string_agg(c::text, ',' ORDER BY customer_id)) FROM customer c WHERE customer_id <= %d`, maxID)
	if a, b := digest(plain, q), digest(scaled, q); a != b {
		t.Errorf("copy 0 of customer differs from a plain sync's customers")
	}
	var copy0Rentals string
	pgtest.Scan(t, conn.QueryRow(ctx, `SELECT md5(string_agg(r::text, ',' ORDER BY rental_id)) FROM rental r WHERE customer_id <= $1`, maxID), &copy0Rentals)
	if a := digest(plain, `SELECT md5(string_agg(r::text, ',' ORDER BY rental_id)) FROM rental r`); a != copy0Rentals {
		t.Errorf("copy 0 of rental differs from a plain sync's rentals")
	}

	// Every copy has fresh fake values: copy 1 of a customer has another e-mail and name.
	var people, sameEmail int64
	pgtest.Scan(t, conn.QueryRow(ctx, `SELECT count(*) FROM customer`), &people)
	pgtest.Scan(t, conn.QueryRow(ctx, `SELECT count(*) FROM customer a JOIN customer b ON b.customer_id = a.customer_id + $1
		WHERE a.customer_id <= $1 AND a.email = b.email`, maxID), &sameEmail)
	if sameEmail != 0 {
		t.Errorf("%d customers have copy 1 with the same e-mail", sameEmail)
	}
	var sameName int64
	pgtest.Scan(t, conn.QueryRow(ctx, `SELECT count(*) FROM customer a JOIN customer b ON b.customer_id = a.customer_id + $1
		WHERE a.customer_id <= $1 AND a.first_name = b.first_name AND a.last_name = b.last_name`, maxID), &sameName)
	if sameName > people/factor/20 {
		t.Errorf("%d customers have copy 1 with the same full name", sameName)
	}
	// Each copy is its own sub-graph: copy i's rentals belong to copy i's customers and
	// inventory, and shared tables are referenced as they are.
	var crossed int64
	pgtest.Scan(t, conn.QueryRow(ctx, `SELECT count(*) FROM rental r JOIN customer c USING (customer_id) JOIN inventory i USING (inventory_id)
		WHERE (r.customer_id - 1) / $1 <> (r.inventory_id - 1) / (SELECT max(inventory_id) / 5 FROM inventory)`, maxID), &crossed)
	if crossed != 0 {
		t.Errorf("%d rentals join a customer and an inventory item of different copies", crossed)
	}
	// Jitter moved copies' dates by at most 30 days and left copy 0 alone.
	var moved, far int64
	pgtest.Scan(t, conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE a.create_date <> b.create_date), count(*) FILTER (WHERE abs(b.create_date - a.create_date) > 30)
		FROM customer a JOIN customer b ON b.customer_id = a.customer_id + $1 WHERE a.customer_id <= $1`, maxID), &moved, &far)
	if moved < people/factor/2 || far != 0 {
		t.Errorf("jitter: %d of %d copy-1 dates moved, %d by more than 30 days", moved, people/factor, far)
	}
	// Sequences end past the new maximum: inserting with defaults works.
	if _, err := conn.Exec(ctx, `INSERT INTO customer (store_id, first_name, last_name, address_id) VALUES (1, 'a', 'b', 1)`); err != nil {
		t.Errorf("insert after scaling: %v", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) VALUES (now(), 1, 1, 1)`); err != nil {
		t.Errorf("insert after scaling: %v", err)
	}
}

// A scaled run copies the tables scaling cannot make collision-free nowhere: it stops before
// writing anything, naming the table, the key and the way out.
func TestScaleRefusals(t *testing.T) {
	src := pgtest.NewDB(t)
	conn := pgtest.Connect(t, src)
	pgtest.Exec(t, conn, `
CREATE TABLE days (day date PRIMARY KEY, note text);
INSERT INTO days VALUES ('2024-01-01', 'a'), ('2024-01-02', 'b');
CREATE TABLE small (id smallint PRIMARY KEY);
INSERT INTO small VALUES (1), (30000);
CREATE TABLE tagged (code varchar(4) PRIMARY KEY);
INSERT INTO tagged VALUES ('abcd');
CREATE TABLE uuids (id uuid PRIMARY KEY, parent uuid REFERENCES uuids);
INSERT INTO uuids VALUES ('00000000-0000-4000-8000-000000000001', NULL), ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001');
CREATE TABLE names (name text PRIMARY KEY, up text REFERENCES names);
INSERT INTO names VALUES ('x~1', NULL), ('y', 'x~1');`)
	run := func(yaml string) error {
		cfg, err := config.Parse("scale.yaml", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		o := syncOpts(src, pgtest.NewDB(t))
		o.Config = cfg
		_, err = Sync(context.Background(), o)
		return err
	}
	shareAllBut := func(keep string) string {
		var shared []string
		for _, n := range []string{"days", "small", "tagged", "uuids", "names"} {
			if n != keep {
				shared = append(shared, "public."+n)
			}
		}
		return "scale:\n  factor: 3\n  shared: [" + strings.Join(shared, ", ") + "]\n"
	}
	for _, c := range []struct{ keep, want string }{
		{"days", "public.days: unique key (day) has no column scaling can give new values per copy"},
		{"small", "×3 moves public.small.id up to 30000 + 2 × 30000, beyond the largest smallint"},
		{"tagged", `public.tagged.code is character varying(4) and holds values of 4 characters, with no room for the copy suffix "~2"`},
	} {
		err := run(shareAllBut(c.keep))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("scaling %s: got %v, want an error containing %q", c.keep, err, c.want)
		}
	}
	if err := run("scale:\n  factor: 2\n  shared: [public.dayz]\n"); err == nil || !strings.Contains(err.Error(), `scale.yaml:3: scale.shared: no such table public.dayz (did you mean "public.days"?)`) {
		t.Errorf("misspelt shared table: %v", err)
	}

	// uuid and text keys scale: new keys per copy, references follow within the copy, and a
	// separator that source values already use is passed over.
	dst := pgtest.NewDB(t)
	cfg, err := config.Parse("scale.yaml", []byte("scale:\n  factor: 3\n  shared: [public.days, public.small, public.tagged]\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := syncOpts(src, dst)
	o.Config = cfg
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var shown strings.Builder
	if _, err := Plan(context.Background(), PlanOptions{Source: config.DSN(src), Rules: Rules{Config: cfg}, Out: &shown}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Scaled ×3: every table but 3 shared (", "public.names  up      public.names.name  value + \"#\" + copy",
		"public.uuids  parent  public.uuids.id    keyed uuid of (copy, value)"} {
		if !strings.Contains(shown.String(), want) {
			t.Errorf("plan does not show %q:\n%s", want, shown.String())
		}
	}
	out := pgtest.Connect(t, dst)
	var n, roots, names int
	pgtest.Scan(t, out.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE parent IS NULL) FROM uuids`), &n, &roots)
	if n != 6 || roots != 3 {
		t.Errorf("uuids: %d rows, %d roots; want 6 and 3", n, roots)
	}
	var joined int
	pgtest.Scan(t, out.QueryRow(context.Background(), `SELECT count(*) FROM names c JOIN names p ON p.name = c.up WHERE c.name LIKE 'y%' AND substr(c.name, 2) = substr(p.name, 4)`), &joined)
	pgtest.Scan(t, out.QueryRow(context.Background(), `SELECT count(*) FROM names WHERE name IN ('y', 'y#1', 'y#2', 'x~1', 'x~1#1', 'x~1#2')`), &names)
	if names != 6 || joined != 3 {
		t.Errorf("names: %d of the expected values, %d children joined to their own copy's parent; want 6 and 3", names, joined)
	}
	// Restoring a plain snapshot ×3 reads the same separators and ranges from the snapshot.
	snap := dirStore(t, t.TempDir())
	if _, err := Snapshot(context.Background(), snapshotOpts(src, snap)); err != nil {
		t.Fatal(err)
	}
	restored := pgtest.NewDB(t)
	ro := restoreOpts(snap, restored)
	ro.Config = cfg
	if err := Restore(context.Background(), ro); err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, dst, restored)
}

// Scaling gives one result whichever way it runs: Chinook ×3 (with jitter) written by sync,
// by a scaled snapshot then restored, and by a plain snapshot restored ×3 (no rule runs, so
// nothing is lost by scaling late) are the same rows in every table and the same sequence
// values, past the last copy.
func TestScaleSyncSnapshotAndRestoreAgree(t *testing.T) {
	src := pgtest.LoadDataset(t, "chinook")
	cfg, err := config.Parse("scale.yaml", []byte("scale:\n  factor: 3\n  shared: [public.genre, public.media_type]\n  jitter: {dates: 10d, numbers: 0.05}\n"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("scale-snapshot-key-0123456789")
	viaSync := pgtest.NewDB(t)
	o := syncOpts(src, viaSync)
	o.Config, o.Key = cfg, key
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if a, b := counts(t, src)["public.invoice"], counts(t, viaSync)["public.invoice"]; b != 3*a || a == 0 {
		t.Errorf("invoice: %d rows after ×3 of %d", b, a)
	}

	t.Run("scaled snapshot", func(t *testing.T) {
		snap := dirStore(t, t.TempDir())
		so := snapshotOpts(src, snap)
		so.Config, so.Key = cfg, key
		if _, err := Snapshot(context.Background(), so); err != nil {
			t.Fatal(err)
		}
		viaSnap := pgtest.NewDB(t)
		if err := Restore(context.Background(), restoreOpts(snap, viaSnap)); err != nil {
			t.Fatal(err)
		}
		assertSameDatabase(t, viaSync, viaSnap)
	})
	t.Run("restore --scale", func(t *testing.T) {
		snap := dirStore(t, t.TempDir())
		if _, err := Snapshot(context.Background(), snapshotOpts(src, snap)); err != nil {
			t.Fatal(err)
		}
		viaRestore := pgtest.NewDB(t)
		ro := restoreOpts(snap, viaRestore)
		ro.Config, ro.Key = cfg, key
		if err := Restore(context.Background(), ro); err != nil {
			t.Fatal(err)
		}
		assertSameDatabase(t, viaSync, viaRestore)
	})
}

// The shop fixture ×10 (products shared, dates and numbers jittered, personal columns faked
// per copy) is shaped like its source: every check of the report holds within its
// documented tolerance.
func TestScaledShopMatchesSourceDistributions(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 20000, 1); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("scale.yaml", []byte(`
tables:
  public.customers:
    columns: {first_name: first_name, last_name: last_name, email: email, phone: phone, street: street_address, city: city,
      postal_code: postal_code, notes: lorem}
  public.addresses:
    columns: {street: street_address, city: city, postal_code: postal_code}
  public.payments:
    columns: {card_last4: digits}
scale:
  factor: 10
  shared: [public.products]
  jitter: {dates: 30d, numbers: 0.05}
`))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("scale-report-key-0123456789")
	dst := pgtest.NewDB(t)
	o := syncOpts(src, dst)
	o.Config, o.Key = cfg, key
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	// order_items (order_id, line_no) stays unique by moving with its order: line numbers
	// stay what they were.
	var srcMax, dstMax int
	pgtest.Scan(t, pgtest.Connect(t, src).QueryRow(context.Background(), `SELECT max(line_no) FROM order_items`), &srcMax)
	pgtest.Scan(t, pgtest.Connect(t, dst).QueryRow(context.Background(), `SELECT max(line_no) FROM order_items`), &dstMax)
	if srcMax == 0 || dstMax != srcMax {
		t.Errorf("order_items.line_no: largest %d after scaling, %d in the source", dstMax, srcMax)
	}
	rep, err := report.Run(context.Background(), report.RunOptions{Source: config.DSN(src), Target: config.DSN(dst),
		// Four digits take 10,000 values at most: ten times the payments repeat them more.
		Compare: report.CompareOptions{Scale: 10, Shared: []string{"public.products"}, Bounded: []string{"public.payments.card_last4"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) < 50 {
		t.Fatalf("only %d findings: the report checked little", len(rep.Findings))
	}
	for _, f := range report.Failed(rep.Findings) {
		t.Errorf("%s %s: source %v, target %v, allowed %s", f.Where(), f.Metric, f.Source, f.Target, f.Allowed)
	}
}

// restore --scale gives the new copies fresh values: the snapshot's rules, from its manifest,
// run again on its anonymized values with each copy's key. Copy 0 is the snapshot's rows as
// they are; no copy holds a value of the source's.
func TestRestoreScaleGivesCopiesFreshValues(t *testing.T) {
	src := pgtest.LoadDataset(t, "chinook")
	rules, err := config.Parse("rules.yaml", []byte("tables:\n  public.customer:\n    columns: {first_name: first_name, last_name: last_name, email: email, city: city, company: {transform: constant, value: ACME}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("restore-fresh-key-0123456789")
	snap := dirStore(t, t.TempDir())
	so := snapshotOpts(src, snap)
	so.Config, so.Key = rules, key
	if _, err := Snapshot(context.Background(), so); err != nil {
		t.Fatal(err)
	}
	plain, scaled := pgtest.NewDB(t), pgtest.NewDB(t)
	if err := Restore(context.Background(), restoreOpts(snap, plain)); err != nil {
		t.Fatal(err)
	}
	scale, err := config.Parse("scale.yaml", []byte("scale: {factor: 3, shared: [public.genre, public.media_type]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ro := restoreOpts(snap, scaled)
	ro.Config, ro.Key = scale, key
	if err := Restore(context.Background(), ro); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var lo, hi int
	if err := pgtest.Connect(t, src).QueryRow(ctx, `SELECT min(customer_id), max(customer_id) FROM customer`).Scan(&lo, &hi); err != nil {
		t.Fatal(err)
	}
	span := hi - lo + 1
	rows := func(db string, q string, args ...any) map[int]string {
		t.Helper()
		out := map[int]string{}
		rs, err := pgtest.Connect(t, db).Query(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		for rs.Next() {
			var id int
			var v string
			if err := rs.Scan(&id, &v); err != nil {
				t.Fatal(err)
			}
			out[id] = v
		}
		return out
	}
	const person = `concat_ws('|', first_name, last_name, email, city, company)`
	base := rows(plain, `SELECT customer_id, `+person+` FROM customer`)
	if len(base) < 50 {
		t.Fatalf("%d customers in the snapshot", len(base))
	}
	for i := 0; i < 3; i++ {
		got := rows(scaled, `SELECT customer_id - $1::int, `+person+` FROM customer WHERE customer_id BETWEEN $2::int AND $3::int`, i*span, lo+i*span, hi+i*span)
		if len(got) != len(base) {
			t.Fatalf("copy %d has %d customers, the snapshot %d", i, len(got), len(base))
		}
		same := 0
		for id, v := range got {
			if v == base[id] {
				same++
			}
		}
		if i == 0 && same != len(base) {
			t.Errorf("copy 0: %d of %d customers differ from the snapshot's", len(base)-same, len(base))
		}
		if i > 0 && same > len(base)/20 {
			t.Errorf("copy %d: %d of %d customers repeat copy 0's name, e-mail and city", i, same, len(base))
		}
	}
	// Columns with a constant rule, and the keys, are the snapshot's in every copy.
	var companies, broken int
	pgtest.Scan(t, pgtest.Connect(t, scaled).QueryRow(ctx, `SELECT count(DISTINCT company) FROM customer`), &companies)
	pgtest.Scan(t, pgtest.Connect(t, scaled).QueryRow(ctx, `SELECT count(*) FROM invoice i LEFT JOIN customer c USING (customer_id) WHERE c.customer_id IS NULL`), &broken)
	if companies != 1 || broken != 0 {
		t.Errorf("%d distinct companies (want the one constant), %d invoices without their customer", companies, broken)
	}
	real := rows(src, `SELECT customer_id, email FROM customer`)
	leaked := 0
	for _, v := range rows(scaled, `SELECT customer_id, email FROM customer`) {
		for _, r := range real {
			if v == r {
				leaked++
			}
		}
	}
	if leaked > 0 {
		t.Errorf("%d source e-mails in the scaled restore", leaked)
	}
}
