package pii

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/understudy-dev/understudy/schemas"
)

// SampleRows is how many rows per table Detect reads to look at values.
const SampleRows = 200

// valueShare is the share of sampled non-NULL values that must look like a category for the
// column to be flagged by content.
const valueShare = 0.5

// minSample is the fewest non-NULL sampled values a content verdict needs.
const minSample = 5

var peopleTables = regexp.MustCompile(`(^|_)(customers?|clients?|users?|persons?|people|employees?|staff|members?|contacts?|patients?|students?|accounts?|kunden?|mitarbeiter|personen|clientes?|empleados?|usuarios?|utilisateurs?|salari[eé]s?)$`)

// Detect returns the columns of tables that look personal, by name and by content.
// skip(table, column) says which columns need no look (they have a rule, or are kept).
// Run it in the copy's snapshot transaction so that it samples what will be copied.
func Detect(ctx context.Context, q schemas.Querier, tables []*schemas.Table, skip func(schemas.Name, string) bool) ([]Finding, error) {
	var out []Finding
	for _, t := range tables {
		if t.Kind != 'r' {
			continue
		}
		var sample []schemas.Column
		for _, c := range t.Columns {
			if skip != nil && skip(t.Name, c.Name) || c.Generated {
				continue
			}
			if cat, suggest, ok := MatchName(c); ok {
				out = append(out, Finding{Table: t.Name, Column: c.Name, Category: cat, Reason: "its name", Suggest: suggest})
				continue
			}
			if normalise(c.Name) == "name" && textual(c) && peopleTables.MatchString(normalise(t.Name.Name)) {
				out = append(out, Finding{Table: t.Name, Column: c.Name, Category: "full_name",
					Reason: "a name column in a table of people", Suggest: "full_name"})
				continue
			}
			if textual(c) {
				sample = append(sample, c)
			}
		}
		found, err := sampleTable(ctx, q, t, sample)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// sampleTable reads up to SampleRows rows of the candidate columns and flags those whose
// values mostly look like one category.
func sampleTable(ctx context.Context, q schemas.Querier, t *schemas.Table, cols []schemas.Column) ([]Finding, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	var sel []string
	for _, c := range cols {
		sel = append(sel, schemas.QuoteIdent(c.Name)+"::text")
	}
	rows, err := q.Query(ctx, fmt.Sprintf("SELECT %s FROM ONLY %s LIMIT %d", strings.Join(sel, ", "), t.Name.Quoted(), SampleRows))
	if err != nil {
		return nil, fmt.Errorf("sample %s: %w", t.Name, err)
	}
	defer rows.Close()

	seen := make([]int, len(cols))
	hits := make([]map[string]int, len(cols))
	for i := range hits {
		hits[i] = map[string]int{}
	}
	vals := make([]*string, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("sample %s: %w", t.Name, err)
		}
		for i, v := range vals {
			if v == nil || *v == "" {
				continue
			}
			seen[i]++
			for _, c := range categories {
				if c.values != nil && c.values(*v) {
					hits[i][c.name]++
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sample %s: %w", t.Name, err)
	}
	var out []Finding
	for i, c := range cols {
		if seen[i] < minSample {
			continue
		}
		best, bestN := "", 0
		for _, cat := range categories { // in declaration order: stable ties
			if n := hits[i][cat.name]; n > bestN {
				best, bestN = cat.name, n
			}
		}
		if float64(bestN) >= valueShare*float64(seen[i]) {
			out = append(out, Finding{Table: t.Name, Column: c.Name, Category: best,
				Reason:  fmt.Sprintf("%d of %d sampled values look like one", bestN, seen[i]),
				Suggest: suggestionFor(best)})
		}
	}
	return out, nil
}

func suggestionFor(cat string) string {
	for _, c := range categories {
		if c.name == cat {
			return c.suggest
		}
	}
	return "hash"
}

// List formats findings one per line, aligned, for an error message.
func List(found []Finding) string {
	w := 0
	for _, f := range found {
		w = max(w, len(f.Table.String())+1+len(f.Column))
	}
	var b strings.Builder
	for i, f := range found {
		if i > 0 {
			b.WriteByte('\n')
		}
		name := f.Table.String() + "." + f.Column
		if f.Passthrough != "" {
			fmt.Fprintf(&b, "  %-*s  looks like %s (%s), and its rule does not rewrite every value: %s; or use: %s", w, name, f.Category, f.Reason, f.Passthrough, f.Suggest)
			continue
		}
		fmt.Fprintf(&b, "  %-*s  looks like %s (%s); suggested rule: %s", w, name, f.Category, f.Reason, f.Suggest)
	}
	return b.String()
}

// ConfigSnippet renders findings as config lines with their suggested rules.
func ConfigSnippet(found []Finding) string {
	var b strings.Builder
	b.WriteString("tables:\n")
	var last schemas.Name
	for _, f := range found {
		if f.Table != last {
			fmt.Fprintf(&b, "  %s:\n    columns:\n", YAMLKey(ConfigName(f.Table)))
			last = f.Table
		}
		fmt.Fprintf(&b, "      %s: %s\n", YAMLKey(f.Column), f.Suggest)
	}
	return strings.TrimRight(b.String(), "\n")
}

var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// ConfigName writes a table name as the config reads it: schema.table, with double quotes
// around a part that is not a plain lower-case identifier.
func ConfigName(n schemas.Name) string {
	part := func(s string) string {
		if plainIdent.MatchString(s) {
			return s
		}
		return schemas.QuoteIdent(s)
	}
	return part(n.Schema) + "." + part(n.Name)
}

// YAMLKey single-quotes a YAML mapping key unless it is a plain identifier path that YAML
// reads as a string.
func YAMLKey(s string) string {
	for _, r := range s {
		if !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "'" + strings.ReplaceAll(s, "'", "''") + "'"
		}
	}
	switch strings.ToLower(s) {
	case "", "null", "true", "false", "yes", "no", "on", "off", "y", "n", "~":
		return "'" + s + "'"
	}
	if s[0] >= '0' && s[0] <= '9' {
		return "'" + s + "'"
	}
	return s
}
