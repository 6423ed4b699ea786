package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
	"github.com/understudy-dev/understudy/transforms"
)

// whenTable is a customers table as the catalog would describe it.
func whenTable() *schemas.Table {
	col := func(name string, oid uint32, typ string) schemas.Column {
		return schemas.Column{Name: name, TypeOID: oid, BaseOID: oid, TypeName: typ, TypType: 'b'}
	}
	amount := col("amount", pgtype.NumericOID, "numeric(10,2)")
	amount.Typmod = (10<<16 | 2) + 4
	return &schemas.Table{Name: schemas.Name{Schema: "public", Name: "customers"}, Kind: 'r', Columns: []schemas.Column{
		col("id", pgtype.Int4OID, "integer"),
		col("name", pgtype.TextOID, "text"),
		col("country", pgtype.VarcharOID, "character varying(2)"),
		col("age", pgtype.Int4OID, "integer"),
		amount,
		col("notes", pgtype.TextOID, "text"),
		col("email", pgtype.TextOID, "text"),
	}}
}

// whenPlan binds the config's rules for whenTable as BuildPlan does.
func whenPlan(t *testing.T, yaml string) (*TablePlan, error) {
	t.Helper()
	cfg, err := config.Parse("w.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	key, err := transforms.NewKey("when-stream-test-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	tbl := whenTable()
	tp := &TablePlan{Table: tbl, Columns: tbl.CopyColumns()}
	tr := cfg.Tables[0]
	for _, cr := range tr.Columns {
		if err := bindRule(cfg, tp, tr, cr, PlanOptions{Registry: transforms.Default(), Key: key}); err != nil {
			return nil, err
		}
	}
	return tp, orderRules(cfg, tp, tr)
}

type whenRow struct {
	id           int32
	name         string
	country      any // string or nil
	age          any // int32 or nil
	amount       any // numeric text or nil
	notes, email any
}

var whenRows = []whenRow{
	{1, "Anna", "DE", int32(30), "12.34", "has a secret", "anna@real.org"},
	{2, "Bob", "FR", int32(17), "99.99", "likes tea", "bob@real.org"},
	{3, "Carl", nil, nil, nil, nil, nil},
	{4, "Dora", "DE", int32(16), "0.50", nil, "dora@real.org"},
	{5, "Éva", "AT", int32(40), "-7.49", "top secret", "eva@real.org"},
	{6, "Fritz", "DE", int32(70), nil, "ok", "fritz@real.org"},
}

// whenStream encodes whenRows as the source's binary COPY stream.
func whenStream(t *testing.T, tp *TablePlan) []byte {
	t.Helper()
	cols := ArrowColumns(tp)
	for i := range cols {
		cols[i].Native = true
	}
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, pgarrow.Schema(cols))
	defer b.Release()
	appendAny := func(i int, v any) {
		switch v := v.(type) {
		case nil:
			b.Field(i).AppendNull()
		case string:
			b.Field(i).(*array.StringBuilder).Append(v)
		case int32:
			b.Field(i).(*array.Int32Builder).Append(v)
		}
	}
	for _, r := range whenRows {
		for i, v := range []any{r.id, r.name, r.country, r.age, r.amount, r.notes, r.email} {
			appendAny(i, v)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	enc := pgarrow.NewEncoder(&buf, cols)
	if err := enc.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wireRows decodes a stream into rows of wire values (nil: NULL).
func wireRows(t *testing.T, tp *TablePlan, stream []byte) [][][]byte {
	t.Helper()
	raw := ArrowColumns(&TablePlan{Table: tp.Table, Columns: tp.Columns})
	dec := pgarrow.NewDecoder(bytes.NewReader(stream), raw, memory.NewGoAllocator(), pgarrow.DecoderOptions{})
	var out [][][]byte
	for {
		rec, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([][]byte, rec.NumCols())
			for c := range row {
				if a := rec.Column(c).(*array.Binary); a.IsValid(i) {
					row[c] = append([]byte{}, a.Value(i)...)
				}
			}
			out = append(out, row)
		}
		rec.Release()
	}
}

// A conditional rule rewrites the rows its condition selects and leaves every other row's
// bytes as they were; the condition reads the values the row arrived with, and a template
// still reads the rewritten values of the columns it uses.
func TestWhenRewritesOnlySelectedRows(t *testing.T) {
	tp, err := whenPlan(t, `tables:
  public.customers:
    columns:
      name: {transform: hash, when: "country = 'DE'"}
      amount: {transform: round, digits: 0, when: "age >= 18 AND amount IS NOT NULL"}
      notes: {transform: "null", when: "notes LIKE '%secret%' OR name = 'Bob'"}
      email: {transform: template, template: "{name|lower}@example.com", when: "age >= 18"}
`)
	if err != nil {
		t.Fatal(err)
	}
	in := whenStream(t, tp)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	var out bytes.Buffer
	// Batches of 4 rows: the conditions must hold across batch boundaries too.
	if err := TransformStream(bytes.NewReader(in), &out, tp, RunOptions{Mem: mem, BatchRows: 4}); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	before, after := wireRows(t, tp, in), wireRows(t, tp, out.Bytes())
	if len(after) != len(before) {
		t.Fatalf("%d rows in, %d out", len(before), len(after))
	}
	const (
		cName, cAmount, cNotes, cEmail = 1, 4, 5, 6
	)
	// Which rows each rule must rewrite, by whenRows' ids.
	rewrites := map[int][]int32{
		cName:   {1, 4, 6},
		cAmount: {1, 5},
		cNotes:  {1, 2, 5}, // Bob is selected by his original name
		cEmail:  {1, 5, 6},
	}
	for c, ids := range rewrites {
		for i, r := range whenRows {
			changed := !bytes.Equal(before[i][c], after[i][c]) || (before[i][c] == nil) != (after[i][c] == nil)
			want := contains(ids, r.id)
			if changed != want {
				t.Errorf("row %d column %s: changed %v, want %v (%q → %q)", r.id, tp.Columns[c].Name, changed, want, before[i][c], after[i][c])
			}
		}
	}
	// Columns without rules are byte-identical everywhere.
	for i := range whenRows {
		for _, c := range []int{0, 2, 3} {
			if !bytes.Equal(before[i][c], after[i][c]) {
				t.Errorf("row %d column %s changed", whenRows[i].id, tp.Columns[c].Name)
			}
		}
	}
	// Selected notes are NULL; Dora's adult-only email stays; Anna's email is built from her
	// hashed name, Éva's (not DE) from her real one.
	if after[0][cNotes] != nil || after[1][cNotes] != nil {
		t.Errorf("notes not nulled: %q, %q", after[0][cNotes], after[1][cNotes])
	}
	if got := string(after[0][cEmail]); got != strings.ToLower(string(after[0][cName]))+"@example.com" {
		t.Errorf("Anna's email %q is not built from her new name %q", got, after[0][cName])
	}
	if got := string(after[4][cEmail]); got != "éva@example.com" {
		t.Errorf("Éva's email = %q", got)
	}
}

func contains(list []int32, v int32) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// strictTransformer stands in for a transformer that fails on values it was not written for:
// it fails on any non-NULL value in a row whose id is odd. No built-in transformer can be made
// to fail on a chosen row.
type strictTransformer struct{}

func (strictTransformer) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	ids := rec.Column(0).(*array.Binary)
	in := rec.Column(col)
	for i := 0; i < in.Len(); i++ {
		id := ids.Value(i)
		if in.IsValid(i) && id[len(id)-1]%2 == 1 {
			return nil, fmt.Errorf("saw the value of row %d", id[len(id)-1])
		}
	}
	in.Retain()
	return in, nil
}

// The transformer of a conditional rule sees NULL in every row the condition does not select.
func TestWhenHidesUnselectedRowsFromTheTransformer(t *testing.T) {
	tp, err := whenPlan(t, `tables:
  public.customers:
    columns:
      notes: {transform: "null", when: "id IN (2, 4, 6)"}
`)
	if err != nil {
		t.Fatal(err)
	}
	tp.Rules[0].Transformer = strictTransformer{}
	var out bytes.Buffer
	if err := TransformStream(bytes.NewReader(whenStream(t, tp)), &out, tp, RunOptions{Mem: memory.NewGoAllocator()}); err != nil {
		t.Fatal(err)
	}
	// Without the condition, it does see them: the test can fail.
	tp.Rules[0].When = nil
	err = TransformStream(bytes.NewReader(whenStream(t, tp)), io.Discard, tp, RunOptions{Mem: memory.NewGoAllocator()})
	if err == nil || !strings.Contains(err.Error(), "saw the value") {
		t.Fatalf("without a condition: %v", err)
	}
}

func TestWhenConfigErrors(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{`{transform: hash, when: "contry = 'DE'"}`,
			`w.yaml:4: tables.public.customers.columns.name: when: at character 1: unknown column "contry" (did you mean "country"?)`},
		{`{transform: hash, when: "age = 'x'"}`,
			`w.yaml:4: tables.public.customers.columns.name: when: at character 7: column "age" is of type integer; compare it with an integer, not the string 'x'`},
		{`{transform: hash, when: "country = "}`,
			`w.yaml:4: tables.public.customers.columns.name: when: at character 11: expected a literal: a 'string', a number, TRUE or FALSE, found end of condition`},
		{"{transform: hash, when: [a]}", `when: must be a condition`},
		{"{transform: hash, when: }", `when: must be a condition`},
		{`{transform: keep, when: "age > 1"}`, `w.yaml:4: tables.public.customers.columns.name: when: keep takes no condition`},
		{"{transform: hash,\n        when: \"name > 'M'\"}", `w.yaml:5: tables.public.customers.columns.name: when: at character 1: column "name" is of type text: ordering text (>)`},
	} {
		_, err := whenPlan(t, "tables:\n  public.customers:\n    columns:\n      name: "+tc.rule+"\n")
		var ue *failure.UserError
		if !errors.As(err, &ue) || ue.Code != failure.ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.rule, err, tc.want)
		}
	}
}
