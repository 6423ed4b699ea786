package snapshotsource

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/store/location"
	"github.com/understudy-dev/understudy/schemas"
)

// partitionedManifest is a snapshot of: y, partitioned into y1 and y2; t, whose key
// references y; e, partitioned into e1, whose key references t. As PostgreSQL's catalog
// has them, t's key is also listed once per partition of y, and e1 has a copy of e's. Only
// leaves have rows, so only they are tables of the manifest.
func partitionedManifest(t *testing.T) *snapshot.Manifest {
	t.Helper()
	n := func(s string) schemas.Name { return schemas.Name{Schema: "public", Name: s} }
	col := []schemas.Column{{Name: "id", TypeOID: 23, BaseOID: 23, TypeName: "integer"}}
	fk := func(name, ref string) schemas.ForeignKey {
		return schemas.ForeignKey{Name: name, Columns: []string{"id"}, Ref: n(ref), RefColumns: []string{"id"}}
	}
	y := &schemas.Table{Name: n("y"), Kind: 'p', Columns: col}
	e := &schemas.Table{Name: n("e"), Kind: 'p', Columns: col, ForeignKeys: []schemas.ForeignKey{fk("e_t_fkey", "t")}}
	cat := &schemas.Catalog{Tables: []*schemas.Table{
		y, {Name: n("empty"), Kind: 'p', Columns: col},
		{Name: n("y1"), Kind: 'r', IsPartition: true, Parent: y, Columns: col},
		{Name: n("y2"), Kind: 'r', IsPartition: true, Parent: y, Columns: col},
		{Name: n("t"), Kind: 'r', Columns: col, ForeignKeys: []schemas.ForeignKey{fk("t_y_fkey", "y"), fk("t_y_fkey1", "y1"), fk("t_y_fkey2", "y2")}},
		e,
		{Name: n("e1"), Kind: 'r', IsPartition: true, Parent: e, Columns: col, ForeignKeys: []schemas.ForeignKey{fk("e_t_fkey", "t")}},
	}}
	data, err := json.Marshal(cat)
	if err != nil {
		t.Fatal(err)
	}
	m := &snapshot.Manifest{Catalog: &schemas.Catalog{}}
	if err := json.Unmarshal(data, m.Catalog); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"y1", "y2", "t", "e1"} {
		m.Tables = append(m.Tables, snapshot.Table{Name: n(name), Columns: []snapshot.Column{{Name: "id", Encoding: "native"}},
			Parts: []snapshot.Part{{File: snapshot.File{Path: "data/public." + name + "/part-00000-000.parquet"}}}})
	}
	return m
}

func TestPlanTablesFollowsPartitions(t *testing.T) {
	for _, tc := range []struct {
		only []string
		want string // the tables restored, or the error
	}{
		{nil, "public.y1 public.y2 public.t public.e1"},
		{[]string{"t", "y1", "y2"}, "public.y1 public.y2 public.t"},
		{[]string{"t", "y"}, "public.y1 public.y2 public.t"}, // a partitioned table stands for its partitions
		{[]string{"e", "t", "y"}, "public.y1 public.y2 public.t public.e1"},
		{[]string{"y"}, "public.y1 public.y2"},
		{[]string{"t", "y1"}, "public.t references public.y"}, // y2 would be missing
		{[]string{"e1"}, "public.e1 references public.t"},
		{[]string{"nope"}, "public.nope is not in the snapshot"},
		{[]string{"empty"}, ""}, // no partitions, no rows: nothing to restore, not everything
	} {
		p, _, err := Plan(partitionedManifest(t), nil, tc.only, parquetpart.Options{})
		var got string
		if err != nil {
			got = err.Error()
		} else {
			var names []string
			for _, tp := range p.Tables {
				names = append(names, tp.Name.String())
			}
			got = strings.Join(names, " ")
		}
		if err != nil && !strings.Contains(got, tc.want) || err == nil && got != tc.want {
			t.Errorf("--tables %v: %s\nwant %s", tc.only, got, tc.want)
		}
	}
}

// A manifest that contradicts its own catalog is a damaged snapshot, not a usage error.
func TestPlanRefusesAManifestAtOddsWithItsCatalog(t *testing.T) {
	m := partitionedManifest(t)
	m.Tables[0].Columns = append(m.Tables[0].Columns, snapshot.Column{Name: "extra", Encoding: "native"})
	dir, err := location.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Plan(m, dir, nil, parquetpart.Options{})
	var ce *snapshot.CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "public.y1") {
		t.Errorf("columns that do not match the catalog: %v, want a CorruptError naming the table", err)
	}
	m = partitionedManifest(t)
	m.Tables = append(m.Tables, snapshot.Table{Name: schemas.Name{Schema: "public", Name: "ghost"}})
	if _, _, err := Plan(m, dir, nil, parquetpart.Options{}); !errors.As(err, &ce) || !strings.Contains(err.Error(), "public.ghost is not in the catalog") {
		t.Errorf("a table missing from the catalog: %v", err)
	}
}
