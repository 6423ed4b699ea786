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
	"slices"
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
	// Scale, when set, multiplies the data (see Scale).
	Scale *Scale
	// KeyLine is the line of key:, and KeyFrom the ${VAR} references its value was expanded
	// from ("" for a literal): where a refused key came from, said without the key.
	KeyLine int
	KeyFrom string
	// Env names the environment variables the file expands (${VAR}). Their values may be
	// secrets (a DSN's password, the key): they are kept out of pg_dump's environment.
	Env []string
	// Budget, when set, is what a rehearsal may cost (the rehearse command; see Budget).
	Budget *Budget
}

// Scale multiplies every table but the shared ones: each row is written Factor times, copy i
// with new keys (remapped along every foreign key), fresh keyed values for its ruled columns
// and, with Jitter, small keyed moves of its dates and numbers. Copy 0 is what a plain run
// writes.
type Scale struct {
	Factor int
	Shared []SharedTable
	// JitterDates is the largest move of a date or timestamp in copies 1 and up (as
	// date_noise's max: 30d, 12h); "" for none. JitterNumbers is the largest relative change
	// of a real or numeric value (0.05 = ±5%); 0 for none.
	JitterDates   string
	JitterNumbers float64
	Line          int
}

// SharedTable is a table that scaling copies once (a lookup table).
type SharedTable struct {
	Schema, Name string
	Line         int
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
	// Where and Percent make the table a subset seed: the rows matching Where (SQL, run on
	// the source), of which a keyed Percent sample when Percent > 0. IncludeChildren keeps
	// the rows that reference the kept ones too.
	Where           string
	Percent         float64
	IncludeChildren bool
	SeedLine        int // the line of where (else percent), for messages
}

// Seed reports whether the table is filtered (where or percent).
func (t TableRules) Seed() bool { return t.Where != "" || t.Percent > 0 }

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

var topKeys = []string{"source", "target", "key", "jobs", "tables", "references", "scale", "budget"}

// Parse parses config text; file names it in errors.
func Parse(file string, data []byte) (*Config, error) {
	cfg := &Config{File: file}
	for _, m := range envRef.FindAllSubmatch(data, -1) {
		if name := string(m[1]); !slices.Contains(cfg.Env, name) {
			cfg.Env = append(cfg.Env, name)
		}
	}
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
				cfg.Key, cfg.KeyLine = Secret(s), v.Line
				cfg.KeyFrom = strings.Join(envRef.FindAllString(v.Value, -1), "")
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
		case "scale":
			if err := parseScale(cfg, v, fail); err != nil {
				return nil, err
			}
		case "budget":
			if err := parseBudget(cfg, v, fail); err != nil {
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
				case "skip", "include_children":
					b, err := strconv.ParseBool(tval.Value)
					if err != nil || tval.Kind != yaml.ScalarNode {
						return fail(tval, tr.Path()+"."+tk.Value, "must be true or false")
					}
					if tk.Value == "skip" {
						tr.Skip = b
					} else {
						tr.IncludeChildren = b
					}
				case "where":
					if tval.Kind != yaml.ScalarNode || strings.TrimSpace(tval.Value) == "" || tval.Tag == "!!null" {
						return fail(tval, tr.Path()+".where", `must be an SQL condition on the table's columns, e.g. where: "created_at > now() - interval '90 days'"`)
					}
					tr.Where, tr.SeedLine = tval.Value, tval.Line
				case "percent":
					f, err := strconv.ParseFloat(strings.TrimSuffix(tval.Value, "%"), 64)
					if err != nil || tval.Kind != yaml.ScalarNode || !(f > 0 && f <= 100) {
						return fail(tval, tr.Path()+".percent", "must be a number above 0 and at most 100, not %q", tval.Value)
					}
					tr.Percent = f
					if tr.SeedLine == 0 {
						tr.SeedLine = tval.Line
					}
				default:
					return fail(tk, tr.Path(), "%s", unknownKey(tk.Value, []string{"columns", "include_children", "percent", "skip", "where"}))
				}
			}
			if tr.IncludeChildren && !tr.Seed() {
				return fail(k, tr.Path()+".include_children", "applies to a subset seed: give the table a where or percent too")
			}
			if tr.Skip && tr.Seed() {
				return fail(k, tr.Path(), "is skipped, so it cannot also be filtered with where or percent")
			}
		default:
			return fail(tv, tr.Path(), "must be 'skip' or a mapping with 'columns'")
		}
		cfg.Tables = append(cfg.Tables, tr)
	}
	return nil
}

func parseScale(cfg *Config, v *yaml.Node, fail failFunc) error {
	sc := &Scale{Line: v.Line}
	if v.Kind == yaml.ScalarNode { // scale: 10
		n, err := strconv.Atoi(v.Value)
		if err != nil || n < 1 {
			return fail(v, "scale", "must be a whole number of at least 1, or a mapping with factor, shared and jitter")
		}
		sc.Factor = n
		cfg.Scale = sc
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return fail(v, "scale", "must be a mapping with factor, shared and jitter")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "factor":
			n, err := strconv.Atoi(val.Value)
			if err != nil || val.Kind != yaml.ScalarNode || n < 1 {
				return fail(val, "scale.factor", "must be a whole number of at least 1, not %q", val.Value)
			}
			sc.Factor = n
		case "shared":
			if val.Kind != yaml.SequenceNode {
				return fail(val, "scale.shared", "must be a list of tables copied once, e.g. [public.countries, public.products]")
			}
			for _, item := range val.Content {
				schema, name, err := SplitTableName(item.Value)
				if err != nil || item.Kind != yaml.ScalarNode {
					return fail(item, "scale.shared", "%v", err)
				}
				sc.Shared = append(sc.Shared, SharedTable{Schema: schema, Name: name, Line: item.Line})
			}
		case "jitter":
			if val.Kind != yaml.MappingNode {
				return fail(val, "scale.jitter", "must be a mapping, e.g. {dates: 30d, numbers: 0.05}")
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				jk, jv := val.Content[j], val.Content[j+1]
				switch jk.Value {
				case "dates":
					sc.JitterDates = jv.Value
				case "numbers":
					f, err := strconv.ParseFloat(jv.Value, 64)
					if err != nil || !(f > 0 && f < 1) {
						return fail(jv, "scale.jitter.numbers", "must be a fraction above 0 and below 1 (0.05 moves values by up to ±5%%), not %q", jv.Value)
					}
					sc.JitterNumbers = f
				default:
					return fail(jk, "scale.jitter", "%s", unknownKey(jk.Value, []string{"dates", "numbers"}))
				}
			}
		default:
			return fail(k, "scale", "%s", unknownKey(k.Value, []string{"factor", "jitter", "shared"}))
		}
	}
	if sc.Factor == 0 {
		sc.Factor = 1
	}
	cfg.Scale = sc
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

// Redact hides the password (and the client key's sslpassword) in a DSN in URL or
// keyword/value form.
func Redact(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "(unparsable DSN)"
		}
		q := u.Query()
		if q.Has("password") || q.Has("sslpassword") {
			for _, k := range []string{"password", "sslpassword"} {
				if q.Has(k) {
					q.Set(k, "xxx")
				}
			}
			u.RawQuery = strings.ReplaceAll(q.Encode(), "password=xxx", "password=***")
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxx")
			return strings.Replace(u.String(), ":xxx@", ":***@", 1)
		}
		return u.String()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}***")
}
