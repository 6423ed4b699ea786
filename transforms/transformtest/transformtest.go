// Package transformtest is the conformance suite every registered rule passes: what the
// pipeline and the anonymization model rely on, checked on the rule's own documented example.
// A new rule is one file plus one line, its sample:
//
//	func TestRules(t *testing.T) { transformtest.Run(t, transforms.Default(), samples) }
//
// For every rule of the registry the suite builds the rule's Example (Entry.Example) on the
// column of its Sample and checks that
//   - the example names its rule and builds; a keyed rule refuses to build without a key,
//     saying to set UNDERSTUDY_KEY; a misspelt parameter is refused, named;
//   - NULL stays NULL, the output has the input's Arrow type and length, and a rule on a
//     text column that fits in varchar(n) either writes at most n characters or is refused;
//   - the same key gives the same outputs in another process, and another key (or domain)
//     other outputs, value by value;
//   - one Transformer is safe for concurrent use (run with -race to see data races);
//   - no Arrow memory leaks (every batch runs on a memory.CheckedAllocator);
//   - a rule that claims UniqueSafe on a unique column maps a million distinct inputs to a
//     million distinct outputs (skipped with -short).
//
// It is not the place for a rule's own promises (a card number stays Luhn-valid, an address
// keeps its subnet): those stay in the rule's tests, or in its Sample's Check.
package transformtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"

	"github.com/understudy-dev/understudy/transforms"
)

// Sample says what column a rule's documented example is tried on and what values it holds.
type Sample struct {
	// Column is the column the rule is built for; its Name becomes the example's column name.
	Column transforms.Column
	// Type is the Arrow type the column reaches the rule as: nil for raw PostgreSQL wire bytes
	// (Binary), the pipeline's default, or the native type a NativeInput rule asks for
	// (Int16/32/64, Float32/64, String for numeric, Date32, Timestamp in µs).
	Type arrow.DataType
	// Value returns the column's i-th value, distinct for each i below a million: []byte or
	// string for Binary and String columns, int64 for integers, days and µs, float64 for floats.
	Value func(i int) any
	// Other returns row i's value (a string, nil for NULL) of a text column the rule reads
	// besides its own (a template's); nil if the rule reads none.
	Other func(column string, i int) any
	// Literal is handed to the rule as Env.Literal (constant); nil if it takes none.
	Literal func(text string) ([]byte, error)
	// Check, if set, vets each non-NULL input and its output (as Key renders them) with the
	// rule's own promise, returning "" or what is wrong. It runs on every value the suite
	// sends, the million included.
	Check func(in, out string) string
}

// Key is the key the suite runs keyed rules with; OtherKey the one that must change outputs.
const (
	Key      = "transformtest-key-0123456789"
	OtherKey = "transformtest-key-9876543210"
)

// childEnv names the file a child process writes its digests to.
const childEnv = "UNDERSTUDY_TRANSFORMTEST_DIGESTS"

const (
	sampleSize = 1000      // values per check
	million    = 1_000_000 // values for a uniqueness claim
	batchSize  = 1 << 16
)

// Run runs the suite on every rule reg holds; samples holds one Sample per rule name, and a
// rule without one fails. Run re-executes the test binary once (a child process running
// the same test) to compare outputs across processes; t must be a test that calls only Run.
func Run(t *testing.T, reg *transforms.Registry, samples map[string]Sample) {
	if path := os.Getenv(childEnv); path != "" {
		writeDigests(t, reg, samples, path)
		return
	}
	for name := range samples {
		if _, ok := reg.Lookup(name); !ok {
			t.Errorf("a sample for %s, which the registry does not hold", name)
		}
	}
	theirs := childDigests(t)
	for _, name := range reg.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, ok := samples[name]
			if !ok {
				t.Fatalf("rule %s has no Sample: add one (its column, type and values)", name)
			}
			c := newCase(t, reg, name, s)
			t.Run("Example", c.testExample)
			t.Run("UnknownParameter", c.testUnknownParameter)
			t.Run("NullsTypeAndLength", c.testNullsTypeAndLength)
			t.Run("Varchar", c.testVarchar)
			t.Run("AcrossProcesses", func(t *testing.T) {
				mine := c.digest(t)
				if theirs[name] != mine {
					t.Errorf("another process gave other outputs for the same key and inputs (digest %s, here %s)", theirs[name], mine)
				}
			})
			t.Run("OtherKey", c.testOtherKey)
			t.Run("Concurrent", c.testConcurrent)
			t.Run("UniqueSafe", c.testUniqueSafe)
		})
	}
}

// A case is one rule's example on its sample's column.
type Case struct {
	reg    *transforms.Registry
	name   string
	spec   *yaml.Node // the rule's mapping, or nil for a bare name
	sample Sample
	col    transforms.Column
	keyed  bool
	noKey  error
}

func newCase(t *testing.T, reg *transforms.Registry, name string, s Sample) *Case {
	t.Helper()
	e, _ := reg.Lookup(name)
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(e.Example), &doc); err != nil || len(doc.Content) == 0 ||
		doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) != 2 {
		t.Fatalf("example %q is not one column and its rule (%v)", e.Example, err)
	}
	colName, rule := doc.Content[0].Content[0].Value, doc.Content[0].Content[1]
	c := &Case{reg: reg, name: name, sample: s, col: s.Column}
	c.col.Name = colName
	switch rule.Kind {
	case yaml.ScalarNode:
		if rule.Value != name {
			t.Fatalf("example %q is a rule %q, not %s", e.Example, rule.Value, name)
		}
	case yaml.MappingNode:
		got := ""
		for i := 0; i+1 < len(rule.Content); i += 2 {
			if rule.Content[i].Value == "transform" {
				got = rule.Content[i+1].Value
			}
		}
		if got != name {
			t.Fatalf("example %q is a rule %q, not %s", e.Example, got, name)
		}
		c.spec = rule
	default:
		t.Fatalf("example %q: the rule is neither a name nor a mapping", e.Example)
	}
	_, c.noKey = c.build(c.col, nil, "")
	c.keyed = c.noKey != nil
	return c
}

// build builds the rule on col with key (none if nil) and, if domain is set, that domain.
func (c *Case) build(col transforms.Column, key *transforms.Key, domain string) (transforms.Transformer, error) {
	spec := c.spec
	if domain != "" {
		spec = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if c.spec != nil {
			spec.Content = append(spec.Content, c.spec.Content...)
		} else {
			spec.Content = append(spec.Content, scalar("transform"), scalar(c.name))
		}
		spec.Content = append(spec.Content, scalar("domain"), scalar(domain))
	}
	return c.reg.New(c.name, transforms.Env{Column: col, Key: key, Params: transforms.YAMLParams(spec), Literal: c.sample.Literal})
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func mustKey(t testing.TB, s string) *transforms.Key {
	k, err := transforms.NewKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mustBuild builds the example on the sample's column under key.
func (c *Case) mustBuild(t testing.TB, key string) transforms.Transformer {
	t.Helper()
	tr, err := c.build(c.col, mustKey(t, key), "")
	if err != nil {
		t.Fatalf("%s on %s (%s): %v", c.name, c.col, c.col.TypeName, err)
	}
	return tr
}

func (c *Case) testExample(t *testing.T) {
	c.mustBuild(t, Key)
	if c.keyed && !strings.Contains(c.noKey.Error(), "UNDERSTUDY_KEY") {
		t.Errorf("without a key: %v, want an error that says to set UNDERSTUDY_KEY", c.noKey)
	}
}

func (c *Case) testUnknownParameter(t *testing.T) {
	spec := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if c.spec != nil {
		spec.Content = append(spec.Content, c.spec.Content...)
	} else {
		spec.Content = append(spec.Content, scalar("transform"), scalar(c.name))
	}
	spec.Content = append(spec.Content, scalar("transformtest_typo"), scalar("1"))
	_, err := c.reg.New(c.name, transforms.Env{Column: c.col, Key: mustKey(t, Key), Params: transforms.YAMLParams(spec), Literal: c.sample.Literal})
	if err == nil || !strings.Contains(err.Error(), `unknown parameter "transformtest_typo"`) {
		t.Errorf("a misspelt parameter: %v, want an error naming it", err)
	}
}

// reads lists the columns tr reads besides its own.
func reads(tr transforms.Transformer) []string {
	var out []string
	if r, ok := tr.(interface{ ReadsColumns() []string }); ok {
		out = append(out, r.ReadsColumns()...)
	}
	if r, ok := tr.(interface{ Reads() []string }); ok {
		for _, n := range r.Reads() {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// record builds rows lo…lo+n-1 of the sample, own column first, NULL in every row i with
// nullEvery > 0 and i%nullEvery == 0, plus the columns tr reads.
func (c *Case) record(mem memory.Allocator, tr transforms.Transformer, lo, n, nullEvery int) arrow.Record {
	dt := c.sample.Type
	if dt == nil {
		dt = arrow.BinaryTypes.Binary
	}
	fields := []arrow.Field{{Name: c.col.Name, Type: dt, Nullable: true}}
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	b.Reserve(n)
	for i := lo; i < lo+n; i++ {
		if nullEvery > 0 && i%nullEvery == 0 {
			b.AppendNull()
		} else {
			appendValue(b, c.sample.Value(i))
		}
	}
	cols := []arrow.Array{b.NewArray()}
	for _, name := range reads(tr) {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true})
		sb := array.NewStringBuilder(mem)
		for i := lo; i < lo+n; i++ {
			var v any
			if c.sample.Other != nil {
				v = c.sample.Other(name, i)
			}
			if v == nil {
				sb.AppendNull()
			} else {
				sb.Append(v.(string))
			}
		}
		cols = append(cols, sb.NewArray())
		sb.Release()
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(n))
	for _, a := range cols {
		a.Release()
	}
	return rec
}

func appendValue(b array.Builder, v any) {
	switch b := b.(type) {
	case *array.BinaryBuilder:
		switch v := v.(type) {
		case string:
			b.AppendString(v)
		case []byte:
			b.Append(v)
		}
	case *array.StringBuilder:
		switch v := v.(type) {
		case string:
			b.Append(v)
		case []byte:
			b.BinaryBuilder.Append(v)
		}
	case *array.Int16Builder:
		b.Append(int16(v.(int64)))
	case *array.Int32Builder:
		b.Append(int32(v.(int64)))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Float32Builder:
		b.Append(float32(v.(float64)))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v.(int64)))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.(int64)))
	default:
		panic(fmt.Sprintf("transformtest: no values of %s", b.Type()))
	}
}

// ValueKey renders value i of a (not NULL) as a string that is equal for equal values: the
// bytes of a Binary or String value, Arrow's text form of any other.
func ValueKey(a arrow.Array, i int) string {
	switch a := a.(type) {
	case *array.Binary:
		return string(a.Value(i))
	case *array.String:
		return a.Value(i)
	}
	return a.ValueStr(i)
}

// apply runs tr on rec and returns the outputs (nil for NULL), checking the output's type
// and length, NULLs kept and the sample's Check.
func (c *Case) apply(t testing.TB, tr transforms.Transformer, rec arrow.Record, mem memory.Allocator) []*string {
	return c.applyCheck(t, tr, rec, mem, true)
}

// applyCheck is apply, with the sample's Check only if check is set: the Check is written
// for the example under Key, not for another key or domain.
func (c *Case) applyCheck(t testing.TB, tr transforms.Transformer, rec arrow.Record, mem memory.Allocator, check bool) []*string {
	t.Helper()
	out, err := tr.Transform(rec, 0, mem)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	defer out.Release()
	in := rec.Column(0)
	if out.Len() != in.Len() || !arrow.TypeEqual(out.DataType(), in.DataType()) {
		t.Fatalf("%s: %d values of %s out of %d of %s", c.name, out.Len(), out.DataType(), in.Len(), in.DataType())
	}
	res := make([]*string, out.Len())
	for i := range res {
		if in.IsNull(i) {
			if !out.IsNull(i) {
				t.Fatalf("%s: NULL became %q", c.name, ValueKey(out, i))
			}
			continue
		}
		if out.IsNull(i) {
			continue
		}
		v := ValueKey(out, i)
		res[i] = &v
		if check && c.sample.Check != nil {
			if msg := c.sample.Check(ValueKey(in, i), v); msg != "" {
				t.Fatalf("%s: %q → %q: %s", c.name, ValueKey(in, i), v, msg)
			}
		}
	}
	return res
}

// run runs tr on sample rows lo…lo+n-1 on a checked allocator.
func (c *Case) run(t testing.TB, tr transforms.Transformer, lo, n, nullEvery int) []*string {
	t.Helper()
	return c.runCheck(t, tr, lo, n, nullEvery, true)
}

func (c *Case) runCheck(t testing.TB, tr transforms.Transformer, lo, n, nullEvery int, check bool) []*string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := c.record(mem, tr, lo, n, nullEvery)
	defer rec.Release()
	return c.applyCheck(t, tr, rec, mem, check)
}

func (c *Case) testNullsTypeAndLength(t *testing.T) {
	tr := c.mustBuild(t, Key)
	out := c.run(t, tr, 0, sampleSize, 3)
	for i, v := range out {
		if i%3 == 0 && v != nil {
			t.Fatalf("row %d: NULL became %q", i, *v)
		}
	}
	// A batch of NULLs only, and an empty batch.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, n := range []int{0, 5} {
		rec := c.record(mem, tr, 0, n, 1)
		c.apply(t, tr, rec, mem)
		rec.Release()
	}
}

// testVarchar builds the rule on varchar(n), n the longest of the sample's values, for a
// rule on a text column: it is refused, or writes at most n characters.
func (c *Case) testVarchar(t *testing.T) {
	if c.col.BaseOID != pgtype.TextOID && c.col.BaseOID != pgtype.VarcharOID {
		t.Skipf("a %s column has no length limit", c.col.TypeName)
	}
	n := 0
	for i := range sampleSize {
		var l int
		switch v := c.sample.Value(i).(type) {
		case string:
			l = utf8.RuneCountInString(v)
		case []byte:
			l = utf8.RuneCount(v)
		}
		n = max(n, l)
	}
	col := c.col
	col.TypeName, col.BaseOID, col.Typmod = fmt.Sprintf("character varying(%d)", n), pgtype.VarcharOID, int32(n+4)
	tr, err := c.build(col, mustKey(t, Key), "")
	if err != nil {
		t.Logf("refused on %s: %v", col.TypeName, err)
		return
	}
	for i, v := range c.run(t, tr, 0, sampleSize, 0) {
		if v != nil && utf8.RuneCountInString(*v) > n {
			t.Fatalf("%q → %q: longer than %s", show(c.sample.Value(i)), *v, col.TypeName)
		}
	}
}

// show renders a sample value, for messages and to tell inputs apart.
func show(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

// digest is a hash of the example's outputs for the first sampleSize values under Key.
func (c *Case) digest(t testing.TB) string {
	h := sha256.New()
	for _, v := range c.run(t, c.mustBuild(t, Key), 0, sampleSize, 7) {
		if v == nil {
			h.Write([]byte{0})
			continue
		}
		fmt.Fprintf(h, "\x01%d:%s", len(*v), *v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeDigests(t *testing.T, reg *transforms.Registry, samples map[string]Sample, path string) {
	var sb strings.Builder
	for _, name := range reg.Names() {
		s, ok := samples[name]
		if !ok {
			continue
		}
		fmt.Fprintf(&sb, "%s %s\n", name, newCase(t, reg, name, s).digest(t))
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// childDigests runs this test in a child process, which writes each rule's digest.
func childDigests(t *testing.T) map[string]string {
	t.Helper()
	var pattern []string
	for _, part := range strings.Split(t.Name(), "/") {
		pattern = append(pattern, "^"+regexp.QuoteMeta(part)+"$")
	}
	path := t.TempDir() + "/digests"
	cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(pattern, "/"), "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the child process wrote no digests: %v", err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if name, d, ok := strings.Cut(line, " "); ok {
			got[name] = d
		}
	}
	return got
}

// testOtherKey checks that another key, and another domain where the rule takes one, change
// the outputs value by value: at most one in 20 may stay the same (rules with few outputs,
// such as a date moved by up to 30 days, keep some by chance).
func (c *Case) testOtherKey(t *testing.T) {
	if !c.keyed {
		t.Skip("not keyed: it builds without a key")
	}
	a := c.run(t, c.mustBuild(t, Key), 0, sampleSize, 0)
	other := map[string]transforms.Transformer{"another key": c.mustBuild(t, OtherKey)}
	if tr, err := c.build(c.col, mustKey(t, Key), "transformtest-other"); err == nil {
		other["another domain"] = tr
	} else if !strings.Contains(err.Error(), `unknown parameter "domain"`) {
		t.Errorf("with a domain: %v", err)
	}
	for what, tr := range other {
		b := c.runCheck(t, tr, 0, sampleSize, 0, false)
		same, n := 0, 0
		for i := range a {
			if a[i] == nil || b[i] == nil {
				continue
			}
			n++
			if *a[i] == *b[i] {
				same++
				if same <= 3 {
					t.Logf("%s: %q → %q under both", what, show(c.sample.Value(i)), *a[i])
				}
			}
		}
		if n < sampleSize/2 {
			t.Fatalf("only %d of %d values have an output", n, sampleSize)
		}
		// The chance that two independent draws agree, from the spread of the outputs.
		counts := map[string]int{}
		for _, v := range a {
			if v != nil {
				counts[*v]++
			}
		}
		chance := 0.0
		for _, k := range counts {
			chance += float64(k) * float64(k) / float64(n) / float64(n)
		}
		limit := max(n/20, int(float64(n)*chance*1.5)+10)
		if same > limit {
			t.Errorf("%s left %d of %d outputs the same (at most %d by chance)", what, same, n, limit)
		}
	}
}

// testConcurrent runs one Transformer from several goroutines at once on the same batch:
// each gets what a lone call gets.
func (c *Case) testConcurrent(t *testing.T) {
	tr := c.mustBuild(t, Key)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := c.record(mem, tr, 0, sampleSize, 5)
	defer rec.Release()
	want := c.apply(t, tr, rec, mem)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				out, err := tr.Transform(rec, 0, mem)
				if err != nil {
					errs <- err.Error()
					return
				}
				for i := range want {
					if (want[i] == nil) != out.IsNull(i) || want[i] != nil && *want[i] != ValueKey(out, i) {
						errs <- fmt.Sprintf("row %d differs from a lone call", i)
						break
					}
				}
				out.Release()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// testUniqueSafe builds the rule on the column made unique: a rule refused there makes no
// claim; one that claims UniqueSafe must give a million distinct inputs distinct outputs.
func (c *Case) testUniqueSafe(t *testing.T) {
	col := c.col
	col.Unique = true
	tr, err := c.build(col, mustKey(t, Key), "")
	if err != nil {
		t.Skipf("refused on a unique column: %v", err)
	}
	if u, ok := tr.(transforms.UniqueSafe); !ok || !u.UniqueSafe() {
		t.Skip("does not claim UniqueSafe")
	}
	if testing.Short() {
		t.Skip("a million values")
	}
	seen := make(map[string]int32, million)
	inputs := make(map[string]struct{}, million)
	for lo := 0; lo < million; lo += batchSize {
		n := min(batchSize, million-lo)
		for i, v := range c.run(t, tr, lo, n, 0) {
			in := show(c.sample.Value(lo + i))
			if _, dup := inputs[in]; dup {
				t.Fatalf("the sample repeats %q: it must give a million distinct values", in)
			}
			inputs[in] = struct{}{}
			if v == nil {
				t.Fatalf("%q became NULL", in)
			}
			if j, dup := seen[*v]; dup {
				t.Fatalf("inputs %d (%q) and %d (%q) meet at %q", j, show(c.sample.Value(int(j))), lo+i, in, *v)
			}
			seen[*v] = int32(lo + i)
		}
	}
}
