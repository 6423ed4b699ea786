package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/schemas"
)

// SourceNeeds is what a command reads from the source, for CheckSource.
type SourceNeeds struct {
	// Locked are the tables locked ACCESS SHARE, by understudy or by pg_dump (which locks
	// every table whose definition it dumps, copied or not): each needs SELECT, and USAGE on
	// its schema.
	Locked []*schemas.Table
	// Read are the tables whose rows are read: the same, and no row-level security may apply
	// to the role (row_security is off on the source, so it would fail the read).
	Read []*schemas.Table
	// Sequences are those whose values are read: SELECT on each, USAGE on its schema.
	Sequences []schemas.Name
}

// grantListMax is how many objects of one schema a GRANT in CheckSource's hint names; above
// it, the hint grants on all of them in the schema.
const grantListMax = 20

// CheckSource checks, before a row is read, that the source role may read all that need
// names. If not, it returns one error (exit code 3) that lists every missing privilege and
// every table row-level security applies to, with the statements that fix them.
func CheckSource(ctx context.Context, q schemas.Querier, need SourceNeeds) error {
	var role string
	if err := q.QueryRow(ctx, "SELECT current_user").Scan(&role); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	read := map[uint32]bool{}
	var oids []uint32
	for _, t := range need.Locked {
		oids = append(oids, t.OID)
	}
	for _, t := range need.Read {
		read[t.OID] = true
		oids = append(oids, t.OID)
	}
	var (
		problems, rls []string
		noUsage       = map[string]bool{}
		noSelect      = map[string][]schemas.Name{} // by schema
		noSequence    = map[string][]schemas.Name{}
		seen          = map[uint32]bool{}
	)
	rows, err := q.Query(ctx, `
SELECT c.oid, n.nspname, c.relname, has_schema_privilege(n.oid, 'USAGE'), has_table_privilege(c.oid, 'SELECT'),
       c.relrowsecurity AND NOT (r.rolsuper OR r.rolbypassrls) AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE')),
       c.relforcerowsecurity, pg_get_userbyid(c.relowner),
       ARRAY(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid AND p.polcmd IN ('r', '*') ORDER BY 1)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN (SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user) r
WHERE c.oid = ANY($1::oid[])
ORDER BY n.nspname, c.relname`, oids)
	if err != nil {
		return fmt.Errorf("source: check privileges: %w", err)
	}
	for rows.Next() {
		var (
			oid                        uint32
			name                       schemas.Name
			usage, sel, secured, force bool
			owner                      string
			policies                   []string
		)
		if err := rows.Scan(&oid, &name.Schema, &name.Name, &usage, &sel, &secured, &force, &owner, &policies); err != nil {
			rows.Close()
			return fmt.Errorf("source: check privileges: %w", err)
		}
		if seen[oid] {
			continue
		}
		seen[oid] = true
		if !usage && !noUsage[name.Schema] {
			noUsage[name.Schema] = true
			problems = append(problems, "USAGE on schema "+name.Schema)
		}
		if !sel {
			noSelect[name.Schema] = append(noSelect[name.Schema], name)
			problems = append(problems, "SELECT on table "+name.String())
		}
		if secured && read[oid] {
			which := "no policy lets the role read any row"
			if len(policies) > 0 {
				which = "policies: " + strings.Join(policies, ", ")
			}
			fix := "its owner is " + owner
			if force {
				fix = "row security is FORCEd on it, so even its owner is subject: only BYPASSRLS will do"
			}
			problems = append(problems, fmt.Sprintf("%s: row-level security applies to %s (%s), so rows could be missing", name, role, which))
			rls = append(rls, fmt.Sprintf("%s: %s", name, fix))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("source: check privileges: %w", err)
	}
	if len(need.Sequences) > 0 {
		var nsp, rel []string
		for _, s := range need.Sequences {
			nsp, rel = append(nsp, s.Schema), append(rel, s.Name)
		}
		rows, err := q.Query(ctx, `
SELECT n.nspname, c.relname, has_schema_privilege(n.oid, 'USAGE'), has_sequence_privilege(c.oid, 'SELECT')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN unnest($1::text[], $2::text[]) AS s(nsp, rel) ON n.nspname = s.nsp AND c.relname = s.rel
WHERE c.relkind = 'S'
ORDER BY 1, 2`, nsp, rel)
		if err != nil {
			return fmt.Errorf("source: check privileges: %w", err)
		}
		for rows.Next() {
			var name schemas.Name
			var usage, sel bool
			if err := rows.Scan(&name.Schema, &name.Name, &usage, &sel); err != nil {
				rows.Close()
				return fmt.Errorf("source: check privileges: %w", err)
			}
			if !usage && !noUsage[name.Schema] {
				noUsage[name.Schema] = true
				problems = append(problems, "USAGE on schema "+name.Schema)
			}
			if !sel {
				noSequence[name.Schema] = append(noSequence[name.Schema], name)
				problems = append(problems, "SELECT on sequence "+name.String())
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("source: check privileges: %w", err)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	var hint strings.Builder
	if grants := grantStatements(role, noUsage, noSelect, noSequence); len(grants) > 0 {
		hint.WriteString("as the objects' owner (or a superuser) run:\n  " + strings.Join(grants, "\n  "))
	}
	if len(rls) > 0 {
		if hint.Len() > 0 {
			hint.WriteString("\n")
		}
		hint.WriteString("row_security is off on the source, as pg_dump sets it: a table whose policies apply fails the run instead of being copied in part. " +
			"Connect as the table's owner, or as a role with BYPASSRLS:\n  " + strings.Join(rls, "\n  ") +
			"\n  as a superuser: ALTER ROLE " + schemas.QuoteIdent(role) + " BYPASSRLS;")
	}
	return failure.Errorf(failure.ExitConnect, hint.String(), "source role %s cannot read all that this command needs:\n  %s", role, strings.Join(problems, "\n  "))
}

// grantStatements returns the GRANTs that give role what it lacks.
func grantStatements(role string, noUsage map[string]bool, noSelect, noSequence map[string][]schemas.Name) []string {
	to := " TO " + schemas.QuoteIdent(role) + ";"
	var out []string
	for _, s := range sortedKeys(noUsage) {
		out = append(out, "GRANT USAGE ON SCHEMA "+schemas.QuoteIdent(s)+to)
	}
	for _, kind := range []struct {
		what, all string
		names     map[string][]schemas.Name
	}{{"TABLE", "TABLES", noSelect}, {"SEQUENCE", "SEQUENCES", noSequence}} {
		for _, s := range sortedKeys(kind.names) {
			names := kind.names[s]
			if len(names) > grantListMax {
				out = append(out, "GRANT SELECT ON ALL "+kind.all+" IN SCHEMA "+schemas.QuoteIdent(s)+to)
				continue
			}
			quoted := make([]string, len(names))
			for i, n := range names {
				quoted[i] = n.Quoted()
			}
			out = append(out, "GRANT SELECT ON "+kind.what+" "+strings.Join(quoted, ", ")+to)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
