// Package config reads understudy's YAML configuration file into typed values, with the
// file, line and path of every setting kept for error messages.
//
// It checks the shape of the file (known keys, right kinds of values); whether a table,
// column or transformer exists is checked later, against the catalog and the registry, by
// the pipeline's plan.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/understudy-dev/understudy/transforms"
)

// Config is a parsed configuration file.
type Config struct {
	File   string
	Source DSN
	Target DSN
	Key    Secret
	Jobs   int
	Tables []TableRules
	// References are joins the catalog does not declare: rules on To apply to From too.
	References []Reference
}

// Reference says column From holds values of column To (a foreign key the catalog lacks).
// With Path, From is a json or jsonb column and the values are at that JSONPath inside it
// ($.customer.email, $.items[*].sku).
type Reference struct {
	From, To ColumnRef
	Path     string
	Line     int
}

// ColumnRef names a column.
type ColumnRef struct{ Schema, Table, Column string }

func (c ColumnRef) String() string { return c.Schema + "." + c.Table + "." + c.Column }

// TableRules is what the config says about one table.
type TableRules struct {
	Table   string // as written: schema.table, "Quoted Schema"."Quoted Table", or table (public)
	Schema  string
	Name    string
	Line    int
	Skip    bool // the table is not copied at all
	Columns []ColumnRule
}

// Path is the table's place in the file, for messages.
func (t TableRules) Path() string { return "tables." + t.Table }

// ColumnRule assigns a transformer to a column.
type ColumnRule struct {
	Column    string
	Transform string     // transformer name; "keep" means: no transformer, explicitly
	Params    *yaml.Node // the rule's mapping, nil for the short form "column: name"
	Line      int
}

// Error is a problem at a place in the config file.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads and parses a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	return Parse(path, data)
}

var topKeys = []string{"source", "target", "key", "jobs", "tables", "references"}

// Parse parses config text; file names it in errors.
func Parse(file string, data []byte) (*Config, error) {
	cfg := &Config{File: file}
	fail := func(n *yaml.Node, path, format string, args ...any) error {
		line := 0
		if n != nil {
			line = n.Line
		}
		return &Error{File: file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fail(root, "", "the file must be a mapping of settings (source, target, key, jobs, tables)")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "source", "target", "key":
			s, err := scalar(v)
			if err != nil {
				return nil, fail(v, k.Value, "%v", err)
			}
			switch k.Value {
			case "source":
				cfg.Source = DSN(s)
			case "target":
				cfg.Target = DSN(s)
			default:
				cfg.Key = Secret(s)
			}
		case "jobs":
			s, err := scalar(v)
			n, convErr := strconv.Atoi(s)
			if err != nil || convErr != nil || n < 1 {
				return nil, fail(v, "jobs", "must be a whole number of at least 1, not %q", v.Value)
			}
			cfg.Jobs = n
		case "tables":
			if err := parseTables(cfg, v, fail); err != nil {
				return nil, err
			}
		case "references":
			if err := parseReferences(cfg, v, fail); err != nil {
				return nil, err
			}
		default:
			return nil, fail(k, "", "%s", unknownKey(k.Value, topKeys))
		}
	}
	return cfg, nil
}

type failFunc func(n *yaml.Node, path, format string, args ...any) error

func parseTables(cfg *Config, v *yaml.Node, fail failFunc) error {
	if v.Kind != yaml.MappingNode {
		return fail(v, "tables", "must be a mapping from table name to its rules")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, tv := v.Content[i], v.Content[i+1]
		schema, name, err := SplitTableName(k.Value)
		if err != nil {
			return fail(k, "tables."+k.Value, "%v", err)
		}
		tr := TableRules{Table: k.Value, Schema: schema, Name: name, Line: k.Line}
		if seen[schema+"."+name] {
			return fail(k, tr.Path(), "table listed twice")
		}
		seen[schema+"."+name] = true
		switch {
		case tv.Kind == yaml.ScalarNode && tv.Value == "skip":
			tr.Skip = true
		case tv.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(tv.Content); j += 2 {
				tk, tval := tv.Content[j], tv.Content[j+1]
				switch tk.Value {
				case "columns":
					cols, err := parseColumns(tr, tval, fail)
					if err != nil {
						return err
					}
					tr.Columns = cols
				case "skip":
					b, err := strconv.ParseBool(tval.Value)
					if err != nil {
						return fail(tval, tr.Path()+".skip", "must be true or false")
					}
					tr.Skip = b
				default:
					return fail(tk, tr.Path(), "%s", unknownKey(tk.Value, []string{"columns", "skip"}))
				}
			}
		default:
			return fail(tv, tr.Path(), "must be 'skip' or a mapping with 'columns'")
		}
		cfg.Tables = append(cfg.Tables, tr)
	}
	return nil
}

func parseReferences(cfg *Config, v *yaml.Node, fail failFunc) error {
	if v.Kind != yaml.SequenceNode {
		return fail(v, "references", "must be a list of {from: schema.table.column, to: schema.table.column}")
	}
	for i, item := range v.Content {
		path := fmt.Sprintf("references[%d]", i)
		if item.Kind != yaml.MappingNode {
			return fail(item, path, "must be {from: schema.table.column, to: schema.table.column}")
		}
		ref := Reference{Line: item.Line}
		var seen int
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, val := item.Content[j], item.Content[j+1]
			var dst *ColumnRef
			switch k.Value {
			case "from":
				dst = &ref.From
			case "to":
				dst = &ref.To
			case "path":
				if val.Kind != yaml.ScalarNode || !strings.HasPrefix(val.Value, "$") {
					return fail(val, path+".path", "must be a JSONPath into the from column, starting with $ (e.g. $.customer.email)")
				}
				ref.Path = val.Value
				continue
			default:
				return fail(k, path, "%s", unknownKey(k.Value, []string{"from", "path", "to"}))
			}
			sc, tb, col, err := SplitColumnName(val.Value)
			if err != nil {
				return fail(val, path+"."+k.Value, "%v", err)
			}
			*dst = ColumnRef{sc, tb, col}
			seen++
		}
		if seen != 2 {
			return fail(item, path, "needs both from and to")
		}
		cfg.References = append(cfg.References, ref)
	}
	return nil
}

func parseColumns(tr TableRules, v *yaml.Node, fail failFunc) ([]ColumnRule, error) {
	path := tr.Path() + ".columns"
	if v.Kind != yaml.MappingNode {
		return nil, fail(v, path, "must be a mapping from column name to rule")
	}
	var out []ColumnRule
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, rv := v.Content[i], v.Content[i+1]
		cpath := path + "." + k.Value
		if seen[k.Value] {
			return nil, fail(k, cpath, "column listed twice")
		}
		seen[k.Value] = true
		rule := ColumnRule{Column: k.Value, Line: k.Line}
		switch rv.Kind {
		case yaml.ScalarNode:
			// "notes: null" is YAML's null, but here it names the null transformer.
			rule.Transform = rv.Value
			if rv.Tag == "!!null" {
				rule.Transform = "null"
			}
		case yaml.MappingNode:
			rule.Params = rv
			for j := 0; j+1 < len(rv.Content); j += 2 {
				if rv.Content[j].Value == "transform" {
					rule.Transform = rv.Content[j+1].Value
				}
			}
			if rule.Transform == "" {
				return nil, fail(rv, cpath, "a rule mapping needs a 'transform' key naming the transformer")
			}
		default:
			return nil, fail(rv, cpath, "must be a transformer name or a mapping with 'transform'")
		}
		out = append(out, rule)
	}
	return out, nil
}

func scalar(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", errors.New("must be a single value")
	}
	return expandEnv(v.Value), nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} with the environment variable's value.
func expandEnv(s string) string {
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		return os.Getenv(m[2 : len(m)-1])
	})
}

func unknownKey(k string, valid []string) string {
	if s := transforms.Nearest(k, valid); s != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", k, s)
	}
	return fmt.Sprintf("unknown key %q (valid: %s)", k, strings.Join(valid, ", "))
}

// SplitTableName splits schema.table (identifiers may be double-quoted; an unqualified name
// is in public).
func SplitTableName(s string) (schema, name string, err error) {
	parts, err := splitIdents(s)
	if err != nil {
		return "", "", fmt.Errorf("bad table name %q: %v", s, err)
	}
	switch len(parts) {
	case 1:
		return "public", parts[0], nil
	case 2:
		return parts[0], parts[1], nil
	}
	return "", "", fmt.Errorf("bad table name %q: want schema.table", s)
}

// SplitColumnName splits schema.table.column (or table.column, in public).
func SplitColumnName(s string) (schema, table, column string, err error) {
	parts, err := splitIdents(s)
	if err != nil {
		return "", "", "", fmt.Errorf("bad column name %q: %v", s, err)
	}
	switch len(parts) {
	case 2:
		return "public", parts[0], parts[1], nil
	case 3:
		return parts[0], parts[1], parts[2], nil
	}
	return "", "", "", fmt.Errorf("bad column name %q: want schema.table.column", s)
}

// splitIdents splits a dotted name into identifiers; "double quotes" keep dots and spaces.
func splitIdents(s string) ([]string, error) {
	var parts []string
	for rest := s; ; {
		var part string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			var b strings.Builder
			for end < len(rest) {
				if rest[end] == '"' {
					if end+1 < len(rest) && rest[end+1] == '"' {
						b.WriteByte('"')
						end += 2
						continue
					}
					break
				}
				b.WriteByte(rest[end])
				end++
			}
			if end >= len(rest) {
				return nil, errors.New("unterminated quoted name")
			}
			part, rest = b.String(), rest[end+1:]
		} else {
			i := strings.IndexByte(rest, '.')
			if i < 0 {
				i = len(rest)
			}
			part, rest = rest[:i], rest[i:]
		}
		if part == "" {
			return nil, errors.New("empty name part")
		}
		parts = append(parts, part)
		if rest == "" {
			return parts, nil
		}
		if rest[0] != '.' {
			return nil, errors.New("want names separated by dots")
		}
		rest = rest[1:]
	}
}

// Secret is a value that prints as *** (the anonymization key).
type Secret string

func (s Secret) String() string   { return "***" }
func (s Secret) GoString() string { return "***" }

// Value returns the secret itself, for the one place that needs it.
func (s Secret) Value() string { return string(s) }

// DSN is a PostgreSQL connection string that prints with its password hidden.
type DSN string

func (d DSN) String() string   { return Redact(string(d)) }
func (d DSN) GoString() string { return Redact(string(d)) }

// Value returns the DSN itself, password included, for connecting.
func (d DSN) Value() string { return string(d) }

var kvPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redact hides the password in a DSN in URL or keyword/value form.
func Redact(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "(unparsable DSN)"
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxx")
			u.RawQuery = strings.Replace(q.Encode(), "password=xxx", "password=***", 1)
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxx")
			return strings.Replace(u.String(), ":xxx@", ":***@", 1)
		}
		return u.String()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}***")
}
