package rehearse

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/transforms"
	"gopkg.in/yaml.v3"
)

// trafficQuery is one statement of a --traffic file: the team's own SQL, its $n parameters
// drawn from columns of the copy, picked in proportion to its weight.
type trafficQuery struct {
	sql    string
	params []config.ColumnRef
	lines  []int // of each param, for messages
	weight int
	line   int
	path   string // queries[i], for messages
	table  string // schema.table it is counted against (blocked_tables)
	write  bool
	groups []paramGroup
}

// paramGroup is the parameters drawn from one table: together, from one sampled row, so
// that $1 = orders.id and $2 = orders.customer_id belong to the same order.
type paramGroup struct {
	args []int   // the parameter index of each column
	rows [][]any // sampled values, in the columns' own types
}

// draw returns one set of parameters.
func (q *trafficQuery) draw(r *rand.Rand) []any {
	args := make([]any, len(q.params))
	for _, g := range q.groups {
		row := g.rows[r.IntN(len(g.rows))]
		for j, a := range g.args {
			args[a] = row[j]
		}
	}
	return args
}

var trafficFileKeys = []string{"params", "sql", "weight"}

// parseTrafficFile reads a --traffic file:
//
//	queries:
//	  - sql: UPDATE orders SET status = $2 WHERE id = $1
//	    params: [public.orders.id, public.orders.status]
//	    weight: 3
//
// Its shape is checked here; whether the columns exist and the SQL runs is checked against
// the copy (prepareFile).
func parseTrafficFile(file string) ([]*trafficQuery, error) {
	fail := func(n *yaml.Node, path, format string, args ...any) error {
		e := &config.Error{File: file, Path: path, Msg: fmt.Sprintf(format, args...)}
		if n != nil {
			e.Line = n.Line
		}
		return failure.WithCode(failure.ExitUsage, "see docs/rehearse.md, --traffic FILE", e)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, failure.Errorf(failure.ExitUsage, "", "--traffic: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fail(nil, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	const shape = "must be a mapping with queries: a list of {sql, params, weight}"
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fail(nil, "", shape)
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Value != "queries" {
			return nil, fail(k, "", "unknown key %q (want queries)", k.Value)
		}
		list = root.Content[i+1]
	}
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return nil, fail(root, "queries", shape)
	}
	var out []*trafficQuery
	for i, item := range list.Content {
		q := &trafficQuery{weight: 1, line: item.Line, path: fmt.Sprintf("queries[%d]", i)}
		if item.Kind != yaml.MappingNode {
			return nil, fail(item, q.path, "must be {sql, params, weight}")
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			switch k.Value {
			case "sql":
				sts := Split(v.Value)
				if v.Kind != yaml.ScalarNode || len(sts) == 0 {
					return nil, fail(v, q.path+".sql", "must be a statement")
				}
				if len(sts) > 1 {
					return nil, fail(v, q.path+".sql", "one statement per entry, not %d", len(sts))
				}
				q.sql = sts[0].SQL
			case "params":
				if v.Kind != yaml.SequenceNode {
					return nil, fail(v, q.path+".params", "must be a list of columns, [schema.table.column, …], one for each $n")
				}
				for _, p := range v.Content {
					sc, tb, col, err := config.SplitColumnName(p.Value)
					if err != nil || p.Kind != yaml.ScalarNode {
						return nil, fail(p, q.path+".params", "%v", err)
					}
					q.params = append(q.params, config.ColumnRef{Schema: sc, Table: tb, Column: col})
					q.lines = append(q.lines, p.Line)
				}
			case "weight":
				n, err := strconv.Atoi(v.Value)
				if err != nil || v.Kind != yaml.ScalarNode || n < 1 {
					return nil, fail(v, q.path+".weight", "must be a whole number of at least 1, not %q", v.Value)
				}
				q.weight = n
			default:
				msg := fmt.Sprintf("unknown key %q (valid: %s)", k.Value, strings.Join(trafficFileKeys, ", "))
				if s := transforms.Nearest(k.Value, trafficFileKeys); s != "" {
					msg = fmt.Sprintf("unknown key %q (did you mean %q?)", k.Value, s)
				}
				return nil, fail(k, q.path, "%s", msg)
			}
		}
		if q.sql == "" {
			return nil, fail(item, q.path, "needs sql")
		}
		used := 0
		for _, t := range lex(q.sql) {
			if t.kind == tkParam {
				if n, err := strconv.Atoi(q.sql[t.start+1 : t.end]); err == nil {
					used = max(used, n)
				}
			}
		}
		if used != len(q.params) {
			return nil, fail(item, q.path, "the SQL uses $%d but params names %d column(s): give one column for each $n", used, len(q.params))
		}
		kw := keywords(q.sql, 1)
		q.write = len(kw) == 0 || (kw[0] != "SELECT" && kw[0] != "TABLE" && kw[0] != "VALUES")
		out = append(out, q)
	}
	return out, nil
}

// prepareFile resolves a file's queries on the copy: the parameters' columns, a sample of
// their values, the table each counts against, and one run of each (rolled back) so a
// statement that cannot run fails the rehearsal before the migrations start.
func (t *traffic) prepareFile(ctx context.Context, file string, queries []*trafficQuery) error {
	t.setupMu.Lock()
	defer t.setupMu.Unlock()
	failAt := func(line int, path, format string, args ...any) error {
		return failure.WithCode(failure.ExitUsage, "see docs/rehearse.md, --traffic FILE",
			&config.Error{File: file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	fail := func(q *trafficQuery, path, format string, args ...any) error {
		return failAt(q.line, path, format, args...)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, q := range queries {
		byTable := map[string]*paramGroup{}
		cols := map[string][]string{}
		var order []string
		for i, p := range q.params {
			var ok bool
			err := t.setup.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped)`,
				quoteIdent(p.Schema)+"."+quoteIdent(p.Table), p.Column).Scan(&ok)
			if err != nil || !ok {
				return failAt(q.lines[i], q.path+".params", "no column %s on the copy", p)
			}
			tb := quoteIdent(p.Schema) + "." + quoteIdent(p.Table)
			if byTable[tb] == nil {
				byTable[tb] = &paramGroup{}
				order = append(order, tb)
			}
			byTable[tb].args = append(byTable[tb].args, i)
			cols[tb] = append(cols[tb], quoteIdent(p.Column))
		}
		for _, tb := range order {
			g := byTable[tb]
			var reltuples float64
			if err := t.setup.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)", tb).Scan(&reltuples); err != nil {
				return fail(q, q.path+".params", "read %s: %v", tb, err)
			}
			pct := 100.0
			if reltuples > 4000 {
				pct = max(0.01, 100*4000/reltuples)
			}
			rows, err := t.setup.Query(ctx, fmt.Sprintf("SELECT %s FROM %s TABLESAMPLE SYSTEM (%g) LIMIT 2000", strings.Join(cols[tb], ", "), tb, pct))
			if err != nil {
				return fail(q, q.path+".params", "sample %s: %v", tb, err)
			}
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					rows.Close()
					return fail(q, q.path+".params", "sample %s: %v", tb, err)
				}
				g.rows = append(g.rows, vals)
			}
			if err := rows.Err(); err != nil {
				return fail(q, q.path+".params", "sample %s: %v", tb, err)
			}
			if len(g.rows) == 0 {
				return fail(q, q.path+".params", "%s has no rows to draw parameters from", tb)
			}
			q.groups = append(q.groups, *g)
		}
		for _, name := range Targets(q.sql) {
			if err := t.setup.QueryRow(ctx, `SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, name).Scan(&q.table); err == nil {
				break
			}
		}
		if q.table == "" && len(q.params) > 0 {
			q.table = q.params[0].Schema + "." + q.params[0].Table
		}
		if err := rolledBack(ctx, t.setup, q.sql, q.draw(r)); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				return fail(q, q.path, "the statement fails on the copy: %s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
			}
			return fail(q, q.path, "the statement fails on the copy: %v", err)
		}
		t.totalWeight += q.weight
	}
	t.custom = queries
	return nil
}

// pick chooses a file query by weight.
func (t *traffic) pick(r *rand.Rand) *trafficQuery {
	n := r.IntN(t.totalWeight)
	for _, q := range t.custom {
		if n < q.weight {
			return q
		}
		n -= q.weight
	}
	return t.custom[len(t.custom)-1]
}
