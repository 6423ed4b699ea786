package main

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

// Without a terminal on standard output (a CI log), plan masks the production values of its
// samples; --show-values prints them.
func TestPlanMasksValuesWithoutATerminal(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), admins)
	cfg := writeFile(t, t.TempDir(), "understudy.yaml", adminsConfig)
	t.Setenv("UNDERSTUDY_KEY", "plan-cli-key-0123456789")
	code, stdout, stderr := runCLI(t, "plan", "--source", src, "--config", cfg)
	if code != failure.ExitOK || !strings.Contains(stdout, "sample, before → after") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if l := leaked(stdout + stderr); len(l) > 0 {
		t.Errorf("plan prints production values %q:\n%s", l, stdout)
	}
	if !strings.Contains(stdout, "z***@h***.test → ") {
		t.Errorf("plan shows no masked before-value:\n%s", stdout)
	}
	code, stdout, _ = runCLI(t, "plan", "--source", src, "--config", cfg, "--show-values")
	if code != failure.ExitOK || !strings.Contains(stdout, "zelda.quartermain@hyrule-castle.test → ") || !strings.Contains(stdout, "ADM-ZELDA-7 → ") {
		t.Errorf("with --show-values: exit %d\n%s", code, stdout)
	}
}
