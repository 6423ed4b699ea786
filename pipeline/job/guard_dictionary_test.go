package job

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

// A dictionary whose default keeps the values its map does not list copies those values as
// they are: on a column that looks personal, the PII guard does not count it as a rule, and
// says why and how to fix it. With a default that replaces them, it does count.
func TestGuardDoesNotCountADictionaryThatKeepsUnlistedValues(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `CREATE TABLE people (id int PRIMARY KEY, city text);
INSERT INTO people VALUES (1, 'Paris'), (2, 'Oberammergau'), (3, 'Paris'), (4, NULL);`)
	rule := func(def string) *config.Config {
		cfg, err := config.Parse("c.yaml", []byte("tables:\n  public.people:\n    columns:\n      city: {transform: dictionary, map: {Paris: Lyon}"+def+"}\n"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	for _, def := range []string{"", ", default: keep"} {
		dst := pgtest.NewDB(t)
		o := syncOpts(src, dst)
		o.AllowUnmasked, o.Config = false, rule(def)
		_, err := Sync(context.Background(), o)
		assertCode(t, err, failure.ExitUnsafe, "public.people.city")
		msg := err.Error() + "\n" + hintOf(err)
		for _, want := range []string{"dictionary copies the values its map does not list as they are", "default: null"} {
			if !strings.Contains(msg, want) {
				t.Errorf("default %q: the refusal does not say %q:\n%s", def, want, msg)
			}
		}
		if strings.Contains(msg, "Oberammergau") {
			t.Errorf("the refusal shows a production value:\n%s", msg)
		}
		if n := len(pgtest.TableDigests(t, dst)); n != 0 {
			t.Errorf("a refused sync still created %d tables", n)
		}
	}
	for _, def := range []string{", default: null", ", default: Springfield"} {
		dst := pgtest.NewDB(t)
		o := syncOpts(src, dst)
		o.AllowUnmasked, o.Config = false, rule(def)
		if _, err := Sync(context.Background(), o); err != nil {
			t.Fatalf("default %q: %v", def, err)
		}
		var kept int
		pgtest.Scan(t, pgtest.Connect(t, dst).QueryRow(context.Background(), "SELECT count(*) FROM people WHERE city IN ('Paris', 'Oberammergau')"), &kept)
		if kept != 0 {
			t.Errorf("default %q: %d rows kept their city", def, kept)
		}
	}
}

// plan --strict judges the column as sync's guard does: a warning (exit 4) for the
// dictionary that keeps unlisted values, none for one that replaces them.
func TestPlanWarnsOfADictionaryThatKeepsUnlistedValues(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `CREATE TABLE people (id int PRIMARY KEY, city text);
INSERT INTO people VALUES (1, 'Paris'), (2, 'Oberammergau'), (3, 'Paris'), (4, NULL);`)
	for def, wantWarn := range map[string]bool{"": true, ", default: keep": true, ", default: null": false} {
		cfg, err := config.Parse("c.yaml", []byte("tables:\n  public.people:\n    columns:\n      city: {transform: dictionary, map: {Paris: Lyon}"+def+"}\n"))
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		n, err := Plan(context.Background(), PlanOptions{Source: config.DSN(src), Rules: Rules{Config: cfg}, Samples: 3, Strict: true, Out: &out})
		if !wantWarn {
			if err != nil || n != 0 {
				t.Errorf("default %q: %d warnings, %v:\n%s", def, n, err, out.String())
			}
			continue
		}
		assertCode(t, err, failure.ExitUnsafe, "")
		if !strings.Contains(out.String(), "public.people.city") || !strings.Contains(out.String(), "copies the values its map does not list") {
			t.Errorf("default %q: plan does not warn that the dictionary copies values through:\n%s", def, out.String())
		}
		if strings.Contains(out.String(), "Oberammergau") {
			t.Errorf("default %q: plan prints a production value the rule copied through:\n%s", def, out.String())
		}
	}
}

func hintOf(err error) string {
	var ue *failure.UserError
	if errors.As(err, &ue) {
		return ue.Hint
	}
	return ""
}
