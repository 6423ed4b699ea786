package job

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/transforms"
)

const planAdmins = `
CREATE TABLE admins (id int PRIMARY KEY, email text NOT NULL UNIQUE, full_name text, born date, handle text);
INSERT INTO admins VALUES
  (1, 'zelda.quartermain@hyrule-castle.test', 'Zelda Quartermain', '1937-05-11', 'zq_overlord'),
  (2, 'bartholomew.nightingale@moonbase.test', 'Bartholomew Nightingale', '1942-11-23', 'bn_nightowl'),
  (3, 'ophelia.winterbottom@frostvale.test', 'Ophelia Winterbottom', '1951-02-28', 'ow_icequeen');
`

// plan prints the samples' "before" values (production values) masked unless ShowValues —
// the CLI sets it on a terminal or with --show-values — and so the rows a rule's condition
// leaves alone, whose values are copied as they are. The "after" values are fake.
func TestPlanMasksBeforeValues(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), planAdmins)
	cfg, err := config.Parse("admins.yaml", []byte(`tables:
  public.admins:
    columns:
      email: email
      full_name: {transform: full_name, when: "id <> 2"}
      born: birthdate
      handle: username
`))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("plan-values-key-0123456789")
	plan := func(show bool) string {
		t.Helper()
		var out bytes.Buffer
		if _, err := Plan(context.Background(), PlanOptions{Source: config.DSN(src), Rules: Rules{Config: cfg, Key: key}, Samples: 3, ShowValues: show, Out: &out}); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	real := []string{"zelda", "quartermain", "hyrule", "bartholomew", "nightingale", "ophelia", "winterbottom",
		"1937-05-11", "1942-11-23", "1951-02-28", "overlord", "nightowl", "icequeen"}

	masked := plan(false)
	for _, v := range real {
		if strings.Contains(strings.ToLower(masked), v) {
			t.Errorf("plan prints the production value %q:\n%s", v, masked)
		}
	}
	for _, want := range []string{"z***@h***.test → ", "B*** (kept: the condition is not true)", "*** → "} {
		if !strings.Contains(masked, want) {
			t.Errorf("plan output lacks %q:\n%s", want, masked)
		}
	}

	shown := plan(true)
	for _, want := range []string{"zelda.quartermain@hyrule-castle.test → ", "Bartholomew Nightingale (kept: the condition is not true)", "1937-05-11 → "} {
		if !strings.Contains(shown, want) {
			t.Errorf("with ShowValues, plan output lacks %q:\n%s", want, shown)
		}
	}
}
