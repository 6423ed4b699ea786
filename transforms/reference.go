package transforms

import (
	"fmt"
	"strings"
)

// Reference renders the registry as the Markdown transformer reference (docs/transformers.md):
// generated, so it never drifts from the code.
func (r *Registry) Reference() string {
	var b strings.Builder
	b.WriteString(`# Transformer reference

Generated from the registry by ` + "`understudy transformers --markdown`" + `; a test fails when this
file and the code disagree (regenerate with ` + "`go test ./transforms -run Reference -update`" + `).

Every keyed transformer's output is a pure function of (key, rule domain, input value); the
domain defaults to the transformer's name and can be set with ` + "`domain:`" + `. NULL stays NULL
unless a transformer says otherwise. A rule on a column that other columns reference applies
itself to them too (see the README).

| transformer | what it does | example |
|---|---|---|
`)
	for _, n := range r.Names() {
		e := r.entries[n]
		fmt.Fprintf(&b, "| `%s` | %s | `%s` |\n", e.Name, mdEscape(e.Summary), strings.ReplaceAll(e.Example, "|", `\|`))
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
