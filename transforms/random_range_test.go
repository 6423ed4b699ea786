package transforms

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"gopkg.in/yaml.v3"
)

// shapeParamsTB is params for benchmarks (params takes a *testing.T).
func shapeParamsTB(tb testing.TB, src string) Params {
	tb.Helper()
	if src == "" {
		return YAMLParams(nil)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		tb.Fatal(err)
	}
	return YAMLParams(doc.Content[0])
}

// rrScale is the number of decimals of a numeric's text.
func rrScale(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

func rrRat(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a number", s)
	}
	return r
}

// Every draw lies in [min, max] in the column's own type, NULL stays NULL, and the draws
// cover the range (a value drawn from 11 integers over 2000 inputs hits each one).
func TestRandomRangeStaysWithinMinMax(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-range")

	ints := make([]any, 2000)
	for i := range ints {
		ints[i] = int64(i*37 - 20000)
	}
	ints[5] = nil
	for _, tc := range []struct {
		col      Column
		dt       arrow.DataType
		p        string
		lo, hi   int64
		coverAll bool
	}{
		{shapeInt2Col, arrow.PrimitiveTypes.Int16, "{min: -5, max: 5}", -5, 5, true},
		{shapeInt4Col, arrow.PrimitiveTypes.Int32, "{min: 18, max: 99}", 18, 99, true},
		{shapeInt4Col, arrow.PrimitiveTypes.Int32, "{min: 7, max: 7}", 7, 7, true},
		{shapeInt8Col, arrow.PrimitiveTypes.Int64, `{min: "-9223372036854775808", max: "9223372036854775807"}`, math.MinInt64, math.MaxInt64, false},
		{shapeInt8Col, arrow.PrimitiveTypes.Int64, `{min: "1e15", max: "1000000000000010"}`, 1e15, 1e15 + 10, true},
		{shapeInt2Col, arrow.PrimitiveTypes.Int16, "{min: -32768, max: 32767}", math.MinInt16, math.MaxInt16, false},
	} {
		in := ints
		if tc.dt == arrow.PrimitiveTypes.Int16 {
			in = make([]any, len(ints))
			for i, v := range ints {
				if v != nil {
					in[i] = v.(int64) % 30000
				}
			}
		}
		out := shapeRun(t, shapeNew(t, "random_range", tc.col, key, params(t, tc.p)), mem, tc.dt, in)
		seen := map[int64]bool{}
		for i, o := range out {
			if in[i] == nil {
				if o != nil {
					t.Errorf("%s %s: NULL became %v", tc.col.TypeName, tc.p, o)
				}
				continue
			}
			v := o.(int64)
			if v < tc.lo || v > tc.hi {
				t.Errorf("%s %s: %v became %d, outside [%d, %d]", tc.col.TypeName, tc.p, in[i], v, tc.lo, tc.hi)
			}
			seen[v] = true
		}
		if tc.coverAll && int64(len(seen)) != tc.hi-tc.lo+1 {
			t.Errorf("%s %s: %d distinct draws over 2000 inputs, want all %d values", tc.col.TypeName, tc.p, len(seen), tc.hi-tc.lo+1)
		}
		if !tc.coverAll && len(seen) < 1900 {
			t.Errorf("%s %s: only %d distinct draws over 2000 inputs", tc.col.TypeName, tc.p, len(seen))
		}
	}

	floats := []any{1.5, -2.25e10, 0.0, math.NaN(), math.Inf(1), math.Inf(-1), nil, 3.4e38, 1e-30, 42.0, 43.0, 44.0}
	for _, tc := range []struct {
		col    Column
		dt     arrow.DataType
		p      string
		lo, hi float64
	}{
		{shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{min: -1e300, max: 1e300}", -1e300, 1e300},
		{shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{min: 0.1, max: 0.2}", 0.1, 0.2},
		// 0.1 and 0.2 are not float32 values: the draws stay inside them all the same.
		{shapeFloat4Col, arrow.PrimitiveTypes.Float32, "{min: 0.1, max: 0.2}", 0.1, 0.2},
		{shapeFloat4Col, arrow.PrimitiveTypes.Float32, "{min: -3.4e38, max: 3.4e38}", -3.4e38, 3.4e38},
		{shapeFloat4Col, arrow.PrimitiveTypes.Float32, "{min: 0.5, max: 0.5}", 0.5, 0.5},
	} {
		out := shapeRun(t, shapeNew(t, "random_range", tc.col, key, params(t, tc.p)), mem, tc.dt, floats)
		for i, o := range out {
			switch v := floats[i]; {
			case v == nil:
				if o != nil {
					t.Errorf("NULL became %v", o)
				}
			case math.IsNaN(v.(float64)):
				if !math.IsNaN(o.(float64)) {
					t.Errorf("%s: NaN became %v", tc.col.TypeName, o)
				}
			case math.IsInf(v.(float64), 0):
				if o.(float64) != v.(float64) {
					t.Errorf("%s: %v became %v", tc.col.TypeName, v, o)
				}
			default:
				if w := o.(float64); !(w >= tc.lo && w <= tc.hi) {
					t.Errorf("%s %s: %v became %v, outside the range", tc.col.TypeName, tc.p, v, w)
				}
			}
		}
		if out[9] == out[10] && out[10] == out[11] && tc.lo != tc.hi {
			t.Errorf("%s %s: 42, 43 and 44 all became %v", tc.col.TypeName, tc.p, out[9])
		}
	}

	// Numerics keep the scale of each value; the draw respects min and max at that scale.
	nums := []any{"1.25", "3", "-0.5", "0.000", nil, "NaN", "Infinity", "-Infinity", "12345678901234567890.123456789012345678901", "7.1", "7.2", "7.3"}
	out := shapeRun(t, shapeNew(t, "random_range", shapeNumericCol, key, params(t, `{min: "-10", max: "10.5"}`)), mem, arrow.BinaryTypes.String, nums)
	lo, hi := rrRat(t, "-10"), rrRat(t, "10.5")
	for i, o := range out {
		if nums[i] == nil {
			if o != nil {
				t.Errorf("NULL became %v", o)
			}
			continue
		}
		in, got := nums[i].(string), o.(string)
		switch in {
		case "NaN", "Infinity", "-Infinity":
			if got != in {
				t.Errorf("%s became %s", in, got)
			}
			continue
		}
		if rrScale(got) != rrScale(in) {
			t.Errorf("%s became %s: the scale changed", in, got)
		}
		if v := rrRat(t, got); v.Cmp(lo) < 0 || v.Cmp(hi) > 0 {
			t.Errorf("%s became %s, outside [-10, 10.5]", in, got)
		}
		if strings.HasPrefix(got, "-0") && rrRat(t, got).Sign() == 0 || strings.HasPrefix(got, "00") {
			t.Errorf("%s became %s, not as numeric_out prints it", in, got)
		}
	}
	if out[9] == out[10] && out[10] == out[11] {
		t.Errorf("7.1, 7.2 and 7.3 all became %v", out[9])
	}
	// numeric(5,2): the whole range of the type, at its scale.
	in := make([]any, 500)
	for i := range in {
		in[i] = strconv.Itoa(i) + ".00"
	}
	for _, o := range shapeRun(t, shapeNew(t, "random_range", shapeNumericTypmodCol(5, 2), key, params(t, `{min: "-999.99", max: "999.99"}`)), mem, arrow.BinaryTypes.String, in) {
		if v := rrRat(t, o.(string)); rrScale(o.(string)) != 2 || v.Cmp(rrRat(t, "-999.99")) < 0 || v.Cmp(rrRat(t, "999.99")) > 0 {
			t.Errorf("numeric(5,2) got %s", o)
		}
	}

	// Dates and timestamps; the infinity sentinels pass.
	days := []any{shapeDay("1999-05-01"), nil, int64(math.MaxInt32), int64(math.MinInt32), shapeDay("2040-01-01"), int64(-800000)}
	dlo, dhi := shapeDay("2020-01-01"), shapeDay("2020-12-31")
	for i, o := range shapeRun(t, shapeNew(t, "random_range", shapeDateCol, key, params(t, "{min: 2020-01-01, max: 2020-12-31}")), mem, arrow.FixedWidthTypes.Date32, days) {
		switch v := days[i]; {
		case v == nil:
			if o != nil {
				t.Errorf("NULL became %v", o)
			}
		case v == int64(math.MaxInt32) || v == int64(math.MinInt32):
			if o != v {
				t.Errorf("infinity %v became %v", v, o)
			}
		case o.(int64) < dlo || o.(int64) > dhi:
			t.Errorf("date %s became %s, outside 2020", shapeDateString(v.(int64)), shapeDateString(o.(int64)))
		}
	}
	stamps := []any{shapeMicrosOf("1999-05-01 10:00:00"), nil, int64(math.MaxInt64), int64(math.MinInt64), int64(-1), int64(0)}
	for _, tc := range []struct {
		col    Column
		dt     arrow.DataType
		p      string
		lo, hi int64
	}{
		{shapeTSCol, shapeTSType, `{min: "2020-01-01 08:00:00", max: "2020-01-01 09:00:00"}`, shapeMicrosOf("2020-01-01 08:00:00"), shapeMicrosOf("2020-01-01 09:00:00")},
		// A zone in the bound is honoured: +02:00 is two hours earlier in UTC.
		{shapeTSTZCol, shapeTSTZType, `{min: "2020-01-01T00:00:00+02:00", max: "2020-01-01"}`, shapeMicrosOf("2019-12-31 22:00:00"), shapeMicrosOf("2020-01-01 00:00:00")},
	} {
		for i, o := range shapeRun(t, shapeNew(t, "random_range", tc.col, key, params(t, tc.p)), mem, tc.dt, stamps) {
			switch v := stamps[i]; {
			case v == nil:
				if o != nil {
					t.Errorf("NULL became %v", o)
				}
			case v == int64(math.MaxInt64) || v == int64(math.MinInt64):
				if o != v {
					t.Errorf("infinity %v became %v", v, o)
				}
			case o.(int64) < tc.lo || o.(int64) > tc.hi:
				t.Errorf("%s %s: %d became %d, outside the range", tc.col.TypeName, tc.p, v, o)
			}
		}
	}
}

// The draws are uniform: 20000 inputs over ten values put about 2000 on each.
func TestRandomRangeIsUniform(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := make([]any, 20000)
	for i := range in {
		in[i] = int64(i)
	}
	out := shapeRun(t, shapeNew(t, "random_range", shapeInt4Col, testKey(t, "0123456789abcdef-range"), params(t, "{min: 0, max: 9}")), mem, arrow.PrimitiveTypes.Int32, in)
	counts := make([]int, 10)
	for _, o := range out {
		counts[o.(int64)]++
	}
	for v, n := range counts {
		if n < 1700 || n > 2300 { // the standard deviation is 42: this bound is 7 of them
			t.Errorf("value %d drawn %d times of 20000, want about 2000 (all: %v)", v, n, counts)
		}
	}
}

// The same input gets the same draw, in every batch and column type holding it; another key
// or domain draws otherwise.
func TestRandomRangeIsKeyed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := make([]any, 400)
	for i := range in {
		in[i] = int64(i % 200)
	}
	p := "{min: 0, max: 1000000}"
	key1, key2 := testKey(t, "0123456789abcdef-one"), testKey(t, "0123456789abcdef-two")
	a := shapeRun(t, shapeNew(t, "random_range", shapeInt4Col, key1, params(t, p)), mem, arrow.PrimitiveTypes.Int32, in)
	again := shapeRun(t, shapeNew(t, "random_range", shapeInt4Col, key1, params(t, p)), mem, arrow.PrimitiveTypes.Int32, in)
	wide := shapeRun(t, shapeNew(t, "random_range", shapeInt8Col, key1, params(t, p)), mem, arrow.PrimitiveTypes.Int64, in)
	b := shapeRun(t, shapeNew(t, "random_range", shapeInt4Col, key2, params(t, p)), mem, arrow.PrimitiveTypes.Int32, in)
	c := shapeRun(t, shapeNew(t, "random_range", shapeInt4Col, key1, params(t, "{min: 0, max: 1000000, domain: age}")), mem, arrow.PrimitiveTypes.Int32, in)
	sameB, sameC := 0, 0
	for i := range in {
		if a[i] != a[i%200] || a[i] != again[i] || a[i] != wide[i] {
			t.Fatalf("input %v: draws %v, %v (row %d), %v (again), %v (bigint)", in[i], a[i%200], a[i], i, again[i], wide[i])
		}
		if a[i] == b[i] {
			sameB++
		}
		if a[i] == c[i] {
			sameC++
		}
	}
	if sameB > 4 || sameC > 4 {
		t.Errorf("another key matched %d/400 draws, another domain %d/400", sameB, sameC)
	}
	// Numerics and dates are keyed by value too.
	nums := []any{"1.50", "2.50", "1.50"}
	n := shapeRun(t, shapeNew(t, "random_range", shapeNumericCol, key1, params(t, "{min: 0, max: 100}")), mem, arrow.BinaryTypes.String, nums)
	if n[0] != n[2] || n[0] == n[1] {
		t.Errorf("numerics 1.50, 2.50, 1.50 became %v", n)
	}
}

// A numeric whose scale leaves no value in [min, max] is an error naming the problem, not a
// value outside the range.
func TestRandomRangeNumericScaleWithoutRoom(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tr := shapeNew(t, "random_range", shapeNumericCol, testKey(t, "0123456789abcdef-range"), params(t, "{min: 0.5, max: 0.6}"))
	for _, o := range shapeRun(t, tr, mem, arrow.BinaryTypes.String, []any{"0.25", "9.999"}) {
		if v := rrRat(t, o.(string)); v.Cmp(rrRat(t, "0.5")) < 0 || v.Cmp(rrRat(t, "0.6")) > 0 {
			t.Errorf("0.25 or 9.999 became %v", o)
		}
	}
	err := shapeRunErr(t, tr, mem, arrow.BinaryTypes.String, []any{"0.55", "3"})
	if !strings.Contains(err.Error(), "row 1") || !strings.Contains(err.Error(), "0 decimals") {
		t.Errorf("error %q, want one naming row 1 and its 0 decimals", err)
	}
	err = shapeRunErr(t, tr, mem, arrow.BinaryTypes.String, []any{"1e5"})
	if !strings.Contains(err.Error(), "not a numeric") {
		t.Errorf("error %q for a malformed numeric", err)
	}
	// The value that could not be read is production's: the error says where, never what.
	err = shapeRunErr(t, tr, mem, arrow.BinaryTypes.String, []any{"0.55", "4111-1111-1111-1111"})
	if strings.Contains(err.Error(), "4111") || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("error %q: want row 1 named and the value left out", err)
	}
}

func TestRandomRangeRefusals(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	uniq := shapeInt4Col
	uniq.Unique = true
	for _, tc := range []struct {
		col  Column
		key  *Key
		p    string
		want string
	}{
		{shapeTextCol, key, "{min: 0, max: 1}", "column type text is not one"},
		{shapeInt4Col, key, "", "needs min and max"},
		{shapeInt4Col, key, "{min: 1}", "needs min and max"},
		{shapeInt4Col, key, "{max: 1}", "needs min and max"},
		{shapeInt4Col, key, "{min: 5, max: 1}", "min 5 is above max 1"},
		{shapeInt4Col, key, "{min: ten, max: 20}", `min "ten" is not a number`},
		{shapeInt4Col, key, "{min: 1.5, max: 20}", "holds integers"},
		{shapeInt4Col, key, "{min: 1/2, max: 20}", "not a number"},
		{shapeInt2Col, key, "{min: 0, max: 40000}", "max 40000 is outside the range of smallint"},
		{shapeInt8Col, key, `{min: 0, max: "9223372036854775808"}`, "outside the range of bigint"},
		{shapeFloat8Col, key, "{min: 0, max: .inf}", "not a finite number"},
		{shapeFloat8Col, key, "{min: NaN, max: 1}", "not a finite number"},
		{shapeFloat4Col, key, "{min: 0, max: 1e39}", "outside the range of real"},
		{shapeFloat8Col, key, "{min: 2, max: 1}", "above max"},
		{shapeFloat4Col, key, "{min: 2, max: 1}", "min 2 is above max 1"},
		// 0.1 is no float32: the float32s inside [0.1, 0.1] are none.
		{shapeFloat4Col, key, "{min: 0.1, max: 0.1}", "no real value lies between min 0.1 and max 0.1"},
		{shapeNumericCol, key, "{min: 2, max: 1.5}", "above max"},
		{shapeNumericCol, key, "{min: x, max: 1}", "not a number"},
		{shapeNumericCol, key, `{min: 0, max: "1e30"}`, "within ±9223372036854775807"},
		{shapeNumericTypmodCol(5, 2), key, "{min: 0, max: 1000}", "max 1000 does not fit numeric(5,2)"},
		{shapeNumericTypmodCol(5, 2), key, "{min: 0.001, max: 0.009}", "no numeric(5,2) value lies between"},
		{shapeDateCol, key, "{min: 2020-13-01, max: 2021-01-01}", "not a date like 2020-01-31"},
		{shapeDateCol, key, "{min: 2021-01-01, max: 2020-01-01}", "above max"},
		{shapeTSCol, key, "{min: yesterday, max: 2021-01-01}", "not a timestamp"},
		{uniq, key, "{min: 0, max: 1}", "column c is unique"},
		{shapeInt4Col, key, "{min: 0, max: 1, domian: x}", `did you mean "domain"`},
	} {
		if got := shapeErr(t, "random_range", tc.col, tc.key, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

func BenchmarkRandomRangeInt8(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = int64(30000 + i*7)
	}
	shapeBench(b, shapeNew(b, "random_range", shapeInt8Col, key, shapeParamsTB(b, "{min: 18, max: 99}")), arrow.PrimitiveTypes.Int64, vals)
}

func BenchmarkRandomRangeDate(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = int64(10000 + i)
	}
	shapeBench(b, shapeNew(b, "random_range", shapeDateCol, key, shapeParamsTB(b, "{min: 2020-01-01, max: 2024-12-31}")), arrow.FixedWidthTypes.Date32, vals)
}

func BenchmarkRandomRangeNumeric(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = strconv.Itoa(30000+i*7) + ".25"
	}
	shapeBench(b, shapeNew(b, "random_range", shapeNumericCol, key, shapeParamsTB(b, "{min: 0, max: 100000}")), arrow.BinaryTypes.String, vals)
}
