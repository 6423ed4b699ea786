// Package fkgraph is the foreign-key graph of a set of tables: which columns of which table
// hold values of which key. It is built once, from the catalog's foreign keys, the partition
// tree and the references a config declares, and it is the one place that says how
// partitions take part:
//
//   - Only tables that store rows (plain tables and leaf partitions) are nodes. A key that
//     names a partitioned table targets all of its leaves in the graph.
//   - PostgreSQL clones a foreign key to a partitioned table onto the referencing table once
//     per partition (and sub-partitioned table) it points at. The clones are one key: the
//     graph keeps the constraint that names the partitioned table itself.
//   - The partitions of one table are one logical table: a foreign key on one leaf is spread
//     to every sibling leaf that has its columns and no such key of its own (Edge.Spread).
//
// It does not read the database: the caller hands it tables from a schemas.Catalog. It knows
// nothing of rules, scaling or subsetting; those walk it.
package fkgraph

import (
	"strings"

	"github.com/understudy-dev/understudy/schemas"
)

// Reference is a join the catalog does not declare: From's column holds values of To's
// column. Path, when set, says the values sit inside a JSON document in From's column.
type Reference struct {
	From, To          schemas.Name
	Column, RefColumn string
	Path              string
}

// Edge is one foreign key, or one declared reference, of one table that stores rows.
type Edge struct {
	Child               *schemas.Table // a plain table or a leaf partition
	Columns, RefColumns []string
	// Ref is the referenced table as the key names it: a plain table, a leaf partition or a
	// partitioned table. Targets are the graph's tables that hold its rows (Ref itself, or
	// its leaves), in the order the graph was given them; empty when none is in the graph.
	Ref     schemas.Name
	Targets []*schemas.Table
	// FK is the foreign key constraint's name ("" for a declared reference).
	FK string
	// Spread, for a foreign key of a sibling partition that Child does not have, is that
	// sibling's edge (see the package doc).
	Spread *Edge
	// Declared: the edge is Reference number Index of those New was given, with its Path.
	Declared bool
	Index    int
	Path     string
}

// Partitioned reports whether Ref's rows live in other tables (its leaves) rather than in Ref
// itself.
func (e *Edge) Partitioned() bool {
	return len(e.Targets) != 1 || e.Targets[0].Name != e.Ref
}

// Graph is the foreign-key graph of a set of tables. It is not changed after New, so it is
// safe for concurrent use.
type Graph struct {
	tables  []*schemas.Table
	leaves  map[schemas.Name][]*schemas.Table
	edges   []*Edge
	out, in map[*schemas.Table][]*Edge
}

// New builds the graph of tables (partitioned parents among them are left out: they store no
// rows, their leaves stand for them) and refs. A reference is left out when no table of the
// graph holds its From or its To: the caller checks references against what it copies.
func New(tables []*schemas.Table, refs []Reference) *Graph {
	g := &Graph{leaves: map[schemas.Name][]*schemas.Table{}, out: map[*schemas.Table][]*Edge{}, in: map[*schemas.Table][]*Edge{}}
	for _, t := range tables {
		if t.Kind != 'r' {
			continue
		}
		g.tables = append(g.tables, t)
		for a := t; a != nil; a = a.Parent {
			g.leaves[a.Name] = append(g.leaves[a.Name], t)
		}
	}
	var fks []*Edge
	for _, t := range g.tables {
		for _, e := range g.foreignKeys(t) {
			g.add(e)
			fks = append(fks, e)
		}
	}
	for _, e := range fks {
		if e.Child.Parent == nil {
			continue
		}
		for _, sib := range g.leaves[e.Child.Root().Name] {
			if sib == e.Child || !hasColumns(sib, e.Columns) || g.has(sib, g.identity(e)) {
				continue
			}
			g.add(&Edge{Child: sib, Columns: e.Columns, Ref: e.Ref, RefColumns: e.RefColumns, Targets: e.Targets, FK: e.FK, Spread: e})
		}
	}
	for i, r := range refs {
		targets := g.leaves[r.To]
		if len(targets) == 0 {
			continue
		}
		for _, child := range g.leaves[r.From] {
			g.add(&Edge{Child: child, Columns: []string{r.Column}, Ref: r.To, RefColumns: []string{r.RefColumn}, Targets: targets,
				Declared: true, Index: i, Path: r.Path})
		}
	}
	return g
}

// foreignKeys returns t's foreign keys as edges, in the catalog's order, each once: of the
// constraints with the same columns to the same partition tree, the one that covers the most
// of it (names the partitioned table itself) stands for its per-partition clones.
func (g *Graph) foreignKeys(t *schemas.Table) []*Edge {
	var es []*Edge
	for _, fk := range t.ForeignKeys {
		es = append(es, &Edge{Child: t, Columns: fk.Columns, Ref: fk.Ref, RefColumns: fk.RefColumns, Targets: g.leaves[fk.Ref], FK: fk.Name})
	}
	best := map[string]*Edge{}
	for _, e := range es {
		id := g.identity(e)
		if b := best[id]; b == nil || len(e.Targets) > len(b.Targets) {
			best[id] = e
		}
	}
	out := es[:0]
	for _, e := range es {
		if best[g.identity(e)] == e {
			out = append(out, e)
		}
	}
	return out
}

// identity names what an edge links: its columns, the top of the referenced table's
// partition tree, and the referenced columns.
func (g *Graph) identity(e *Edge) string {
	root := e.Ref
	if ls := g.leaves[e.Ref]; len(ls) > 0 {
		root = ls[0].Root().Name
	}
	return strings.Join(e.Columns, "\x00") + "\x01" + root.String() + "\x01" + strings.Join(e.RefColumns, "\x00")
}

// has reports whether t has a foreign key edge with that identity.
func (g *Graph) has(t *schemas.Table, id string) bool {
	for _, e := range g.out[t] {
		if !e.Declared && g.identity(e) == id {
			return true
		}
	}
	return false
}

func hasColumns(t *schemas.Table, cols []string) bool {
	for _, c := range cols {
		if t.Column(c) == nil {
			return false
		}
	}
	return true
}

func (g *Graph) add(e *Edge) {
	g.edges = append(g.edges, e)
	g.out[e.Child] = append(g.out[e.Child], e)
	for _, t := range e.Targets {
		g.in[t] = append(g.in[t], e)
	}
}

// Tables returns the graph's tables (those that store rows), in the order New was given them.
func (g *Graph) Tables() []*schemas.Table { return g.tables }

// Edges returns every edge: the foreign keys table by table, then the spread ones, then the
// declared references in their order.
func (g *Graph) Edges() []*Edge { return g.edges }

// Out returns the edges whose child is t, in the order of Edges.
func (g *Graph) Out(t *schemas.Table) []*Edge { return g.out[t] }

// In returns the edges that have t among their targets, in the order of Edges.
func (g *Graph) In(t *schemas.Table) []*Edge { return g.in[t] }

// Leaves returns the graph's tables that hold the named table's rows: the table itself if it
// stores rows, else its leaf partitions; nil if none is in the graph.
func (g *Graph) Leaves(n schemas.Name) []*schemas.Table { return g.leaves[n] }
