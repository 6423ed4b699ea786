package job

import (
	"context"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/transforms"
)

// A keyed bijection on customer.customer_id follows every foreign key (rental, and each
// partition of the partitioned payment table): every customer keeps their rentals and
// payments, though every id changed.
func TestPermuteFollowsForeignKeysOnPagila(t *testing.T) {
	src := pgtest.LoadDataset(t, "pagila")
	dst := pgtest.NewDB(t)
	cfg, err := config.Parse("pagila.yaml", []byte("tables:\n  public.customer:\n    columns:\n      customer_id: permute\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := syncOpts(src, dst)
	o.Config = cfg
	o.Key, _ = transforms.NewKey("pagila-test-key-0123456789")
	res, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	follows := map[string]bool{}
	for _, tp := range res.Plan.Tables {
		for _, r := range tp.Rules {
			if r.Follows == "public.customer.customer_id" {
				follows[tp.Name.String()] = true
			}
		}
	}
	for _, tbl := range []string{"public.rental", "public.payment_p2022_01", "public.payment_p2022_07"} {
		if !follows[tbl] {
			t.Errorf("the rule did not follow the foreign key into %s (followed into %v)", tbl, follows)
		}
	}
	// Per customer (email is untouched, so it identifies the person on both sides): same
	// number of rentals, same payments.
	q := `SELECT c.email, c.customer_id,
  (SELECT count(*) FROM rental r WHERE r.customer_id = c.customer_id),
  (SELECT coalesce(sum(amount), 0)::text FROM payment p WHERE p.customer_id = c.customer_id)
FROM customer c ORDER BY c.email`
	type row struct {
		id      int
		rentals int
		paid    string
	}
	read := func(dsn string) map[string]row {
		rows, err := pgtest.Connect(t, dsn).Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]row{}
		for rows.Next() {
			var email string
			var r row
			if err := rows.Scan(&email, &r.id, &r.rentals, &r.paid); err != nil {
				t.Fatal(err)
			}
			out[email] = r
		}
		return out
	}
	before, after := read(src), read(dst)
	if len(before) < 500 || len(after) != len(before) {
		t.Fatalf("%d customers before, %d after", len(before), len(after))
	}
	moved := 0
	for email, b := range before {
		a := after[email]
		if a.rentals != b.rentals || a.paid != b.paid {
			t.Fatalf("customer %s: %d rentals / %s paid before, %d / %s after", email, b.rentals, b.paid, a.rentals, a.paid)
		}
		if a.id != b.id {
			moved++
		}
	}
	if moved < len(before)*99/100 {
		t.Errorf("only %d of %d customer ids changed", moved, len(before))
	}
}
