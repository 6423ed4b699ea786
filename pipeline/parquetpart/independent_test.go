package parquetpart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// readerColumns is the table the independent reader reads: its DDL type, and the SQL that
// gives each value as testdata/read-part.mjs prints it (NULL for NULL), so that the server,
// not this package, says what the reader must see. cmp says how to compare: "" exactly,
// "f4"/"f8" as floats of that width (a JavaScript number prints differently from PostgreSQL).
var readerColumns = []struct {
	name, typ, want, cmp string
}{
	{"id", "int4", "id::text", ""},
	{"i2", "int2", "i2::text", ""},
	{"i8", "int8", "i8::text", ""},
	{"o", "oid", "o::text", ""},
	{"f4", "float4", "f4::text", "f4"},
	{"f8", "float8", "f8::text", "f8"},
	{"b", "bool", "b::text", ""},
	{"tx", "text", "tx", ""},
	{"vc", "varchar(20)", "vc", ""},
	{"ch", "char(4)", "ch", ""}, // bpchar's output keeps the padding, as the part does
	{"ba", "bytea", "encode(ba, 'hex')", ""},
	{"u", "uuid", "replace(u::text, '-', '')", ""},
	{"d", "date", "CASE WHEN d = 'infinity' THEN '2147483647' WHEN d = '-infinity' THEN '-2147483648' ELSE (d - date '1970-01-01')::text END", ""},
	{"ts", "timestamp", "CASE WHEN ts = 'infinity' THEN '9223372036854775807' WHEN ts = '-infinity' THEN '-9223372036854775808' ELSE (extract(epoch FROM ts) * 1000000)::int8::text END", ""},
	{"tstz", "timestamptz", "CASE WHEN tstz = 'infinity' THEN '9223372036854775807' WHEN tstz = '-infinity' THEN '-9223372036854775808' ELSE (extract(epoch FROM tstz) * 1000000)::int8::text END", ""},
	{"tm", "time", "(extract(epoch FROM tm) * 1000000)::int8::text", ""},
	{"n", "numeric", "n::text", ""},
	{"n2", "numeric(10,2)", "n2::text", ""},
	{"j", "json", "j::text", ""},
	{"jb", "jsonb", "jb::text", ""},
	// Raw columns: the reader sees PostgreSQL's binary send form, as bytes.
	{"iv", "interval", "encode(interval_send(iv), 'hex')", ""},
	{"ia", "int4[]", "encode(array_send(ia), 'hex')", ""},
}

const readerRows = `
(1, 1, -9223372036854775808, 4294967295, 0.1, 0.1, true, 'héllo wörld ☃ 🎉 日本語', 'abc', 'ab', '\x00ff',
 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789012+05:30',
 '23:59:59.999999', '-123.4500', 12.5, '{"a": [1, 2, {"b": null}], "c": "☃"}', '{"z": 1, "a": [true, null]}', '1 day 2 hours', '{1,NULL,3}'),
(2, -32768, 9223372036854775807, 0, 'NaN', 'Infinity', false, E'tab\there\nnew line \\ backslash', '', '', '\x',
 '00000000-0000-0000-0000-000000000000', 'infinity', 'infinity', '-infinity',
 '24:00:00', 'NaN', -99999999.99, '[]', '"x"', '-178000000 years', '{}'),
(3, 32767, 0, 1, '-Infinity', '-0', true, '', 'x', 'abcd', '\xdeadbeef',
 'ffffffff-ffff-ffff-ffff-ffffffffffff', '-infinity', '-infinity', 'infinity',
 '00:00', 'Infinity', 0, '  [ 1 ,2 ]  ', '{}', '1 mon -1 day 00:00:00.000001', '{{1,2},{3,4}}'),
(4, 0, 1, 2, '3.4028235e38', '1e-300', false, 'Ωmega', 'ü', 'ü', '\x00',
 '123e4567-e89b-12d3-a456-426614174000', '4713-01-01 BC', '0001-01-01 00:00:00', '1969-12-31 23:59:59.999999+00',
 '12:00', '-0.000000001', -0.5, 'null', 'null', '0', '{-1}'),
(5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`

// An independent Parquet reader (hyparquet, JavaScript) reads a part and sees the column names
// and the values the server holds, for every native type; raw columns read as their wire bytes.
func TestIndependentReaderSeesTheValues(t *testing.T) {
	node, modules := independentReader(t)
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	var ddl, names, wants []string
	for _, c := range readerColumns {
		ddl = append(ddl, c.name+" "+c.typ)
		names = append(names, c.name)
		wants = append(wants, c.want)
	}
	pgtest.Exec(t, conn, "SET TimeZone = 'UTC'; CREATE TABLE t ("+strings.Join(ddl, ", ")+")")
	pgtest.Exec(t, conn, "INSERT INTO t VALUES "+readerRows)
	// Enough rows for several row groups, dictionary pages and a fallback to plain.
	pgtest.Exec(t, conn, `INSERT INTO t (id, i8, f8, tx, vc, u, d, ts, tstz, n, jb, iv)
SELECT g, g::int8 * 1000003, g / 7.0, 'row ' || g || ' ☃', (g % 10)::text, md5(g::text)::uuid, date '2000-01-01' + g,
       timestamp '2000-01-01' + g * interval '1 second', timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute',
       g * 1.01, jsonb_build_object('g', g), g * interval '1 second'
FROM generate_series(100, 5099) g`)

	ctx := context.Background()
	var stream bytes.Buffer
	if _, err := conn.PgConn().CopyTo(ctx, &stream, "COPY t TO STDOUT (FORMAT binary)"); err != nil {
		t.Fatal(err)
	}
	cols := tableColumns(t, conn, "t")
	mem := checkedMem(t)
	parts, ws := writeParts(t, stream.Bytes(), cols, false, parquetpart.Options{Mem: mem, RowGroupRows: 1500})
	if len(parts) != 1 || parts[0].RowGroups < 3 {
		t.Fatalf("parts %+v, want one of several row groups", parts)
	}
	path := filepath.Join(t.TempDir(), "part-00000.parquet")
	if err := os.WriteFile(path, ws[0].Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "read-part.mjs"), path)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node read-part.mjs: %v\n%s", err, stderr.String())
	}
	var got struct {
		Columns []struct {
			Name    string
			Type    string
			Logical map[string]any
		}
		Metadata map[string]string
		Rows     []map[string]any
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode the reader's output: %v", err)
	}

	// The schema as the other reader sees it.
	if len(got.Columns) != len(readerColumns) {
		t.Fatalf("the reader sees %d columns, want %d", len(got.Columns), len(readerColumns))
	}
	for i, c := range got.Columns {
		if c.Name != readerColumns[i].name {
			t.Errorf("column %d: the reader sees %q, want %q", i, c.Name, readerColumns[i].name)
		}
	}
	logical := map[string]string{"ts": "TIMESTAMP false", "tstz": "TIMESTAMP true", "u": "UUID", "d": "DATE", "tx": "STRING", "n": "STRING"}
	for _, c := range got.Columns {
		want, ok := logical[c.Name]
		if !ok {
			continue
		}
		have := fmt.Sprint(c.Logical["type"])
		if adj, ok := c.Logical["isAdjustedToUTC"]; ok {
			have += fmt.Sprint(" ", adj)
		}
		if have != want {
			t.Errorf("column %s: logical type %v, want %s", c.Name, c.Logical, want)
		}
	}
	if got.Metadata[parquetpart.MetaFormat] != "1" || got.Metadata[parquetpart.MetaCopyFormat] != "binary" {
		t.Errorf("the reader sees key-value metadata %v", got.Metadata)
	}

	// Every value, against the server's.
	rows, err := conn.Query(ctx, "SELECT "+strings.Join(wants, ", ")+" FROM t")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]*string{}
	for rows.Next() {
		vals := make([]*string, len(readerColumns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		want[*vals[0]] = vals
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("the reader sees %d rows, the table has %d", len(got.Rows), len(want))
	}
	bad := 0
	for _, r := range got.Rows {
		id := jsonString(r["id"])
		w, ok := want[id]
		if !ok {
			t.Fatalf("the reader sees id %q, which the table does not have", id)
		}
		for i, c := range readerColumns {
			g := r[c.name]
			if !sameValue(g, w[i], c.cmp) {
				if bad++; bad <= 20 {
					t.Errorf("id %s column %s: the reader sees %v, the server says %s", id, c.name, g, deref(w[i]))
				}
			}
		}
	}
	_, n := readPart(t, ws[0].Bytes(), cols, false, parquetpart.Options{Mem: mem})
	if n != int64(len(want)) {
		t.Errorf("ReadPart: %d rows, want %d", n, len(want))
	}
}

// tableColumns reads a table's columns from the catalog, as understudy does.
func tableColumns(t testing.TB, conn *pgx.Conn, table string) []pgarrow.Column {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
SELECT a.attname, a.atttypid, CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE a.atttypid END,
       format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, table)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgarrow.Column, error) {
		var c pgarrow.Column
		return c, r.Scan(&c.Name, &c.TypeOID, &c.BaseOID, &c.TypeName)
	})
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

// independentReader finds node and the packages scripts/npm-deps.sh installs. Without them
// the test is skipped, or fails under CI=true.
func independentReader(t *testing.T) (node, modules string) {
	t.Helper()
	missing := func(what string) {
		msg := what + ": the independent Parquet reader needs node and the npm packages hyparquet and hyparquet-compressors; run scripts/npm-deps.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found")
	}
	modules = filepath.Join(pgtest.RepoRoot(t), ".cache", "npm", "node_modules")
	for _, p := range []string{"hyparquet", "hyparquet-compressors"} {
		if _, err := os.Stat(filepath.Join(modules, p, "package.json")); err != nil {
			missing(p + " not found in " + modules)
		}
	}
	return node, modules
}

// jsonString is a JSON value as the text the server would give for it.
func jsonString(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case map[string]any:
		if h, ok := v["hex"].(string); ok && len(v) == 1 {
			return h
		}
	}
	return fmt.Sprintf("%#v", v)
}

// sameValue compares what the reader printed with what the server says.
func sameValue(got any, want *string, cmp string) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	g := jsonString(got)
	switch cmp {
	case "f8":
		a, err1 := strconv.ParseFloat(g, 64)
		b, err2 := strconv.ParseFloat(*want, 64)
		return err1 == nil && err2 == nil && (math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b))
	case "f4":
		a, err1 := strconv.ParseFloat(g, 64) // a float32 widened to a JavaScript number
		b, err2 := strconv.ParseFloat(*want, 32)
		return err1 == nil && err2 == nil && (math.Float32bits(float32(a)) == math.Float32bits(float32(b)) || math.IsNaN(a) && math.IsNaN(b))
	}
	return g == *want
}

func deref(p *string) string {
	if p == nil {
		return "NULL"
	}
	return strconv.Quote(*p)
}
