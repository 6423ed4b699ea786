package transforms

import (
	"bytes"
	"crypto/aes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// uuidBytes reads the 16 bytes of a UUID written as text: 32 hex digits, with hyphens and
// braces allowed around them.
func uuidBytes(s string) ([16]byte, error) {
	var b [16]byte
	h := strings.Map(func(r rune) rune {
		if r == '-' || r == '{' || r == '}' {
			return -1
		}
		return r
	}, s)
	if len(h) != 32 {
		return b, fmt.Errorf("%q has %d characters besides hyphens and braces, not 32", s, len(h))
	}
	_, err := hex.Decode(b[:], []byte(h))
	return b, err
}

// uuidLayout is s with every hex digit replaced by '#'.
func uuidLayout(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' {
			return '#'
		}
		return r
	}, s)
}

// uuidAES returns what the rule's image must be, computed here without the rule: AES-128
// of the 16 bytes under the first 16 bytes of the domain's subkey.
func uuidAES(tb testing.TB, domain string) func([16]byte) [16]byte {
	k, err := NewKey(identTestKey)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := aes.NewCipher(k.Derive(domain)[:16])
	if err != nil {
		tb.Fatal(err)
	}
	return func(in [16]byte) (out [16]byte) {
		c.Encrypt(out[:], in[:])
		return out
	}
}

// uuidColumnType is a column of type uuid, whose values are 16 raw bytes.
func uuidColumnType(unique bool) Column {
	return Column{Table: "public.people", Name: "external_id", TypeName: "uuid", BaseOID: pgtype.UUIDOID, Typmod: -1, Unique: unique}
}

func TestUUIDIsAESAndKeepsLayoutAndCase(t *testing.T) {
	in := []string{"123e4567-e89b-12d3-a456-426614174000", "{123E4567-E89B-12D3-A456-426614174000}",
		"123e4567e89b12d3a456426614174000", "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
		"{f47ac10b58cc4372a5670e02b2c3d479}", "F47ac10b-58cc-4372-a567-0e02b2c3d479"}
	for _, p := range []struct{ params, domain string }{{"", "uuid"}, {"{transform: uuid, domain: external-id}", "external-id"}} {
		out := identApply(t, identNew(t, newUUID, p.params, false), in...)
		want := uuidAES(t, p.domain)
		for i := range in {
			a, err := uuidBytes(in[i])
			if err != nil {
				t.Fatalf("test input: %v", err)
			}
			b, err := uuidBytes(out[i])
			switch {
			case err != nil:
				t.Errorf("%q → %q: %v", in[i], out[i], err)
			case b != want(a):
				t.Errorf("%q → %q: not AES-128 under the key of domain %s", in[i], out[i], p.domain)
			case uuidLayout(out[i]) != uuidLayout(in[i]):
				t.Errorf("%q → %q: hyphens or braces changed", in[i], out[i])
			case macLetters(in[i]) == "upper" && macLetters(out[i]) == "lower", macLetters(in[i]) != "upper" && strings.ContainsAny(out[i], "ABCDEF"):
				t.Errorf("%q → %q: the letter case changed", in[i], out[i])
			}
		}
		if out[0] != strings.ToLower(strings.Trim(out[1], "{}")) {
			t.Errorf("one UUID in two spellings, two images: %q, %q", out[0], out[1])
		}
	}
	if got := identApply(t, identNew(t, newUUID, "", false), "")[0]; got != "" {
		t.Errorf("empty value → %q", got)
	}
}

// A uuid column carries 16 raw bytes; a UUID gets the same image there as in text, so a
// uuid key and a text column holding it still match after the copy.
func TestUUIDColumnMatchesText(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	k, _ := NewKey(identTestKey)
	for _, p := range []string{"", "{transform: uuid, v4: true}"} {
		col, err := newUUID(Env{Column: uuidColumnType(false), Key: k, Params: identParams(t, p)})
		if err != nil {
			t.Fatal(err)
		}
		text := identNew(t, newUUID, p, false)
		strs := []string{"123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000", "f47ac10b-58cc-4372-a567-0e02b2c3d479"}
		raw := [][]byte{nil}
		for _, s := range strs {
			b, _ := uuidBytes(s)
			raw = append(raw, b[:])
		}
		gotRaw := run(t, col, mem, arrow.BinaryTypes.Binary, raw)
		gotText := identApply(t, text, strs...)
		// The same column read as text (36 characters) gives text.
		gotRead := run(t, col, mem, arrow.BinaryTypes.String, [][]byte{[]byte(strs[0]), nil})
		if gotRaw[0] != nil || gotRead[1] != nil {
			t.Errorf("%s: NULL became %q, %q", p, gotRaw[0], gotRead[1])
		}
		if string(gotRead[0]) != gotText[0] {
			t.Errorf("%s: uuid column read as text gave %q, text column %q", p, gotRead[0], gotText[0])
		}
		for i, s := range strs {
			b, _ := uuidBytes(gotText[i])
			if len(gotRaw[i+1]) != 16 || !bytes.Equal(gotRaw[i+1], b[:]) {
				t.Errorf("%s: %s → %x in a uuid column, %s in text", p, s, gotRaw[i+1], gotText[i])
			}
			if p != "" && (gotRaw[i+1][6]>>4 != 4 || gotRaw[i+1][8]>>6 != 2) {
				t.Errorf("v4: %s → %x is not a version 4, RFC 4122 variant UUID", s, gotRaw[i+1])
			}
		}
		if identUniqueClaim(col) != (p == "") || identUniqueClaim(text) != (p == "") {
			t.Errorf("%s: claims of uniqueness %v (uuid column), %v (text)", p, identUniqueClaim(col), identUniqueClaim(text))
		}
	}
	// v4 keeps the other 122 bits of the AES image.
	a, _ := uuidBytes("123e4567-e89b-12d3-a456-426614174000")
	want := uuidAES(t, "uuid")(a)
	got, _ := uuidBytes(identApply(t, identNew(t, newUUID, "{transform: uuid, v4: true}", false), "123e4567-e89b-12d3-a456-426614174000")[0])
	want[6], want[8] = want[6]&0x0f|0x40, want[8]&0x3f|0x80
	if got != want {
		t.Errorf("v4: %x, want %x", got, want)
	}
	// A raw value that is not 16 bytes, nor a UUID as text, is refused.
	rec := batch(mem, arrow.BinaryTypes.Binary, [][]byte{bytes.Repeat([]byte{7}, 15)})
	defer rec.Release()
	col, _ := newUUID(Env{Column: uuidColumnType(false), Key: k, Params: identParams(t, "")})
	if out, err := col.Transform(rec, 0, mem); err == nil || !strings.Contains(err.Error(), "not a UUID") {
		if err == nil {
			out.Release()
		}
		t.Errorf("15 bytes: %v", err)
	}
}

func TestUUIDRefusesWhatIsNotAUUID(t *testing.T) {
	tr := identNew(t, newUUID, "", false)
	for _, v := range []string{"123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-4266141740000",
		"g23e4567-e89b-12d3-a456-426614174000", "123e4567 e89b 12d3 a456 426614174000",
		"urn:uuid:123e4567-e89b-12d3-a456-426614174000", "not-a-uuid", "{}"} {
		err := identApplyErr(t, tr, v)
		if err == nil || !strings.Contains(err.Error(), "row 0 of the batch: uuid: a value is not a UUID (32 hex digits, hyphens and braces allowed)") {
			t.Errorf("%q: error %v", v, err)
		}
	}
}

func TestUUIDCommonContract(t *testing.T) {
	identCheckCommon(t, newUUID, "uuid", "", "123e4567-e89b-12d3-a456-426614174000", "{F47AC10B-58CC-4372-A567-0E02B2C3D479}")
	identCheckCommon(t, newUUID, "uuid", "{transform: uuid, v4: true}", "123e4567-e89b-12d3-a456-426614174000")
	identCheckRefusals(t, newUUID, "uuid", map[string]string{"{transform: uuid, v4: perhaps}": "cannot unmarshal"})
	k, _ := NewKey(identTestKey)
	for _, c := range []Column{uuidColumnType(true), identCol(true)} {
		_, err := newUUID(Env{Column: c, Key: k, Params: identParams(t, "{transform: uuid, v4: true}")})
		if err == nil || !strings.Contains(err.Error(), "unique and v4: true can give distinct UUIDs one output") {
			t.Errorf("v4 on a unique %s column: %v", c.TypeName, err)
		}
	}
	// Without a key, the error every keyed rule gives, --random included.
	for _, c := range []Column{uuidColumnType(false), identCol(false)} {
		_, err := newUUID(Env{Column: c, Params: identParams(t, "")})
		if err == nil || err.Error() != NoKeyError("uuid").Error() {
			t.Errorf("%s column without a key: %v", c.TypeName, err)
		}
	}
}

func BenchmarkUUID(b *testing.B) {
	gen := func(i int) [16]byte {
		var u [16]byte
		binary.BigEndian.PutUint64(u[:], uint64(i)*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(u[8:], uint64(i))
		return u
	}
	b.Run("text", func(b *testing.B) {
		identBench(b, newUUID, "", func(i int) string {
			u := gen(i)
			h := hex.EncodeToString(u[:])
			return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		})
	})
	b.Run("uuid column", func(b *testing.B) {
		mem := memory.NewGoAllocator()
		k, _ := NewKey(identTestKey)
		tr, err := newUUID(Env{Column: uuidColumnType(false), Key: k, Params: identParams(b, "")})
		if err != nil {
			b.Fatal(err)
		}
		vals := make([][]byte, 8192)
		for i := range vals {
			u := gen(i)
			vals[i] = u[:]
		}
		rec := batch(mem, arrow.BinaryTypes.Binary, vals)
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
	})
}
