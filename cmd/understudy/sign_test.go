package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
)

// A signed snapshot as a user makes and checks one: the sign key comes from
// UNDERSTUDY_SIGN_KEY or a file, never the command line; restore with the key loads a signed
// snapshot and refuses an unsigned or wrongly signed one (exit 4) without touching the
// target; show and list say it is signed; the key appears in no output and no file.
func TestSignedSnapshotCommands(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 2000, 4); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const secret = "cli-sign-key-0123456789abcdef"
	keyFile := writeFile(t, dir, "sign.key", secret+"\n")
	wrongFile := writeFile(t, dir, "wrong.key", "another-sign-key-0123456789\n")
	shortFile := writeFile(t, dir, "short.key", "short\n")
	root := filepath.Join(dir, "snaps")
	signed, unsigned := filepath.Join(root, "signed"), filepath.Join(root, "unsigned")
	var outputs []string
	cli := func(args ...string) (failure.ExitCode, string) {
		t.Helper()
		code, out, stderr := runCLI(t, args...)
		outputs = append(outputs, out, stderr)
		return code, out + stderr
	}

	t.Setenv("UNDERSTUDY_SIGN_KEY", secret)
	if code, out := cli("snapshot", "--source", src, "--to", signed, "--allow-unmasked"); code != 0 {
		t.Fatalf("signed snapshot: exit %d\n%s", code, out)
	}
	os.Unsetenv("UNDERSTUDY_SIGN_KEY")
	if code, out := cli("snapshot", "--source", src, "--to", unsigned, "--allow-unmasked"); code != 0 {
		t.Fatalf("unsigned snapshot: exit %d\n%s", code, out)
	}
	if code, out := cli("snapshot", "--source", src, "--to", filepath.Join(root, "x"), "--allow-unmasked", "--sign-key-file", shortFile); code != failure.ExitUsage || !strings.Contains(out, "at least 16 bytes") {
		t.Errorf("a short sign key: exit %d\n%s", code, out)
	}

	key, err := snapshot.NewSignKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if code, out := cli("snapshots", "show", signed); code != 0 || !strings.Contains(out, "signature  HMAC-SHA256, sign key fingerprint "+key.Fingerprint()) {
		t.Errorf("show of a signed snapshot: exit %d, want it to give the signature's key fingerprint %s\n%s", code, key.Fingerprint(), out)
	}
	if code, out := cli("snapshots", "show", unsigned); code != 0 || !strings.Contains(out, "signature  none") {
		t.Errorf("show of an unsigned snapshot: exit %d\n%s", code, out)
	}
	code, out := cli("snapshots", "list", root)
	t.Logf("snapshots list:\n%s", out)
	if code != 0 {
		t.Errorf("list: exit %d\n%s", code, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, signed) && !strings.Contains(line, key.Fingerprint()) || strings.Contains(line, unsigned) && !strings.HasSuffix(strings.TrimSpace(line), "unsigned") {
			t.Errorf("list says %q; want the signed snapshot's line to give its sign key's fingerprint, the other to say unsigned", line)
		}
	}

	untouched := func(what, dsn string) {
		t.Helper()
		if n := len(pgtest.TableDigests(t, dsn)); n > 0 {
			t.Errorf("%s: the refused restore created %d tables", what, n)
		}
		var schemas int
		pgtest.Scan(t, pgtest.Connect(t, dsn).QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('public', 'information_schema')"), &schemas)
		if schemas > 0 {
			t.Errorf("%s: the refused restore created %d schemas", what, schemas)
		}
	}
	for _, tc := range []struct{ what, from, key, want string }{
		{"an unsigned snapshot", unsigned, keyFile, "not signed"},
		{"the wrong key", signed, wrongFile, "does not verify"},
	} {
		dst := pgtest.NewDB(t)
		if code, out := cli("restore", "--from", tc.from, "--target", dst, "--sign-key-file", tc.key); code != failure.ExitUnsafe || !strings.Contains(out, tc.want) {
			t.Errorf("restore of %s: exit %d, want %d saying %q\n%s", tc.what, code, failure.ExitUnsafe, tc.want, out)
		}
		untouched(tc.what, dst)
	}
	dst := pgtest.NewDB(t)
	if code, out := cli("restore", "--from", signed, "--target", dst, "--sign-key-file", keyFile); code != 0 {
		t.Fatalf("restore of the signed snapshot with its key: exit %d\n%s", code, out)
	}
	pgtest.AssertSameRows(t, src, dst)

	for _, o := range outputs {
		if strings.Contains(o, secret) {
			t.Errorf("the sign key was printed:\n%s", o)
		}
	}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if data, _ := os.ReadFile(p); strings.Contains(string(data), secret) {
				t.Errorf("%s holds the sign key", p)
			}
		}
		return nil
	})
}
