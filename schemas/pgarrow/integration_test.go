package pgarrow_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// pgColumn is one column of the test table: its DDL type and the literals its rows cycle through.
type pgColumn struct {
	name, typ string
	values    []string // SQL literals
	bulk      string   // expression over g for the generated rows
}

var pgColumns = []pgColumn{
	{"b", "bool", []string{"true", "false"}, "g % 3 = 0"},
	{"i2", "int2", []string{"0", "-32768", "32767"}, "(g % 30000)::int2"},
	{"i4", "int4", []string{"0", "-2147483648", "2147483647"}, "g"},
	{"i8", "int8", []string{"0", "-9223372036854775808", "9223372036854775807"}, "g::int8 * g * g"},
	{"o", "oid", []string{"0", "4294967295"}, "g::oid"},
	{"f4", "float4", []string{"'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "'1.17549435e-38'", "'3.4028235e38'", "'1.4e-45'", "'0.1'"}, "g / 7.0"},
	{"f8", "float8", []string{"'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "'2.2250738585072014e-308'", "'1.7976931348623157e308'", "'5e-324'", "'0.1'"}, "g / 7.0"},
	{"tx", "text", []string{"''", "'héllo wörld ☃ 🎉'", `E'tab\tnew\nline\\back'`, "'x'"}, "'row ' || g"},
	{"vc", "varchar(50)", []string{"''", "'abc'", "'日本語'"}, "md5(g::text)"},
	{"bp", "char(5)", []string{"''", "'ab'", "'abcde'"}, "(g % 1000)::text"},
	{"nm", "name", []string{"'pg_catalog'", "''"}, "'n' || g"},
	{"ba", "bytea", []string{`'\x'`, `'\x00ff'`, `'\xdeadbeef'`}, "decode(md5(g::text), 'hex')"},
	{"u", "uuid", []string{"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"}, "md5(g::text)::uuid"},
	{"d", "date", []string{"'infinity'", "'-infinity'", "'4713-01-01 BC'", "'5874897-12-31'", "'0001-01-01'", "'2000-01-01'", "'1970-01-01'", "'1969-12-31'"}, "date '2000-01-01' + g"},
	{"ts", "timestamp", []string{"'infinity'", "'-infinity'", "'4713-01-01 00:00:00 BC'", "'294000-12-31 23:59:59.999999'", "'0001-01-01'", "'2000-01-01'", "'1999-12-31 23:59:59.999999'"}, "timestamp '2000-01-01' + g * interval '1 second'"},
	{"tstz", "timestamptz", []string{"'infinity'", "'-infinity'", "'4713-01-01 00:00:00+00 BC'", "'2024-02-29 12:34:56.789012+05:30'", "'294000-01-01 00:00:00+00'", "'1970-01-01 00:00:00+00'"}, "timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute'"},
	{"tm", "time", []string{"'00:00'", "'24:00:00'", "'23:59:59.999999'", "'12:34:56.789'"}, "time '00:00' + g * interval '1 second'"},
	{"j", "json", []string{`'{}'`, `'{"a": [1, 2, {"b": null}], "c": "☃"}'`, `'"x"'`, `'  [ 1 ,2 ]  '`}, "json_build_object('g', g)"},
	{"jb", "jsonb", []string{`'{}'`, `'{"a": [1, 2, {"b": null}], "c": "☃"}'`, `'"x"'`, `'  [ 1 ,2 ]  '`}, "jsonb_build_object('g', g, 'h', md5(g::text))"},
	{"n", "numeric", []string{
		"'NaN'", "'Infinity'", "'-Infinity'", "'0'", "'-0.000'", "'1e-20'", "'123456789012345678901234567890.123456789'",
		"'-123.456'", "'0.0001'", "'10000'", "'-0.5'", "'1.50'", "'1e131071'", "'-1e-16383'", "'9999.9999'",
		"'0.000000000007120000'", "'1e1000'", "'-99999999999999999999.99999999999999999999'",
	}, "g * 1.01"},
	{"n2", "numeric(10,3)", []string{"'0'", "'-1.5'", "'1234567.891'"}, "g / 3.0"},
	{"dp", "posint", []string{"1", "2147483647"}, "g"},
	{"dm", "amount", []string{"'0'", "'-9999999999.99'", "'12.5'"}, "g / 100.0"},
	{"dt", "label", []string{"'a'", "''"}, "'l' || g"},
	{"iv", "interval", []string{"'1 day 2 hours'", "'-178000000 years'", "'1 mon -1 day 00:00:00.000001'"}, "g * interval '1 second'"},
	{"ia", "int4[]", []string{"'{}'", "'{1,NULL,3}'", "'{{1,2},{3,4}}'"}, "array[g, g + 1]"},
	{"na", "numeric[]", []string{"'{}'", "'{NaN,1.5,-Infinity}'", "'{NULL}'"}, "array[g * 1.5]"},
	{"ip", "inet", []string{"'192.168.0.1/24'", "'::1'", "'10.0.0.0/8'"}, "'10.0.0.0'::inet + g"},
	{"cp", "pair", []string{"'(1,x)'", "'(,)'", `'(2,"a,b")'`}, "row(g, g::text)::pair"},
	{"en", "mood", []string{"'sad'", "'ok'", "'happy'"}, "(array['sad','ok','happy'])[g % 3 + 1]::mood"},
	{"tz", "timetz", []string{"'12:00+05'", "'00:00-12'"}, "'12:00+05'::timetz"},
	{"mo", "money", []string{"'12.34'", "'-1'"}, "g::money"},
}

const bulkRows = 30000

// setupTable creates table t with every column of pgColumns and fills it: the edge-value rows
// (row k takes value k of each column, cycling), a row of NULLs, a row with a 1 MB text, and
// bulkRows generated rows, so the stream spans several batches.
func setupTable(t *testing.T, conn *pgx.Conn) {
	pgtest.Exec(t, conn, `
SET TimeZone = 'UTC';
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (a int, b text);
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN amount AS numeric(12,2);
CREATE DOMAIN label AS varchar(20);`)
	var ddl, cols, bulk []string
	edges := 0
	for _, c := range pgColumns {
		ddl = append(ddl, c.name+" "+c.typ)
		cols = append(cols, c.name)
		bulk = append(bulk, c.bulk)
		edges = max(edges, len(c.values))
	}
	pgtest.Exec(t, conn, "CREATE TABLE t (id int PRIMARY KEY, "+strings.Join(ddl, ", ")+")")
	var rows []string
	for k := 0; k < edges; k++ {
		vals := []string{fmt.Sprint(k + 1)}
		for _, c := range pgColumns {
			vals = append(vals, "("+c.values[k%len(c.values)]+")::"+c.typ)
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	pgtest.Exec(t, conn, "INSERT INTO t (id, "+strings.Join(cols, ", ")+") VALUES "+strings.Join(rows, ",\n"))
	pgtest.Exec(t, conn, "INSERT INTO t (id) VALUES (100)")
	pgtest.Exec(t, conn, "INSERT INTO t (id, tx, vc) VALUES (101, repeat('0123456789abcdef', 65536), '')")
	pgtest.Exec(t, conn, fmt.Sprintf("INSERT INTO t (id, %s) SELECT g, %s FROM generate_series(1000, %d) g",
		strings.Join(cols, ", "), strings.Join(bulk, ", "), 1000+bulkRows-1))
}

// tableColumns reads the columns of table from the catalog, as understudy does.
func tableColumns(t *testing.T, conn *pgx.Conn, table string, native bool) []pgarrow.Column {
	rows, err := conn.Query(context.Background(), `
SELECT a.attname, a.atttypid, CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE a.atttypid END,
       format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, table)
	if err != nil {
		t.Fatal(err)
	}
	var cols []pgarrow.Column
	for rows.Next() {
		var c pgarrow.Column
		if err := rows.Scan(&c.Name, &c.TypeOID, &c.BaseOID, &c.TypeName); err != nil {
			t.Fatal(err)
		}
		c.Native = native
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols
}

func copyOut(t *testing.T, conn *pgx.Conn, sql string) []byte {
	var buf bytes.Buffer
	if _, err := conn.PgConn().CopyTo(context.Background(), &buf, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return buf.Bytes()
}

func decode(t *testing.T, data []byte, cols []pgarrow.Column, mem memory.Allocator) []arrow.Record {
	t.Helper()
	d := pgarrow.NewDecoder(bytes.NewReader(data), cols, mem, pgarrow.DecoderOptions{})
	var recs []arrow.Record
	for {
		rec, err := d.Read()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		recs = append(recs, rec)
	}
}

func encode(t *testing.T, recs []arrow.Record, cols []pgarrow.Column) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := pgarrow.NewEncoder(&buf, cols)
	for _, r := range recs {
		if err := e.Write(r); err != nil {
			t.Fatalf("encode: %v", err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return buf.Bytes()
}

func release(recs []arrow.Record) {
	for _, r := range recs {
		r.Release()
	}
}

func tableDigest(t *testing.T, conn *pgx.Conn, table string) (n int64, digest string) {
	err := conn.QueryRow(context.Background(),
		fmt.Sprintf("SELECT count(*), md5(string_agg(x::text, ',' ORDER BY x::text)) FROM %s x", table)).Scan(&n, &digest)
	if err != nil {
		t.Fatal(err)
	}
	return n, digest
}

func TestPostgresRoundTrip(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	ctx := context.Background()
	setupTable(t, conn)
	data := copyOut(t, conn, "COPY t TO STDOUT (FORMAT binary)")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	nativeCols := tableColumns(t, conn, "t", true)
	rawOnly := map[string]bool{"iv": true, "ia": true, "na": true, "ip": true, "cp": true, "en": true, "tz": true, "mo": true}
	for _, c := range nativeCols {
		wantNative := !rawOnly[c.Name]
		if pgarrow.IsNative(c) != wantNative {
			t.Errorf("column %s (%s, oid %d, base %d): native %v, want %v", c.Name, c.TypeName, c.TypeOID, c.BaseOID, pgarrow.IsNative(c), wantNative)
		}
	}

	recs := decode(t, data, nativeCols, mem)
	defer release(recs)
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	if want := int64(bulkRows + 20); rows != want || len(recs) < 4 {
		t.Errorf("decoded %d rows in %d batches, want %d in at least 4", rows, len(recs), want)
	}
	if out := encode(t, recs, nativeCols); !bytes.Equal(out, data) {
		t.Errorf("native decode + encode changed the stream (%d bytes, want %d)", len(out), len(data))
	} else {
		// Load it back and compare the tables.
		pgtest.Exec(t, conn, "CREATE TABLE t2 (LIKE t INCLUDING ALL)")
		if _, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(out), "COPY t2 FROM STDIN (FORMAT binary)"); err != nil {
			t.Fatalf("load the encoded stream: %v", err)
		}
		n1, d1 := tableDigest(t, conn, "t")
		n2, d2 := tableDigest(t, conn, "t2")
		if n1 != n2 || d1 != d2 {
			t.Errorf("t2 holds %d rows (md5 %s), t holds %d (md5 %s)", n2, d2, n1, d1)
		}
	}

	checkAgainstServer(t, conn, recs, nativeCols)

	rawCols := tableColumns(t, conn, "t", false)
	raw := decode(t, data, rawCols, mem)
	defer release(raw)
	if out := encode(t, raw, rawCols); !bytes.Equal(out, data) {
		t.Errorf("raw decode + encode changed the stream")
	}

	// A column subset through COPY (SELECT ...), as the transform path reads it.
	sub := copyOut(t, conn, "COPY (SELECT id, n, tstz, jb FROM t) TO STDOUT (FORMAT binary)")
	subCols := []pgarrow.Column{nativeCols[0], nativeCols[colIndex(t, nativeCols, "n")], nativeCols[colIndex(t, nativeCols, "tstz")], nativeCols[colIndex(t, nativeCols, "jb")]}
	subRecs := decode(t, sub, subCols, mem)
	defer release(subRecs)
	if out := encode(t, subRecs, subCols); !bytes.Equal(out, sub) {
		t.Errorf("column subset: decode + encode changed the stream")
	}
}

func colIndex(t *testing.T, cols []pgarrow.Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	t.Fatalf("no column %s", name)
	return -1
}

// checkAgainstServer compares decoded values with what the server says they are: numeric
// strings with col::text, dates and timestamps with their distance from 1970.
func checkAgainstServer(t *testing.T, conn *pgx.Conn, recs []arrow.Record, cols []pgarrow.Column) {
	type want struct{ n, n2, dm, d, ts, tstz *string }
	rows, err := conn.Query(context.Background(), `
SELECT id, n::text, n2::text, dm::text,
       CASE WHEN isfinite(d) THEN (d - date '1970-01-01')::text ELSE d::text END,
       CASE WHEN isfinite(ts) THEN (extract(epoch FROM ts) * 1000000)::int8::text ELSE ts::text END,
       CASE WHEN isfinite(tstz) THEN (extract(epoch FROM tstz) * 1000000)::int8::text ELSE tstz::text END
FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	server := map[int32]want{}
	for rows.Next() {
		var id int32
		var w want
		if err := rows.Scan(&id, &w.n, &w.n2, &w.dm, &w.d, &w.ts, &w.tstz); err != nil {
			t.Fatal(err)
		}
		server[id] = w
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	str := func(a arrow.Array, i int) *string {
		if a.IsNull(i) {
			return nil
		}
		var s string
		switch a := a.(type) {
		case *array.String:
			s = a.Value(i)
		case *array.Date32:
			switch v := int32(a.Value(i)); v {
			case math.MaxInt32:
				s = "infinity"
			case math.MinInt32:
				s = "-infinity"
			default:
				s = fmt.Sprint(v)
			}
		case *array.Timestamp:
			switch v := int64(a.Value(i)); v {
			case math.MaxInt64:
				s = "infinity"
			case math.MinInt64:
				s = "-infinity"
			default:
				s = fmt.Sprint(v)
			}
		}
		return &s
	}
	deref := func(p *string) string {
		if p == nil {
			return "NULL"
		}
		if len(*p) > 60 {
			return (*p)[:60] + "…"
		}
		return *p
	}
	idx := map[string]int{}
	for _, name := range []string{"id", "n", "n2", "dm", "d", "ts", "tstz"} {
		idx[name] = colIndex(t, cols, name)
	}
	checked, bad := 0, 0
	for _, r := range recs {
		ids := r.Column(idx["id"]).(*array.Int32)
		for i := 0; i < int(r.NumRows()); i++ {
			w, ok := server[ids.Value(i)]
			if !ok {
				t.Fatalf("decoded id %d the server does not have", ids.Value(i))
			}
			for _, c := range []struct {
				name string
				want *string
			}{{"n", w.n}, {"n2", w.n2}, {"dm", w.dm}, {"d", w.d}, {"ts", w.ts}, {"tstz", w.tstz}} {
				got := str(r.Column(idx[c.name]), i)
				if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
					if bad++; bad < 20 {
						t.Errorf("id %d column %s: decoded %s, server says %s", ids.Value(i), c.name, deref(got), deref(c.want))
					}
				}
				checked++
			}
		}
	}
	if checked != 6*len(server) {
		t.Errorf("checked %d values, want %d", checked, 6*len(server))
	}
}

// TestPostgresTransformedLoad replaces columns the way a transformer would and loads the result:
// the server must read back the values the batch held.
func TestPostgresTransformedLoad(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	ctx := context.Background()
	pgtest.Exec(t, conn, `SET TimeZone = 'UTC';
CREATE TABLE src (id int, n numeric, s text, d date, ts timestamptz);
INSERT INTO src SELECT g, g, 'x', '2000-01-01', now() FROM generate_series(1, 12) g;
CREATE TABLE dst (LIKE src)`)
	cols := tableColumns(t, conn, "src", true)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := decode(t, copyOut(t, conn, "COPY src TO STDOUT (FORMAT binary)"), cols, mem)
	defer release(recs)

	inputs := []string{"1.5e3", "-0.000", " 42 ", "NaN", "-inf", "+Infinity", ".5", "5.", "1e-20", "0.00012300", "-99999999999999999999.5", ""}
	dates := []arrow.Date32{0, math.MaxInt32, math.MinInt32, -719162 /* 0001-01-01 */, 2932896 /* 9999-12-31 */, 19000, 1, 2, 3, 4, 5, 6}
	nb := array.NewStringBuilder(mem)
	defer nb.Release()
	db := array.NewDate32Builder(mem)
	defer db.Release()
	for i, s := range inputs {
		if s == "" {
			nb.AppendNull()
		} else {
			nb.Append(s)
		}
		db.Append(dates[i])
	}
	ns, ds := nb.NewArray(), db.NewArray()
	defer ns.Release()
	defer ds.Release()
	rec := recs[0]
	arrs := []arrow.Array{rec.Column(0), ns, rec.Column(2), ds, rec.Column(4)}
	out := array.NewRecord(rec.Schema(), arrs, rec.NumRows())
	defer out.Release()
	stream := encode(t, []arrow.Record{out}, cols)
	if _, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(stream), "COPY dst FROM STDIN (FORMAT binary)"); err != nil {
		t.Fatalf("load: %v", err)
	}
	for i, s := range inputs {
		var got, want *string
		var gotDate, wantDate string
		days := int32(dates[i])
		if days == math.MaxInt32 || days == math.MinInt32 {
			days = 0 // the sentinels are checked below
		}
		err := conn.QueryRow(ctx, `SELECT n::text, d::text, (date '1970-01-01' + $2::int)::text FROM dst WHERE id = $1`, i+1, days).Scan(&got, &gotDate, &wantDate)
		if err != nil {
			t.Fatal(err)
		}
		if s != "" {
			if err := conn.QueryRow(ctx, `SELECT $1::numeric::text`, s).Scan(&want); err != nil {
				t.Fatal(err)
			}
		}
		if (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("numeric %q loaded as %v, PostgreSQL reads it as %v", s, got, want)
		}
		switch dates[i] {
		case math.MaxInt32:
			wantDate = "infinity"
		case math.MinInt32:
			wantDate = "-infinity"
		}
		if gotDate != wantDate {
			t.Errorf("date %d loaded as %s, want %s", dates[i], gotDate, wantDate)
		}
	}
}

// TestPostgresTimestampBeyondArrow: PostgreSQL timestamps run to 294276 AD, Arrow's µs
// timestamps only to 294247; native decoding says so, naming the column, and raw carries it.
func TestPostgresTimestampBeyondArrow(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	pgtest.Exec(t, conn, `CREATE TABLE far (id int, ts timestamp);
INSERT INTO far VALUES (1, '2000-01-01'), (2, '294276-12-31 23:59:59.999999')`)
	data := copyOut(t, conn, "COPY far TO STDOUT (FORMAT binary)")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	d := pgarrow.NewDecoder(bytes.NewReader(data), tableColumns(t, conn, "far", true), mem, pgarrow.DecoderOptions{})
	_, err := d.Read()
	if err == nil || !strings.Contains(err.Error(), `row 2, column "ts" (timestamp without time zone)`) ||
		!strings.Contains(err.Error(), "beyond the range Arrow timestamps can hold") {
		t.Errorf("got %v, want an out-of-range error for row 2, column ts", err)
	}

	rawCols := tableColumns(t, conn, "far", false)
	recs := decode(t, data, rawCols, mem)
	defer release(recs)
	if out := encode(t, recs, rawCols); !bytes.Equal(out, data) {
		t.Errorf("raw decode + encode changed the stream")
	}
}
