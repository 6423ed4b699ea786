package job

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
)

// A 10% subset of Chinook's customers, with their invoices: about a tenth of the customers
// land, every foreign key of the target is valid (the sink adds and validates them all),
// tables the seed does not reach are whole, the parents kept rows need are kept, and the same config takes the same rows again.
// Scaled ×2 on top, every restricted table holds exactly twice its subset.
func TestSubsetChinook(t *testing.T) {
	src := pgtest.LoadDataset(t, "chinook")
	cfg, err := config.Parse("subset.yaml", []byte("tables:\n  public.customer:\n    percent: 10\n    include_children: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(cfg *config.Config) string {
		dst := pgtest.NewDB(t)
		o := syncOpts(src, dst)
		o.Config = cfg
		if _, err := Sync(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	dst := run(cfg)
	all, got := counts(t, src), counts(t, dst)
	frac := float64(got["public.customer"]) / float64(all["public.customer"])
	if sd := math.Sqrt(0.1 * 0.9 / float64(all["public.customer"])); math.Abs(frac-0.1) > 4*sd {
		t.Errorf("%d of %d customers kept (%.3f), want about 10%%", got["public.customer"], all["public.customer"], frac)
	}
	if got["public.invoice"] == 0 || got["public.invoice"] >= all["public.invoice"]/3 {
		t.Errorf("%d of %d invoices kept", got["public.invoice"], all["public.invoice"])
	}
	// Playlists are not reached from customers: whole. Tracks are (through invoice lines):
	// only those bought, and of the playlist entries only those of kept tracks.
	if got["public.playlist"] != all["public.playlist"] {
		t.Errorf("playlist: %d rows, want all %d (the subset does not reach it)", got["public.playlist"], all["public.playlist"])
	}
	if got["public.track"] == 0 || got["public.track"] >= all["public.track"] || got["public.playlist_track"] >= all["public.playlist_track"] {
		t.Errorf("track %d of %d, playlist_track %d of %d: want the bought tracks only", got["public.track"], all["public.track"], got["public.playlist_track"], all["public.playlist_track"])
	}
	conn := pgtest.Connect(t, dst)
	var invalid, fks int
	pgtest.Scan(t, conn.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE NOT convalidated), count(*) FILTER (WHERE contype = 'f') FROM pg_constraint WHERE connamespace = 'public'::regnamespace`), &invalid, &fks)
	if invalid != 0 || fks < 10 {
		t.Errorf("%d foreign keys, %d not validated", fks, invalid)
	}
	// Every kept invoice's customer is kept; every kept customer's invoices are kept.
	var orphans, missing int
	pgtest.Scan(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM invoice i LEFT JOIN customer c USING (customer_id) WHERE c.customer_id IS NULL`), &orphans)
	if orphans != 0 {
		t.Errorf("%d invoices without their customer", orphans)
	}
	srcConn := pgtest.Connect(t, src)
	var srcInvoices int64
	ids := []int64{}
	rows, err := conn.Query(context.Background(), `SELECT customer_id FROM customer`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	pgtest.Scan(t, srcConn.QueryRow(context.Background(), `SELECT count(*) FROM invoice WHERE customer_id = ANY($1)`, ids), &srcInvoices)
	if srcInvoices != got["public.invoice"] {
		missing = int(srcInvoices - got["public.invoice"])
		t.Errorf("the kept customers have %d invoices in the source, %d in the target (%d missing)", srcInvoices, got["public.invoice"], missing)
	}
	// Deterministic: the same customers again.
	again := counts(t, run(cfg))
	if again["public.customer"] != got["public.customer"] || again["public.invoice_line"] != got["public.invoice_line"] {
		t.Errorf("a second run kept %d customers and %d invoice lines, the first %d and %d", again["public.customer"], again["public.invoice_line"], got["public.customer"], got["public.invoice_line"])
	}

	// plan shows the subset.
	var shown strings.Builder
	if _, err := Plan(context.Background(), PlanOptions{Source: config.DSN(src), Rules: Rules{Config: cfg}, Out: &shown}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown.String(), "Subset: ") || !strings.Contains(shown.String(), "public.customer") {
		t.Errorf("plan does not show the subset:\n%s", shown.String())
	}

	// A bad where names the file, line and table, with the server's message.
	bad, _ := config.Parse("subset.yaml", []byte("tables:\n  public.invoice:\n    where: \"totl > 5\"\n"))
	o := syncOpts(src, pgtest.NewDB(t))
	o.Config = bad
	if _, err := Sync(context.Background(), o); err == nil || !strings.Contains(err.Error(), "subset.yaml:3: tables.public.invoice") || !strings.Contains(err.Error(), "totl") {
		t.Errorf("bad where: %v", err)
	}

	// Subset, then scale: every table holds exactly twice what the subset alone holds.
	both, _ := config.Parse("subset.yaml", []byte("tables:\n  public.customer:\n    percent: 10\n    include_children: true\nscale: 2\n"))
	scaled := counts(t, run(both))
	for name, n := range got {
		if scaled[name] != 2*n {
			t.Errorf("%s: %d rows subset ×2, subset alone %d", name, scaled[name], n)
		}
	}
}
