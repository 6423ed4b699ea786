package when

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

func TestParseCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"country = 'DE'", "country = 'DE'"},
		{"  Country='DE'  ", "country = 'DE'"},
		{`"Mixed Case" <> 'it''s'`, `"Mixed Case" <> 'it''s'`},
		{"a != 1", "a <> 1"},
		{"a >= -1.50 and b < +2", "a >= -1.50 AND b < 2"},
		{"status IN ('closed', 'banned') AND notes IS NOT NULL", "status IN ('closed', 'banned') AND notes IS NOT NULL"},
		{"a = 1 or b = 2 and c = 3", "a = 1 OR b = 2 AND c = 3"},
		{"(a = 1 or b = 2) and c = 3", "(a = 1 OR b = 2) AND c = 3"},
		{"not a = 1 and not (b is null or c not like 'x%')", "NOT a = 1 AND NOT (b IS NULL OR c NOT LIKE 'x%')"},
		{"((a = true))", "a = TRUE"},
		{"a not in (1,2 , 3)", "a NOT IN (1, 2, 3)"},
		{`"select" = 'x' AND "Ä" = .5`, `select = 'x' AND Ä = .5`},
		{`"AND" = 'x' AND "Abc" = 1`, `"AND" = 'x' AND "Abc" = 1`},
		{`"and" = 'x'`, `"and" = 'x'`},
		{`ä = 1`, `ä = 1`},
		{"a = 1 AND (b = 2 AND c = 3)", "a = 1 AND b = 2 AND c = 3"},
	} {
		e, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
		}
		// The canonical form parses back to itself.
		if e2, err := Parse(e.String()); err != nil || e2.String() != e.String() {
			t.Errorf("canonical %q does not parse back: %v", e.String(), err)
		}
	}
}

// SQL quotes every column, so that a name the condition reads bare but SQL reserves (user,
// order, select) splices into a WHERE clause, and it reads back as the same condition.
func TestSQLQuotesEveryColumn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"user = 'x' AND order > 3", `"user" = 'x' AND "order" > 3`},
		{`"select" IS NULL OR NOT Country IN ('DE')`, `"select" IS NULL OR NOT "country" IN ('DE')`},
		{`"Mixed Case" LIKE 'a\_b%' AND "a""b" <> 'it''s'`, `"Mixed Case" LIKE 'a\_b%' AND "a""b" <> 'it''s'`},
		{"(user = 'a' OR group = 'b') AND limit = 1", `("user" = 'a' OR "group" = 'b') AND "limit" = 1`},
	} {
		e, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := e.SQL(); got != tc.want {
			t.Errorf("Parse(%q).SQL() = %s, want %s", tc.in, got, tc.want)
		}
		if e2, err := Parse(e.SQL()); err != nil || e2.String() != e.String() {
			t.Errorf("SQL form %q does not read back as %q: %v", e.SQL(), e.String(), err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in  string
		pos int
		msg string
	}{
		{"", 1, "the condition is empty"},
		{"   ", 4, "the condition is empty"},
		{"country", 8, "expected a comparison (=, <>, <, <=, >, >=), IS, IN, LIKE or NOT after column \"country\", found end of condition"},
		{"country =", 10, "expected a literal: a 'string', a number, TRUE or FALSE, found end of condition"},
		{"country = 'DE", 11, "unterminated string"},
		{"country = NULL", 11, "= NULL is never true; write IS NULL or IS NOT NULL"},
		{"a = b", 5, "comparing two columns is not supported"},
		{"'DE' = country", 1, "expected a column name"},
		{"a = 1 b = 2", 7, `expected AND, OR or the end of the condition, found column "b"`},
		{"(a = 1", 7, `expected AND, OR or ")", found end of condition`},
		{"a IN 1", 6, `expected "(" after IN, found number 1`},
		{"a IN ()", 7, `expected a literal: a 'string', a number, TRUE or FALSE, found ")"`},
		{"a IN (1 2)", 9, `expected "," or ")", found number 2`},
		{"a IN (1, NULL)", 10, "NULL in an IN list"},
		{"a NOT = 1", 7, "expected IN or LIKE after NOT"},
		{"a IS 1", 6, "expected NULL, found number 1"},
		{"a LIKE 5", 8, "expected a quoted pattern after LIKE"},
		{"a = 1 AND", 10, `expected a column name, NOT or "(", found end of condition`},
		{`"" = 1`, 1, `empty quoted column name`},
		{`"abc = 1`, 1, `unterminated quoted column name`},
		{"a = 1.2.3", 8, `unexpected '.' after number 1.2`},
		{"a = 12abc", 7, `unexpected 'a' after number 12`},
		{"a = -'x'", 6, "expected a number after the sign"},
		{"a ! 1", 3, `unexpected "!"`},
		{"a = 1 ; drop table x", 7, `unexpected ';'`},
		{"é = 1 AND ü ≠ 2", 13, `unexpected '≠'`},
		{"a = 1 AND " + strings.Repeat("(", 100) + "a = 1" + strings.Repeat(")", 100), 75, "nests more than 64 levels"},
		{"a = '\xff'", 5, "not valid UTF-8"},
		{"a = 1 AND \xff", 11, "not valid UTF-8"},
	} {
		_, err := Parse(tc.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want an *Error", tc.in, err)
			continue
		}
		if e.Pos != tc.pos || !strings.Contains(e.Error(), tc.msg) {
			t.Errorf("Parse(%q):\n got %v (position %d)\nwant position %d, containing %q", tc.in, err, e.Pos, tc.pos, tc.msg)
		}
	}
}

// testCols are the columns of testRecord, in order.
var testCols = []pgarrow.Column{
	{Name: "name", TypeOID: pgtype.TextOID, TypeName: "text"},
	{Name: "country", TypeOID: pgtype.VarcharOID, TypeName: "character varying(2)"},
	{Name: "code", TypeOID: pgtype.BPCharOID, TypeName: "character(5)"},
	{Name: "email", TypeOID: 90001, TypeName: "citext"},
	{Name: "mood", TypeOID: 90002, TypeName: "mood"},
	{Name: "age", TypeOID: pgtype.Int4OID, TypeName: "integer"},
	{Name: "small", TypeOID: pgtype.Int2OID, TypeName: "smallint"},
	{Name: "big", TypeOID: pgtype.Int8OID, TypeName: "bigint"},
	{Name: "score", TypeOID: pgtype.Float8OID, TypeName: "double precision"},
	{Name: "ratio", TypeOID: pgtype.Float4OID, TypeName: "real"},
	{Name: "amount", TypeOID: pgtype.NumericOID, TypeName: "numeric(12,4)"},
	{Name: "active", TypeOID: pgtype.BoolOID, TypeName: "boolean"},
	{Name: "born", TypeOID: pgtype.DateOID, TypeName: "date"},
	{Name: "seen", TypeOID: pgtype.TimestampOID, TypeName: "timestamp without time zone"},
	{Name: "seentz", TypeOID: pgtype.TimestamptzOID, TypeName: "timestamp with time zone"},
	{Name: "at", TypeOID: pgtype.TimeOID, TypeName: "time without time zone"},
	{Name: "id", TypeOID: pgtype.UUIDOID, TypeName: "uuid"},
	{Name: "doc", TypeOID: pgtype.JSONBOID, TypeName: "jsonb"},
	{Name: "Mixed Case", TypeOID: pgtype.TextOID, TypeName: "text"},
}

func day(y int, m time.Month, d int) arrow.Date32 {
	return arrow.Date32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func ts(s string) arrow.Timestamp {
	t, err := time.Parse("2006-01-02 15:04:05.999999Z07:00", s)
	if err != nil {
		panic(err)
	}
	return arrow.Timestamp(t.UnixMicro())
}

func uuidOf(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }

// testRows: one row per slice; nil is NULL.
var testRows = [][]any{
	{"Anna", "DE", "DE   ", "Anna@X.org", "happy", int32(30), int16(1), int64(1 << 40), 1.5, float32(0.1), "12.5000", true,
		day(1990, 5, 1), ts("2024-01-01 10:00:00Z"), ts("2024-01-01 10:00:00Z"), arrow.Time64(10 * 3600e6), uuidOf(1), `{"a": 1}`, "x"},
	{"Bob", "FR", "FR   ", "bob@y.org", "sad", int32(17), int16(-5), int64(-1), math.NaN(), float32(0.5), "-3.0000", false,
		day(2000, 1, 1), ts("1999-12-31 23:59:59.5Z"), ts("2024-01-01 09:00:00Z"), arrow.Time64(0), uuidOf(2), nil, "Y"},
	{"Carl", nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	{"Dora", "DE", "DE   ", "DORA@x.org", "happy", int32(65), int16(0), int64(0), math.Inf(1), float32(-2), "NaN", true,
		arrow.Date32(math.MaxInt32), arrow.Timestamp(math.MaxInt64), arrow.Timestamp(math.MinInt64), arrow.Time64(24 * 3600e6), uuidOf(3), `[]`, "a_b"},
	{"Éva", "AT", "AT   ", "éva@z.org", "angry", int32(42), int16(7), int64(9000000000), -2.5, float32(1e10), "0.0000", false,
		arrow.Date32(math.MinInt32), ts("2024-06-30 12:30:15.25Z"), ts("2024-06-30 12:30:15.25+02:00"), arrow.Time64(45015250000), uuidOf(1), "null", "100%"},
	{"O'Brien", "DE", "D    ", "x@x.org", "sad", int32(18), int16(1), int64(5), 0.0, float32(0.1), "12.5001", nil,
		day(1970, 1, 1), ts("2000-01-01 00:00:00Z"), ts("2000-01-01 00:00:00Z"), arrow.Time64(1), uuidOf(4), nil, "ab"},
	{"", "", "     ", "", "happy", int32(0), int16(0), int64(0), -0.0, float32(0), "-12.5000", true,
		day(1, 1, 1), ts("0001-01-01 00:00:00Z"), ts("0001-01-01 00:00:00Z"), arrow.Time64(0), uuidOf(0), "0", ""},
}

// testRecords returns testRows as batches in both forms a condition can meet: every column
// native where pgarrow has a native type, and every column raw (wire bytes).
func testRecords(t testing.TB, mem memory.Allocator) (native, wire arrow.Record) {
	t.Helper()
	cols := make([]pgarrow.Column, len(testCols))
	for i, c := range testCols {
		c.Native = true
		cols[i] = c
	}
	schema := pgarrow.Schema(cols)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, row := range testRows {
		for i, v := range row {
			fb := b.Field(i)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.BinaryBuilder:
				fb.Append([]byte(v.(string)))
			case *array.Int16Builder:
				fb.Append(v.(int16))
			case *array.Int32Builder:
				fb.Append(v.(int32))
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.Float32Builder:
				fb.Append(v.(float32))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.Date32Builder:
				fb.Append(v.(arrow.Date32))
			case *array.TimestampBuilder:
				fb.Append(v.(arrow.Timestamp))
			case *array.Time64Builder:
				fb.Append(v.(arrow.Time64))
			case *array.FixedSizeBinaryBuilder:
				fb.Append(v.([]byte))
			default:
				t.Fatalf("column %d: no builder for %T", i, fb)
			}
		}
	}
	rec := b.NewRecord()
	var buf bytes.Buffer
	enc := pgarrow.NewEncoder(&buf, cols)
	if err := enc.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	read := func(cols []pgarrow.Column) arrow.Record {
		dec := pgarrow.NewDecoder(bytes.NewReader(buf.Bytes()), cols, mem, pgarrow.DecoderOptions{})
		rec, err := dec.Read()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Read(); !errors.Is(err, io.EOF) {
			t.Fatalf("more than one batch: %v", err)
		}
		return rec
	}
	return read(cols), read(testCols)
}

func bindCols() []Column {
	out := make([]Column, len(testCols))
	for i, c := range testCols {
		out[i] = Column{Name: c.Name, Index: i, TypeName: c.TypeName, BaseOID: c.TypeOID}
		if c.Name == "mood" {
			out[i].TypType = 'e'
		}
	}
	return out
}

func rowsOf(s Selection, n int) []int {
	out := []int{}
	for i := 0; i < n; i++ {
		if s.Has(i) {
			out = append(out, i)
		}
	}
	return out
}

// selectCases are conditions on testRows and the rows they select; TestAgreesWithPostgreSQL
// checks PostgreSQL selects the same.
var selectCases = []struct {
	cond string
	want []int
}{
	{"country = 'DE'", []int{0, 3, 5}},
	{"country <> 'DE'", []int{1, 4, 6}},
	{"NOT country = 'DE'", []int{1, 4, 6}},
	{"country IS NULL", []int{2}},
	{"country IS NOT NULL", []int{0, 1, 3, 4, 5, 6}},
	{"country IN ('FR', 'AT')", []int{1, 4}},
	{"country NOT IN ('FR', 'AT')", []int{0, 3, 5, 6}},
	{"country = ''", []int{6}},
	{"name = 'O''Brien'", []int{5}},
	{"name LIKE '%a'", []int{0, 3, 4}},
	{"name LIKE '_va'", []int{4}},
	{"name LIKE '%'", []int{0, 1, 2, 3, 4, 5, 6}},
	{"name NOT LIKE 'B%'", []int{0, 2, 3, 4, 5, 6}},
	{"name LIKE 'O''%'", []int{5}},
	{`"Mixed Case" LIKE 'a\_b'`, []int{3}},
	{`"Mixed Case" LIKE '100\%'`, []int{4}},
	{`"Mixed Case" LIKE '%\%'`, []int{4}},
	{`"Mixed Case" LIKE 'a%b'`, []int{3, 5}},
	{`"Mixed Case" LIKE ''`, []int{6}},
	{"code = 'DE'", []int{0, 3}},
	{"code = 'DE   '", []int{0, 3}},
	{"code IN ('D', 'AT')", []int{4, 5}},
	{"code = ''", []int{6}},
	{"code LIKE 'DE'", []int{}},
	{"code LIKE 'DE%'", []int{0, 3}},
	{"email = 'anna@x.ORG'", []int{0}},
	{"email IN ('dora@X.org', 'ÉVA@Z.ORG')", []int{3, 4}},
	{"email LIKE 'b%Y%'", []int{1}},
	{"email <> 'x@x.org'", []int{0, 1, 3, 4, 6}},
	{"mood = 'happy'", []int{0, 3, 6}},
	{"mood NOT IN ('happy')", []int{1, 4, 5}},
	{"age > 18", []int{0, 3, 4}},
	{"age >= 18", []int{0, 3, 4, 5}},
	{"age < 18", []int{1, 6}},
	{"age <= -1", []int{}},
	{"age = 42", []int{4}},
	{"age IN (17, 65, 99)", []int{1, 3}},
	{"age NOT IN (17, 65)", []int{0, 4, 5, 6}},
	{"small < 0", []int{1}},
	{"small = 100000", []int{}},
	{"small < 100000", []int{0, 1, 3, 4, 5, 6}},
	{"big > 1000000000", []int{0, 4}},
	{"big = -1", []int{1}},
	{"big <= 9223372036854775807", []int{0, 1, 3, 4, 5, 6}},
	{"score > 1", []int{0, 1, 3}}, // NaN is above everything
	{"score < 0", []int{4}},
	{"score = 0", []int{5, 6}}, // -0 = 0
	{"score <> 1.5", []int{1, 3, 4, 5, 6}},
	{"ratio = 0.1", []int{}}, // float4 0.1 is not the double 0.1, as in PostgreSQL
	{"ratio = 0.5", []int{1}},
	{"ratio > 1000", []int{4}},
	{"amount = 12.5", []int{0}},
	{"amount = 12.50000", []int{0}},
	{"amount > 12.5", []int{3, 5}},
	{"amount > 12.50009", []int{3, 5}},
	{"amount > 12.5001", []int{3}},
	{"amount < 0", []int{1, 6}},
	{"amount < -3", []int{6}},
	{"amount = -3", []int{1}},
	{"amount = 0", []int{4}},
	{"amount = -0.0", []int{4}},
	{"amount >= .0", []int{0, 3, 4, 5}},
	{"amount IN (12.5, -12.5, 7)", []int{0, 6}},
	{"amount > 99999999999999999999999.9", []int{3}},
	{"amount < -99999999999999999999999.9", []int{}},
	{"active = TRUE", []int{0, 3, 6}},
	{"active = false", []int{1, 4}},
	{"NOT active = true", []int{1, 4}},
	{"active <> TRUE OR active IS NULL", []int{1, 2, 4, 5}},
	{"born < '2000-01-01'", []int{0, 4, 5, 6}},
	{"born = '2000-01-01'", []int{1}},
	{"born >= '2000-01-01'", []int{1, 3}},
	{"born = 'infinity'", []int{3}},
	{"born < '-infinity'", []int{}},
	{"born <= '-infinity'", []int{4}},
	{"born = '1970-01-01'", []int{5}},
	{"born < '0001-01-02'", []int{4, 6}},
	{"seen < '2000-01-01'", []int{1, 6}},
	{"seen >= '2024-01-01 10:00'", []int{0, 3, 4}},
	{"seen = '1999-12-31 23:59:59.5'", []int{1}},
	{"seen = '1999-12-31T23:59:59.500000'", []int{1}},
	{"seen > '2024-06-30 12:30:15.249999'", []int{3, 4}},
	{"seen = '2000-01-01'", []int{5}},
	{"seentz = '2024-01-01 11:00:00+01'", []int{0}},
	{"seentz = '2024-01-01 10:00:00Z'", []int{0}},
	{"seentz < '2024-01-01 10:00:00+00:00'", []int{1, 3, 5, 6}},
	{"seentz = '2024-06-30 10:30:15.25Z'", []int{4}},
	{"seentz = '-infinity'", []int{3}},
	{"at = '10:00'", []int{0}},
	{"at >= '12:30:15.25'", []int{3, 4}},
	{"at = '24:00:00'", []int{3}},
	{"at < '00:00:00.000002'", []int{1, 5, 6}},
	{"id = '01010101-0101-0101-0101-010101010101'", []int{0, 4}},
	{"id IN ('{02020202020202020202020202020202}', '03030303-0303-0303-0303-030303030303')", []int{1, 3}},
	{"id > '03030303-0303-0303-0303-030303030303'", []int{5}},
	{"doc IS NULL", []int{1, 2, 5}},
	{"doc IS NOT NULL", []int{0, 3, 4, 6}},
	// Three-valued logic: row 2 is NULL everywhere but name.
	{"age > 20 OR country = 'FR'", []int{0, 1, 3, 4}},
	{"NOT (age > 20 OR country = 'FR')", []int{5, 6}},
	{"NOT (age > 20) AND NOT (country = 'FR')", []int{5, 6}},
	{"age > 20 AND country = 'DE'", []int{0, 3}},
	{"NOT (age > 20 AND country = 'DE')", []int{1, 4, 5, 6}},
	{"age > 20 OR name = 'Carl'", []int{0, 2, 3, 4}},
	{"NOT (age IS NULL AND name = 'Carl')", []int{0, 1, 3, 4, 5, 6}},
	{"(age < 20 OR age > 60) AND (country = 'DE' OR country = 'FR') AND NOT active = false", []int{3}},
	{"country = 'DE' AND (amount > 12 OR born IS NULL) AND email LIKE '%x.org'", []int{0, 3, 5}},
}

func TestSelect(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	native, wire := testRecords(t, mem)
	defer native.Release()
	defer wire.Release()
	for _, tc := range selectCases {
		e, err := Parse(tc.cond)
		if err != nil {
			t.Errorf("%s: %v", tc.cond, err)
			continue
		}
		c, err := e.Bind(bindCols())
		if err != nil {
			t.Errorf("%s: %v", tc.cond, err)
			continue
		}
		for _, form := range []struct {
			name string
			rec  arrow.Record
		}{{"native", native}, {"wire", wire}} {
			sel, err := c.Select(form.rec, nil)
			if err != nil {
				t.Errorf("%s (%s): %v", tc.cond, form.name, err)
				continue
			}
			if got := rowsOf(sel, len(testRows)); !equalInts(got, tc.want) {
				t.Errorf("%s (%s): rows %v, want %v", tc.cond, form.name, got, tc.want)
			}
			if sel.Count() != len(tc.want) {
				t.Errorf("%s (%s): Count %d, want %d", tc.cond, form.name, sel.Count(), len(tc.want))
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBindErrors(t *testing.T) {
	cols := bindCols()
	cols = append(cols, Column{Name: "total", Index: -1, TypeName: "integer", BaseOID: pgtype.Int4OID})
	for _, tc := range []struct {
		cond string
		pos  int
		msg  string
	}{
		{"contry = 'DE'", 1, `unknown column "contry" (did you mean "country"?)`},
		{`"mixed case" = 'x'`, 1, `unknown column "mixed case" (did you mean "Mixed Case"?)`},
		{`NAME = 'x' AND Mixed = 1`, 16, `unknown column "mixed"`},
		{"zzzzzzzz = 1", 1, `unknown column "zzzzzzzz"`},
		{"total > 1", 1, `column "total" is generated`},
		{"country = 1", 11, `column "country" is of type character varying(2); compare it with a quoted string, not the number 1`},
		{"age = '30'", 7, `column "age" is of type integer; compare it with an integer, not the string '30'`},
		{"age = 30.5", 7, `compare it with an integer, not 30.5`},
		{"age = TRUE", 7, `compare it with an integer, not TRUE`},
		{"age IN (1, 'x')", 12, `compare it with an integer, not the string 'x'`},
		{"big > 9223372036854775808", 7, `out of range for bigint`},
		{"active = 1", 10, `column "active" is of type boolean; compare it with TRUE or FALSE, not the number 1`},
		{"amount = '1'", 10, `compare it with a number`},
		{"score = 1" + strings.Repeat("0", 400), 9, `out of range for double precision`},
		{"name > 'M'", 1, `ordering text (>) depends on the database's collation`},
		{"code <= 'M'", 1, `ordering text (<=)`},
		{"email < 'M'", 1, `ordering text (<)`},
		{"mood > 'happy'", 1, `is its declaration order`},
		{"age LIKE '1%'", 1, `column "age" is of type integer; LIKE matches text columns only`},
		{"mood LIKE 'h%'", 1, `LIKE matches text columns only`},
		{`name LIKE 'abc\'`, 11, `must not end with the escape character`},
		{"doc = 'x'", 1, `column "doc" is of type jsonb, which a condition can only test with IS NULL or IS NOT NULL`},
		{"born = 2000", 8, `compare it with a quoted date`},
		{"born = '2000-02-30'", 8, `2000-02-30 is not a date`},
		{"born = '20000101'", 8, `a date is written 'YYYY-MM-DD'`},
		{"born = '2000-01-01 10:00'", 8, `a date is written 'YYYY-MM-DD'`},
		{"seen = '2000-01-01 25:00'", 8, `out of range`},
		{"seen = '2000-01-01 10:00+02'", 8, `takes no UTC offset`},
		{"seen = '2000-01-01 10:00:00.1234567'", 8, `1 to 6 digits`},
		{"seentz = '2000-01-01 10:00'", 10, `needs its UTC offset`},
		{"seentz = '2000-01-01 10:00 +25'", 10, `is not a UTC offset`},
		{"at = '9:00'", 6, `a time is written`},
		{"id = 'abc'", 6, `a uuid is written as 32 hex digits`},
	} {
		e, err := Parse(tc.cond)
		if err != nil {
			t.Errorf("%s: parse: %v", tc.cond, err)
			continue
		}
		_, err = e.Bind(cols)
		var we *Error
		if !errors.As(err, &we) {
			t.Errorf("%s: got %v, want an *Error", tc.cond, err)
			continue
		}
		if we.Pos != tc.pos || !strings.Contains(we.Error(), tc.msg) {
			t.Errorf("%s:\n got %v (position %d)\nwant position %d, containing %q", tc.cond, err, we.Pos, tc.pos, tc.msg)
		}
	}
}

func TestCheckValidatesLiterals(t *testing.T) {
	cols := bindCols()
	for i := range cols {
		if cols[i].Name == "mood" {
			cols[i].Check = func(s string) error {
				if s != "happy" && s != "sad" && s != "angry" {
					return errors.New(`invalid input value for enum mood: "` + s + `"`)
				}
				return nil
			}
		}
	}
	e, _ := Parse("mood IN ('happy', 'hapy')")
	_, err := e.Bind(cols)
	if err == nil || !strings.Contains(err.Error(), `at character 19: column "mood" (mood): invalid input value for enum mood: "hapy"`) {
		t.Fatalf("got %v", err)
	}
}

func TestColumnsAndString(t *testing.T) {
	e, err := Parse(`age > 1 AND (country = 'DE' OR age < 0) AND "Mixed Case" IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.Bind(bindCols())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Columns(), ","); got != "age,country,Mixed Case" {
		t.Errorf("Columns = %s", got)
	}
	if c.String() != e.String() {
		t.Errorf("String = %s", c.String())
	}
}

// A batch whose arrays are slices (offset > 0) selects the same rows as the rows it holds.
func TestSelectSlicedRecord(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	native, wire := testRecords(t, mem)
	defer native.Release()
	defer wire.Release()
	e, _ := Parse("country = 'DE' OR amount < 0 OR born IS NULL")
	c, err := e.Bind(bindCols())
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []arrow.Record{native, wire} {
		full, err := c.Select(rec, nil)
		if err != nil {
			t.Fatal(err)
		}
		part := rec.NewSlice(3, 7)
		sel, err := c.Select(part, nil)
		part.Release()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			if sel.Has(i) != full.Has(i+3) {
				t.Errorf("sliced row %d: %v, full row %d: %v", i, sel.Has(i), i+3, full.Has(i+3))
			}
		}
		if sel.Count() > 4 {
			t.Errorf("bits past the last row are set: %b", sel)
		}
	}
}

// Mask and Merge: unselected rows keep their bytes, selected rows take the output, for every
// layout the codec produces.
func TestMaskAndMerge(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	native, wire := testRecords(t, mem)
	defer native.Release()
	defer wire.Release()
	n := len(testRows)
	sel := make(Selection, 1)
	for _, i := range []int{0, 2, 3, 6} {
		sel[0] |= 1 << i
	}
	for _, rec := range []arrow.Record{native, wire, native.NewSlice(0, int64(n))} {
		for c := 0; c < int(rec.NumCols()); c++ {
			orig := rec.Column(c)
			masked := sel.Mask(mem, orig)
			for i := 0; i < n; i++ {
				want := sel.Has(i) && orig.IsValid(i)
				if masked.IsValid(i) != want {
					t.Errorf("column %d row %d: masked valid %v, want %v", c, i, masked.IsValid(i), want)
				}
				if want && masked.ValueStr(i) != orig.ValueStr(i) {
					t.Errorf("column %d row %d: masked %s, want %s", c, i, masked.ValueStr(i), orig.ValueStr(i))
				}
			}
			if masked.NullN() != n-countValid(masked) {
				t.Errorf("column %d: NullN %d", c, masked.NullN())
			}
			// The "transformer" output: the column reversed, so every row differs.
			out := reversed(t, mem, orig)
			merged, err := sel.Merge(mem, orig, out)
			if err != nil {
				t.Fatalf("column %d: %v", c, err)
			}
			for i := 0; i < n; i++ {
				src := orig
				if sel.Has(i) {
					src = out
				}
				if merged.IsValid(i) != src.IsValid(i) || src.IsValid(i) && merged.ValueStr(i) != src.ValueStr(i) {
					t.Errorf("column %d row %d: merged %s, want %s", c, i, merged.ValueStr(i), src.ValueStr(i))
				}
			}
			masked.Release()
			out.Release()
			merged.Release()
		}
		if rec != native && rec != wire {
			rec.Release()
		}
	}
}

func countValid(a arrow.Array) int {
	n := 0
	for i := 0; i < a.Len(); i++ {
		if a.IsValid(i) {
			n++
		}
	}
	return n
}

func reversed(t *testing.T, mem memory.Allocator, a arrow.Array) arrow.Array {
	t.Helper()
	parts := make([]arrow.Array, a.Len())
	for i := range parts {
		parts[i] = array.NewSlice(a, int64(a.Len()-1-i), int64(a.Len()-i))
		defer parts[i].Release()
	}
	out, err := array.Concatenate(parts, mem)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Select allocates nothing per row, nor per batch once its selection is reused.
func TestSelectAllocations(t *testing.T) {
	mem := memory.NewGoAllocator()
	native, wire := testRecords(t, mem)
	defer native.Release()
	defer wire.Release()
	e, _ := Parse("(country = 'DE' OR amount < 0) AND name LIKE '%a%' AND NOT born IS NULL AND age IN (1, 2, 30) OR score > 1")
	c, err := e.Bind(bindCols())
	if err != nil {
		t.Fatal(err)
	}
	sel := make(Selection, 1)
	for _, rec := range []arrow.Record{native, wire} {
		if _, err := c.Select(rec, sel); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { c.Select(rec, sel) }); n > 0 {
			t.Errorf("%v allocations per Select", n)
		}
	}
}
