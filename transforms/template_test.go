package transforms

import (
	"encoding/binary"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"
)

// tplColumn is one column of a test batch: its name, its values (nil = NULL; string for text,
// int64 for integers, []byte for raw wire bytes or fixed-size binary) and, for raw columns,
// the type the codec records in the field's metadata.
type tplColumn struct {
	name string
	dt   arrow.DataType
	oid  uint32 // 0: no metadata
	typ  string
	vals []any
}

func tplRecord(t testing.TB, mem memory.Allocator, cols ...tplColumn) arrow.Record {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.dt, Nullable: true}
		if c.oid != 0 {
			fields[i].Metadata = arrow.NewMetadata([]string{"pg.oid", "pg.type"}, []string{strconv.Itoa(int(c.oid)), c.typ})
		}
		b := array.NewBuilder(mem, c.dt)
		for _, v := range c.vals {
			switch v := v.(type) {
			case nil:
				b.AppendNull()
			case string:
				switch b := b.(type) {
				case *array.StringBuilder:
					b.Append(v)
				case *array.BinaryBuilder:
					b.Append([]byte(v))
				}
			case []byte:
				switch b := b.(type) {
				case *array.BinaryBuilder:
					b.Append(v)
				case *array.FixedSizeBinaryBuilder:
					b.Append(v)
				}
			case int64:
				switch b := b.(type) {
				case *array.Int16Builder:
					b.Append(int16(v))
				case *array.Int32Builder:
					b.Append(int32(v))
				case *array.Int64Builder:
					b.Append(v)
				}
			}
		}
		arrs[i] = b.NewArray()
		b.Release()
		if arrs[i].Len() != len(c.vals) {
			t.Fatalf("column %s: %d of %d values built", c.name, arrs[i].Len(), len(c.vals))
		}
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), arrs, int64(arrs[0].Len()))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// tplRun applies tr to column 0 of rec and returns the texts (nil = NULL).
func tplRun(t *testing.T, tr Transformer, rec arrow.Record, mem memory.Allocator) []*string {
	t.Helper()
	out, err := tr.Transform(rec, 0, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.Len() != int(rec.NumRows()) || !arrow.TypeEqual(out.DataType(), rec.Column(0).DataType()) {
		t.Fatalf("output has %d values of %s", out.Len(), out.DataType())
	}
	bc, _ := asBytes(out)
	res := make([]*string, out.Len())
	for i := range res {
		if !out.IsNull(i) {
			s := string(bc.value(i))
			res[i] = &s
		}
	}
	return res
}

func tplStr(s string) *string { return &s }

func tplShow(p *string) string {
	if p == nil {
		return "NULL"
	}
	return strconv.Quote(*p)
}

func tplCol(typeName string, oid uint32, typmod int32, unique bool) Column {
	return Column{Table: "public.people", Name: "email", TypeName: typeName, BaseOID: oid, Typmod: typmod, Unique: unique}
}

var tplText = tplCol("text", pgtype.TextOID, -1, false)

// tplNew builds a template rule; tmpl is the template itself, or a whole YAML rule when it
// starts with "{template:".
func tplNew(t testing.TB, col Column, key *Key, tmpl string) Transformer {
	t.Helper()
	if strings.HasPrefix(tmpl, "{template:") {
		return shapeNew(t, "template", col, key, shapeParamsTB(t, tmpl))
	}
	node := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "template"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: tmpl}}}
	return shapeNew(t, "template", col, key, YAMLParams(node))
}

func tplExpect(t *testing.T, got []*string, want []*string) {
	t.Helper()
	for i := range want {
		if (got[i] == nil) != (want[i] == nil) || got[i] != nil && *got[i] != *want[i] {
			t.Errorf("row %d: %s, want %s", i, tplShow(got[i]), tplShow(want[i]))
		}
	}
}

// The template reads other columns of the row, lower- or upper-cased on request; a NULL
// column read renders as empty; the column's own NULL stays NULL; braces are written
// doubled.
func TestTemplateReadsOtherColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, dt := range []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.Binary} {
		rec := tplRecord(t, mem,
			tplColumn{name: "email", dt: dt, vals: []any{"a@x", "b@x", nil, "d@x", "e@x", "f@x"}},
			tplColumn{name: "first_name", dt: dt, vals: []any{"Émile", "ANNE", "Jo", nil, "\xffA", "Ørsted"}},
			tplColumn{name: "last_name", dt: dt, vals: []any{"Zola", "o'neil", "Doe", "Doe", "b", "dvořák"}},
		)
		tr := tplNew(t, tplText, nil, "{first_name|lower}.{last_name|upper}@example.com")
		tplExpect(t, tplRun(t, tr, rec, mem), []*string{
			tplStr("émile.ZOLA@example.com"), tplStr("anne.O'NEIL@example.com"), nil,
			tplStr(".DOE@example.com"), tplStr("\xffa.B@example.com"), tplStr("ørsted.DVOŘÁK@example.com"),
		})
		tr = tplNew(t, tplText, nil, "{{{ first_name }}}-{first_name|upper}{{x}}{ last_name | lower }")
		tplExpect(t, tplRun(t, tr, rec, mem), []*string{
			tplStr("{Émile}-ÉMILE{x}zola"), tplStr("{ANNE}-ANNE{x}o'neil"), nil,
			tplStr("{}-{x}doe"), tplStr("{\xffA}-\xffA{x}b"), tplStr("{Ørsted}-ØRSTED{x}dvořák"),
		})
		rec.Release()
	}
	tr := tplNew(t, tplText, testKey(t, "0123456789abcdef-key"), "{a}{b|lower}{a|upper}-{#}-{c}")
	if r, ok := tr.(RowReader); !ok || strings.Join(r.Reads(), ",") != "a,b,c" {
		t.Errorf("Reads() = %v, want [a b c]", tr.(RowReader).Reads())
	}
	if r := tplNew(t, tplText, nil, "static"); len(r.(RowReader).Reads()) != 0 {
		t.Errorf("a template of no column reads %v", r.(RowReader).Reads())
	}
}

// Integer, uuid and char(n) columns render as PostgreSQL prints them, from native arrays or
// raw wire bytes (told apart by the codec's field metadata).
func TestTemplateRendersColumnTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	u := []byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00}
	be16 := binary.BigEndian.AppendUint16(nil, uint16(0xffff)) // -1
	be32 := binary.BigEndian.AppendUint32(nil, uint32(1<<31))  // -2147483648
	be64 := binary.BigEndian.AppendUint64(nil, 9223372036854775807)
	rec := tplRecord(t, mem,
		tplColumn{name: "own", dt: arrow.BinaryTypes.Binary, vals: []any{"x", "y"}},
		tplColumn{name: "n", dt: arrow.PrimitiveTypes.Int64, vals: []any{int64(42), int64(-7)}},
		tplColumn{name: "s", dt: arrow.PrimitiveTypes.Int16, vals: []any{int64(-32768), nil}},
		tplColumn{name: "w2", dt: arrow.BinaryTypes.Binary, oid: pgtype.Int2OID, typ: "smallint", vals: []any{be16, nil}},
		tplColumn{name: "w4", dt: arrow.BinaryTypes.Binary, oid: pgtype.Int4OID, typ: "integer", vals: []any{be32, nil}},
		tplColumn{name: "w8", dt: arrow.BinaryTypes.Binary, oid: pgtype.Int8OID, typ: "bigint", vals: []any{be64, nil}},
		tplColumn{name: "u", dt: &arrow.FixedSizeBinaryType{ByteWidth: 16}, vals: []any{u, nil}},
		tplColumn{name: "uw", dt: arrow.BinaryTypes.Binary, oid: pgtype.UUIDOID, typ: "uuid", vals: []any{u, nil}},
		tplColumn{name: "ch", dt: arrow.BinaryTypes.Binary, oid: pgtype.BPCharOID, typ: "character(6)", vals: []any{"ab    ", "  c   "}},
		tplColumn{name: "ci", dt: arrow.BinaryTypes.Binary, oid: 90001, typ: "public.citext", vals: []any{"MiXeD", ""}},
	)
	defer rec.Release()
	tr := tplNew(t, tplCol("text", pgtype.TextOID, -1, false), nil, "{n}|{s}|{w2}|{w4}|{w8}|{u}|{uw|upper}|{ch}|{ch|upper}|{ci|lower}")
	tplExpect(t, tplRun(t, tr, rec, mem), []*string{
		tplStr("42|-32768|-1|-2147483648|9223372036854775807|123e4567-e89b-12d3-a456-426614174000|123e4567-e89b-12d3-a456-426614174000|ab|AB|mixed"),
		tplStr("-7|||||||  c|  C|"),
	})
}

// A column the template cannot render, or cannot find, is an error naming it.
func TestTemplateSourceErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := tplRecord(t, mem,
		tplColumn{name: "own", dt: arrow.BinaryTypes.Binary, vals: []any{"x", "y"}},
		tplColumn{name: "f", dt: arrow.PrimitiveTypes.Float64, vals: []any{nil, nil}},
		tplColumn{name: "num", dt: arrow.BinaryTypes.Binary, oid: pgtype.NumericOID, typ: "numeric", vals: []any{"1", "2"}},
		tplColumn{name: "w4", dt: arrow.BinaryTypes.Binary, oid: pgtype.Int4OID, typ: "integer", vals: []any{"\x00\x00\x01", nil}},
	)
	defer rec.Release()
	for _, tc := range []struct{ tmpl, want string }{
		{"{f}", "column f is float64: a template reads text, integer and uuid columns"},
		{"{num}", "column num is numeric: a template reads text, integer and uuid columns"},
		{"{w4}", "row 0 of the batch, column w4: an integer of 3 bytes, want 4"},
		{"{missing}", `the batch has no column "missing"`},
	} {
		out, err := tplNew(t, tplText, nil, tc.tmpl).Transform(rec, 0, mem)
		if err == nil {
			out.Release()
			t.Errorf("%s: no error", tc.tmpl)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q, want %q", tc.tmpl, err, tc.want)
		}
	}
}

// {#} is a keyed discriminator of the column's own value: 12 base32 characters, or 20 on a
// unique column; the same own value gives the same one whatever else the row holds, on String
// and raw columns alike; another key or domain gives another.
func TestTemplateDiscriminator(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key1, key2 := testKey(t, "0123456789abcdef-one"), testKey(t, "0123456789abcdef-two")
	mk := func(dt arrow.DataType) arrow.Record {
		return tplRecord(t, mem,
			tplColumn{name: "email", dt: dt, vals: []any{"alice@corp", "bob@corp", "alice@corp", nil}},
			tplColumn{name: "first_name", dt: dt, vals: []any{"Alice", "Alice", "Alicia", "Al"}},
		)
	}
	str, raw := mk(arrow.BinaryTypes.String), mk(arrow.BinaryTypes.Binary)
	defer str.Release()
	defer raw.Release()
	disc := func(s *string, prefix string, n int) string {
		t.Helper()
		if s == nil || !strings.HasPrefix(*s, prefix) || len(*s) != len(prefix)+n+len("@example.com") {
			t.Fatalf("%s does not read %s + %d characters + @example.com", tplShow(s), prefix, n)
		}
		d := (*s)[len(prefix) : len(prefix)+n]
		if strings.Trim(d, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("discriminator %q is not lower-case base32", d)
		}
		return d
	}
	tmpl := "{first_name|lower}.{#}@example.com"
	for _, tc := range []struct {
		col Column
		n   int
	}{{tplText, 12}, {tplCol("text", pgtype.TextOID, -1, true), 20}} {
		a := tplRun(t, tplNew(t, tc.col, key1, tmpl), str, mem)
		r := tplRun(t, tplNew(t, tc.col, key1, tmpl), raw, mem)
		b := tplRun(t, tplNew(t, tc.col, key2, tmpl), str, mem)
		c := tplRun(t, tplNew(t, tc.col, key1, "{template: \""+tmpl+"\", domain: people}"), str, mem)
		d0, d1, d2 := disc(a[0], "alice.", tc.n), disc(a[1], "alice.", tc.n), disc(a[2], "alicia.", tc.n)
		if d0 != d2 {
			t.Errorf("unique %v: the same own value got %q and %q", tc.col.Unique, d0, d2)
		}
		if d0 == d1 {
			t.Errorf("unique %v: alice@corp and bob@corp share %q", tc.col.Unique, d0)
		}
		if a[3] != nil {
			t.Errorf("NULL became %s", tplShow(a[3]))
		}
		for i := 0; i < 3; i++ {
			if *a[i] != *r[i] {
				t.Errorf("String and raw columns differ: %s %s", tplShow(a[i]), tplShow(r[i]))
			}
			if *a[i] == *b[i] || *a[i] == *c[i] {
				t.Errorf("another key or domain kept %s", tplShow(a[i]))
			}
		}
		if u, ok := tplNew(t, tc.col, key1, tmpl).(UniqueSafe); !ok || u.UniqueSafe() != tc.col.Unique {
			t.Errorf("unique %v: UniqueSafe is not %v", tc.col.Unique, tc.col.Unique)
		}
	}
}

// On a unique column, {#} keeps a million rows unique even when everything else in the
// template is the same in most of them.
func TestTemplateKeepsAMillionRowsUnique(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tr := tplNew(t, tplCol("character varying(60)", pgtype.VarcharOID, 64, true), testKey(t, "0123456789abcdef-key"),
		"{first_name|lower}.{#}@example.com")
	names := []any{"Anne", "Bob", "Carla", "Dan", "Eve"}
	const total, per = 1_000_000, 100_000
	sums := make([][16]byte, 0, total)
	own, first := make([]any, per), make([]any, per)
	for start := 0; start < total; start += per {
		for i := range own {
			own[i] = "user" + strconv.Itoa(start+i) + "@corp.example"
			first[i] = names[(start+i)%len(names)]
		}
		rec := tplRecord(t, mem,
			tplColumn{name: "email", dt: arrow.BinaryTypes.Binary, vals: own},
			tplColumn{name: "first_name", dt: arrow.BinaryTypes.Binary, vals: first})
		out, err := tr.Transform(rec, 0, mem)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		bc, _ := asBytes(out)
		h := fnv.New128a()
		for i := 0; i < out.Len(); i++ {
			h.Reset()
			h.Write(bc.value(i))
			var s [16]byte
			h.Sum(s[:0])
			sums = append(sums, s)
		}
		out.Release()
	}
	slices.SortFunc(sums, func(a, b [16]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	for i := 1; i < len(sums); i++ {
		if sums[i] == sums[i-1] {
			t.Fatalf("two of %d rows got the same value", total)
		}
	}
}

// varchar(n): a value past n characters is cut, unless the column is unique, where a cut
// could remove the discriminator: that is an error saying so.
func TestTemplateLength(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-key")
	rec := tplRecord(t, mem,
		tplColumn{name: "code", dt: arrow.BinaryTypes.String, vals: []any{"1", "2"}},
		tplColumn{name: "name", dt: arrow.BinaryTypes.String, vals: []any{"Zoë", "Bartholomew"}},
	)
	defer rec.Release()
	tplExpect(t, tplRun(t, tplNew(t, tplCol("character varying(6)", pgtype.VarcharOID, 10, false), nil, "<{name}>"), rec, mem),
		[]*string{tplStr("<Zoë>"), tplStr("<Barth")})
	tr := tplNew(t, tplCol("character varying(24)", pgtype.VarcharOID, 28, true), key, "{name}{#}")
	out, err := tr.Transform(rec, 0, mem)
	if err == nil {
		out.Release()
		t.Fatal("a unique value past varchar(24) was cut")
	}
	if !strings.Contains(err.Error(), "row 1") || !strings.Contains(err.Error(), "31 characters, more than the column's 24") {
		t.Errorf("error %q", err)
	}
}

func TestTemplateRefusals(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	uniq := tplCol("text", pgtype.TextOID, -1, true)
	for _, tc := range []struct {
		col  Column
		key  *Key
		p    string
		want string
	}{
		{shapeInt4Col, key, "{template: x}", "column type integer does not take it"},
		{tplText, key, "", "template needs template"},
		{tplText, key, `{template: ""}`, "template needs template"},
		{tplText, key, `{template: "{a"}`, "the { at byte 0 is not closed (write {{ for a brace)"},
		{tplText, key, `{template: "x{a{b}}"}`, "the { at byte 1 is not closed"},
		{tplText, key, `{template: "a}b"}`, "a } at byte 1 closes nothing (write }} for a brace)"},
		{tplText, key, `{template: "{a|title}"}`, `unknown filter "title" (use lower or upper)`},
		{tplText, key, `{template: "{#|lower}"}`, "{#} takes no filter"},
		{tplText, key, `{template: "{}"}`, "{} names no column"},
		{tplText, key, `{template: "{ |lower}"}`, "{} names no column"},
		{uniq, key, `{template: "{first_name}@example.com"}`, "column email is unique and two rows can build the same text; add {#}"},
		{tplText, nil, `{template: "{#}"}`, "{#}: template is keyed"},
		{tplCol("character varying(19)", pgtype.VarcharOID, 23, true), key, `{template: "{#}"}`, "holds 19 characters, too few for the 20-character discriminator"},
		{tplText, key, "{template: x, tempalte: y}", `did you mean "template"`},
	} {
		if got := shapeErr(t, "template", tc.col, tc.key, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
	// Without {#} the template draws nothing and needs no key.
	tplNew(t, tplText, nil, "{first_name}")
}

func BenchmarkTemplate(b *testing.B) {
	mem := memory.NewGoAllocator()
	key, _ := NewKey("0123456789abcdef-bench")
	own, first, last := make([]any, 8192), make([]any, 8192), make([]any, 8192)
	for i := range own {
		own[i] = "user" + strconv.Itoa(i) + "@corp.example"
		first[i] = []string{"Anne", "Bob", "Émile", "Dan"}[i%4]
		last[i] = []string{"Smith", "Jones", "Zola"}[i%3]
	}
	rec := tplRecord(b, mem,
		tplColumn{name: "email", dt: arrow.BinaryTypes.Binary, oid: pgtype.TextOID, typ: "text", vals: own},
		tplColumn{name: "first_name", dt: arrow.BinaryTypes.Binary, oid: pgtype.TextOID, typ: "text", vals: first},
		tplColumn{name: "last_name", dt: arrow.BinaryTypes.Binary, oid: pgtype.TextOID, typ: "text", vals: last})
	defer rec.Release()
	tr := tplNew(b, tplCol("text", pgtype.TextOID, -1, true), key, "{first_name|lower}.{last_name|lower}.{#}@example.com")
	shapeBenchRec(b, tr, rec, 0)
}
