package transforms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// hashTransformer replaces each value with HMAC-SHA256(domain sub-key, value), shaped to the
// column's type: hex text, a UUID, a non-negative integer, or 32 bytes. NULL stays NULL.
type hashTransformer struct {
	subkey []byte
	out    hashOutput
	length int // hex characters, for text output
}

var _ Transformer = (*hashTransformer)(nil)

type hashOutput int

const (
	hashHex hashOutput = iota
	hashUUID
	hashInt2
	hashInt4
	hashInt8
	hashBytes
)

type hashParams struct {
	Domain string `yaml:"domain"`
	Length int    `yaml:"length"`
}

// defaultHashLength keeps 128 bits of the HMAC: collisions are out of reach at any table size.
const defaultHashLength = 32

func newHash(env Env) (Transformer, error) {
	var p hashParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	if env.Key == nil {
		return nil, NoKeyError("hash")
	}
	if p.Domain == "" {
		p.Domain = "hash"
	}
	t := &hashTransformer{subkey: env.Key.Derive(p.Domain), length: defaultHashLength}
	if p.Length != 0 {
		if p.Length < 8 || p.Length > 64 {
			return nil, fmt.Errorf("hash length %d: must be between 8 and 64 hex characters", p.Length)
		}
		t.length = p.Length
	}
	switch c := env.Column; {
	case c.BaseOID == pgtype.TextOID || c.BaseOID == pgtype.NameOID || isCitext(c.TypeName):
	case c.BaseOID == pgtype.VarcharOID || c.BaseOID == pgtype.BPCharOID:
		if c.Typmod > 4 && int(c.Typmod-4) < t.length {
			t.length = int(c.Typmod - 4)
		}
	case c.BaseOID == pgtype.UUIDOID:
		t.out = hashUUID
	case c.BaseOID == pgtype.Int2OID:
		t.out = hashInt2
	case c.BaseOID == pgtype.Int4OID:
		t.out = hashInt4
	case c.BaseOID == pgtype.Int8OID:
		t.out = hashInt8
	case c.BaseOID == pgtype.ByteaOID:
		t.out = hashBytes
	default:
		return nil, fmt.Errorf("hash does not support type %s (it hashes text, varchar, char, uuid, integers and bytea); use null or constant", c.TypeName)
	}
	if env.Column.Unique && !t.UniqueSafe() {
		if t.out == hashHex {
			return nil, fmt.Errorf("the column is unique and %d hex characters (%d bits) could collide; use length 24 or more (the column allows %d)", t.length, t.length*4, t.length)
		}
		return nil, fmt.Errorf("the column is unique and a hash into an integer could collide; use permute, a keyed bijection")
	}
	if t.out == hashHex {
		// As a text rule it also works inside json documents and array elements.
		return TextBatch(hashText{t}, env.Column), nil
	}
	return t, nil
}

// hashText is hash on text columns: the keyed stream's digest of the value is exactly the
// HMAC the other column types use.
type hashText struct{ t *hashTransformer }

var (
	_ TextRule   = hashText{}
	_ UniqueSafe = hashText{}
)

func (h hashText) Subkey() []byte   { return h.t.subkey }
func (h hashText) UniqueSafe() bool { return h.t.UniqueSafe() }
func (h hashText) Text(k *Keyed, dst, _ []byte) ([]byte, error) {
	n := len(dst)
	return hex.AppendEncode(dst, k.Digest())[:n+h.t.length], nil
}

// UniqueSafe: at least 96 bits of the HMAC reach the output (uuid, bytea, or text of at least
// 24 hex characters); integers keep at most 63 bits and can collide.
func (t *hashTransformer) UniqueSafe() bool {
	switch t.out {
	case hashUUID, hashBytes:
		return true
	case hashHex:
		return t.length >= 24
	}
	return false
}

func isCitext(typeName string) bool {
	return typeName == "citext" || strings.HasSuffix(typeName, ".citext")
}

func (t *hashTransformer) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	in, err := asBytes(rec.Column(col))
	if err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	arr := rec.Column(col)
	n := arr.Len()
	b := newByteBuilder(mem, arr.DataType(), n, n*t.width())
	m := hmac.New(sha256.New, t.subkey)
	var sum [sha256.Size]byte
	var out [64]byte
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.appendNull()
			continue
		}
		m.Reset()
		m.Write(in.value(i))
		d := m.Sum(sum[:0])
		b.append(t.shape(d, out[:0]))
	}
	return b.finish(), nil
}

func (t *hashTransformer) width() int {
	switch t.out {
	case hashUUID:
		return 16
	case hashInt2:
		return 2
	case hashInt4:
		return 4
	case hashInt8:
		return 8
	case hashBytes:
		return sha256.Size
	}
	return t.length
}

// shape turns a digest into the output value's wire bytes (appended to dst).
func (t *hashTransformer) shape(d, dst []byte) []byte {
	switch t.out {
	case hashUUID:
		dst = append(dst, d[:16]...)
		dst[6] = dst[6]&0x0f | 0x40 // version 4 layout: any UUID-typed consumer accepts it
		dst[8] = dst[8]&0x3f | 0x80
		return dst
	case hashInt2:
		return binary.BigEndian.AppendUint16(dst, binary.BigEndian.Uint16(d)>>1)
	case hashInt4:
		return binary.BigEndian.AppendUint32(dst, binary.BigEndian.Uint32(d)>>1)
	case hashInt8:
		return binary.BigEndian.AppendUint64(dst, binary.BigEndian.Uint64(d)>>1)
	case hashBytes:
		return append(dst, d...)
	}
	dst = dst[:2*sha256.Size]
	hex.Encode(dst, d)
	return dst[:t.length]
}
