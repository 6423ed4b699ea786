package job

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
)

// pgDumpRecorder writes a script that stands in for pg_dump: it records its arguments and
// environment in dir, then runs the real pg_dump with them. It returns the script's path and
// a function that reads what each run recorded (argv, environ), NUL-separated.
func pgDumpRecorder(t *testing.T) (string, func() (argvs, envs [][]string)) {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "pg_dump")
	body := "#!/bin/sh\nprintf '%s\\0' \"$@\" > " + dir + "/argv.$$\nenv -0 > " + dir + "/env.$$\nexec " + pgtest.PgDumpPath(t) + " \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return script, func() (argvs, envs [][]string) {
		read := func(pattern string) [][]string {
			files, _ := filepath.Glob(filepath.Join(dir, pattern))
			var out [][]string
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"))
			}
			return out
		}
		return read("argv.*"), read("env.*")
	}
}

// A password in the DSN's query string, and an sslpassword, never reach pg_dump's command
// line (which any user can read in ps); pg_dump gets the password through PGPASSWORD, and
// its environment holds none of understudy's other secrets: the anonymization key, AWS
// credentials, the DSNs, variables the config file expands.
func TestPgDumpSeesNoSecretOnItsCommandLineOrEnvironment(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), "CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'x')")
	password := passwordOf(t, src)

	// The same database, with the password moved into the query string.
	u, err := url.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(u.User.Username())
	q := u.Query()
	q.Set("password", password)
	q.Set("sslpassword", "ssl-key-passphrase-4242")
	u.RawQuery = q.Encode()
	inQuery := u.String()

	secrets := map[string]string{
		"UNDERSTUDY_KEY":        "anon-key-secret-0123456789abcdef",
		"UNDERSTUDY_SIGN_KEY":   "sign-key-secret-0123456789abcdef",
		"UNDERSTUDY_SOURCE":     inQuery,
		"UNDERSTUDY_TARGET":     "postgres://stage:target-pw-secret@db/stage",
		"AWS_ACCESS_KEY_ID":     "AKIAEXAMPLESECRETID",
		"AWS_SECRET_ACCESS_KEY": "aws-secret-access-key-example",
		"AWS_SESSION_TOKEN":     "aws-session-token-example",
		"STAGING_ANON_KEY":      "config-expanded-secret-example",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	cfg, err := config.Parse("c.yaml", []byte("key: ${STAGING_ANON_KEY}\n"))
	if err != nil {
		t.Fatal(err)
	}

	script, recorded := pgDumpRecorder(t)
	dst := pgtest.NewDB(t)
	o := syncOpts(inQuery, dst)
	o.PgDump, o.Config = script, cfg
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, src, dst)

	argvs, envs := recorded()
	dumps := 0
	for _, argv := range argvs {
		line := strings.Join(argv, " ")
		if !strings.Contains(line, "--schema-only") {
			continue // pg_dump --version
		}
		dumps++
		for _, s := range []string{password, url.QueryEscape(password), "ssl-key-passphrase-4242", "password="} {
			if strings.Contains(line, s) {
				t.Errorf("pg_dump's command line holds %q: %s", s, line)
			}
		}
	}
	if dumps != 2 {
		t.Fatalf("recorded %d pg_dump runs of the schema, want 2 (pre-data, post-data)", dumps)
	}
	withPassword := 0
	for _, env := range envs {
		all := strings.Join(env, "\n")
		for k, v := range secrets {
			if strings.Contains(all, k+"=") || strings.Contains(all, v) {
				t.Errorf("pg_dump's environment holds %s", k)
			}
		}
		if bytes.Contains([]byte(all), []byte("PGPASSWORD="+password+"\n")) || strings.HasSuffix(all, "PGPASSWORD="+password) {
			withPassword++
		}
	}
	if withPassword != 2 {
		t.Errorf("%d pg_dump runs got the password in PGPASSWORD, want 2", withPassword)
	}
	if _, err := exec.LookPath("env"); err != nil {
		t.Fatalf("the recorder needs env(1): %v", err)
	}
}
