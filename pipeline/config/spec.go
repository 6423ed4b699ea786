package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Spec returns the rule as it is written in a config file, on one line (YAML flow style):
// "email", or "{transform: email, keep_domain: true}". A snapshot's manifest keeps it, so
// that a restore can build the rule again (see FromSpecs).
func (r ColumnRule) Spec() (string, error) {
	if r.Params == nil {
		return r.Transform, nil
	}
	n := *r.Params
	n.Style = yaml.FlowStyle
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	out, err := yaml.Marshal(&n)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r.Column, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// FromSpecs parses rules as Spec wrote them — table (as Name.String() writes it) → column →
// spec — into a config holding only them; file names their origin in messages.
func FromSpecs(file string, tables map[string]map[string]string) (*Config, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, t := range slices.Sorted(maps.Keys(tables)) {
		cols := &yaml.Node{Kind: yaml.MappingNode}
		for _, c := range slices.Sorted(maps.Keys(tables[t])) {
			var spec yaml.Node
			if err := yaml.Unmarshal([]byte(tables[t][c]), &spec); err != nil || len(spec.Content) != 1 {
				return nil, fmt.Errorf("%s: %s.%s: the rule %q does not parse: %v", file, t, c, tables[t][c], err)
			}
			cols.Content = append(cols.Content, str(c), spec.Content[0])
		}
		root.Content = append(root.Content, str(t), &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("columns"), cols}})
	}
	doc, err := yaml.Marshal(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("tables"), root}})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return Parse(file, doc)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
