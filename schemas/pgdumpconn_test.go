package schemas

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestSplitSecretsKeepsThemOffTheCommandLine(t *testing.T) {
	cases := []struct{ in, conn, pw, sslpw string }{
		{"postgres://bob:s3cret@db:5432/prod?sslmode=require", "postgres://bob@db:5432/prod?sslmode=require", "s3cret", ""},
		{"postgres://bob@db/prod", "postgres://bob@db/prod", "", ""},
		{"postgresql://db/prod?user=bob&password=s3%20cret&sslmode=disable", "postgresql://db/prod?user=bob&sslmode=disable", "s3 cret", ""},
		{"postgres://bob:first@db/prod?password=a+b%26c&sslpassword=k%3Dy", "postgres://bob@db/prod", "a+b&c", "k=y"},
		{"postgres://bob@h1:5432,[::1]:5433/prod?pass%77ord=x&application_name=a", "postgres://bob@h1:5432,[::1]:5433/prod?application_name=a", "x", ""},
		{"postgres://[fe80::1?]/db?password=x", "postgres://[fe80::1?]/db", "x", ""},
		{"host=db user=bob password='s3 cret' dbname=prod", "host=db user=bob dbname=prod", "s3 cret", ""},
		{"host=db password=it\\'s\\ x sslpassword = 'k\\\\y' dbname='my db'", "host=db dbname='my db'", "it's x", `k\y`},
		{"  host=db  ", "host=db", "", ""},
		{"", "", "", ""},
	}
	for _, c := range cases {
		got, err := splitSecrets(c.in)
		if err != nil || got.conninfo != c.conn || got.password != c.pw || got.sslPassword != c.sslpw {
			t.Errorf("splitSecrets(%q) = %q, %q, %q, %v; want %q, %q, %q", c.in, got.conninfo, got.password, got.sslPassword, err, c.conn, c.pw, c.sslpw)
		}
	}
}

// pg_dump's environment is understudy's without its secrets, with the DSN's password in
// PGPASSWORD and its sslpassword in a service file on fd 3.
func TestPgDumpEnvironmentHoldsNoOtherSecret(t *testing.T) {
	t.Setenv("PGSERVICE", "")
	environ := []string{"PATH=/bin", "HOME=/home/u", "LANG=C", "PGSSLMODE=require", "PGPASSWORD=from-env",
		"UNDERSTUDY_KEY=k", "UNDERSTUDY_SIGN_KEY=s", "UNDERSTUDY_SOURCE=postgres://u:p@h/d", "UNDERSTUDY_TARGET=t",
		"AWS_ACCESS_KEY_ID=a", "AWS_SECRET_ACCESS_KEY=b", "AWS_SESSION_TOKEN=c", "AWS_REGION=r",
		"MY_ANON_KEY=m", "PGHOST=db"}
	conn, err := splitSecrets("postgres://u@db/d?password=pw&sslpassword=kp")
	if err != nil {
		t.Fatal(err)
	}
	cmd, done, err := conn.command(context.Background(), "/bin/true", []string{"--schema-only"}, environ, []string{"MY_ANON_KEY", "PGHOST"})
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	want := []string{"PATH=/bin", "HOME=/home/u", "LANG=C", "PGSSLMODE=require", "PGHOST=db", "PGPASSWORD=pw", "PGSERVICEFILE=/dev/fd/3"}
	if !slices.Equal(cmd.Env, want) {
		t.Errorf("environment %q\nwant %q", cmd.Env, want)
	}
	if a := strings.Join(cmd.Args, " "); a != "/bin/true --schema-only --dbname=postgres://u@db/d?service="+serviceName {
		t.Errorf("command line %q", a)
	}
	if len(cmd.ExtraFiles) != 1 {
		t.Fatalf("%d extra files, want the service file's pipe", len(cmd.ExtraFiles))
	}
	buf := make([]byte, 100)
	n, _ := cmd.ExtraFiles[0].Read(buf)
	if got := string(buf[:n]); got != "["+serviceName+"]\nsslpassword=kp\n" {
		t.Errorf("service file %q", got)
	}

	// A DSN with a service of its own cannot take a second one: say where sslpassword goes.
	conn, _ = splitSecrets("service=prod sslpassword=kp")
	if _, _, err := conn.command(context.Background(), "/bin/true", nil, environ, nil); err == nil || !strings.Contains(err.Error(), "put sslpassword in that service's definition") || strings.Contains(err.Error(), "kp") {
		t.Errorf("service and sslpassword: %v", err)
	}
}

// FuzzSplitSecrets checks splitSecrets against pgx's own parser, which follows libpq's: for
// any DSN pgx accepts, the password found is the one pgx uses, and what is left, parsed
// again, reaches the same hosts, ports, database, user and settings, with no password.
func FuzzSplitSecrets(f *testing.F) {
	for _, s := range []string{
		"postgres://bob:s3cret@db:5432/prod?sslmode=disable", "postgresql://db/prod?user=bob&password=s3%20cret",
		"postgres://bob:first@db/prod?password=a+b%26c&sslpassword=k%3Dy", "postgres://u@h1:1,h2:2/d?password=",
		"host=db user=bob password='s3 cret' dbname=prod", "host=db password=it\\'s\\ x dbname='my db'",
		"postgres://[::1]:5/d?password=x&options=-c%20a%3Db", "password = x host = y", "postgres://a:b:c@d/e",
	} {
		f.Add(s)
	}
	// pgx falls back to these; the comparison is about the DSN alone.
	for _, v := range []string{"PGPASSWORD", "PGSSLPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGSERVICEFILE", "PGSSLMODE"} {
		f.Setenv(v, "")
	}
	f.Setenv("PGPASSFILE", os.DevNull)
	f.Fuzz(func(t *testing.T, dsn string) {
		want, err := pgconn.ParseConfig(dsn)
		if err != nil || strings.Contains(dsn, "service") {
			return
		}
		got, err := splitSecrets(dsn)
		if err != nil {
			t.Fatalf("pgx parses %q but splitSecrets does not: %v", dsn, err)
		}
		if got.password != want.Password {
			t.Fatalf("%q: password %q, pgx uses %q", dsn, got.password, want.Password)
		}
		rest, err := pgconn.ParseConfig(got.conninfo)
		if err != nil {
			t.Fatalf("%q left %q, which pgx does not parse: %v", dsn, got.conninfo, err)
		}
		if rest.Password != "" {
			t.Fatalf("%q left %q, which still holds password %q", dsn, got.conninfo, rest.Password)
		}
		if rest.Host != want.Host || rest.Port != want.Port || rest.Database != want.Database || rest.User != want.User ||
			len(rest.Fallbacks) != len(want.Fallbacks) || !maps.Equal(rest.RuntimeParams, want.RuntimeParams) {
			t.Fatalf("%q left %q, which reaches %+v, not %+v", dsn, got.conninfo, rest, want)
		}
	})
}
