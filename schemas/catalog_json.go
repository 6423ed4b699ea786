package schemas

import (
	"encoding/json"
	"fmt"
	"sort"
)

// The catalog as JSON, for snapshots: restore needs the tables, columns, keys and which
// post-data object belongs to which table, without a source database to read them from.
// Pointers become names.

type catalogJSON struct {
	Tables      []tableJSON `json:"tables"`
	Sequences   []Name      `json:"sequences"`
	MatViews    []Name      `json:"materialized_views"`
	Indexes     []objectRef `json:"indexes"`
	Constraints []objectRef `json:"constraints"`
	Triggers    []objectRef `json:"triggers"`
}

type tableJSON struct {
	Table
	Parent *Name `json:"parent,omitempty"`
}

type objectRef struct {
	Object Name `json:"object"`
	Table  Name `json:"table"`
}

// MarshalJSON writes the catalog with tables referred to by name.
func (c *Catalog) MarshalJSON() ([]byte, error) {
	out := catalogJSON{Sequences: c.Sequences, MatViews: c.MatViews}
	for _, t := range c.Tables {
		tj := tableJSON{Table: *t}
		tj.Table.Parent = nil
		if t.Parent != nil {
			p := t.Parent.Name
			tj.Parent = &p
		}
		out.Tables = append(out.Tables, tj)
	}
	refs := func(m map[Name]*Table) []objectRef {
		r := make([]objectRef, 0, len(m))
		for n, t := range m {
			r = append(r, objectRef{n, t.Name})
		}
		sort.Slice(r, func(i, j int) bool { return r[i].Object.String() < r[j].Object.String() })
		return r
	}
	out.Indexes, out.Constraints, out.Triggers = refs(c.Indexes), refs(c.Constraints), refs(c.Triggers)
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (c *Catalog) UnmarshalJSON(data []byte) error {
	var in catalogJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*c = Catalog{Sequences: in.Sequences, MatViews: in.MatViews, byName: map[string]*Table{},
		Indexes: map[Name]*Table{}, Constraints: map[Name]*Table{}, Triggers: map[Name]*Table{}}
	for i := range in.Tables {
		t := in.Tables[i].Table
		c.Tables = append(c.Tables, &t)
		c.byName[t.Name.String()] = &t
	}
	for i, tj := range in.Tables {
		if tj.Parent != nil {
			if c.Tables[i].Parent = c.byName[tj.Parent.String()]; c.Tables[i].Parent == nil {
				return fmt.Errorf("table %s: parent %s is not in the catalog", tj.Name, tj.Parent)
			}
		}
	}
	for _, m := range []struct {
		refs []objectRef
		to   map[Name]*Table
	}{{in.Indexes, c.Indexes}, {in.Constraints, c.Constraints}, {in.Triggers, c.Triggers}} {
		for _, r := range m.refs {
			t := c.byName[r.Table.String()]
			if t == nil {
				return fmt.Errorf("%s: table %s is not in the catalog", r.Object, r.Table)
			}
			m.to[r.Object] = t
		}
	}
	return nil
}
