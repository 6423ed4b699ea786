package transforms

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgnumeric"
)

func TestNumericNoiseKeepsSignRangeAndScale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-noise")
	p := params(t, "{transform: numeric_noise, ratio: 0.2}")

	ints := []any{int64(1000), int64(-1000), int64(0), int64(1), int64(-1), nil, int64(32767), int64(-32768), int64(123)}
	for _, tc := range []struct {
		col Column
		dt  arrow.DataType
	}{{shapeInt2Col, arrow.PrimitiveTypes.Int16}, {shapeInt4Col, arrow.PrimitiveTypes.Int32}, {shapeInt8Col, arrow.PrimitiveTypes.Int64}} {
		out := shapeRun(t, shapeNew(t, "numeric_noise", tc.col, key, p), mem, tc.dt, ints)
		for i, o := range out {
			if ints[i] == nil {
				if o != nil {
					t.Errorf("%s: NULL became %v", tc.col.TypeName, o)
				}
				continue
			}
			v, w := ints[i].(int64), o.(int64)
			if (v > 0) != (w > 0) || (v < 0) != (w < 0) {
				t.Errorf("%s: %d became %d: the sign changed", tc.col.TypeName, v, w)
			}
			if math.Abs(float64(w-v)) > 0.2*math.Abs(float64(v))+1 {
				t.Errorf("%s: %d became %d: more than 20%% away", tc.col.TypeName, v, w)
			}
		}
	}
	// Extremes clamp instead of wrapping.
	big := []any{int64(math.MaxInt64), int64(math.MinInt64), int64(math.MaxInt64 - 5)}
	for i, o := range shapeRun(t, shapeNew(t, "numeric_noise", shapeInt8Col, key, p), mem, arrow.PrimitiveTypes.Int64, big) {
		if (o.(int64) > 0) != (big[i].(int64) > 0) {
			t.Errorf("int8 %d became %d", big[i], o)
		}
	}

	floats := []any{1.5, -2.25e10, 0.0, math.NaN(), math.Inf(1), math.Inf(-1), nil, 3.4e38, -3.4e38}
	for _, tc := range []struct {
		col Column
		dt  arrow.DataType
	}{{shapeFloat4Col, arrow.PrimitiveTypes.Float32}, {shapeFloat8Col, arrow.PrimitiveTypes.Float64}} {
		out := shapeRun(t, shapeNew(t, "numeric_noise", tc.col, key, p), mem, tc.dt, floats)
		for i, o := range out {
			if floats[i] == nil {
				if o != nil {
					t.Errorf("NULL became %v", o)
				}
				continue
			}
			v, w := floats[i].(float64), o.(float64)
			if tc.dt == arrow.PrimitiveTypes.Float32 {
				v = float64(float32(v))
			}
			switch {
			case math.IsNaN(v):
				if !math.IsNaN(w) {
					t.Errorf("NaN became %v", w)
				}
			case math.IsInf(v, 0) || v == 0:
				if w != v {
					t.Errorf("%v became %v", v, w)
				}
			default:
				if math.Signbit(v) != math.Signbit(w) || math.IsInf(w, 0) || math.Abs(w-v) > 0.2*math.Abs(v)*(1+1e-6) {
					t.Errorf("%s: %v became %v", tc.col.TypeName, v, w)
				}
			}
		}
	}

	nums := []any{"-12.3400", "0.05", "0", "0.00", "NaN", "Infinity", "-Infinity", nil, "123456789012345678901234567890.123", "0.001", "7"}
	out := shapeRun(t, shapeNew(t, "numeric_noise", shapeNumericCol, key, p), mem, arrow.BinaryTypes.String, nums)
	for i, o := range out {
		if nums[i] == nil {
			if o != nil {
				t.Errorf("NULL became %v", o)
			}
			continue
		}
		in, got := nums[i].(string), o.(string)
		d, kind, _ := pgnumeric.Parse(in)
		if kind != pgnumeric.Finite {
			if got != in {
				t.Errorf("%s became %s", in, got)
			}
			continue
		}
		g, gkind, err := pgnumeric.Parse(got)
		if err != nil || gkind != pgnumeric.Finite {
			t.Fatalf("%s became %q: not a numeric", in, got)
		}
		if g.Scale() != d.Scale() || g.Neg != d.Neg && !d.IsZero() || d.IsZero() != g.IsZero() {
			t.Errorf("%s became %s: scale, sign or zero changed", in, got)
		}
		a, _ := strconv.ParseFloat(in, 64)
		b, _ := strconv.ParseFloat(got, 64)
		if math.Abs(b-a) > 0.2*math.Abs(a)+math.Pow(10, -float64(d.Scale())) {
			t.Errorf("%s became %s: more than 20%% away", in, got)
		}
	}
	// numeric(5,2) never goes past 999.99.
	out = shapeRun(t, shapeNew(t, "numeric_noise", shapeNumericTypmodCol(5, 2), key, p), mem, arrow.BinaryTypes.String,
		[]any{"999.99", "-999.99", "950.00", "-990.10", "998.00"})
	for _, o := range out {
		if s := strings.TrimPrefix(o.(string), "-"); len(s) > 6 || !strings.Contains(s, ".") {
			t.Errorf("numeric(5,2) got %s", o)
		}
	}
}

func TestNumericNoiseIsKeyed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := make([]any, 200)
	for i := range in {
		in[i] = int64(10000 + i%100)
	}
	key1, key2 := testKey(t, "0123456789abcdef-one"), testKey(t, "0123456789abcdef-two")
	a := shapeRun(t, shapeNew(t, "numeric_noise", shapeInt4Col, key1, params(t, "")), mem, arrow.PrimitiveTypes.Int32, in)
	b := shapeRun(t, shapeNew(t, "numeric_noise", shapeInt4Col, key2, params(t, "")), mem, arrow.PrimitiveTypes.Int32, in)
	c := shapeRun(t, shapeNew(t, "numeric_noise", shapeInt4Col, key1, params(t, "{transform: numeric_noise, domain: salary}")), mem, arrow.PrimitiveTypes.Int32, in)
	// int8 column, same values: same outputs (values are keyed by their decimal text).
	d := shapeRun(t, shapeNew(t, "numeric_noise", shapeInt8Col, key1, params(t, "")), mem, arrow.PrimitiveTypes.Int64, in)
	sameB, sameC, moved := 0, 0, 0
	for i := range in {
		if a[i] != a[i%100] {
			t.Fatalf("row %d: %v, row %d: %v for the same input", i, a[i], i%100, a[i%100])
		}
		if a[i] != d[i] {
			t.Errorf("int4 and int8 disagree on %v: %v %v", in[i], a[i], d[i])
		}
		if a[i] == b[i] {
			sameB++
		}
		if a[i] == c[i] {
			sameC++
		}
		if a[i] != in[i] {
			moved++
		}
	}
	if sameB > 20 || sameC > 20 || moved < 180 {
		t.Errorf("another key matched %d/200, another domain %d/200; %d moved", sameB, sameC, moved)
	}
}

func TestNumericNoiseRefusals(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	uniq := shapeInt4Col
	uniq.Unique = true
	for _, tc := range []struct {
		col  Column
		key  *Key
		p    string
		want string
	}{
		{shapeTextCol, key, "", "column type text is not one"},
		{shapeDateCol, key, "", "column type date is not one"},
		{shapeInt4Col, key, "{transform: numeric_noise, ratio: 0}", "above 0 and below 1"},
		{shapeInt4Col, key, "{transform: numeric_noise, ratio: 1}", "above 0 and below 1"},
		{shapeInt4Col, key, "{transform: numeric_noise, ratio: -0.5}", "above 0 and below 1"},
		{shapeInt4Col, key, "{transform: numeric_noise, raito: 0.5}", `did you mean "ratio"`},
		{uniq, key, "", "unique"},
	} {
		if got := shapeErr(t, "numeric_noise", tc.col, tc.key, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

func BenchmarkNumericNoiseInt8(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = int64(30000 + i*7)
	}
	shapeBench(b, shapeNew(b, "numeric_noise", shapeInt8Col, key, YAMLParams(nil)), arrow.PrimitiveTypes.Int64, vals)
}

func BenchmarkNumericNoiseNumeric(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = strconv.Itoa(30000+i*7) + ".25"
	}
	shapeBench(b, shapeNew(b, "numeric_noise", shapeNumericCol, key, YAMLParams(nil)), arrow.BinaryTypes.String, vals)
}
