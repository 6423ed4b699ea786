package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/schemas"
)

func TestProgressViewsAndReport(t *testing.T) {
	plan := testPlan(t, map[string]int64{"orders": 30, "customers": 5})
	plan.Tables[1].Rules = []ColumnRule{{Column: schemas.Column{Name: "email"}, Rule: "hash"}}
	p := NewProgress(plan)
	orders := p.table(schemas.Name{Schema: "public", Name: "orders"})
	orders.addBytes(100 << 10)
	live := p.live()
	for _, want := range []string{"public.orders", "100.0 KiB", "total: 0/2 tables", "copying"} {
		if !strings.Contains(live, want) {
			t.Errorf("live view lacks %q:\n%s", want, live)
		}
	}
	orders.addRows(1000)
	p.tableDone(orders.name)
	p.SetPhase("adding foreign keys")
	if live := p.live(); strings.Contains(live, "public.orders") || !strings.Contains(live, "adding foreign keys") {
		t.Errorf("a finished table is still shown live, or the phase is missing:\n%s", live)
	}
	var sum strings.Builder
	p.Summary(&sum)
	if !strings.Contains(sum.String(), "public.customers") || !strings.Contains(sum.String(), "email=hash") ||
		!strings.Contains(sum.String(), "1000") {
		t.Errorf("summary:\n%s", sum.String())
	}
	path := filepath.Join(t.TempDir(), "r.json")
	rows, bytes := p.Totals()
	if err := WriteReport(path, RunReport{Command: "sync", Status: "ok", Rows: rows, Bytes: bytes, Tables: p.Stats()}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	var back RunReport
	if err := json.Unmarshal(data, &back); err != nil || back.Rows != 1000 || len(back.Tables) != 2 || back.Tables[0].Table != "public.orders" {
		t.Errorf("report round trip: %+v, %v\n%s", back, err, data)
	}
}
