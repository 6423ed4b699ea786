package pgsink

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/schemas"
)

// A table's primary key and unique constraints are built as an index (SHARE, beside its
// other index builds) and then attached, except those pg_dump's entry or the catalog says
// must be added whole: deferrable, or with CLUSTER ON in the same entry.
func TestKeysAreBuiltAsIndexesFirstUnlessTheyMustBeAddedWhole(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t)
	conn := pgtest.Connect(t, dsn)
	pgtest.Exec(t, conn, fixtures.TypeZooSQL)
	cat, err := schemas.LoadCatalog(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	dump, err := schemas.FindPgDump(pgtest.PgDumpPath(t))
	if err != nil {
		t.Fatal(err)
	}
	ddl, err := dump.Dump(ctx, dsn, schemas.DumpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{ddl: ddl, cat: cat}
	s.classify()
	keyring := cat.Table(schemas.Name{Schema: "zoo", Name: "keyring"})
	if keyring == nil {
		t.Fatal("no zoo.keyring in the catalog")
	}

	type step struct {
		name   string
		shared bool
	}
	var got []step
	for _, task := range s.TableLoaded(&pipeline.TablePlan{Table: keyring}) {
		got = append(got, step{task.Name, task.Shared})
	}
	want := []step{ // by name
		{"create constraint zoo.keyring keyring_pkey", false},       // CLUSTER ON in its entry: whole
		{"create constraint zoo.keyring keyring_serial_key", false}, // deferrable: whole
		{"create index zoo.keyring keyring code+batch", true},       // its index first, then attached
	}
	slices.SortFunc(got, func(a, b step) int { return strings.Compare(a.name, b.name) })
	if !slices.Equal(got, want) {
		t.Errorf("keyring's tasks:\n got %v\nwant %v", got, want)
	}

	// The attach that follows the index build, and what it runs.
	k, ok := keyring.KeyIndexes["keyring code+batch"]
	if !ok {
		t.Fatalf("catalog has no two-step entry for keyring code+batch: %v", keyring.KeyIndexes)
	}
	if want := `CREATE UNIQUE INDEX "keyring code+batch" ON zoo.keyring USING btree (code, batch) INCLUDE (label) NULLS NOT DISTINCT`; k.Create != want {
		t.Errorf("index:\n got %s\nwant %s", k.Create, want)
	}
	if want := `ALTER TABLE ONLY "zoo"."keyring" ADD CONSTRAINT "keyring code+batch" UNIQUE USING INDEX "keyring code+batch"`; keyring.Attach("keyring code+batch") != want {
		t.Errorf("attach:\n got %s\nwant %s", keyring.Attach("keyring code+batch"), want)
	}
	if _, ok := keyring.KeyIndexes["keyring_serial_key"]; ok {
		t.Error("the deferrable keyring_serial_key is offered in two steps")
	}
}
