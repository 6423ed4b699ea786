package transforms

import (
	"encoding/binary"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

func newTestPermute(t testing.TB, oid uint32, key string) *permuteTransformer {
	t.Helper()
	k, _ := NewKey(key)
	tr, err := newPermute(Env{Column: Column{Name: "id", TypeName: "int", BaseOID: oid}, Key: k, Params: YAMLParams(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return tr.(*permuteTransformer)
}

// Every smallint maps to a distinct smallint of the same sign: a bijection, checked
// exhaustively.
func TestPermuteIsABijectionThatKeepsSign(t *testing.T) {
	p := newTestPermute(t, pgtype.Int2OID, "0123456789abcdef-perm")
	seen := make(map[int64]bool, 1<<16)
	moved := 0
	for v := int64(-32768); v <= 32767; v++ {
		out := p.Int(v)
		if out < -32768 || out > 32767 || (v < 0) != (out < 0) {
			t.Fatalf("permute(%d) = %d: out of range or sign changed", v, out)
		}
		if seen[out] {
			t.Fatalf("permute(%d) = %d collides", v, out)
		}
		seen[out] = true
		if out != v {
			moved++
		}
	}
	if moved < 65000 {
		t.Errorf("only %d of 65536 values moved", moved)
	}
}

func TestPermuteMillionKeysStayUniqueAndFollowTheDomain(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range []struct {
		oid   uint32
		width int
	}{{pgtype.Int4OID, 4}, {pgtype.Int8OID, 8}, {pgtype.UUIDOID, 16}} {
		p := newTestPermute(t, tc.oid, "0123456789abcdef-perm")
		vals := make([][]byte, 1_000_000)
		for i := range vals {
			v := make([]byte, tc.width)
			binary.BigEndian.PutUint32(v[tc.width-4:], uint32(i+1))
			vals[i] = v
		}
		out := run(t, p, mem, arrow.BinaryTypes.Binary, vals)
		seen := make(map[string]bool, len(out))
		for i, o := range out {
			if seen[string(o)] {
				t.Fatalf("oid %d: key %d collides", tc.oid, i+1)
			}
			seen[string(o)] = true
		}
		// The referencing column gets the same rule and domain: the same mapping.
		again := run(t, newTestPermute(t, tc.oid, "0123456789abcdef-perm"), mem, arrow.BinaryTypes.Binary, vals[:1000])
		for i := range again {
			if string(again[i]) != string(out[i]) {
				t.Fatalf("oid %d: key %d maps differently the second time", tc.oid, i+1)
			}
		}
		other := run(t, newTestPermute(t, tc.oid, "0123456789abcdef-othr"), mem, arrow.BinaryTypes.Binary, vals[:1000])
		same := 0
		for i := range other {
			if string(other[i]) == string(out[i]) {
				same++
			}
		}
		if same > 2 {
			t.Errorf("oid %d: another key kept %d of 1000 mappings", tc.oid, same)
		}
	}
}

func TestPermuteRefusesOtherTypes(t *testing.T) {
	k, _ := NewKey("0123456789abcdef-perm")
	if _, err := newPermute(Env{Column: Column{TypeName: "text", BaseOID: pgtype.TextOID}, Key: k, Params: YAMLParams(nil)}); err == nil {
		t.Error("permute accepted a text column")
	}
	if _, err := newPermute(Env{Column: Column{TypeName: "integer", BaseOID: pgtype.Int4OID}, Params: YAMLParams(nil)}); err == nil {
		t.Error("permute ran without a key")
	}
}

func BenchmarkPermuteInt8(b *testing.B) {
	mem := memory.NewGoAllocator()
	p := newTestPermute(b, pgtype.Int8OID, "0123456789abcdef-perm")
	vals := make([][]byte, 8192)
	for i := range vals {
		vals[i] = binary.BigEndian.AppendUint64(nil, uint64(i))
	}
	rec := batch(mem, arrow.BinaryTypes.Binary, vals)
	defer rec.Release()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := p.Transform(rec, 0, mem)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
}
