package pgsink

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/schemas"
)

// A foreign key is checked by merging two indexes only where that reads no heap and sorts
// nothing: the referencing columns lead an index and both tables are all-visible. Wherever
// it is checked, a row that breaks the key still fails, and the connection's planner
// settings are as they were afterwards.
func TestForeignKeyChecksMergeIndexesOnlyWhereTheyCan(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	pgtest.Exec(t, conn, `
		CREATE EXTENSION citext;
		CREATE TABLE parent (id int, code citext);
		CREATE TABLE indexed (id int, parent_id int, code citext);
		CREATE TABLE bare (id int, parent_id int, code citext);
		CREATE TABLE fresh (id int, parent_id int, code citext);`)
	// Loaded as the sink loads a one-unit table (fresh is not: its pages are not
	// all-visible), then indexed.
	rows := func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "%d\t%d\tC%d\n", i, 1+i%20000, 1+i%20000)
		}
		return b.String()
	}
	for _, l := range []struct {
		table, rows string
		freeze      bool
	}{{"parent", rows(20000), true}, {"indexed", rows(50000), true}, {"bare", rows(50000), true}, {"fresh", rows(50000), false}} {
		cols, opts := "(id, parent_id, code)", "(FREEZE)"
		if l.table == "parent" {
			cols = "(id, code)"
			l.rows = regexp.MustCompile(`(?m)^(\d+)\t\d+\tC\d+$`).ReplaceAllString(l.rows, "$1\tc$1")
		}
		if !l.freeze {
			opts = ""
		}
		pgtest.Exec(t, conn, "BEGIN; TRUNCATE "+l.table)
		if _, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(l.rows), "COPY "+l.table+" "+cols+" FROM STDIN "+opts); err != nil {
			t.Fatalf("load %s: %v", l.table, err)
		}
		pgtest.Exec(t, conn, "COMMIT")
	}
	pgtest.Exec(t, conn, `
		ALTER TABLE parent ADD PRIMARY KEY (id);
		ALTER TABLE parent ADD UNIQUE (code);
		ALTER TABLE indexed ADD PRIMARY KEY (id);
		CREATE INDEX ON indexed (parent_id);
		CREATE INDEX ON indexed (code);
		ALTER TABLE bare ADD PRIMARY KEY (id);
		ALTER TABLE fresh ADD PRIMARY KEY (id);
		CREATE INDEX ON fresh (parent_id);`)
	// as pg_dump's post-data preamble leaves it
	pgtest.Exec(t, conn, "SELECT pg_catalog.set_config('search_path', '', false)")
	table := func(name string) *schemas.Table { // as big as addForeignKey asks about
		return &schemas.Table{Name: schemas.Name{Schema: "public", Name: name}, Pages: mergeMinPages}
	}
	parent := table("parent")
	fk := func(child, col, ref string) *earlyFK {
		return &earlyFK{child: table(child), parent: parent,
			key: schemas.ForeignKey{Name: child + "_" + col + "_fkey", Columns: []string{col}, Ref: parent.Name, RefColumns: []string{ref}}}
	}
	w := &writer{conn: conn, sink: &Sink{}, workers: -1}
	add := func(k *earlyFK) error {
		return w.addForeignKey(ctx, "", schemas.Entry{Type: "FK CONSTRAINT", Name: schemas.Name{Schema: "public", Name: k.child.Name.Name + " " + k.key.Name},
			SQL: "ALTER TABLE ONLY " + k.child.Name.Quoted() + " ADD CONSTRAINT " + schemas.QuoteIdent(k.key.Name) +
				" FOREIGN KEY (" + schemas.QuoteIdent(k.key.Columns[0]) + ") REFERENCES public.parent(" + schemas.QuoteIdent(k.key.RefColumns[0]) + ");"}, k)
	}
	hashJoin := func() string {
		var v string
		if err := conn.QueryRow(ctx, "SHOW enable_hashjoin").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	for _, c := range []struct {
		fk   *earlyFK
		want bool
		why  string
	}{
		{fk("indexed", "parent_id", "id"), true, "indexed and all-visible"},
		{fk("bare", "parent_id", "id"), false, "no index on the referencing column"},
		{fk("fresh", "parent_id", "id"), false, "not all-visible"},
		{fk("indexed", "code", "code"), false, "citext's equality is not on the empty search_path"},
	} {
		pgtest.Exec(t, conn, "SET enable_hashjoin = off")
		got := mergesIndexes(ctx, conn, c.fk)
		pgtest.Exec(t, conn, "RESET enable_hashjoin")
		if got != c.want {
			t.Errorf("%s.%s (%s): merges indexes = %v, want %v", c.fk.child.Name.Name, c.fk.key.Columns[0], c.why, got, c.want)
		}
		if err := add(c.fk); err != nil {
			t.Errorf("add %s: %v", c.fk.key.Name, err)
		}
		if v := hashJoin(); v != "on" {
			t.Errorf("after %s enable_hashjoin = %s, want on", c.fk.key.Name, v)
		}
	}
	var validated int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_catalog.pg_constraint WHERE contype = 'f' AND convalidated").Scan(&validated); err != nil {
		t.Fatal(err)
	}
	if validated != 4 {
		t.Errorf("%d validated foreign keys, want 4", validated)
	}

	// A row with no parent, in a table loaded frozen like the others: the merge finds it.
	pgtest.Exec(t, conn, "CREATE TABLE public.orphans (id int, parent_id int, code public.citext)")
	pgtest.Exec(t, conn, "BEGIN; TRUNCATE public.orphans")
	if _, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(rows(50000)+"50001\t-1\tc1\n"), "COPY public.orphans FROM STDIN (FREEZE)"); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, conn, "COMMIT")
	pgtest.Exec(t, conn, "CREATE INDEX ON public.orphans (parent_id)")
	broken := fk("orphans", "parent_id", "id")
	pgtest.Exec(t, conn, "SET enable_hashjoin = off")
	if !mergesIndexes(ctx, conn, broken) {
		t.Fatal("a table loaded frozen with an orphan row does not merge")
	}
	pgtest.Exec(t, conn, "RESET enable_hashjoin")
	err := add(broken)
	if err == nil || !strings.Contains(err.Error(), "orphans_parent_id_fkey") || !strings.Contains(err.Error(), "violates foreign key constraint") {
		t.Errorf("adding a key over a row that breaks it: %v, want a foreign-key violation naming the key", err)
	}
	if v := hashJoin(); v != "on" {
		t.Errorf("after a failed check enable_hashjoin = %s, want on", v)
	}
}
