package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseBudget(t *testing.T) {
	cfg, err := Parse("rehearse.yaml", []byte(`
budget:
  max_lock_wait: 2s
  max_statement: 1m30s
  max_migration: 5m
  no_rewrite_over: 1GiB
`))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Budget
	if b == nil || b.MaxLockWait != 2*time.Second || b.MaxStatement != 90*time.Second || b.MaxMigration != 5*time.Minute || b.NoRewriteOver != 1<<30 {
		t.Fatalf("budget parsed as %+v", b)
	}
	if b.Lines["max_lock_wait"] != 3 || b.Lines["no_rewrite_over"] != 6 {
		t.Errorf("lines: %v", b.Lines)
	}
}

func TestParseBudgetErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"budget:\n  max_lock_wiat: 2s\n", `cfg.yaml:2: budget: unknown key "max_lock_wiat" (did you mean "max_lock_wait"?)`},
		{"budget:\n  max_statement: soon\n", `cfg.yaml:2: budget.max_statement: must be a duration like 30s or 5m, not "soon"`},
		{"budget:\n  max_migration: -1s\n", `cfg.yaml:2: budget.max_migration: must be a duration like 30s or 5m, not "-1s"`},
		{"budget:\n\n  no_rewrite_over: 1 parsec\n", `cfg.yaml:3: budget.no_rewrite_over: size "1 parsec": unknown unit "PARSEC"`},
		{"budget: 5s\n", `cfg.yaml:1: budget: must be a mapping of max_lock_wait, max_statement, max_migration, no_rewrite_over`},
	}
	for _, c := range cases {
		_, err := Parse("cfg.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "500MB": 500e6, "1.5GiB": 3 << 29, "10G": 10 << 30, "64 MiB": 64 << 20} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "-1GB", "3 furlongs"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) must fail", bad)
		}
	}
}
