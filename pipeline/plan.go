package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/subset"
	"github.com/understudy-dev/understudy/pipeline/when"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/fkgraph"
	"github.com/understudy-dev/understudy/transforms"
	"gopkg.in/yaml.v3"
)

// Plan is the work of one run: the tables to copy, with their rules and chunks.
type Plan struct {
	Catalog *schemas.Catalog
	Tables  []*TablePlan // tables whose rows are copied, largest first
	Skipped []schemas.Name
	Units   []Unit // every chunk of every table, largest tables first
	// Scale is the factor the scaled tables are multiplied by (see ApplyScale); 0 or 1: none.
	Scale int
	// graph links Tables by foreign keys and declared references (see foreignKeyGraph).
	graph *fkgraph.Graph
}

// TablePlan is one table's part of the plan.
type TablePlan struct {
	*schemas.Table
	Columns []schemas.Column // the columns COPY moves (generated columns left out)
	Rules   []ColumnRule     // the transformed columns, by position in Columns
	Units   int
	// Kept lists the columns the config marks keep: explicitly not personal data.
	Kept map[string]bool
	// TextFormat: the table moves as text COPY, because one of its column types cannot be
	// read back from its own binary form (see textOnlyTypes). Such a table is never decoded.
	TextFormat bool
	// Copies is how many times each row is written (scaling); 0 or 1: once. Remaps move
	// the keys of copies 1 and up, copyRules[i-1] are copy i's rules (see ApplyScale).
	Copies    int
	Remaps    []Remap
	copyRules [][]ColumnRule
	// Subset: only KeptRows rows of the table are copied, named by their ctids in the units
	// (see ApplySubset).
	Subset     bool
	KeptRows   int64
	keptDigest string
}

// textOnlyTypes are types whose binary COPY form does not round-trip: an empty tsquery is
// sent as bytes that tsqueryrecv rejects ("malformed tsquery: operand not found"), and xml's
// binary receive drops the <?xml ...?> declaration. Tables holding them (or types without
// binary I/O at all) move in text format, as pg_dump moves every table.
var textOnlyTypes = map[uint32]string{3615: "tsquery", 3645: "tsquery[]", pgtype.XMLOID: "xml", pgtype.XMLArrayOID: "xml[]"}

// ColumnRule is a transformer bound to one column.
type ColumnRule struct {
	Index       int // position in TablePlan.Columns
	Column      schemas.Column
	Rule        string
	Transformer transforms.Transformer
	Native      bool // decode the column to its native Arrow type (transforms.NativeInput)
	// Source is the config rule this came from; Follows, for a rule applied because the
	// column references a key (foreign key or declared reference), names that key column.
	Source  config.ColumnRule
	Follows string
	// When, for a rule with a when key, is its condition: the rule rewrites only the rows
	// where it is true, and every other row keeps its value byte for byte. The condition reads
	// the row as it arrived, before any rule of the table ran. A rule on a column that other
	// columns reference cannot have one (see propagate).
	When *when.Cond
	// build makes the rule's transformer again with another key (a scaled copy's).
	build func(*transforms.Key) (transforms.Transformer, error)
}

// Unit is one chunk of a table: the heap pages [FromPage, ToPage) or, when ToPage < 0,
// everything from FromPage on. A table in one chunk has Of == 1.
type Unit struct {
	Table            *TablePlan
	Seq, Of          int
	FromPage, ToPage int64
	// Restricted: the unit is the rows TIDs of a subsetted table (none if empty), not a page
	// range.
	Restricted bool
	TIDs       []subset.TID
}

func (u Unit) String() string {
	if u.Of == 1 {
		return u.Table.Name.String()
	}
	return fmt.Sprintf("%s (chunk %d/%d)", u.Table.Name.String(), u.Seq+1, u.Of)
}

// PlanOptions shape a plan.
type PlanOptions struct {
	ChunkBytes int64 // heap bytes per chunk; 0 means 64 MiB
	// Share, when above 0, is the number of workers among which the copy is shared: a table
	// no bigger than its share of it (all tables' heap over Share) is not cut, however far
	// it exceeds ChunkBytes. Whole, it loads in one transaction, frozen, and its foreign keys
	// can be checked from its indexes (pgsink); the other workers have the other tables to
	// copy meanwhile. Only a table that would otherwise keep one worker busy after the
	// others ran out of tables is cut.
	Share    int
	Registry *transforms.Registry
	Key      *transforms.Key
	// Literal encodes a config value as a column's binary wire form (see transforms.Env).
	Literal func(col schemas.Column, text string) ([]byte, error)
}

// DefaultChunkBytes cuts big tables so that every worker gets a share of them.
const DefaultChunkBytes = 64 << 20

const pageSize = 8192

// BuildPlan checks the config against the catalog and plans the copy. Every problem in the
// config is reported with its file, line and path.
func BuildPlan(cat *schemas.Catalog, cfg *config.Config, opts PlanOptions) (*Plan, error) {
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = DefaultChunkBytes
	}
	if opts.Registry == nil {
		opts.Registry = transforms.Default()
	}
	if cfg == nil {
		cfg = &config.Config{}
	}
	p := &Plan{Catalog: cat}
	rules := map[string]config.TableRules{}
	var names []string
	for _, t := range cat.Tables {
		names = append(names, t.Name.String())
	}
	for _, tr := range cfg.Tables {
		n := schemas.Name{Schema: tr.Schema, Name: tr.Name}
		t := cat.Table(n)
		if t == nil {
			return nil, cfgErr(cfg, tr.Line, tr.Path(), "no such table%s", didYouMean(n.String(), names))
		}
		rules[n.String()] = tr
	}
	for _, t := range cat.Tables {
		if t.Kind != 'r' {
			continue
		}
		tr := rules[t.Name.String()]
		// A partition takes the rules of its partitioned tables: they are one logical table.
		for anc := t.Parent; anc != nil; anc = anc.Parent {
			if ar, ok := rules[anc.Name.String()]; ok {
				tr = mergeRules(tr, ar)
			}
		}
		if tr.Skip {
			p.Skipped = append(p.Skipped, t.Name)
			continue
		}
		tp := &TablePlan{Table: t, Columns: t.CopyColumns()}
		var textCol *schemas.Column
		for i, c := range tp.Columns {
			if _, ok := textOnlyTypes[c.BaseOID]; ok || c.NoBinary {
				tp.TextFormat, textCol = true, &tp.Columns[i]
			}
		}
		if tp.TextFormat && len(tr.Columns) > 0 {
			return nil, cfgErr(cfg, tr.Line, tr.Path(), "column %s is of type %s, whose binary form does not survive a round trip, so this table is copied as text and cannot take rules yet",
				textCol.Name, textCol.TypeName)
		}
		for _, cr := range tr.Columns {
			if err := bindRule(cfg, tp, tr, cr, opts); err != nil {
				return nil, err
			}
		}
		p.Tables = append(p.Tables, tp)
	}
	if err := propagate(cfg, p, opts, rules); err != nil {
		return nil, err
	}
	for _, tp := range p.Tables {
		if err := orderRules(cfg, tp, rules[tp.Name.String()]); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(p.Tables, func(i, j int) bool { return p.Tables[i].TotalBytes > p.Tables[j].TotalBytes })
	chunkPages := max(opts.ChunkBytes/pageSize, 1)
	var sharePages int64
	if opts.Share > 0 {
		for _, tp := range p.Tables {
			sharePages += tp.Pages
		}
		sharePages /= int64(opts.Share)
	}
	for _, tp := range p.Tables {
		n := int(min((tp.Pages+chunkPages-1)/chunkPages, 1<<20))
		if n <= 1 || tp.Pages <= sharePages {
			tp.Units = 1
			p.Units = append(p.Units, Unit{Table: tp, Of: 1, ToPage: -1})
			continue
		}
		tp.Units = n
		for i := 0; i < n; i++ {
			u := Unit{Table: tp, Seq: i, Of: n, FromPage: int64(i) * chunkPages, ToPage: int64(i+1) * chunkPages}
			if i == n-1 {
				u.ToPage = -1 // the last chunk takes whatever lies beyond: pages added since sizing
			}
			p.Units = append(p.Units, u)
		}
	}
	return p, nil
}

func bindRule(cfg *config.Config, tp *TablePlan, tr config.TableRules, cr config.ColumnRule, opts PlanOptions) error {
	return bindRuleShaped(cfg, tp, tr, cr, opts, nil)
}

// ruleColumn describes a column to a transformer.
func ruleColumn(tp *TablePlan, col *schemas.Column) transforms.Column {
	return transforms.Column{Table: tp.Name.String(), Name: col.Name, TypeName: col.TypeName,
		BaseOID: col.BaseOID, Typmod: col.Typmod, NotNull: col.NotNull, Unique: tp.Table.IsUnique(col.Name)}
}

// likeKey makes a rule that follows a key build as for the key column, so that its outputs
// are the key's: a rule that adds a discriminator on unique columns, or cuts to varchar(n),
// must do the same in every referencing column. Only the shape is taken, and only from a
// key of the same type (or text to text): a column's own type stays what it is.
func likeKey(key transforms.Column) func(*transforms.Env) {
	return func(env *transforms.Env) {
		c := &env.Column
		if c.BaseOID == key.BaseOID || transforms.IsTextType(*c) && transforms.IsTextType(key) {
			c.TypeName, c.BaseOID, c.Typmod = key.TypeName, key.BaseOID, key.Typmod
		}
		c.Unique = c.Unique || key.Unique
	}
}

// bindRuleShaped is bindRule with shape, when not nil, adjusting what the transformer is
// told (see likeKey).
func bindRuleShaped(cfg *config.Config, tp *TablePlan, tr config.TableRules, cr config.ColumnRule, opts PlanOptions, shape func(*transforms.Env)) error {
	path := tr.Path() + ".columns." + cr.Column
	col := tp.Table.Column(cr.Column)
	if col == nil {
		var cols []string
		for _, c := range tp.Table.Columns {
			cols = append(cols, c.Name)
		}
		return cfgErr(cfg, cr.Line, path, "no such column%s", didYouMean(cr.Column, cols))
	}
	if cr.Transform == "keep" {
		if n := whenNode(cr.Params); n != nil {
			return cfgErr(cfg, n.Line, path, "when: keep takes no condition: it changes no row")
		}
		if tp.Kept == nil {
			tp.Kept = map[string]bool{}
		}
		tp.Kept[col.Name] = true
		return nil
	}
	if col.Generated {
		return cfgErr(cfg, cr.Line, path, "is a generated column: the target computes it from the other columns, so it takes no rule")
	}
	idx := -1
	for i, c := range tp.Columns {
		if c.Name == col.Name {
			idx = i
		}
	}
	env := transforms.Env{
		Column: ruleColumn(tp, col),
		Params: transforms.YAMLParams(cr.Params),
		Key:    opts.Key,
	}
	if shape != nil {
		shape(&env)
	}
	if opts.Literal != nil {
		c := *col
		env.Literal = func(text string) ([]byte, error) { return opts.Literal(c, text) }
	}
	t, err := opts.Registry.New(cr.Transform, env)
	if err != nil {
		return cfgErr(cfg, cr.Line, path, "%v", err)
	}
	native := false
	if n, ok := t.(transforms.NativeInput); ok {
		native = n.NativeInput()
	}
	cond, err := bindWhen(cfg, tp, cr, path, opts)
	if err != nil {
		return err
	}
	build := func(k *transforms.Key) (transforms.Transformer, error) {
		e := env
		e.Key = k
		return opts.Registry.New(cr.Transform, e)
	}
	tp.Rules = append(tp.Rules, ColumnRule{Index: idx, Column: *col, Rule: cr.Transform, Transformer: t, Native: native, Source: cr, When: cond, build: build})
	return nil
}

// whenNode returns the value of a rule mapping's when key, or nil.
func whenNode(params *yaml.Node) *yaml.Node {
	if params == nil || params.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(params.Content); i += 2 {
		if params.Content[i].Value == "when" {
			return params.Content[i+1]
		}
	}
	return nil
}

// bindWhen parses a rule's condition and checks it against the table's columns; nil without
// one.
func bindWhen(cfg *config.Config, tp *TablePlan, cr config.ColumnRule, path string, opts PlanOptions) (*when.Cond, error) {
	n := whenNode(cr.Params)
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return nil, cfgErr(cfg, n.Line, path, `when: must be a condition, e.g. when: "country = 'DE'"`)
	}
	e, err := when.Parse(n.Value)
	if err != nil {
		return nil, cfgErr(cfg, n.Line, path, "when: %v", err)
	}
	copied := map[string]int{}
	for i, c := range tp.Columns {
		copied[c.Name] = i
	}
	cols := make([]when.Column, len(tp.Table.Columns))
	for i, c := range tp.Table.Columns {
		idx, ok := copied[c.Name]
		if !ok {
			idx = -1
		}
		cols[i] = when.Column{Name: c.Name, Index: idx, TypeName: c.TypeName, BaseOID: c.BaseOID, TypType: c.TypType}
		if c.TypType == 'e' && opts.Literal != nil {
			// The server knows the enum's labels: a misspelt one is an error here, not a
			// condition that silently selects nothing.
			c := c
			cols[i].Check = func(text string) error {
				_, err := opts.Literal(c, text)
				if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) {
					return errors.New(pe.Message) // invalid input value for enum tier: "gold"
				}
				return err
			}
		}
	}
	cond, err := e.Bind(cols)
	if err != nil {
		return nil, cfgErr(cfg, n.Line, path, "when: %v", err)
	}
	return cond, nil
}

// mergeRules adds to a partition's own rules those of an ancestor for columns it has none
// for; skipping the ancestor skips the partition.
func mergeRules(own, anc config.TableRules) config.TableRules {
	if own.Table == "" {
		own = config.TableRules{Table: anc.Table, Schema: anc.Schema, Name: anc.Name, Line: anc.Line}
	}
	own.Skip = own.Skip || anc.Skip
	have := map[string]bool{}
	for _, c := range own.Columns {
		have[c.Column] = true
	}
	for _, c := range anc.Columns {
		if !have[c.Column] {
			own.Columns = append(own.Columns, c)
		}
	}
	return own
}

// propagate applies every rule on a referenced column (a key) to the columns that reference
// it, through catalog foreign keys (single and composite) and the config's references, until
// nothing changes: chains of keys follow too. The keys are the plan's foreign-key graph
// (schemas/fkgraph), which says how partitions take part: a key followed into one partition
// is followed into all of them, even where a partition lacks the constraint. The propagated rule is the same rule with the
// same parameters, so the same domain: a reference maps exactly as its key does.
func propagate(cfg *config.Config, p *Plan, opts PlanOptions, rules map[string]config.TableRules) error {
	byName := map[string]*TablePlan{}
	for _, tp := range p.Tables {
		byName[tp.Name.String()] = tp
	}
	for i, r := range cfg.References {
		path := fmt.Sprintf("references[%d]", i)
		child, parent := byName[r.From.Schema+"."+r.From.Table], byName[r.To.Schema+"."+r.To.Table]
		for _, end := range []struct {
			tp  *TablePlan
			ref config.ColumnRef
		}{{child, r.From}, {parent, r.To}} {
			if end.tp == nil {
				return cfgErr(cfg, r.Line, path, "no such table %s.%s among the tables copied", end.ref.Schema, end.ref.Table)
			}
			if end.tp.Table.Column(end.ref.Column) == nil {
				return cfgErr(cfg, r.Line, path, "no such column %s", end.ref)
			}
		}
	}
	of := map[*schemas.Table]*TablePlan{}
	for _, tp := range p.Tables {
		of[tp.Table] = tp
	}
	type edge struct {
		child, parent *TablePlan
		col, refCol   string
		what          string // for messages
	}
	var edges []edge
	for _, e := range p.foreignKeyGraph(cfg).Edges() {
		what := "foreign key " + e.FK
		switch {
		case e.Path != "":
			continue // into a json document: followed below, once every key has its rule
		case e.Declared:
			what = fmt.Sprintf("reference at references[%d]", e.Index)
		case e.Spread != nil:
			what += " (on a sibling partition)"
		}
		for _, target := range e.Targets {
			for i := range e.Columns {
				edges = append(edges, edge{of[e.Child], of[target], e.Columns[i], e.RefColumns[i], what})
			}
		}
	}
	ruleOn := func(tp *TablePlan, col string) *ColumnRule {
		for i := range tp.Rules {
			if tp.Rules[i].Column.Name == col {
				return &tp.Rules[i]
			}
		}
		return nil
	}
	for changed := true; changed; {
		changed = false
		for _, e := range edges {
			pr := ruleOn(e.parent, e.refCol)
			if pr == nil {
				continue
			}
			key := e.parent.Name.String() + "." + e.refCol
			if pr.When != nil {
				// The rule would follow the key into the referencing column, whose rows are
				// other rows: the condition cannot be read there, and a key rewritten on some
				// rows only would no longer match its references.
				line := pr.Source.Line
				if n := whenNode(pr.Source.Params); n != nil {
					line = n.Line
				}
				return cfgErr(cfg, line, "tables."+e.parent.Name.String()+".columns."+e.refCol,
					"when: %s.%s references this column (%s), so its rule must rewrite every row to keep the join; remove the condition",
					e.child.Name.String(), e.col, e.what)
			}
			if cr := ruleOn(e.child, e.col); cr != nil {
				if !sameRule(cr.Source, pr.Source) {
					return cfgErr(cfg, cr.Source.Line, "tables."+e.child.Name.String()+".columns."+e.col,
						"has rule %s, but it references %s (%s), whose rule %s it must follow to keep the join; remove this rule",
						cr.Rule, key, e.what, pr.Rule)
				}
				if cr.Follows != "" {
					continue
				}
				// The key's rule written out by hand on the referencing column: bind it again as
				// a follower, built as for the key column, so its values are the key's.
				e.child.Rules = slices.DeleteFunc(e.child.Rules, func(r ColumnRule) bool { return r.Column.Name == e.col })
			}
			tr := rules[e.child.Name.String()]
			if tr.Table == "" {
				tr = config.TableRules{Table: e.child.Name.String(), Schema: e.child.Schema, Name: e.child.Name.Name, Line: pr.Source.Line}
			}
			src := pr.Source
			src.Column = e.col
			if err := bindRuleShaped(cfg, e.child, tr, src, opts, likeKey(ruleColumn(e.parent, e.parent.Table.Column(e.refCol)))); err != nil {
				return fmt.Errorf("%w (the rule follows %s through %s)", err, key, e.what)
			}
			e.child.Rules[len(e.child.Rules)-1].Follows = key
			changed = true
		}
	}
	return followIntoJSON(cfg, byName, opts, rules, ruleOn)
}

// foreignKeyGraph returns the graph of the plan's tables and cfg's references, built on
// first use. BuildPlan builds it once the references are checked; a plan made otherwise (a
// restore's) gets it here, its references to tables it does not hold left out.
func (p *Plan) foreignKeyGraph(cfg *config.Config) *fkgraph.Graph {
	if p.graph == nil {
		tables := make([]*schemas.Table, len(p.Tables))
		for i, tp := range p.Tables {
			tables[i] = tp.Table
		}
		refs := make([]fkgraph.Reference, len(cfg.References))
		for i, r := range cfg.References {
			refs[i] = fkgraph.Reference{From: schemas.Name{Schema: r.From.Schema, Name: r.From.Table}, Column: r.From.Column,
				To: schemas.Name{Schema: r.To.Schema, Name: r.To.Table}, RefColumn: r.To.Column, Path: r.Path}
		}
		p.graph = fkgraph.New(tables, refs)
	}
	return p.graph
}

// followIntoJSON applies the rule of each key that a reference with a path names to the
// values at that path inside the referencing json column: one json rule per column, with a
// path for every such reference, each the key's own rule with its parameters.
func followIntoJSON(cfg *config.Config, byName map[string]*TablePlan, opts PlanOptions, rules map[string]config.TableRules,
	ruleOn func(*TablePlan, string) *ColumnRule) error {
	type target struct {
		tp    *TablePlan
		col   string
		line  int
		paths *yaml.Node
		like  map[string]transforms.Column // per path, the key column
		keys  []string
	}
	var order []*target
	byCol := map[string]*target{}
	for i, r := range cfg.References {
		if r.Path == "" {
			continue
		}
		path := fmt.Sprintf("references[%d]", i)
		child, parent := byName[r.From.Schema+"."+r.From.Table], byName[r.To.Schema+"."+r.To.Table]
		pr := ruleOn(parent, r.To.Column)
		if pr == nil {
			continue // the key keeps its values, so do the documents
		}
		if pr.When != nil {
			return cfgErr(cfg, r.Line, path, "%s has a rule with a condition; a key followed into %s must be rewritten on every row", r.To, r.From)
		}
		if cr := ruleOn(child, r.From.Column); cr != nil {
			return cfgErr(cfg, cr.Source.Line, "tables."+child.Name.String()+".columns."+r.From.Column,
				"has rule %s, but %s says it holds values of %s at %s, which must follow that key's rule; remove this rule", cr.Rule, path, r.To, r.Path)
		}
		k := r.From.String()
		t := byCol[k]
		if t == nil {
			t = &target{tp: child, col: r.From.Column, line: r.Line, paths: &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"},
				like: map[string]transforms.Column{}}
			byCol[k] = t
			order = append(order, t)
		}
		rule := pr.Source.Params
		if rule == nil {
			rule = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: pr.Source.Transform, Line: pr.Source.Line}
		}
		t.paths.Content = append(t.paths.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: r.Path, Line: r.Line}, rule)
		t.keys = append(t.keys, r.To.String())
		t.like[r.Path] = ruleColumn(parent, parent.Table.Column(r.To.Column))
	}
	for _, t := range order {
		params := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: t.line, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "transform"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: "json"},
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "paths"}, t.paths,
		}}
		tr := rules[t.tp.Name.String()]
		if tr.Table == "" {
			tr = config.TableRules{Table: t.tp.Name.String(), Schema: t.tp.Schema, Name: t.tp.Name.Name, Line: t.line}
		}
		src := config.ColumnRule{Column: t.col, Transform: "json", Params: params, Line: t.line}
		like := t.like
		if err := bindRuleShaped(cfg, t.tp, tr, src, opts, func(env *transforms.Env) { env.PathColumns = like }); err != nil {
			return fmt.Errorf("%w (the rules of %s follow into its json documents)", err, strings.Join(t.keys, ", "))
		}
		t.tp.Rules[len(t.tp.Rules)-1].Follows = strings.Join(t.keys, ", ")
	}
	return nil
}

// sameRule reports whether two config rules are the same transformer with the same
// parameters.
func sameRule(a, b config.ColumnRule) bool {
	if a.Transform != b.Transform {
		return false
	}
	enc := func(n *yaml.Node) string {
		if n == nil {
			return ""
		}
		out, _ := yaml.Marshal(n)
		return string(out)
	}
	return enc(a.Params) == enc(b.Params)
}

// Covered reports whether a column has a rule or is marked keep.
func (t *TablePlan) Covered(col string) bool {
	if t.Kept[col] {
		return true
	}
	for _, r := range t.Rules {
		if r.Column.Name == col {
			return true
		}
	}
	return false
}

// Passthrough returns, for a column with a rule that by its own declaration copies some
// values as they are (transforms.Passthrough: a dictionary with default keep), what the rule
// says; "" for any other column.
func (t *TablePlan) Passthrough(col string) string {
	for _, r := range t.Rules {
		if r.Column.Name != col {
			continue
		}
		if p, ok := r.Transformer.(transforms.Passthrough); ok && p.Passthrough() != "" {
			return p.Passthrough()
		}
	}
	return ""
}

// Masked reports whether the PII guard counts a column as taken care of: it is marked keep,
// or it has a rule that rewrites every value (see Passthrough). A rule with a condition
// counts: the rows it leaves alone were chosen, and plan says so.
func (t *TablePlan) Masked(col string) bool {
	return t.Kept[col] || t.Covered(col) && t.Passthrough(col) == ""
}

// orderRules puts every rule that reads other columns (transforms.RowReader) after the
// rules on the columns it reads, keeping config order otherwise.
func orderRules(cfg *config.Config, tp *TablePlan, tr config.TableRules) error {
	byCol := map[string]int{}
	for i, r := range tp.Rules {
		byCol[r.Column.Name] = i
	}
	state := make([]int, len(tp.Rules)) // 0 new, 1 visiting, 2 placed
	ordered := make([]ColumnRule, 0, len(tp.Rules))
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case 1:
			return cfgErr(cfg, tr.Line, tr.Path()+".columns."+tp.Rules[i].Column.Name, "rules read each other's columns in a cycle")
		case 2:
			return nil
		}
		state[i] = 1
		if rr, ok := tp.Rules[i].Transformer.(transforms.RowReader); ok {
			for _, c := range rr.Reads() {
				if tp.Table.Column(c) == nil {
					return cfgErr(cfg, tr.Line, tr.Path()+".columns."+tp.Rules[i].Column.Name, "reads column %q, which the table does not have", c)
				}
				if j, ok := byCol[c]; ok && j != i {
					if err := visit(j); err != nil {
						return err
					}
				}
			}
		}
		state[i] = 2
		ordered = append(ordered, tp.Rules[i])
		return nil
	}
	for i := range tp.Rules {
		if err := visit(i); err != nil {
			return err
		}
	}
	tp.Rules = ordered
	return nil
}

func cfgErr(cfg *config.Config, line int, path, format string, args ...any) error {
	return &failure.UserError{Code: failure.ExitUsage, Err: &config.Error{File: cfg.File, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}}
}

func didYouMean(s string, candidates []string) string {
	if n := transforms.Nearest(s, candidates); n != "" {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	if len(candidates) > 0 && len(candidates) <= 12 {
		return " (there are: " + strings.Join(candidates, ", ") + ")"
	}
	return ""
}

// Fingerprint identifies what the plan does to the table's rows: its columns (names and
// types), format, and every rule with its parameters, condition and the key it follows. Two
// runs with the same fingerprint (and key) write the same values for the same rows; a
// resumed snapshot keeps a finished chunk only then.
func (t *TablePlan) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "text=%t\n", t.TextFormat)
	if t.Subset {
		fmt.Fprintf(h, "subset %d %s\n", t.KeptRows, t.keptDigest)
	}
	if t.Copies > 1 {
		fmt.Fprintf(h, "copies=%d\n", t.Copies)
		for _, m := range t.Remaps {
			fmt.Fprintf(h, "remap %q %q %d %q\n", m.Column.Name, m.Domain, m.span, m.sep)
		}
		for _, r := range t.rulesOf(min(1, len(t.copyRules))) {
			fmt.Fprintf(h, "copy rule %q %q\n", r.Column.Name, r.Rule)
		}
	}
	for _, c := range t.Columns {
		fmt.Fprintf(h, "col %q %q\n", c.Name, c.TypeName)
	}
	for _, r := range t.Rules {
		params := ""
		if r.Source.Params != nil {
			out, _ := yaml.Marshal(r.Source.Params)
			params = string(out)
		}
		when := ""
		if r.When != nil {
			when = r.When.String()
		}
		fmt.Fprintf(h, "rule %q %q %q %q %q\n", r.Column.Name, r.Rule, params, when, r.Follows)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// CopyFormat is the COPY option for the unit's table: binary, or text for the few types
// that cannot round-trip through binary.
func CopyFormat(t *TablePlan) string {
	if t.TextFormat {
		return "(FORMAT text)"
	}
	return "(FORMAT binary)"
}
