package pgsink

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/schemas"
)

// The foreign keys that wait for all rows are handed out so that two never lock a table in
// common at once: the first whose tables are free, in pg_dump's order.
func TestNextFreeSkipsForeignKeysWhoseTablesAreBusy(t *testing.T) {
	tables := map[string][]string{
		"payment customer_fkey": {"payment", "customer"},
		"payment rental_fkey":   {"payment", "rental"},
		"rental customer_fkey":  {"rental", "customer"},
		"staff store_fkey":      {"staff", "store"},
	}
	var entries []fkEntry
	for _, n := range []string{"payment customer_fkey", "payment rental_fkey", "rental customer_fkey", "staff store_fkey"} {
		entries = append(entries, fkEntry{entry: schemas.Entry{Type: "FK CONSTRAINT", Name: schemas.Name{Schema: "public", Name: n}}, tables: tables[n]})
	}
	for _, c := range []struct {
		busy []string
		want string
	}{
		{nil, "payment customer_fkey"},
		{[]string{"payment"}, "rental customer_fkey"},
		{[]string{"payment", "rental"}, "staff store_fkey"},
		{[]string{"customer"}, "payment rental_fkey"},
		{[]string{"payment", "staff"}, "rental customer_fkey"},
		{[]string{"payment", "customer", "store"}, ""},
	} {
		busy := map[string]int{}
		for _, b := range c.busy {
			busy[b] = 1
		}
		got := ""
		if i := nextFree(entries, busy); i >= 0 {
			got = entries[i].entry.Name.Name
		}
		if got != c.want {
			t.Errorf("with %s busy: took %q, want %q", strings.Join(c.busy, ", "), got, c.want)
		}
	}
}
