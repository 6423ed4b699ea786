package transforms

// Rules made of other rules (json paths, array elements) build and key their parts here.

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// subRule builds the text rule of a json path or an array element from its YAML: a
// plain name ("email") or a mapping with transform: and that rule's parameters. The rule
// null is reported as isNull, without a TextRule.
func subRule(env Env, node *yaml.Node, col Column, where string) (rule TextRule, isNull bool, name string, err error) {
	var p Params
	switch {
	case node == nil || node.Kind == 0:
		return nil, false, "", fmt.Errorf("%s: no rule given", where)
	case node.Kind == yaml.ScalarNode && node.Tag == "!!null":
		name, p = "null", YAMLParams(nil)
	case node.Kind == yaml.ScalarNode:
		name, p = node.Value, YAMLParams(nil)
	case node.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == "transform" {
				name = node.Content[i+1].Value
			}
		}
		if name == "" {
			return nil, false, "", fmt.Errorf("%s: line %d: the rule has no transform:", where, node.Line)
		}
		p = YAMLParams(node)
	default:
		return nil, false, "", fmt.Errorf("%s: line %d: a rule is a name or a mapping with transform:", where, node.Line)
	}
	if name == "null" {
		if err := p.Decode(&struct{}{}); err != nil {
			return nil, false, name, fmt.Errorf("%s: %w", where, err)
		}
		return nil, true, name, nil
	}
	if env.Registry == nil {
		return nil, false, name, fmt.Errorf("%s: no registry to build rule %s from", where, name)
	}
	t, err := env.Registry.New(name, Env{Column: col, Params: p, Key: env.Key, Registry: env.Registry})
	if err != nil {
		return nil, false, name, fmt.Errorf("%s: %w", where, err)
	}
	r, ok := AsTextRule(t)
	if !ok {
		return nil, false, name, fmt.Errorf("%s: %s does not rewrite text values one by one, so it cannot be used here (use a rule that writes text, or null)", where, name)
	}
	return r, false, name, nil
}

// keyedFor returns a stream for a rule's sub-key, or nil for an unkeyed rule.
func keyedFor(r TextRule) *Keyed {
	if sk := r.Subkey(); sk != nil {
		return NewKeyed(sk)
	}
	return nil
}
