package transforms

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgdate"
)

// tdDay is days since 1970 of a civil date, by the time package (proleptic Gregorian; year
// 0 is 1 BC, as in PostgreSQL).
func tdDay(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// tdMicros is µs since 1970 of a UTC time.
func tdMicros(y int, m time.Month, d, h, mi, s, us int) int64 {
	return time.Date(y, m, d, h, mi, s, us*1000, time.UTC).UnixMicro()
}

// Dates cut to the first of their month or year, before 1970 and BC alike.
func TestTruncateDates(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := []any{
		tdDay(2024, 2, 29), tdDay(2024, 1, 1), tdDay(2023, 12, 31), tdDay(1970, 1, 1), tdDay(1969, 12, 31),
		tdDay(1900, 3, 1), tdDay(0, 2, 29), tdDay(-44, 3, 15), tdDay(-4713, 12, 31), nil,
		int64(math.MaxInt32), int64(math.MinInt32), tdDay(5874897, 12, 31),
	}
	month := []any{
		tdDay(2024, 2, 1), tdDay(2024, 1, 1), tdDay(2023, 12, 1), tdDay(1970, 1, 1), tdDay(1969, 12, 1),
		tdDay(1900, 3, 1), tdDay(0, 2, 1), tdDay(-44, 3, 1), tdDay(-4713, 12, 1), nil,
		int64(math.MaxInt32), int64(math.MinInt32), tdDay(5874897, 12, 1),
	}
	year := []any{
		tdDay(2024, 1, 1), tdDay(2024, 1, 1), tdDay(2023, 1, 1), tdDay(1970, 1, 1), tdDay(1969, 1, 1),
		tdDay(1900, 1, 1), tdDay(0, 1, 1), tdDay(-44, 1, 1),
		// 4714-01-01 BC is before the first date PostgreSQL holds (4714-11-24 BC): clamped.
		int64(pgdate.MinDay), nil,
		int64(math.MaxInt32), int64(math.MinInt32), tdDay(5874897, 1, 1),
	}
	for _, tc := range []struct {
		p    string
		want []any
	}{{"{to: month}", month}, {"", month}, {"{to: year}", year}} {
		got := shapeRun(t, shapeNew(t, "truncate", shapeDateCol, nil, params(t, tc.p)), mem, arrow.FixedWidthTypes.Date32, in)
		for i := range in {
			if got[i] != tc.want[i] {
				t.Errorf("truncate %s: %v became %v, want %v", tc.p, tdShow(in[i]), tdShow(got[i]), tdShow(tc.want[i]))
			}
		}
	}
	// The first date PostgreSQL holds stays within its range.
	got := shapeRun(t, shapeNew(t, "truncate", shapeDateCol, nil, params(t, "{to: month}")), mem, arrow.FixedWidthTypes.Date32, []any{int64(pgdate.MinDay)})
	if got[0] != int64(pgdate.MinDay) {
		t.Errorf("4714-11-24 BC to month became %v", tdShow(got[0]))
	}
}

func tdShow(v any) string {
	if d, ok := v.(int64); ok && d > math.MinInt32 && d < math.MaxInt32 {
		return time.Unix(d*86400, 0).UTC().Format("2006-01-02")
	}
	if v == nil {
		return "NULL"
	}
	return "infinity"
}

// Timestamps cut to the hour, day, month or year; before 1970 the cut goes down, not
// towards 1970; timestamptz is cut in UTC.
func TestTruncateTimestamps(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := []any{
		tdMicros(2024, 3, 10, 13, 45, 12, 345678),
		tdMicros(1969, 12, 31, 23, 59, 59, 999999), // -1 µs
		tdMicros(-44, 3, 15, 11, 30, 0, 1),
		tdMicros(2024, 1, 1, 0, 0, 0, 0),
		nil, int64(math.MaxInt64), int64(math.MinInt64),
	}
	want := map[string][]any{
		"hour":  {tdMicros(2024, 3, 10, 13, 0, 0, 0), tdMicros(1969, 12, 31, 23, 0, 0, 0), tdMicros(-44, 3, 15, 11, 0, 0, 0), tdMicros(2024, 1, 1, 0, 0, 0, 0), nil, int64(math.MaxInt64), int64(math.MinInt64)},
		"day":   {tdMicros(2024, 3, 10, 0, 0, 0, 0), tdMicros(1969, 12, 31, 0, 0, 0, 0), tdMicros(-44, 3, 15, 0, 0, 0, 0), tdMicros(2024, 1, 1, 0, 0, 0, 0), nil, int64(math.MaxInt64), int64(math.MinInt64)},
		"month": {tdMicros(2024, 3, 1, 0, 0, 0, 0), tdMicros(1969, 12, 1, 0, 0, 0, 0), tdMicros(-44, 3, 1, 0, 0, 0, 0), tdMicros(2024, 1, 1, 0, 0, 0, 0), nil, int64(math.MaxInt64), int64(math.MinInt64)},
		"year":  {tdMicros(2024, 1, 1, 0, 0, 0, 0), tdMicros(1969, 1, 1, 0, 0, 0, 0), tdMicros(-44, 1, 1, 0, 0, 0, 0), tdMicros(2024, 1, 1, 0, 0, 0, 0), nil, int64(math.MaxInt64), int64(math.MinInt64)},
	}
	for _, to := range []string{"hour", "day", "month", "year"} {
		for _, c := range []struct {
			col Column
			dt  arrow.DataType
		}{{shapeTSCol, shapeTSType}, {shapeTSTZCol, shapeTSTZType}} {
			got := shapeRun(t, shapeNew(t, "truncate", c.col, nil, params(t, "{to: "+to+"}")), mem, c.dt, in)
			for i := range in {
				if got[i] != want[to][i] {
					t.Errorf("%s to %s: %v became %v, want %v", c.col.TypeName, to, tsShow(in[i]), tsShow(got[i]), tsShow(want[to][i]))
				}
			}
		}
	}
	// 2024-01-01 00:30 at +02:00 is 2023-12-31 22:30 UTC: its year is 2023.
	local := time.Date(2024, 1, 1, 0, 30, 0, 0, time.FixedZone("", 2*3600)).UnixMicro()
	got := shapeRun(t, shapeNew(t, "truncate", shapeTSTZCol, nil, params(t, "{to: year}")), mem, shapeTSTZType, []any{local})
	if got[0] != tdMicros(2023, 1, 1, 0, 0, 0, 0) {
		t.Errorf("timestamptz 2024-01-01 00:30+02 to year became %v, want 2023-01-01 00:00 UTC", tsShow(got[0]))
	}
	// The first instant PostgreSQL holds (4714-11-24 BC) cut to a year stays inside the range.
	got = shapeRun(t, shapeNew(t, "truncate", shapeTSCol, nil, params(t, "{to: year}")), mem, shapeTSType, []any{int64(pgdate.MinMicros + 5)})
	if got[0] != int64(pgdate.MinMicros) {
		t.Errorf("4714-11-24 BC to year became %v, want %v", tsShow(got[0]), tsShow(int64(pgdate.MinMicros)))
	}
}

func tsShow(v any) string {
	if us, ok := v.(int64); ok && us != math.MaxInt64 && us != math.MinInt64 {
		return time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05.999999")
	}
	if v == nil {
		return "NULL"
	}
	return "infinity"
}

func TestTruncateRefusals(t *testing.T) {
	uniq := shapeDateCol
	uniq.Unique = true
	for _, tc := range []struct {
		col  Column
		p    string
		want string
	}{
		{shapeTextCol, "{to: year}", "column type text is not one"},
		{shapeInt8Col, "{to: year}", "column type bigint is not one"},
		{shapeDateCol, "{to: day}", "to: day changes nothing on a date"},
		{shapeDateCol, "{to: hour}", "to: hour changes nothing on a date"},
		{shapeTSCol, "{to: week}", `to: "week": use year, month, day or hour`},
		{shapeTSCol, "{to: Month}", `use year, month, day or hour`},
		{uniq, "{to: year}", "column c is unique"},
		{shapeDateCol, "{too: year}", `did you mean "to"`},
	} {
		if got := shapeErr(t, "truncate", tc.col, nil, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

func BenchmarkTruncateDate(b *testing.B) {
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = int64(10000 + i)
	}
	shapeBench(b, shapeNew(b, "truncate", shapeDateCol, nil, shapeParamsTB(b, "{to: month}")), arrow.FixedWidthTypes.Date32, vals)
}

func BenchmarkTruncateTimestamp(b *testing.B) {
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = int64(1_600_000_000_000_000 + i*977_000_123)
	}
	shapeBench(b, shapeNew(b, "truncate", shapeTSCol, nil, shapeParamsTB(b, "{to: year}")), shapeTSType, vals)
}
