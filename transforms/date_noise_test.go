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

// dnYear is the year of a day (days since 1970), by the time package.
func dnYear(days int64) int { return time.Unix(days*86400, 0).UTC().Year() }

// dnMicrosYear is the UTC year of a timestamp in µs.
func dnMicrosYear(us int64) int { return time.UnixMicro(us).UTC().Year() }

// Dates move by at most max days, both ways; NULL and the infinities stay; keep_year keeps
// the year even at its first and last day.
func TestDateNoiseMovesDatesWithinMax(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-dates")
	in := make([]any, 0, 3000)
	for d := shapeDay("2019-12-01"); d < shapeDay("2021-02-01"); d++ { // both year ends
		in = append(in, d)
	}
	// 100 BC, the first days PostgreSQL holds (4714-11-24 BC) and the infinities.
	in = append(in, pgdate.DaysFromCivil(-99, 12, 31), pgdate.DaysFromCivil(-99, 1, 1), int64(pgdate.MinDay), int64(pgdate.MinDay+1), nil, int64(math.MaxInt32), int64(math.MinInt32))

	for _, tc := range []struct {
		p        string
		max      int64
		keepYear bool
	}{
		{"{max: 30d}", 30, false},
		{"{max: 30d, keep_year: true}", 30, true},
		{"{max: 365d, keep_year: true}", 365, true},
		{"{max: 1d}", 1, false},
		// A date moves by whole days: 1d12h on a date is at most one day.
		{"{max: 1d12h}", 1, false},
	} {
		out := shapeRun(t, shapeNew(t, "date_noise", shapeDateCol, key, params(t, tc.p)), mem, arrow.FixedWidthTypes.Date32, in)
		moved, earlier, later := 0, 0, 0
		for i, o := range out {
			switch v := in[i]; {
			case v == nil:
				if o != nil {
					t.Errorf("%s: NULL became %v", tc.p, o)
				}
				continue
			case v == int64(math.MaxInt32) || v == int64(math.MinInt32):
				if o != v {
					t.Errorf("%s: infinity %v became %v", tc.p, v, o)
				}
				continue
			}
			v, w := in[i].(int64), o.(int64)
			if w < pgdate.MinDay {
				t.Errorf("%s: %d moved to %d, before the first date PostgreSQL holds", tc.p, v, w)
			}
			if d := w - v; d > tc.max || d < -tc.max {
				t.Errorf("%s: %s moved %d days to %s", tc.p, shapeDateString(v), d, shapeDateString(w))
			}
			if tc.keepYear && dnYear(v) != dnYear(w) {
				t.Errorf("%s: %s moved to %s, another year", tc.p, shapeDateString(v), shapeDateString(w))
			}
			switch {
			case w < v:
				earlier++
				moved++
			case w > v:
				later++
				moved++
			}
		}
		if n := len(in) - 3; int64(moved) < int64(n)*tc.max/(tc.max+1)-int64(n/10) || earlier < moved/3 || later < moved/3 {
			t.Errorf("%s: %d of %d dates moved, %d earlier and %d later", tc.p, moved, n, earlier, later)
		}
	}
}

// Timestamps move by any number of microseconds up to max; timestamptz keeps its UTC year.
func TestDateNoiseMovesTimestampsWithinMax(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-dates")
	in := make([]any, 0, 2100)
	for us := shapeMicrosOf("2020-12-31 20:00:00"); us < shapeMicrosOf("2021-01-01 04:00:00"); us += 15 * 1000000 {
		in = append(in, us)
	}
	in = append(in, nil, int64(math.MaxInt64), int64(math.MinInt64), int64(pgdate.MinMicros), int64(pgdate.MaxMicros))
	hour := int64(3600 * 1000000)
	for _, tc := range []struct {
		col      Column
		dt       arrow.DataType
		p        string
		max      int64
		keepYear bool
	}{
		{shapeTSCol, shapeTSType, "{max: 2h}", 2 * hour, false},
		{shapeTSTZCol, shapeTSTZType, "{max: 2h}", 2 * hour, false},
		{shapeTSTZCol, shapeTSTZType, "{max: 6h, keep_year: true}", 6 * hour, true},
		{shapeTSCol, shapeTSType, "{max: 1d2h3m4s, keep_year: true}", 26*hour + 3*60*1000000 + 4*1000000, true},
		{shapeTSCol, shapeTSType, "{max: 90s}", 90 * 1000000, false},
	} {
		out := shapeRun(t, shapeNew(t, "date_noise", tc.col, key, params(t, tc.p)), mem, tc.dt, in)
		subSecond := 0
		for i, o := range out {
			switch v := in[i]; {
			case v == nil:
				if o != nil {
					t.Errorf("NULL became %v", o)
				}
				continue
			case v == int64(math.MaxInt64) || v == int64(math.MinInt64):
				if o != v {
					t.Errorf("%s: infinity %v became %v", tc.p, v, o)
				}
				continue
			}
			v, w := in[i].(int64), o.(int64)
			if w < pgdate.MinMicros || w > pgdate.MaxMicros {
				t.Errorf("%s: %d moved to %d, outside PostgreSQL's range", tc.p, v, w)
			}
			if v == pgdate.MinMicros || v == pgdate.MaxMicros {
				continue // clamped at the edge
			}
			if d := w - v; d > tc.max || d < -tc.max {
				t.Errorf("%s %s: %s moved by %s", tc.col.TypeName, tc.p, time.UnixMicro(v).UTC(), time.Duration(d*1000))
			}
			if tc.keepYear && dnMicrosYear(v) != dnMicrosYear(w) {
				t.Errorf("%s %s: %s moved to %s", tc.col.TypeName, tc.p, time.UnixMicro(v).UTC(), time.UnixMicro(w).UTC())
			}
			if (w-v)%1000000 != 0 {
				subSecond++
			}
		}
		if subSecond < len(in)/2 {
			t.Errorf("%s: only %d of %d moves are not whole seconds", tc.p, subSecond, len(in))
		}
	}
}

// The same value moves the same way wherever it is; another key or domain moves it otherwise.
func TestDateNoiseIsKeyed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := make([]any, 400)
	for i := range in {
		in[i] = shapeDay("2020-01-01") + int64(i%200)
	}
	key1, key2 := testKey(t, "0123456789abcdef-one"), testKey(t, "0123456789abcdef-two")
	p := "{max: 3650d}"
	a := shapeRun(t, shapeNew(t, "date_noise", shapeDateCol, key1, params(t, p)), mem, arrow.FixedWidthTypes.Date32, in)
	again := shapeRun(t, shapeNew(t, "date_noise", shapeDateCol, key1, params(t, p)), mem, arrow.FixedWidthTypes.Date32, in)
	b := shapeRun(t, shapeNew(t, "date_noise", shapeDateCol, key2, params(t, p)), mem, arrow.FixedWidthTypes.Date32, in)
	c := shapeRun(t, shapeNew(t, "date_noise", shapeDateCol, key1, params(t, "{max: 3650d, domain: hired}")), mem, arrow.FixedWidthTypes.Date32, in)
	sameB, sameC := 0, 0
	for i := range in {
		if a[i] != a[i%200] || a[i] != again[i] {
			t.Fatalf("%s moved to %s and %s", shapeDateString(in[i].(int64)), shapeDateString(a[i%200].(int64)), shapeDateString(a[i].(int64)))
		}
		if a[i] == b[i] {
			sameB++
		}
		if a[i] == c[i] {
			sameC++
		}
	}
	if sameB > 10 || sameC > 10 {
		t.Errorf("another key matched %d/400, another domain %d/400", sameB, sameC)
	}
}

func TestDateNoiseRefusals(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	uniq := shapeDateCol
	uniq.Unique = true
	for _, tc := range []struct {
		col  Column
		key  *Key
		p    string
		want string
	}{
		{shapeTextCol, key, "{max: 30d}", "column type text is not one"},
		{shapeInt4Col, key, "{max: 30d}", "column type integer is not one"},
		{shapeDateCol, key, "", "date_noise needs max"},
		{shapeDateCol, key, "{max: 0d}", "max must be more than 0"},
		{shapeDateCol, key, "{max: 12h}", "a date moves by whole days, so max must be at least 1d"},
		{shapeTSCol, key, "{max: 30}", "30 needs a unit"},
		{shapeTSCol, key, "{max: 30w}", `unknown unit 'w'`},
		{shapeTSCol, key, "{max: 2h1d}", "units go from days to seconds"},
		{shapeTSCol, key, "{max: 20000000d}", "over 10000000 days"},
		{uniq, key, "{max: 30d}", "column c is unique"},
		{shapeDateCol, key, "{max: 30d, keep_yaer: true}", `did you mean "keep_year"`},
	} {
		if got := shapeErr(t, "date_noise", tc.col, tc.key, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

func BenchmarkDateNoiseDate(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = int64(10000 + i)
	}
	shapeBench(b, shapeNew(b, "date_noise", shapeDateCol, key, shapeParamsTB(b, "{max: 30d, keep_year: true}")), arrow.FixedWidthTypes.Date32, vals)
}

func BenchmarkDateNoiseTimestamp(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = int64(1_600_000_000_000_000 + i*977_000_123)
	}
	shapeBench(b, shapeNew(b, "date_noise", shapeTSCol, key, shapeParamsTB(b, "{max: 12h}")), shapeTSType, vals)
}
