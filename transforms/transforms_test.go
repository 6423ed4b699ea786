package transforms

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"
)

// params parses a rule written as YAML, the way a config file carries it.
func params(t *testing.T, src string) Params {
	t.Helper()
	if src == "" {
		return YAMLParams(nil)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return YAMLParams(doc.Content[0])
}

func testKey(t *testing.T, s string) *Key {
	t.Helper()
	k, err := NewKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// batch builds a one-column record of raw values (nil = NULL) of Arrow type dt.
func batch(mem memory.Allocator, dt arrow.BinaryDataType, vals [][]byte) arrow.Record {
	b := array.NewBinaryBuilder(mem, dt)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(v)
		}
	}
	a := b.NewArray()
	if dt.ID() == arrow.STRING {
		s := array.MakeFromData(a.Data())
		a.Release()
		a = s
	}
	defer a.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "c", Type: dt, Nullable: true}}, nil)
	return array.NewRecord(schema, []arrow.Array{a}, int64(len(vals)))
}

func run(t *testing.T, tr Transformer, mem memory.Allocator, dt arrow.BinaryDataType, vals [][]byte) [][]byte {
	t.Helper()
	rec := batch(mem, dt, vals)
	defer rec.Release()
	out, err := tr.Transform(rec, 0, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.Len() != len(vals) || !arrow.TypeEqual(out.DataType(), dt) {
		t.Fatalf("output has %d values of %s, want %d of %s", out.Len(), out.DataType(), len(vals), dt)
	}
	bc, err := asBytes(out)
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]byte, out.Len())
	for i := range res {
		if !out.IsNull(i) {
			res[i] = append([]byte{}, bc.value(i)...)
		}
	}
	return res
}

func textCol(typeName string, oid uint32, typmod int32) Column {
	return Column{Table: "public.customers", Name: "email", TypeName: typeName, BaseOID: oid, Typmod: typmod}
}

func TestHashIsKeyedAndDeterministic(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key1, key2 := testKey(t, "0123456789abcdef-one"), testKey(t, "0123456789abcdef-two")
	in := [][]byte{[]byte("alice@example.com"), nil, []byte("bob@example.com"), []byte("alice@example.com"), {}}
	mk := func(k *Key, p string) Transformer {
		tr, err := Default().New("hash", Env{Column: textCol("text", pgtype.TextOID, -1), Key: k, Params: params(t, p)})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a := run(t, mk(key1, ""), mem, arrow.BinaryTypes.String, in)
	b := run(t, mk(key1, ""), mem, arrow.BinaryTypes.Binary, in)
	c := run(t, mk(key2, ""), mem, arrow.BinaryTypes.String, in)
	d := run(t, mk(key1, "{transform: hash, domain: other}"), mem, arrow.BinaryTypes.String, in)
	if a[1] != nil {
		t.Errorf("NULL became %q", a[1])
	}
	if !bytes.Equal(a[0], a[3]) {
		t.Errorf("same input, different outputs: %q %q", a[0], a[3])
	}
	if bytes.Equal(a[0], a[2]) {
		t.Errorf("different inputs, same output %q", a[0])
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("row %d: String and raw Binary columns hash differently: %q vs %q", i, a[i], b[i])
		}
		if a[i] != nil && (bytes.Equal(a[i], c[i]) || bytes.Equal(a[i], d[i])) {
			t.Errorf("row %d: another key or domain gave the same output %q", i, a[i])
		}
		if a[i] != nil && (len(a[i]) != defaultHashLength || bytes.Contains(a[i], in[i]) && len(in[i]) > 0) {
			t.Errorf("row %d: output %q is not %d hex characters free of the input", i, a[i], defaultHashLength)
		}
	}
}

func TestHashShapesOutputToColumnType(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-key")
	cases := []struct {
		name  string
		col   Column
		in    []byte
		check func(out []byte) string
	}{
		{"varchar(10) is capped", textCol("character varying(10)", pgtype.VarcharOID, 14), []byte("someone@x.org"),
			func(out []byte) string {
				if len(out) != 10 {
					return "want 10 characters"
				}
				return ""
			}},
		{"uuid keeps version 4 layout", textCol("uuid", pgtype.UUIDOID, -1), bytes.Repeat([]byte{7}, 16),
			func(out []byte) string {
				if len(out) != 16 || out[6]>>4 != 4 || out[8]>>6 != 2 {
					return "not a version 4 uuid"
				}
				return ""
			}},
		{"int4 non-negative", textCol("integer", pgtype.Int4OID, -1), []byte{0, 0, 0, 42},
			func(out []byte) string {
				if len(out) != 4 || int32(binary.BigEndian.Uint32(out)) < 0 {
					return "not a non-negative int4"
				}
				return ""
			}},
		{"int8 non-negative", textCol("bigint", pgtype.Int8OID, -1), []byte{0, 0, 0, 0, 0, 0, 0, 42},
			func(out []byte) string {
				if len(out) != 8 || int64(binary.BigEndian.Uint64(out)) < 0 {
					return "not a non-negative int8"
				}
				return ""
			}},
		{"int2 non-negative", textCol("smallint", pgtype.Int2OID, -1), []byte{0, 42},
			func(out []byte) string {
				if len(out) != 2 || int16(binary.BigEndian.Uint16(out)) < 0 {
					return "not a non-negative int2"
				}
				return ""
			}},
		{"bytea gets 32 bytes", textCol("bytea", pgtype.ByteaOID, -1), []byte{1, 2, 3},
			func(out []byte) string {
				if len(out) != 32 {
					return "not 32 bytes"
				}
				return ""
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Default().New("hash", Env{Column: tc.col, Key: key, Params: params(t, "")})
			if err != nil {
				t.Fatal(err)
			}
			out := run(t, tr, mem, arrow.BinaryTypes.Binary, [][]byte{tc.in})
			if msg := tc.check(out[0]); msg != "" {
				t.Errorf("%x: %s", out[0], msg)
			}
		})
	}
}

func TestHashRefusals(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	cases := []struct {
		name string
		env  Env
		want string
	}{
		{"unsupported type", Env{Column: textCol("inet", 869, -1), Key: key, Params: params(t, "")}, "does not support type inet"},
		{"typo in parameter", Env{Column: textCol("text", pgtype.TextOID, -1), Key: key, Params: params(t, "{transform: hash, lenght: 12}")}, `did you mean "length"`},
		{"length out of range", Env{Column: textCol("text", pgtype.TextOID, -1), Key: key, Params: params(t, "{transform: hash, length: 4}")}, "between 8 and 64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Default().New("hash", tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNullAndConstant(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := [][]byte{[]byte("DE"), nil, []byte("FR")}
	nt, err := Default().New("null", Env{Column: textCol("text", pgtype.TextOID, -1), Params: params(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range run(t, nt, mem, arrow.BinaryTypes.Binary, in) {
		if v != nil {
			t.Errorf("null: row %d kept %q", i, v)
		}
	}
	if _, err := Default().New("null", Env{Column: Column{Name: "id", NotNull: true}, Params: params(t, "")}); err == nil {
		t.Error("null accepted a NOT NULL column")
	}

	literal := func(s string) ([]byte, error) { return []byte("wire:" + s), nil }
	ct, err := Default().New("constant", Env{Column: textCol("text", pgtype.TextOID, -1), Literal: literal,
		Params: params(t, `{transform: constant, value: "US"}`)})
	if err != nil {
		t.Fatal(err)
	}
	raw := run(t, ct, mem, arrow.BinaryTypes.Binary, in)
	txt := run(t, ct, mem, arrow.BinaryTypes.String, in)
	if string(raw[0]) != "wire:US" || raw[1] != nil || string(raw[2]) != "wire:US" {
		t.Errorf("constant on raw column gave %q", raw)
	}
	if string(txt[0]) != "US" || txt[1] != nil {
		t.Errorf("constant on text column gave %q", txt)
	}
	fill, err := Default().New("constant", Env{Column: textCol("text", pgtype.TextOID, -1), Literal: literal,
		Params: params(t, `{transform: constant, value: "US", keep_null: false}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := run(t, fill, mem, arrow.BinaryTypes.String, in); string(got[1]) != "US" {
		t.Errorf("keep_null: false left NULL: %q", got)
	}
	bad := func(string) ([]byte, error) { return nil, errors.New("value too long for type character(2)") }
	_, err = Default().New("constant", Env{Column: textCol("character(2)", pgtype.BPCharOID, 6), Literal: bad,
		Params: params(t, `{transform: constant, value: "USA"}`)})
	if err == nil || !strings.Contains(err.Error(), `"USA" is not a valid character(2)`) {
		t.Errorf("bad constant: %v", err)
	}
	if _, err := Default().New("constant", Env{Column: textCol("text", pgtype.TextOID, -1), Literal: literal, Params: params(t, "")}); err == nil {
		t.Error("constant without a value accepted")
	}
}

func TestRegistry(t *testing.T) {
	_, err := Default().New("hsah", Env{})
	var unknown *UnknownError
	if !errors.As(err, &unknown) || unknown.Suggest != "hash" {
		t.Fatalf("unknown transformer error %v, want a suggestion of hash", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a duplicate name did not panic")
		}
	}()
	r := NewRegistry()
	r.Register(Entry{Name: "x"})
	r.Register(Entry{Name: "x"})
}

func TestKeyNeverPrints(t *testing.T) {
	k := testKey(t, "super-secret-value-123")
	for _, s := range []string{k.String(), k.GoString(), k.Fingerprint()} {
		if strings.Contains(s, "super-secret") {
			t.Errorf("key leaked: %q", s)
		}
	}
	if _, err := NewKey("short"); err == nil {
		t.Error("short key accepted")
	}
	if k.Fingerprint() == testKey(t, "super-secret-value-124").Fingerprint() {
		t.Error("different keys share a fingerprint")
	}
}

func BenchmarkHashText(b *testing.B) {
	mem := memory.NewGoAllocator()
	key, _ := NewKey("0123456789abcdef-bench")
	tr, err := Default().New("hash", Env{Column: textCol("text", pgtype.TextOID, -1), Key: key, Params: YAMLParams(nil)})
	if err != nil {
		b.Fatal(err)
	}
	vals := make([][]byte, 8192)
	for i := range vals {
		vals[i] = []byte("someone.somewhere" + strings.Repeat("x", i%20) + "@example.com")
	}
	rec := batch(mem, arrow.BinaryTypes.String, vals)
	defer rec.Release()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := tr.Transform(rec, 0, mem)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
}

func TestUniqueColumnsRefuseCollidingRules(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	uniq := func(typeName string, oid uint32, typmod int32) Column {
		return Column{Table: "public.t", Name: "c", TypeName: typeName, BaseOID: oid, Typmod: typmod, Unique: true}
	}
	literal := func(s string) ([]byte, error) { return []byte(s), nil }
	refused := []struct {
		rule, params string
		col          Column
	}{
		{"constant", `{transform: constant, value: "x"}`, uniq("text", pgtype.TextOID, -1)},
		{"hash", "", uniq("integer", pgtype.Int4OID, -1)},
		{"hash", "", uniq("character varying(16)", pgtype.VarcharOID, 20)},
		{"hash", "{transform: hash, length: 16}", uniq("text", pgtype.TextOID, -1)},
	}
	for _, r := range refused {
		if _, err := Default().New(r.rule, Env{Column: r.col, Key: key, Literal: literal, Params: params(t, r.params)}); err == nil {
			t.Errorf("%s %s accepted unique column %s", r.rule, r.params, r.col.TypeName)
		}
	}
	for _, c := range []Column{uniq("text", pgtype.TextOID, -1), uniq("uuid", pgtype.UUIDOID, -1)} {
		tr, err := Default().New("hash", Env{Column: c, Key: key, Params: params(t, "")})
		if err != nil {
			t.Fatalf("hash refused unique %s: %v", c.TypeName, err)
		}
		if u, ok := tr.(UniqueSafe); !ok || !u.UniqueSafe() {
			t.Errorf("hash on unique %s does not claim uniqueness", c.TypeName)
		}
	}
}

// A million distinct emails hash to a million distinct values.
func TestHashKeepsAMillionValuesUnique(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-key")
	c := textCol("text", pgtype.TextOID, -1)
	c.Unique = true
	tr, err := Default().New("hash", Env{Column: c, Key: key, Params: params(t, "{transform: hash, length: 24}")})
	if err != nil {
		t.Fatal(err)
	}
	vals := make([][]byte, 1_000_000)
	for i := range vals {
		vals[i] = []byte("user" + strconv.Itoa(i) + "@example.com")
	}
	seen := make(map[string]struct{}, len(vals))
	for _, o := range run(t, tr, mem, arrow.BinaryTypes.String, vals) {
		if _, dup := seen[string(o)]; dup {
			t.Fatalf("collision on %q", o)
		}
		seen[string(o)] = struct{}{}
	}
}

// hash on text is a text rule, so it works inside json documents and array elements, with
// the same output as on a text column (the registry's own example uses it there).
func TestHashInsideJSONAndArrays(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-hash-json")
	plain, err := Default().New("hash", Env{Column: textCol("text", pgtype.TextOID, -1), Key: key, Params: params(t, "{transform: hash, length: 8}")})
	if err != nil {
		t.Fatal(err)
	}
	want := run(t, plain, mem, arrow.BinaryTypes.String, [][]byte{[]byte("alice@example.com")})[0]
	if len(want) != 8 {
		t.Fatalf("hash length 8 gave %q", want)
	}
	js, err := Default().New("json", Env{Column: textCol("jsonb", pgtype.JSONBOID, -1), Key: key,
		Params: params(t, `{transform: json, paths: {"$.email": {transform: hash, length: 8}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, js, mem, arrow.BinaryTypes.Binary, [][]byte{[]byte("\x01{\"email\": \"alice@example.com\", \"n\": 1}")})[0]
	if string(got) != "\x01{\"email\": \""+string(want)+"\", \"n\": 1}" {
		t.Errorf("json with a hash path gave %q, want the e-mail replaced by %q", got, want)
	}
	if _, err := Default().New("array", Env{Column: textCol("text[]", pgtype.TextArrayOID, -1), Key: key,
		Params: params(t, "{transform: array, element: {transform: hash, length: 8}}")}); err != nil {
		t.Errorf("array of hash: %v", err)
	}
}

// The two rules that draw nothing: a batch costs a builder, nothing per value.
func BenchmarkNullAndConstant(b *testing.B) {
	mem := memory.NewGoAllocator()
	vals := make([][]byte, 8192)
	for i := range vals {
		vals[i] = []byte("customer note " + strconv.Itoa(i))
	}
	rec := batch(mem, arrow.BinaryTypes.Binary, vals)
	defer rec.Release()
	literal := func(s string) ([]byte, error) { return []byte(s), nil }
	for _, rule := range []string{"null", `{transform: constant, value: "US"}`} {
		var doc yaml.Node
		yaml.Unmarshal([]byte(rule), &doc)
		name := doc.Content[0].Value
		p := YAMLParams(nil)
		if doc.Content[0].Kind == yaml.MappingNode {
			name, p = "constant", YAMLParams(doc.Content[0])
		}
		tr, err := Default().New(name, Env{Column: textCol("text", pgtype.TextOID, -1), Literal: literal, Params: p})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				out, err := tr.Transform(rec, 0, mem)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
		})
	}
}
