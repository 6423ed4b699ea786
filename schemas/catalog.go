package schemas

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what catalog reads need: a *pgx.Conn or a pgx.Tx.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Catalog is the part of a database's catalog the copy needs.
type Catalog struct {
	// Tables holds every table that stores rows (plain tables and leaf partitions), plus the
	// partitioned parents (Kind 'p', which store none), sorted by schema and name.
	// Tables that belong to an extension are left out, as pg_dump leaves them out.
	Tables []*Table
	// Sequences holds every sequence, including those behind identity and serial columns.
	Sequences []Name
	// MatViews holds every materialized view that is populated, in an order that refreshes
	// each after the materialized views it reads.
	MatViews []Name
	// Indexes maps an index's schema-qualified name to its table; Constraints and Triggers
	// map pg_dump's "table object" entry names (schema-qualified) to the table.
	Indexes     map[Name]*Table
	Constraints map[Name]*Table
	Triggers    map[Name]*Table

	byName map[string]*Table
}

// Name is a schema-qualified object name, unquoted.
type Name struct{ Schema, Name string }

// String returns schema.name, unquoted: the form used in config files and messages.
func (n Name) String() string { return n.Schema + "." + n.Name }

// Quoted returns "schema"."name", safe to splice into SQL.
func (n Name) Quoted() string { return QuoteIdent(n.Schema) + "." + QuoteIdent(n.Name) }

// QuoteIdent quotes an identifier for SQL.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Table is a relation that stores rows.
type Table struct {
	Name
	OID         uint32
	Kind        byte // 'r' plain table or leaf partition, 'p' partitioned parent
	Unlogged    bool
	IsPartition bool
	Parent      *Table // for a partition, the partitioned table it belongs to
	Columns     []Column
	PrimaryKey  []string
	Uniques     [][]string // unique constraints and unique indexes, including the primary key
	ForeignKeys []ForeignKey
	// KeyIndexes holds, by constraint name, the primary key and unique constraints of a plain
	// table (not a partition) that a load may build in two steps: the index, then the
	// constraint on it (see KeyIndex). Those that are deferrable, in a tablespace of their
	// own, not btree (a temporal key's GiST), or whose index is named otherwise are left out.
	KeyIndexes map[string]KeyIndex `json:",omitempty"`
	Pages      int64               // heap pages now
	Bytes      int64               // heap bytes now (not TOAST, not indexes)
	TotalBytes int64               // heap + TOAST
	EstRows    int64               // planner estimate; -1 if never analyzed
}

// Column is a table column.
type Column struct {
	Name      string
	Num       int16
	TypeOID   uint32
	BaseOID   uint32 // a domain's base type, else TypeOID
	TypeName  string // format_type with typmod, e.g. character varying(50)
	Typmod    int32
	TypType   byte // pg_type.typtype of the base type: b base, c composite, e enum, r range, m multirange, p pseudo
	NotNull   bool
	Generated bool // a stored generated column: never copied, the target computes it
	Identity  byte // 'a' always, 'd' by default, 0 none
	// NoBinary: the type (or its array element) has no binary send/receive functions, so
	// COPY cannot move it in binary format.
	NoBinary bool
}

// KeyIndex is a primary key or unique constraint as an index and a constraint on it. Built
// so, the index takes SHARE on the table and runs beside the table's other index builds,
// where ALTER TABLE ADD CONSTRAINT would hold ACCESS EXCLUSIVE while it builds; only
// attaching the constraint (Attach) takes that lock, and it only checks the index.
type KeyIndex struct {
	Primary bool   // PRIMARY KEY, else UNIQUE
	Create  string // CREATE UNIQUE INDEX, named as the constraint (pg_get_indexdef)
}

// Attach returns the ALTER TABLE that makes the index KeyIndexes[name] of t its constraint.
func (t *Table) Attach(name string) string {
	kind := "UNIQUE"
	if t.KeyIndexes[name].Primary {
		kind = "PRIMARY KEY"
	}
	return "ALTER TABLE ONLY " + t.Name.Quoted() + " ADD CONSTRAINT " + QuoteIdent(name) + " " + kind + " USING INDEX " + QuoteIdent(name)
}

// ForeignKey is a foreign key constraint on a table.
type ForeignKey struct {
	Name       string
	Columns    []string
	Ref        Name
	RefColumns []string
}

// Table returns the table with that schema-qualified name, or nil.
func (c *Catalog) Table(n Name) *Table { return c.byName[n.String()] }

// Column returns the named column, or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// CopyColumns returns the columns a COPY moves: all but generated ones.
func (t *Table) CopyColumns() []Column {
	out := make([]Column, 0, len(t.Columns))
	for _, c := range t.Columns {
		if !c.Generated {
			out = append(out, c)
		}
	}
	return out
}

// IsUnique reports whether the column alone is a primary key or unique.
func (t *Table) IsUnique(col string) bool {
	for _, u := range t.Uniques {
		if len(u) == 1 && u[0] == col {
			return true
		}
	}
	return false
}

const systemSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`

// notExtensionMember excludes objects that belong to an extension (pg_dump leaves them out).
const notExtensionMember = `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`

// LoadCatalog reads the catalog. Run it inside the transaction whose snapshot is copied, so
// the catalog and the rows agree.
func LoadCatalog(ctx context.Context, q Querier) (*Catalog, error) {
	cat := &Catalog{
		byName:      map[string]*Table{},
		Indexes:     map[Name]*Table{},
		Constraints: map[Name]*Table{},
		Triggers:    map[Name]*Table{},
	}
	byOID := map[uint32]*Table{}
	rows, err := q.Query(ctx, `
SELECT c.oid, n.nspname, c.relname, c.relkind::text, c.relpersistence = 'u', c.relispartition,
       pg_relation_size(c.oid), pg_table_size(c.oid), c.reltuples::bigint,
       current_setting('block_size')::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND `+systemSchemas+` AND `+notExtensionMember+`
ORDER BY n.nspname, c.relname`)
	if err != nil {
		return nil, fmt.Errorf("read tables: %w", err)
	}
	for rows.Next() {
		t := &Table{}
		var kind string
		var blockSize int64
		if err := rows.Scan(&t.OID, &t.Schema, &t.Name.Name, &kind, &t.Unlogged, &t.IsPartition,
			&t.Bytes, &t.TotalBytes, &t.EstRows, &blockSize); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read tables: %w", err)
		}
		t.Kind = kind[0]
		if blockSize > 0 {
			t.Pages = t.Bytes / blockSize
		}
		cat.Tables = append(cat.Tables, t)
		cat.byName[t.Name.String()] = t
		byOID[t.OID] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tables: %w", err)
	}

	if err := loadColumns(ctx, q, byOID); err != nil {
		return nil, err
	}
	if err := loadPartitionParents(ctx, q, byOID); err != nil {
		return nil, err
	}
	if err := loadConstraints(ctx, q, cat, byOID); err != nil {
		return nil, err
	}
	if err := loadIndexesAndTriggers(ctx, q, cat, byOID); err != nil {
		return nil, err
	}
	if err := loadSequencesAndMatViews(ctx, q, cat); err != nil {
		return nil, err
	}
	return cat, nil
}

func loadPartitionParents(ctx context.Context, q Querier, byOID map[uint32]*Table) error {
	rows, err := q.Query(ctx, `SELECT i.inhrelid, i.inhparent FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relispartition`)
	if err != nil {
		return fmt.Errorf("read partitions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var child, parent uint32
		if err := rows.Scan(&child, &parent); err != nil {
			return fmt.Errorf("read partitions: %w", err)
		}
		if c := byOID[child]; c != nil {
			c.Parent = byOID[parent]
		}
	}
	return rows.Err()
}

// Root returns the top partitioned table a partition belongs to, or t itself.
func (t *Table) Root() *Table {
	for t.Parent != nil {
		t = t.Parent
	}
	return t
}

func loadColumns(ctx context.Context, q Querier, byOID map[uint32]*Table) error {
	rows, err := q.Query(ctx, `
SELECT a.attrelid, a.attname, a.attnum, a.atttypid,
       CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END,
       format_type(a.atttypid, a.atttypmod), a.atttypmod,
       COALESCE(bt.typtype, t.typtype)::text, a.attnotnull, a.attgenerated = 's', a.attidentity::text
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND `+systemSchemas+`
ORDER BY a.attrelid, a.attnum`)
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rel uint32
		var col Column
		var typtype, identity string
		if err := rows.Scan(&rel, &col.Name, &col.Num, &col.TypeOID, &col.BaseOID, &col.TypeName,
			&col.Typmod, &typtype, &col.NotNull, &col.Generated, &identity); err != nil {
			return fmt.Errorf("read columns: %w", err)
		}
		// Domains over domains: resolve to the ultimate base type.
		col.TypType = typtype[0]
		if identity != "" {
			col.Identity = identity[0]
		}
		if t := byOID[rel]; t != nil {
			t.Columns = append(t.Columns, col)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	if err := resolveDomainBases(ctx, q, byOID); err != nil {
		return err
	}
	return markNoBinary(ctx, q, byOID)
}

// markNoBinary flags columns whose type lacks binary I/O (some extension types do).
func markNoBinary(ctx context.Context, q Querier, byOID map[uint32]*Table) error {
	rows, err := q.Query(ctx, `
SELECT t.oid FROM pg_type t
WHERE t.typsend = 0 OR t.typreceive = 0
   OR (t.typelem <> 0 AND t.typlen = -1 AND EXISTS (
         SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND (e.typsend = 0 OR e.typreceive = 0)))`)
	if err != nil {
		return fmt.Errorf("read types: %w", err)
	}
	oids, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
	if err != nil {
		return fmt.Errorf("read types: %w", err)
	}
	none := map[uint32]bool{}
	for _, o := range oids {
		none[o] = true
	}
	for _, t := range byOID {
		for i := range t.Columns {
			t.Columns[i].NoBinary = none[t.Columns[i].BaseOID]
		}
	}
	return nil
}

// resolveDomainBases follows domains over domains down to a non-domain base type.
func resolveDomainBases(ctx context.Context, q Querier, byOID map[uint32]*Table) error {
	rows, err := q.Query(ctx, `
WITH RECURSIVE d(oid, base, typtype) AS (
  SELECT oid, typbasetype, typtype FROM pg_type WHERE typtype = 'd'
  UNION ALL
  SELECT d.oid, t.typbasetype, t.typtype FROM d JOIN pg_type t ON t.oid = d.base WHERE t.typtype = 'd'
)
SELECT d.oid, d.base, t.typtype::text FROM d JOIN pg_type t ON t.oid = d.base WHERE t.typtype <> 'd'`)
	if err != nil {
		return fmt.Errorf("read domains: %w", err)
	}
	defer rows.Close()
	type base struct {
		oid     uint32
		typtype byte
	}
	bases := map[uint32]base{}
	for rows.Next() {
		var oid, b uint32
		var tt string
		if err := rows.Scan(&oid, &b, &tt); err != nil {
			return fmt.Errorf("read domains: %w", err)
		}
		bases[oid] = base{b, tt[0]}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read domains: %w", err)
	}
	for _, t := range byOID {
		for i := range t.Columns {
			if b, ok := bases[t.Columns[i].TypeOID]; ok {
				t.Columns[i].BaseOID = b.oid
				t.Columns[i].TypType = b.typtype
			}
		}
	}
	return nil
}

func loadConstraints(ctx context.Context, q Querier, cat *Catalog, byOID map[uint32]*Table) error {
	// pg_get_indexdef qualifies what the search_path would not find; the load runs index
	// definitions after pg_dump's preamble has emptied it, so they are read with it empty.
	var path string
	if err := q.QueryRow(ctx, "SELECT current_setting('search_path'), set_config('search_path', '', false)").Scan(&path, new(string)); err != nil {
		return fmt.Errorf("read constraints: %w", err)
	}
	defer q.Exec(context.WithoutCancel(ctx), "SELECT set_config('search_path', $1, false)", path)
	rows, err := q.Query(ctx, `
SELECT con.conrelid, con.conname, con.contype::text,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.i),
       COALESCE(rn.nspname, ''), COALESCE(rc.relname, ''),
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.i),
       CASE WHEN con.contype IN ('p', 'u') AND NOT con.condeferrable AND ic.relname = con.conname
                 AND ic.reltablespace = 0 AND tc.relkind = 'r' AND NOT tc.relispartition
                 AND ic.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
            THEN pg_get_indexdef(con.conindid) END
FROM pg_constraint con
JOIN pg_class tc ON tc.oid = con.conrelid
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
LEFT JOIN pg_class ic ON ic.oid = con.conindid
WHERE con.conrelid <> 0
ORDER BY con.conrelid, con.conname`)
	if err != nil {
		return fmt.Errorf("read constraints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rel uint32
		var name, typ, refSchema, refName string
		var cols, refCols []string
		var index *string
		if err := rows.Scan(&rel, &name, &typ, &cols, &refSchema, &refName, &refCols, &index); err != nil {
			return fmt.Errorf("read constraints: %w", err)
		}
		t := byOID[rel]
		if t == nil {
			continue
		}
		cat.Constraints[Name{t.Schema, t.Name.Name + " " + name}] = t
		if index != nil {
			if t.KeyIndexes == nil {
				t.KeyIndexes = map[string]KeyIndex{}
			}
			t.KeyIndexes[name] = KeyIndex{Primary: typ == "p", Create: *index}
		}
		switch typ {
		case "p":
			t.PrimaryKey = cols
			t.Uniques = append(t.Uniques, cols)
		case "u":
			t.Uniques = append(t.Uniques, cols)
		case "f":
			t.ForeignKeys = append(t.ForeignKeys, ForeignKey{Name: name, Columns: cols,
				Ref: Name{refSchema, refName}, RefColumns: refCols})
		}
	}
	return rows.Err()
}

func loadIndexesAndTriggers(ctx context.Context, q Querier, cat *Catalog, byOID map[uint32]*Table) error {
	rows, err := q.Query(ctx, `
SELECT i.indrelid, n.nspname, c.relname, i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL,
       ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(num, o)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num ORDER BY k.o)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace`)
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	for rows.Next() {
		var rel uint32
		var n Name
		var unique bool
		var cols []string
		if err := rows.Scan(&rel, &n.Schema, &n.Name, &unique, &cols); err != nil {
			rows.Close()
			return fmt.Errorf("read indexes: %w", err)
		}
		if t := byOID[rel]; t != nil {
			cat.Indexes[n] = t
			if unique && !containsSet(t.Uniques, cols) {
				t.Uniques = append(t.Uniques, cols)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT tgrelid, tgname FROM pg_trigger WHERE NOT tgisinternal`)
	if err != nil {
		return fmt.Errorf("read triggers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rel uint32
		var name string
		if err := rows.Scan(&rel, &name); err != nil {
			return fmt.Errorf("read triggers: %w", err)
		}
		if t := byOID[rel]; t != nil {
			cat.Triggers[Name{t.Schema, t.Name.Name + " " + name}] = t
		}
	}
	return rows.Err()
}

func containsSet(sets [][]string, cols []string) bool {
	for _, s := range sets {
		if strings.Join(s, "\x00") == strings.Join(cols, "\x00") {
			return true
		}
	}
	return false
}

func loadSequencesAndMatViews(ctx context.Context, q Querier, cat *Catalog) error {
	rows, err := q.Query(ctx, `
SELECT n.nspname, c.relname, c.relkind::text, c.relispopulated,
       ARRAY(SELECT DISTINCT dc.oid::bigint FROM pg_depend d
             JOIN pg_rewrite r ON r.oid = d.objid AND d.classid = 'pg_rewrite'::regclass
             JOIN pg_class dc ON dc.oid = d.refobjid AND dc.relkind = 'm' AND dc.oid <> c.oid
             WHERE r.ev_class = c.oid),
       c.oid::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('S', 'm') AND `+systemSchemas+` AND `+notExtensionMember+`
ORDER BY n.nspname, c.relname`)
	if err != nil {
		return fmt.Errorf("read sequences: %w", err)
	}
	defer rows.Close()
	type mv struct {
		name Name
		deps []int64
	}
	var mvs []mv
	names := map[int64]Name{}
	for rows.Next() {
		var n Name
		var kind string
		var populated bool
		var deps []int64
		var oid int64
		if err := rows.Scan(&n.Schema, &n.Name, &kind, &populated, &deps, &oid); err != nil {
			return fmt.Errorf("read sequences: %w", err)
		}
		if kind == "S" {
			cat.Sequences = append(cat.Sequences, n)
			continue
		}
		names[oid] = n
		if populated {
			mvs = append(mvs, mv{n, deps})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read materialized views: %w", err)
	}
	// Refresh order: a materialized view after those it reads (depth-first, cycles impossible).
	done := map[Name]bool{}
	want := map[Name]bool{}
	byName := map[Name]mv{}
	for _, m := range mvs {
		want[m.name] = true
		byName[m.name] = m
	}
	var visit func(m mv)
	visit = func(m mv) {
		if done[m.name] {
			return
		}
		done[m.name] = true
		deps := append([]int64(nil), m.deps...)
		sort.Slice(deps, func(i, j int) bool { return deps[i] < deps[j] })
		for _, d := range deps {
			if n, ok := names[d]; ok && want[n] {
				visit(byName[n])
			}
		}
		cat.MatViews = append(cat.MatViews, m.name)
	}
	for _, m := range mvs {
		visit(m)
	}
	return nil
}

// SequenceDef is how a sequence counts and which columns it feeds.
type SequenceDef struct {
	Increment int64 // negative: a descending sequence
	Min, Max  int64
	Feeds     []string // schema.table.column, as SequenceOwners gives them
}

// SequenceDefs reads every sequence's increment and bounds, and the columns it feeds (see
// SequenceOwners).
func SequenceDefs(ctx context.Context, q Querier) (map[Name]SequenceDef, error) {
	owners, err := SequenceOwners(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `
SELECT n.nspname, c.relname, s.seqincrement, s.seqmin, s.seqmax
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace`)
	if err != nil {
		return nil, fmt.Errorf("read sequences: %w", err)
	}
	defer rows.Close()
	out := map[Name]SequenceDef{}
	for rows.Next() {
		var n Name
		var d SequenceDef
		if err := rows.Scan(&n.Schema, &n.Name, &d.Increment, &d.Min, &d.Max); err != nil {
			return nil, fmt.Errorf("read sequences: %w", err)
		}
		d.Feeds = owners[n]
		out[n] = d
	}
	return out, rows.Err()
}

// SequenceOwners maps each sequence to the columns it feeds, as schema.table.column: the
// column that owns it (serial, identity, OWNED BY) and every column whose default calls
// nextval on it.
func SequenceOwners(ctx context.Context, q Querier) (map[Name][]string, error) {
	rows, err := q.Query(ctx, `
SELECT sn.nspname, sc.relname, tn.nspname || '.' || tc.relname || '.' || a.attname
FROM pg_depend d
JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = sc.relnamespace
JOIN pg_class tc ON tc.oid = d.refobjid
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
JOIN pg_attribute a ON a.attrelid = tc.oid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
UNION
SELECT sn.nspname, sc.relname, tn.nspname || '.' || tc.relname || '.' || a.attname
FROM pg_attrdef ad
JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
JOIN pg_class sc ON sc.oid = d.refobjid AND sc.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = sc.relnamespace
JOIN pg_class tc ON tc.oid = ad.adrelid
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum`)
	if err != nil {
		return nil, fmt.Errorf("read sequence owners: %w", err)
	}
	out := map[Name][]string{}
	for rows.Next() {
		var n Name
		var col string
		if err := rows.Scan(&n.Schema, &n.Name, &col); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read sequence owners: %w", err)
		}
		out[n] = append(out[n], col)
	}
	rows.Close()
	return out, rows.Err()
}
