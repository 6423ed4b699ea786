package transforms

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/transformers.md from the registry")

// The reference in docs/ is the registry's own rendering: they cannot disagree.
func TestReferenceIsUpToDate(t *testing.T) {
	path := filepath.Join("..", "docs", "transformers.md")
	want := Default().Reference()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./transforms -run Reference -update)", err)
	}
	if string(got) != want {
		t.Errorf("docs/transformers.md is out of date: run go test ./transforms -run Reference -update")
	}
	for _, n := range Default().Names() {
		e, _ := Default().Lookup(n)
		if e.Summary == "" || e.Example == "" {
			t.Errorf("transformer %s has no summary or example", n)
		}
	}
}
