package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline"
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
		if code != pipeline.ExitOK || !strings.Contains(stdout, ", 0 failed") || !strings.Contains(stdout, "== public.player  rows 300 → 300") {
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
		if code != pipeline.ExitFailed || !strings.Contains(stderr, "checks failed") {
			t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
		}
		if !strings.Contains(stdout, "public.player.rating") || !strings.Contains(stdout, "null_fraction") {
			t.Errorf("stdout names no failed null_fraction of public.player.rating:\n%s", stdout)
		}
		noPassword(t, stdout, stderr)
		// Without --check the same report is only information.
		if code, _, _ := runCLI(t, "report", "--source", src, "--target", dst); code != pipeline.ExitOK {
			t.Errorf("without --check: exit %d", code)
		}
	})

	t.Run("scale expects more rows", func(t *testing.T) {
		code, stdout, _ := runCLI(t, "report", "--source", src, "--target", same, "--scale", "2", "--shared", "public.team", "--check")
		if code != pipeline.ExitFailed || !strings.Contains(stdout, "= 2 × source (600)") {
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
			if code != pipeline.ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tc.want)
			}
			noPassword(t, stderr)
		})
	}
}
