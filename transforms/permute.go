package transforms

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// permuteTransformer maps integer or uuid keys through a keyed bijection: distinct keys stay
// distinct (primary keys stay unique), and because the rule follows every foreign key with
// the same domain, references still point at the same rows.
//
// Integers keep their sign and type: non-negative values are permuted among [0, max of the
// type], negative ones among [min, -1], by a Feistel network over the bits of that range
// (AES-128 as round function, 8 rounds). UUIDs are AES-128 encrypted: a permutation of all
// 16-byte values.
type permuteTransformer struct {
	block cipher.Block
	bits  int // 15, 31 or 63: the magnitude bits of the integer type; 0 for uuid
	width int // wire bytes: 2, 4, 8 or 16
}

var _ Transformer = (*permuteTransformer)(nil)

type permuteParams struct {
	Domain string `yaml:"domain"`
}

func newPermute(env Env) (Transformer, error) {
	var p permuteParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	if env.Key == nil {
		return nil, NoKeyError("permute")
	}
	if p.Domain == "" {
		p.Domain = "permute"
	}
	block, err := aes.NewCipher(env.Key.Derive(p.Domain)[:16])
	if err != nil {
		return nil, err
	}
	t := &permuteTransformer{block: block}
	switch env.Column.BaseOID {
	case pgtype.Int2OID:
		t.bits, t.width = 15, 2
	case pgtype.Int4OID:
		t.bits, t.width = 31, 4
	case pgtype.Int8OID:
		t.bits, t.width = 63, 8
	case pgtype.UUIDOID:
		t.width = 16
	default:
		return nil, fmt.Errorf("permute maps integer and uuid keys; column type %s does not take it (use hash or a format-preserving rule)", env.Column.TypeName)
	}
	return t, nil
}

// UniqueSafe: a bijection maps distinct keys to distinct keys.
func (t *permuteTransformer) UniqueSafe() bool { return true }

// Transform works on the raw wire bytes (big-endian integers, 16-byte uuids).
func (t *permuteTransformer) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	arr, ok := rec.Column(col).(*array.Binary)
	if !ok {
		return nil, fmt.Errorf("permute: %w %s", errUnsupportedArray, rec.Column(col).DataType())
	}
	n := arr.Len()
	b := newByteBuilder(mem, arr.DataType(), n, n*t.width)
	s := new(permuteScratch) // one per batch: AES needs its buffers on the heap
	out := s.out[:]
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.appendNull()
			continue
		}
		v := arr.Value(i)
		if len(v) != t.width {
			b.finish().Release()
			return nil, fmt.Errorf("permute: a value of %d bytes in a %d-byte column", len(v), t.width)
		}
		switch t.width {
		case 16:
			t.block.Encrypt(out, v)
		case 8:
			binary.BigEndian.PutUint64(out, uint64(t.permute(int64(binary.BigEndian.Uint64(v)), s)))
		case 4:
			binary.BigEndian.PutUint32(out, uint32(int32(t.permute(int64(int32(binary.BigEndian.Uint32(v))), s))))
		case 2:
			binary.BigEndian.PutUint16(out, uint16(int16(t.permute(int64(int16(binary.BigEndian.Uint16(v))), s))))
		}
		b.append(out[:t.width])
	}
	return b.finish(), nil
}

type permuteScratch struct{ in, f, out [16]byte }

// Int permutes one integer of the column's type, keeping its sign.
func (t *permuteTransformer) Int(v int64) int64 { return t.permute(v, new(permuteScratch)) }

func (t *permuteTransformer) permute(v int64, s *permuteScratch) int64 {
	if v < 0 {
		// [min, -1] ↔ [0, max] by bitwise not, permuted there, and back.
		return ^int64(t.feistel(uint64(^v), s))
	}
	return int64(t.feistel(uint64(v), s))
}

// feistel is a keyed permutation of [0, 2^bits): an unbalanced Feistel network whose round
// function is AES-128 of (round, half) — 8 rounds, each swapping the roles of the halves.
func (t *permuteTransformer) feistel(x uint64, s *permuteScratch) uint64 {
	lBits := t.bits / 2
	rBits := t.bits - lBits
	l, r := x>>rBits, x&(1<<rBits-1)
	for round := 0; round < 8; round++ {
		s.in[0] = byte(round)
		binary.BigEndian.PutUint64(s.in[8:], r)
		t.block.Encrypt(s.f[:], s.in[:])
		f := binary.BigEndian.Uint64(s.f[:8])
		// (l, r) → (r, l ⊕ F(r)) with the bit widths swapped each round.
		nl := (l ^ f) & (1<<lBits - 1)
		l, r = r, nl
		lBits, rBits = rBits, lBits
	}
	return l<<rBits | r
}
