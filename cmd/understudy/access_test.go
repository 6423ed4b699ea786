package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

// Every command that reads the source's rows refuses a role that row-level security
// restricts with exit code 3, naming the table, its policy and the fix, instead of working
// on the rows the policy lets it see.
func TestRowLevelSecurityIsExitCode3ForEveryCommand(t *testing.T) {
	src := pgtest.NewDB(t)
	admin := pgtest.Connect(t, src)
	pgtest.Exec(t, admin, `CREATE TABLE accounts (id int PRIMARY KEY, tenant int NOT NULL);
INSERT INTO accounts SELECT g, g % 2 FROM generate_series(1, 1000) g;
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_one ON accounts USING (tenant = 1);`)
	role, reader := pgtest.NewRole(t, src, "")
	pgtest.Exec(t, admin, "GRANT SELECT ON accounts TO "+role)
	dst := pgtest.NewDB(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"sync", "--source", reader, "--target", dst, "--allow-unmasked"},
		{"snapshot", "--source", reader, "--to", filepath.Join(dir, "snap"), "--allow-unmasked"},
		{"plan", "--source", reader, "--random"},
		{"init", "--source", reader},
		{"verify", "--source", reader, "--target", dst},
		{"report", "--source", reader, "--target", dst},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, _, stderr := runCLI(t, args...)
			if code != failure.ExitConnect {
				t.Fatalf("exit %d, want %d:\n%s", code, failure.ExitConnect, stderr)
			}
			for _, want := range []string{"public.accounts", "tenant_one", "row-level security", "BYPASSRLS", "hint: "} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not mention %q:\n%s", want, stderr)
				}
			}
			if strings.Count(stderr, "cannot read all that this command needs") != 1 {
				t.Errorf("error printed more than once:\n%s", stderr)
			}
			if args[0] == "sync" {
				t.Logf("stderr:\n%s", stderr)
			}
		})
	}
	if d := pgtest.TableDigests(t, dst); len(d) != 0 {
		t.Errorf("a refused sync created tables in the target: %v", d)
	}
}
