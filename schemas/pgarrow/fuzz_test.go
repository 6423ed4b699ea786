package pgarrow

import (
	"bytes"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// FuzzDecodeEncode: any stream the Decoder accepts is encoded back to the same bytes, with the
// columns carried natively or raw, in any batch size; no input panics or leaks memory.
//
// The first input byte picks the column list: 0 is one column of every type (allTypesColumns),
// k > 0 is the single column typeCases[k-1], so short inputs reach every type's decoder too.
// The second byte picks the batch size.
func FuzzDecodeEncode(f *testing.F) {
	f.Add(append([]byte{0, 0}, allTypesStream(3)...))
	f.Add(append([]byte{0, 2}, allTypesStream(30)...))
	for i, tc := range typeCases {
		s := newStream()
		for _, v := range tc.fields {
			s.row(v)
		}
		f.Add(append([]byte{byte(i + 1), 1}, s.end()...))
	}
	f.Add([]byte{0, 0})
	f.Add(append([]byte{1, 0}, newStream().row(nil).b...))

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		pick, data := int(in[0])%(len(typeCases)+1), in[2:]
		opts := DecoderOptions{BatchRows: 1 + int(in[1]%8), BatchBytes: 1 + int(in[1])*4}
		for _, native := range []bool{true, false} {
			cols := allTypesColumns(native)
			if pick > 0 {
				cols = cols[pick-1 : pick]
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			recs, err := decodeAll(t, data, cols, mem, opts)
			if err == nil {
				out, err := encodeAll(cols, recs)
				if err != nil {
					t.Fatalf("native=%v: decoded but did not encode: %v", native, err)
				}
				if !bytes.Equal(out, data) {
					t.Fatalf("native=%v: round trip changed the stream:\n got %x\nwant %x", native, out, data)
				}
				releaseAll(recs)
			} else {
				asError(t, err)
			}
			mem.AssertSize(t, 0)
		}
	})
}

// FuzzNumericParse: whatever text the encoder accepts as a numeric becomes a binary numeric in
// PostgreSQL's canonical form: the decoder accepts it, and its text parses back to the same bytes.
func FuzzNumericParse(f *testing.F) {
	for _, s := range []string{"0", "-0.000", "12.3400", "1e-20", "1.5E+3", " -.5 ", "NaN", "-inf", "1e131071", "9999.99990000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p numParser
		bin, err := p.appendBinary(nil, s)
		if err != nil {
			return
		}
		text, err := appendNumericText(nil, bin)
		if err != nil {
			t.Fatalf("%q parsed to %x, which does not decode: %v", s, bin, err)
		}
		again, err := p.appendBinary(nil, string(text))
		if err != nil || !bytes.Equal(again, bin) {
			t.Fatalf("%q → %x → %q → %x (%v)", s, bin, text, again, err)
		}
	})
}
