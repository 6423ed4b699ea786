package fkgraph_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/fkgraph"
)

// partitions has a two-level partition tree (events → events_2024 → its months) that is
// referenced at the top and in the middle, a foreign key every partition inherits, one that a
// single partition has, and a table joined only by declared references.
const partitions = `
CREATE TABLE accounts (id int PRIMARY KEY);
CREATE TABLE regions (code text PRIMARY KEY);
CREATE TABLE events (id int, y int, m int, account_id int REFERENCES accounts, region text, PRIMARY KEY (id, y, m)) PARTITION BY LIST (y);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES IN (2023);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES IN (2024) PARTITION BY LIST (m);
CREATE TABLE events_2024_1 PARTITION OF events_2024 FOR VALUES IN (1);
CREATE TABLE events_2024_2 PARTITION OF events_2024 FOR VALUES IN (2);
ALTER TABLE events_2023 ADD CONSTRAINT events_2023_region_fkey FOREIGN KEY (region) REFERENCES regions;
CREATE TABLE tags (event_id int, y int, m int, FOREIGN KEY (event_id, y, m) REFERENCES events);
-- Named to sort after the per-partition clones PostgreSQL names notes_event_id_y_m_fkey, …1, …2.
CREATE TABLE notes (event_id int, y int, m int, CONSTRAINT zz_note_event FOREIGN KEY (event_id, y, m) REFERENCES events_2024);
CREATE TABLE audit (account int, payload jsonb);
`

func n(s string) schemas.Name {
	schema, name, _ := strings.Cut(s, ".")
	return schemas.Name{Schema: schema, Name: name}
}

func names(ts []*schemas.Table) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name.String())
	}
	return out
}

func describe(es []*fkgraph.Edge) []string {
	var out []string
	for _, e := range es {
		s := e.Child.Name.String() + "(" + strings.Join(e.Columns, ",") + ") → " + e.Ref.String() + "(" + strings.Join(e.RefColumns, ",") + ") " + e.FK
		if e.Spread != nil {
			s += " spread from " + e.Spread.Child.Name.String()
		}
		if e.Declared {
			s += " declared " + e.Path
		}
		out = append(out, s)
	}
	return out
}

func TestPartitionsInTheGraph(t *testing.T) {
	dsn := pgtest.NewDB(t)
	conn := pgtest.Connect(t, dsn)
	pgtest.Exec(t, conn, partitions)
	cat, err := schemas.LoadCatalog(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	refs := []fkgraph.Reference{
		{From: n("public.audit"), Column: "account", To: n("public.accounts"), RefColumn: "id"},
		{From: n("public.audit"), Column: "payload", To: n("public.events"), RefColumn: "id", Path: "$.event"},
		{From: n("public.audit"), Column: "account", To: n("public.nowhere"), RefColumn: "id"},
	}
	g := fkgraph.New(cat.Tables, refs)
	leaves := []string{"public.events_2023", "public.events_2024_1", "public.events_2024_2"}

	t.Run("only tables that store rows are nodes", func(t *testing.T) {
		for _, tb := range g.Tables() {
			if tb.Kind != 'r' {
				t.Errorf("%s (kind %c) is a node", tb.Name, tb.Kind)
			}
		}
		if got := names(g.Leaves(n("public.events"))); !slices.Equal(got, leaves) {
			t.Errorf("leaves of events: %v, want %v", got, leaves)
		}
		if got := names(g.Leaves(n("public.events_2024"))); !slices.Equal(got, leaves[1:]) {
			t.Errorf("leaves of events_2024: %v, want %v", got, leaves[1:])
		}
		if got := names(g.Leaves(n("public.accounts"))); !slices.Equal(got, []string{"public.accounts"}) {
			t.Errorf("leaves of accounts: %v", got)
		}
	})

	t.Run("a key to a partitioned table is one edge to its leaves", func(t *testing.T) {
		for _, c := range []struct {
			child, fk, ref string
			targets        []string
		}{
			{"public.tags", "tags_event_id_y_m_fkey", "public.events", leaves},
			{"public.notes", "zz_note_event", "public.events_2024", leaves[1:]},
		} {
			out := g.Out(cat.Table(n(c.child)))
			if len(out) != 1 {
				t.Fatalf("%s: %d edges, want its key alone, not its per-partition clones: %v", c.child, len(out), describe(out))
			}
			e := out[0]
			if e.FK != c.fk || e.Ref.String() != c.ref || !slices.Equal(names(e.Targets), c.targets) || !e.Partitioned() {
				t.Errorf("%s: %v targets %v partitioned %v; want %s → %s targets %v", c.child, describe(out), names(e.Targets), e.Partitioned(), c.fk, c.ref, c.targets)
			}
		}
		if got := describe(g.In(cat.Table(n("public.events_2024_1")))); len(got) != 3 {
			t.Errorf("edges into events_2024_1: %v, want tags, notes and audit's reference", got)
		}
	})

	t.Run("partitions are one logical table", func(t *testing.T) {
		for _, leaf := range leaves {
			out := g.Out(cat.Table(n(leaf)))
			if len(out) != 2 {
				t.Fatalf("%s: %v, want account_id and region once each", leaf, describe(out))
			}
			acc, reg := out[0], out[1] // in the catalog's order: by constraint name
			if acc.Ref.String() != "public.accounts" {
				acc, reg = reg, acc
			}
			if acc.Ref.String() != "public.accounts" || acc.Spread != nil || acc.Partitioned() {
				t.Errorf("%s: %v, want its own account_id key", leaf, describe(out))
			}
			if reg.Ref.String() != "public.regions" || reg.FK != "events_2023_region_fkey" {
				t.Errorf("%s: %v, want the region key of events_2023", leaf, describe(out))
			}
			if spread := leaf != "public.events_2023"; (reg.Spread != nil) != spread || spread && reg.Spread.Child.Name.String() != "public.events_2023" {
				t.Errorf("%s: region edge spread %v, want %v", leaf, describe([]*fkgraph.Edge{reg}), spread)
			}
		}
	})

	t.Run("declared references", func(t *testing.T) {
		out := g.Out(cat.Table(n("public.audit")))
		want := []string{
			"public.audit(account) → public.accounts(id)  declared ",
			"public.audit(payload) → public.events(id)  declared $.event",
		}
		if got := describe(out); !slices.Equal(got, want) {
			t.Fatalf("audit: %v, want %v (a reference to no table is left out)", got, want)
		}
		if out[0].Index != 0 || out[1].Index != 1 || !slices.Equal(names(out[1].Targets), leaves) {
			t.Errorf("indexes %d, %d; payload targets %v", out[0].Index, out[1].Index, names(out[1].Targets))
		}
		all := g.Edges()
		if last := all[len(all)-2:]; last[0] != out[0] || last[1] != out[1] {
			t.Errorf("declared references are not last: %v", describe(all))
		}
	})

	t.Run("a graph of some tables", func(t *testing.T) {
		var some []*schemas.Table
		for _, tb := range cat.Tables {
			if tb.Name.Name != "events_2024_2" && tb.Name.Name != "regions" {
				some = append(some, tb)
			}
		}
		g := fkgraph.New(some, nil)
		if got := names(g.Out(cat.Table(n("public.tags")))[0].Targets); !slices.Equal(got, leaves[:2]) {
			t.Errorf("tags → events targets %v, want the leaves in the graph", got)
		}
		out := g.Out(cat.Table(n("public.events_2024_1")))
		if len(out) != 2 || len(out[1].Targets) != 0 || out[1].Spread == nil {
			t.Errorf("events_2024_1: %v, want the region key kept, with no target", describe(out))
		}
		if g.Out(cat.Table(n("public.events_2024_2"))) != nil || g.In(cat.Table(n("public.events_2024_2"))) != nil {
			t.Error("a table left out of the graph has edges")
		}
	})
}
