package transforms

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// YAMLParams returns Params backed by a rule's YAML mapping (nil: no parameters). Keys other
// than "transform" and "when" must be fields of the transformer's options, or Decode fails
// naming the key, its line and the nearest valid key.
func YAMLParams(node *yaml.Node) Params { return yamlParams{node} }

type yamlParams struct{ node *yaml.Node }

// ruleKeys are handled by the pipeline, not by transformers.
var ruleKeys = map[string]bool{"transform": true, "when": true}

func (p yamlParams) Decode(v any) error {
	if p.node == nil || p.node.Kind != yaml.MappingNode {
		return nil
	}
	known := yamlFields(v)
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(p.node.Content); i += 2 {
		k := p.node.Content[i]
		if ruleKeys[k.Value] {
			continue
		}
		if !contains(known, k.Value) {
			msg := fmt.Sprintf("line %d: unknown parameter %q", k.Line, k.Value)
			if s := Nearest(k.Value, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if len(known) == 0 {
				msg += " (this transformer takes none)"
			} else {
				msg += " (valid: " + strings.Join(known, ", ") + ")"
			}
			return fmt.Errorf("%s", msg)
		}
		rest.Content = append(rest.Content, k, p.node.Content[i+1])
	}
	if err := rest.Decode(v); err != nil {
		return fmt.Errorf("line %d: %v", p.node.Line, err)
	}
	return nil
}

func yamlFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
