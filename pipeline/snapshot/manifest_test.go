package snapshot

import (
	"context"
	"errors"
	"testing"

	"github.com/understudy-dev/understudy/pipeline/store/dirstore"
	"github.com/understudy-dev/understudy/schemas"
)

// Two tables whose schema.table spellings are equal (a dot in a schema name, a dot in a
// table name) must not share files: one would overwrite the other's parts and progress.
func TestPartNamesOfDifferentTablesNeverCollide(t *testing.T) {
	tables := []schemas.Name{
		{Schema: "a.b", Name: "c"}, {Schema: "a", Name: "b.c"}, {Schema: "a", Name: "b%2Ec"},
		{Schema: "a%2Eb", Name: "c"}, {Schema: "a/b", Name: "c"}, {Schema: "a", Name: "b/c"},
	}
	parts, records := map[string]schemas.Name{}, map[string]schemas.Name{}
	for _, tn := range tables {
		p := PartName(tn, 0, 0)
		if other, ok := parts[p]; ok {
			t.Errorf("%s and %s both write %s", other, tn, p)
		}
		parts[p] = tn
		r := unitRecordName(tn, 0)
		if other, ok := records[r]; ok {
			t.Errorf("%s and %s both record progress in %s", other, tn, r)
		}
		records[r] = tn
	}
	if got, want := PartName(schemas.Name{Schema: "public", Name: "my.table"}, 1, 2), "data/public.my.table/part-00001-002.parquet"; got != want {
		t.Errorf("PartName = %s, want %s (a dot in a table name stays readable)", got, want)
	}
}

// A manifest is read from a store anyone may have written: a size it records must not make
// restore panic or reserve memory the file does not have.
func TestReadFileRefusesImpossibleSizes(t *testing.T) {
	s, err := dirstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, err := WriteFile(ctx, s, "schema/pre-data.sql", []byte("SELECT 1;\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{-1, -1 << 20, 1 << 62} {
		bad := f
		bad.Bytes = size
		_, err := ReadFile(ctx, s, bad)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("recorded size %d: error %v, want a CorruptError", size, err)
		}
	}
	if data, err := ReadFile(ctx, s, f); err != nil || string(data) != "SELECT 1;\n" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}
}
