package subset

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/transforms"
)

// 10% of Chinook's customers with their children: the sample is the documented keyed one,
// every invoice and invoice line of those customers comes along, and what they reference:
// tracks with their albums, artists, genres and media types, and the support reps with the
// whole chain of managers above them. Playlists stay whole; playlist_track loses the rows
// of tracks not kept.
func TestChinookCustomerSample(t *testing.T) {
	src := pgtest.LoadDataset(t, "chinook")
	tx, cat := snapshot(t, src)
	key, _ := transforms.NewKey("subset-test-key-0123456789")
	seed := Seed{Table: name("public.customer"), Percent: 10, IncludeChildren: true}
	res := compute(t, tx, cat, key, seed)
	t.Logf("kept: %v", res.Counts())

	all := query(t, tx, "SELECT customer_id FROM customer")
	customers := ids(t, tx, res, "public.customer", "customer_id")
	wantIDs(t, "public.customer", customers, sampled(key, "public.customer", all, 10))
	// Binomial(59, 0.1): mean 5.9, sd 2.3; 4 sd either side.
	if n, mean, sd := float64(len(customers)), 0.1*float64(len(all)), math.Sqrt(float64(len(all))*0.1*0.9); n < 1 || math.Abs(n-mean) > 4*sd {
		t.Errorf("kept %v customers of %d with 10%%", n, len(all))
	}
	in := func(ids []int64) string {
		s := "(NULL"
		for _, id := range ids {
			s += "," + strconv.FormatInt(id, 10)
		}
		return s + ")"
	}
	invoices := ids(t, tx, res, "public.invoice", "invoice_id")
	wantIDs(t, "public.invoice", invoices, query(t, tx, "SELECT invoice_id FROM invoice WHERE customer_id IN "+in(customers)))
	lines := ids(t, tx, res, "public.invoice_line", "invoice_line_id")
	wantIDs(t, "public.invoice_line", lines, query(t, tx, "SELECT invoice_line_id FROM invoice_line WHERE invoice_id IN "+in(invoices)))
	if len(lines) == 0 {
		t.Fatal("no invoice lines kept")
	}
	tracks := ids(t, tx, res, "public.track", "track_id")
	wantIDs(t, "public.track", tracks, query(t, tx, "SELECT DISTINCT track_id FROM invoice_line WHERE invoice_line_id IN "+in(lines)))
	wantIDs(t, "public.album", ids(t, tx, res, "public.album", "album_id"),
		query(t, tx, "SELECT DISTINCT album_id FROM track WHERE track_id IN "+in(tracks)))
	wantIDs(t, "public.employee", ids(t, tx, res, "public.employee", "employee_id"), query(t, tx, `
WITH RECURSIVE chain(id) AS (
  SELECT support_rep_id FROM customer WHERE customer_id IN `+in(customers)+`
  UNION SELECT e.reports_to FROM employee e JOIN chain ON e.employee_id = chain.id WHERE e.reports_to IS NOT NULL)
SELECT id FROM chain`))
	if emp := ids(t, tx, res, "public.employee", "employee_id"); !slices.Contains(emp, 1) {
		t.Errorf("employees %v: the general manager at the top of every chain is missing", emp)
	}
	wantIDs(t, "public.playlist_track", ids(t, tx, res, "public.playlist_track", "track_id"),
		query(t, tx, "SELECT track_id FROM playlist_track WHERE track_id IN "+in(tracks)))
	if _, restricted := res.Rows(name("public.playlist")); restricted {
		t.Error("playlist is restricted; nothing kept references it and it references nothing")
	}

	// Same key, same rows, in another transaction, even when every round is cut into
	// batches of 3 TIDs; another key, another sample.
	tx2, cat2 := snapshot(t, src)
	full := batchSize
	defer func() { batchSize = full }()
	batchSize = 3
	again := compute(t, tx2, cat2, key, seed)
	batchSize = full
	for _, tb := range cat.Tables {
		a, ra := res.Rows(tb.Name)
		b, rb := again.Rows(tb.Name)
		if ra != rb || !slices.Equal(a, b) {
			t.Errorf("%s: a second run with the same key kept other rows", tb.Name)
		}
	}
	other, _ := transforms.NewKey("another-subset-key-0123456789")
	if got := ids(t, tx2, compute(t, tx2, cat2, other, seed), "public.customer", "customer_id"); slices.Equal(got, customers) {
		t.Errorf("another key kept the same customers %v", got)
	}
	// Without a key: the published constant, still reproducible.
	unkeyed, _ := transforms.NewKey(unkeyedSubset)
	wantIDs(t, "public.customer (no key)", ids(t, tx2, compute(t, tx2, cat2, nil, seed), "public.customer", "customer_id"),
		sampled(unkeyed, "public.customer", all, 10))
}

// sampled applies the documented sample, independently of the code under test, to rows
// whose primary key is one integer column.
func sampled(key *transforms.Key, table string, ids []int64, percent float64) []int64 {
	var out []int64
	for _, id := range ids {
		text := strconv.FormatInt(id, 10)
		m := hmac.New(sha256.New, key.Derive("subset/"+table))
		binary.Write(m, binary.BigEndian, uint32(len(text)))
		m.Write([]byte(text))
		if float64(binary.BigEndian.Uint64(m.Sum(nil))) < percent/100*math.Pow(2, 64) {
			out = append(out, id)
		}
	}
	return out
}
