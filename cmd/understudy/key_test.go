package main

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/pipeline/failure"
)

// A key too short to be one is refused with exit 2, naming where it came from (the flag and
// file, the config file and line, the environment variable) and how to make a good one,
// without printing it.
func TestShortKeyIsRefusedNamingWhereItCameFrom(t *testing.T) {
	dir := t.TempDir()
	short := "tiny-key-42"
	hex8 := "0123456789abcdef" // 16 hex digits: 8 bytes, as `openssl rand -hex 8` writes
	keyFile := writeFile(t, dir, "k", short+"\n")
	emptyFile := writeFile(t, dir, "empty", "\n")
	cfgLiteral := writeFile(t, dir, "literal.yaml", "jobs: 2\nkey: "+short+"\n")
	cfgVar := writeFile(t, dir, "var.yaml", "# staging\nkey: ${STAGING_KEY_42}\n")
	cfgHex := writeFile(t, dir, "hex.yaml", "key: '"+hex8+"'\n")
	cases := []struct {
		name, env string
		args      []string
		want      []string
	}{
		{"key file", "", []string{"--key-file", keyFile}, []string{"--key-file " + keyFile + ": the key is 11 bytes"}},
		{"empty key file", "", []string{"--key-file", emptyFile}, []string{"--key-file " + emptyFile + ": the file is empty"}},
		{"config literal", "", []string{"--config", cfgLiteral}, []string{cfgLiteral + ":2: key: the key is 11 bytes"}},
		{"config variable", "", []string{"--config", cfgVar}, []string{cfgVar + ":2: key (${STAGING_KEY_42}): the key is 11 bytes"}},
		{"config hex", "", []string{"--config", cfgHex}, []string{cfgHex + ":1: key: the key is 16 hex digits, 8 bytes"}},
		{"environment", short, nil, []string{"UNDERSTUDY_KEY: the key is 11 bytes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("UNDERSTUDY_KEY", tc.env)
			t.Setenv("STAGING_KEY_42", short)
			args := append([]string{"sync", "--source", "x", "--target", "y"}, tc.args...)
			code, _, stderr := runCLI(t, args...)
			want := append(tc.want, "at least 16 bytes", "openssl rand -hex 32")
			if tc.name == "empty key file" {
				want = tc.want
			}
			if code != failure.ExitUsage {
				t.Errorf("exit %d, want %d:\n%s", code, failure.ExitUsage, stderr)
			}
			for _, w := range want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, short) || strings.Contains(stderr, hex8) {
				t.Errorf("the key was printed:\n%s", stderr)
			}
		})
	}
	// Long enough: a 32-digit hex key (16 bytes), a 16-byte passphrase. The run then goes on to
	// fail on the source, which is not a DSN.
	for _, k := range []string{"0123456789abcdef0123456789abcdef", "sixteen byte key"} {
		t.Setenv("UNDERSTUDY_KEY", k)
		_, _, stderr := runCLI(t, "sync", "--source", "x", "--target", "y")
		if strings.Contains(stderr, "the key is") {
			t.Errorf("key %q refused: %s", k, stderr)
		}
	}
}
