// Package subset computes, inside the source's snapshot, which rows of every copied table a
// subsetted copy keeps, so that every foreign key of the result holds by construction. It
// only decides rows: it returns sets of heap tuple ids (TIDs) per table, and the copy then
// reads those rows in the same snapshot (TIDCondition). It does not copy, and it does not
// look at anything but foreign keys (triggers, check constraints and application-level
// references are not followed). The foreign keys are those of the shared graph
// (schemas/fkgraph): a key to a partitioned table reaches its copied leaves, and a key that
// one partition has holds for its sibling partitions too.
//
// A seed names a table with a where condition, a percent sample, or both (the sample is then
// drawn from the rows matching where), and may ask for children. A seed naming a partitioned
// table applies to each of its leaf partitions. The rows kept are:
//
//  1. Seed rows: the rows of a seed table matching where (SQL over the table's columns;
//     the table may be referred to by its unqualified name) and, with percent p, chosen by
//     a deterministic keyed sample: a row is kept iff the first 8 bytes of HMAC-SHA256(k,
//     identity), read as a big-endian uint64, are < p/100 × 2^64. k is
//     key.Derive("subset/" + schema.table), with schema.table the table's own name or, for a
//     partition, that of the partitioned table at the top of its tree; with no key, k is the
//     same derivation from the published key "understudy/v1/unkeyed-subset". The identity is
//     the primary key's columns in key order, each as its ::text form preceded by that
//     form's length in bytes as a 4-byte big-endian integer; without a primary key, the
//     whole row's text form (ROW(t.*)::text) in the same framing. So the same key and the
//     same data give the same rows on every run, whatever the physical layout, and the
//     sample drawn with a where is exactly the sample's rows that match it. Several seeds
//     on one table add up.
//  2. Children (include_children): every row that references a seed row of such a seed
//     through a foreign key is kept, and the rows referencing those, transitively — but
//     only along this downward walk: rows kept by rule 3 never bring their children.
//  3. Parents: every row that a kept row references through a foreign key is kept,
//     transitively, to a fixpoint (chains, self-references and cycles included). A foreign
//     key with a NULL in any of its columns references nothing (MATCH SIMPLE).
//  4. A table that can get rows by 1–3 — a seed table, a table below an include_children
//     seed, and every table these reference, directly or not — is restricted to exactly the
//     rows 1–3 kept, which may be none.
//  5. Any other table that references a restricted table, directly or through tables of
//     this rule, is copied whole except for the rows that reference a row not kept, and the
//     rows that reference those, cascading (the greatest such subset). This never adds rows
//     anywhere. A table of this rule that loses no row is copied whole.
//  6. Every other table is copied whole.
//
// Hence: for every foreign key of every copied table, every kept row whose key columns are
// all non-NULL references a kept row. Foreign keys to tables that are not copied are
// ignored, and so are orphans already in the source (rows of a NOT VALID foreign key that
// reference nothing).
//
// The work is set-at-a-time: each round sends one query per foreign key with the TIDs that
// round added (in batches of batchSize), so a query's cost follows the new rows, not the
// table. Kept sets live in memory as sorted TIDs, 8 bytes per kept row; rule 5 also holds all
// TIDs of a table that loses rows. Nothing is written: the source transaction may be read
// only.
package subset

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/fkgraph"
	"github.com/understudy-dev/understudy/transforms"
)

// Seed is where a subset starts: one table's subsetting rule in the config.
type Seed struct {
	Table           schemas.Name // a plain table, a leaf partition, or a partitioned table (then: each of its leaves)
	Where           string       // SQL condition on the table's columns, "" = none
	Percent         float64      // 0 = none; else (0,100]
	IncludeChildren bool
}

// SeedError is a problem caused by one seed: Index is its position in the seeds. Msg is the
// server's message for a where that fails.
type SeedError struct {
	Index int
	Table schemas.Name
	Msg   string
}

func (e *SeedError) Error() string {
	return fmt.Sprintf("subset of %s (seed %d): %s", e.Table, e.Index, e.Msg)
}

// Result holds the rows kept per leaf table.
type Result struct {
	rows map[schemas.Name][]TID // restricted tables only; a nil set keeps no row
}

// Rows returns the rows of table t to copy: restricted is false when the whole table is
// copied; otherwise tids is the sorted set of rows to keep (possibly empty). t is a plain
// table or a leaf partition.
func (r *Result) Rows(t schemas.Name) (tids []TID, restricted bool) {
	tids, restricted = r.rows[t]
	return tids, restricted
}

// Counts returns the number of rows kept per restricted table, by schema.table.
func (r *Result) Counts() map[string]int64 {
	out := make(map[string]int64, len(r.rows))
	for n, tids := range r.rows {
		out[n.String()] = int64(len(tids))
	}
	return out
}

// batchSize bounds the TIDs sent in one query (about 14 bytes each as text, so under 1 MB).
// A variable so that a test can make every round span many batches.
var batchSize = 50000

// unkeyedSubset keys the percent sample when the run has no key: a sample hides nothing, so
// a published constant is enough to make it reproducible.
const unkeyedSubset = "understudy/v1/unkeyed-subset"

// savepoint guards each seed query: a where that fails must not abort the transaction.
const savepoint = "understudy_subset_seed"

type state byte

const (
	whole    state = iota // rule 6
	reached               // rules 1–4
	filtered              // rule 5
)

// node is a copied leaf table.
type node struct {
	t     *schemas.Table
	out   []*edge // its foreign keys to copied tables
	in    []*edge // foreign keys whose targets include it
	state state
	kept  []TID // reached: rows kept; filtered: rows dropped
	delta []TID // rows added to kept (or dropped) and not yet followed
	down  []TID // rule 2: rows reached by the downward walk
	ddown []TID // rule 2: down rows not yet followed
}

// edge is a foreign key of a leaf table to copied tables (see fkgraph: a key to a
// partitioned table has its leaves as targets, a key of a partition holds for its siblings).
type edge struct {
	*fkgraph.Edge
	child   *node
	targets []*node
}

type graph struct {
	nodes []*node // in catalog order, so rounds run in a stable order
	fk    *fkgraph.Graph
	of    map[*schemas.Table]*node
}

func newGraph(tables []*schemas.Table) *graph {
	g := &graph{fk: fkgraph.New(tables, nil), of: map[*schemas.Table]*node{}}
	for _, t := range g.fk.Tables() {
		n := &node{t: t}
		g.nodes = append(g.nodes, n)
		g.of[t] = n
	}
	for _, n := range g.nodes {
		for _, fe := range g.fk.Out(n.t) {
			if len(fe.Targets) == 0 {
				continue // not copied
			}
			e := &edge{Edge: fe, child: n, targets: g.nodesOf(fe.Targets)}
			n.out = append(n.out, e)
			for _, t := range e.targets {
				t.in = append(t.in, e)
			}
		}
	}
	return g
}

// under returns the copied leaves of the named table (itself for a leaf).
func (g *graph) under(n schemas.Name) []*node { return g.nodesOf(g.fk.Leaves(n)) }

func (g *graph) nodesOf(ts []*schemas.Table) []*node {
	out := make([]*node, len(ts))
	for i, t := range ts {
		out[i] = g.of[t]
	}
	return out
}

// Compute decides the rows to keep. q must be inside the snapshot the copy reads (a
// REPEATABLE READ transaction, which may be READ ONLY): TIDs mean nothing outside it. tables
// are the tables being copied, as the catalog read in that transaction describes them. A
// problem with one seed is a *SeedError, after which the transaction is still usable.
func Compute(ctx context.Context, q schemas.Querier, tables []*schemas.Table, seeds []Seed, key *transforms.Key) (*Result, error) {
	g := newGraph(tables)
	if key == nil {
		key, _ = transforms.NewKey(unkeyedSubset)
	}
	leaves := make([][]*node, len(seeds))
	for i, s := range seeds {
		leaves[i] = g.under(s.Table)
		switch {
		case len(leaves[i]) == 0:
			return nil, &SeedError{Index: i, Table: s.Table, Msg: "not among the copied tables"}
		case math.IsNaN(s.Percent) || s.Percent < 0 || s.Percent > 100:
			return nil, &SeedError{Index: i, Table: s.Table, Msg: fmt.Sprintf("percent %v is not within (0, 100]", s.Percent)}
		}
	}
	g.classify(seeds, leaves)

	// Rule 1.
	for i, s := range seeds {
		for _, n := range leaves[i] {
			tids, err := seedRows(ctx, q, n, s, key)
			if err != nil {
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) {
					return nil, &SeedError{Index: i, Table: s.Table, Msg: pgErr.Message}
				}
				return nil, fmt.Errorf("subset of %s: %w", n.t.Name, err)
			}
			n.kept, _ = union(n.kept, tids)
			if s.IncludeChildren {
				n.down, _ = union(n.down, tids)
				n.ddown = slices.Clip(n.down) // appends to ddown must not write into down
			}
		}
	}
	if err := g.walkDown(ctx, q); err != nil {
		return nil, err
	}
	for _, n := range g.nodes {
		n.delta = slices.Clip(n.kept)
	}
	if err := g.closeUp(ctx, q); err != nil {
		return nil, err
	}
	if err := g.filter(ctx, q); err != nil {
		return nil, err
	}

	res := &Result{rows: map[schemas.Name][]TID{}}
	for _, n := range g.nodes {
		if n.state == reached || (n.state == filtered && n.kept != nil) {
			res.rows[n.t.Name] = n.kept
		}
	}
	return res, nil
}

// classify decides from the schema alone which rule each table falls under.
func (g *graph) classify(seeds []Seed, leaves [][]*node) {
	var stack []*node
	mark := func(n *node) {
		if n.state != reached {
			n.state = reached
			stack = append(stack, n)
		}
	}
	// Below include_children seeds.
	for i, s := range seeds {
		if s.IncludeChildren {
			for _, n := range leaves[i] {
				mark(n)
			}
		}
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range n.in {
			mark(e.child)
		}
	}
	// Seeds, and everything referenced from what is reached so far.
	for _, n := range g.nodes {
		if n.state == reached {
			stack = append(stack, n)
		}
	}
	for i := range seeds {
		for _, n := range leaves[i] {
			mark(n)
		}
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range n.out {
			for _, t := range e.targets {
				mark(t)
			}
		}
	}
	// Rule 5: what references a restricted table, to a fixpoint.
	for changed := true; changed; {
		changed = false
		for _, n := range g.nodes {
			if n.state != whole {
				continue
			}
			for _, e := range n.out {
				for _, t := range e.targets {
					if t.state != whole && n.state == whole {
						n.state, changed = filtered, true
					}
				}
			}
		}
	}
}

// seedRows returns the rows of leaf n that seed s selects, as a set. The query runs under a
// savepoint so that a where that fails leaves the transaction usable.
func seedRows(ctx context.Context, q schemas.Querier, n *node, s Seed, key *transforms.Key) ([]TID, error) {
	alias := schemas.QuoteIdent(s.Table.Name)
	sql := "SELECT " + alias + ".ctid"
	var m hash.Hash
	var threshold uint64
	sample := s.Percent > 0 && s.Percent < 100
	if sample {
		m = hmac.New(sha256.New, key.Derive("subset/"+n.t.Root().Name.String()))
		threshold = uint64(math.Ldexp(s.Percent/100, 64)) // < 2^64: percent < 100
		id := identity(n.t)
		if id == nil {
			sql += ", ROW(" + alias + ".*)::text"
		}
		for _, c := range id {
			sql += ", " + alias + "." + schemas.QuoteIdent(c) + "::text"
		}
	}
	sql += " FROM ONLY " + n.t.Name.Quoted() + " AS " + alias
	if s.Where != "" {
		sql += " WHERE (\n" + s.Where + "\n)" // newlines: a trailing -- comment cannot eat the paren
	}

	if _, err := q.Exec(ctx, "SAVEPOINT "+savepoint); err != nil {
		return nil, err
	}
	tids, err := func() ([]TID, error) {
		rows, err := q.Query(ctx, sql)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var tids []TID
		var sum []byte
		var frame [4]byte
		for rows.Next() {
			raw := rows.RawValues()
			tid, err := rawTID(rows, 0)
			if err != nil {
				return nil, err
			}
			if sample {
				m.Reset()
				for _, v := range raw[1:] { // text columns: in either format the bytes are the text
					binary.BigEndian.PutUint32(frame[:], uint32(len(v)))
					m.Write(frame[:])
					m.Write(v)
				}
				sum = m.Sum(sum[:0])
				if binary.BigEndian.Uint64(sum) >= threshold {
					continue
				}
			}
			tids = append(tids, tid)
		}
		return tids, rows.Err()
	}()
	if err != nil {
		if _, rerr := q.Exec(ctx, "ROLLBACK TO SAVEPOINT "+savepoint); rerr != nil {
			return nil, rerr
		}
	}
	if _, rerr := q.Exec(ctx, "RELEASE SAVEPOINT "+savepoint); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	return sortUnique(tids), nil
}

// identity returns the primary key columns of t (or of its partitioned root), nil if none.
func identity(t *schemas.Table) []string {
	for ; t != nil; t = t.Parent {
		if len(t.PrimaryKey) > 0 {
			return t.PrimaryKey
		}
	}
	return nil
}
