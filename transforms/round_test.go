package transforms

import (
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// roundCase is one column of inputs and the values round must give them.
type roundCase struct {
	name string
	col  Column
	dt   arrow.DataType
	p    string
	in   []any
	want []any
}

func roundCheck(t *testing.T, cases []roundCase) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// round draws nothing: it needs no key.
			got := shapeRun(t, shapeNew(t, "round", tc.col, nil, params(t, tc.p)), mem, tc.dt, tc.in)
			for i := range tc.in {
				w, g := tc.want[i], got[i]
				if wf, ok := w.(float64); ok && math.IsNaN(wf) {
					if gf, ok := g.(float64); ok && math.IsNaN(gf) {
						continue
					}
				}
				if g != w {
					t.Errorf("%s %s: %v became %v, want %v", tc.col.TypeName, tc.p, tc.in[i], g, w)
				}
			}
		})
	}
}

// Decimal places round half away from zero, as PostgreSQL's round(numeric, int) does;
// negative places round to tens, hundreds...; numerics keep their scale; a result the type
// cannot hold moves one step towards zero.
func TestRoundDigits(t *testing.T) {
	i64 := func(vs ...int64) []any {
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = v
		}
		return out
	}
	f64 := func(vs ...float64) []any {
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = v
		}
		return out
	}
	strs := func(vs ...string) []any {
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = v
		}
		return out
	}
	roundCheck(t, []roundCase{
		{"numeric to cents", shapeNumericCol, arrow.BinaryTypes.String, "{digits: 2}",
			strs("2.675", "-2.675", "2.665", "2.664", "1234.5678", "0.004", "-0.004", "0.005", "123", "7.1", "0.1234"),
			strs("2.680", "-2.680", "2.670", "2.660", "1234.5700", "0.000", "0.000", "0.010", "123", "7.1", "0.1200")},
		{"numeric to units", shapeNumericCol, arrow.BinaryTypes.String, "{digits: 0}",
			strs("0.5", "-0.5", "-0.4", "1.49999", "9.99", "-9.5", "99999999999999999999999999.5", "0", "-0.000"),
			strs("1.0", "-1.0", "0.0", "1.00000", "10.00", "-10.0", "100000000000000000000000000.0", "0", "0.000")},
		{"numeric to hundreds", shapeNumericCol, arrow.BinaryTypes.String, "{digits: -2}",
			strs("1234.5678", "1250", "-1250", "1249.99", "49.99", "50", "-50", "95", "9950.5"),
			strs("1200.0000", "1300", "-1300", "1200.00", "0.00", "100", "-100", "100", "10000.0")},
		{"numeric far past its digits", shapeNumericCol, arrow.BinaryTypes.String, "{digits: -5}",
			strs("12345", "50000", "-49999.9", "123456789012345678901234567890.55"),
			strs("0", "100000", "0.0", "123456789012345678901234600000.00")},
		{"numeric specials and NULL", shapeNumericCol, arrow.BinaryTypes.String, "{digits: 1}",
			[]any{"NaN", "Infinity", "-Infinity", nil, "0.05", "-0.05", "123456789012345678901234567890.55"},
			[]any{"NaN", "Infinity", "-Infinity", nil, "0.10", "-0.10", "123456789012345678901234567890.60"}},
		// 999.99 rounds to 1000.00, which numeric(5,2) cannot hold: one step towards zero.
		{"numeric(5,2) overflow", shapeNumericTypmodCol(5, 2), arrow.BinaryTypes.String, "{digits: 0}",
			strs("999.99", "-999.99", "999.49", "998.50", "-998.50", "12.34"),
			strs("999.00", "-999.00", "999.00", "999.00", "-999.00", "12.00")},
		{"numeric(5,2) to tens", shapeNumericTypmodCol(5, 2), arrow.BinaryTypes.String, "{digits: -1}",
			strs("995.00", "-995.00", "994.99", "5.00"),
			strs("990.00", "-990.00", "990.00", "10.00")},

		{"integer to hundreds", shapeInt4Col, arrow.PrimitiveTypes.Int32, "{digits: -2}",
			[]any{int64(1250), int64(-1250), int64(1249), int64(-1249), int64(49), int64(50), int64(0), nil, int64(2147483647), int64(-2147483648)},
			[]any{int64(1300), int64(-1300), int64(1200), int64(-1200), int64(0), int64(100), int64(0), nil, int64(2147483600), int64(-2147483600)}},
		// 32767 and 32750 round to 32800, past smallint: one step towards zero.
		{"smallint overflow", shapeInt2Col, arrow.PrimitiveTypes.Int16, "{digits: -2}",
			i64(32767, 32750, 32749, -32768, -32750, 32650),
			i64(32700, 32700, 32700, -32700, -32700, 32700)},
		{"smallint to tens", shapeInt2Col, arrow.PrimitiveTypes.Int16, "{digits: -1}",
			i64(5, -5, 4, -4, 15, 32767, 32765, -32768, -32765),
			i64(10, -10, 0, 0, 20, 32760, 32760, -32760, -32760)},
		{"integer keeps its digits", shapeInt4Col, arrow.PrimitiveTypes.Int32, "{digits: 2}",
			i64(1234, -5), i64(1234, -5)},
		{"bigint to a billion", shapeInt8Col, arrow.PrimitiveTypes.Int64, "{digits: -9}",
			i64(1_499_999_999, 1_500_000_000, -1_500_000_000, math.MaxInt64, math.MinInt64),
			i64(1_000_000_000, 2_000_000_000, -2_000_000_000, 9_223_372_036_000_000_000, -9_223_372_036_000_000_000)},
		{"bigint to 10^18", shapeInt8Col, arrow.PrimitiveTypes.Int64, "{digits: -18}",
			i64(math.MaxInt64, math.MinInt64, 500_000_000_000_000_000, 499_999_999_999_999_999),
			i64(9_000_000_000_000_000_000, -9_000_000_000_000_000_000, 1_000_000_000_000_000_000, 0)},
		// 10^19 is past bigint: 9.2·10^18 rounds to it, so one step towards zero gives 0.
		{"bigint to 10^19", shapeInt8Col, arrow.PrimitiveTypes.Int64, "{digits: -19}",
			i64(math.MaxInt64, math.MinInt64, 4_999_999_999_999_999_999, 12),
			i64(0, 0, 0, 0)},
		{"bigint to 10^20", shapeInt8Col, arrow.PrimitiveTypes.Int64, "{digits: -20}",
			i64(math.MaxInt64, math.MinInt64, 1),
			i64(0, 0, 0)},

		{"double to cents", shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{digits: 2}",
			[]any{0.125, -0.125, 1234.5678, 1e20, -1e-20, math.NaN(), math.Inf(1), math.Inf(-1), nil, 2.5},
			[]any{0.13, -0.13, 1234.57, 1e20, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), nil, 2.5}},
		{"double to units", shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{digits: 0}",
			f64(2.5, -2.5, 3.5, 0.49999999999999994, 1e300),
			f64(3, -3, 4, 0, 1e300)},
		{"double to thousands", shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{digits: -3}",
			f64(1500, -1500, 1499.9, 123456.7),
			f64(2000, -2000, 1000, 123000)},
		{"double past its range", shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{digits: -400}",
			f64(1.5e308, -3), f64(0, 0)},
		// 1.7e308 rounds to 2e308, past double precision: one step towards zero.
		{"double overflow", shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{digits: -308}",
			f64(1.7e308, -1.7e308, 1.2e308), f64(1e308, -1e308, 1e308)},
		{"real to tenths", shapeFloat4Col, arrow.PrimitiveTypes.Float32, "{digits: 1}",
			f64(0.25, -0.25, 3.0), f64(float64(float32(0.3)), float64(float32(-0.3)), 3)},
		{"real near its top", shapeFloat4Col, arrow.PrimitiveTypes.Float32, "{digits: -38}",
			f64(3.4e38, -3.4e38, 2.6e38), f64(float64(float32(3e38)), float64(float32(-3e38)), float64(float32(3e38)))},
	})
}

// step rounds down to a multiple: floor(v / step) × step, the same for negative values (the
// bucket below), and the lowest bucket the type cannot hold moves up one step.
func TestRoundStep(t *testing.T) {
	roundCheck(t, []roundCase{
		{"integer by 1000", shapeInt4Col, arrow.PrimitiveTypes.Int32, "{step: 1000}",
			[]any{int64(1999), int64(2000), int64(0), int64(-1), int64(-1000), int64(-1001), nil, int64(2147483647), int64(-2147483648)},
			[]any{int64(1000), int64(2000), int64(0), int64(-1000), int64(-1000), int64(-2000), nil, int64(2147483000), int64(-2147483000)}},
		// floor(-32768 / 1000) × 1000 = -33000 is past smallint: -32000.
		{"smallint lowest bucket", shapeInt2Col, arrow.PrimitiveTypes.Int16, "{step: 1000}",
			[]any{int64(-32768), int64(-32001), int64(-32000), int64(32767)},
			[]any{int64(-32000), int64(-32000), int64(-32000), int64(32000)}},
		{"bigint by 10", shapeInt8Col, arrow.PrimitiveTypes.Int64, "{step: 10}",
			[]any{int64(math.MinInt64), int64(math.MaxInt64), int64(-5)},
			[]any{int64(-9223372036854775800), int64(9223372036854775800), int64(-10)}},
		{"bigint by its largest step", shapeInt8Col, arrow.PrimitiveTypes.Int64, "{step: 9223372036854775807}",
			[]any{int64(math.MinInt64), int64(math.MaxInt64), int64(-1), int64(5)},
			[]any{int64(-9223372036854775807), int64(9223372036854775807), int64(-9223372036854775807), int64(0)}},

		{"double by 5000", shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{step: 5000}",
			[]any{12345.6, -0.5, 5000.0, 0.0, math.NaN(), nil},
			[]any{10000.0, -5000.0, 5000.0, 0.0, math.NaN(), nil}},
		{"double by a quarter", shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{step: 0.25}",
			[]any{1.3, -1.3, 1.25}, []any{1.25, -1.5, 1.25}},
		// floor(-1.7e308 / 1e308) × 1e308 = -2e308 is past double precision: -1e308.
		{"double lowest bucket", shapeFloat8Col, arrow.PrimitiveTypes.Float64, "{step: 1e308}",
			[]any{-1.7e308, 1.7e308}, []any{-1e308, 1e308}},
		{"real lowest bucket", shapeFloat4Col, arrow.PrimitiveTypes.Float32, "{step: 1e38}",
			[]any{-3.4e38, 3.4e38}, []any{float64(float32(-3e38)), float64(float32(3e38))}},

		{"numeric by 5000", shapeNumericCol, arrow.BinaryTypes.String, "{step: 5000}",
			[]any{"12345.67", "-0.01", "5000", "0.00", "NaN", nil, "-123456789012345678901234567890.5"},
			[]any{"10000.00", "-5000.00", "5000", "0.00", "NaN", nil, "-123456789012345678901234570000.0"}},
		// The output has the scale of the value or of the step, whichever is finer.
		{"numeric by a quarter", shapeNumericCol, arrow.BinaryTypes.String, "{step: 0.25}",
			[]any{"1.3", "-1.3", "7", "1.2599", "123456789012345678901234567890.3"},
			[]any{"1.25", "-1.50", "7.00", "1.2500", "123456789012345678901234567890.25"}},
		// floor(-999.99 / 1000) × 1000 = -1000.00 does not fit numeric(5,2): one step up.
		{"numeric(5,2) lowest bucket", shapeNumericTypmodCol(5, 2), arrow.BinaryTypes.String, "{step: 1000}",
			[]any{"-999.99", "-0.01", "999.99"}, []any{"0.00", "0.00", "0.00"}},
		{"numeric(5,2) by tenths", shapeNumericTypmodCol(5, 2), arrow.BinaryTypes.String, "{step: 0.1}",
			[]any{"-999.99", "12.34", "-12.34"}, []any{"-999.90", "12.30", "-12.40"}},
	})
}

func TestRoundRefusals(t *testing.T) {
	uniq := shapeInt4Col
	uniq.Unique = true
	for _, tc := range []struct {
		col  Column
		p    string
		want string
	}{
		{shapeTextCol, "{digits: 2}", "column type text is not one"},
		{shapeDateCol, "{digits: 2}", "column type date is not one"},
		{shapeInt4Col, "", "round needs digits"},
		{shapeInt4Col, "{digits: 2, step: 10}", "digits or step, not both"},
		{shapeInt4Col, "{digits: 1001}", "digits 1001: must be between -1000 and 1000"},
		{shapeInt4Col, "{digits: two}", "line 1"},
		{shapeInt4Col, "{step: 0}", "step 0 must be positive"},
		{shapeInt4Col, "{step: -5}", "step -5 must be positive"},
		{shapeInt4Col, "{step: ten}", `step "ten" is not a number`},
		{shapeInt4Col, "{step: 2.5}", "column type integer needs a whole step"},
		{shapeInt2Col, "{step: 40000}", "at most 32767"},
		{shapeFloat8Col, "{step: 1e400}", "step 1e400 is out of range"},
		{shapeNumericTypmodCol(5, 2), "{step: 0.001}", "step 0.001 has more decimals than numeric(5,2) keeps"},
		{uniq, "{digits: -2}", "column c is unique"},
		{shapeInt4Col, "{digits: 2, digit: 3}", `did you mean "digits"`},
	} {
		if got := shapeErr(t, "round", tc.col, nil, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

func BenchmarkRoundInt8(b *testing.B) {
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = int64(30000 + i*7)
	}
	shapeBench(b, shapeNew(b, "round", shapeInt8Col, nil, shapeParamsTB(b, "{digits: -2}")), arrow.PrimitiveTypes.Int64, vals)
}

func BenchmarkRoundFloat8(b *testing.B) {
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = float64(i) * 1.37
	}
	shapeBench(b, shapeNew(b, "round", shapeFloat8Col, nil, shapeParamsTB(b, "{digits: 1}")), arrow.PrimitiveTypes.Float64, vals)
}

func BenchmarkRoundNumericDigits(b *testing.B) {
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = "1" + strings.Repeat("3", i%10) + ".2575"
	}
	shapeBench(b, shapeNew(b, "round", shapeNumericCol, nil, shapeParamsTB(b, "{digits: 2}")), arrow.BinaryTypes.String, vals)
}

func BenchmarkRoundNumericStep(b *testing.B) {
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = "1" + strings.Repeat("3", i%10) + ".2575"
	}
	shapeBench(b, shapeNew(b, "round", shapeNumericCol, nil, shapeParamsTB(b, "{step: 1000}")), arrow.BinaryTypes.String, vals)
}
