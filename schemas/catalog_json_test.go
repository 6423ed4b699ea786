package schemas_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/schemas"
)

// A snapshot carries the catalog as JSON: read back, it is the catalog that was read from
// the database (tables, columns, keys, partition parents, which index and constraint
// belongs to which table).
func TestCatalogJSONRoundTrip(t *testing.T) {
	src := pgtest.LoadDataset(t, "pagila")
	cat, err := schemas.LoadCatalog(context.Background(), pgtest.Connect(t, src))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(cat)
	if err != nil {
		t.Fatal(err)
	}
	var back schemas.Catalog
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Tables) != len(cat.Tables) || len(back.Indexes) != len(cat.Indexes) || len(back.Constraints) != len(cat.Constraints) {
		t.Fatalf("read back %d tables, %d indexes, %d constraints; want %d, %d, %d",
			len(back.Tables), len(back.Indexes), len(back.Constraints), len(cat.Tables), len(cat.Indexes), len(cat.Constraints))
	}
	for i, tb := range cat.Tables {
		got := back.Tables[i]
		if back.Table(tb.Name) != got {
			t.Errorf("%s is not found by name", tb.Name)
		}
		if (tb.Parent == nil) != (got.Parent == nil) || tb.Parent != nil && tb.Parent.Name != got.Parent.Name {
			t.Errorf("%s: parent %v, want %v", tb.Name, got.Parent, tb.Parent)
		}
		a, b := *tb, *got
		a.Parent, b.Parent = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s differs after the round trip:\n%+v\n%+v", tb.Name, a, b)
		}
	}
	for n, tb := range cat.Constraints {
		if back.Constraints[n] == nil || back.Constraints[n].Name != tb.Name {
			t.Errorf("constraint %s: table %v, want %s", n, back.Constraints[n], tb.Name)
		}
	}
	again, _ := json.Marshal(&back)
	if string(again) != string(data) {
		t.Error("marshalling the read-back catalog gives other JSON")
	}
}
