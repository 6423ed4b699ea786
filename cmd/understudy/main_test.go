package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

func runCLI(t *testing.T, args ...string) (failure.ExitCode, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "understudy.yaml")
	os.WriteFile(badCfg, []byte("tables:\n  public.t:\n    columns:\n      a: hash\n  oops: {colums: {}}\n"), 0o644)
	cases := []struct {
		name string
		args []string
		code failure.ExitCode
		want string
	}{
		{"no command", nil, failure.ExitUsage, "Usage:"},
		{"unknown command", []string{"snyc"}, failure.ExitUsage, `unknown command "snyc"`},
		{"unknown flag", []string{"sync", "--sorce", "x"}, failure.ExitUsage, "flag provided but not defined: -sorce"},
		{"missing target", []string{"sync", "--source", "postgres://a@h/db"}, failure.ExitUsage, "missing target DSN"},
		{"config error names file and line", []string{"sync", "--config", badCfg, "--source", "x", "--target", "y"}, failure.ExitUsage,
			badCfg + `:5: tables.oops: unknown key "colums" (did you mean "columns"?)`},
		{"unreachable server", []string{"sync", "--source", "postgres://u:topsecret@127.0.0.1:1/db?connect_timeout=5", "--target", "postgres://u@127.0.0.1:1/db2"},
			failure.ExitConnect, "source 127.0.0.1:1/db as u: cannot connect"},
		{"short key", []string{"sync", "--source", "x", "--target", "y", "--key-file", writeFile(t, dir, "k", "short")}, failure.ExitUsage, "at least 16 bytes"},
		{"random and a key", []string{"sync", "--source", "x", "--target", "y", "--random", "--key-file", writeFile(t, dir, "k2", "0123456789abcdef0123456789abcdef")},
			failure.ExitUsage, "--random and a key exclude each other"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tc.code, tc.want)
			}
			if strings.Contains(stderr, "topsecret") {
				t.Errorf("password printed: %s", stderr)
			}
			if strings.Count(stderr, "understudy: ") > 1 {
				t.Errorf("error printed more than once:\n%s", stderr)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSyncCommandEndToEnd(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), `CREATE TABLE people (id int PRIMARY KEY, email text UNIQUE, note text);
INSERT INTO people SELECT g, 'user' || g || '@example.com', 'secret note ' || g FROM generate_series(1, 500) g;`)
	dst := pgtest.NewDB(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "understudy.yaml", "tables:\n  public.people:\n    columns:\n      email: hash\n      note: null\n")
	report := filepath.Join(dir, "report.json")
	t.Setenv("UNDERSTUDY_KEY", "cli-test-key-0123456789")
	t.Setenv("UNDERSTUDY_SOURCE", src)
	code, stdout, stderr := runCLI(t, "sync", "--target", dst, "--config", cfg, "--report", report, "--log-format", "json")
	if code != failure.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "public.people") || !strings.Contains(stdout, "email=hash") {
		t.Errorf("summary does not list the table and its rules:\n%s", stdout)
	}
	if !strings.Contains(stderr, `"msg":"sync complete"`) {
		t.Errorf("no JSON completion log line:\n%s", stderr)
	}
	pw := src[strings.LastIndex(src[:strings.Index(src, "@")], ":")+1 : strings.Index(src, "@")]
	rep, _ := os.ReadFile(report)
	for _, s := range []string{stdout, stderr, string(rep)} {
		if strings.Contains(s, pw) || strings.Contains(s, "cli-test-key") {
			t.Errorf("a secret reached the output or report:\n%s", s)
		}
	}
	var leaked int
	pgtest.Scan(t, pgtest.Connect(t, dst).QueryRow(t.Context(), "SELECT count(*) FROM people WHERE note IS NOT NULL OR email LIKE '%@example.com'"), &leaked)
	if leaked != 0 {
		t.Errorf("%d rows kept their email or note", leaked)
	}
}

func TestMissingOrOldPgDumpIsExitCode5(t *testing.T) {
	src, dst := pgtest.NewDB(t), pgtest.NewDB(t)
	dir := t.TempDir()
	// No PostgreSQL 9 client exists here; a script reporting that version stands in for one.
	old := writeFile(t, dir, "pg_dump", "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
	os.Chmod(old, 0o755)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "nowhere", "pg_dump"), "pg_dump not found"},
		{old, "version 9 but the source server is version"},
	} {
		code, _, stderr := runCLI(t, "sync", "--source", src, "--target", dst, "--pg-dump", tc.path)
		if code != failure.ExitTooling || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "hint: ") {
			t.Errorf("exit %d, stderr %s; want exit 5 with %q and a hint", code, stderr, tc.want)
		}
	}
}
