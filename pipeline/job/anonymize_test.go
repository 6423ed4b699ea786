package job

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
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

// The PII guard refuses to copy personal columns that no rule covers, names every one with
// a suggested rule, and lets through columns marked keep or covered by a followed rule.
func TestGuardRefusesUnmaskedPersonalData(t *testing.T) {
	src := pgtest.LoadDataset(t, "chinook")
	dst := pgtest.NewDB(t)
	o := syncOpts(src, dst)
	o.AllowUnmasked = false
	_, err := Sync(context.Background(), o)
	assertCode(t, err, failure.ExitUnsafe, "look like personal data")
	for _, col := range []string{"public.customer.email", "public.customer.first_name", "public.customer.last_name",
		"public.customer.phone", "public.customer.address", "public.customer.city", "public.customer.postal_code",
		"public.employee.email", "public.employee.birth_date", "public.employee.first_name"} {
		if !strings.Contains(err.Error(), col) {
			t.Errorf("%s not reported:\n%v", col, err)
		}
	}
	for _, notPII := range []string{"public.track.name", "public.album.title", "public.invoice.total"} {
		if strings.Contains(err.Error(), notPII+" ") {
			t.Errorf("%s reported as personal:\n%v", notPII, err)
		}
	}
	var ue *failure.UserError
	errors.As(err, &ue)
	if !strings.Contains(ue.Hint, "tables:\n") || !strings.Contains(ue.Hint, "\n  public.customer:\n    columns:\n      first_name: first_name\n") || !strings.Contains(ue.Hint, "--allow-unmasked") {
		t.Errorf("hint has no config to paste:\n%s", ue.Hint)
	}
	if n := len(pgtest.TableDigests(t, dst)); n != 0 {
		t.Errorf("the refused sync created %d tables", n)
	}

	// Everything flagged marked keep: the guard lets it through.
	var b strings.Builder
	b.WriteString("tables:\n")
	last := ""
	for _, line := range strings.Split(ue.Err.Error(), "\n")[1:] {
		name := strings.Fields(line)[0]
		i := strings.LastIndex(name, ".")
		if table := name[:i]; table != last {
			b.WriteString("  " + table + ":\n    columns:\n")
			last = table
		}
		b.WriteString("      " + name[i+1:] + ": keep\n")
	}
	cfg, err := config.Parse("keep.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	o.Config = cfg
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatalf("with every flagged column kept: %v", err)
	}
}

// init on Chinook flags its personal columns with rules, keeps everything else, and writes
// a config that parses and covers every column.
func TestInitWritesAReviewableConfig(t *testing.T) {
	src := pgtest.LoadDataset(t, "chinook")
	var out strings.Builder
	if err := Init(context.Background(), InitOptions{Source: config.DSN(src), Out: &out}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"key: ${UNDERSTUDY_KEY}",
		"  public.customer:\n    columns:\n      # looks like personal data:\n",
		"      email:", "email            # email: its name",
		"      birth_date:", "birthdate        # birthdate: its name",
		"      # not personal data, copied as is:\n",
		"      customer_id:", "  public.track:\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
	cfg, err := config.Parse("init.yaml", []byte(text))
	if err != nil {
		t.Fatalf("the written config does not parse: %v\n%s", err, text)
	}
	// Every column of every table is decided: rule or keep.
	cols := 0
	for _, tr := range cfg.Tables {
		cols += len(tr.Columns)
	}
	var total int
	if err := pgtest.Connect(t, src).QueryRow(context.Background(), `SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if cols != total {
		t.Errorf("config decides %d columns, the database has %d", cols, total)
	}
}

// plan shows rules, followed keys and samples transformed exactly as a run would, warns
// about unmasked personal data, and with Strict fails on warnings — writing nothing.
func TestPlanShowsRulesSamplesAndWarnings(t *testing.T) {
	src := pgtest.LoadDataset(t, "pagila")
	cfg, err := config.Parse("p.yaml", []byte("tables:\n  public.customer:\n    columns:\n      customer_id: permute\n      email: hash\n"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("plan-test-key-0123456789")
	before := pgtest.TableDigests(t, src)
	var out strings.Builder
	n, err := Plan(context.Background(), PlanOptions{Source: config.DSN(src), Rules: Rules{Config: cfg, Key: key}, Samples: 2, ShowValues: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	var email string
	pgtest.Scan(t, pgtest.Connect(t, src).QueryRow(context.Background(), "SELECT email FROM customer LIMIT 1"), &email)
	// The row estimate comes from pg_class.reltuples, there only once autovacuum has
	// analysed the freshly loaded table.
	if !regexp.MustCompile(`\npublic\.customer( \(about \d+ rows\))?\n`).MatchString(text) {
		t.Errorf("plan output has no public.customer section:\n%s", text)
	}
	for _, want := range []string{
		"customer_id  integer", "permute", "followed by public.payment_p2022_01.customer_id, public.payment_p2022_02",
		"public.rental", "follows public.customer.customer_id",
		"email " + strings.Repeat(" ", 15) + email + " → ",
		"public.customer.first_name looks like first_name (its name) and has no rule",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan output lacks %q:\n%s", want, text)
		}
	}
	if n == 0 {
		t.Error("no warnings counted")
	}
	_, err = Plan(context.Background(), PlanOptions{Source: config.DSN(src), Rules: Rules{Config: cfg, Key: key}, Strict: true, Out: io.Discard})
	assertCode(t, err, failure.ExitUnsafe, "warning(s) under --strict")
	after := pgtest.TableDigests(t, src)
	for name, d := range before {
		if after[name] != d {
			t.Errorf("plan changed %s", name)
		}
	}
}

// verify passes a properly anonymized target and catches one where values survived.
func TestVerifyCountsSurvivors(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 20000, 5); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("v.yaml", []byte("tables:\n  public.customers:\n    columns:\n      email: hash\n      phone: {transform: hash, length: 12}\n      notes: null\n"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("verify-test-key-0123456789")
	good, leaky := pgtest.NewDB(t), pgtest.NewDB(t)
	o := syncOpts(src, good)
	o.Config, o.Key = cfg, key
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(context.Background(), syncOpts(src, leaky)); err != nil { // no rules at all
		t.Fatal(err)
	}
	var out strings.Builder
	if _, err := Verify(context.Background(), VerifyOptions{Source: config.DSN(src), Target: config.DSN(good), Rules: Rules{Config: cfg, Key: key}, Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "every check passed") || !strings.Contains(out.String(), "public.customers  email") {
		t.Errorf("report:\n%s", out.String())
	}
	out.Reset()
	res, err := Verify(context.Background(), VerifyOptions{Source: config.DSN(src), Target: config.DSN(leaky), Rules: Rules{Config: cfg, Key: key}, Out: &out})
	assertCode(t, err, failure.ExitFailed, "check(s) failed")
	if res.Failures != 3 || !strings.Contains(out.String(), "FAIL") {
		t.Errorf("%d failures (want email, phone and notes):\n%s", res.Failures, out.String())
	}
}
