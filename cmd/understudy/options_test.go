package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

// Every command finds its DSNs the same way, as the README says: a flag wins over the config
// (source:, target:), the config over UNDERSTUDY_SOURCE / UNDERSTUDY_TARGET. The DSNs point at
// a port where nothing listens, each at a database named for where it came from, so the
// connection error says which one the command took.
func TestEveryCommandTakesDSNsFlagThenConfigThenEnvironment(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `CREATE TABLE t (id int PRIMARY KEY, n int); INSERT INTO t SELECT g, g FROM generate_series(1, 10) g;`)
	dir := t.TempDir()
	snap := filepath.Join(dir, "snap")
	if code, _, stderr := runCLI(t, "snapshot", "--source", src, "--to", snap, "--jobs", "1"); code != failure.ExitOK {
		t.Fatalf("snapshot: exit %d\n%s", code, stderr)
	}
	nowhere := func(db string) string { return "postgres://u@127.0.0.1:1/" + db + "?connect_timeout=5" }

	type command struct {
		name string
		args []string // besides the DSN under test
		// which DSN is under test; the other one, if the command takes it, is real (src)
		role      string // "source" or "target"
		hasConfig bool
	}
	commands := []command{
		{"sync", nil, "source", true},
		{"sync", nil, "target", true},
		{"snapshot", []string{"--to", filepath.Join(dir, "other")}, "source", true},
		{"plan", nil, "source", true},
		{"verify", nil, "source", true},
		{"verify", nil, "target", true},
		{"report", nil, "source", true},
		{"report", nil, "target", true},
		{"restore", []string{"--from", snap}, "target", true},
		{"init", nil, "source", false},
	}
	for _, c := range commands {
		env := "UNDERSTUDY_" + strings.ToUpper(c.role)
		other, otherEnv := "target", "UNDERSTUDY_TARGET"
		if c.role == "target" {
			other, otherEnv = "source", "UNDERSTUDY_SOURCE"
		}
		for _, from := range []string{"flag", "config", "environment"} {
			if from == "config" && !c.hasConfig {
				continue
			}
			t.Run(c.name+"/"+c.role+"/"+from, func(t *testing.T) {
				t.Setenv(otherEnv, src) // the command's other DSN, where it takes one
				t.Setenv(env, nowhere("environment"))
				args := append([]string{c.name}, c.args...)
				if c.hasConfig {
					yaml := fmt.Sprintf("%s: %s\n", c.role, nowhere("config"))
					if from == "environment" {
						yaml = "jobs: 1\n"
					}
					args = append(args, "--config", writeFile(t, t.TempDir(), "understudy.yaml", yaml))
				}
				if from == "flag" {
					args = append(args, "--"+c.role, nowhere("flag"))
				}
				code, _, stderr := runCLI(t, args...)
				want := c.role + " 127.0.0.1:1/" + from + " as u: cannot connect"
				if code != failure.ExitConnect || !strings.Contains(stderr, want) {
					t.Fatalf("%v (%s from the environment): exit %d\n%s\nwant exit 3 naming %q", args, other, code, stderr, want)
				}
			})
		}
	}
}

// Every command refuses what is not a flag, rather than ignore it: a misplaced value must not
// be dropped silently.
func TestEveryCommandRefusesStrayArguments(t *testing.T) {
	for _, args := range [][]string{
		{"sync", "--source", "x", "--target", "y", "stray"},
		{"snapshot", "--source", "x", "--to", "y", "stray"},
		{"restore", "--from", "x", "--target", "y", "stray"},
		{"plan", "--source", "x", "stray"},
		{"verify", "--source", "x", "--target", "y", "stray"},
		{"report", "--source", "x", "--target", "y", "stray"},
		{"init", "--source", "x", "stray"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != failure.ExitUsage || !strings.Contains(stderr, `unexpected argument "stray"`) {
			t.Errorf("%v: exit %d\n%s\nwant exit 2 and unexpected argument", args, code, stderr)
		}
	}
}

// Each command's -h lists every flag it has always had, with its default, and exits 0.
func TestHelpListsEveryFlag(t *testing.T) {
	running := []string{"jobs", "report", `log-format="text"`, "progress-interval=10s"}
	commands := map[string][]string{
		"sync": append([]string{"source", "target", "config", "replace", "allow-unmasked", "key-file", "random", "no-owner",
			"no-privileges", "pg-dump", "chunk-mib=64", "scale"}, running...),
		"snapshot": append([]string{"source", "to", "config", "allow-unmasked", "key-file", "random", "resume", "replace", "no-owner",
			"no-privileges", "pg-dump", "chunk-mib=64", "scale", "sign-key-file"}, running...),
		"restore": append([]string{"from", "target", "replace", "tables", "scale", "config", "key-file", "sign-key-file"}, running...),
		"plan":    {"source", "config", "key-file", "random", "samples=3", "strict", "show-values"},
		"verify":  {"source", "target", "config", "key-file", "scale"},
		"init":    {"source", "output"},
		"report": {"source", "target", "config", "show-values", "html", "json", "scale=1", "shared", "bounded", "check",
			"sample-above=1000000", "sample-rows=100000"},
	}
	for name, flags := range commands {
		code, stdout, stderr := runCLI(t, name, "-h")
		help := stdout + stderr
		if code != failure.ExitOK {
			t.Errorf("%s -h: exit %d\n%s", name, code, help)
		}
		if !strings.Contains(help, "Usage: understudy "+name) {
			t.Errorf("%s -h has no usage line:\n%s", name, help)
		}
		for _, f := range flags {
			flag, def, _ := strings.Cut(f, "=")
			if !regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(flag) + `\b`).MatchString(help) {
				t.Errorf("%s -h does not list -%s:\n%s", name, flag, help)
				continue
			}
			if def != "" && !regexp.MustCompile(`(?ms)^  -`+regexp.QuoteMeta(flag)+`\b.*?\(default `+regexp.QuoteMeta(def)+`\)`).MatchString(help) {
				t.Errorf("%s -h does not give -%s's default %s:\n%s", name, flag, def, help)
			}
		}
	}
}
