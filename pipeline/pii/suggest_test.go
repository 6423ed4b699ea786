package pii

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/understudy-dev/understudy/transforms"
)

// suggestedRule is the transformer a suggestion names: a plain name ("email") or a rule
// written as a mapping ("{transform: hash, length: 16}").
func suggestedRule(t *testing.T, s string) string {
	t.Helper()
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		return s
	}
	var r struct {
		Transform string `yaml:"transform"`
	}
	if err := yaml.Unmarshal([]byte(s), &r); err != nil || r.Transform == "" {
		t.Fatalf("suggestion %q is not a rule: %v", s, err)
	}
	return r.Transform
}

// Every rule a finding can suggest exists, so a starter config written by `understudy init`
// runs as it is.
func TestEverySuggestionIsARegisteredRule(t *testing.T) {
	reg := transforms.Default()
	suggestions := map[string]string{
		"people table name column": "full_name",           // Detect's own finding
		"unknown category":         suggestionFor("none"), // the fallback
	}
	for _, c := range categories {
		suggestions["category "+c.name] = c.suggest
	}
	for where, s := range suggestions {
		name := suggestedRule(t, s)
		if _, ok := reg.Lookup(name); !ok {
			t.Errorf("%s suggests %q, which names no registered transformer", where, s)
		}
	}
}
