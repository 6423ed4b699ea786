package schemas

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// dumpConn is how pg_dump reaches a database without a secret on its command line, which
// every user of the machine can read (ps, /proc/<pid>/cmdline).
type dumpConn struct {
	// conninfo is the DSN, in the form it was written, without its password and sslpassword.
	conninfo string
	// password goes to pg_dump as PGPASSWORD; sslPassword (the client key's passphrase, for
	// which libpq reads no environment variable) in a service file that pg_dump reads from a
	// pipe it inherits. Both are "" when the DSN has none.
	password, sslPassword string
	service               bool // the DSN names a service of its own
}

// DSNError says a DSN could not be taken apart for pg_dump; it never quotes the DSN.
type DSNError struct{ Msg string }

func (e *DSNError) Error() string { return "source DSN: " + e.Msg }

// splitSecrets takes the password and sslpassword out of a DSN in URL or keyword/value form,
// reading it as libpq (and pgx, which follows libpq) does: in a URL, the password after the
// user's ':' and the password and sslpassword query parameters (the last occurrence wins);
// in keyword/value form, the password and sslpassword keywords. Everything else stays
// byte for byte, so pg_dump reaches the same server, database and user as the data path.
func splitSecrets(dsn string) (dumpConn, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return splitURLSecrets(dsn)
	}
	return splitKeywordSecrets(dsn)
}

func splitURLSecrets(dsn string) (dumpConn, error) {
	var c dumpConn
	scheme := "postgresql://"
	if strings.HasPrefix(dsn, "postgres://") {
		scheme = "postgres://"
	}
	p := dsn[len(scheme):]
	var b strings.Builder
	b.WriteString(scheme)
	// As libpq: the user's part ends at the first '@' before any '/'.
	if i := strings.IndexAny(p, "@/"); i >= 0 && p[i] == '@' {
		user, pw, has := strings.Cut(p[:i], ":")
		if has && pw != "" {
			v, err := uriDecode(pw)
			if err != nil {
				return dumpConn{}, &DSNError{"the password in the URL: " + err.Error()}
			}
			c.password = v
		}
		b.WriteString(user + "@")
		p = p[i+1:]
	}
	// The query begins at the first '?' after the user's part that is not inside an IPv6
	// host's brackets (libpq takes what is between them as it is).
	q := -1
	for i := 0; i < len(p) && q < 0; i++ {
		switch p[i] {
		case '[':
			if j := strings.IndexByte(p[i:], ']'); j > 0 {
				i += j
			}
		case '?':
			q = i
		}
	}
	if q < 0 {
		b.WriteString(p)
		c.conninfo = b.String()
		return c, nil
	}
	b.WriteString(p[:q])
	var kept []string
	for _, pair := range strings.Split(p[q+1:], "&") {
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := uriDecode(rawKey)
		if err != nil {
			kept = append(kept, pair) // libpq will say what is wrong with it
			continue
		}
		switch key {
		case "password", "sslpassword":
			v, err := uriDecode(rawValue)
			if err != nil {
				return dumpConn{}, &DSNError{"the " + key + " in the URL: " + err.Error()}
			}
			if key == "password" {
				c.password = v
			} else {
				c.sslPassword = v
			}
		case "service":
			c.service = true
			kept = append(kept, pair)
		default:
			kept = append(kept, pair)
		}
	}
	if len(kept) > 0 {
		b.WriteString("?" + strings.Join(kept, "&"))
	}
	c.conninfo = b.String()
	return c, nil
}

// uriDecode percent-decodes a URL component as libpq's conninfo_uri_decode does: %XX
// escapes (not %00), spaces at either end skipped, none inside, '+' a plus sign.
func uriDecode(raw string) (string, error) {
	raw = strings.Trim(raw, " ")
	if strings.Contains(raw, " ") {
		return "", errors.New("unescaped space (write %20)")
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] != '%' {
			b.WriteByte(raw[i])
			continue
		}
		if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			return "", errors.New("invalid percent-encoded character")
		}
		c := unhex(raw[i+1])<<4 | unhex(raw[i+2])
		if c == 0 {
			return "", errors.New("forbidden %00")
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func splitKeywordSecrets(dsn string) (dumpConn, error) {
	var c dumpConn
	var kept []string
	const space = " \t\n\r\v\f"
	s := strings.TrimLeft(dsn, space)
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return dumpConn{}, &DSNError{"not a URL and not keyword=value pairs"}
		}
		key := strings.Trim(s[:eq], space)
		rest := strings.TrimLeft(s[eq+1:], space)
		// The value: quoted ('…' with backslash escapes) or up to the next space.
		end := 0
		if strings.HasPrefix(rest, "'") {
			end = 1
			for ; end < len(rest) && rest[end] != '\''; end++ {
				if rest[end] == '\\' {
					end++
				}
			}
			if end >= len(rest) {
				return dumpConn{}, &DSNError{"unterminated quoted value of " + key}
			}
			end++
		} else {
			for ; end < len(rest) && !strings.ContainsRune(space, rune(rest[end])); end++ {
				if rest[end] == '\\' {
					end++
				}
			}
			end = min(end, len(rest))
		}
		raw := rest[:end]
		pair := s[:len(s)-len(rest)+end]
		s = strings.TrimLeft(rest[end:], space)
		switch key {
		case "password":
			c.password = unquoteKeywordValue(raw)
		case "sslpassword":
			c.sslPassword = unquoteKeywordValue(raw)
		case "service":
			c.service = true
			kept = append(kept, pair)
		default:
			kept = append(kept, pair)
		}
	}
	c.conninfo = strings.Join(kept, " ")
	return c, nil
}

// unquoteKeywordValue reads a keyword/value value as libpq does: quotes removed, and a
// backslash taking the next character literally.
func unquoteKeywordValue(raw string) string {
	if len(raw) >= 2 && raw[0] == '\'' {
		raw = raw[1 : len(raw)-1]
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' {
			i++
			if i == len(raw) {
				break
			}
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}

// hiddenFromPgDump says whether an environment variable stays out of pg_dump's
// environment: understudy's own (the anonymization and signing keys, the DSNs), every
// AWS_* (credentials for snapshots on S3), and the variables a config file expands (hide),
// but never one of libpq's PG* variables, which are pg_dump's to read.
func hiddenFromPgDump(name string, hide []string) bool {
	return !strings.HasPrefix(name, "PG") && SecretEnvVar(name, hide)
}

// SecretEnvVar reports whether the environment variable name may hold one of understudy's
// secrets, which no child process (pg_dump, a migration tool under rehearse) inherits:
// UNDERSTUDY_* (the key, the sign key, DSNs with passwords), AWS_*, and the variables a
// config file expands (hide: their values went into DSNs or the key).
func SecretEnvVar(name string, hide []string) bool {
	if strings.HasPrefix(name, "UNDERSTUDY_") || strings.HasPrefix(name, "AWS_") {
		return true
	}
	for _, h := range hide {
		if h == name {
			return true
		}
	}
	return false
}

// pgDumpEnv is environ without the variables hiddenFromPgDump.
func pgDumpEnv(environ, hide []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if name, _, _ := strings.Cut(kv, "="); !hiddenFromPgDump(name, hide) {
			out = append(out, kv)
		}
	}
	return out
}

// serviceName names the service pg_dump reads sslpassword from.
const serviceName = "understudy_pg_dump"

// command builds the pg_dump command: the DSN without secrets on its command line, the
// password in PGPASSWORD, the sslpassword in a service file on a pipe (fd 3), and none of
// understudy's other secrets in its environment. done closes what command opened; call it
// once the command has finished (or failed to start).
func (c dumpConn) command(ctx context.Context, path string, args []string, environ, hide []string) (cmd *exec.Cmd, done func(), err error) {
	conninfo := c.conninfo
	if c.sslPassword != "" {
		if c.service || os.Getenv("PGSERVICE") != "" {
			return nil, nil, &DSNError{"pg_dump can take sslpassword off its command line only through a service file: with a service, put sslpassword in that service's definition instead of the DSN"}
		}
		if strings.ContainsAny(c.sslPassword, "\r\n") || strings.TrimRight(c.sslPassword, " \t\v\f") != c.sslPassword {
			return nil, nil, &DSNError{"an sslpassword with a line break or trailing blanks cannot be passed to pg_dump"}
		}
		if strings.HasPrefix(conninfo, "postgres://") || strings.HasPrefix(conninfo, "postgresql://") {
			sep := "?"
			if strings.Contains(conninfo, "?") {
				sep = "&"
			}
			conninfo += sep + "service=" + serviceName
		} else {
			conninfo = strings.TrimSpace(conninfo + " service=" + serviceName)
		}
	}
	if conninfo != "" {
		args = append(args, "--dbname="+conninfo)
	}
	cmd = exec.CommandContext(ctx, path, args...)
	for _, kv := range pgDumpEnv(environ, hide) {
		name, _, _ := strings.Cut(kv, "=")
		if name == "PGPASSWORD" && c.password != "" || name == "PGSERVICEFILE" && c.sslPassword != "" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	if c.password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+c.password)
	}
	done = func() {}
	if c.sslPassword != "" {
		// The service file is a pipe's content: written before pg_dump starts (it is far
		// smaller than a pipe's buffer), it is on no disk and in no environment.
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, fmt.Errorf("pg_dump: service file pipe: %w", err)
		}
		_, err = fmt.Fprintf(w, "[%s]\nsslpassword=%s\n", serviceName, c.sslPassword)
		w.Close()
		if err != nil {
			r.Close()
			return nil, nil, fmt.Errorf("pg_dump: service file pipe: %w", err)
		}
		cmd.ExtraFiles = []*os.File{r} // fd 3 in pg_dump
		cmd.Env = append(cmd.Env, "PGSERVICEFILE=/dev/fd/3")
		done = func() { r.Close() }
	}
	return cmd, done, nil
}
