package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Fingerprint identifies what the config asks of the rows: every table's skip, subset
// (where, percent, include_children) and column rules with their parameters, the declared
// references and the scale section. It leaves out what does not change the rows written —
// the source and target, the key (which has its own fingerprint), jobs, the file's name, its
// lines, comments and the order of a rule's parameters — and shows nothing of what it covers:
// it is the first 8 bytes of a SHA-256, in hex. A snapshot run records it so that --resume
// can refuse to continue under another config.
func (c *Config) Fingerprint() string {
	type rule struct {
		Column, Transform string
		Params            any `json:",omitempty"`
	}
	type table struct {
		Schema, Name    string
		Skip            bool
		Where           string
		Percent         float64
		IncludeChildren bool
		Rules           []rule
	}
	type canon struct {
		Tables     []table
		References []string
		Scale      *Scale
	}
	var v canon
	for _, t := range c.Tables {
		ct := table{Schema: t.Schema, Name: t.Name, Skip: t.Skip, Where: t.Where, Percent: t.Percent, IncludeChildren: t.IncludeChildren}
		for _, r := range t.Columns {
			cr := rule{Column: r.Column, Transform: r.Transform}
			if r.Params != nil {
				// Decoded, a mapping's keys come out sorted and its comments are gone.
				if err := r.Params.Decode(&cr.Params); err != nil {
					cr.Params = fmt.Sprintf("undecodable: %v", err)
				} else if _, err := json.Marshal(cr.Params); err != nil {
					cr.Params = fmt.Sprint(cr.Params) // non-string keys; fmt sorts map keys too
				}
			}
			ct.Rules = append(ct.Rules, cr)
		}
		v.Tables = append(v.Tables, ct)
	}
	for _, r := range c.References {
		v.References = append(v.References, fmt.Sprintf("%s -> %s %q", r.From, r.To, r.Path))
	}
	if c.Scale != nil {
		sc := *c.Scale
		sc.Line = 0
		sc.Shared = nil
		for _, s := range c.Scale.Shared {
			sc.Shared = append(sc.Shared, SharedTable{Schema: s.Schema, Name: s.Name})
		}
		v.Scale = &sc
	}
	data, _ := json.Marshal(v) // every value is JSON-safe by now
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
