package transforms

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

func wcNew(t testing.TB, col Column, key *Key, p string) Transformer {
	t.Helper()
	return shapeNew(t, "weighted_choice", col, key, shapeParamsTB(t, p))
}

// Over 100,000 distinct inputs every output is a listed choice, and each choice comes out in
// about its share of the weights. The key is fixed, so the counts are too: the bound (±1.5
// points, ten standard deviations) only guards against a draw that ignores the weights.
func TestWeightedChoiceFollowsTheWeights(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := testKey(t, "0123456789abcdef-choice")
	in := make([][]byte, 100_000)
	for i := range in {
		in[i] = []byte("customer-" + strconv.Itoa(i))
	}
	for _, tc := range []struct {
		p     string
		share map[string]float64
	}{
		{"{choices: {free: 70, pro: 25, enterprise: 5}}", map[string]float64{"free": 0.70, "pro": 0.25, "enterprise": 0.05}},
		{"{choices: {a: 0.5, b: 0.5}}", map[string]float64{"a": 0.5, "b": 0.5}},
		{"{choices: {rare: 1, common: 999}}", map[string]float64{"rare": 0.001, "common": 0.999}},
		{"{choices: {only: 3}}", map[string]float64{"only": 1}},
		{`{choices: {"": 1, "  spaced ": 1, "ünïcode": 2}}`, map[string]float64{"": 0.25, "  spaced ": 0.25, "ünïcode": 0.5}},
	} {
		counts := map[string]int{}
		for _, o := range run(t, wcNew(t, shapeTextCol, key, tc.p), mem, arrow.BinaryTypes.Binary, in) {
			if o == nil {
				t.Fatalf("%s: a value became NULL", tc.p)
			}
			if _, ok := tc.share[string(o)]; !ok {
				t.Fatalf("%s: %q is not one of the choices", tc.p, o)
			}
			counts[string(o)]++
		}
		for v, share := range tc.share {
			if got := float64(counts[v]) / float64(len(in)); got < share-0.015 || got > share+0.015 {
				t.Errorf("%s: %q came out %.4f of the time, want %.3f", tc.p, v, got, share)
			}
		}
		if counts["rare"] == 0 && tc.share["rare"] > 0 {
			t.Errorf("%s: the rare choice never came out", tc.p)
		}
	}
}

// The same input gets the same choice on String and raw columns; another key or domain
// chooses otherwise; NULL stays NULL; a varchar(n) column gets its choice cut to n.
func TestWeightedChoiceIsKeyed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var choices []string
	for i := 0; i < 100; i++ {
		choices = append(choices, "c"+strconv.Itoa(i)+": 1")
	}
	p := "{choices: {" + strings.Join(choices, ", ") + "}}"
	in := make([][]byte, 0, 402)
	for i := 0; i < 400; i++ {
		in = append(in, []byte("user"+strconv.Itoa(i%200)))
	}
	in = append(in, nil, []byte{})
	key1, key2 := testKey(t, "0123456789abcdef-one"), testKey(t, "0123456789abcdef-two")
	a := run(t, wcNew(t, shapeTextCol, key1, p), mem, arrow.BinaryTypes.Binary, in)
	s := run(t, wcNew(t, shapeTextCol, key1, p), mem, arrow.BinaryTypes.String, in)
	b := run(t, wcNew(t, shapeTextCol, key2, p), mem, arrow.BinaryTypes.Binary, in)
	c := run(t, wcNew(t, shapeTextCol, key1, p[:len(p)-1]+", domain: plan}"), mem, arrow.BinaryTypes.Binary, in)
	if a[400] != nil || a[401] == nil {
		t.Errorf("NULL became %q, the empty text became %q", a[400], a[401])
	}
	sameB, sameC := 0, 0
	for i := 0; i < 400; i++ {
		if !bytes.Equal(a[i], a[i%200]) || !bytes.Equal(a[i], s[i]) {
			t.Fatalf("%s: %s, %s, %s (String)", in[i], a[i%200], a[i], s[i])
		}
		if bytes.Equal(a[i], b[i]) {
			sameB++
		}
		if bytes.Equal(a[i], c[i]) {
			sameC++
		}
	}
	if sameB > 30 || sameC > 30 { // 1 in 100 by chance: 4 of 400
		t.Errorf("another key matched %d/400, another domain %d/400", sameB, sameC)
	}

	out := run(t, wcNew(t, textCol("character varying(3)", pgtype.VarcharOID, 7), key1, "{choices: {enterprise: 1, zürich: 1}}"), mem, arrow.BinaryTypes.String, in[:50])
	for _, o := range out {
		if string(o) != "ent" && string(o) != "zür" {
			t.Fatalf("varchar(3) got %q", o)
		}
	}
}

func TestWeightedChoiceRefusals(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	uniq := shapeTextCol
	uniq.Unique = true
	for _, tc := range []struct {
		col  Column
		key  *Key
		p    string
		want string
	}{
		{shapeInt4Col, key, "{choices: {a: 1}}", "column type integer does not take it"},
		{shapeTextCol, key, "", "weighted_choice needs choices"},
		{shapeTextCol, key, "{choices: {}}", "weighted_choice needs choices"},
		{shapeTextCol, key, "{choices: [a, b]}", "a mapping of value to weight"},
		{shapeTextCol, key, "{choices: {a: 0}}", `the weight of "a" must be a positive number`},
		{shapeTextCol, key, "{choices: {a: -1}}", `the weight of "a" must be a positive number`},
		{shapeTextCol, key, "{choices: {a: lots}}", `the weight of "a" must be a positive number`},
		{shapeTextCol, key, "{choices: {a: .inf}}", `the weight of "a" must be a positive number`},
		{shapeTextCol, key, "{choices: {a: .nan}}", `the weight of "a" must be a positive number`},
		{shapeTextCol, key, "{choices: {a: [1]}}", `the weight of "a" must be a positive number`},
		{shapeTextCol, key, "{choices: {~: 1}}", "NULL is not one"},
		{shapeTextCol, key, "{choices: {a: 1, a: 2}}", "listed twice"},
		{uniq, key, "{choices: {a: 1}}", "column c is unique"},
		{shapeTextCol, key, "{choices: {a: 1}, choice: 3}", `did you mean "choices"`},
	} {
		if got := shapeErr(t, "weighted_choice", tc.col, tc.key, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

func BenchmarkWeightedChoice(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = "customer-" + strconv.Itoa(i)
	}
	tr := wcNew(b, shapeTextCol, key, "{choices: {free: 70, pro: 25, team: 10, business: 4, enterprise: 1}}")
	shapeBench(b, tr, arrow.BinaryTypes.Binary, vals)
}
