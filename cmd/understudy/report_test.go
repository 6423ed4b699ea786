package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

const reportSchema = `
CREATE TABLE team (id int PRIMARY KEY, league text NOT NULL);
CREATE TABLE player (id int PRIMARY KEY, team_id int REFERENCES team (id), born date, rating numeric);
INSERT INTO team SELECT i, CASE WHEN i % 3 = 0 THEN 'east' ELSE 'west' END FROM generate_series(1, 30) i;
INSERT INTO player SELECT i, 1 + i % 30, DATE '1990-01-01' + i * 7, CASE WHEN i % 5 <> 0 THEN i / 10.0 END
FROM generate_series(1, 300) i;
`

func TestReportCLI(t *testing.T) {
	src, same, dst := pgtest.NewDB(t), pgtest.NewDB(t), pgtest.NewDB(t)
	for _, dsn := range []string{src, same, dst} {
		pgtest.Exec(t, pgtest.Connect(t, dsn), reportSchema)
	}
	// The target lost a third of its players' ratings.
	pgtest.Exec(t, pgtest.Connect(t, dst), "UPDATE player SET rating = NULL WHERE id % 3 = 0")
	dir := t.TempDir()
	htmlFile, jsonFile := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.json")
	password := ""
	if u, err := url.Parse(src); err == nil {
		password, _ = u.User.Password()
	}
	noPassword := func(t *testing.T, outs ...string) {
		for _, o := range outs {
			if password != "" && strings.Contains(o, password) {
				t.Errorf("password printed:\n%s", o)
			}
		}
	}

	t.Run("same data passes --check", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "report", "--source", src, "--target", same, "--check", "--html", htmlFile, "--json", jsonFile)
		if code != failure.ExitOK || !strings.Contains(stdout, ", 0 failed") || !strings.Contains(stdout, "== public.player  rows 300 → 300") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		noPassword(t, stdout, stderr)
		page, err := os.ReadFile(htmlFile)
		if err != nil || !strings.Contains(string(page), `class="fanout" data-fk="player_team_id_fkey"`) {
			t.Errorf("html: %v", err)
		}
		data, err := os.ReadFile(jsonFile)
		var back struct {
			Failed   int               `json:"failed"`
			Findings []json.RawMessage `json:"findings"`
		}
		if err != nil || json.Unmarshal(data, &back) != nil || back.Failed != 0 || len(back.Findings) == 0 {
			t.Errorf("json: %v, %d failed of %d", err, back.Failed, len(back.Findings))
		}
		noPassword(t, string(page), string(data))
	})

	t.Run("changed nulls fail --check", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "report", "--source", src, "--target", dst, "--check")
		if code != failure.ExitFailed || !strings.Contains(stderr, "checks failed") {
			t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
		}
		if !strings.Contains(stdout, "public.player.rating") || !strings.Contains(stdout, "null_fraction") {
			t.Errorf("stdout names no failed null_fraction of public.player.rating:\n%s", stdout)
		}
		noPassword(t, stdout, stderr)
		// Without --check the same report is only information.
		if code, _, _ := runCLI(t, "report", "--source", src, "--target", dst); code != failure.ExitOK {
			t.Errorf("without --check: exit %d", code)
		}
	})

	t.Run("scale expects more rows", func(t *testing.T) {
		code, stdout, _ := runCLI(t, "report", "--source", src, "--target", same, "--scale", "2", "--shared", "public.team", "--check")
		if code != failure.ExitFailed || !strings.Contains(stdout, "= 2 × source (600)") {
			t.Fatalf("exit %d\nstdout:\n%s", code, stdout)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing target", []string{"report", "--source", src}, "missing target DSN"},
		{"bad scale", []string{"report", "--source", src, "--target", dst, "--scale", "0"}, "--scale: 0"},
		{"bad shared", []string{"report", "--source", src, "--target", dst, "--shared", "team"}, `"team" is not schema.table`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != failure.ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tc.want)
			}
			noPassword(t, stderr)
		})
	}
}

// admins is a small table of real-looking people: every value below is production data that
// no report may print unless asked to.
const admins = `
CREATE TABLE admins (id int PRIMARY KEY, email text NOT NULL UNIQUE, full_name text, born date, handle text, code text UNIQUE, phone text);
INSERT INTO admins VALUES
  (1, 'zelda.quartermain@hyrule-castle.test', 'Zelda Quartermain', '1937-05-11', 'zq_overlord', 'ADM-ZELDA-7', '+44 20 7946 0958'),
  (2, 'bartholomew.nightingale@moonbase.test', 'Bartholomew Nightingale', '1942-11-23', 'bn_nightowl', 'ADM-BART-3', '+49 30 9018 2733'),
  (3, 'ophelia.winterbottom@frostvale.test', 'Ophelia Winterbottom', '1951-02-28', 'ow_icequeen', 'ADM-OPH-9', '+33 1 4268 5300');
CREATE TABLE audit (id int PRIMARY KEY, admin_code text REFERENCES admins (code), action text);
INSERT INTO audit SELECT i, (ARRAY['ADM-ZELDA-7', 'ADM-BART-3', 'ADM-OPH-9'])[1 + i % 3], 'login' FROM generate_series(1, 30) i;
`

// The production values of admins: emails, names, birth dates (the detector flags those
// columns by name), handles (under a rule of the config), codes (under a rule that
// audit.admin_code follows through its foreign key) and phone numbers (flagged by the
// detector, and under no rule: real on both sides).
var adminSecrets = []string{
	"zelda", "quartermain", "hyrule", "bartholomew", "nightingale", "moonbase", "ophelia", "winterbottom", "frostvale",
	"1937-05-11", "1942-11-23", "1951-02-28", "overlord", "nightowl", "icequeen", "ADM-ZELDA-7", "ADM-BART-3", "ADM-OPH-9",
	"7946", "9018", "4268",
}

const adminsConfig = `tables:
  public.admins:
    columns:
      email: email
      full_name: full_name
      born: birthdate
      handle: username
      code: {transform: hash, length: 24}
`

func leaked(out string) []string {
	var found []string
	for _, s := range adminSecrets {
		if strings.Contains(strings.ToLower(out), strings.ToLower(s)) {
			found = append(found, s)
		}
	}
	return found
}

// report prints no value of a personal column — in the text, JSON or HTML report, on either
// side — unless --show-values asks for them; its files are private to their owner.
func TestReportHidesPersonalValues(t *testing.T) {
	src, dst := pgtest.NewDB(t), pgtest.NewDB(t)
	for _, dsn := range []string{src, dst} {
		pgtest.Exec(t, pgtest.Connect(t, dsn), admins)
	}
	dir := t.TempDir()
	cfg := writeFile(t, dir, "understudy.yaml", adminsConfig)
	htmlFile, jsonFile := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.json")
	// An older report that others could read: writing over it makes it private.
	if err := os.WriteFile(htmlFile, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) (stdout, page, data string) {
		t.Helper()
		args := append([]string{"report", "--source", src, "--target", dst, "--config", cfg, "--html", htmlFile, "--json", jsonFile, "--check"}, extra...)
		code, stdout, stderr := runCLI(t, args...)
		if code != failure.ExitOK {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, f := range []string{htmlFile, jsonFile} {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", filepath.Base(f), st.Mode().Perm())
			}
		}
		p, _ := os.ReadFile(htmlFile)
		d, _ := os.ReadFile(jsonFile)
		return stdout + stderr, string(p), string(d)
	}

	stdout, page, data := run()
	for name, out := range map[string]string{"text": stdout, "html": page, "json": data} {
		if l := leaked(out); len(l) > 0 {
			t.Errorf("the %s report prints production values %q", name, l)
		}
	}
	// Shapes instead: the masked addresses, and no dates of birth at all.
	for _, want := range []string{"z***@h***.test", "b***@m***.test"} {
		if !strings.Contains(stdout, want) || !strings.Contains(page, want) || !strings.Contains(data, want) {
			t.Errorf("a report lacks the masked %q\ntext:\n%s", want, stdout)
		}
	}
	var back struct {
		Source struct {
			Tables []struct {
				Name    string `json:"name"`
				Columns []struct {
					Name      string           `json:"name"`
					Personal  bool             `json:"personal"`
					Min       *float64         `json:"min"`
					Quantiles []float64        `json:"quantiles"`
					TopValues []map[string]any `json:"top_values"`
					Shape     *struct {
						LengthMean float64 `json:"length_mean"`
					} `json:"shape"`
				} `json:"columns"`
			} `json:"tables"`
		} `json:"source"`
	}
	if err := json.Unmarshal([]byte(data), &back); err != nil {
		t.Fatal(err)
	}
	personal := map[string]bool{}
	for _, tab := range back.Source.Tables {
		for _, c := range tab.Columns {
			if !c.Personal {
				continue
			}
			personal[tab.Name+"."+c.Name] = true
			if c.Shape == nil || c.Shape.LengthMean == 0 {
				t.Errorf("%s.%s: no shape measured", tab.Name, c.Name)
			}
			if c.Name == "born" && (c.Min != nil || c.Quantiles != nil || c.TopValues != nil) {
				t.Errorf("admins.born: min %v, quantiles %v, top values %v", c.Min, c.Quantiles, c.TopValues)
			}
		}
	}
	for _, want := range []string{"public.admins.email", "public.admins.full_name", "public.admins.born", "public.admins.handle", "public.admins.code", "public.audit.admin_code", "public.admins.phone"} {
		if !personal[want] {
			t.Errorf("%s is not marked personal (personal: %v)", want, personal)
		}
	}
	if personal["public.audit.action"] || personal["public.admins.id"] {
		t.Errorf("columns that are not personal are marked so: %v", personal)
	}

	// --show-values: the user asked.
	stdout, page, data = run("--show-values")
	for name, out := range map[string]string{"text": stdout, "html": page, "json": data} {
		for _, want := range []string{"Zelda Quartermain", "ADM-ZELDA-7", "1937-05-11", "+44 20 7946 0958"} {
			if !strings.Contains(out, want) {
				t.Errorf("with --show-values the %s report lacks %q", name, want)
			}
		}
	}
}

// The workflow of the README on both public databases: init writes a config, sync runs it,
// and report --check with that config passes — every rewritten column judged by its shape,
// none by its values — while a target that strays in shape fails, naming the column and the
// check, and printing no production value on the way.
func TestReportCheckAfterInitAndSync(t *testing.T) {
	for _, tc := range []struct {
		dataset string
		real    []string // production values a report must not print
		stray   string   // SQL run on the target
		failed  []string // "table.column check" the stray must fail
	}{
		{dataset: "pagila", real: []string{"sakilacustomer.org", "MARY.SMITH", "Mike Hillyer"}},
		{dataset: "chinook", real: []string{"chinookcorp.com", "Nancy", "Edwards", "Lethbridge"},
			stray: `UPDATE customer SET fax = NULL; UPDATE customer SET address = left(repeat(address || ' ', 4), 70);
UPDATE employee SET email = md5(email); UPDATE invoice SET billing_city = 'Springfield'`,
			failed: []string{"public.customer.fax null_fraction", "public.customer.address length_mean",
				"public.employee.email chars[letters]", "public.employee.email chars[digits]", "public.employee.email format",
				"public.invoice.billing_city distinct"}},
	} {
		t.Run(tc.dataset, func(t *testing.T) {
			src := pgtest.LoadDataset(t, tc.dataset)
			dst := pgtest.NewDB(t)
			dir := t.TempDir()
			cfg, runReport := filepath.Join(dir, "understudy.yaml"), filepath.Join(dir, "run.json")
			if code, _, stderr := runCLI(t, "init", "--source", src, "--output", cfg); code != failure.ExitOK {
				t.Fatalf("init: exit %d\n%s", code, stderr)
			}
			t.Setenv("UNDERSTUDY_KEY", "report-check-key-0123456789")
			if code, _, stderr := runCLI(t, "sync", "--source", src, "--target", dst, "--config", cfg, "--report", runReport); code != failure.ExitOK {
				t.Fatalf("sync: exit %d\n%s", code, stderr)
			}
			if st, err := os.Stat(runReport); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("sync --report: %v, mode %v, want 0600", err, st.Mode().Perm())
			}
			noValues := func(out string) {
				t.Helper()
				for _, v := range tc.real {
					if strings.Contains(strings.ToLower(out), strings.ToLower(v)) {
						t.Errorf("the report prints the production value %q", v)
					}
				}
			}
			code, stdout, stderr := runCLI(t, "report", "--source", src, "--target", dst, "--config", cfg, "--check")
			noValues(stdout + stderr)
			if code != failure.ExitOK || !strings.Contains(stdout, " 0 failed") {
				t.Fatalf("report --check after init and sync: exit %d\n%s\n%s", code, stdout, stderr)
			}
			if tc.stray == "" {
				return
			}
			pgtest.Exec(t, pgtest.Connect(t, dst), tc.stray)
			code, stdout, stderr = runCLI(t, "report", "--source", src, "--target", dst, "--config", cfg, "--check")
			noValues(stdout + stderr)
			if code != failure.ExitFailed {
				t.Fatalf("a target that strays in shape: exit %d\n%s", code, stdout)
			}
			failed := stdout[strings.Index(stdout, "\nFAILED ("):]
			for _, want := range tc.failed {
				where, check, _ := strings.Cut(want, " ")
				if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(where) + ` +` + regexp.QuoteMeta(check) + ` `).MatchString(failed) {
					t.Errorf("no failed %s of %s in:\n%s", check, where, failed)
				}
			}
			if n := strings.Count(failed, "\n  public."); n != len(tc.failed) {
				t.Errorf("%d failed checks, want %d:\n%s", n, len(tc.failed), failed)
			}
		})
	}
}
