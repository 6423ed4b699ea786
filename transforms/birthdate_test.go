package transforms

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgdate"
)

// bdAge is the age in full years on asOf of someone born on born, computed with the time
// package: the birthday counts on its day, and 29 February counts on 28 February in years
// without one.
func bdAge(asOf, born time.Time) int {
	a := asOf.Year() - born.Year()
	m, d := born.Month(), born.Day()
	if m == time.February && d == 29 && time.Date(asOf.Year(), 2, 29, 0, 0, 0, 0, time.UTC).Month() != time.February {
		d = 28
	}
	if asOf.Month() < m || asOf.Month() == m && asOf.Day() < d {
		a--
	}
	return a
}

func bdDate(days int64) time.Time { return time.Unix(days*86400, 0).UTC() }

func bdBand(age, band int) int {
	if age < 0 {
		return -((-age + band - 1) / band) // floor division
	}
	return age / band
}

func TestBirthdateAgeOfTheTestIsRight(t *testing.T) {
	for _, tc := range []struct {
		asOf, born string
		age        int
	}{
		{"2023-02-28", "2020-02-29", 3}, // the birthday falls on 28 February in 2023
		{"2023-02-27", "2020-02-29", 2},
		{"2024-02-28", "2020-02-29", 3}, // 2024 has a 29 February
		{"2024-02-29", "2020-02-29", 4},
		{"2024-02-29", "2023-02-28", 1},
		{"2024-02-29", "2023-03-01", 0},
		{"2025-01-01", "2000-01-01", 25},
		{"2025-01-01", "2000-01-02", 24},
		{"2025-01-01", "2030-06-01", -6},
	} {
		asOf, _ := time.Parse("2006-01-02", tc.asOf)
		born, _ := time.Parse("2006-01-02", tc.born)
		if got := bdAge(asOf, born); got != tc.age {
			t.Errorf("born %s, on %s: age %d, want %d", tc.born, tc.asOf, got, tc.age)
		}
	}
}

// The new date of birth gives the same age band on as_of as the old one, for every as_of
// around 29 February, with the default and other bands.
func TestBirthdateKeepsTheAgeBand(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-birth")
	var in []any
	for d := shapeDay("1925-01-01"); d < shapeDay("2031-01-01"); d += 5 {
		in = append(in, d)
	}
	for y := 1928; y <= 2028; y += 4 {
		for _, md := range []string{"02-28", "02-29", "03-01"} {
			if d, err := time.Parse("2006-01-02", fmt.Sprintf("%d-%s", y, md)); err == nil {
				in = append(in, d.Unix()/86400)
			}
		}
	}
	for _, tc := range []struct {
		asOf string
		band int
	}{
		{"2025-01-01", 5}, {"2025-01-01", 1}, {"2023-02-28", 1}, {"2023-02-28", 5}, {"2024-02-29", 1},
		{"2024-02-28", 1}, {"2023-03-01", 10}, {"2000-12-31", 7}, {"2025-01-01", 200},
	} {
		p := fmt.Sprintf("{band: %d, as_of: %s}", tc.band, tc.asOf)
		if tc.asOf == "2025-01-01" && tc.band == 5 {
			p = "" // the defaults
		}
		asOf, _ := time.Parse("2006-01-02", tc.asOf)
		out := shapeRun(t, shapeNew(t, "birthdate", shapeDateCol, key, params(t, p)), mem, arrow.FixedWidthTypes.Date32, in)
		moved := 0
		for i, o := range out {
			born, got := bdDate(in[i].(int64)), bdDate(o.(int64))
			a, b := bdAge(asOf, born), bdAge(asOf, got)
			if bdBand(a, tc.band) != bdBand(b, tc.band) {
				t.Errorf("as_of %s band %d: born %s (age %d) became %s (age %d)", tc.asOf, tc.band,
					born.Format("2006-01-02"), a, got.Format("2006-01-02"), b)
			}
			if o != in[i] {
				moved++
			}
		}
		if moved < len(in)*9/10 {
			t.Errorf("as_of %s band %d: only %d of %d dates changed", tc.asOf, tc.band, moved, len(in))
		}
	}
}

// The draw is uniform over the days of the band, both ends included: over 20000 births of
// age 3 on 2023-02-28 (band 1), every day from 2019-03-01 to 2020-02-29 comes out, and the
// time of day of a timestamp is kept.
func TestBirthdateCoversTheBand(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-birth")
	first, last := shapeDay("2019-03-01"), shapeDay("2020-02-29")
	in := make([]any, 20000)
	for i := range in {
		day := first + int64(i)%(last-first+1)
		in[i] = day*pgdate.DayMicros + int64(i)*1_000_003%pgdate.DayMicros
	}
	in[0] = shapeDay("2020-02-29")*pgdate.DayMicros + 12*3600*1000000 // born on the 29th: 3 on 2023-02-28
	for _, c := range []struct {
		col Column
		dt  arrow.DataType
	}{{shapeTSCol, shapeTSType}, {shapeTSTZCol, shapeTSTZType}} {
		out := shapeRun(t, shapeNew(t, "birthdate", c.col, key, params(t, "{band: 1, as_of: 2023-02-28}")), mem, c.dt, in)
		counts := map[int64]int{}
		for i, o := range out {
			v, w := in[i].(int64), o.(int64)
			day := floorDiv(w, pgdate.DayMicros)
			if day < first || day > last {
				t.Errorf("%s: %s became %s, outside the band", c.col.TypeName, tsShow(v), tsShow(w))
			}
			if v-floorDiv(v, pgdate.DayMicros)*pgdate.DayMicros != w-day*pgdate.DayMicros {
				t.Errorf("%s: %s became %s: the time of day changed", c.col.TypeName, tsShow(v), tsShow(w))
			}
			counts[day]++
		}
		if len(counts) != int(last-first+1) {
			t.Errorf("%s: %d distinct days of %d came out", c.col.TypeName, len(counts), last-first+1)
		}
		for day, n := range counts {
			if n < 20 || n > 110 { // about 55 each
				t.Errorf("%s: %s drawn %d times of 20000", c.col.TypeName, shapeDateString(day), n)
			}
		}
	}
}

// NULL and the infinities stay; the draw is keyed by the value.
func TestBirthdateIsKeyed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := make([]any, 0, 410)
	for i := 0; i < 400; i++ {
		in = append(in, shapeDay("1980-01-01")+int64(i%200)*3)
	}
	in = append(in, nil, int64(math.MaxInt32), int64(math.MinInt32))
	key1, key2 := testKey(t, "0123456789abcdef-one"), testKey(t, "0123456789abcdef-two")
	p := "{band: 10}"
	a := shapeRun(t, shapeNew(t, "birthdate", shapeDateCol, key1, params(t, p)), mem, arrow.FixedWidthTypes.Date32, in)
	b := shapeRun(t, shapeNew(t, "birthdate", shapeDateCol, key2, params(t, p)), mem, arrow.FixedWidthTypes.Date32, in)
	c := shapeRun(t, shapeNew(t, "birthdate", shapeDateCol, key1, params(t, "{band: 10, domain: dob}")), mem, arrow.FixedWidthTypes.Date32, in)
	for i := 400; i < len(in); i++ {
		if a[i] != in[i] {
			t.Errorf("%v became %v", in[i], a[i])
		}
	}
	sameB, sameC := 0, 0
	for i := 0; i < 400; i++ {
		if a[i] != a[i%200] {
			t.Fatalf("%s became %s and %s", shapeDateString(in[i].(int64)), shapeDateString(a[i%200].(int64)), shapeDateString(a[i].(int64)))
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

func TestBirthdateRefusals(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	uniq := shapeDateCol
	uniq.Unique = true
	for _, tc := range []struct {
		col  Column
		key  *Key
		p    string
		want string
	}{
		{shapeTextCol, key, "", "column type text is not a date or timestamp"},
		{shapeInt4Col, key, "", "column type integer is not a date"},
		{shapeDateCol, key, "{band: 0}", "band 0: must be between 1 and 200 years"},
		{shapeDateCol, key, "{band: 201}", "band 201: must be between 1 and 200 years"},
		{shapeDateCol, key, "{as_of: 2025-02-30}", `as_of "2025-02-30" is not a date`},
		{shapeDateCol, key, "{as_of: today}", `as_of "today" is not a date`},
		{uniq, key, "", "column c is unique"},
		{shapeDateCol, key, "{bnad: 3}", `did you mean "band"`},
	} {
		if got := shapeErr(t, "birthdate", tc.col, tc.key, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

func BenchmarkBirthdate(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = int64(-5000 + i*3)
	}
	shapeBench(b, shapeNew(b, "birthdate", shapeDateCol, key, YAMLParams(nil)), arrow.FixedWidthTypes.Date32, vals)
}
