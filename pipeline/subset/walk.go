package subset

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/schemas"
)

// walkDown follows rule 2: from the rows in ddown, the rows of every table referencing them,
// until no round adds a row. What it finds is kept too.
func (g *graph) walkDown(ctx context.Context, q schemas.Querier) error {
	err := g.rounds(func(n *node) []TID { d := n.ddown; n.ddown = nil; return d }, func(n *node, d []TID) error {
		return eachChild(ctx, q, n, d, func(c *node, found []TID) {
			var added []TID
			c.down, added = union(c.down, found)
			c.ddown = append(c.ddown, added...)
			c.kept, _ = union(c.kept, added)
		})
	})
	for _, n := range g.nodes {
		n.down = nil
	}
	return err
}

// rounds hands step each node's pending rows (pending takes them: the rows added since its
// last step) until a whole round finds none.
func (g *graph) rounds(pending func(*node) []TID, step func(n *node, d []TID) error) error {
	for progress := true; progress; {
		progress = false
		for _, n := range g.nodes {
			d := pending(n)
			if len(d) == 0 {
				continue
			}
			progress = true
			if err := step(n, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// eachChild hands add, for every table referencing n, its rows that reference n's rows d.
func eachChild(ctx context.Context, q schemas.Querier, n *node, d []TID, add func(c *node, found []TID)) error {
	for _, e := range n.in {
		found, err := e.children(ctx, q, n, d)
		if err != nil {
			return err
		}
		add(e.child, found)
	}
	return nil
}

// takeDelta takes a node's pending rows of rules 3 and 5.
func takeDelta(n *node) []TID {
	d := n.delta
	n.delta = nil
	return d
}

// closeUp follows rule 3: from the rows in delta, the rows they reference, until no round
// adds a row.
func (g *graph) closeUp(ctx context.Context, q schemas.Querier) error {
	return g.rounds(takeDelta, func(n *node, d []TID) error {
		for _, e := range n.out {
			found, err := e.parents(ctx, q, d)
			if err != nil {
				return err
			}
			for t, tids := range found {
				var added []TID
				t.kept, added = union(t.kept, sortUnique(tids))
				t.delta = append(t.delta, added...)
			}
		}
		return nil
	})
}

// filter follows rule 5. For a filtered table, kept holds the rows dropped until the end,
// where it becomes the rows kept (or stays nil if none was dropped: the table is whole).
func (g *graph) filter(ctx context.Context, q schemas.Querier) error {
	// Rows that reference a row not kept in a table of rules 1–4.
	for _, n := range g.nodes {
		if n.state != filtered {
			continue
		}
		for _, e := range n.out {
			dropped, err := e.orphaned(ctx, q, g)
			if err != nil {
				return err
			}
			var added []TID
			n.kept, added = union(n.kept, dropped)
			n.delta = append(n.delta, added...)
		}
	}
	// Then, cascading, the rows that reference a dropped row. Only filtered tables reference
	// filtered tables (anything referencing one is filtered itself), so every child here is.
	err := g.rounds(func(n *node) []TID {
		if d := takeDelta(n); n.state == filtered {
			return d
		}
		return nil
	}, func(n *node, d []TID) error {
		return eachChild(ctx, q, n, d, func(c *node, found []TID) {
			var added []TID
			c.kept, added = union(c.kept, found)
			c.delta = append(c.delta, added...)
		})
	})
	if err != nil {
		return err
	}
	for _, n := range g.nodes {
		if n.state != filtered || n.kept == nil {
			continue
		}
		var all []TID
		err := scan(ctx, q, "SELECT ctid FROM ONLY "+n.t.Name.Quoted(), nil, func(rows pgx.Rows) error {
			t, err := rawTID(rows, 0)
			all = append(all, t)
			return err
		})
		if err != nil {
			return fmt.Errorf("subset of %s: %w", n.t.Name, err)
		}
		n.kept = subtract(sortUnique(all), n.kept)
	}
	return nil
}

// children returns the rows of e's table that reference the given rows of target t.
func (e *edge) children(ctx context.Context, q schemas.Querier, t *node, parents []TID) ([]TID, error) {
	sql := "SELECT c.ctid FROM ONLY " + e.child.t.Name.Quoted() + " c WHERE " + row("c", e.Columns) +
		" IN (SELECT " + list("p", e.RefColumns) + " FROM ONLY " + t.t.Name.Quoted() + " p WHERE p.ctid = ANY($1::text::tid[]))"
	var out []TID
	err := scan(ctx, q, sql, parents, func(rows pgx.Rows) error {
		tid, err := rawTID(rows, 0)
		out = append(out, tid)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("subset: rows of %s referencing %s: %w", e.child.t.Name, t.t.Name, err)
	}
	return sortUnique(out), nil
}

// parents returns the rows that the given rows of e's table reference, by target.
func (e *edge) parents(ctx context.Context, q schemas.Querier, rowsOf []TID) (map[*node][]TID, error) {
	sql := "SELECT p.tableoid::oid, p.ctid FROM " + e.refFrom() + " p WHERE " + row("p", e.RefColumns) +
		" IN (SELECT " + list("c", e.Columns) + " FROM ONLY " + e.child.t.Name.Quoted() + " c WHERE c.ctid = ANY($1::text::tid[]))"
	found := map[*node][]TID{}
	err := scan(ctx, q, sql, rowsOf, func(rows pgx.Rows) error {
		t, tid, err := e.target(rows, 0)
		if t != nil {
			found[t] = append(found[t], tid)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("subset: rows referenced by %s in %s: %w", e.child.t.Name, e.Ref, err)
	}
	return found, nil
}

// orphaned returns the rows of e's table that reference a row that rules 1–4 did not keep.
// It joins the whole table once: no TID list can describe "all rows but these" cheaply.
func (e *edge) orphaned(ctx context.Context, q schemas.Querier, g *graph) ([]TID, error) {
	hit := false
	for _, t := range e.targets {
		hit = hit || t.state == reached
	}
	if !hit {
		return nil, nil
	}
	on := make([]string, len(e.Columns))
	for i := range e.Columns {
		on[i] = "p." + schemas.QuoteIdent(e.RefColumns[i]) + " = c." + schemas.QuoteIdent(e.Columns[i])
	}
	sql := "SELECT p.tableoid::oid, p.ctid, c.ctid FROM ONLY " + e.child.t.Name.Quoted() + " c JOIN " +
		e.refFrom() + " p ON " + strings.Join(on, " AND ")
	var out []TID
	err := scan(ctx, q, sql, nil, func(rows pgx.Rows) error {
		t, tid, err := e.target(rows, 0)
		if err != nil {
			return err
		}
		if t != nil && t.state == reached && !contains(t.kept, tid) {
			c, err := rawTID(rows, 2)
			out = append(out, c)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("subset: rows of %s referencing %s: %w", e.child.t.Name, e.Ref, err)
	}
	return sortUnique(out), nil
}

// refFrom names the referenced table for a query that attributes rows by tableoid: a
// partitioned table's rows are in its partitions, a plain table's are its own (ONLY leaves
// out tables inheriting from it, which its foreign key does not cover).
func (e *edge) refFrom() string {
	if e.Partitioned() {
		return e.Ref.Quoted()
	}
	return "ONLY " + e.Ref.Quoted()
}

// target reads columns i (tableoid) and i+1 (ctid): the row's leaf (nil if not copied) and
// its TID.
func (e *edge) target(rows pgx.Rows, i int) (*node, TID, error) {
	raw := rows.RawValues()
	var oid uint32
	if rows.FieldDescriptions()[i].Format == pgx.BinaryFormatCode && len(raw[i]) == 4 {
		oid = binary.BigEndian.Uint32(raw[i])
	} else {
		v, err := strconv.ParseUint(string(raw[i]), 10, 32)
		if err != nil {
			return nil, 0, fmt.Errorf("tableoid %q: %w", raw[i], err)
		}
		oid = uint32(v)
	}
	tid, err := rawTID(rows, i+1)
	for _, t := range e.targets {
		if t.t.OID == oid {
			return t, tid, err
		}
	}
	return nil, tid, err
}

// rawTID decodes column i, a tid, without a Scan (whose destinations must cover every
// column, and which the hot loops here need not pay for).
func rawTID(rows pgx.Rows, i int) (TID, error) {
	v := rows.RawValues()[i]
	if rows.FieldDescriptions()[i].Format == pgx.BinaryFormatCode {
		if len(v) != 6 {
			return 0, fmt.Errorf("tid: %d bytes", len(v))
		}
		return TID(binary.BigEndian.Uint32(v))<<16 | TID(binary.BigEndian.Uint16(v[4:])), nil
	}
	var t pgtype.TID
	if err := t.Scan(string(v)); err != nil {
		return 0, fmt.Errorf("tid %q: %w", v, err)
	}
	return tidOf(t), nil
}

// scan runs sql once per batch of tids (once, without arguments, if tids is nil) and calls
// fn for every row.
func scan(ctx context.Context, q schemas.Querier, sql string, tids []TID, fn func(pgx.Rows) error) error {
	if tids != nil && len(tids) == 0 {
		return nil
	}
	var buf []byte
	for first := true; first || len(tids) > 0; first = false {
		var args []any
		if tids != nil {
			b := tids[:min(len(tids), batchSize)]
			tids = tids[len(b):]
			buf = appendTIDArray(buf[:0], b)
			args = []any{string(buf)}
		}
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := fn(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// row renders (a.x, a.y); list renders a.x, a.y.
func row(alias string, cols []string) string { return "(" + list(alias, cols) + ")" }

func list(alias string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + schemas.QuoteIdent(c)
	}
	return strings.Join(out, ", ")
}
