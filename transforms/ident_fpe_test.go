package transforms

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"
)

// Test helpers of the identifier rules.

const identTestKey = "0123456789abcdef-ident"

func identParams(tb testing.TB, src string) Params {
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

func identCol(unique bool) Column {
	return Column{Table: "public.people", Name: "ident", TypeName: "text", BaseOID: pgtype.TextOID, Typmod: -1, Unique: unique}
}

// identNew builds a rule on a text column with the test key.
func identNew(tb testing.TB, f Factory, p string, unique bool) Transformer {
	tb.Helper()
	k, err := NewKey(identTestKey)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := f(Env{Column: identCol(unique), Key: k, Params: identParams(tb, p)})
	if err != nil {
		tb.Fatalf("%s: %v", p, err)
	}
	return tr
}

// identApply runs values (a Go nil-free list) through tr as a String column and a raw Binary
// column, checks both agree and that no Arrow memory leaks, and returns the outputs.
func identApply(t *testing.T, tr Transformer, in ...string) []string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	vals := make([][]byte, len(in))
	for i, s := range in {
		vals[i] = []byte(s)
	}
	str := run(t, tr, mem, arrow.BinaryTypes.String, vals)
	bin := run(t, tr, mem, arrow.BinaryTypes.Binary, vals)
	out := make([]string, len(in))
	for i := range str {
		if string(str[i]) != string(bin[i]) {
			t.Errorf("%q: String column gave %q, Binary %q", in[i], str[i], bin[i])
		}
		out[i] = string(str[i])
	}
	return out
}

// identApplyErr runs one value and returns the batch's error.
func identApplyErr(t *testing.T, tr Transformer, in string) error {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := batch(mem, arrow.BinaryTypes.String, [][]byte{[]byte(in)})
	defer rec.Release()
	out, err := tr.Transform(rec, 0, mem)
	if err == nil {
		out.Release()
	}
	return err
}

// identCheckCommon checks what every keyed identifier rule promises beyond the conformance
// suite (transformtest: NULLs, determinism across processes, another key or domain, refusal
// without a key): String and raw Binary columns give the same outputs, and no value
// allocates.
func identCheckCommon(t *testing.T, f Factory, name, p string, in ...string) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tr := identNew(t, f, p, false)
	vals := [][]byte{nil}
	for _, s := range in {
		vals = append(vals, []byte(s))
	}
	a := run(t, tr, mem, arrow.BinaryTypes.String, vals)
	b := run(t, identNew(t, f, p, false), mem, arrow.BinaryTypes.Binary, vals)
	for i := 1; i < len(vals); i++ {
		if string(a[i]) != string(b[i]) {
			t.Errorf("%s %q: %q then %q", name, vals[i], a[i], b[i])
		}
	}
	// No allocation per value once the buffer has grown.
	r, ok := AsTextRule(tr)
	if !ok {
		t.Fatal("not a TextRule")
	}
	buf := make([]byte, 0, 256)
	for _, s := range in {
		v := []byte(s)
		if allocs := testing.AllocsPerRun(20, func() { buf, _ = r.Text(nil, buf[:0], v) }); allocs != 0 {
			t.Errorf("%q: %v allocations per value", s, allocs)
		}
	}
}

// identCheckRefusals checks a text rule refuses a non-text column, and each of bad's
// parameters with its message.
func identCheckRefusals(t *testing.T, f Factory, name string, bad map[string]string) {
	t.Helper()
	k, _ := NewKey(identTestKey)
	_, err := f(Env{Column: Column{Table: "public.t", Name: "n", TypeName: "integer", BaseOID: pgtype.Int4OID}, Key: k, Params: identParams(t, "")})
	if err == nil || !strings.Contains(err.Error(), "column type integer does not take it") {
		t.Errorf("integer column: %v", err)
	}
	for p, want := range bad {
		_, err := f(Env{Column: identCol(false), Key: k, Params: identParams(t, p)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one mentioning %q", p, err, want)
		}
	}
}

// identMillion runs a million distinct inputs gen(0…999999) through tr in batches and
// fails on a repeated output; check, if set, vets every input/output pair.
func identMillion(t *testing.T, tr Transformer, gen func(i int) string, check func(in, out string) string) {
	t.Helper()
	if testing.Short() {
		t.Skip("a million values")
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n, size = 1_000_000, 1 << 16
	seen := make(map[string]int32, n)
	in := make(map[string]bool, n)
	for lo := 0; lo < n; lo += size {
		vals := make([][]byte, 0, size)
		for i := lo; i < min(lo+size, n); i++ {
			v := gen(i)
			if in[v] {
				t.Fatalf("the generator repeats %q", v)
			}
			in[v] = true
			vals = append(vals, []byte(v))
		}
		for i, o := range run(t, tr, mem, arrow.BinaryTypes.String, vals) {
			if j, dup := seen[string(o)]; dup {
				t.Fatalf("inputs %d (%q) and %d (%q) meet at %q", j, gen(int(j)), lo+i, vals[i], o)
			}
			seen[string(o)] = int32(lo + i)
			if check != nil {
				if msg := check(string(vals[i]), string(o)); msg != "" {
					t.Fatalf("%q → %q: %s", vals[i], o, msg)
				}
			}
		}
	}
}

// identBench measures a rule over 8192 values, reporting ns/value (and allocs per batch).
func identBench(b *testing.B, f Factory, p string, gen func(i int) string) {
	mem := memory.NewGoAllocator()
	tr := identNew(b, f, p, false)
	vals := make([][]byte, 8192)
	for i := range vals {
		vals[i] = []byte(gen(i))
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

func identTestFPE(t testing.TB, key string) *identFPE {
	k, err := NewKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return newIdentFPE(k.Derive("test"))
}

// Each length's domain maps onto itself one to one: checked value by value up to 5 digits
// (and up to 16 bits), with and without a tweak.
func TestIdentFPEIsABijectionExhaustively(t *testing.T) {
	f := identTestFPE(t, identTestKey)
	var s [16]byte
	tweaks := []identTweak{f.empty, f.tweak(&s, []byte("44"))}
	check := func(name string, d *identDomain, size int, shift uint64) {
		for ti, tw := range tweaks {
			seen := make([]bool, size)
			fixed := 0
			for x := 0; x < size; x++ {
				y := f.permute(&s, d, tw, 0, identU128{lo: uint64(x)})
				if y.hi != 0 || y.lo >= uint64(size) {
					t.Fatalf("%s, tweak %d: %d → %v, outside the domain", name, ti, x, y)
				}
				if seen[y.lo] {
					t.Fatalf("%s, tweak %d: %d is the image of two values", name, ti, y.lo)
				}
				seen[y.lo] = true
				if y.lo == uint64(x) {
					fixed++
				}
			}
			if size >= 1000 && fixed > size/100 {
				t.Errorf("%s: %d fixed points of %d: not a random-looking permutation", name, fixed, size)
			}
		}
	}
	size := 1
	for n := 1; n <= 5; n++ {
		size *= 10
		check(fmt.Sprintf("%d digits", n), &identDecimal[n], size, 0)
		check(fmt.Sprintf("%d digits, no leading zero", n), &identDecimalNZ[n], size-size/10, 0)
	}
	for b := 0; b <= 16; b++ {
		d := identBinaryDomain(b)
		check(fmt.Sprintf("%d bits", b), &d, 1<<b, 0)
	}
}

// Above 5 digits: 200,000 distinct numbers (30,000 above 9 digits) give as many distinct
// images, all of the length. For a random function of 6 to 9 digits thousands would
// collide, so this is strong evidence; the last digits of the images are uniform.
func TestIdentFPEIsABijectionStatistically(t *testing.T) {
	f := identTestFPE(t, identTestKey)
	var s [16]byte
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 6; n <= identMaxDigits; n++ {
		samples := 200_000
		if n > 9 {
			samples = 30_000
		}
		seen := make(map[identU128]bool, samples)
		tried := make(map[identU128]bool, samples)
		var counts [10]int
		d := &identDecimal[n]
		for len(seen) < samples {
			x := identU128{lo: rng.Uint64N(max(d.size.lo, 1))}
			if d.size.hi > 0 {
				x = identU128{rng.Uint64N(d.size.hi + 1), rng.Uint64()}
			}
			if !x.less(d.size) || tried[x] {
				continue
			}
			tried[x] = true
			y := f.permute(&s, d, f.empty, 0, x)
			if !y.less(d.size) {
				t.Fatalf("%d digits: %v → %v, outside the domain", n, x, y)
			}
			if seen[y] {
				t.Fatalf("%d digits: two values meet at %v", n, y)
			}
			seen[y] = true
			_, low := y.divmod10()
			counts[low]++
		}
		for digit, c := range counts {
			if c < samples/10*9/10 || c > samples/10*11/10 {
				t.Errorf("%d digits: last digit %d appears %d times of %d", n, digit, c, samples)
			}
		}
	}
	// 128 bits, the whole IPv6 space, with no cycle-walking.
	full := identBinaryDomain(128)
	seen := map[identU128]bool{}
	for i := uint64(0); i < 30_000; i++ {
		y := f.permute(&s, &full, f.empty, 0, identU128{i, i})
		if seen[y] {
			t.Fatalf("128 bits: two values meet at %v", y)
		}
		seen[y] = true
	}
}

// The permutation is fixed by (key, domain, tweak, length): these images must never change,
// or anonymized databases made before stop matching the ones made after.
func TestIdentFPEIsStable(t *testing.T) {
	f := identTestFPE(t, "0123456789abcdef-golden")
	var s [16]byte
	got := []string{}
	for _, v := range []string{"0", "42", "0123456789", "4111111111111111", strings.Repeat("9", 36), strings.Repeat("1234567890", 5)} {
		b := []byte(v)
		f.permuteDigits(&s, b, f.tweak(&s, []byte("tweak")), false)
		got = append(got, string(b))
	}
	want := []string{"6", "88", "2585827940", "5891004513239972", "929527938200031905284382286951983049",
		"18449714067899526097025876972207828693440440134256"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("images changed:\n got %q\nwant %q", got, want)
	}
	other := identTestFPE(t, "0123456789abcdef-golden!")
	b := []byte("0123456789")
	other.permuteDigits(&s, b, other.tweak(&s, []byte("tweak")), false)
	if string(b) == got[2] {
		t.Error("another key gave the same image")
	}
	b = []byte("0123456789")
	f.permuteDigits(&s, b, f.tweak(&s, []byte("tweak2")), false)
	if string(b) == got[2] {
		t.Error("another tweak gave the same image")
	}
}

// Digit strings longer than identMaxDigits are permuted in parts; all still distinct.
func TestIdentFPELongRuns(t *testing.T) {
	f := identTestFPE(t, identTestKey)
	var s [16]byte
	seen := map[string]bool{}
	for i := 0; i < 20000; i++ {
		v := []byte(strings.Repeat("0", 80-len(strconv.Itoa(i))) + strconv.Itoa(i))
		f.permuteDigits(&s, v, f.empty, false)
		if len(v) != 80 || identCountDigits(v) != 80 || seen[string(v)] {
			t.Fatalf("image %q is not a new 80-digit string", v)
		}
		seen[string(v)] = true
	}
	// A non-zero first digit stays non-zero.
	for i := 1; i < 2000; i++ {
		v := []byte(strconv.Itoa(i))
		f.permuteDigits(&s, v, f.empty, true)
		if v[0] == '0' {
			t.Fatalf("%d → %s", i, v)
		}
	}
}

func TestIdentCallingCodesArePrefixFree(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range identCallingCodes {
		if seen[c.code] {
			t.Errorf("calling code %s listed twice", c.code)
		}
		seen[c.code] = true
		for _, o := range identCallingCodes {
			if o.code != c.code && strings.HasPrefix(o.code, c.code) {
				t.Errorf("calling code %s is a prefix of %s", c.code, o.code)
			}
		}
		d := []byte(c.code + "0")
		if n := identCallingCodeLen(d[0], d[1], 10); n != len(c.code) {
			t.Errorf("calling code %s read as %d digits", c.code, n)
		}
	}
	for _, tc := range []struct{ in, want string }{{"DE", "49"}, {"+44", "44"}, {"us", "1"}, {"1", "1"}, {"352", "352"}} {
		if got, err := identCallingCode(tc.in); err != nil || got != tc.want {
			t.Errorf("country %q: %q, %v", tc.in, got, err)
		}
	}
	if _, err := identCallingCode("Germany"); err == nil {
		t.Error("country Germany accepted")
	}
}

func BenchmarkIdentFPE(b *testing.B) {
	f := identTestFPE(b, identTestKey)
	s := new([16]byte)
	v := []byte("4111111111")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f.permuteDigits(s, v, f.empty, false)
	}
}
