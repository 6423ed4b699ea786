package rehearse

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/understudy-dev/understudy/pipeline/failure"
)

// Migration is one file of a migrations directory, cut into statements.
type Migration struct {
	Name       string // file name, e.g. 0002_orders_index.sql
	Path       string
	Statements []Statement
	// InTransaction: the file runs as one transaction (BEGIN … COMMIT around its statements).
	// When false, NoTxReason says why: a statement that cannot run in a transaction, a
	// directive in the file, or the file's own BEGIN/COMMIT.
	InTransaction bool
	NoTxReason    string
}

// LoadDir reads the .sql files of dir in lexical order (golang-migrate's *.down.sql are
// skipped; of a goose or dbmate file only the up section is kept). serverVersion is
// server_version_num, which decides whether ALTER TYPE … ADD VALUE may run in a transaction.
func LoadDir(dir string, serverVersion int) ([]Migration, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, failure.Errorf(failure.ExitUsage, "", "--migrations: %v", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(strings.ToLower(n), ".sql") || strings.HasSuffix(strings.ToLower(n), ".down.sql") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, failure.Errorf(failure.ExitUsage, "put the migrations in .sql files; they run in lexical order", "--migrations %s: no .sql files", dir)
	}
	var out []Migration
	for _, n := range names {
		p := filepath.Join(dir, n)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, failure.Errorf(failure.ExitUsage, "", "migration %s: %v", p, err)
		}
		out = append(out, ParseMigration(n, p, string(data), serverVersion))
	}
	return out, nil
}

var (
	gooseUp   = regexp.MustCompile(`(?m)^\s*--\s*\+goose\s+Up\b`)
	gooseDown = regexp.MustCompile(`(?m)^\s*--\s*\+goose\s+Down\b`)
	dbmateUp  = regexp.MustCompile(`(?m)^\s*--\s*migrate:up\b`)
	dbmateDn  = regexp.MustCompile(`(?m)^\s*--\s*migrate:down\b`)
	// directives that run a file outside a transaction, in the styles of the tools that
	// write them
	noTxDirectives = []struct {
		re   *regexp.Regexp
		name string
	}{
		{regexp.MustCompile(`(?mi)^\s*--\s*\+goose\s+NO\s+TRANSACTION\b`), "-- +goose NO TRANSACTION"},
		{regexp.MustCompile(`(?mi)^\s*--\s*migrate:up\b.*\btransaction:\s*false\b`), "dbmate transaction:false"},
		{regexp.MustCompile(`(?mi)^\s*--\s*flyway:executeInTransaction\s*=\s*false\b`), "-- flyway:executeInTransaction=false"},
		{regexp.MustCompile(`(?mi)^\s*--\s*atlas:txmode\s+none\b`), "-- atlas:txmode none"},
		{regexp.MustCompile(`(?mi)^\s*--\s*understudy:\s*no[- ]transaction\b`), "-- understudy: no-transaction"},
	}
)

// ParseMigration cuts one file's text into statements and decides how it runs.
func ParseMigration(name, path, text string, serverVersion int) Migration {
	m := Migration{Name: name, Path: path}
	body, offset := upSection(text)
	for _, s := range Split(body) {
		s.Offset += offset
		s.Line += strings.Count(text[:offset], "\n")
		m.Statements = append(m.Statements, s)
	}
	m.InTransaction = true
	for _, d := range noTxDirectives {
		if d.re.MatchString(text) {
			m.InTransaction, m.NoTxReason = false, "the file says "+d.name
			return m
		}
	}
	for _, s := range m.Statements {
		if why := noTransaction(s.SQL, serverVersion); why != "" {
			m.InTransaction, m.NoTxReason = false, fmt.Sprintf("line %d: %s cannot run in a transaction block", s.Line, why)
			return m
		}
		if kw := keywords(s.SQL, 2); len(kw) > 0 && isTxControl(kw) {
			m.InTransaction, m.NoTxReason = false, fmt.Sprintf("line %d: the file controls its own transactions (%s)", s.Line, kw[0])
			return m
		}
	}
	return m
}

// upSection returns the part of a goose or dbmate file that migrates up, and its offset.
func upSection(text string) (string, int) {
	for _, p := range [][2]*regexp.Regexp{{gooseUp, gooseDown}, {dbmateUp, dbmateDn}} {
		up := p[0].FindStringIndex(text)
		if up == nil {
			continue
		}
		start := up[1]
		end := len(text)
		if dn := p[1].FindStringIndex(text[start:]); dn != nil {
			end = start + dn[0]
		}
		return text[start:end], start
	}
	return text, 0
}

func isTxControl(kw []string) bool {
	switch kw[0] {
	case "BEGIN", "COMMIT", "ROLLBACK", "END", "ABORT":
		return true
	case "START":
		return len(kw) > 1 && kw[1] == "TRANSACTION"
	}
	return false
}

// noTransaction names the statement kind when sql cannot run inside a transaction block on a
// server of version serverVersion (server_version_num), or returns "".
func noTransaction(sql string, serverVersion int) string {
	kw := keywords(sql, 8)
	has := func(w string) bool {
		for _, k := range kw {
			if k == w {
				return true
			}
		}
		return false
	}
	if len(kw) == 0 {
		return ""
	}
	switch kw[0] {
	case "VACUUM":
		return "VACUUM"
	case "CREATE", "DROP":
		if len(kw) > 1 && (kw[1] == "DATABASE" || kw[1] == "TABLESPACE") {
			return kw[0] + " " + kw[1]
		}
		if has("INDEX") && has("CONCURRENTLY") {
			return kw[0] + " INDEX CONCURRENTLY"
		}
		if kw[0] == "CREATE" && len(kw) > 1 && kw[1] == "SUBSCRIPTION" {
			return "CREATE SUBSCRIPTION"
		}
	case "REINDEX":
		if has("CONCURRENTLY") {
			return "REINDEX CONCURRENTLY"
		}
		if len(kw) > 1 && (kw[1] == "DATABASE" || kw[1] == "SYSTEM") {
			return "REINDEX " + kw[1]
		}
	case "ALTER":
		if len(kw) > 1 && kw[1] == "SYSTEM" {
			return "ALTER SYSTEM"
		}
		if len(kw) > 1 && kw[1] == "TYPE" && serverVersion < 120000 && strings.Contains(strings.ToUpper(normalize(sql, false)), " ADD VALUE ") {
			return "ALTER TYPE … ADD VALUE (before PostgreSQL 12)"
		}
		if len(kw) > 1 && kw[1] == "TABLE" && strings.Contains(normalize(sql, false), "DETACH PARTITION") && strings.Contains(normalize(sql, false), "CONCURRENTLY") {
			return "ALTER TABLE … DETACH PARTITION … CONCURRENTLY"
		}
	case "CLUSTER":
		if len(kw) == 1 {
			return "CLUSTER without a table"
		}
	}
	return ""
}
