package schemas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
)

// PgDump is a pg_dump binary of a known major version.
type PgDump struct {
	Path  string
	Major int
}

// ErrPgDumpMissing is returned when no pg_dump can be found.
var ErrPgDumpMissing = errors.New("pg_dump not found")

// PgDumpTooOldError says pg_dump is older than the server it must dump.
type PgDumpTooOldError struct {
	Path               string
	Major, ServerMajor int
}

func (e *PgDumpTooOldError) Error() string {
	return fmt.Sprintf("%s is version %d but the source server is version %d: pg_dump must be at least as new as the server",
		e.Path, e.Major, e.ServerMajor)
}

// FindPgDump locates pg_dump: the explicit path if given, else the newest one under
// /usr/lib/postgresql/*/bin, else the one on PATH.
func FindPgDump(explicit string) (PgDump, error) {
	var candidates []string
	if explicit != "" {
		candidates = []string{explicit}
	} else {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
		sort.Slice(dirs, func(i, j int) bool { return versionOfPath(dirs[i]) > versionOfPath(dirs[j]) })
		candidates = append(candidates, dirs...)
		if p, err := exec.LookPath("pg_dump"); err == nil {
			candidates = append(candidates, p)
		}
	}
	var best PgDump
	for _, p := range candidates {
		major, err := pgDumpMajor(p)
		if err != nil {
			if explicit != "" {
				return PgDump{}, fmt.Errorf("%w: %s: %v", ErrPgDumpMissing, p, err)
			}
			continue
		}
		if major > best.Major {
			best = PgDump{Path: p, Major: major}
		}
	}
	if best.Path == "" {
		return PgDump{}, ErrPgDumpMissing
	}
	return best, nil
}

func versionOfPath(p string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return v
}

var pgDumpVersion = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

func pgDumpMajor(path string) (int, error) {
	// --version needs only what loads the program: no environment that may hold a secret.
	cmd := exec.Command(path, "--version")
	cmd.Env = []string{}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name == "PATH" || strings.HasPrefix(name, "LD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.Output()
	if err != nil {
		return 0, err
	}
	m := pgDumpVersion.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("unrecognised version %q", strings.TrimSpace(string(out)))
	}
	return strconv.Atoi(string(m[1]))
}

// CheckServer fails when this pg_dump is older than the server (serverVersionNum as in
// server_version_num, e.g. 150004).
func (d PgDump) CheckServer(serverVersionNum int) error {
	if sm := serverVersionNum / 10000; sm > d.Major {
		return &PgDumpTooOldError{Path: d.Path, Major: d.Major, ServerMajor: sm}
	}
	return nil
}

// DumpOptions shape the DDL pg_dump writes.
type DumpOptions struct {
	Snapshot     string // exported snapshot to dump from (pg_dump --snapshot)
	NoOwner      bool   // leave out ALTER ... OWNER TO
	NoPrivileges bool   // leave out GRANT/REVOKE
	Exclude      []Name // tables whose definition is left out
	// HideEnv names environment variables pg_dump must not inherit, besides understudy's
	// own and AWS_*: those a config file expands (${VAR}), which may hold secrets.
	HideEnv []string
}

// DDL is a database's schema as pg_dump writes it.
type DDL struct {
	// PreData creates types, tables, functions, views, sequences...: everything the rows need.
	PreData string
	// Preamble holds the session settings that precede post-data entries; run it before any.
	Preamble string
	// PostData holds indexes, constraints, triggers, rules, policies... in pg_dump's order.
	PostData []Entry
}

// Entry is one post-data object, as pg_dump's "-- Name: …; Type: …" header describes it.
type Entry struct {
	Name   Name   // for table-owned objects pg_dump writes "table object" as the name
	Type   string // INDEX, CONSTRAINT, FK CONSTRAINT, TRIGGER, INDEX ATTACH, RULE, POLICY, ...
	SQL    string
	Header string // the header line, for messages
}

// Dump runs pg_dump --schema-only twice (pre-data and post-data sections) and splits the
// post-data section into entries. No secret is on pg_dump's command line: the DSN's
// password (in the URL's user part or its query) goes through PGPASSWORD, its sslpassword
// through a service file on a pipe, and pg_dump's environment carries none of understudy's
// other secrets (see hiddenFromPgDump).
func (d PgDump) Dump(ctx context.Context, dsn string, opts DumpOptions) (*DDL, error) {
	args := []string{"--schema-only", "--no-password"}
	if opts.Snapshot != "" {
		args = append(args, "--snapshot="+opts.Snapshot)
	}
	if opts.NoOwner {
		args = append(args, "--no-owner")
	}
	if opts.NoPrivileges {
		args = append(args, "--no-privileges")
	}
	for _, t := range opts.Exclude {
		args = append(args, "--exclude-table="+patternQuote(t))
	}
	// Two sections, two pg_dump processes, run side by side: both read the same snapshot.
	var pre, post string
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		pre, err = d.run(gctx, dsn, append(slices.Clone(args), "--section=pre-data"), opts.HideEnv)
		return err
	})
	g.Go(func() (err error) {
		post, err = d.run(gctx, dsn, append(slices.Clone(args), "--section=post-data"), opts.HideEnv)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	ddl := &DDL{PreData: stripMeta(pre)}
	ddl.Preamble, ddl.PostData = splitEntries(stripMeta(post))
	return ddl, nil
}

// patternQuote makes pg_dump's pattern syntax match exactly this name.
func patternQuote(n Name) string {
	return QuoteIdent(n.Schema) + "." + QuoteIdent(n.Name)
}

func (d PgDump) run(ctx context.Context, dsn string, args []string, hide []string) (string, error) {
	conn, err := splitSecrets(dsn)
	if err != nil {
		return "", err
	}
	cmd, done, err := conn.command(ctx, d.Path, args, os.Environ(), hide)
	if err != nil {
		return "", err
	}
	defer done()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		for _, secret := range []string{conn.password, conn.sslPassword} {
			if secret != "" {
				msg = strings.ReplaceAll(msg, secret, "***")
			}
		}
		return "", fmt.Errorf("pg_dump %s: %v: %s", args[len(args)-1], err, msg)
	}
	return stdout.String(), nil
}

// stripMeta drops psql meta-commands (pg_dump 15.14+ writes \restrict and \unrestrict
// lines), which no server would accept; a line inside a literal or a function body is data,
// whatever it begins with, and stays.
func stripMeta(sql string) string {
	var b strings.Builder
	b.Grow(len(sql))
	lines := sqlLines(sql)
	for i, l := range lines {
		if i == len(lines)-1 && l.text == "" {
			break // the input ended with a newline
		}
		if l.outside && (strings.HasPrefix(l.text, `\restrict `) || strings.HasPrefix(l.text, `\unrestrict `)) {
			continue
		}
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

var entryHeader = regexp.MustCompile(`^-- Name: (.*); Type: (.*); Schema: (.*); Owner: .*$`)

// splitEntries cuts pg_dump's plain output at its "-- Name:" headers: comment lines that
// begin outside every literal, quoted identifier and comment block. The same text inside a
// policy's string, an index predicate or a function body is part of its entry's SQL.
func splitEntries(sql string) (string, []Entry) {
	type header struct {
		start, end int      // the header line, without its newline
		m          []string // entryHeader's submatches
	}
	var heads []header
	at := 0
	for _, l := range sqlLines(sql) {
		if l.outside && strings.HasPrefix(l.text, "-- Name: ") {
			if m := entryHeader.FindStringSubmatch(l.text); m != nil {
				heads = append(heads, header{at, at + len(l.text), m})
			}
		}
		at += len(l.text) + 1
	}
	if len(heads) == 0 {
		return sql, nil
	}
	preamble := strings.TrimSpace(trimComment(sql[:heads[0].start]))
	if preamble != "" {
		preamble += "\n"
	}
	entries := make([]Entry, 0, len(heads))
	for i, h := range heads {
		end := len(sql)
		if i+1 < len(heads) {
			end = heads[i+1].start
		}
		schema := h.m[3]
		if schema == "-" {
			schema = ""
		}
		entries = append(entries, Entry{
			Name:   Name{schema, h.m[1]},
			Type:   h.m[2],
			SQL:    strings.TrimSpace(trimComment(sql[h.end:end])),
			Header: h.m[0],
		})
	}
	return preamble, entries
}

// trimComment removes the comment lines pg_dump frames headers with ("--", "-- PostgreSQL
// database dump complete"): lines that begin with "--" outside every literal. s must begin
// outside any literal, as the text after a header line does.
func trimComment(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, l := range sqlLines(s) {
		if l.outside && strings.HasPrefix(l.text, "--") {
			continue
		}
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// PostDataSQL renders the post-data section as a script that ParseDDL reads back into the
// same entries: the preamble, then each entry under its pg_dump header.
func (d *DDL) PostDataSQL() string {
	var b strings.Builder
	b.WriteString(d.Preamble)
	for _, e := range d.PostData {
		b.WriteString("\n--\n" + e.Header + "\n--\n\n" + e.SQL + "\n")
	}
	return b.String()
}

// ParseDDL reads the two sections as Dump returns them (pre-data as pg_dump wrote it,
// post-data as PostDataSQL writes it, or as pg_dump wrote it).
func ParseDDL(preData, postData string) *DDL {
	ddl := &DDL{PreData: stripMeta(preData)}
	ddl.Preamble, ddl.PostData = splitEntries(stripMeta(postData))
	return ddl
}
