package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The --report run report is readable by its owner only, also when it replaces a file that
// others could read.
func TestRunReportIsPrivate(t *testing.T) {
	dir := t.TempDir()
	fresh, old := filepath.Join(dir, "fresh.json"), filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte("an older, longer report that is replaced whole"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fresh, old} {
		if err := WriteReport(path, RunReport{Command: "sync", Status: "ok"}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(path), st.Mode().Perm())
		}
		data, _ := os.ReadFile(path)
		if !strings.Contains(string(data), `"command": "sync"`) || strings.Contains(string(data), "older") {
			t.Errorf("%s holds:\n%s", filepath.Base(path), data)
		}
	}
}
